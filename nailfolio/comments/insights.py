"""Insights: what customers say about each design and designer, kept at write time.

The comment store keeps, as each comment is stored, scored or deleted (spam never counts):
- counters per design and ISO week (Monday, UTC): comments, scored, one per sentiment label,
  and the sum of scores in SCORE_UNITS (a comment's score is positive - negative, in -1..1;
  whole units keep the sums exact, so counters always equal a full recount);
- the key phrases counted per design and week;
- the "needs attention" entries: questions and booking requests (comments.intent, at store
  time) and negative comments (when scored), until `dismiss_attention` drops one (a comment
  deleted, or answered: the caller decides).
A page view reads those counters only (InsightsStore), never every comment. Ranges are
whole weeks: from the week `since` falls in to the week of the day before `until` (which
is exclusive, as in the comment listing), both included.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from nailfolio.comments.intent import Intent
from nailfolio.comments.query import InvalidQuery
from nailfolio.comments.sentiment import Sentiment

SCORE_UNITS = 10_000  # a score of 1.0 counts 10,000
RECENT_WEEKS = 4  # "this month": the current week and the three before it
RANKED = 5  # designs in most-loved / most-criticised
RANKED_MIN_SCORED = 3  # a design needs this many scored comments to be ranked
PHRASES_OVERALL = 20
PHRASES_PER_DESIGN = 5
TREND_DESIGNS = 20  # the most commented designs get their weekly trend
PHRASE_DESIGNS = 12  # and the first of them their own top phrases (as many as the page charts)
ATTENTION_LIMIT = 100
VOLUME_MAX_WEEKS = 520  # a chart's x axis; a wider range keeps its last ten years
QUERY_FIELDS = ("since", "until", "designer")
CSV_COLUMNS = (
    "design", "designer", "week", "comments", "scored", "positive", "negative", "neutral",
    "mixed", "average_score",
)  # fmt: skip


def week_of(when: datetime | date) -> date:
    """The Monday (UTC) of the ISO week a time falls in."""
    day = when.astimezone(UTC).date() if isinstance(when, datetime) else when
    return day - timedelta(days=day.weekday())


def score_units(sentiment: Sentiment) -> int:
    """A sentiment's score, positive - negative, in whole SCORE_UNITS (half away from zero,
    as SQLite's round() does, so both adapters count the same)."""
    value = (sentiment.positive - sentiment.negative) * SCORE_UNITS
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


@dataclass(frozen=True)
class Tally:
    """Comment counts of one design (or designer, or everything) over some weeks."""

    comments: int = 0
    scored: int = 0
    positive: int = 0
    negative: int = 0
    neutral: int = 0
    mixed: int = 0
    score_units: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(_fields(self), _fields(other), strict=True)))

    def share(self, label: str) -> float | None:
        """The share of scored comments with this label (None: none scored)."""
        return getattr(self, label) / self.scored if self.scored else None

    @property
    def average_score(self) -> float | None:
        """The mean score of the scored comments, in -1..1 (None: none scored)."""
        return self.score_units / self.scored / SCORE_UNITS if self.scored else None


def _fields(tally: Tally) -> tuple[int, ...]:
    return (
        tally.comments, tally.scored, tally.positive, tally.negative, tally.neutral,
        tally.mixed, tally.score_units,
    )  # fmt: skip


@dataclass(frozen=True)
class WeekCounts:
    """The counters of one design in one week, as the store keeps them."""

    design: str
    week: date
    tally: Tally


class Grouping(StrEnum):
    """How InsightsStore.counts sums the week counters."""

    DESIGN = "design"
    DESIGNER = "designer"
    DESIGN_WEEK = "design_week"
    DESIGNER_WEEK = "designer_week"

    @property
    def weekly(self) -> bool:
        return self in (Grouping.DESIGN_WEEK, Grouping.DESIGNER_WEEK)


@dataclass(frozen=True)
class GroupCounts:
    """Counters summed per design or designer (`name`), and per week if grouped so."""

    name: str
    week: date | None
    tally: Tally


def group_counts(
    rows: Iterable[WeekCounts], by: Grouping, designs: Sequence[str] | None = None
) -> list[GroupCounts]:
    """The week counters summed as `by` says (only `designs`, if given): what a store with no
    GROUP BY of its own answers InsightsStore.counts with."""
    wanted = None if designs is None else set(designs)
    sums: dict[tuple[str, date | None], list[int]] = {}
    for row in rows:
        if wanted is not None and row.design not in wanted:
            continue
        name = (
            row.design if by in (Grouping.DESIGN, Grouping.DESIGN_WEEK) else _designer(row.design)
        )
        key = (name, row.week if by.weekly else None)
        found = sums.get(key)
        fields = _fields(row.tally)
        sums[key] = (
            list(fields) if found is None else [a + b for a, b in zip(found, fields, strict=True)]
        )
    return [GroupCounts(name, week, Tally(*counts)) for (name, week), counts in sums.items()]


@dataclass(frozen=True)
class PhraseCount:
    phrase: str
    count: int


@dataclass(frozen=True)
class PhraseTops:
    """The most counted key phrases, overall and per design (most first)."""

    overall: tuple[PhraseCount, ...] = ()
    by_design: Mapping[str, tuple[PhraseCount, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class AttentionEntry:
    """A comment the studio has not answered yet, and why it needs an answer."""

    comment_id: str
    design: str
    author_name: str
    text: str
    created_at: datetime
    reasons: frozenset[Intent]
    author_email: str = ""  # for the admins' Reply; "" for comments stored before emails


@dataclass(frozen=True)
class InsightsFilter:
    """Which weeks and designer an insights answer covers (None: all)."""

    since: date | None = None
    until: date | None = None
    designer: str | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since >= self.until:
            raise InvalidQuery("since must be earlier than until")

    @property
    def first_week(self) -> date | None:
        return week_of(self.since) if self.since else None

    @property
    def end_week(self) -> date | None:
        """The first week left out (exclusive)."""
        return None if self.until is None else week_of(self.until - timedelta(days=1)) + WEEK


WEEK = timedelta(days=7)


class InsightsStore(Protocol):
    """The counters the comment store keeps at write time (both adapters: see
    tests/test_insights_store.py). Weeks are Mondays; `end` is exclusive."""

    def week_counts(
        self, start: date | None, end: date | None, designer: str | None
    ) -> list[WeekCounts]:
        """Every design's counters in the weeks start <= week < end, of one designer."""
        ...

    def counts(
        self,
        start: date | None,
        end: date | None,
        designer: str | None,
        by: Grouping,
        designs: Sequence[str] | None = None,
    ) -> list[GroupCounts]:
        """The same counters summed as `by` says (of `designs` only, if given): what a page
        shows, without a row per design and week crossing into Python."""
        ...

    def top_phrases(
        self,
        start: date | None,
        end: date | None,
        designer: str | None,
        overall: int,
        each: int,
        designs: Sequence[str] = (),
    ) -> PhraseTops:
        """The `overall` most counted phrases in those weeks (of one designer), and the `each`
        most counted of every one of `designs`."""
        ...

    def attention(self, designer: str | None, limit: int) -> list[AttentionEntry]:
        """Comments needing an answer, oldest first."""
        ...

    def dismiss_attention(self, comment_id: str) -> bool:
        """Drop a comment from the attention list; False if it was not on it."""
        ...

    def restore_attention(self, comment_id: str) -> bool:
        """Put a dismissed comment back on the attention list if it still needs an answer
        (a question, a booking, negative); False if it does not go back."""
        ...

    def count_earlier(self) -> int:
        """Count in the comments stored before the counters existed; how many (once)."""
        ...


@dataclass(frozen=True)
class Ranked:
    """One design's (or designer's) counts over the range, and week by week."""

    name: str
    tally: Tally
    weekly: tuple[tuple[date, Tally], ...]


@dataclass(frozen=True)
class InsightsReport:
    """What /admin/insights/ shows."""

    filters: InsightsFilter
    totals: Tally
    designs: tuple[Ranked, ...]
    designers: tuple[Ranked, ...]
    volume: tuple[tuple[date, Tally], ...]
    recent_since: date
    most_loved: tuple[Ranked, ...]
    most_criticised: tuple[Ranked, ...]
    phrases: PhraseTops
    attention: tuple[AttentionEntry, ...]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class InsightsService:
    """Builds the insights from the store's counters; admins only (the caller checks)."""

    def __init__(self, store: InsightsStore, clock: Callable[[], datetime] = _utc_now) -> None:
        self._store = store
        self._clock = clock

    def report(self, filters: InsightsFilter | None = None) -> InsightsReport:
        """The insights over the filters' weeks; "this month" is the last RECENT_WEEKS."""
        filters = filters or InsightsFilter()
        start, end, designer = filters.first_week, filters.end_week, filters.designer
        store = self._store
        designs = rank(store.counts(start, end, designer, Grouping.DESIGN))
        followed = [entry.name for entry in designs[:TREND_DESIGNS]]
        trends = {
            e.name: e
            for e in rank(store.counts(start, end, designer, Grouping.DESIGN_WEEK, followed))
        }
        designs = tuple(trends.get(entry.name, entry) for entry in designs)
        designers = rank(store.counts(start, end, designer, Grouping.DESIGNER_WEEK))
        everything = rank(
            [GroupCounts("", week, tally) for entry in designers for week, tally in entry.weekly]
        ) or (Ranked("", Tally(), ()),)
        recent_since = week_of(self._clock()) - (RECENT_WEEKS - 1) * WEEK
        recent = rank(store.counts(recent_since, None, designer, Grouping.DESIGN))
        rated = [entry for entry in recent if entry.tally.scored >= RANKED_MIN_SCORED]
        phrases = store.top_phrases(
            start, end, designer, PHRASES_OVERALL, PHRASES_PER_DESIGN, followed[:PHRASE_DESIGNS]
        )
        return InsightsReport(
            filters=filters,
            totals=everything[0].tally,
            designs=designs,
            designers=designers,
            volume=volume(everything[0].weekly, start, end),
            recent_since=recent_since,
            most_loved=_top(rated, "positive"),
            most_criticised=_top([e for e in rated if e.tally.negative], "negative"),
            phrases=phrases,
            attention=tuple(store.attention(designer, ATTENTION_LIMIT)),
        )

    def export_csv(self, filters: InsightsFilter | None = None) -> Iterator[str]:
        """CSV records, one per design and week (header first, CRLF), oldest week first."""
        filters = filters or InsightsFilter()
        rows = self._store.week_counts(filters.first_week, filters.end_week, filters.designer)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for row in sorted(rows, key=lambda r: (r.week, r.design)):
            tally = row.tally
            average = tally.average_score
            writer.writerow(
                (
                    _csv_safe(row.design),
                    _csv_safe(_designer(row.design)),
                    row.week.isoformat(),
                    tally.comments,
                    tally.scored,
                    tally.positive,
                    tally.negative,
                    tally.neutral,
                    tally.mixed,
                    "" if average is None else f"{average:.4f}",
                )
            )
        yield buffer.getvalue()

    def dismiss(self, comment_id: str) -> bool:
        """Take a comment off the needs-attention list (answered, closed or deleted)."""
        return self._store.dismiss_attention(comment_id)


def rank(rows: Iterable[GroupCounts]) -> tuple[Ranked, ...]:
    """Grouped counts summed per name, most commented first, each with its weekly trend (if
    the rows are weekly). Sums run on plain lists: cheaper than adding Tallies."""
    weekly: dict[str, dict[date | None, list[int]]] = {}
    for row in rows:
        weeks = weekly.setdefault(row.name, {})
        found, fields = weeks.get(row.week), _fields(row.tally)
        weeks[row.week] = (
            list(fields) if found is None else [a + b for a, b in zip(found, fields, strict=True)]
        )
    ranked = []
    for name, weeks in weekly.items():
        total = [sum(column) for column in zip(*weeks.values(), strict=True)]
        trend = tuple((week, Tally(*weeks[week])) for week in sorted(w for w in weeks if w))
        ranked.append(Ranked(name, Tally(*total), trend))
    return tuple(sorted(ranked, key=lambda entry: (-entry.tally.comments, entry.name)))


def volume(
    weekly: Iterable[tuple[date, Tally]], start: date | None, end: date | None
) -> tuple[tuple[date, Tally], ...]:
    """Every week's counts from the first week to the last (weeks without comments too)."""
    by_week = dict(weekly)
    if not by_week and (start is None or end is None):
        return ()
    first = start or min(by_week)
    last = (end - WEEK) if end else max(by_week)
    first = max(first, last - (VOLUME_MAX_WEEKS - 1) * WEEK)
    weeks = (first + n * WEEK for n in range((last - first) // WEEK + 1))
    return tuple((week, by_week.get(week, Tally())) for week in weeks)


def _top(entries: list[Ranked], label: str) -> tuple[Ranked, ...]:
    def order(entry: Ranked) -> tuple[float, float, int, str]:
        average = entry.tally.average_score or 0.0
        direction = 1 if label == "positive" else -1
        return (-(entry.tally.share(label) or 0.0), -direction * average, -entry.tally.scored,
                entry.name)  # fmt: skip

    return tuple(replace(entry, weekly=()) for entry in sorted(entries, key=order)[:RANKED])


def _designer(design: str) -> str:
    return design.partition("/")[0]


def parse_insights_query(query: Mapping[str, str] | None) -> InsightsFilter:
    """since, until (ISO dates) and designer from a query string; raises InvalidQuery."""
    query = query or {}
    unknown = sorted(set(query) - set(QUERY_FIELDS))
    if unknown:
        raise InvalidQuery(f"Unknown parameter {unknown[0]!r}; use {', '.join(QUERY_FIELDS)}")
    return InsightsFilter(
        since=_day(query.get("since"), "since"),
        until=_day(query.get("until"), "until"),
        designer=query.get("designer") or None,
    )


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InvalidQuery(
            f"{name}={text!r} is not a date; use ISO-8601, like 2025-05-01"
        ) from None


def _csv_safe(cell: str) -> str:
    """A leading quote for a cell a spreadsheet would run as a formula."""
    return "'" + cell if cell.startswith(("=", "+", "-", "@", "\t", "\r")) else cell
