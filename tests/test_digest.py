"""The admins' digest of new comments (comments.digest): at most one message per N minutes,
one message naming every new comment, none when nothing is new, and nothing lost when a
send fails; on both stores, and end to end through the outbox and through SNS (moto)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import Project
from moto import mock_aws
from serve_process import serving_until

from nailfolio.aws import clients
from nailfolio.aws.dynamodb_comment_store import DynamoCommentStore, table_definition
from nailfolio.comments import digest
from nailfolio.comments.digest import Digest, DigestStore, run_digests, send_digest
from nailfolio.comments.query import new_comment_id
from nailfolio.comments.service import Comment
from nailfolio.config import load_settings
from nailfolio.gallery import events
from nailfolio.local.outbox_notifier import OutboxNotifier
from nailfolio.local.sqlite_comment_store import SqliteCommentStore

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
EVERY = timedelta(minutes=15)
ADMIN_URL = "https://studio.example/admin/"
REGION = "eu-west-1"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Outbox:
    """A notifier that records each message, and fails while `failing` is set."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, tuple[str, ...]]] = []
        self.failing = False

    def notify(self, subject: str, body: str, tags: Any = ()) -> None:
        if self.failing:
            raise ConnectionError("SNS is unreachable")
        self.sent.append((subject, body, tuple(tags)))


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DigestStore]:
    if request.param == "dynamodb":
        with mock_aws():
            client = boto3.client("dynamodb", region_name=REGION)
            client.create_table(**table_definition("comments"))
            yield DynamoCommentStore(client, "comments")
        return
    with SqliteCommentStore(tmp_path / "comments.sqlite3") as sqlite_store:
        yield sqlite_store


def post(store: DigestStore, at: datetime, text: str, name: str = "Cleo", **extra: Any) -> Comment:
    comment = Comment(new_comment_id(at), "ana/red", f"sub-{name}", name, text, at, **extra)
    store.add(comment)
    return comment


def run(store: DigestStore, outbox: Outbox, clock: Clock) -> Digest:
    return send_digest(store, outbox, ADMIN_URL, EVERY, clock, site_name="Nailfolio")


def test_two_comments_within_the_interval_make_one_digest_naming_both(
    store: DigestStore,
) -> None:
    clock, outbox = Clock(), Outbox()
    post(store, T0 - timedelta(minutes=5), "First ever")
    assert run(store, outbox, clock) == Digest(1)
    post(store, T0 + timedelta(minutes=1), "Can I book this for my wedding?\nOn 12 June", "Ana")
    post(store, T0 + timedelta(minutes=3), "Gorgeous chrome", "Bo")
    for minutes in (2, 5, 14.9):  # not due: the last digest went out under 15 minutes ago
        clock.now = T0 + timedelta(minutes=minutes)
        assert run(store, outbox, clock) == Digest(0, "not due")
    clock.now = T0 + timedelta(minutes=15)
    assert run(store, outbox, clock) == Digest(2)
    assert len(outbox.sent) == 2  # the first digest, then one for both: never one a comment
    subject, body, tags = outbox.sent[1]
    assert subject == "Nailfolio: 2 new comments"
    assert body == (
        "2 new comments on Nailfolio:\n\n"
        "- ana/red, Ana: Can I book this for my wedding?\n"
        "- ana/red, Bo: Gorgeous chrome\n\n"
        f"Read and answer them: {ADMIN_URL}"
    )
    assert tags == ("comments", "digest")


def test_nothing_new_sends_nothing_and_a_later_comment_goes_out_when_due(
    store: DigestStore,
) -> None:
    clock, outbox = Clock(), Outbox()
    assert run(store, outbox, clock) == Digest(0, "nothing new")
    post(store, T0 - timedelta(minutes=1), "Hello")
    assert run(store, outbox, clock) == Digest(1)
    clock.now = T0 + timedelta(hours=3)
    assert run(store, outbox, clock) == Digest(0, "nothing new")  # due, but nothing to say
    post(store, clock.now - timedelta(minutes=1), "Later")
    assert run(store, outbox, clock) == Digest(1)  # sent at once: the last was long ago
    assert [body.splitlines()[2] for _, body, _ in outbox.sent] == [
        "- ana/red, Cleo: Hello",
        "- ana/red, Cleo: Later",
    ]


def test_a_failed_send_keeps_the_mark_so_the_next_run_sends_them(store: DigestStore) -> None:
    clock, outbox = Clock(), Outbox()
    post(store, T0 - timedelta(minutes=2), "One")
    post(store, T0 - timedelta(minutes=1), "Two")
    outbox.failing = True
    with pytest.raises(ConnectionError):
        run(store, outbox, clock)
    assert store.digest_mark() is None
    outbox.failing = False
    clock.now += timedelta(minutes=1)
    assert run(store, outbox, clock) == Digest(2)
    ((_, body, _),) = outbox.sent
    assert "Cleo: One" in body and "Cleo: Two" in body
    clock.now += EVERY
    assert run(store, outbox, clock) == Digest(0, "nothing new")  # never sent twice


def test_spam_is_left_out_and_the_newest_comments_wait_to_settle(store: DigestStore) -> None:
    clock, outbox = Clock(), Outbox()
    post(store, T0 - timedelta(minutes=3), "A bot's", spam=True)
    post(store, T0 - timedelta(minutes=2), "Real")
    settling = post(store, T0 - timedelta(seconds=10), "Being stored right now")
    assert run(store, outbox, clock) == Digest(1)
    assert "Real" in outbox.sent[0][1] and "bot" not in outbox.sent[0][1]
    clock.now += EVERY
    assert run(store, outbox, clock) == Digest(1)
    assert f"Cleo: {settling.text}" in outbox.sent[1][1]


def test_the_first_digest_covers_the_last_day(store: DigestStore) -> None:
    clock, outbox = Clock(), Outbox()
    post(store, T0 - timedelta(days=2), "Old news")
    post(store, T0 - timedelta(hours=23), "Yesterday")
    assert run(store, outbox, clock) == Digest(1)
    assert "Yesterday" in outbox.sent[0][1] and "Old news" not in outbox.sent[0][1]


def test_comments_at_one_instant_are_each_sent_once(store: DigestStore) -> None:
    """The mark is (created_at, id): comments sharing a time are told apart by id."""
    clock, outbox = Clock(), Outbox()
    at = T0 - timedelta(minutes=1)
    first = post(store, at, "same time 1")
    assert run(store, outbox, clock) == Digest(1)
    later_id = replace(first, id=first.id[:12] + "f" * 20, text="same time 2")
    store.add(later_id)
    clock.now += EVERY
    assert run(store, outbox, clock) == Digest(1)
    assert "same time 2" in outbox.sent[1][1] and "same time 1" not in outbox.sent[1][1]


def test_a_long_digest_lists_fifty_and_counts_the_rest() -> None:
    new = [
        Comment(
            new_comment_id(T0), "bo/gold", "s", "", f"line {n}\nmore", T0 + timedelta(seconds=n)
        )
        for n in range(60, 0, -1)  # newest first, as listed
    ]
    new[0] = replace(new[0], text="x" * 300)
    subject, body = digest.digest_message(new, ADMIN_URL, "Studio")
    lines = body.splitlines()
    assert subject == "Studio: 60 new comments"
    assert lines[2] == "- bo/gold, someone: line 11"  # oldest listed first; no name given
    assert lines[51] == "- bo/gold, someone: " + "x" * 117 + "..."
    assert lines[52] == "... and 10 more"
    capped = digest.digest_message(new * 20, ADMIN_URL, "Studio")  # 1,200: reading stopped
    assert capped[0] == "Studio: 1200+ new comments"


def test_run_digests_outlives_a_failing_round() -> None:
    stop, sent, rounds = threading.Event(), [], []

    def send() -> Digest:
        rounds.append(1)
        if len(rounds) == 1:
            raise ConnectionError("down")
        stop.set()
        return Digest(3)

    run_digests(send, stop, sent.append, interval=0)
    assert (len(rounds), sent) == (2, [3])


# -- end to end: the job the upkeep thread and the schedule run --------------------------


def test_send_comment_digest_writes_one_outbox_message_locally(tmp_path: Path) -> None:
    settings = load_settings(env={"NAILFOLIO_SITE_URL": "https://studio.example"}, root=tmp_path)
    settings.var_dir.mkdir()
    now = datetime.now(UTC)
    with SqliteCommentStore(settings.comments_path) as store:
        post(store, now - timedelta(minutes=2), "Do you do gel?")
        post(store, now - timedelta(minutes=1), "Booking for Friday?", "Ana")
    assert events.send_comment_digest(settings) == Digest(2)
    assert events.send_comment_digest(settings) == Digest(0, "not due")
    with OutboxNotifier(settings.outbox_path) as outbox:
        (note,) = outbox.list_notifications()
    assert note.subject == "Nailfolio: 2 new comments"
    assert "- ana/red, Cleo: Do you do gel?\n- ana/red, Ana: Booking for Friday?" in note.body
    assert note.body.endswith("Read and answer them: https://studio.example/admin/")


def test_send_comment_digest_publishes_one_sns_message_on_aws(tmp_path: Path) -> None:
    clients.forget_clients()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(**table_definition("t-comments"))
        sns, sqs = (boto3.client(name, region_name=REGION) for name in ("sns", "sqs"))
        topic = sns.create_topic(Name="t-admins")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        env = {
            "NAILFOLIO_BACKEND": "aws",
            "NAILFOLIO_AWS_REGION": REGION,
            "NAILFOLIO_AWS_PREFIX": "t",
            "NAILFOLIO_TOPIC_ARN": topic,
            "NAILFOLIO_SITE_URL": "https://studio.example",
            "NAILFOLIO_DIGEST_MINUTES": "30",
        }
        settings = load_settings(env=env, root=tmp_path)
        store = DynamoCommentStore(dynamodb, "t-comments")
        now = datetime.now(UTC)
        post(store, now - timedelta(minutes=2), "Wedding nails?")
        post(store, now - timedelta(minutes=1), "Love it", "Bo")
        assert events.send_comment_digest(settings) == Digest(2)
        mark = store.digest_mark()
        assert mark is not None
        store.set_digest_mark(replace(mark, sent_at=mark.sent_at - timedelta(minutes=29)))
        post(store, now - timedelta(seconds=40), "One more")
        assert events.send_comment_digest(settings) == Digest(0, "not due")  # 30 minutes
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    clients.forget_clients()
    (envelope,) = (json.loads(message["Body"]) for message in messages)
    assert envelope["Subject"] == "Nailfolio: 2 new comments"
    assert "- ana/red, Cleo: Wedding nails?\n- ana/red, Bo: Love it" in envelope["Message"]
    assert json.loads(envelope["MessageAttributes"]["tags"]["Value"]) == ["comments", "digest"]


def test_the_schedule_asks_as_often_as_the_library_says() -> None:
    from chalice import Rate

    from chalice_app.app import app

    (schedule,) = (s for s in app.event_sources if getattr(s, "name", "") == "comment_digest")
    assert (schedule.schedule_expression.value, schedule.schedule_expression.unit) == (
        digest.CHECK_MINUTES,
        Rate.MINUTES,
    )


def test_serve_sends_the_digest_of_comments_posted_while_it_was_down(project: Project) -> None:
    """`build.py serve` on a project holding a comment no digest has named yet."""
    with SqliteCommentStore(project.settings.comments_path) as store:
        post(store, datetime.now(UTC) - timedelta(minutes=2), "Are you open on Sunday?")
    project.settings.output_dir.mkdir()
    (project.settings.output_dir / "index.html").write_text("<h1>Gallery</h1>")
    said = "sent the admins a digest of 1 new comments (see /admin/)\n"
    with serving_until(project.root, said) as port:
        with OutboxNotifier(project.settings.outbox_path) as outbox:
            (note,) = outbox.list_notifications()
        assert "- ana/red, Cleo: Are you open on Sunday?" in note.body
        assert f"http://127.0.0.1:{port}/admin/" in note.body
