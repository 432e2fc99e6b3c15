"""Comments: payload validation and the CommentService (posting, scoring, listing, export)."""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nailfolio.comments.query import COMMENT_ID, CommentFilter, InvalidQuery, parse_list_query
from nailfolio.comments.sentiment import (
    Sentiment,
    SentimentAnalyzer,
    SentimentError,
    SentimentLabel,
)
from nailfolio.comments.service import (
    CSV_COLUMNS,
    Comment,
    CommentLimits,
    CommentNotFound,
    CommentService,
    IdempotencyKeyReused,
    PostResult,
    SentimentStatus,
)
from nailfolio.comments.status import CommentStatus, InvalidStatus
from nailfolio.comments.text import InvalidComment, parse_comment_payload
from nailfolio.errors import DesignNotFound, NailfolioError
from nailfolio.local.sqlite_comment_store import SqliteCommentStore
from nailfolio.local.sqlite_rate_limiter import SqliteRateLimiter
from nailfolio.local.vader_sentiment import VaderAnalyzer
from nailfolio.ratelimit import RateLimited, RateRule

START = datetime(2025, 5, 1, 12, 0, 20, tzinfo=UTC)  # 20 s into a minute
PUBLISHED = {"ana/red", "ana/blue", "bo/gold"}
HAPPY = Sentiment(SentimentLabel.POSITIVE, 0.9, 0.0, 0.1, 0.0)
IP = "203.0.113.5"
MakeService = Callable[..., CommentService]


# --- validation ----------------------------------------------------------------------------

VALID = [
    ("Love it!", "Love it!"),
    ("  padded \n\t ", "padded"),
    ("a" * 2000, "a" * 2000),
    ("e\u0301" * 2000, "\u00e9" * 2000),  # NFC: e + combining acute counts as one
    ("line one\r\nline two\rthree", "line one\nline two\nthree"),
    ("tab\tinside", "tab\tinside"),
    ("👩‍🎨 nail artist", "👩‍🎨 nail artist"),  # ZWJ sequence allowed
    ("می‌خواهم", "می‌خواهم"),  # Persian needs the zero-width non-joiner
    ("<script>alert('x')</script>", "<script>alert('x')</script>"),  # text, kept verbatim
    ("=SUM(A1:A9)", "=SUM(A1:A9)"),  # stored as typed; the CSV export defuses it
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_text_is_normalised(text: str, expected: str) -> None:
    assert parse_comment_payload({"text": text}).text == expected


INVALID = [
    ({"text": ""}, "text", "Comment is empty"),
    ({"text": "  \n\t  "}, "text", "Comment is empty"),
    ({"text": "a" * 2001}, "text", "Comment is 2001 characters; the limit is 2000"),
    ({"text": "a" * 9000}, "text", "Comment is 9000 characters; the limit is 2000"),
    ({"text": "bad\x00byte"}, "text", "a NUL character (U+0000) at character 4"),
    ({"text": "broken \ud800 emoji"}, "text", "unpaired surrogate"),
    ({"text": "evil\u202etxt.exe"}, "text", "text-direction control (U+202E)"),
    ({"text": "hidden\u2066isolate"}, "text", "text-direction control (U+2066)"),
    ({"text": "zero\u200bwidth"}, "text", "invisible zero-width character (U+200B)"),
    ({"text": "\ufeffbom"}, "text", "invisible zero-width character (U+FEFF)"),
    ({"text": "\x1b[31mred"}, "text", "a control character (U+001B)"),
    ({"text": "c1\x85control"}, "text", "a control character (U+0085)"),
    ({}, "text", "has no text"),
    ({"text": 42}, "text", "must be a string"),
    ({"text": None}, "text", "must be a string"),
    ({"text": ["Love it"]}, "text", "must be a string"),
    ({"text": "hi", "id": "x"}, "id", "Unknown field: id;"),
    (
        {"text": "hi", "status": 1, "sentiment": {}},
        "sentiment",
        "Unknown fields: sentiment, status",
    ),
    ({"text": "hi", "author_sub": "admin"}, "author_sub", "Unknown field: author_sub"),
    ({"text": "hi", "created_at": "2020-01-01"}, "created_at", "Unknown field: created_at"),
    ({"text": "hi", "website": 1}, "website", "website must be a string"),
    ({"text": "hi", "idempotency_key": "short"}, "idempotency_key", "8 to 128"),
    ({"text": "hi", "idempotency_key": "has space!"}, "idempotency_key", "8 to 128"),
    ({"text": "hi", "idempotency_key": "k" * 129}, "idempotency_key", "8 to 128"),
    ({"text": "hi", "idempotency_key": 123456789}, "idempotency_key", "8 to 128"),
    (["Love it"], None, "must be a JSON object"),
    ("Love it", None, "must be a JSON object"),
    (None, None, "must be a JSON object"),
]


@pytest.mark.parametrize(("payload", "field", "message"), INVALID)
def test_invalid_payloads_are_refused_with_the_field_and_a_fix(
    payload: object, field: str | None, message: str
) -> None:
    with pytest.raises(InvalidComment, match=re.escape(message)) as e:
        parse_comment_payload(payload)
    assert e.value.field == field
    assert isinstance(e.value, NailfolioError)


def test_honeypot_and_idempotency_key_are_read() -> None:
    parsed = parse_comment_payload(
        {"text": "hi", "website": "http://spam.example", "idempotency_key": "abc-DEF_123"}
    )
    assert parsed.honeypot and parsed.idempotency_key == "abc-DEF_123"
    assert not parse_comment_payload({"text": "hi", "website": "  "}).honeypot
    assert not parse_comment_payload({"text": "hi", "website": None}).honeypot


# --- the service ---------------------------------------------------------------------------


class FakeClock:
    """One clock for the service (datetimes) and the rate limiter (Unix seconds)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FixedAnalyzer:
    name = "fixed"

    def __init__(self, sentiment: Sentiment = HAPPY) -> None:
        self.sentiment = sentiment
        self.calls = 0

    def detect(self, text: str) -> Sentiment:
        self.calls += 1
        return self.sentiment


class BrokenAnalyzer:
    name = "broken"

    def detect(self, text: str) -> Sentiment:
        raise ConnectionError("comprehend.eu-west-1.amazonaws.com: connection refused")


class RefusingAnalyzer:
    name = "refusing"

    def detect(self, text: str) -> Sentiment:
        raise SentimentError("language not supported")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteCommentStore]:
    with SqliteCommentStore(tmp_path / "comments.sqlite3") as store:
        yield store


@pytest.fixture
def limiter(tmp_path: Path, clock: FakeClock) -> Iterator[SqliteRateLimiter]:
    with SqliteRateLimiter(tmp_path / "ratelimit.sqlite3", clock=clock.seconds) as limiter:
        yield limiter


@pytest.fixture
def make_service(
    store: SqliteCommentStore, limiter: SqliteRateLimiter, clock: FakeClock
) -> MakeService:
    def make(
        analyzer: SentimentAnalyzer | None = None, limits: CommentLimits | None = None
    ) -> CommentService:
        return CommentService(
            store,
            analyzer or FixedAnalyzer(),
            limiter,
            PUBLISHED.__contains__,
            clock=clock,
            limits=limits or CommentLimits(),
        )

    return make


@pytest.fixture
def service(make_service: MakeService) -> CommentService:
    return make_service()


def post(
    service: CommentService,
    text: str = "Love it!",
    author: str = "sub-ana",
    design: str = "ana/red",
    ip: str = IP,
    key: str | None = None,
    **extra: object,
) -> PostResult:
    return service.post(design, author, "Ana", {"text": text, **extra}, ip, key)


def test_post_stores_and_scores_a_comment(
    service: CommentService, store: SqliteCommentStore
) -> None:
    result = post(service, "  Love it! ")
    assert result.created
    comment = result.comment
    assert COMMENT_ID.fullmatch(comment.id)
    assert (comment.design, comment.author_sub, comment.author_name) == (
        "ana/red",
        "sub-ana",
        "Ana",
    )
    assert comment.text == "Love it!"
    assert comment.created_at == START
    assert (comment.sentiment, comment.sentiment_status) == (HAPPY, "scored")
    assert store.get(comment.id) == comment


def test_post_to_an_unpublished_design_is_refused(
    service: CommentService, store: SqliteCommentStore
) -> None:
    with pytest.raises(DesignNotFound, match="no published design 'ana/draft'"):
        post(service, design="ana/draft")
    assert store.list().comments == ()


def test_same_idempotency_key_twice_stores_one_comment(
    service: CommentService, store: SqliteCommentStore
) -> None:
    first = post(service, key="retry-key-1")
    again = service.post(
        "ana/red", "sub-ana", "Ana", {"text": "Love it!", "idempotency_key": "retry-key-1"}, IP
    )
    assert first.created and not again.created
    assert again.comment == first.comment
    assert len(store.list().comments) == 1


def test_idempotency_keys_in_body_and_argument_must_agree(service: CommentService) -> None:
    result = post(service, key="same-key-1", idempotency_key="same-key-1")
    assert result.created
    with pytest.raises(InvalidComment, match="Two different idempotency keys"):
        post(service, key="key-one-1", idempotency_key="key-two-2")
    with pytest.raises(InvalidComment, match="8 to 128"):
        post(service, key="bad key")


def test_reusing_a_key_for_a_different_comment_is_refused(service: CommentService) -> None:
    post(service, "first", key="reused-key")
    with pytest.raises(IdempotencyKeyReused, match="use a new key"):
        post(service, "second", key="reused-key")


def test_fifty_concurrent_posts_all_land_once(
    service: CommentService, store: SqliteCommentStore
) -> None:
    start = threading.Barrier(50)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        start.wait()
        try:
            post(service, f"comment {i}", author=f"sub-{i}", ip=f"198.51.{i}.7", key=f"key-{i:04d}")
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    page = store.list(limit=200)
    assert sorted(c.text for c in page.comments) == sorted(f"comment {i}" for i in range(50))
    assert {c.sentiment_status for c in page.comments} == {SentimentStatus.SCORED}


def test_a_failing_analyzer_leaves_the_comment_stored_and_pending(
    make_service: MakeService,
    store: SqliteCommentStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="nailfolio.comments.service"):
        result = post(make_service(BrokenAnalyzer()), "Do not lose me")
    assert result.created
    assert result.comment.sentiment_status == "pending"
    assert store.get(result.comment.id) == result.comment
    assert "left pending" in caplog.text and "Do not lose me" not in caplog.text

    analyzer = FixedAnalyzer()
    assert make_service(analyzer).backfill_sentiment() == 1
    assert store.get(result.comment.id).sentiment == HAPPY  # type: ignore[union-attr]
    assert make_service(analyzer).backfill_sentiment() == 0
    assert analyzer.calls == 1


def test_backfill_leaves_comments_pending_while_the_analyzer_is_down(
    make_service: MakeService,
    store: SqliteCommentStore,
) -> None:
    broken = make_service(BrokenAnalyzer())
    for i in range(3):
        post(broken, f"comment {i}")
    assert broken.backfill_sentiment() == 0
    assert len(store.pending_sentiment(10)) == 3
    assert make_service().backfill_sentiment(limit=2) == 2
    assert len(store.pending_sentiment(10)) == 1


def test_text_the_analyzer_can_never_score_is_marked_failed(
    make_service: MakeService,
    store: SqliteCommentStore,
) -> None:
    result = post(make_service(RefusingAnalyzer()))
    assert result.comment.sentiment_status == "failed"
    assert store.get(result.comment.id).sentiment_status == "failed"  # type: ignore[union-attr]
    assert store.pending_sentiment(10) == []


def test_honeypot_post_looks_accepted_and_is_kept_from_admins_as_spam(
    service: CommentService, store: SqliteCommentStore
) -> None:
    fake = post(service, "Buy pills", website="http://spam.example")
    real = post(service, "Buy pills", author="sub-bo")
    assert fake.created is real.created is True
    assert COMMENT_ID.fullmatch(fake.comment.id)
    for name in ("design", "author_name", "text", "created_at"):
        assert getattr(fake.comment, name) == getattr(real.comment, name)
    assert [
        type(getattr(fake.comment, f.name)) for f in fields(Comment) if f.name != "sentiment"
    ] == [type(getattr(real.comment, f.name)) for f in fields(Comment) if f.name != "sentiment"]
    assert (fake.comment.spam, real.comment.spam) == (True, False)
    assert store.list().comments == (real.comment,)
    assert service.list_for_admin().comments == (real.comment,)
    assert store.get(fake.comment.id) == fake.comment  # stored, flagged, not scored
    assert fake.comment.sentiment_status == "pending" and store.pending_sentiment(10) == []


def test_honeypot_post_behaves_like_a_real_one_for_its_author(service: CommentService) -> None:
    spam = {"website": "http://spam.example"}
    first = post(service, "Buy pills", key="spam-key-1", **spam)
    again = post(service, "Buy pills", key="spam-key-1", **spam)
    assert (first.created, again.created) == (True, False)
    assert again.comment == first.comment
    with pytest.raises(IdempotencyKeyReused):
        post(service, "Other pills", key="spam-key-1", **spam)
    assert service.list_own("sub-ana").comments == (first.comment,)
    for i in range(4):  # 5 a minute, the honeypot post included
        post(service, f"spam {i}", **spam)
    with pytest.raises(RateLimited):
        post(service, "one too many", **spam)


def test_spam_is_never_scored_exported_or_backfilled(make_service: MakeService) -> None:
    analyzer = FixedAnalyzer()
    service = make_service(analyzer)
    post(service, "=spam", website="x")
    real = post(service, "Lovely", author="sub-bo").comment
    assert analyzer.calls == 1
    assert service.backfill_sentiment() == 0 and analyzer.calls == 1
    rows = list(csv.reader(io.StringIO("".join(service.export_csv()))))
    assert [row[0] for row in rows[1:]] == [real.id]


def test_account_limits_per_minute_and_per_day(service: CommentService, clock: FakeClock) -> None:
    for i in range(5):
        post(service, f"c{i}")
    with pytest.raises(RateLimited) as caught:
        post(service, "one too many")
    assert caught.value.retry_after == 60  # the window opened with the first post
    assert "try again in 60 seconds" in str(caught.value)
    clock.advance(seconds=60)
    for i in range(25):  # 5 a minute up to 30 a day
        post(service, f"d{i}")
        if i % 5 == 4:
            clock.advance(minutes=1)
    with pytest.raises(RateLimited) as caught:
        post(service, "thirty-first today")
    day_end = START + timedelta(days=1)  # a day from the first post
    assert caught.value.retry_after == int((day_end - clock.now).total_seconds())


def test_network_limit_covers_the_whole_slash_24(service: CommentService) -> None:
    for i in range(20):
        post(service, author=f"sub-{i}", ip=f"203.0.113.{i + 1}")
    with pytest.raises(RateLimited):
        post(service, author="sub-new", ip="203.0.113.200")
    assert post(service, author="sub-new", ip="203.0.114.1").created  # next /24


def test_limits_are_configurable(make_service: MakeService) -> None:
    service = make_service(limits=CommentLimits(per_account=(RateRule(1, 60),), per_network=()))
    post(service)
    with pytest.raises(RateLimited):
        post(service, "again")


def test_an_idempotent_retry_returns_the_first_result_within_the_limits(
    service: CommentService,
) -> None:
    first = post(service, key="retry-key-1")
    for _ in range(3):
        assert post(service, key="retry-key-1").comment.id == first.comment.id


def test_an_idempotent_retry_spends_no_rate_limit(service: CommentService) -> None:
    first = [post(service, f"c{i}", key=f"key-000{i}") for i in range(5)]  # the minute's 5
    again = post(service, "c0", key="key-0000")
    assert (again.comment, again.created) == (first[0].comment, False)
    with pytest.raises(IdempotencyKeyReused):
        post(service, "changed", key="key-0000")
    with pytest.raises(RateLimited):  # a new post still hits the limit
        post(service, "c5", key="key-0005")


def test_list_for_admin_filters_and_pages(service: CommentService, clock: FakeClock) -> None:
    for i, design in enumerate(["ana/red", "ana/blue", "ana/red", "bo/gold"]):
        post(service, f"{design} {i}", author=f"sub-{i}", design=design)
        clock.advance(minutes=1)
    page = service.list_for_admin(CommentFilter(design="ana/red"), limit=1)
    assert [c.text for c in page.comments] == ["ana/red 2"]
    page = service.list_for_admin(CommentFilter(design="ana/red"), limit=1, cursor=page.next_cursor)
    assert [c.text for c in page.comments] == ["ana/red 0"] and page.next_cursor is None
    since = CommentFilter(since=START + timedelta(minutes=2), label="POSITIVE")
    assert [c.text for c in service.list_for_admin(since).comments] == ["bo/gold 3", "ana/red 2"]


def test_list_own_shows_only_the_authors_comments(service: CommentService) -> None:
    post(service, "mine", author="sub-me")
    post(service, "theirs", author="sub-them")
    assert [c.text for c in service.list_own("sub-me").comments] == ["mine"]


def test_delete_and_erase_author(service: CommentService, store: SqliteCommentStore) -> None:
    keep = post(service, "keep", author="sub-keep").comment
    gone = post(service, "gone", author="sub-keep").comment
    for i in range(3):
        post(service, f"erase {i}", author="sub-erase")
    assert service.delete(gone.id) and not service.delete(gone.id)
    assert service.erase_author("sub-erase") == 3
    assert store.list().comments == (keep,)


def test_export_csv_escapes_formulas_and_round_trips(
    service: CommentService, clock: FakeClock
) -> None:
    texts = ['=HYPERLINK("http://evil")', "+1", "-2", "@SUM(A1)", 'quote " and, comma\nnewline']
    for i, text in enumerate(texts):
        service.post("ana/red", f"sub-{i}", "=cmd|' /C calc'!A0", {"text": text}, f"10.0.{i}.1")
        clock.advance(seconds=1)
    lines = list(service.export_csv())
    assert lines[0] == ",".join(CSV_COLUMNS) + "\r\n"
    assert all(line.endswith("\r\n") for line in lines)
    rows = list(csv.DictReader(io.StringIO("".join(lines))))
    assert [row["text"] for row in rows] == [
        "'" + t if t[0] in "=+-@" else t for t in reversed(texts)
    ]
    assert {row["author_name"] for row in rows} == {"'=cmd|' /C calc'!A0"}
    assert rows[0]["label"] == "POSITIVE" and rows[0]["positive"] == "0.9000"
    assert rows[0]["sentiment_status"] == "scored"


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@me", "'@me"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ana = Bo", "Ana = Bo"),
        ("Zoë", "Zoë"),
    ],
)
def test_export_csv_defuses_every_formula_start(
    service: CommentService, name: str, cell: str
) -> None:
    service.post("ana/red", "sub-x", name, {"text": "hi"}, IP)
    rows = list(csv.DictReader(io.StringIO("".join(service.export_csv()))))
    assert rows[0]["author_name"] == cell


def test_export_csv_pages_through_everything_that_matches(
    service: CommentService, store: SqliteCommentStore
) -> None:
    for i in range(205):
        at = START + timedelta(seconds=i)
        design = "ana/red" if i % 5 else "bo/gold"
        comment = Comment(f"{i:032x}", design, "sub", "Ana", f"t{i}", at)
        store.add(comment)
    rows = list(csv.DictReader(io.StringIO("".join(service.export_csv()))))
    assert len(rows) == 205 and rows[0]["text"] == "t204" and rows[-1]["text"] == "t0"
    assert rows[0]["sentiment_status"] == "pending" and rows[0]["label"] == ""
    gold = list(service.export_csv(CommentFilter(design="bo/gold")))
    assert len(gold) == 1 + 41


def test_vader_end_to_end(make_service: MakeService, store: SqliteCommentStore) -> None:
    result = post(make_service(VaderAnalyzer()), "This is ugly and chipped")
    assert result.comment.sentiment.label == "NEGATIVE"  # type: ignore[union-attr]
    assert store.list(label=SentimentLabel.NEGATIVE).comments == (result.comment,)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, (CommentFilter(), 50, None)),
        (
            {"design": "ana/red", "label": "negative", "limit": "10", "cursor": "abc"},
            (CommentFilter(design="ana/red", label=SentimentLabel.NEGATIVE), 10, "abc"),
        ),
        (
            {"since": "2025-05-01", "until": "2025-05-02T12:00:00Z", "author": "sub-1"},
            (
                CommentFilter(
                    since=datetime(2025, 5, 1, tzinfo=UTC),
                    until=datetime(2025, 5, 2, 12, tzinfo=UTC),
                    author_sub="sub-1",
                ),
                50,
                None,
            ),
        ),
    ],
)
def test_parse_list_query(query: dict[str, str], expected: tuple[object, ...]) -> None:
    parsed = parse_list_query(query)
    assert (parsed.filters, parsed.limit, parsed.cursor) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"sort": "asc"}, "Unknown parameter 'sort'"),
        ({"limit": "0"}, "from 1 to 200"),
        ({"limit": "ten"}, "from 1 to 200"),
        ({"limit": "²"}, "from 1 to 200"),
        ({"limit": "-5"}, "from 1 to 200"),
        ({"limit": "500"}, "from 1 to 200"),
        ({"label": "angry"}, "not one of"),
        ({"since": "last week"}, "is not a date or time"),
        ({"since": "2025-05-02", "until": "2025-05-01"}, "earlier than"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since=0001-01-01T00:00:00\\+01:00 is out of"),
        ({"until": "9999-12-31T23:59:59-01:00"}, "until=9999-12-31T23:59:59-01:00 is out of"),
    ],
)
def test_parse_list_query_refuses(query: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        parse_list_query(query)


# --- answering customers: the author's email and the admins' status -----------------------


def test_post_keeps_the_authors_email_for_the_admins(
    service: CommentService, store: SqliteCommentStore
) -> None:
    result = service.post("ana/red", "sub-ana", "Ana", {"text": "Book?"}, IP, author_email="a@x.io")
    stored = store.get(result.comment.id)
    assert stored is not None
    assert (stored.author_email, stored.status) == ("a@x.io", CommentStatus.NEW)


def test_set_status_changes_the_status_and_its_time(
    service: CommentService, store: SqliteCommentStore, clock: FakeClock
) -> None:
    posted = service.post("ana/red", "sub-ana", "Ana", {"text": "Book?"}, IP).comment
    clock.advance(minutes=5)
    answered = service.set_status(posted.id, "answered")
    assert (answered.status, answered.status_changed_at) == (CommentStatus.ANSWERED, clock.now)
    assert store.get(posted.id) == answered
    clock.advance(minutes=5)
    assert service.set_status(posted.id, CommentStatus.ANSWERED) == answered  # unchanged time
    assert service.list_for_admin(CommentFilter(status="answered")).comments == (answered,)  # type: ignore[arg-type]
    assert service.list_for_admin(CommentFilter(status="new")).comments == ()  # type: ignore[arg-type]


def test_set_status_refuses_bad_statuses_unknown_ids_and_spam(service: CommentService) -> None:
    posted = service.post("ana/red", "sub-ana", "Ana", {"text": "Book?"}, IP).comment
    with pytest.raises(InvalidStatus, match="'done' is not one of new, answered, closed"):
        service.set_status(posted.id, "done")
    with pytest.raises(CommentNotFound, match="no comment with id"):
        service.set_status("0" * 32, "closed")
    spam = service.post("ana/red", "sub-bot", "Bot", {"text": "x", "website": "y"}, IP).comment
    with pytest.raises(CommentNotFound):
        service.set_status(spam.id, "closed")


def test_parse_list_query_reads_and_checks_the_status() -> None:
    assert parse_list_query({"status": "closed"}).filters.status is CommentStatus.CLOSED
    with pytest.raises(InvalidStatus, match="not one of"):
        parse_list_query({"status": "open"})


def test_export_csv_has_email_and_status_in_appended_columns(
    service: CommentService, clock: FakeClock
) -> None:
    posted = service.post("ana/red", "sub-ana", "Ana", {"text": "hi"}, IP, author_email="a@x.io")
    clock.advance(minutes=1)
    service.set_status(posted.comment.id, "closed")
    assert CSV_COLUMNS[-3:] == ("author_email", "status", "status_changed_at")
    (row,) = csv.DictReader(io.StringIO("".join(service.export_csv())))
    assert (row["author_email"], row["status"]) == ("a@x.io", "closed")
    assert row["status_changed_at"] == clock.now.isoformat()
    (closed,) = csv.DictReader(
        io.StringIO("".join(service.export_csv(CommentFilter(status="closed"))))
    )  # type: ignore[arg-type]
    assert closed["id"] == posted.comment.id
    assert (
        list(csv.DictReader(io.StringIO("".join(service.export_csv(CommentFilter(status="new"))))))
        == []
    )  # type: ignore[arg-type]
