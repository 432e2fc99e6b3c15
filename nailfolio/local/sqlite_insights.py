"""The insights' counters in the comments SQLite file (see nailfolio.comments.insights).

MIGRATION (one entry of sqlite_comment_store.MIGRATIONS) adds three tables and the triggers
that keep them, so every write that changes a comment changes its counters in the same
transaction, whoever makes it (the service, `users delete`, a restore):
- insight_weeks: per design and week (Monday, UTC), comments, scored, one per label and
  score_units (positive - negative in ten-thousandths, rounded as insights.score_units);
- comment_phrases (each scored comment's counted phrases) and phrase_weeks, their counts
  per design and week, kept by triggers on comment_phrases;
- attention: the comments needing an answer, with why (question, booking, negative) and
  whether it was dismissed. Questions and bookings come from comments.intent when `add`
  stores a comment; negative from a trigger when the label becomes NEGATIVE.
Spam never counts. The migration counts the comments already stored; for those, attention
keeps the negative ones and those with a question mark (the rules need Python).

SqliteInsights holds the reads; SqliteCommentStore is one.
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime

from nailfolio.comments.insights import (
    AttentionEntry,
    GroupCounts,
    Grouping,
    PhraseCount,
    PhraseTops,
    Tally,
    WeekCounts,
)
from nailfolio.comments.intent import Intent, classify_intent
from nailfolio.comments.service import Comment
from nailfolio.local import sqlite

_WEEK = "date(substr({t}.created_at, 1, 10), '-6 days', 'weekday 1')"
_LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
_DESIGNER = "substr(design, 1, instr(design, '/') - 1)"
_IN_MAX = 500  # designs one query names (SQLite allows 32,766 parameters)
_COUNTERS = ("scored", "positive", "negative", "neutral", "mixed", "score_units")


def _parts(t: str) -> list[str]:
    """What comment row `t` adds to each of _COUNTERS."""
    score = f"coalesce(CAST(round(({t}.positive - {t}.negative) * 10000) AS INTEGER), 0)"
    labels = [f"({t}.label IS '{label}')" for label in _LABELS]
    return [f"({t}.label IS NOT NULL)", *labels, score]


def _contribution(t: str) -> str:
    return ", ".join(_parts(t))


def _adjust(sign: str, t: str) -> str:
    """SET clause adding (+) or taking away (-) row `t`'s contribution to its counters."""
    pairs = zip(_COUNTERS, _parts(t), strict=True)
    return ", ".join(f"{name} = {name} {sign} {part}" for name, part in pairs)


_SUMS = ", ".join(f"sum({part})" for part in _parts("c"))

MIGRATION = f"""
CREATE TABLE insight_weeks (
    design TEXT NOT NULL,
    week TEXT NOT NULL,  -- the Monday (UTC) of the ISO week, YYYY-MM-DD
    comments INTEGER NOT NULL,
    scored INTEGER NOT NULL,
    positive INTEGER NOT NULL,
    negative INTEGER NOT NULL,
    neutral INTEGER NOT NULL,
    mixed INTEGER NOT NULL,
    score_units INTEGER NOT NULL,
    PRIMARY KEY (design, week)
) WITHOUT ROWID;
CREATE INDEX insight_weeks_by_week ON insight_weeks (week);
CREATE TABLE comment_phrases (  -- the key's columns first: SQLite 3.40's quick_check
    comment_id TEXT NOT NULL,      -- reports NULLs in a WITHOUT ROWID table's later ones
    phrase TEXT NOT NULL,
    design TEXT NOT NULL,
    week TEXT NOT NULL,
    PRIMARY KEY (comment_id, phrase)
) WITHOUT ROWID;
CREATE TABLE phrase_weeks (
    design TEXT NOT NULL,
    week TEXT NOT NULL,
    phrase TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (design, week, phrase)
) WITHOUT ROWID;
CREATE TABLE phrase_totals (  -- phrase_weeks summed over the designs: the overall top
    week TEXT NOT NULL,
    phrase TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (week, phrase)
) WITHOUT ROWID;
CREATE TABLE attention (
    comment_id TEXT PRIMARY KEY,
    design TEXT NOT NULL,
    created_at TEXT NOT NULL,
    question INTEGER NOT NULL DEFAULT 0,
    booking INTEGER NOT NULL DEFAULT 0,
    negative INTEGER NOT NULL DEFAULT 0,
    dismissed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attention_open ON attention (created_at, comment_id) WHERE dismissed = 0;

CREATE TRIGGER insights_comment_added AFTER INSERT ON comments WHEN NEW.spam = 0
BEGIN
    INSERT INTO insight_weeks
        VALUES (NEW.design, {_WEEK.format(t="NEW")}, 1, {_contribution("NEW")})
        ON CONFLICT (design, week) DO UPDATE SET comments = comments + 1, {_adjust("+", "NEW")};
END;
CREATE TRIGGER insights_comment_scored
    AFTER UPDATE OF sentiment_status, label, positive, negative ON comments WHEN NEW.spam = 0
BEGIN
    UPDATE insight_weeks SET {_adjust("-", "OLD")}
        WHERE design = OLD.design AND week = {_WEEK.format(t="OLD")};
    UPDATE insight_weeks SET {_adjust("+", "NEW")}
        WHERE design = NEW.design AND week = {_WEEK.format(t="NEW")};
    INSERT INTO attention (comment_id, design, created_at, negative)
        SELECT NEW.id, NEW.design, NEW.created_at, 1
        WHERE NEW.label IS 'NEGATIVE' AND OLD.label IS NOT 'NEGATIVE'
        ON CONFLICT (comment_id) DO UPDATE SET negative = 1;
    UPDATE attention SET negative = 0
        WHERE comment_id = NEW.id AND OLD.label IS 'NEGATIVE' AND NEW.label IS NOT 'NEGATIVE';
END;
CREATE TRIGGER insights_comment_deleted AFTER DELETE ON comments WHEN OLD.spam = 0
BEGIN
    UPDATE insight_weeks SET comments = comments - 1, {_adjust("-", "OLD")}
        WHERE design = OLD.design AND week = {_WEEK.format(t="OLD")};
    DELETE FROM insight_weeks
        WHERE design = OLD.design AND week = {_WEEK.format(t="OLD")} AND comments = 0;
    DELETE FROM comment_phrases WHERE comment_id = OLD.id;
    DELETE FROM attention WHERE comment_id = OLD.id;
END;
CREATE TRIGGER insights_phrase_added AFTER INSERT ON comment_phrases
BEGIN
    INSERT INTO phrase_weeks VALUES (NEW.design, NEW.week, NEW.phrase, 1)
        ON CONFLICT (design, week, phrase) DO UPDATE SET count = count + 1;
    INSERT INTO phrase_totals VALUES (NEW.week, NEW.phrase, 1)
        ON CONFLICT (week, phrase) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER insights_phrase_removed AFTER DELETE ON comment_phrases
BEGIN
    UPDATE phrase_weeks SET count = count - 1
        WHERE week = OLD.week AND design = OLD.design AND phrase = OLD.phrase;
    DELETE FROM phrase_weeks
        WHERE week = OLD.week AND design = OLD.design AND phrase = OLD.phrase AND count = 0;
    UPDATE phrase_totals SET count = count - 1 WHERE week = OLD.week AND phrase = OLD.phrase;
    DELETE FROM phrase_totals WHERE week = OLD.week AND phrase = OLD.phrase AND count = 0;
END;

INSERT INTO insight_weeks
    SELECT c.design, {_WEEK.format(t="c")}, count(*), {_SUMS}
    FROM comments AS c WHERE c.spam = 0 GROUP BY 1, 2;
INSERT INTO attention (comment_id, design, created_at, question, negative)
    SELECT id, design, created_at, instr(text, '?') > 0, label IS 'NEGATIVE'
    FROM comments WHERE spam = 0 AND (instr(text, '?') > 0 OR label IS 'NEGATIVE');
"""


def record_intents(conn: sqlite3.Connection, comment: Comment) -> None:
    """Put a just-stored comment on the attention list if it asks a question or a booking."""
    intents = classify_intent(comment.text)
    if comment.spam or not intents:
        return
    conn.execute(
        "INSERT INTO attention (comment_id, design, created_at, question, booking)"
        " SELECT id, design, created_at, ?, ? FROM comments WHERE id = ?",
        (Intent.QUESTION in intents, Intent.BOOKING in intents, comment.id),
    )


def record_phrases(conn: sqlite3.Connection, comment_id: str, phrases: Sequence[str]) -> None:
    """Replace a comment's counted phrases (its scoring's); spam keeps none."""
    conn.execute("DELETE FROM comment_phrases WHERE comment_id = ?", (comment_id,))
    conn.executemany(
        "INSERT INTO comment_phrases (comment_id, design, week, phrase)"
        f" SELECT id, design, {_WEEK.format(t='comments')}, ?"
        " FROM comments WHERE id = ? AND spam = 0 ON CONFLICT DO NOTHING",
        [(phrase, comment_id) for phrase in dict.fromkeys(phrases)],
    )


class SqliteInsights(sqlite.SqliteStore):
    """InsightsStore reads of the comments file (SqliteCommentStore's base)."""

    def week_counts(
        self, start: date | None, end: date | None, designer: str | None
    ) -> builtins.list[WeekCounts]:
        where, params = _range(start, end, designer)
        rows = self._conn().execute(
            "SELECT design, week, comments, scored, positive, negative, neutral, mixed,"
            f" score_units FROM insight_weeks{where}",
            params,
        )
        return [
            WeekCounts(design, date.fromisoformat(week), Tally(*counts))
            for design, week, *counts in rows
        ]

    def counts(
        self,
        start: date | None,
        end: date | None,
        designer: str | None,
        by: Grouping,
        designs: Sequence[str] | None = None,
    ) -> builtins.list[GroupCounts]:
        name = "design" if by in (Grouping.DESIGN, Grouping.DESIGN_WEEK) else _DESIGNER
        week = "week" if by.weekly else "NULL"
        where, params = _range(start, end, designer)
        if designs is not None:
            chosen = builtins.list(dict.fromkeys(designs))[:_IN_MAX]
            where += f"{' AND' if where else ' WHERE'} design IN ({', '.join('?' * len(chosen))})"
            params = (*params, *chosen)
            if not chosen:
                return []
        sums = ", ".join(f"sum({counter})" for counter in ("comments", *_COUNTERS))
        rows = self._conn().execute(
            f"SELECT {name}, {week}, {sums} FROM insight_weeks{where} GROUP BY 1, 2", params
        )
        return [
            GroupCounts(group, week and date.fromisoformat(week), Tally(*counts))
            for group, week, *counts in rows
        ]

    def top_phrases(
        self,
        start: date | None,
        end: date | None,
        designer: str | None,
        overall: int,
        each: int,
        designs: Sequence[str] = (),
    ) -> PhraseTops:
        conn = self._conn()
        where, params = _range(start, end, designer)
        table = "phrase_weeks" if designer else "phrase_totals"  # totals: a tenth the rows
        top = conn.execute(
            f"SELECT phrase, sum(count) AS n FROM {table}{where}"
            " GROUP BY phrase ORDER BY n DESC, phrase LIMIT ?",
            (*params, overall),
        ).fetchall()
        by_design: dict[str, builtins.list[PhraseCount]] = {}
        for chunk in _chunks(builtins.list(dict.fromkeys(designs)), 200):
            where, params = _range(start, end, None)
            marks = ", ".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT design, phrase, sum(count) AS n FROM phrase_weeks"
                f"{where or ' WHERE 1'} AND design IN ({marks}) GROUP BY design, phrase",
                (*params, *chunk),
            )
            for design, phrase, n in rows:
                by_design.setdefault(design, []).append(PhraseCount(phrase, n))
        return PhraseTops(
            tuple(PhraseCount(p, n) for p, n in top),
            {design: _most(found, each) for design, found in sorted(by_design.items())},
        )

    def attention(self, designer: str | None, limit: int) -> builtins.list[AttentionEntry]:
        clause, params = (
            ("", ())
            if designer is None
            else (" AND a.design >= ? AND a.design < ?", _prefix(designer))
        )
        rows = self._conn().execute(
            "SELECT a.comment_id, a.design, c.author_name, c.text, a.created_at, a.question,"
            " a.booking, a.negative, c.author_email"
            " FROM attention AS a JOIN comments AS c ON c.id = a.comment_id"
            " WHERE a.dismissed = 0 AND (a.question OR a.booking OR a.negative)"
            f"{clause} ORDER BY a.created_at, a.comment_id LIMIT ?",
            (*params, limit),
        )
        return [_entry(row) for row in rows]

    def count_earlier(self) -> int:
        """Nothing to do: the migration counted the comments stored before it."""
        return 0

    def restore_attention(self, comment_id: str) -> bool:
        changed = self._conn().execute(
            "UPDATE attention SET dismissed = 0 WHERE comment_id = ? AND dismissed = 1"
            " AND (question OR booking OR negative)",
            (comment_id,),
        )
        return changed.rowcount == 1

    def dismiss_attention(self, comment_id: str) -> bool:
        changed = self._conn().execute(
            "UPDATE attention SET dismissed = 1 WHERE comment_id = ? AND dismissed = 0",
            (comment_id,),
        )
        return changed.rowcount == 1


def _range(
    start: date | None, end: date | None, designer: str | None
) -> tuple[str, tuple[str, ...]]:
    clauses, params = [], []
    if start is not None:
        clauses.append("week >= ?")
        params.append(start.isoformat())
    if end is not None:
        clauses.append("week < ?")
        params.append(end.isoformat())
    if designer is not None:
        clauses.append("design >= ? AND design < ?")
        params += _prefix(designer)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), tuple(params)


def _most(found: builtins.list[PhraseCount], limit: int) -> tuple[PhraseCount, ...]:
    return tuple(sorted(found, key=lambda p: (-p.count, p.phrase))[:limit])


def _chunks(items: builtins.list[str], size: int) -> builtins.list[builtins.list[str]]:
    return [items[n : n + size] for n in range(0, len(items), size)]


def _prefix(designer: str) -> tuple[str, str]:
    """The key range of one designer's designs ("ana/" up to "ana0": '0' follows '/')."""
    return f"{designer}/", f"{designer}0"


def _entry(row: tuple[object, ...]) -> AttentionEntry:
    comment_id, design, author_name, text, created_at, question, booking, negative, email = row
    flags = ((Intent.QUESTION, question), (Intent.BOOKING, booking), (Intent.NEGATIVE, negative))
    return AttentionEntry(
        str(comment_id),
        str(design),
        str(author_name),
        str(text),
        datetime.fromisoformat(str(created_at)),
        frozenset(intent for intent, flag in flags if flag),
        str(email),
    )
