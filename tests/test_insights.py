"""The insights service: the report, the CSV and key phrases found at score time, on the
SQLite store (tests/test_insights_store.py checks both stores' counters)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from nailfolio.comments.insights import (
    InsightsFilter,
    InsightsService,
    InsightsStore,
    parse_insights_query,
    week_of,
)
from nailfolio.comments.query import InvalidQuery, new_comment_id
from nailfolio.comments.sentiment import KeyPhrase, Sentiment, SentimentError, SentimentLabel
from nailfolio.comments.service import Comment, CommentLimits, CommentService, SentimentStatus
from nailfolio.local.sqlite_comment_store import SqliteCommentStore
from nailfolio.local.sqlite_rate_limiter import SqliteRateLimiter
from nailfolio.ratelimit import RateRule
from nailfolio.web.insights import report_json

NOW = datetime(2025, 6, 18, 12, 0, tzinfo=UTC)  # a Wednesday
GOOD = Sentiment(SentimentLabel.POSITIVE, 0.9, 0.0, 0.1, 0.0)
BAD = Sentiment(SentimentLabel.NEGATIVE, 0.0, 0.8, 0.2, 0.0)
MIXED = Sentiment(SentimentLabel.MIXED, 0.4, 0.4, 0.0, 0.2)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteCommentStore]:
    with SqliteCommentStore(tmp_path / "comments.sqlite3") as comments:
        yield comments


def seed(store: SqliteCommentStore, design: str, days_ago: int, sentiment: Sentiment | None,
         text: str = "Nice", phrases: tuple[str, ...] = ()) -> Comment:  # fmt: skip
    at = NOW - timedelta(days=days_ago)
    comment = Comment(new_comment_id(at), design, "sub", "Ana", text, at)
    store.add(comment)
    if sentiment is not None:
        store.set_sentiment(comment.id, sentiment, SentimentStatus.SCORED, phrases)
    return comment


def test_report_sums_designs_designers_weeks_and_ranks_this_month(store: InsightsStore) -> None:
    for _ in range(3):
        seed(store, "ana/red", 1, GOOD, phrases=("chrome powder",))
        seed(store, "bea/gold", 2, BAD, phrases=("chipped",))
    seed(store, "bea/gold", 3, GOOD, phrases=("chrome powder",))
    seed(store, "ana/blue", 60, MIXED)  # long ago: not this month
    seed(store, "ana/blue", 61, None, text="Do you do gel?")
    report = InsightsService(store, clock=lambda: NOW).report()
    assert report.totals.comments == 9 and report.totals.scored == 8
    designs = {entry.name: entry for entry in report.designs}
    assert designs["ana/red"].tally.share("positive") == 1.0
    assert designs["bea/gold"].tally.share("negative") == 0.75
    assert designs["ana/blue"].tally.share("mixed") == 1.0
    assert designs["ana/red"].tally.average_score == pytest.approx(0.9)
    assert [e.name for e in report.designers] == ["ana", "bea"]  # 5 and 4 comments
    assert [e.name for e in report.most_loved] == ["ana/red", "bea/gold"]
    assert [e.name for e in report.most_criticised] == ["bea/gold"]
    assert report.recent_since == week_of(NOW) - timedelta(weeks=3)
    weeks = [week for week, _ in report.volume]
    assert weeks[0] == week_of(NOW - timedelta(days=61)) and weeks[-1] == week_of(NOW)
    assert len(weeks) == len(set(weeks)) == (weeks[-1] - weeks[0]).days // 7 + 1
    assert sum(t.comments for _, t in report.volume) == 9
    assert [(p.phrase, p.count) for p in report.phrases.overall] == [
        ("chrome powder", 4), ("chipped", 3),
    ]  # fmt: skip
    assert [e.reasons for e in report.attention] == [{"question"}] + [{"negative"}] * 3


def test_filters_narrow_weeks_and_designer(store: InsightsStore) -> None:
    seed(store, "ana/red", 1, GOOD)
    seed(store, "bea/gold", 1, BAD, text="Awful, can I get a refund?")
    seed(store, "ana/red", 40, GOOD)
    service = InsightsService(store, clock=lambda: NOW)
    report = service.report(InsightsFilter(since=(NOW - timedelta(days=7)).date(), designer="ana"))
    assert [e.name for e in report.designs] == ["ana/red"] and report.totals.comments == 1
    assert report.attention == ()  # bea's comment is not ana's
    shaped = report_json(report)
    assert shaped["filters"]["designer"] == "ana"
    assert shaped["designs"][0]["share"]["positive"] == 1.0


def test_parse_insights_query() -> None:
    parsed = parse_insights_query({"since": "2025-05-01", "until": "2025-06-01", "designer": "ana"})
    assert parsed == InsightsFilter(date(2025, 5, 1), date(2025, 6, 1), "ana")
    with pytest.raises(InvalidQuery, match="not a date"):
        parse_insights_query({"since": "yesterday"})
    with pytest.raises(InvalidQuery, match="earlier than until"):
        parse_insights_query({"since": "2025-06-01", "until": "2025-05-01"})
    with pytest.raises(InvalidQuery, match="Unknown parameter 'label'"):
        parse_insights_query({"label": "POSITIVE"})


def test_csv_has_one_formula_safe_row_per_design_and_week(store: InsightsStore) -> None:
    seed(store, "ana/red", 1, GOOD)
    seed(store, "ana/red", 1, BAD)
    seed(store, "=cmd/x", 9, None)
    text = "".join(InsightsService(store, clock=lambda: NOW).export_csv())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["design"], r["comments"], r["average_score"]) for r in rows] == [
        ("'=cmd/x", "1", ""),
        ("ana/red", "2", "0.0500"),
    ]
    assert text.endswith("\r\n")


class Phrases:
    name = "phrases"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def key_phrases(self, text: str) -> tuple[KeyPhrase, ...]:
        if self.error:
            raise self.error
        return (KeyPhrase("Chrome Powder", 0.9),)


class Fixed:
    name = "fixed"

    def detect(self, text: str) -> Sentiment:
        return BAD


def make_service(store: SqliteCommentStore, tmp_path: Path, phrases: Phrases) -> CommentService:
    limiter = SqliteRateLimiter(tmp_path / "ratelimit.sqlite3")
    limits = CommentLimits(per_account=(RateRule(99, 60),), per_network=())
    return CommentService(
        store, Fixed(), limiter, lambda key: True, clock=lambda: NOW, limits=limits,
        phrases=phrases,
    )  # fmt: skip


def test_key_phrases_are_counted_when_a_comment_is_scored(
    store: SqliteCommentStore, tmp_path: Path
) -> None:
    service = make_service(store, tmp_path, Phrases())
    service.post("ana/red", "sub", "Ana", {"text": "The chrome powder flaked"}, "10.0.0.1")
    tops = InsightsService(store, clock=lambda: NOW).report().phrases
    assert [(p.phrase, p.count) for p in tops.overall] == [("chrome powder", 1)]
    assert list(tops.by_design) == ["ana/red"]


def test_unreadable_phrases_still_record_the_sentiment(
    store: SqliteCommentStore, tmp_path: Path
) -> None:
    service = make_service(store, tmp_path, Phrases(SentimentError("unsupported")))
    result = service.post("ana/red", "sub", "Ana", {"text": "Flaked"}, "10.0.0.1")
    assert result.comment.sentiment_status is SentimentStatus.SCORED
    assert InsightsService(store).report().phrases.overall == ()


def test_a_failing_phrase_service_leaves_the_comment_pending_for_the_backfill(
    store: SqliteCommentStore, tmp_path: Path
) -> None:
    service = make_service(store, tmp_path, Phrases(ConnectionError("down")))
    result = service.post("ana/red", "sub", "Ana", {"text": "Flaked"}, "10.0.0.1")
    assert result.comment.sentiment_status is SentimentStatus.PENDING
    assert store.week_counts(None, None, None)[0].tally.scored == 0


def test_dismiss_takes_a_comment_off_the_attention_list(store: SqliteCommentStore) -> None:
    comment = seed(store, "ana/red", 1, None, text="Any slots on Friday?")
    service = InsightsService(store, clock=lambda: NOW)
    assert [e.comment_id for e in service.report().attention] == [comment.id]
    assert service.dismiss(comment.id) is True
    assert service.report().attention == ()


def test_the_backfill_finds_key_phrases_with_the_score(project) -> None:
    from nailfolio.config import open_comment_store
    from nailfolio.gallery.events import backfill_sentiment

    with open_comment_store(project.settings) as comments:
        comments.add(
            Comment(new_comment_id(NOW), "ana/red", "sub", "Ana", "The chrome powder flaked", NOW)
        )
    assert backfill_sentiment(project.settings) == 1
    with open_comment_store(project.settings) as comments:
        phrases = comments.top_phrases(None, None, None, 5, 5)
    assert "chrome powder" in [p.phrase for p in phrases.overall]


def test_count_earlier_has_nothing_to_do_locally(project) -> None:
    from click.testing import CliRunner

    from nailfolio.cli import main

    result = CliRunner().invoke(main, ["--root", str(project.root), "insights", "count-earlier"])
    assert result.exit_code == 0, result.output
    assert result.output == "counted 0 earlier comments into the insights\n"


def test_key_phrases_come_from_yake_locally_and_comprehend_on_aws(project) -> None:
    from dataclasses import replace

    from nailfolio.aws.comprehend_sentiment import ComprehendAnalyzer
    from nailfolio.config import AwsSettings, build_key_phrases
    from nailfolio.local.yake_key_phrases import YakeKeyPhrases

    assert isinstance(build_key_phrases(project.settings), YakeKeyPhrases)
    aws = replace(
        project.settings,
        backend="aws",
        aws=AwsSettings({"region": "eu-west-1", "comprehend_language": "en"}),
    )
    assert isinstance(build_key_phrases(aws), ComprehendAnalyzer)


@pytest.mark.parametrize(
    ("since", "until", "first", "end"),
    [
        ("2025-05-07", "2025-05-12", "2025-05-05", "2025-05-12"),  # until a Monday: not its week
        ("2025-05-05", "2025-05-14", "2025-05-05", "2025-05-19"),  # until a Wednesday: its week
    ],
)
def test_a_range_covers_whole_weeks(since: str, until: str, first: str, end: str) -> None:
    found = InsightsFilter(date.fromisoformat(since), date.fromisoformat(until))
    assert (found.first_week, found.end_week) == (
        date.fromisoformat(first),
        date.fromisoformat(end),
    )
