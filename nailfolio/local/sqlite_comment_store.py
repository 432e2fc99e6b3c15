"""SqliteCommentStore: the comment store's local adapter, one SQLite file (var/comments.sqlite3).

Semantics every CommentStore adapter keeps (tests/test_comment_store.py checks them):
- `add` is idempotent per (author_sub, idempotency_key): a UNIQUE constraint makes
  concurrent retries store one comment, and every caller gets that first comment back.
- Listing is newest first by (created_at, id), resumed with an opaque cursor.
- Spam (honeypot posts) is stored like any comment but only listed with include_spam=True
  (its author's own list) and never returned by pending_sentiment.
- Datetimes come back as aware UTC, equal to what was stored (microsecond precision).
- One row, digest_mark, holds where the admins' digest of new comments stopped.

Each thread gets its own connection (sqlite3 connections stay in the thread that made them),
so one store serves a threaded server; WAL lets readers run beside the one writer, and the
busy timeout queues writers. `close` closes the calling thread's connection; the others
close when their thread ends.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime

from nailfolio.comments.digest import DigestMark
from nailfolio.comments.query import (
    PAGE_SIZE,
    CommentFilter,
    check_page_limit,
    decode_cursor,
    encode_cursor,
)
from nailfolio.comments.sentiment import Sentiment, SentimentLabel
from nailfolio.comments.service import Comment, Page, SentimentStatus
from nailfolio.comments.status import CommentStatus, parse_status
from nailfolio.local import sqlite, sqlite_insights

APPLICATION_ID = 0x4E46_436D  # "NFCm": marks a SQLite file as Nailfolio's comments

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE comments (
        id TEXT PRIMARY KEY,
        design TEXT NOT NULL,
        author_sub TEXT NOT NULL,
        author_name TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL,  -- UTC, fixed width (microseconds always): sorts as text
        idempotency_key TEXT,  -- NULL when none was given (NULLs never collide)
        sentiment_status TEXT NOT NULL
            CHECK (sentiment_status IN ('pending', 'scored', 'failed')),
        label TEXT CHECK (label IN ('POSITIVE', 'NEGATIVE', 'NEUTRAL', 'MIXED')),
        positive REAL,
        negative REAL,
        neutral REAL,
        mixed REAL,
        CHECK ((sentiment_status = 'scored') = (label IS NOT NULL)),
        UNIQUE (author_sub, idempotency_key)
    );
    CREATE INDEX comments_by_time ON comments (created_at, id);
    CREATE INDEX comments_by_design ON comments (design, created_at, id);
    CREATE INDEX comments_by_author ON comments (author_sub, created_at, id);
    CREATE INDEX comments_pending ON comments (created_at, id)
        WHERE sentiment_status = 'pending';
    """,
    """
    ALTER TABLE comments ADD COLUMN spam INTEGER NOT NULL DEFAULT 0 CHECK (spam IN (0, 1));
    DROP INDEX comments_pending;
    CREATE INDEX comments_pending ON comments (created_at, id)
        WHERE sentiment_status = 'pending' AND spam = 0;
    """,
    # Answering customers: the author's email, the admins' status, the digest's mark.
    # Comments stored before it get no email and status new since they were posted.
    """
    ALTER TABLE comments ADD COLUMN author_email TEXT NOT NULL DEFAULT '';
    ALTER TABLE comments ADD COLUMN status TEXT NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'answered', 'closed'));
    ALTER TABLE comments ADD COLUMN status_changed_at TEXT;
    UPDATE comments SET status_changed_at = created_at;
    CREATE INDEX comments_by_status ON comments (status, created_at, id);
    CREATE TABLE digest_mark (
        one INTEGER PRIMARY KEY CHECK (one = 1),  -- a single row
        created_at TEXT NOT NULL,
        comment_id TEXT NOT NULL,
        sent_at TEXT NOT NULL
    );
    """,
    sqlite_insights.MIGRATION,  # the insights' counters, kept by triggers
)

_COLUMNS = (
    "id, design, author_sub, author_name, text, created_at, sentiment_status,"
    " label, positive, negative, neutral, mixed, spam, author_email, status, status_changed_at"
)
_SELECT = f"SELECT {_COLUMNS} FROM comments"


class SqliteCommentStore(sqlite_insights.SqliteInsights):
    """Comments in a SQLite file, and their insights' counters; safe to share between
    threads and processes."""

    migrations = MIGRATIONS
    application_id = APPLICATION_ID

    def add(self, comment: Comment, idempotency_key: str | None = None) -> tuple[Comment, bool]:
        conn = self._conn()
        with sqlite.transaction(conn):
            inserted = conn.execute(
                f"INSERT INTO comments ({_COLUMNS}, idempotency_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (author_sub, idempotency_key) DO NOTHING",
                (*_row(comment), idempotency_key),
            ).rowcount
            if inserted:
                sqlite_insights.record_intents(conn, comment)
                return comment, True
            first = conn.execute(
                f"{_SELECT} WHERE author_sub = ? AND idempotency_key = ?",
                (comment.author_sub, idempotency_key),
            ).fetchone()
        return _comment(first), False

    def find(self, author_sub: str, idempotency_key: str) -> Comment | None:
        row = (
            self._conn()
            .execute(
                f"{_SELECT} WHERE author_sub = ? AND idempotency_key = ?",
                (author_sub, idempotency_key),
            )
            .fetchone()
        )
        return _comment(row) if row else None

    def set_sentiment(
        self,
        comment_id: str,
        sentiment: Sentiment | None,
        status: SentimentStatus,
        phrases: Sequence[str] = (),
    ) -> bool:
        status = SentimentStatus(status)
        if (sentiment is not None) != (status is SentimentStatus.SCORED):
            raise ValueError(f"status {status} with sentiment {sentiment}: scored needs one")
        scores = _sentiment_row(sentiment)
        # A score lost in a power cut leaves the comment pending, to be scored again: this
        # commit need not wait for the disk (the comment itself was stored durably).
        with sqlite.without_fsync(self._conn()) as conn, sqlite.transaction(conn):
            updated = conn.execute(
                "UPDATE comments SET sentiment_status = ?, label = ?, positive = ?, negative = ?,"
                " neutral = ?, mixed = ? WHERE id = ?",
                (str(status), *scores, comment_id),
            ).rowcount
            sqlite_insights.record_phrases(conn, comment_id, phrases)
        return updated == 1

    def get(self, comment_id: str) -> Comment | None:
        row = self._conn().execute(f"{_SELECT} WHERE id = ?", (comment_id,)).fetchone()
        return _comment(row) if row else None

    def set_status(
        self, comment_id: str, status: CommentStatus, changed_at: datetime
    ) -> Comment | None:
        row = (
            self._conn()
            .execute(
                f"UPDATE comments SET status = ?, status_changed_at = ? WHERE id = ?"
                f" RETURNING {_COLUMNS}",
                (str(parse_status(status)), _timestamp(changed_at), comment_id),
            )
            .fetchone()
        )
        return _comment(row) if row else None

    def digest_mark(self) -> DigestMark | None:
        row = (
            self._conn()
            .execute("SELECT created_at, comment_id, sent_at FROM digest_mark")
            .fetchone()
        )
        if row is None:
            return None
        created_at, comment_id, sent_at = row
        return DigestMark(
            datetime.fromisoformat(created_at), comment_id, datetime.fromisoformat(sent_at)
        )

    def set_digest_mark(self, mark: DigestMark) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO digest_mark (one, created_at, comment_id, sent_at)"
            " VALUES (1, ?, ?, ?)",
            (_timestamp(mark.created_at), mark.comment_id, _timestamp(mark.sent_at)),
        )

    def list(
        self,
        design: str | None = None,
        label: SentimentLabel | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        author_sub: str | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
        include_spam: bool = False,
        status: CommentStatus | None = None,
    ) -> Page:
        limit = check_page_limit(limit)
        filters = CommentFilter(design, label, since, until, author_sub, status)  # validates
        clauses: list[str] = [] if include_spam else ["spam = 0"]
        params: list[object] = []
        for clause, value in (
            ("design = ?", filters.design),
            ("label = ?", filters.label and str(filters.label)),
            ("created_at >= ?", filters.since and _timestamp(filters.since)),
            ("created_at < ?", filters.until and _timestamp(filters.until)),
            ("author_sub = ?", filters.author_sub),
            ("status = ?", filters.status and str(filters.status)),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        if cursor is not None:
            created_at, comment_id = decode_cursor(cursor)
            clauses.append("(created_at, id) < (?, ?)")
            params += [_timestamp(created_at), comment_id]
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = (
            self._conn()
            .execute(
                f"{_SELECT}{where} ORDER BY created_at DESC, id DESC LIMIT ?", (*params, limit + 1)
            )
            .fetchall()
        )
        comments = tuple(_comment(row) for row in rows[:limit])
        if len(rows) <= limit:
            return Page(comments)
        last = comments[-1]
        return Page(comments, encode_cursor(last.created_at, last.id))

    def pending_sentiment(self, limit: int) -> builtins.list[Comment]:
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, not {limit}")
        rows = (
            self._conn()
            .execute(
                f"{_SELECT} WHERE sentiment_status = 'pending' AND spam = 0"
                " ORDER BY created_at, id LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        return [_comment(row) for row in rows]

    def delete(self, comment_id: str) -> bool:
        deleted = self._conn().execute("DELETE FROM comments WHERE id = ?", (comment_id,))
        return deleted.rowcount == 1

    def delete_by_author(self, author_sub: str) -> int:
        return (
            self._conn()
            .execute("DELETE FROM comments WHERE author_sub = ?", (author_sub,))
            .rowcount
        )


def _timestamp(value: datetime) -> str:
    """Fixed-width UTC text, so text order is time order."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _row(comment: Comment) -> tuple[object, ...]:
    return (
        comment.id,
        comment.design,
        comment.author_sub,
        comment.author_name,
        comment.text,
        _timestamp(comment.created_at),
        str(comment.sentiment_status),
        *_sentiment_row(comment.sentiment),
        int(comment.spam),
        comment.author_email,
        str(comment.status),
        _timestamp(comment.status_changed_at or comment.created_at),
    )


def _sentiment_row(sentiment: Sentiment | None) -> tuple[object, ...]:
    if sentiment is None:
        return (None, None, None, None, None)
    return (
        str(sentiment.label),
        sentiment.positive,
        sentiment.negative,
        sentiment.neutral,
        sentiment.mixed,
    )


def _comment(row: tuple[object, ...]) -> Comment:
    comment_id, design, author_sub, author_name, text, created_at, status, label, *rest = row
    *scores, spam, author_email, comment_status, status_changed_at = rest
    sentiment = None if label is None else Sentiment(SentimentLabel(label), *scores)
    return Comment(
        id=str(comment_id),
        design=str(design),
        author_sub=str(author_sub),
        author_name=str(author_name),
        text=str(text),
        created_at=datetime.fromisoformat(str(created_at)),
        sentiment=sentiment,
        sentiment_status=SentimentStatus(status),
        spam=bool(spam),
        author_email=str(author_email),
        status=CommentStatus(comment_status),
        # NULL: a row written without it (by hand, or by an older writer): as posted
        status_changed_at=datetime.fromisoformat(str(status_changed_at or created_at)),
    )
