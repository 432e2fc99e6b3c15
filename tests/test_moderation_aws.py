"""The moderation queue on the aws backend, over moto's server: previews are short-lived
presigned GET URLs to the private content bucket, an approval is one message on the rebuild
queue (SQS), and the outbox says the notifications went to the SNS topic."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import yaml
from chalice.test import Client
from conftest import PASSWORD, REPO, Project, generous_limits
from moto_server import aws_resources
from PIL import Image

from chalice_app.app import app
from nailfolio import config
from nailfolio.errors import ConfigError
from nailfolio.gallery.models import Decision, Label, Status
from nailfolio.web import api

HELD = "designs/chloe_martin/Crème Brûlée.jpg"
HELD_KEY = "chloe-martin/creme-brulee"
ADMIN = "ada@example.com"


@dataclass
class AwsStudio:
    http: Any
    cookie: dict[str, str]
    settings: config.Settings
    server: Any
    queue_url: str
    image: bytes

    def get(self, path: str) -> Any:
        return self.http.request("GET", path, headers=self.cookie | {"Accept": "*/*"})

    def post(self, path: str, body: Any) -> Any:
        headers = self.cookie | {"Content-Type": "application/json"}
        return self.http.request("POST", path, headers=headers, body=json.dumps(body).encode())


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (190, 90, 120)).save(out, "JPEG")
    return out.getvalue()


def _studio(project: Project, moto: Any, env: dict[str, str]) -> Iterator[AwsStudio]:
    moto.reset()
    env = aws_resources(moto) | env
    queue_url = moto.client("sqs").create_queue(QueueName="t-rebuild")["QueueUrl"]
    env["NAILFOLIO_REBUILD_QUEUE_URL"] = queue_url
    settings = replace(config.load_settings(env=env, root=project.root), workers=1)
    image = _jpeg()
    moto.client("s3").put_object(Bucket="t-content", Key=HELD, Body=image)
    held = Decision(
        HELD_KEY, "hash-held", Status.NEEDS_REVIEW, "rekognition", (Label("Suggestive", "", 61.5),)
    )
    with config.open_catalog(settings) as catalog:
        catalog.record_decision(held)
    api.configure(settings, generous_limits())
    with config.open_identity(settings) as identity:
        identity.create_user(ADMIN, PASSWORD, "Ada", "admins")
        token = identity.sign_in(ADMIN, PASSWORD, "192.0.2.1").id_token
    with Client(app) as client:
        yield AwsStudio(
            client.http, {"Cookie": f"nf_session={token}"}, settings, moto, queue_url, image
        )
    api.reset()


@pytest.fixture
def studio(project: Project, moto: Any) -> Iterator[AwsStudio]:
    yield from _studio(project, moto, {})


def _fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read(), _lower(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), _lower(exc.headers)


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def test_the_queue_hands_out_presigned_previews_of_a_few_minutes(studio: AwsStudio) -> None:
    answer = studio.get("/api/admin/moderation")
    assert answer.status_code == 200, answer.body
    (item,) = json.loads(answer.body)["designs"]
    assert (item["design"], item["source"], item["score"]) == (HELD_KEY, HELD, 61.5)
    url = urlsplit(item["preview_url"])
    query = _query(item["preview_url"])
    assert url.path == f"/t-content/{quote(HELD)}"  # the key, percent-encoded
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "300"
    assert query["response-content-type"] == "image/jpeg"
    assert query["response-cache-control"] == "private, no-store"
    # moto ignores the response-* overrides (S3 applies them); the bytes are the original's
    status, body, _headers = _fetch(item["preview_url"])
    assert status == 200 and body == studio.image


def test_the_preview_route_redirects_to_a_presigned_url(studio: AwsStudio) -> None:
    answer = studio.get(f"/api/admin/moderation/preview?key={quote(HELD, safe='')}")
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
    assert _fetch(location)[1] == studio.image
    outside = studio.get(f"/api/admin/moderation/preview?key={quote('../pelicanconf.py')}")
    assert outside.status_code == 404


def test_a_preview_url_expires_minutes_after_it_was_signed(studio: AwsStudio) -> None:
    """S3 refuses a SigV4 URL after X-Amz-Date + X-Amz-Expires, both under the signature
    (moto's S3 does not check expiry, so the window is checked here)."""
    (item,) = json.loads(studio.get("/api/admin/moderation").body)["designs"]
    query = {
        name: values[0] for name, values in parse_qs(urlsplit(item["preview_url"]).query).items()
    }
    signed = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires = signed + timedelta(seconds=int(query["X-Amz-Expires"]))
    left = (expires - datetime.now(UTC)).total_seconds()
    assert 290 <= left <= 300
    assert "x-amz-expires" not in query["X-Amz-SignedHeaders"]  # a query parameter: signed


@pytest.fixture
def short_lived(project: Project, moto: Any) -> Iterator[AwsStudio]:
    yield from _studio(project, moto, {"NAILFOLIO_PREVIEW_TTL_S": "60"})


def test_the_preview_lifetime_is_a_setting(short_lived: AwsStudio) -> None:
    (item,) = json.loads(short_lived.get("/api/admin/moderation").body)["designs"]
    assert "X-Amz-Expires=60&" in item["preview_url"]


def test_approving_sends_one_rebuild_request_to_the_queue(studio: AwsStudio) -> None:
    body = {"design": HELD_KEY, "status": "approved", "reason": "a lipstick, not skin"}
    answer = studio.post("/api/admin/moderation/decisions", body)
    assert answer.status_code == 200, answer.body
    data = json.loads(answer.body)
    assert data["rebuild"] == {"state": "queued", "message": ""}
    assert data["decision"]["decided_by"] == ADMIN
    sqs = studio.server.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=studio.queue_url, WaitTimeSeconds=1)["Messages"]
    request = json.loads(message["Body"])
    assert request == {"reason": f"approved by {ADMIN}", "keys": [HELD_KEY], "count": 1}
    history = json.loads(studio.get(f"/api/admin/moderation/history?design={HELD_KEY}").body)
    assert [d["status"] for d in history["decisions"]] == ["approved", "needs_review"]
    assert history["decisions"][0]["labels"] == [
        {"name": "Suggestive", "parent": "", "confidence": 61.5}
    ]


def test_the_outbox_says_notifications_went_to_the_sns_topic(studio: AwsStudio) -> None:
    data = json.loads(studio.get("/api/admin/moderation/outbox").body)
    topic = studio.settings.aws.get("topic_arn")
    assert data == {"kept": False, "where": f"the SNS topic {topic}", "notifications": []}


@pytest.mark.parametrize("ttl", ["0", "3601", "five", "-1"])
def test_a_preview_lifetime_out_of_range_is_a_config_error(tmp_path: Path, ttl: str) -> None:
    env = {
        "NAILFOLIO_BACKEND": "aws",
        "NAILFOLIO_AWS_REGION": "eu-west-1",
        "NAILFOLIO_CONTENT_BUCKET": "b",
        "NAILFOLIO_PREVIEW_TTL_S": ttl,
    }
    settings = config.load_settings(env=env, root=tmp_path)
    with pytest.raises(ConfigError, match="NAILFOLIO_PREVIEW_TTL_S"):
        config.open_preview_links(settings)


def test_the_content_bucket_the_stack_makes_is_private() -> None:
    """The presigned URL is the only way in: the deployed bucket blocks all public access."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((REPO / "deploy" / "resources.yaml").read_text(), Loader=Loader)
    bucket = template["Resources"]["ContentBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
