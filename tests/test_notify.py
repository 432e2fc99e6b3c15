"""The outbox notifier: what admins see in /admin/ and `build.py moderation outbox`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nailfolio.errors import ConfigError
from nailfolio.gallery.notify import SUBJECT_MAX, Notifier, clean_subject
from nailfolio.local.outbox_notifier import OutboxNotifier
from nailfolio.local.sqlite_catalog import SqliteCatalog


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[OutboxNotifier]:
    with OutboxNotifier(tmp_path / "var" / "outbox.sqlite3") as notifier:
        yield notifier


def _send(notifier: Notifier, subject: str, body: str = "", tags: tuple[str, ...] = ()) -> None:
    notifier.notify(subject, body, tags)  # through the port, as the pipeline calls it


def test_notification_is_listed_with_its_fields(outbox: OutboxNotifier) -> None:
    before = datetime.now(UTC)
    _send(outbox, "Design ana/red needs review", "Explicit at 52%.", ("moderation", "needs_review"))

    (note,) = outbox.list_notifications()

    assert note.subject == "Design ana/red needs review"
    assert note.body == "Explicit at 52%."
    assert note.tags == ("moderation", "needs_review")
    assert before <= note.created_at <= datetime.now(UTC)
    assert note.created_at.utcoffset() == timedelta(0)


def test_notifications_are_listed_newest_first_up_to_the_limit(outbox: OutboxNotifier) -> None:
    for i in range(5):
        _send(outbox, f"note {i}")
    assert [n.subject for n in outbox.list_notifications(limit=3)] == ["note 4", "note 3", "note 2"]
    ids = [n.id for n in outbox.list_notifications()]
    assert ids == sorted(ids, reverse=True) and len(ids) == 5


def test_empty_outbox_lists_nothing(outbox: OutboxNotifier) -> None:
    assert outbox.list_notifications() == []


@pytest.mark.parametrize("limit", [0, -1])
def test_list_limit_must_be_positive(outbox: OutboxNotifier, limit: int) -> None:
    with pytest.raises(ValueError, match="limit must be 1 or more"):
        outbox.list_notifications(limit)


def test_tags_given_as_one_string_are_refused(outbox: OutboxNotifier) -> None:
    with pytest.raises(TypeError, match="not one string"):
        outbox.notify("subject", "body", "moderation")


def test_body_is_kept_verbatim(outbox: OutboxNotifier) -> None:
    body = "Line one\nLine two\twith a tab; and 'quotes' — ünïcode 💅"
    _send(outbox, "subject", body)
    assert outbox.list_notifications()[0].body == body


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Design ana/red was rejected", "Design ana/red was rejected"),
        ("two\nlines", "two lines"),
        ("  padded\r\n\tand tabbed  ", "padded and tabbed"),
        ("bell\x07and\x00nul", "bell and nul"),
        ("x" * SUBJECT_MAX, "x" * SUBJECT_MAX),
        ("x" * (SUBJECT_MAX + 1), "x" * (SUBJECT_MAX - 3) + "..."),
    ],
    ids=["plain", "newline", "whitespace", "control", "at-limit", "too-long"],
)
def test_subjects_are_cleaned_to_one_short_line(subject: str, expected: str) -> None:
    assert clean_subject(subject) == expected


def test_notify_stores_the_cleaned_subject(outbox: OutboxNotifier) -> None:
    _send(outbox, "Design\nana/red " + "y" * 200)
    stored = outbox.list_notifications()[0].subject
    assert "\n" not in stored and len(stored) == SUBJECT_MAX


def test_outbox_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with OutboxNotifier(path) as first:
        _send(first, "kept")
    with OutboxNotifier(path) as second:
        assert [n.subject for n in second.list_notifications()] == ["kept"]


def test_outbox_refuses_the_catalog_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    SqliteCatalog(path).close()
    with pytest.raises(ConfigError, match=r"belongs to another store.*its own file"):
        OutboxNotifier(path)


def test_outbox_and_catalog_live_side_by_side_in_var(tmp_path: Path) -> None:
    var = tmp_path / "var"
    with SqliteCatalog(var / "catalog.sqlite3"), OutboxNotifier(var / "outbox.sqlite3") as outbox:
        _send(outbox, "hello")
        assert len(outbox.list_notifications()) == 1


# --- the Notifier contract: every adapter, through the port ----------------------------------

Sent = tuple[str, str, tuple[str, ...]]  # (subject, body, tags) as the admins receive them


@pytest.fixture(params=["outbox", "sns"])
def sent_through(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Notifier, Callable[[], list[Sent]]]]:
    """A notifier and a reader of what it delivered, oldest first."""
    if request.param == "outbox":
        with OutboxNotifier(tmp_path / "outbox.sqlite3") as outbox:
            yield (
                outbox,
                lambda: [
                    (n.subject, n.body, n.tags) for n in reversed(outbox.list_notifications())
                ],
            )
        return
    import boto3
    from moto import mock_aws

    from nailfolio.aws.sns_notifier import SnsNotifier

    with mock_aws():
        sns = boto3.client("sns", region_name="eu-west-1")
        sqs = boto3.client("sqs", region_name="eu-west-1")
        arn = sns.create_topic(Name="admins")["TopicArn"]
        url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue["Attributes"]["QueueArn"])

        def read() -> list[Sent]:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            envelopes = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
            return [
                (
                    e.get("Subject", ""),
                    e["Message"],
                    tuple(json.loads(e["MessageAttributes"]["tags"]["Value"]))
                    if e.get("MessageAttributes")
                    else (),
                )
                for e in envelopes
            ]

        with SnsNotifier(sns, arn) as notifier:
            yield notifier, read


def test_contract_delivers_subject_body_and_tags(
    sent_through: tuple[Notifier, Callable[[], list[Sent]]],
) -> None:
    notifier, read = sent_through
    _send(notifier, "Design ana/red needs review", "Explicit at 52%.", ("moderation", "review"))
    assert read() == [("Design ana/red needs review", "Explicit at 52%.", ("moderation", "review"))]


def test_contract_subject_becomes_one_short_line(
    sent_through: tuple[Notifier, Callable[[], list[Sent]]],
) -> None:
    notifier, read = sent_through
    _send(notifier, "Design\nana/red " + "y" * 200, "body")
    ((subject, _, _),) = read()
    assert "\n" not in subject and len(subject) == SUBJECT_MAX and subject.endswith("...")


def test_contract_body_is_kept_verbatim(
    sent_through: tuple[Notifier, Callable[[], list[Sent]]],
) -> None:
    notifier, read = sent_through
    body = "Line one\nLine two\twith a tab; and 'quotes' — ünïcode 💅"
    _send(notifier, "subject", body)
    assert read()[0][1] == body


def test_contract_tags_given_as_one_string_are_refused(
    sent_through: tuple[Notifier, Callable[[], list[Sent]]],
) -> None:
    notifier, read = sent_through
    with pytest.raises(TypeError, match="not one string"):
        notifier.notify("subject", "body", "moderation")  # type: ignore[arg-type]
    assert read() == []
