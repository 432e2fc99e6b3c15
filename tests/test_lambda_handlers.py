"""The hooks' Lambdas in chalice_app/app.py, each event delivered by Chalice's test client with
the aws backend on moto behind: S3 (content, assets), DynamoDB (catalog), SNS, SQS (the
rebuild queue). Rekognition, which moto lacks, answers through botocore's Stubber.

The site target is a folder here (the S3 site target has its own tests): what these check is
that the rebuild publishes through config.open_site_target, once per batch.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from chalice.test import Client
from click.testing import CliRunner
from conftest import REPO, MarkerModerator, make_lambda_bundle
from moto import mock_aws
from moto_dynamodb import REGION
from PIL import Image

from chalice_app.app import app
from nailfolio import config
from nailfolio.aws import clients
from nailfolio.aws.dynamodb import catalog_table
from nailfolio.aws.rekognition_moderator import RekognitionModerator
from nailfolio.cli import commands as cli
from nailfolio.errors import ServiceUnavailable
from nailfolio.gallery import events, site
from nailfolio.gallery.models import Status
from nailfolio.gallery.rebuild_queue import RebuildRequest
from nailfolio.local.folder_site_target import FolderSiteTarget

CONTENT, ASSETS, OTHER = "t-content", "t-assets", "someone-elses"


@dataclass
class Aws:
    """The moto resources the Lambdas run against, and what the test needs to look at them."""

    root: Path  # the Lambda's /tmp root
    queue_url: str
    s3: Any
    sqs: Any
    client: Client
    targets: list[Any] = field(default_factory=list)  # open_site_target's answers, in order
    renders: list[Path | None] = field(default_factory=list)  # the conf of each render

    def put_image(self, key: str, marker: int = 0, bucket: str = CONTENT) -> None:
        """A real JPEG; `marker` is the fake moderator's score (255: rejected)."""
        image = Image.new("RGB", (600, 450), (200, 120, 160))
        image.paste((marker, 0, 0), (0, 0, 32, 32))
        data = io.BytesIO()
        image.save(data, "JPEG", quality=90)
        self.s3.put_object(Bucket=bucket, Key=key, Body=data.getvalue())

    def deliver(self, key: str, kind: str = "Object Created", bucket: str = CONTENT) -> Any:
        """The EventBridge event S3 sends for `key`, delivered to the moderate Lambda."""
        detail = {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 1, "etag": "e", "sequencer": "0"},
            "reason": "PutObject" if kind == "Object Created" else "DeleteObject",
        }
        event = self.client.events.generate_cw_event(
            "aws.s3", kind, detail, [f"arn:aws:s3:::{bucket}"], REGION
        )
        return self.client.lambda_.invoke("moderate", event).payload

    def messages(self) -> list[dict[str, Any]]:
        """Every message waiting in the rebuild queue (taken off it)."""
        taken: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10
        ).get("Messages", []):
            taken += [json.loads(message["Body"]) for message in batch]
            for message in batch:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return taken

    def rebuild(self, *bodies: str) -> Any:
        event = self.client.events.generate_sqs_event(list(bodies), "nailfolio-rebuild")
        return self.client.lambda_.invoke("rebuild", event).payload

    def page(self, design: str) -> Path:
        return self.root / "output" / "designs" / design / "index.html"

    def decision(self, design: str) -> Status | None:
        settings = config.load_settings()
        with config.open_catalog(settings) as catalog:
            found = catalog.latest_decision(design)
        return found.status if found else None


@pytest.fixture
def aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    make_lambda_bundle(tmp_path / "task")
    clients.forget_clients()
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (CONTENT, ASSETS, OTHER):
            where = {"LocationConstraint": REGION}
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=where)
        boto3.client("dynamodb", region_name=REGION).create_table(**catalog_table("t-catalog"))
        topic = boto3.client("sns", region_name=REGION).create_topic(Name="t-admins")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="nailfolio-rebuild")["QueueUrl"]
        root = tmp_path / "lambda-tmp"
        env = {
            "NAILFOLIO_BACKEND": "aws",
            "NAILFOLIO_AWS_REGION": REGION,
            "NAILFOLIO_AWS_PREFIX": "t",
            "NAILFOLIO_CONTENT_BUCKET": CONTENT,
            "NAILFOLIO_ASSETS_BUCKET": ASSETS,
            "NAILFOLIO_TOPIC_ARN": topic,
            "NAILFOLIO_REBUILD_QUEUE_URL": queue_url,
            "NAILFOLIO_ROOT": str(root),  # stands for /tmp/nailfolio
            "LAMBDA_TASK_ROOT": str(tmp_path / "task"),
            "NAILFOLIO_SITE_URL": "https://studio.example",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(config, "moderator_factory", lambda settings: MarkerModerator)
        MarkerModerator.calls = 0
        state = Aws(root, queue_url, s3, sqs, Client(app))
        _spy_on_publishing(state, monkeypatch)
        yield state
    clients.forget_clients()


def _spy_on_publishing(state: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    """Publish into the root's output/ whatever open_site_target would build on aws, noting
    each call and each render's settings file."""

    def folder_target(settings: config.Settings, renditions: Any = None) -> FolderSiteTarget:
        images = renditions or config.open_rendition_store(settings)
        state.targets.append(images)
        return FolderSiteTarget(settings.output_dir, settings.var_dir / "output.json", images)

    real_render = site.render_site

    def render(settings: config.Settings, designs: Any, designers: Any, conf: Any = None, **kw):
        state.renders.append(conf)
        return real_render(settings, designs, designers, conf, **kw)

    monkeypatch.setattr(config, "open_site_target", folder_target)
    monkeypatch.setattr(site, "render_site", render)


def test_an_upload_event_ingests_the_image_and_queues_a_rebuild(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Moderated by the Rekognition adapter (answering through Stubber), as on AWS."""
    rekognition = boto3.client("rekognition", region_name=REGION)
    monkeypatch.setattr(
        config, "moderator_factory", lambda settings: lambda: RekognitionModerator(rekognition)
    )
    aws.put_image("designs/ana/red.jpg")
    with Stubber(rekognition) as stub:
        stub.add_response(
            "detect_moderation_labels",
            {"ModerationLabels": [], "ModerationModelVersion": "7.0"},
            {"Image": {"Bytes": ANY}, "MinConfidence": 40.0},
        )
        result = aws.deliver("designs/ana/red.jpg")
        stub.assert_no_pending_responses()
    assert result["decisions"] == {"designs/ana/red.jpg": "approved"}
    assert aws.decision("ana/red") is Status.APPROVED
    assert aws.s3.list_objects_v2(Bucket=ASSETS)["KeyCount"] > 0  # its variants
    (message,) = aws.messages()
    assert message["keys"] == ["designs/ana/red.jpg"] and message["count"] == 1
    assert not aws.page("ana/red").exists()  # published by the rebuild Lambda, not here


def test_a_burst_of_50_requests_in_one_batch_makes_one_rebuild(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(3):
        aws.put_image(f"designs/ana/red-{number}.jpg")
        aws.deliver(f"designs/ana/red-{number}.jpg")
    bodies = [json.dumps(message) for message in aws.messages()] * 17  # 51 requests
    builds: list[object] = []
    real = events.rebuild_site
    monkeypatch.setattr(events, "rebuild_site", lambda *a, **kw: builds.append(a) or real(*a, **kw))

    report = aws.rebuild(*bodies[:50])

    assert len(builds) == 1 and len(aws.targets) == 1
    assert report == {"requests": 50, "published": 3, "processed": 0, "problems": []}
    assert all(aws.page(f"ana/red-{number}").is_file() for number in range(3))
    assert type(aws.targets[0]).__name__ == "S3RenditionStore"  # the aws one, not var/


def test_the_rebuild_renders_with_publishconf_in_a_root_made_from_the_bundle(aws: Aws) -> None:
    aws.rebuild(json.dumps({"reason": "test"}))
    assert aws.renders == [aws.root / "publishconf.py"]
    assert (aws.root / "theme").resolve() == (REPO / "theme").resolve()
    assert not (aws.root / "pelicanconf.py").is_symlink()  # a writable copy
    assert (aws.root / "output" / "about" / "index.html").is_file()  # content/pages linked
    aws.rebuild(json.dumps({"reason": "again"}))  # a warm container reuses the root
    assert len(aws.renders) == 2


def test_a_request_that_is_not_ours_still_rebuilds(aws: Aws) -> None:
    assert aws.rebuild("not json at all")["requests"] == 1
    assert len(aws.targets) == 1


def test_a_failing_rebuild_raises_so_sqs_retries_the_batch(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(settings: config.Settings, renditions: Any = None) -> Any:
        raise ServiceUnavailable("S3 ListObjectsV2 on bucket 'site' failed; try again later")

    monkeypatch.setattr(config, "open_site_target", unreachable)
    with pytest.raises(ServiceUnavailable):
        aws.rebuild(json.dumps({"reason": "approved"}))


def test_the_rebuild_moderates_nothing_and_waits_for_the_ingest(aws: Aws) -> None:
    aws.put_image("designs/ana/red.jpg")  # its event has not arrived yet
    report = aws.rebuild(json.dumps({"reason": "something else"}))
    assert (report["published"], report["processed"], MarkerModerator.calls) == (0, 0, 0)
    assert aws.decision("ana/red") is None


def test_an_event_from_another_bucket_is_ignored(aws: Aws) -> None:
    aws.put_image("designs/ana/red.jpg", bucket=OTHER)
    assert aws.deliver("designs/ana/red.jpg", bucket=OTHER)["decisions"] == {}
    assert aws.decision("ana/red") is None
    assert aws.messages() == []


@pytest.mark.parametrize(
    "key", ["pages/about.md", "designs/", "designs/red.jpg", "designs/ana/../bea/red.jpg", ""]
)
def test_keys_outside_the_designers_folders_are_ignored(key: str) -> None:
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": CONTENT}, "object": {"key": key}},
    }
    assert events.content_change(event, CONTENT) is None


def test_an_event_of_another_type_is_ignored() -> None:
    event = {
        "source": "aws.s3",
        "detail-type": "Object Restore Completed",
        "detail": {"bucket": {"name": CONTENT}, "object": {"key": "designs/ana/red.jpg"}},
    }
    assert events.content_change(event, CONTENT) is None


def test_the_key_is_taken_as_eventbridge_sends_it_not_url_decoded(aws: Aws) -> None:
    key = "designs/ana/red nails+gold%20.jpg"
    aws.put_image(key)
    assert aws.deliver(key)["decisions"] == {key: "approved"}


def test_a_retried_event_sends_the_request_its_first_try_could_not(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.put_image("designs/ana/red.jpg")
    monkeypatch.setenv("NAILFOLIO_REBUILD_QUEUE_URL", aws.queue_url + "-gone")
    with pytest.raises(ServiceUnavailable):  # the Lambda fails: EventBridge tries again
        aws.deliver("designs/ana/red.jpg")
    assert aws.decision("ana/red") is Status.APPROVED  # recorded before the send failed
    monkeypatch.setenv("NAILFOLIO_REBUILD_QUEUE_URL", aws.queue_url)
    assert aws.deliver("designs/ana/red.jpg")["rebuild_for"] == ["designs/ana/red.jpg"]
    assert len(aws.messages()) == 1


def test_a_retried_withdrawal_still_requests_the_rebuild(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.put_image("designs/ana/red.jpg")
    aws.deliver("designs/ana/red.jpg")
    aws.rebuild(*map(json.dumps, aws.messages()))
    aws.put_image("designs/ana/red.jpg", marker=255)
    monkeypatch.setenv("NAILFOLIO_REBUILD_QUEUE_URL", aws.queue_url + "-gone")
    with pytest.raises(ServiceUnavailable):
        aws.deliver("designs/ana/red.jpg")
    monkeypatch.setenv("NAILFOLIO_REBUILD_QUEUE_URL", aws.queue_url)
    aws.deliver("designs/ana/red.jpg")
    aws.rebuild(*map(json.dumps, aws.messages()))
    assert not aws.page("ana/red").exists()


def test_a_rejected_upload_requests_no_rebuild_and_tells_the_admins(aws: Aws) -> None:
    aws.put_image("designs/ana/bad.jpg", marker=255)
    assert aws.deliver("designs/ana/bad.jpg")["decisions"] == {"designs/ana/bad.jpg": "rejected"}
    assert aws.messages() == []


def test_a_new_version_held_back_withdraws_the_published_design(aws: Aws) -> None:
    aws.put_image("designs/ana/red.jpg")
    aws.deliver("designs/ana/red.jpg")
    aws.rebuild(*map(json.dumps, aws.messages()))
    assert aws.page("ana/red").is_file()

    aws.put_image("designs/ana/red.jpg", marker=255)  # replaced by a rejected version
    assert aws.deliver("designs/ana/red.jpg")["rebuild_for"] == ["designs/ana/red.jpg"]
    aws.rebuild(*map(json.dumps, aws.messages()))
    assert not aws.page("ana/red").exists()


def test_a_deletion_event_takes_the_design_off_the_site(aws: Aws) -> None:
    aws.put_image("designs/ana/red.jpg")
    aws.put_image("designs/ana/pink.jpg")
    for name in ("red", "pink"):
        aws.deliver(f"designs/ana/{name}.jpg")
    aws.rebuild(*map(json.dumps, aws.messages()))
    assert aws.page("ana/red").is_file()

    aws.s3.delete_object(Bucket=CONTENT, Key="designs/ana/red.jpg")
    result = aws.deliver("designs/ana/red.jpg", kind="Object Deleted")
    assert result["decisions"] == {"designs/ana/red.jpg": "removed"}
    (message,) = aws.messages()
    assert aws.rebuild(json.dumps(message))["published"] == 1
    assert not aws.page("ana/red").exists() and aws.page("ana/pink").is_file()


def test_an_edited_sidecar_requests_a_rebuild(aws: Aws) -> None:
    aws.put_image("designs/ana/red.jpg")
    aws.deliver("designs/ana/red.jpg")
    aws.messages()
    aws.s3.put_object(Bucket=CONTENT, Key="designs/ana/red.md", Body=b"---\ntitle: Ruby\n---\n")
    assert aws.deliver("designs/ana/red.md")["rebuild_for"] == ["designs/ana/red.md"]
    aws.rebuild(*map(json.dumps, aws.messages()))
    assert "Ruby" in aws.page("ana/red").read_text()


def _cli(root: Path, *args: str) -> Any:
    (root / "content").mkdir(parents=True, exist_ok=True)
    return CliRunner().invoke(cli.main, ["--root", str(root), *args])


def test_an_admins_approval_from_the_cli_goes_to_the_queue_and_publishes(
    aws: Aws, tmp_path: Path
) -> None:
    aws.put_image("designs/ana/maybe.jpg", marker=128)
    assert aws.deliver("designs/ana/maybe.jpg")["decisions"]["designs/ana/maybe.jpg"] == (
        "needs_review"
    )
    assert aws.messages() == []

    approved = _cli(tmp_path / "laptop", "approve", "ana/maybe", "--reason", "glitter")
    assert approved.exit_code == 0, approved.output
    assert "rebuild requested" in approved.output
    assert not (tmp_path / "laptop" / "output").exists()  # nothing built on the laptop
    (message,) = aws.messages()
    assert message["keys"] == ["ana/maybe"]

    report = aws.rebuild(json.dumps(message))  # renders the variants review held back
    assert (report["published"], report["processed"]) == (1, 1)
    assert aws.page("ana/maybe").is_file()


def test_rejecting_a_published_design_from_the_cli_takes_it_off_the_site(
    aws: Aws, tmp_path: Path
) -> None:
    aws.put_image("designs/ana/red.jpg")
    aws.deliver("designs/ana/red.jpg")
    aws.rebuild(*map(json.dumps, aws.messages()))
    assert aws.page("ana/red").is_file()

    rejected = _cli(tmp_path / "laptop", "reject", "ana/red", "--reason", "not nails")
    assert rejected.exit_code == 0, rejected.output
    aws.rebuild(*map(json.dumps, aws.messages()))
    assert not aws.page("ana/red").exists()


def test_a_missing_queue_is_an_error_naming_the_setting(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAILFOLIO_REBUILD_QUEUE_URL", aws.queue_url + "-gone")
    queue = config.open_rebuild_queue(config.load_settings())
    with pytest.raises(ServiceUnavailable, match="NAILFOLIO_REBUILD_QUEUE_URL"):
        queue.request("approved", ["ana/red"])


def test_the_backfill_lambda_scores_pending_comments(
    project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_backfill import pending, store_pending

    store_pending(project, "Love these!", "Meh.")
    monkeypatch.setenv("NAILFOLIO_ROOT", str(project.root))
    client = Client(app)
    event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], REGION)
    assert client.lambda_.invoke("backfill_sentiment", event).payload == {"scored": 2}
    assert pending(project) == 0


def test_lambda_settings_put_a_writable_root_in_tmp_with_one_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Path("/tmp/nailfolio") == config.LAMBDA_ROOT
    monkeypatch.setattr(config, "LAMBDA_ROOT", tmp_path / "tmp")  # not the machine's /tmp
    make_lambda_bundle(tmp_path / "task")
    env = {"LAMBDA_TASK_ROOT": str(tmp_path / "task"), "NAILFOLIO_BACKEND": "aws"}
    settings = config.lambda_settings(env)
    assert (settings.root, settings.workers, settings.backend) == (tmp_path / "tmp", 1, "aws")
    assert os.access(settings.root / "publishconf.py", os.W_OK)


@pytest.mark.parametrize("inside", ["", "var"])
def test_a_root_in_the_bundle_is_refused_and_the_bundle_left_whole(
    tmp_path: Path, inside: str
) -> None:
    make_lambda_bundle(tmp_path / "task")
    bundle = tmp_path / "task" / "project"
    env = {"LAMBDA_TASK_ROOT": str(tmp_path / "task"), "NAILFOLIO_ROOT": str(bundle / inside)}
    with pytest.raises(config.ConfigError, match="writable folder outside the bundle"):
        config.lambda_settings(env)
    assert (bundle / "theme" / "templates").is_dir()
    assert sorted(path.name for path in bundle.iterdir()) == [
        "content",
        "pelicanconf.py",
        "publishconf.py",
        "theme",
    ]


def test_lambda_settings_name_what_the_bundle_lacks(tmp_path: Path) -> None:
    (tmp_path / "task" / "project").mkdir(parents=True)
    env = {"LAMBDA_TASK_ROOT": str(tmp_path / "task"), "NAILFOLIO_ROOT": str(tmp_path / "r")}
    with pytest.raises(config.ConfigError, match=r"lacks pelicanconf\.py, theme"):
        config.lambda_settings(env)


def test_a_request_carries_at_most_50_keys_and_counts_them_all(aws: Aws) -> None:
    keys = [f"designs/ana/red-{number}.jpg" for number in range(120)]
    config.open_rebuild_queue(config.load_settings()).request("content sync", keys)
    (message,) = aws.messages()
    assert (message["keys"], message["count"]) == (keys[:50], 120)
    assert RebuildRequest.from_json(json.dumps(message)) == RebuildRequest.of("content sync", keys)


@pytest.mark.parametrize("body", ["", "[]", "{}", '{"reason": "x", "keys": 3}', "null"])
def test_a_message_body_that_is_not_a_request_reads_as_an_unreadable_one(body: str) -> None:
    assert RebuildRequest.from_json(body).reason.startswith("unreadable request")
