"""Deploying through a change set, and destroying, on moto's CloudFormation and S3; the CLI
with its packaging replaced by a small bundle (tests/test_package.py runs the real one)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from nailfolio.aws import bundle, clients, cloudformation
from nailfolio.cli import main
from nailfolio.config import load_settings
from nailfolio.errors import DeployError

REGION = "us-east-1"
BUCKET = "nailfolio-deploy-123456789012-us-east-1"
# A plain template moto can create (it has no SAM transform): a bucket and an output.
TEMPLATE = {
    "Parameters": {
        "Stage": {"Type": "String"},
        "AdminEmail": {"Type": "String"},
        "DomainName": {"Type": "String", "Default": ""},
        "CertificateArn": {"Type": "String", "Default": ""},
    },
    "Resources": {"ContentBucket": {"Type": "AWS::S3::Bucket"}},
    "Outputs": {"SiteURL": {"Value": "https://d111.cloudfront.net/"}},
}
PARAMETERS = [
    {"ParameterKey": "Stage", "ParameterValue": "prod"},
    {"ParameterKey": "AdminEmail", "ParameterValue": "admin@example.com"},
]


def no_wait(_seconds: float) -> None:
    """Tests never sleep: moto's stacks settle at once."""


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    monkeypatch.setattr(cloudformation, "POLL_SECONDS", 0)  # for the CLI's own waits
    with mock_aws():
        clients.forget_clients()
        yield (
            boto3.client("cloudformation", region_name=REGION),
            boto3.client("s3", region_name=REGION),
        )
    clients.forget_clients()


def template_url(s3: Any, tmp_path: Path, template: dict[str, Any] | None = None) -> str:
    cloudformation.ensure_bucket(s3, BUCKET, REGION)
    zipped = tmp_path / "deployment.zip"
    zipped.write_bytes(b"PK-bundle")
    return cloudformation.package(
        s3, BUCKET, "prod", zipped, json.loads(json.dumps(template or TEMPLATE))
    )


def test_deployment_bucket_is_made_once_and_private(aws: tuple[Any, Any]) -> None:
    _, s3 = aws
    assert cloudformation.ensure_bucket(s3, BUCKET, REGION) is True
    assert cloudformation.ensure_bucket(s3, BUCKET, REGION) is False
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert set(block.values()) == {True} and len(block) == 4


def test_package_uploads_the_bundle_by_hash_once_and_points_functions_at_it(
    aws: tuple[Any, Any], tmp_path: Path
) -> None:
    _, s3 = aws
    sam = {
        "Resources": {
            "Api": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "./deployment.zip"},
            },
            "Other": {"Type": "AWS::S3::Bucket", "Properties": {}},
        }
    }
    url = template_url(s3, tmp_path, sam)
    again = template_url(s3, tmp_path, sam)
    assert url == again and url.startswith(f"https://{BUCKET}.s3.{REGION}.amazonaws.com/prod/")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert sorted(key.split(".", 1)[1] for key in keys) == ["template.json", "zip"]
    body = s3.get_object(Bucket=BUCKET, Key=url.split(".com/", 1)[1])["Body"].read()
    uploaded = json.loads(body)
    zip_key = next(k for k in keys if k.endswith(".zip"))
    assert uploaded["Resources"]["Api"]["Properties"]["CodeUri"] == f"s3://{BUCKET}/{zip_key}"
    assert "CodeUri" not in uploaded["Resources"]["Other"]["Properties"]


def test_change_set_creates_the_stack_then_finds_nothing_to_change(
    aws: tuple[Any, Any], tmp_path: Path
) -> None:
    cfn, s3 = aws
    url = template_url(s3, tmp_path)
    change_set = cloudformation.create_change_set(
        cfn, "nailfolio-prod", url, PARAMETERS, sleep=no_wait
    )
    assert change_set is not None and change_set.kind == "CREATE"
    assert [(c.action, c.logical_id) for c in change_set.changes] == [("Add", "ContentBucket")]
    events: list[str] = []
    cloudformation.execute(cfn, change_set, events.append, sleep=no_wait)
    assert cloudformation.stack_status(cfn, "nailfolio-prod") == "CREATE_COMPLETE"
    assert any("CREATE_COMPLETE" in line for line in events)
    assert (
        cloudformation.create_change_set(cfn, "nailfolio-prod", url, PARAMETERS, sleep=no_wait)
        is None
    )
    left = cfn.list_change_sets(StackName="nailfolio-prod")["Summaries"]
    assert [s["ChangeSetName"] for s in left] == [change_set.name]  # the empty one is gone


def test_dry_run_change_set_is_deleted_with_the_empty_stack_it_made(
    aws: tuple[Any, Any], tmp_path: Path
) -> None:
    cfn, s3 = aws
    url = template_url(s3, tmp_path)
    change_set = cloudformation.create_change_set(
        cfn, "nailfolio-prod", url, PARAMETERS, sleep=no_wait
    )
    assert change_set is not None
    assert cloudformation.stack_status(cfn, "nailfolio-prod") == "REVIEW_IN_PROGRESS"
    cloudformation.delete_change_set(cfn, "nailfolio-prod", change_set.name)
    assert cloudformation.stack_status(cfn, "nailfolio-prod") is None


def test_destroy_empties_versioned_buckets_then_deletes_the_stack(
    aws: tuple[Any, Any], tmp_path: Path
) -> None:
    cfn, s3 = aws
    url = template_url(s3, tmp_path)
    change_set = cloudformation.create_change_set(
        cfn, "nailfolio-prod", url, PARAMETERS, sleep=no_wait
    )
    assert change_set is not None
    cloudformation.execute(cfn, change_set, sleep=no_wait)
    (bucket,) = cloudformation.stack_buckets(cfn, "nailfolio-prod")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket=bucket, Key="designs/ana/red.jpg", Body=body)
    s3.delete_object(Bucket=bucket, Key="designs/ana/red.jpg")  # a delete marker too
    lines: list[str] = []
    cloudformation.destroy(cfn, s3, "nailfolio-prod", lines.append, sleep=no_wait)
    assert lines[0] == f"emptied {bucket}: 3 objects"
    assert cloudformation.stack_status(cfn, "nailfolio-prod") is None
    with pytest.raises(DeployError, match="no stack"):
        cloudformation.destroy(cfn, s3, "nailfolio-prod", sleep=no_wait)


def test_failed_first_create_must_be_destroyed_first(aws: tuple[Any, Any]) -> None:
    from botocore.stub import Stubber

    cfn, _ = aws
    stubber = Stubber(cfn)
    stack = {"StackName": "nailfolio-prod", "StackStatus": "ROLLBACK_COMPLETE"}
    stack["CreationTime"] = "2026-01-01T00:00:00Z"  # type: ignore[assignment]
    stubber.add_response("describe_stacks", {"Stacks": [stack]})
    with stubber, pytest.raises(DeployError, match="run destroy"):
        cloudformation.create_change_set(cfn, "nailfolio-prod", "https://x", [], sleep=no_wait)


@pytest.mark.parametrize(
    ("args", "exists", "expected"),
    [
        (
            ("a@b.co", None, None),
            False,
            {"Stage": "prod", "AdminEmail": "a@b.co", "DomainName": "", "CertificateArn": ""},
        ),
        (
            (None, None, None),
            True,
            {"Stage": "prod", "AdminEmail": None, "DomainName": None, "CertificateArn": None},
        ),
        (
            ("a@b.co", "s.example", "arn:c"),
            True,
            {
                "Stage": "prod",
                "AdminEmail": "a@b.co",
                "DomainName": "s.example",
                "CertificateArn": "arn:c",
            },
        ),
    ],
)
def test_stack_parameters_keep_previous_values_on_update(
    args: tuple[str | None, ...], exists: bool, expected: dict[str, str | None]
) -> None:
    found = cloudformation.stack_parameters("prod", *args, exists=exists)
    values = {p["ParameterKey"]: p.get("ParameterValue") for p in found}
    assert values == expected
    kept = {p["ParameterKey"] for p in found if p.get("UsePreviousValue")}
    assert kept == {key for key, value in expected.items() if value is None}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None, None, None), "--admin-email"),
        (("a@b.co", "s.example", None), "go together"),
    ],
)
def test_stack_parameters_refuse_what_cannot_deploy(
    args: tuple[str | None, ...], message: str
) -> None:
    with pytest.raises(DeployError, match=message):
        cloudformation.stack_parameters("prod", *args, exists=False)


@pytest.fixture
def small_bundle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> list[tuple[str, Path, dict[str, str]]]:
    """package_app replaced by one writing a tiny zip and TEMPLATE; the calls it got."""
    calls: list[tuple[str, Path, dict[str, str]]] = []

    def package_app(root: Path, stage: str, out: Path, **kwargs: Any) -> bundle.Bundle:
        calls.append((stage, out, kwargs["tuning"]))
        out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out / "deployment.zip", "w") as archive:
            archive.writestr("app.py", "")
        (out / "sam.json").write_text(json.dumps(TEMPLATE))
        return bundle.Bundle(out / "deployment.zip", out / "sam.json", 100, 100)

    monkeypatch.setattr(bundle, "package_app", package_app)
    return calls


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "chalice_app").mkdir()
    (tmp_path / "chalice_app" / "app.py").write_text("")
    return tmp_path


def run(
    project: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> Any:
    env = {"NAILFOLIO_AWS_REGION": REGION, "NAILFOLIO_ROOT": str(project)} | (env or {})
    return CliRunner().invoke(main, list(args), obj=load_settings(env), input=input)


def test_package_only_writes_the_bundle_and_touches_no_account(
    project: Path,
    small_bundle: list[tuple[str, Path, dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_aws(*args: Any) -> None:
        raise AssertionError("--package-only made an AWS client")

    monkeypatch.setattr(clients, "client", no_aws)
    result = run(project, "deploy", "--stage", "prod", "--package-only", str(project / "pkg"))
    assert result.exit_code == 0, result.output
    assert small_bundle == [("prod", project / "pkg", {})]
    assert (project / "pkg" / "sam.json").is_file()
    assert "the functions get" not in result.output


def test_deploy_hands_the_owners_tuning_to_the_functions(
    project: Path, small_bundle: list[tuple[str, Path, dict[str, str]]]
) -> None:
    tuning = {"NAILFOLIO_IMAGE_WIDTHS": "480,960,1200", "NAILFOLIO_REJECT_AT": "90"}
    others = {"NAILFOLIO_WORKERS": "3", "NAILFOLIO_SITE_URL": "https://studio.example"}
    args = ("deploy", "--stage", "prod", "--package-only", str(project / "pkg"))
    result = run(project, *args, env=tuning | others)
    assert result.exit_code == 0, result.output
    assert small_bundle == [("prod", project / "pkg", tuning)]  # the stack sets the others
    assert "the functions get NAILFOLIO_IMAGE_WIDTHS=480,960,1200, as set here" in result.output


def test_deploy_dry_run_prints_the_change_set_and_changes_nothing(
    project: Path, small_bundle: list[tuple[str, Path, dict[str, str]]], aws: tuple[Any, Any]
) -> None:
    cfn, s3 = aws
    args = ("deploy", "--stage", "prod", "--admin-email", "admin@example.com")
    result = run(project, *args, "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        "Add     ContentBucket" in result.output and "--dry-run: nothing changed" in result.output
    )
    assert cloudformation.stack_status(cfn, "nailfolio-prod") is None
    assert s3.head_bucket(Bucket=BUCKET)  # the deployment bucket stays for the next run


def test_deploy_creates_the_stack_then_finds_it_up_to_date(
    project: Path, small_bundle: list[tuple[str, Path, dict[str, str]]], aws: tuple[Any, Any]
) -> None:
    cfn, _ = aws
    result = run(project, "deploy", "--stage", "prod", "--admin-email", "admin@example.com")
    assert result.exit_code == 0, result.output
    assert "CREATE_COMPLETE nailfolio-prod" in result.output
    assert cloudformation.stack_status(cfn, "nailfolio-prod") == "CREATE_COMPLETE"
    again = run(project, "deploy", "--stage", "prod")  # the admin email is kept
    assert again.exit_code == 0, again.output
    assert "nailfolio-prod is up to date" in again.output


def test_outputs_give_the_site_url(aws: tuple[Any, Any]) -> None:
    from botocore.stub import Stubber

    cfn, _ = aws  # moto's change sets leave a stack's outputs out: Stubber stands in
    stack = {
        "StackName": "nailfolio-prod",
        "StackStatus": "CREATE_COMPLETE",
        "CreationTime": "2026-01-01T00:00:00Z",
        "Outputs": [{"OutputKey": "SiteURL", "OutputValue": "https://d1.cloudfront.net/"}],
    }
    stubber = Stubber(cfn)
    stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "nailfolio-prod"})
    with stubber:
        found = cloudformation.outputs(cfn, "nailfolio-prod")
    assert found == {"SiteURL": "https://d1.cloudfront.net/"}


def test_destroy_asks_first(project: Path, aws: tuple[Any, Any], tmp_path: Path) -> None:
    cfn, s3 = aws
    url = template_url(s3, tmp_path)
    change_set = cloudformation.create_change_set(
        cfn, "nailfolio-prod", url, PARAMETERS, sleep=no_wait
    )
    assert change_set is not None
    cloudformation.execute(cfn, change_set, sleep=no_wait)
    refused = run(project, "destroy", "--stage", "prod", input="n\n")
    assert refused.exit_code == 1 and "nothing deleted" in refused.output
    assert cloudformation.stack_status(cfn, "nailfolio-prod") == "CREATE_COMPLETE"
    done = run(project, "destroy", "--stage", "prod", "--yes")
    assert done.exit_code == 0, done.output
    assert cloudformation.stack_status(cfn, "nailfolio-prod") is None


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A machine with no AWS credentials anywhere, as a new owner's may be."""
    clients.forget_clients()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield
    clients.forget_clients()


def test_deploy_without_credentials_is_one_line_saying_what_to_set_before_packaging(
    project: Path, small_bundle: list[tuple[str, Path, dict[str, str]]], no_credentials: None
) -> None:
    """Found running deploy as a new owner would: a NoCredentialsError traceback, and only
    after the whole packaging."""
    result = run(project, "deploy", "--stage", "prod", "--admin-email", "a@b.example")
    assert result.exit_code == 1
    assert "no AWS credentials found; set AWS_PROFILE" in result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    assert small_bundle == []  # nothing packaged


def test_destroy_without_credentials_is_one_line_saying_what_to_set(
    project: Path, no_credentials: None
) -> None:
    result = run(project, "destroy", "--stage", "prod", "--yes")
    assert result.exit_code == 1
    assert "no AWS credentials found; set AWS_PROFILE" in result.output
    assert result.exception.__class__ is SystemExit
