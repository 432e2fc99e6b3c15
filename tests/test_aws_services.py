"""The aws adapters of three services: SNS (moto), Comprehend and Rekognition (Stubber)."""

from __future__ import annotations

import io
import json
import logging
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber
from conftest import Project
from moto import mock_aws
from PIL import Image

from nailfolio import config
from nailfolio.aws import rekognition_moderator
from nailfolio.aws.comprehend_sentiment import (
    KEY_PHRASES_MAX_BYTES,
    SENTIMENT_MAX_BYTES,
    ComprehendAnalyzer,
    cut_utf8,
)
from nailfolio.aws.rekognition_moderator import (
    MAX_BYTES,
    UNAVAILABLE,
    ImageTooLarge,
    RekognitionModerator,
    encode_jpeg,
    fit_sides,
)
from nailfolio.aws.sns_notifier import (
    CUT_MARKER,
    MESSAGE_MAX_BYTES,
    SnsNotifier,
    cut_message,
    sns_subject,
)
from nailfolio.comments.sentiment import KeyPhrase, SentimentError, SentimentLabel
from nailfolio.comments.service import CommentService
from nailfolio.config import ModerationSettings
from nailfolio.errors import ConfigError, ServiceUnavailable
from nailfolio.gallery.models import Label, Status
from nailfolio.gallery.moderation import decide
from nailfolio.gallery.notify import SUBJECT_MAX
from nailfolio.gallery.pipeline import build_gallery
from nailfolio.local.outbox_notifier import OutboxNotifier
from nailfolio.local.sqlite_comment_store import SqliteCommentStore
from nailfolio.local.sqlite_rate_limiter import SqliteRateLimiter

REGION = "eu-west-1"
REPO = Path(__file__).resolve().parent.parent
# Nothing listens on loopback's discard port: a client pointed there cannot connect.
UNREACHABLE = Config(
    region_name=REGION, connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}
)


def _unreachable(service: str) -> Any:
    return boto3.client(service, endpoint_url="http://127.0.0.1:9", config=UNREACHABLE)


def test_importing_the_adapters_does_not_import_boto3() -> None:
    code = (
        "import sys\n"
        "import nailfolio.aws.sns_notifier, nailfolio.aws.comprehend_sentiment\n"
        "import nailfolio.aws.rekognition_moderator\n"
        "assert not {'boto3', 'botocore'} & set(sys.modules), sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, cwd=REPO)


# --- SNS: published to a topic, read back from an SQS queue subscribed to it ---------------


@dataclass
class Topic:
    client: Any
    arn: str
    sqs: Any
    queue_url: str

    def received(self) -> list[dict[str, Any]]:
        """The SNS envelopes delivered to the queue so far (Subject, Message, attributes)."""
        envelopes = []
        while messages := self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10
        ).get("Messages"):
            for message in messages:
                envelopes.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return envelopes


@pytest.fixture
def topic() -> Iterator[Topic]:
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        arn = sns.create_topic(Name="nailfolio-admins")["TopicArn"]
        url = sqs.create_queue(QueueName="admin-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        yield Topic(sns, arn, sqs, url)


def _tags(envelope: dict[str, Any]) -> list[str]:
    attribute = envelope["MessageAttributes"]["tags"]
    assert attribute["Type"] == "String.Array"
    return json.loads(attribute["Value"])


def test_sns_publishes_subject_body_and_tags_to_the_topic(topic: Topic) -> None:
    SnsNotifier(topic.client, topic.arn).notify(
        "Design ana/red needs review", "Explicit at 52%.", ("moderation", "needs_review")
    )

    (envelope,) = topic.received()

    assert envelope["TopicArn"] == topic.arn
    assert envelope["Subject"] == "Design ana/red needs review"
    assert envelope["Message"] == "Explicit at 52%."
    assert _tags(envelope) == ["moderation", "needs_review"]


def test_sns_without_tags_sends_no_attributes(topic: Topic) -> None:
    SnsNotifier(topic.client, topic.arn).notify("hello", "body")
    (envelope,) = topic.received()
    assert not envelope.get("MessageAttributes")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Design zoë/rouge needs review", "Design zoe/rouge needs review"),
        ("Crème brûlée\nnails", "Creme brulee nails"),
        ("Nails 💅 done", "Nails done"),
        ("tab\tbell\x07", "tab bell"),
        ("é" * 200, "e" * (SUBJECT_MAX - 3) + "..."),
    ],
    ids=["accent", "newline", "emoji", "control", "long"],
)
def test_sns_subject_is_one_printable_ascii_line_under_100(subject: str, expected: str) -> None:
    line = sns_subject(subject)
    assert line == expected
    assert line.isascii() and line.isprintable() and len(line) < 100


def test_sns_subject_with_nothing_ascii_is_left_out() -> None:
    """SNS refuses an empty Subject: the request carries none (the stub checks it exactly)."""
    client = boto3.client("sns", region_name=REGION)
    arn = "arn:aws:sns:eu-west-1:123456789012:nailfolio-admins"
    with Stubber(client) as stub:
        stub.add_response(
            "publish",
            {"MessageId": "0b7d3a52-5c9e-4e0c-9d3e-6f1f2c1a9b01"},
            {"TopicArn": arn, "Message": "body"},
        )
        SnsNotifier(client, arn).notify("💅💅\n", "body")
        stub.assert_no_pending_responses()


def test_sns_sends_the_long_subject_cut(topic: Topic) -> None:
    SnsNotifier(topic.client, topic.arn).notify("Design\nana/red " + "y" * 300, "body")
    (envelope,) = topic.received()
    assert len(envelope["Subject"]) == SUBJECT_MAX and "\n" not in envelope["Subject"]


def test_sns_long_message_is_cut_on_a_character_boundary_with_a_marker(topic: Topic) -> None:
    body = "a" + "💅é" * 60_000  # 360,001 bytes of UTF-8 in 4- and 2-byte characters
    SnsNotifier(topic.client, topic.arn).notify("big", body, ("moderation",))

    (envelope,) = topic.received()
    message = envelope["Message"]

    assert message.endswith(CUT_MARKER)
    assert body.startswith(message.removesuffix(CUT_MARKER))
    assert len(message.encode("utf-8")) <= MESSAGE_MAX_BYTES - len("big")
    assert len(message.encode("utf-8")) > MESSAGE_MAX_BYTES - 200  # cut, not gutted


@pytest.mark.parametrize(
    ("body", "limit", "head"),
    [
        ("x" * 100, 100, "x" * 100),  # fits exactly: sent whole, no marker
        ("💅" * 100, 400, "💅" * 100),
        ("💅" * 200, 398 + len(CUT_MARKER), "💅" * 99),  # the 100th would end at byte 400
        ("ab" + "é" * 100, 3 + len(CUT_MARKER), "ab"),  # half an é is dropped
    ],
    ids=["ascii-fits", "emoji-fits", "emoji-cut", "accent-cut"],
)
def test_cut_message_never_splits_a_character(body: str, limit: int, head: str) -> None:
    cut = cut_message(body, limit)
    assert cut.removesuffix(CUT_MARKER) == head
    assert cut.endswith(CUT_MARKER) == (head != body)
    assert len(cut.encode("utf-8")) <= limit


def test_sns_body_is_kept_verbatim(topic: Topic) -> None:
    body = "Line one\nLine two\twith a tab; and 'quotes' — ünïcode 💅"
    SnsNotifier(topic.client, topic.arn).notify("subject", body)
    assert topic.received()[0]["Message"] == body


def test_sns_refuses_tags_given_as_one_string(topic: Topic) -> None:
    with pytest.raises(TypeError, match="not one string"):
        SnsNotifier(topic.client, topic.arn).notify("subject", "body", "moderation")
    assert topic.received() == []


def test_sns_close_and_context_manager_keep_the_client_usable(topic: Topic) -> None:
    with SnsNotifier(topic.client, topic.arn) as notifier:
        notifier.notify("one", "body")
    notifier.close()
    notifier.notify("two", "body")  # close() is a no-op: the client belongs to the caller
    assert [e["Subject"] for e in topic.received()] == ["one", "two"]


def test_sns_publish_to_a_missing_topic_is_service_unavailable(topic: Topic) -> None:
    missing = topic.arn.replace("nailfolio-admins", "nobody")
    with pytest.raises(ServiceUnavailable, match=r"SNS Publish to .*nobody failed \(NotFound"):
        SnsNotifier(topic.client, missing).notify("subject", "body")


def test_sns_throttled_publish_is_service_unavailable() -> None:
    client = boto3.client("sns", region_name=REGION)
    arn = "arn:aws:sns:eu-west-1:123456789012:nailfolio-admins"
    with Stubber(client) as stub:
        stub.add_client_error("publish", "Throttling", "Rate exceeded", 400)
        refused = r"SNS Publish .*\(Throttling: Rate exceeded\)"
        with pytest.raises(ServiceUnavailable, match=refused):
            SnsNotifier(client, arn).notify("subject", "body")


def test_sns_unreachable_endpoint_is_service_unavailable() -> None:
    notifier = SnsNotifier(_unreachable("sns"), "arn:aws:sns:eu-west-1:123456789012:t")
    with pytest.raises(ServiceUnavailable, match=r"SNS Publish .* failed"):
        notifier.notify("subject", "body")


# --- Comprehend (Stubber: moto's Comprehend answers canned values) -------------------------


def _sentiment_response(label: str, pos: float, neg: float, neu: float, mix: float) -> dict:
    """Shaped like a real DetectSentiment answer (scores as Comprehend prints them)."""
    return {
        "Sentiment": label,
        "SentimentScore": {"Positive": pos, "Negative": neg, "Neutral": neu, "Mixed": mix},
        "ResponseMetadata": {"RequestId": "5f7a0c7e-0000-4000-8000-000000000000"},
    }


@pytest.fixture
def comprehend() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("comprehend", region_name=REGION)
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_comprehend_sentiment_is_taken_as_comprehend_gives_it(
    comprehend: tuple[Any, Stubber],
) -> None:
    client, stub = comprehend
    text = "Love the colour but the finish chipped in a day"
    stub.add_response(
        "detect_sentiment",
        _sentiment_response("MIXED", 0.31208, 0.18113, 0.02604, 0.48075),
        {"Text": text, "LanguageCode": "en"},
    )

    result = ComprehendAnalyzer(client).detect(text)

    assert result.label is SentimentLabel.MIXED
    assert (result.positive, result.negative, result.neutral, result.mixed) == (
        0.31208,
        0.18113,
        0.02604,
        0.48075,
    )


def test_comprehend_language_is_a_constructor_argument(comprehend: tuple[Any, Stubber]) -> None:
    client, stub = comprehend
    stub.add_response(
        "detect_sentiment",
        _sentiment_response("POSITIVE", 0.9912, 0.0011, 0.0071, 0.0006),
        {"Text": "J'adore ce vernis", "LanguageCode": "fr"},
    )
    assert ComprehendAnalyzer(client, language="fr").detect("J'adore ce vernis").label == "POSITIVE"


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("a" * 5_000, "a" * 5_000),  # exactly the limit: whole
        ("a" * 5_001, "a" * 5_000),
        ("é" * 3_000, "é" * 2_500),  # 2 bytes each
        ("💅" * 1_300, "💅" * 1_250),  # 4 bytes each
        ("a" + "💅" * 1_300, "a" + "💅" * 1_249),  # the 1,250th would end at byte 5,001
        ("ab" + "€" * 2_000, "ab" + "€" * 1_666),  # 3 bytes each: 2 + 4,998
        ("e\u0301" * 2_000, "e\u0301" * 1_666 + "e"),  # cut between a letter and its accent
    ],
    ids=["ascii-at-limit", "ascii", "accents", "emoji", "emoji-offset", "euro", "combining"],
)
def test_comprehend_text_is_cut_to_5000_utf8_bytes_on_a_character_boundary(
    comprehend: tuple[Any, Stubber], text: str, sent: str
) -> None:
    client, stub = comprehend
    assert len(sent.encode("utf-8")) <= SENTIMENT_MAX_BYTES
    stub.add_response(
        "detect_sentiment",
        _sentiment_response("POSITIVE", 0.95, 0.01, 0.03, 0.01),
        {"Text": sent, "LanguageCode": "en"},  # the stub checks the request it receives
    )
    assert ComprehendAnalyzer(client).detect(text).label is SentimentLabel.POSITIVE


def test_cut_utf8_replaces_a_lone_surrogate_rather_than_failing() -> None:
    assert cut_utf8("ok \ud83d done", 100) == "ok ? done"


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_comprehend_blank_text_is_neutral_without_a_call(
    comprehend: tuple[Any, Stubber], text: str
) -> None:
    client, _ = comprehend  # no response queued: a call would fail the test
    result = ComprehendAnalyzer(client).detect(text)
    assert (result.label, result.neutral) == (SentimentLabel.NEUTRAL, 1.0)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ThrottlingException", ServiceUnavailable),
        ("InternalServerException", ServiceUnavailable),
        ("AccessDeniedException", ServiceUnavailable),
        ("InvalidRequestException", SentimentError),
        ("TextSizeLimitExceededException", SentimentError),
        ("UnsupportedLanguageException", ConfigError),
    ],
)
def test_comprehend_errors_become_library_errors(
    comprehend: tuple[Any, Stubber], code: str, error: type[Exception]
) -> None:
    client, stub = comprehend
    stub.add_client_error("detect_sentiment", code, "refused", 400)
    with pytest.raises(error, match="Comprehend DetectSentiment") as raised:
        ComprehendAnalyzer(client).detect("Love it")
    assert type(raised.value) is error


def test_comprehend_unreachable_endpoint_is_service_unavailable() -> None:
    with pytest.raises(ServiceUnavailable, match="Comprehend DetectSentiment failed"):
        ComprehendAnalyzer(_unreachable("comprehend")).detect("Love it")


def test_a_throttled_comprehend_leaves_the_comment_pending(
    comprehend: tuple[Any, Stubber], tmp_path: Path
) -> None:
    client, stub = comprehend
    stub.add_client_error("detect_sentiment", "ThrottlingException", "Rate exceeded", 400)
    with (
        SqliteCommentStore(tmp_path / "comments.sqlite3") as store,
        SqliteRateLimiter(tmp_path / "ratelimit.sqlite3") as limiter,
    ):
        service = CommentService(
            store, ComprehendAnalyzer(client), limiter, {"ana/red"}.__contains__
        )
        result = service.post("ana/red", "sub-ana", "Ana", {"text": "Love it!"}, "203.0.113.5")

        assert result.created and result.comment.sentiment_status == "pending"
        assert [c.id for c in store.pending_sentiment(10)] == [result.comment.id]


def test_comprehend_key_phrases(comprehend: tuple[Any, Stubber]) -> None:
    client, stub = comprehend
    text = "The chrome powder over the jelly base looks amazing"
    stub.add_response(
        "detect_key_phrases",
        {
            "KeyPhrases": [
                {"Score": 0.9998, "Text": "The chrome powder", "BeginOffset": 0, "EndOffset": 17},
                {"Score": 0.9987, "Text": "the jelly base", "BeginOffset": 23, "EndOffset": 37},
            ]
        },
        {"Text": text, "LanguageCode": "en"},
    )
    assert ComprehendAnalyzer(client).key_phrases(text) == (
        KeyPhrase("The chrome powder", 0.9998),
        KeyPhrase("the jelly base", 0.9987),
    )


def test_comprehend_key_phrases_text_is_cut_to_100_kb(comprehend: tuple[Any, Stubber]) -> None:
    client, stub = comprehend
    sent = "💅" * (KEY_PHRASES_MAX_BYTES // 4)
    stub.add_response(
        "detect_key_phrases", {"KeyPhrases": []}, {"Text": sent, "LanguageCode": "en"}
    )
    assert ComprehendAnalyzer(client).key_phrases("💅" * 40_000) == ()


def test_comprehend_key_phrases_of_blank_text_is_empty_without_a_call(
    comprehend: tuple[Any, Stubber],
) -> None:
    client, _ = comprehend
    assert ComprehendAnalyzer(client).key_phrases("  ") == ()


def test_comprehend_key_phrases_throttled_is_service_unavailable(
    comprehend: tuple[Any, Stubber],
) -> None:
    client, stub = comprehend
    stub.add_client_error("detect_key_phrases", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(ServiceUnavailable, match=r"DetectKeyPhrases failed \(Throttling"):
        ComprehendAnalyzer(client).key_phrases("chrome powder")


# --- Rekognition (Stubber: moto has no DetectModerationLabels) -----------------------------

V7_SWIMWEAR = {  # shaped like a real taxonomy v7 answer: every level of one finding
    "ModerationLabels": [
        {
            "Confidence": 88.41,
            "Name": "Swimwear or Underwear",
            "ParentName": "",
            "TaxonomyLevel": 1,
        },
        {
            "Confidence": 88.41,
            "Name": "Female Swimwear or Underwear",
            "ParentName": "Swimwear or Underwear",
            "TaxonomyLevel": 2,
        },
        {
            "Confidence": 41.2,
            "Name": "Non-Explicit Nudity of Intimate parts and Kissing",
            "ParentName": "",
            "TaxonomyLevel": 1,
        },
    ],
    "ModerationModelVersion": "7.0",
    "ContentTypes": [],
}


@dataclass
class Rekognition:
    client: Any
    stub: Stubber
    sent: list[dict[str, Any]]  # the parameters of every DetectModerationLabels call


@pytest.fixture
def rekognition() -> Iterator[Rekognition]:
    client = boto3.client("rekognition", region_name=REGION)
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.rekognition.DetectModerationLabels",
        lambda params, **_: sent.append(params),
    )
    with Stubber(client) as stub:
        yield Rekognition(client, stub, sent)
        stub.assert_no_pending_responses()


def _answer(rekognition: Rekognition, response: dict | None = None, min_conf: float = 40.0) -> None:
    rekognition.stub.add_response(
        "detect_moderation_labels",
        response
        if response is not None
        else {"ModerationLabels": [], "ModerationModelVersion": "7.0"},
        {"Image": {"Bytes": ANY}, "MinConfidence": min_conf},
    )


def test_rekognition_v7_labels_map_onto_labels(rekognition: Rekognition) -> None:
    _answer(rekognition, V7_SWIMWEAR)
    moderator = RekognitionModerator(rekognition.client)

    labels = moderator.detect_labels(Image.new("RGB", (800, 1000), (250, 236, 240)))

    assert labels == (
        Label("Swimwear or Underwear", "", 88.41),
        Label("Female Swimwear or Underwear", "Swimwear or Underwear", 88.41),
        Label("Non-Explicit Nudity of Intimate parts and Kissing", "", 41.2),
    )
    assert decide(labels, ModerationSettings()) is Status.REJECTED
    assert moderator.name == "rekognition 7.0"


def test_rekognition_finding_nothing_approves(rekognition: Rekognition) -> None:
    _answer(rekognition)
    labels = RekognitionModerator(rekognition.client).detect_labels(Image.new("RGB", (300, 300)))
    assert labels == ()
    assert decide(labels, ModerationSettings()) is Status.APPROVED


@pytest.mark.parametrize(("review_at", "min_conf"), [(40.0, 40.0), (25.0, 25.0), (60.0, 40.0)])
def test_rekognition_min_confidence_is_at_most_the_review_threshold(
    rekognition: Rekognition, review_at: float, min_conf: float
) -> None:
    _answer(rekognition, min_conf=min_conf)  # the stub refuses any other MinConfidence
    RekognitionModerator(rekognition.client, review_at=review_at).detect_labels(
        Image.new("RGB", (300, 300))
    )


def _sent_image(rekognition: Rekognition) -> tuple[bytes, Image.Image]:
    (params,) = rekognition.sent
    data = params["Image"]["Bytes"]
    return data, Image.open(io.BytesIO(data))


@pytest.mark.parametrize(
    ("size", "expected"),
    [((12_000, 300), (10_000, 250)), ((50, 50), (80, 80)), ((1200, 900), (1200, 900))],
    ids=["huge-strip", "tiny", "ordinary"],
)
def test_rekognition_gets_a_jpeg_within_its_limits(
    rekognition: Rekognition, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    _answer(rekognition)
    RekognitionModerator(rekognition.client).detect_labels(Image.new("RGB", size, (200, 120, 160)))

    data, sent = _sent_image(rekognition)

    assert data[:3] == b"\xff\xd8\xff" and sent.format == "JPEG" and sent.mode == "RGB"
    assert len(data) <= MAX_BYTES
    assert sent.size == expected
    assert all(80 <= side <= 10_000 for side in sent.size)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L", "CMYK", "I;16"])
def test_rekognition_jpeg_is_rgb_whatever_the_mode(rekognition: Rekognition, mode: str) -> None:
    _answer(rekognition)
    RekognitionModerator(rekognition.client).detect_labels(
        Image.new("RGB", (200, 200)).convert(mode)
    )
    assert _sent_image(rekognition)[1].mode == "RGB"


def test_rekognition_transparent_pixels_are_sent_white(rekognition: Rekognition) -> None:
    _answer(rekognition)
    RekognitionModerator(rekognition.client).detect_labels(
        Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    )
    assert _sent_image(rekognition)[1].getpixel((100, 100)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((50, 50), (80, 80)),
        ((40, 4_000), (80, 8_000)),
        ((12_000, 300), (10_000, 250)),
        ((20_000, 20_000), (10_000, 10_000)),
        ((12_000, 50), (10_000, 80)),  # too thin for both limits: the short side stretches
        ((30, 9_000), (80, 10_000)),
        ((80, 10_000), (80, 10_000)),
    ],
)
def test_fit_sides(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert fit_sides(size) == expected


def _noise(width: int, height: int) -> Image.Image:
    rng = random.Random(7)
    return Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))


def test_encode_jpeg_shrinks_until_it_fits() -> None:
    data = encode_jpeg(_noise(1200, 1000), max_bytes=60_000)
    image = Image.open(io.BytesIO(data))
    assert len(data) <= 60_000
    assert image.width < 1200 and min(image.size) >= 80
    assert image.width / image.height == pytest.approx(1.2, rel=0.02)


def test_encode_jpeg_gives_up_with_an_error_rather_than_breaking_the_limit() -> None:
    with pytest.raises(ImageTooLarge, match="cannot encode"):
        encode_jpeg(_noise(200, 200), max_bytes=100)


FAILURES: list[Callable[[Stubber], None]] = [
    lambda stub: stub.add_client_error(
        "detect_moderation_labels", "ThrottlingException", "Rate exceeded", 400
    ),
    lambda stub: stub.add_client_error(
        "detect_moderation_labels", "ProvisionedThroughputExceededException", "Slow down", 400
    ),
    lambda stub: stub.add_client_error(
        "detect_moderation_labels", "InternalServerError", "Oops", 500
    ),
    lambda stub: stub.add_client_error(
        "detect_moderation_labels", "AccessDeniedException", "No", 403
    ),
    lambda stub: stub.add_client_error(
        "detect_moderation_labels", "InvalidImageFormatException", "Bad image", 400
    ),
    lambda stub: stub.add_client_error(
        "detect_moderation_labels", "ImageTooLargeException", "Too big", 400
    ),
]


@pytest.mark.parametrize(
    "fail",
    FAILURES,
    ids=["throttled", "throughput", "internal", "denied", "format", "too-large"],
)
@pytest.mark.parametrize(
    "policy",
    [ModerationSettings(), ModerationSettings(review_at=20, reject_at=30)],
    ids=["default", "strict"],
)
def test_a_failed_rekognition_call_means_needs_review(
    rekognition: Rekognition,
    fail: Callable[[Stubber], None],
    policy: ModerationSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fail(rekognition.stub)
    moderator = RekognitionModerator(rekognition.client, review_at=policy.review_at)

    with caplog.at_level(logging.WARNING, logger=rekognition_moderator.__name__):
        labels = moderator.detect_labels(Image.new("RGB", (300, 300)))

    assert [label.name for label in labels] == [UNAVAILABLE]
    assert decide(labels, policy) is Status.NEEDS_REVIEW
    assert "held for review" in caplog.text


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://rekognition.eu-west-1.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://rekognition.eu-west-1.amazonaws.com/"),
    ],
    ids=["no-connection", "timeout"],
)
def test_an_unreachable_or_silent_rekognition_means_needs_review(error: Exception) -> None:
    def fail(**_: Any) -> dict:
        raise error

    failing = boto3.client("rekognition", region_name=REGION)
    failing.detect_moderation_labels = fail  # a real client whose call fails at the socket
    labels = RekognitionModerator(failing).detect_labels(Image.new("RGB", (300, 300)))
    assert decide(labels, ModerationSettings()) is Status.NEEDS_REVIEW


def test_a_real_unreachable_endpoint_means_needs_review() -> None:
    moderator = RekognitionModerator(_unreachable("rekognition"))
    labels = moderator.detect_labels(Image.new("RGB", (300, 300)))
    assert decide(labels, ModerationSettings()) is Status.NEEDS_REVIEW


def test_an_image_that_cannot_be_encoded_means_needs_review(
    rekognition: Rekognition, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(image: Image.Image, max_bytes: int = MAX_BYTES) -> bytes:
        raise ImageTooLarge("cannot encode it")

    monkeypatch.setattr(rekognition_moderator, "encode_jpeg", refuse)
    labels = RekognitionModerator(rekognition.client).detect_labels(Image.new("RGB", (300, 300)))
    assert decide(labels, ModerationSettings()) is Status.NEEDS_REVIEW


def test_review_at_outside_0_to_100_is_refused() -> None:
    with pytest.raises(ValueError, match=r"review_at must be in 0\.\.100"):
        RekognitionModerator(object(), review_at=140)


def test_a_build_with_rekognition_throttled_holds_the_design_for_review(
    project: Project,
) -> None:
    """The pipeline, unchanged, records needs review and tells the admins."""
    client = boto3.client("rekognition", region_name=REGION)
    project.add_image("ana/red.jpg")
    settings = project.settings
    with (
        Stubber(client) as stub,
        config.open_catalog(settings) as catalog,
        OutboxNotifier(settings.root / "var" / "outbox.sqlite3") as outbox,
    ):
        stub.add_client_error(
            "detect_moderation_labels", "ThrottlingException", "Rate exceeded", 400
        )
        report = build_gallery(settings, catalog, outbox, lambda: RekognitionModerator(client))
        decision = catalog.latest_decision("ana/red")
        (note,) = outbox.list_notifications()

    assert list(report.problems) == []
    assert decision is not None and decision.status is Status.NEEDS_REVIEW
    assert decision.labels == (Label(UNAVAILABLE, "", 40.0),)
    assert note.subject == "Design ana/red needs review" and UNAVAILABLE in note.body
    assert not (project.root / "output" / "designs" / "ana" / "red").exists()
