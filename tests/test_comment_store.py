"""The CommentStore contract: every adapter (SQLite, and DynamoDB on moto) passes these."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from nailfolio.aws.dynamodb_comment_store import DynamoCommentStore, table_definition
from nailfolio.comments.digest import DigestMark
from nailfolio.comments.query import InvalidCursor, InvalidQuery, encode_cursor, new_comment_id
from nailfolio.comments.sentiment import Sentiment, SentimentLabel
from nailfolio.comments.service import Comment, CommentStore, SentimentStatus
from nailfolio.comments.status import CommentStatus, InvalidStatus
from nailfolio.errors import ConfigError
from nailfolio.local import sqlite
from nailfolio.local.outbox_notifier import OutboxNotifier
from nailfolio.local.sqlite_comment_store import APPLICATION_ID, MIGRATIONS, SqliteCommentStore

BASE = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
HAPPY = Sentiment(SentimentLabel.POSITIVE, 0.9, 0.0, 0.1, 0.0)
SAD = Sentiment(SentimentLabel.NEGATIVE, 0.0, 0.8, 0.2, 0.0)


def make_comment(
    seconds: float = 0,
    design: str = "ana/red",
    author: str = "sub-ana",
    text: str = "Lovely",
    sentiment: Sentiment | None = None,
    spam: bool = False,
) -> Comment:
    at = BASE + timedelta(seconds=seconds)
    status = SentimentStatus.SCORED if sentiment else SentimentStatus.PENDING
    return Comment(new_comment_id(at), design, author, "Ana", text, at, sentiment, status, spam)


class AtomicCalls:
    """A boto3 client whose calls run one at a time. moto's in-process DynamoDB is not
    thread-safe (TransactWriteItems deep-copies the tables for its rollback, unlocked, so
    concurrent transactions lose each other's writes); real DynamoDB makes every call atomic
    and transactions serializable, which this lock models, so the concurrency tests still
    test the store's own race handling."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**params: Any) -> Any:
            with self._lock:
                return method(**params)

        return call


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CommentStore]:
    """One fresh store per adapter: a SQLite file, or a DynamoDB table on moto."""
    if request.param == "dynamodb":
        with mock_aws():
            client = boto3.client("dynamodb", region_name="eu-west-1")
            client.create_table(**table_definition("comments"))
            yield DynamoCommentStore(AtomicCalls(client), "comments")  # type: ignore[arg-type]
        return
    with SqliteCommentStore(tmp_path / "comments.sqlite3") as sqlite_store:
        yield sqlite_store


def all_pages(store: CommentStore, limit: int, **filters: object) -> list[list[Comment]]:
    pages, cursor = [], None
    while True:
        page = store.list(**filters, limit=limit, cursor=cursor)  # type: ignore[arg-type]
        pages.append(list(page.comments))
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_add_then_get_returns_an_equal_comment(store: CommentStore) -> None:
    comment = make_comment(0.123456, text="<script>alert(1)</script> 👩‍🎨\nsecond line")
    assert store.add(comment) == (comment, True)
    assert store.get(comment.id) == comment
    assert store.get("0" * 32) is None


def test_add_stores_a_scored_comment_too(store: CommentStore) -> None:
    comment = make_comment(sentiment=HAPPY)
    store.add(comment)
    assert store.get(comment.id) == comment


def test_same_author_and_key_returns_the_first_comment(store: CommentStore) -> None:
    first = make_comment(0, text="first")
    assert store.add(first, "key-12345") == (first, True)
    assert store.add(make_comment(1, text="retry"), "key-12345") == (first, False)
    other_author = make_comment(2, author="sub-bo")
    assert store.add(other_author, "key-12345") == (other_author, True)
    assert store.add(make_comment(3), None)[1] and store.add(make_comment(4), None)[1]
    assert len(store.list().comments) == 4


def test_find_returns_the_comment_stored_under_an_authors_key(store: CommentStore) -> None:
    first = make_comment(0)
    store.add(first, "key-12345")
    store.add(make_comment(1), None)
    assert store.find("sub-ana", "key-12345") == first
    assert store.find("sub-bo", "key-12345") is None
    assert store.find("sub-ana", "key-67890") is None


def test_spam_is_listed_only_for_its_author_and_never_pending(store: CommentStore) -> None:
    spam = make_comment(0, text="Buy pills", spam=True)
    real = make_comment(1)
    assert store.add(spam, "key-12345") == (spam, True)
    store.add(real)
    assert store.get(spam.id) == spam and store.get(spam.id).spam  # type: ignore[union-attr]
    assert store.add(make_comment(2), "key-12345") == (spam, False)
    assert store.find("sub-ana", "key-12345") == spam
    assert store.list().comments == (real,)
    assert store.list(author_sub="sub-ana").comments == (real,)
    assert store.list(author_sub="sub-ana", include_spam=True).comments == (real, spam)
    assert [len(page) for page in all_pages(store, 1, include_spam=True)] == [1, 1]
    assert store.pending_sentiment(10) == [real]
    assert store.delete_by_author("sub-ana") == 2


def run_threads(count: int, target: Callable[[int], None]) -> None:
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        target(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_concurrent_retries_with_one_key_store_one_comment(store: CommentStore) -> None:
    results: list[tuple[Comment, bool]] = []
    run_threads(20, lambda i: results.append(store.add(make_comment(i), "same-key-1")))
    assert sum(created for _, created in results) == 1
    assert len({comment.id for comment, _ in results}) == 1
    assert len(store.list().comments) == 1


def test_fifty_concurrent_adds_all_land_once(store: CommentStore) -> None:
    run_threads(50, lambda i: store.add(make_comment(i, text=f"comment {i}"), f"key-{i:05d}"))
    texts = [comment.text for page in all_pages(store, 200) for comment in page]
    assert sorted(texts) == sorted(f"comment {i}" for i in range(50))


def test_set_sentiment_records_scored_and_failed(store: CommentStore) -> None:
    scored, failed = make_comment(0), make_comment(1)
    store.add(scored)
    store.add(failed)
    assert store.set_sentiment(scored.id, HAPPY, SentimentStatus.SCORED)
    assert store.set_sentiment(failed.id, None, SentimentStatus.FAILED)
    assert store.get(scored.id).sentiment == HAPPY  # type: ignore[union-attr]
    assert store.get(failed.id).sentiment_status == "failed"  # type: ignore[union-attr]
    assert not store.set_sentiment("f" * 32, HAPPY, SentimentStatus.SCORED)


def test_scores_come_back_equal_to_the_floats_stored(store: CommentStore) -> None:
    awkward = Sentiment(SentimentLabel.MIXED, 0.1 + 0.2, 1 / 3, 2 / 3 - 0.1, 1e-17)
    comment = make_comment()
    store.add(comment)
    store.set_sentiment(comment.id, awkward, SentimentStatus.SCORED)
    assert store.get(comment.id).sentiment == awkward  # type: ignore[union-attr]
    stored_scored = make_comment(1, sentiment=awkward)
    store.add(stored_scored)
    assert store.list(limit=1).comments == (stored_scored,)


def test_set_sentiment_refuses_a_status_that_contradicts_the_sentiment(
    store: CommentStore,
) -> None:
    comment = make_comment()
    store.add(comment)
    with pytest.raises(ValueError, match="scored needs one"):
        store.set_sentiment(comment.id, None, SentimentStatus.SCORED)
    with pytest.raises(ValueError, match="scored needs one"):
        store.set_sentiment(comment.id, HAPPY, SentimentStatus.FAILED)


def test_pages_cover_120_comments_once_newest_first(store: CommentStore) -> None:
    # Pairs share a timestamp, so the id must break ties for the cursor to be exact.
    comments = [make_comment(i // 2, text=f"c{i}") for i in range(120)]
    for comment in comments:
        store.add(comment)
    pages = all_pages(store, 25)
    assert [len(page) for page in pages] == [25, 25, 25, 25, 20]
    listed = [comment for page in pages for comment in page]
    expected = sorted(comments, key=lambda c: (c.created_at, c.id), reverse=True)
    assert listed == expected


def test_a_page_that_ends_exactly_at_the_last_comment_has_no_cursor(store: CommentStore) -> None:
    for i in range(10):
        store.add(make_comment(i))
    assert store.list(limit=10).next_cursor is None
    assert [len(page) for page in all_pages(store, 5)] == [5, 5]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        "@@@@",
        _b64(b"not json"),
        _b64(b'{"a": 1}'),
        _b64(b'["2025-05-01T12:00:00+00:00"]'),
        _b64(json.dumps(["yesterday", "a" * 32]).encode()),
        _b64(json.dumps(["2025-05-01T12:00:00", "a" * 32]).encode()),  # naive
        _b64(json.dumps(["2025-05-01T12:00:00+00:00", "x' OR 1=1 --"]).encode()),
        _b64(json.dumps([20250501, "a" * 32]).encode()),
        _b64(json.dumps(["0001-01-01T00:00:00+01:00", "a" * 32]).encode()),  # before year 1 UTC
        _b64(json.dumps(["9999-12-31T23:59:59-01:00", "a" * 32]).encode()),  # after 9999 UTC
        _b64(b"\xff\xfe\x00"),
        "A" * 500,
    ],
)
def test_bad_cursors_are_refused(store: CommentStore, cursor: str) -> None:
    with pytest.raises(InvalidCursor, match="start again from the first page"):
        store.list(cursor=cursor)


def test_a_valid_cursor_from_elsewhere_just_resumes_there(store: CommentStore) -> None:
    for i in range(5):
        store.add(make_comment(i))
    cursor = encode_cursor(BASE + timedelta(seconds=2, microseconds=1), "0" * 32)
    assert len(store.list(cursor=cursor).comments) == 3


def test_a_cursor_outside_the_time_range_resumes_as_its_position_says(
    store: CommentStore,
) -> None:
    for i in range(5):
        store.add(make_comment(i, text=f"c{i}"))
    since, until = BASE + timedelta(seconds=1), BASE + timedelta(seconds=4)
    below = encode_cursor(BASE + timedelta(microseconds=1), "0" * 32)
    above = encode_cursor(BASE + timedelta(seconds=9), "0" * 32)
    assert store.list(since=since, until=until, cursor=below).comments == ()
    in_range = store.list(since=since, until=until, cursor=above).comments
    assert [comment.text for comment in in_range] == ["c3", "c2", "c1"]


@pytest.mark.parametrize("limit", [0, -1, 201, 2.5, "10", True])
def test_page_limit_must_be_1_to_200(store: CommentStore, limit: object) -> None:
    with pytest.raises(InvalidQuery, match="from 1 to 200"):
        store.list(limit=limit)  # type: ignore[arg-type]


@pytest.fixture
def mixed_store(store: CommentStore) -> CommentStore:
    rows = [
        (0, "ana/red", "sub-ana", HAPPY),
        (10, "ana/red", "sub-bo", SAD),
        (20, "ana/blue", "sub-ana", SAD),
        (30, "bo/gold", "sub-cy", None),
        (40, "ana/red", "sub-cy", HAPPY),
    ]
    for seconds, design, author, sentiment in rows:
        store.add(make_comment(seconds, design, author, f"{design}@{seconds}", sentiment))
    return store


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["ana/red@40", "bo/gold@30", "ana/blue@20", "ana/red@10", "ana/red@0"]),
        ({"design": "ana/red"}, ["ana/red@40", "ana/red@10", "ana/red@0"]),
        ({"label": SentimentLabel.NEGATIVE}, ["ana/blue@20", "ana/red@10"]),
        ({"label": "positive"}, ["ana/red@40", "ana/red@0"]),
        ({"author_sub": "sub-ana"}, ["ana/blue@20", "ana/red@0"]),
        (
            {"since": BASE + timedelta(seconds=10)},
            ["ana/red@40", "bo/gold@30", "ana/blue@20", "ana/red@10"],
        ),
        ({"until": BASE + timedelta(seconds=10)}, ["ana/red@0"]),
        (
            {"since": BASE + timedelta(seconds=5), "until": BASE + timedelta(seconds=35)},
            ["bo/gold@30", "ana/blue@20", "ana/red@10"],
        ),
        ({"design": "ana/red", "label": "POSITIVE", "author_sub": "sub-cy"}, ["ana/red@40"]),
        ({"design": "nobody/none"}, []),
    ],
)
def test_filters(
    mixed_store: CommentStore, filters: dict[str, object], expected: list[str]
) -> None:
    pages = all_pages(mixed_store, 2, **filters)
    assert [comment.text for page in pages for comment in page] == expected


def test_filters_refuse_unknown_labels_and_empty_ranges(store: CommentStore) -> None:
    with pytest.raises(InvalidQuery, match="not one of"):
        store.list(label="ANGRY")  # type: ignore[arg-type]
    with pytest.raises(InvalidQuery, match="earlier than"):
        store.list(since=BASE, until=BASE)


@pytest.mark.parametrize(
    "bound",
    [
        {"since": datetime.fromisoformat("0001-01-01T00:00:00+01:00")},
        {"until": datetime.fromisoformat("9999-12-31T23:59:59-01:00")},
    ],
)
def test_filters_refuse_times_outside_the_utc_range(
    store: CommentStore, bound: dict[str, datetime]
) -> None:
    with pytest.raises(InvalidQuery, match="out of range"):
        store.list(**bound)  # type: ignore[arg-type]


def test_pending_sentiment_is_oldest_first_and_only_pending(store: CommentStore) -> None:
    newer, older, scored, failed = (make_comment(seconds) for seconds in (3, 1, 0, 2))
    for comment in (newer, older, scored, failed):
        store.add(comment)
    store.set_sentiment(scored.id, HAPPY, SentimentStatus.SCORED)
    store.set_sentiment(failed.id, None, SentimentStatus.FAILED)
    assert store.pending_sentiment(10) == [older, newer]
    assert store.pending_sentiment(1) == [older]


def test_delete_and_delete_by_author(store: CommentStore) -> None:
    mine = [make_comment(i, author="sub-me") for i in range(3)]
    theirs = make_comment(9, author="sub-them")
    for comment in (*mine, theirs):
        store.add(comment)
    assert store.delete(mine[0].id)
    assert not store.delete(mine[0].id)
    assert store.delete_by_author("sub-me") == 2
    assert store.delete_by_author("sub-me") == 0
    assert store.list().comments == (theirs,)


def test_an_idempotency_key_is_free_again_after_its_comment_is_deleted(
    store: CommentStore,
) -> None:
    first = make_comment(0)
    store.add(first, "key-12345")
    store.delete(first.id)
    second = make_comment(1)
    assert store.add(second, "key-12345") == (second, True)


def test_sqlite_store_keeps_comments_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "comments.sqlite3"
    comment = make_comment()
    with SqliteCommentStore(path) as store:
        store.add(comment)
    with SqliteCommentStore(path) as store:
        assert store.get(comment.id) == comment


def test_sqlite_store_upgrades_a_file_from_before_spam(tmp_path: Path) -> None:
    path = tmp_path / "comments.sqlite3"
    conn = sqlite.connect(path, MIGRATIONS[:1], application_id=APPLICATION_ID)
    conn.execute(
        "INSERT INTO comments (id, design, author_sub, author_name, text, created_at,"
        " sentiment_status) VALUES (?, 'ana/red', 'sub-ana', 'Ana', 'Old', ?, 'pending')",
        ("0" * 32, BASE.isoformat(timespec="microseconds")),
    )
    conn.close()
    with SqliteCommentStore(path) as store:
        (old,) = store.list().comments
        assert (old.text, old.spam) == ("Old", False)
        assert store.pending_sentiment(10) == [old]


def test_sqlite_store_refuses_another_stores_file(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    OutboxNotifier(path).close()
    with pytest.raises(ConfigError, match="belongs to another store"):
        SqliteCommentStore(path)


# -- answering customers: the author's email, the admins' status, the digest's mark ----------


def test_author_email_and_status_round_trip(store: CommentStore) -> None:
    comment = replace(make_comment(), author_email="ana@example.com")
    store.add(comment)
    stored = store.get(comment.id)
    assert stored == comment
    assert stored is not None
    assert (stored.author_email, stored.status) == ("ana@example.com", CommentStatus.NEW)
    assert stored.status_changed_at == comment.created_at


def test_set_status_records_the_status_and_when(store: CommentStore) -> None:
    comment = make_comment()
    store.add(comment)
    later = BASE + timedelta(hours=2, microseconds=7)
    updated = store.set_status(comment.id, CommentStatus.ANSWERED, later)
    assert updated == replace(comment, status=CommentStatus.ANSWERED, status_changed_at=later)
    assert store.get(comment.id) == updated
    assert store.set_status("0" * 32, CommentStatus.CLOSED, later) is None


def test_list_filters_by_status(store: CommentStore) -> None:
    new, answered, closed = (make_comment(seconds) for seconds in (0, 1, 2))
    for comment in (new, answered, closed):
        store.add(comment)
    store.set_status(answered.id, CommentStatus.ANSWERED, BASE)
    store.set_status(closed.id, CommentStatus.CLOSED, BASE)
    by_status = {
        status: [c.id for page in all_pages(store, 1, status=status) for c in page]
        for status in ("new", CommentStatus.ANSWERED, "closed")
    }
    assert by_status == {"new": [new.id], "answered": [answered.id], "closed": [closed.id]}
    with pytest.raises(InvalidStatus, match="not one of new, answered, closed"):
        store.list(status="done")  # type: ignore[arg-type]


def test_digest_mark_is_kept_and_replaced(store: CommentStore) -> None:
    marks: Any = store
    assert marks.digest_mark() is None
    first = DigestMark(BASE, "a" * 32, BASE + timedelta(minutes=1))
    marks.set_digest_mark(first)
    assert marks.digest_mark() == first
    second = DigestMark(BASE + timedelta(hours=1), "b" * 32, BASE + timedelta(hours=1, seconds=9))
    marks.set_digest_mark(second)
    assert marks.digest_mark() == second
    assert store.list().comments == ()  # the mark is never listed as a comment


def test_sqlite_store_upgrades_a_file_from_before_statuses(tmp_path: Path) -> None:
    path = tmp_path / "comments.sqlite3"
    conn = sqlite.connect(path, MIGRATIONS[:2], application_id=APPLICATION_ID)
    conn.execute(
        "INSERT INTO comments (id, design, author_sub, author_name, text, created_at,"
        " sentiment_status) VALUES (?, 'ana/red', 'sub-ana', 'Ana', 'Old', ?, 'pending')",
        ("0" * 32, BASE.isoformat(timespec="microseconds")),
    )
    conn.close()
    with SqliteCommentStore(path) as store:
        (old,) = store.list(status=CommentStatus.NEW).comments
        assert (old.text, old.author_email, old.status) == ("Old", "", CommentStatus.NEW)
        assert old.status_changed_at == BASE
        assert store.digest_mark() is None


def test_dynamodb_items_from_before_statuses_read_as_new(tmp_path: Path) -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(**table_definition("comments"))
        store = DynamoCommentStore(client, "comments")
        comment = make_comment()
        store.add(comment)
        client.update_item(
            TableName="comments",
            Key={"pk": {"S": f"C#{comment.id}"}, "sk": {"S": "comment"}},
            UpdateExpression="REMOVE author_email, #status, status_changed_at",
            ExpressionAttributeNames={"#status": "status"},
        )
        assert store.get(comment.id) == comment
        assert store.list(status=CommentStatus.NEW).comments == (comment,)
        assert store.list(status=CommentStatus.ANSWERED).comments == ()
