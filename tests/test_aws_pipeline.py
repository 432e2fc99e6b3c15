"""The whole pipeline on moto's server, on the resources the deployment's template makes
(tests/moto_stack.py) and with each Lambda's environment as the template sets it: an image
put into the content bucket, its S3 EventBridge event delivered to the moderate Lambda
(Chalice's test client), the rebuild request read back from the rebuild queue and delivered
as an SQS batch to the rebuild Lambda, which publishes to the site bucket and invalidates
the distribution. Rekognition, which moto lacks, answers through botocore's Stubber.
"""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.stub import ANY, Stubber
from chalice.test import Client
from conftest import make_lambda_bundle
from moto_dynamodb import REGION
from moto_stack import Stack, make_stack
from PIL import Image
from site_checks import FailingAfter, page_references

from chalice_app.app import app
from nailfolio import config
from nailfolio.aws import clients, s3_site_target
from nailfolio.aws.rekognition_moderator import RekognitionModerator
from nailfolio.aws.s3_site_target import RECORD_KEY
from nailfolio.errors import ServiceUnavailable

# What each kind of site file is served with, written out (not read from the library).
PAGE = "public, max-age=60, must-revalidate"
ASSET = "public, max-age=300, must-revalidate"
IMMUTABLE = "public, max-age=31536000, immutable"
HEADERS = {  # by how a key ends: (Content-Type, Cache-Control)
    ".html": ("text/html; charset=utf-8", PAGE),
    ".atom.xml": ("application/atom+xml; charset=utf-8", PAGE),
    "sitemap.xml": ("application/xml; charset=utf-8", PAGE),
    "robots.txt": ("text/plain; charset=utf-8", PAGE),
    ".css": ("text/css; charset=utf-8", ASSET),
    ".js": ("text/javascript; charset=utf-8", ASSET),
    ".svg": ("image/svg+xml", ASSET),
    ".ico": ("image/x-icon", ASSET),
    ".webmanifest": ("application/manifest+json", ASSET),
    ".woff2": ("font/woff2", ASSET),
}
IMAGES = {".webp": "image/webp", ".jpg": "image/jpeg", ".avif": "image/avif", ".png": "image/png"}
WRITES = ("PutObject", "CopyObject", "DeleteObjects", "DeleteObject", "CreateInvalidation")
CLEAN: list[dict[str, Any]] = []
EXPLICIT = [  # taxonomy v7, well over the rejection threshold
    {"Name": "Explicit", "ParentName": "", "TaxonomyLevel": 1, "Confidence": 98.5},
    {"Name": "Explicit Nudity", "ParentName": "Explicit", "TaxonomyLevel": 2, "Confidence": 97.0},
]


@dataclass
class Pipeline:
    """The stack on moto, the Lambdas' test client, and what a test looks at."""

    stack: Stack
    lambdas: Client
    task_root: Path
    rekognition: Stubber
    inbox: str  # a queue subscribed to the admins' topic
    writes: Counter = field(default_factory=Counter)  # the Lambdas' S3 and CloudFront writes

    def client(self, service: str) -> Any:
        return self.stack.server.client(service)

    def bucket(self, logical_id: str) -> str:
        return self.stack.refs[logical_id]

    def put_image(self, key: str, colour: tuple[int, int, int] = (200, 120, 160)) -> None:
        """A real (small) JPEG, as a designer's upload."""
        data = io.BytesIO()
        Image.new("RGB", (480, 360), colour).save(data, "JPEG", quality=85)
        self.client("s3").put_object(
            Bucket=self.bucket("ContentBucket"), Key=key, Body=data.getvalue()
        )

    def moderation_answers(self, *labels: list[dict[str, Any]]) -> None:
        """Rekognition's next answers, one per image moderated."""
        for found in labels:
            self.rekognition.add_response(
                "detect_moderation_labels",
                {"ModerationLabels": found, "ModerationModelVersion": "7.0"},
                {"Image": {"Bytes": ANY}, "MinConfidence": ANY},
            )

    def upload_event(self, key: str) -> dict[str, Any]:
        """The EventBridge event S3 sends when `key` lands in the content bucket."""
        bucket = self.bucket("ContentBucket")
        detail = {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 1, "etag": "e", "sequencer": "0"},
            "reason": "PutObject",
        }
        return self.lambdas.events.generate_cw_event(
            "aws.s3", "Object Created", detail, [f"arn:aws:s3:::{bucket}"], REGION
        )

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Run one Lambda with the environment the template gives it, and no other
        NAILFOLIO_ variable (the runtime adds AWS_REGION and LAMBDA_TASK_ROOT)."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("NAILFOLIO_")}
        env |= self.stack.environment(function)
        env |= {"AWS_REGION": REGION, "LAMBDA_TASK_ROOT": str(self.task_root)}
        with mock.patch.dict(os.environ, env, clear=True):
            return self.lambdas.lambda_.invoke(function, event).payload

    def moderate(self, key: str) -> dict[str, Any]:
        return self.invoke("moderate", self.upload_event(key))

    def requests(self) -> list[str]:
        """The bodies of every message in the rebuild queue (taken off it, as Lambda does)."""
        return _drain(self.client("sqs"), self.stack.refs["RebuildQueue"])

    def rebuild(self, bodies: Sequence[str]) -> dict[str, Any]:
        queue = self.stack.attrs[("RebuildQueue", "QueueName")]
        return self.invoke("rebuild", self.lambdas.events.generate_sqs_event(list(bodies), queue))

    def site(self) -> dict[str, tuple[str, str]]:
        """Every object of the site bucket: its ETag and LastModified."""
        listed = self.client("s3").list_objects_v2(Bucket=self.bucket("SiteBucket"))
        found = listed.get("Contents", [])
        return {item["Key"]: (item["ETag"], str(item["LastModified"])) for item in found}

    def read(self, key: str) -> str:
        got = self.client("s3").get_object(Bucket=self.bucket("SiteBucket"), Key=key)
        return got["Body"].read().decode()

    def invalidations(self) -> list[list[str]]:
        """The paths of each invalidation of the distribution, oldest first."""
        cloudfront, distribution = self.client("cloudfront"), self.stack.refs["SiteDistribution"]
        listed = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
        found = []
        for item in reversed(listed.get("Items", [])):  # newest first
            batch = cloudfront.get_invalidation(DistributionId=distribution, Id=item["Id"])
            found.append(batch["Invalidation"]["InvalidationBatch"]["Paths"].get("Items", []))
        return found

    def admin_messages(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in _drain(self.client("sqs"), self.inbox)]

    def publish(self, *keys: str, labels: list[dict[str, Any]] = CLEAN) -> dict[str, Any]:
        """Upload `keys`, moderate each (Rekognition answering `labels`), rebuild once."""
        for number, key in enumerate(keys):
            self.put_image(key, (40 * number, 120, 160))
            self.moderation_answers(labels)
            self.moderate(key)
        return self.rebuild(self.requests())


def _drain(sqs: Any, queue_url: str) -> list[str]:
    taken: list[str] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        taken += [message["Body"] for message in batch]
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return taken


def _inbox(stack: Stack) -> str:
    """A queue subscribed to the admins' topic, to read what SNS was sent."""
    sqs = stack.server.client("sqs")
    url = sqs.create_queue(QueueName="admins-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    stack.server.client("sns").subscribe(
        TopicArn=stack.refs["AdminTopic"], Protocol="sqs", Endpoint=arn["QueueArn"]
    )
    return url


def _count_writes(pipeline: Pipeline) -> None:
    """Count each S3 and CloudFront write the Lambdas make (through the shared clients)."""
    endpoint = pipeline.stack.server.endpoint

    def count(event_name: str, **_: Any) -> None:
        pipeline.writes[event_name.split(".")[-1]] += 1

    for service in ("s3", "cloudfront"):
        events = clients.client(service, REGION, endpoint).meta.events
        for operation in WRITES:
            events.register(f"before-call.{service}.{operation}", count)


@pytest.fixture
def pipeline(moto: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    moto.reset()  # the server is the session's: every test of it starts from nothing
    stack = make_stack(moto)
    make_lambda_bundle(tmp_path / "task")
    monkeypatch.setattr(config, "LAMBDA_ROOT", tmp_path / "lambda-tmp")  # the Lambda's /tmp
    rekognition = boto3.client("rekognition", region_name=REGION)  # stubbed: never sent
    monkeypatch.setattr(
        config,
        "moderator_factory",
        lambda settings: (
            lambda: RekognitionModerator(rekognition, review_at=settings.moderation.review_at)
        ),
    )
    with Stubber(rekognition) as stubber:
        found = Pipeline(stack, Client(app), tmp_path / "task", stubber, _inbox(stack))
        _count_writes(found)
        yield found
        stubber.assert_no_pending_responses()  # each answer queued was asked for


def _expected_headers(key: str) -> tuple[str, str]:
    if key.startswith("img/"):
        return IMAGES[Path(key).suffix], IMMUTABLE
    endings = [ending for ending in HEADERS if key.endswith(ending)]
    assert endings, f"{key}: a kind of site file this test does not know"
    return HEADERS[endings[0]]


def _viewer_paths(keys: Sequence[str]) -> list[str]:
    """How viewers (and so CloudFront) name site files: a folder's index.html twice."""
    paths = set()
    for key in keys:
        paths.add(f"/{key}")
        if key == "index.html" or key.endswith("/index.html"):
            paths.add(f"/{key.removesuffix('index.html')}")
    return sorted(paths)


def assert_pages_whole(pipeline: Pipeline) -> None:
    """Every page in the site bucket finds each image and theme file it references."""
    keys = set(pipeline.site())
    pages = sorted(key for key in keys if key.endswith(".html"))
    assert pages
    for page in pages:
        for path in page_references(page, pipeline.read(page)):
            if path.startswith(("img/", "theme/")):
                assert path in keys, f"{page} references {path}, which is not in the bucket"


def test_an_upload_is_moderated_queued_and_published_with_its_headers(
    pipeline: Pipeline,
) -> None:
    pipeline.put_image("designs/ana/red.jpg")
    pipeline.moderation_answers(CLEAN)
    moderated = pipeline.moderate("designs/ana/red.jpg")
    assert moderated["decisions"] == {"designs/ana/red.jpg": "approved"}
    (body,) = pipeline.requests()  # from moto's queue
    assert json.loads(body)["keys"] == ["designs/ana/red.jpg"]
    assert pipeline.site() == {}  # nothing published before the rebuild

    report = pipeline.rebuild([body])

    assert (report["requests"], report["problems"]) == (1, [])
    site = pipeline.site()
    assert {"index.html", "designs/ana/red/index.html", RECORD_KEY} <= set(site)
    images = [key for key in site if key.startswith("img/")]
    assert {Path(key).suffix for key in images} == {".webp", ".jpg"}  # a 480 px design
    assert any(key.startswith("theme/") for key in site)
    s3, site_bucket = pipeline.client("s3"), pipeline.bucket("SiteBucket")
    for key in set(site) - {RECORD_KEY}:
        head = s3.head_object(Bucket=site_bucket, Key=key)
        assert (head["ContentType"], head["CacheControl"]) == _expected_headers(key), key
    assets = pipeline.client("s3").list_objects_v2(Bucket=pipeline.bucket("AssetsBucket"))
    held = {item["ETag"] for item in assets["Contents"]}
    assert {site[key][0] for key in images} <= held  # the renditions' own bytes, copied
    assert "img/" in pipeline.read("designs/ana/red/index.html")
    assert pipeline.invalidations() == []  # a first publish replaces nothing cached
    assert_pages_whole(pipeline)

    before = pipeline.site()
    pipeline.publish("designs/ana/blue.jpg")
    after = pipeline.site()
    changed = sorted(key for key in before if key in after and after[key][0] != before[key][0])
    changed = [key for key in changed if key != RECORD_KEY]
    assert "designs/ana/red/index.html" in changed  # its new neighbour
    assert pipeline.invalidations() == [_viewer_paths(changed)]
    assert not any("blue" in path or path.startswith("/img/") for path in _viewer_paths(changed))


def test_the_same_event_and_message_again_upload_nothing_and_invalidate_nothing(
    pipeline: Pipeline,
) -> None:
    pipeline.publish("designs/ana/red.jpg")
    pipeline.put_image("designs/ana/blue.jpg", (0, 60, 200))
    pipeline.moderation_answers(CLEAN)
    event = pipeline.upload_event("designs/ana/blue.jpg")
    pipeline.invoke("moderate", event)
    (body,) = pipeline.requests()
    pipeline.rebuild([body])
    site, invalidations = pipeline.site(), pipeline.invalidations()
    assert len(invalidations) == 1 and "designs/ana/blue/index.html" in site
    pipeline.writes.clear()

    again = pipeline.invoke("moderate", event)  # no Rekognition answer queued: none asked
    assert again["decisions"] == {"designs/ana/blue.jpg": "approved"}
    assert pipeline.requests() == [body]  # an approval asks again; the rebuild finds no change
    report = pipeline.rebuild([body])

    assert report["problems"] == []
    assert dict(pipeline.writes) == {}
    assert pipeline.site() == site
    assert pipeline.invalidations() == invalidations


def test_a_rejected_image_never_reaches_the_site_and_the_admins_are_told(
    pipeline: Pipeline,
) -> None:
    pipeline.publish("designs/ana/red.jpg")
    published = pipeline.site()
    pipeline.put_image("designs/ana/bad.jpg", (10, 10, 10))
    pipeline.moderation_answers(EXPLICIT)

    moderated = pipeline.moderate("designs/ana/bad.jpg")

    assert moderated["decisions"] == {"designs/ana/bad.jpg": "rejected"}
    assert pipeline.requests() == []  # nothing for the site
    pipeline.rebuild([json.dumps({"reason": "an admin's nudge"})])
    site = pipeline.site()
    assert set(site) == set(published)
    assert not any("bad" in key for key in site)
    assert all("bad" not in pipeline.read(key) for key in site if key.endswith(".html"))
    (message,) = pipeline.admin_messages()
    assert message["TopicArn"] == pipeline.stack.refs["AdminTopic"]
    assert "ana/bad" in message["Subject"] + message["Message"]
    assert "rejected" in (message["Subject"] + message["Message"]).lower()


@pytest.mark.parametrize("limit", [3, 11])
def test_a_publish_stopped_after_n_writes_leaves_every_page_whole(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    pipeline.publish("designs/ana/red.jpg")
    before = pipeline.site()
    for number, name in enumerate(("blue", "pink")):
        pipeline.put_image(f"designs/ana/{name}.jpg", (0, 80 * number, 200))
        pipeline.moderation_answers(CLEAN)
        pipeline.moderate(f"designs/ana/{name}.jpg")
    bodies = pipeline.requests()
    failing: list[FailingAfter] = []
    real = s3_site_target.S3SiteTarget

    def stopped_after_limit(client: Any, *args: Any, **kwargs: Any) -> Any:
        failing.append(FailingAfter(client, limit))
        return real(failing[-1], *args, **kwargs)

    monkeypatch.setattr(s3_site_target, "S3SiteTarget", stopped_after_limit)
    with pytest.raises(ServiceUnavailable):  # the batch fails: SQS delivers it again
        pipeline.rebuild(bodies)
    assert pipeline.invalidations() == []  # a first publish, then one stopped: none
    assert [target.writes for target in failing] == [limit]
    assert_pages_whole(pipeline)
    stopped = pipeline.site()

    monkeypatch.setattr(s3_site_target, "S3SiteTarget", real)
    pipeline.writes.clear()
    report = pipeline.rebuild(bodies)  # the retry

    assert report["problems"] == []
    site = pipeline.site()
    assert {f"designs/ana/{name}/index.html" for name in ("red", "blue", "pink")} <= set(site)
    assert_pages_whole(pipeline)
    unfinished = [key for key in site if key != RECORD_KEY and stopped.get(key) != site[key]]
    assert unfinished and pipeline.writes["PutObject"] > 1  # the retry had pages to write
    assert not any(key.startswith("img/") for key in unfinished) or limit < 6
    # One invalidation of every page replaced since the first publish: those the retry
    # replaced, and those the stopped run replaced before it could invalidate them (the
    # record noted them as owed before its first write).
    replaced = [
        key
        for key in site
        if key in before
        and before[key] != site[key]
        and not key.startswith("img/")
        and key != RECORD_KEY
    ]
    assert replaced and pipeline.invalidations() == [_viewer_paths(replaced)]


def test_a_request_that_keeps_failing_goes_to_the_dead_letter_queue(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The template's redrive policy, as SQS applies it to the rebuild Lambda's failures."""
    pipeline.put_image("designs/ana/red.jpg")
    pipeline.moderation_answers(CLEAN)
    pipeline.moderate("designs/ana/red.jpg")

    def unreachable(settings: config.Settings, renditions: Any = None) -> Any:
        raise ServiceUnavailable("S3 ListObjectsV2 on the site bucket failed; try again later")

    monkeypatch.setattr(config, "open_site_target", unreachable)
    sqs, queue = pipeline.client("sqs"), pipeline.stack.refs["RebuildQueue"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    tries = 0
    while received := sqs.receive_message(QueueUrl=queue).get("Messages", []):
        (message,) = received
        tries += 1
        with pytest.raises(ServiceUnavailable):
            pipeline.rebuild([message["Body"]])
        # As Lambda leaves a failed batch: visible again once its timeout is up (now, here).
        sqs.change_message_visibility(
            QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    assert tries == redrive["maxReceiveCount"] == 3
    dead = _drain(sqs, pipeline.stack.refs["RebuildDeadLetterQueue"])
    assert [json.loads(body)["keys"] for body in dead] == [["designs/ana/red.jpg"]]
    assert pipeline.site() == {}
