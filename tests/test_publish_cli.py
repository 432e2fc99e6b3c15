"""`build.py publish [--dry-run]`: the plan printed, then carried out (or not), into output/
locally and into the site bucket and CloudFront on the aws backend (moto's server)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import MarkerModerator, Project
from PIL import Image

from nailfolio import cli, config
from nailfolio.aws.s3_site_target import RECORD_KEY
from nailfolio.config import Settings

SITE = "t-site"


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "moderator_factory", lambda settings: MarkerModerator)


def invoke(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args), obj=settings)


def test_a_dry_run_prints_the_plan_and_leaves_output_alone(project: Project) -> None:
    project.add_image("ana/red.jpg")
    result = invoke(project.settings, "publish", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"publish to {project.settings.output_dir}/:" in result.output
    assert "  images: 5" in result.output  # the variants of the one design
    assert "    new    designs/ana/red/index.html  [text/html; charset=utf-8; " in result.output
    assert result.output.rstrip().endswith("dry run: nothing was changed")
    assert not project.settings.output_dir.exists()


def test_publish_carries_the_plan_out_then_finds_nothing_to_do(project: Project) -> None:
    project.add_image("ana/red.jpg")
    result = invoke(project.settings, "publish")
    assert result.exit_code == 0, result.output
    last = result.output.rstrip().splitlines()[-1]
    assert last.startswith("published: ") and " uploaded (5 copied), 0 deleted, " in last
    assert (project.settings.output_dir / "designs" / "ana" / "red" / "index.html").is_file()
    again = invoke(project.settings, "publish")
    assert again.exit_code == 0, again.output
    assert (
        again.output.strip() == f"{project.settings.output_dir}/ is up to date: nothing to publish"
    )


AWS = {
    "NAILFOLIO_BACKEND": "aws",
    "AWS_REGION": "eu-west-1",
    "NAILFOLIO_SITE_URL": "https://nails.example",
}


def test_a_missing_site_bucket_is_one_line_naming_the_variable(project: Project) -> None:
    env = dict(AWS)
    settings = config.load_settings(env=env, root=project.root)
    result = invoke(settings, "publish", "--dry-run")
    assert result.exit_code == 1
    assert result.output.startswith("Error: NAILFOLIO_SITE_BUCKET is not set")
    assert len(result.output.strip().splitlines()) == 1


def test_a_bad_threshold_is_one_line_naming_the_variable(project: Project) -> None:
    env = AWS | {"NAILFOLIO_SITE_BUCKET": SITE, "NAILFOLIO_INVALIDATION_MAX_PATHS": "many"}
    result = invoke(config.load_settings(env=env, root=project.root), "publish")
    assert result.exit_code == 1
    assert "NAILFOLIO_INVALIDATION_MAX_PATHS='many' must be a whole number" in result.output


def test_on_aws_a_site_url_left_at_its_local_default_is_refused(project: Project) -> None:
    env = {k: v for k, v in AWS.items() if k != "NAILFOLIO_SITE_URL"}
    env["NAILFOLIO_SITE_BUCKET"] = SITE
    result = invoke(config.load_settings(env=env, root=project.root), "publish", "--dry-run")
    assert result.exit_code == 1
    assert result.output.startswith("Error: NAILFOLIO_SITE_URL is not set: ")
    assert "http://127.0.0.1:8000" in result.output


# --- on the aws backend --------------------------------------------------------------------


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    """A design the fake moderator approves (no red in its corner)."""
    out = io.BytesIO()
    Image.new("RGB", (900, 700), colour).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def aws_project(project: Project, moto: Any) -> Iterator[tuple[Settings, Any]]:
    """The project on the aws backend (moto's server), with a site bucket and a distribution."""
    from moto_server import aws_resources

    moto.reset()
    env = aws_resources(moto)
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=SITE, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    origin = {
        "Id": "site",
        "DomainName": f"{SITE}.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    cloudfront = moto.client("cloudfront")
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "t",
            "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "allow-all"},
            "Comment": "",
            "Enabled": True,
        }
    )["Distribution"]["Id"]
    env |= {
        "NAILFOLIO_SITE_BUCKET": SITE,
        "NAILFOLIO_CLOUDFRONT_DISTRIBUTION": distribution,
        "NAILFOLIO_SITE_URL": "https://nails.example",
    }
    settings = replace(config.load_settings(env=env, root=project.root), workers=1)
    _upload(settings, moto, "designs/ana/red.jpg", (0, 120, 160))
    yield settings, moto
    moto.reset()


def _upload(
    settings: Settings, moto: Any, key: str, colour: tuple[int, int, int], ingest: bool = True
) -> None:
    """An upload to the content bucket, ingested as the moderate Lambda would (unless not)."""
    from nailfolio.gallery.pipeline import ingest_configured

    moto.client("s3").put_object(Bucket="t-content", Key=key, Body=_jpeg(colour))
    if ingest:
        ingest_configured(settings, [key])


def _site(moto: Any) -> dict[str, str]:
    listed = moto.client("s3").list_objects_v2(Bucket=SITE).get("Contents", [])
    return {item["Key"]: item["ETag"] for item in listed}


def _invalidations(moto: Any, settings: Settings) -> list[str]:
    distribution = settings.aws.get("cloudfront_distribution")
    found = moto.client("cloudfront").list_invalidations(DistributionId=distribution)
    return [item["Id"] for item in found["InvalidationList"].get("Items", [])]


def test_on_aws_a_dry_run_prints_copies_and_paths_and_changes_nothing(
    aws_project: tuple[Settings, Any],
) -> None:
    settings, moto = aws_project
    first = invoke(settings, "publish")
    assert first.exit_code == 0, first.output
    assert " 0 paths invalidated in " in first.output  # a first publish replaces nothing
    site = _site(moto)
    assert RECORD_KEY in site and "img/" in "".join(site), first.output
    _upload(settings, moto, "designs/ana/blue.jpg", (0, 60, 200))
    dry = invoke(settings, "publish", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"publish to s3://{SITE}:" in dry.output
    assert "    copy   img/" in dry.output
    assert "    change index.html" in dry.output
    assert "  invalidate: " in dry.output and "    /index.html" in dry.output
    assert dry.output.rstrip().endswith("dry run: nothing was changed")
    assert _site(moto) == site
    assert _invalidations(moto, settings) == []


def test_on_aws_publish_invalidates_once_and_a_second_run_does_nothing(
    aws_project: tuple[Settings, Any],
) -> None:
    settings, moto = aws_project
    assert invoke(settings, "publish").exit_code == 0
    _upload(settings, moto, "designs/ana/blue.jpg", (0, 60, 200))
    result = invoke(settings, "publish")
    assert result.exit_code == 0, result.output
    assert " 0 deleted, 0 deferred, " in result.output
    assert len(_invalidations(moto, settings)) == 1
    site = _site(moto)
    assert "designs/ana/blue/index.html" in site
    again = invoke(settings, "publish")
    assert again.exit_code == 0, again.output
    assert again.output.strip() == f"s3://{SITE} is up to date: nothing to publish"
    assert _site(moto) == site
    assert len(_invalidations(moto, settings)) == 1


def test_on_aws_publish_renders_what_the_catalog_holds_and_moderates_nothing(
    aws_project: tuple[Settings, Any],
) -> None:
    """An upload the moderate Lambda has not ingested yet is neither moderated from the
    laptop nor published: each upload has its own ingest on aws."""
    settings, moto = aws_project
    _upload(settings, moto, "designs/ana/green.jpg", (0, 200, 60), ingest=False)
    result = invoke(settings, "publish")
    assert result.exit_code == 0, result.output
    site = _site(moto)
    assert "designs/ana/red/index.html" in site
    assert not any(key.startswith("designs/ana/green") for key in site)
    with config.open_catalog(settings) as catalog:
        decided = [decision.key for decision in catalog.latest_decisions()]
    assert decided and not any("green" in key for key in decided)
