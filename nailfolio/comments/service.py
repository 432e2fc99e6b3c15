"""Comments on designs: the Comment record, the CommentStore port and the CommentService.

Customers post comments; only admins read them (authorisation is the caller's job: this
module takes a plain `author_sub`/`author_name` and never sees a token). A comment is stored
first and scored for sentiment second, so a failing analyzer never loses one.

What a payload may hold is in comment_text; filters, pages and cursors are in comment_query.
A post that fills the honeypot field is handled exactly like a real one (rate limits,
idempotency, the author's own list) but stored as spam: admins never see it (list, export)
and it is never scored, so nothing tells a signed-in bot it was caught.
The CSV export is formula-safe: a cell a spreadsheet would run gets a leading quote.
Each comment keeps its author's email (for the admins' replies; only admin views show it)
and a CommentStatus (new, answered, closed) that admins set with set_status; new comments
reach the admins as a digest (comments.digest).
"""

from __future__ import annotations

import builtins
import csv
import io
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from nailfolio.comments.query import PAGE_MAX, PAGE_SIZE, CommentFilter, new_comment_id
from nailfolio.comments.sentiment import (
    KeyPhraseExtractor,
    Sentiment,
    SentimentAnalyzer,
    SentimentError,
    SentimentLabel,
    counted_phrases,
)
from nailfolio.comments.status import CommentStatus, parse_status
from nailfolio.comments.text import (
    check_idempotency_key,
    merge_idempotency_keys,
    parse_comment_payload,
)
from nailfolio.errors import DesignNotFound, NailfolioError
from nailfolio.ratelimit import RateLimiter, RateRule, client_network, enforce

logger = logging.getLogger(__name__)

CSV_COLUMNS = (
    "id", "created_at", "design", "author_sub", "author_name", "text",
    "sentiment_status", "label", "positive", "negative", "neutral", "mixed",
    "author_email", "status", "status_changed_at",  # appended: earlier columns keep places
)  # fmt: skip
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # spreadsheets run these as formulas


class SentimentStatus(StrEnum):
    PENDING = "pending"  # stored, not scored yet: backfill_sentiment will retry
    SCORED = "scored"
    FAILED = "failed"  # the analyzer can never score this text


class CommentNotFound(NailfolioError):
    """No comment (an admin may see) has that id."""


class IdempotencyKeyReused(NailfolioError):
    """The author already used this idempotency key for a different comment."""


@dataclass(frozen=True)
class Comment:
    """A stored comment. `created_at` is aware UTC; `sentiment` is set once scored; `spam`
    marks a honeypot post, shown only to its author. `author_email` is the author's email
    when posting (admins only ever see it; "" for comments stored before it was kept);
    `status_changed_at` is when `status` last changed (default: created_at)."""

    id: str
    design: str  # "designer/slug"
    author_sub: str
    author_name: str
    text: str
    created_at: datetime
    sentiment: Sentiment | None = None
    sentiment_status: SentimentStatus = SentimentStatus.PENDING
    spam: bool = False
    author_email: str = ""
    status: CommentStatus = CommentStatus.NEW
    status_changed_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError(f"comment {self.id}: created_at must be timezone-aware")
        object.__setattr__(self, "created_at", self.created_at.astimezone(UTC))
        changed = self.status_changed_at or self.created_at
        if changed.tzinfo is None:
            raise ValueError(f"comment {self.id}: status_changed_at must be timezone-aware")
        object.__setattr__(self, "status_changed_at", changed.astimezone(UTC))
        object.__setattr__(self, "status", parse_status(self.status))
        status = SentimentStatus(self.sentiment_status)
        object.__setattr__(self, "sentiment_status", status)
        if (self.sentiment is not None) != (status is SentimentStatus.SCORED):
            raise ValueError(f"comment {self.id}: a sentiment goes with status scored only")


@dataclass(frozen=True)
class Page:
    """One page of comments, newest first; pass `next_cursor` back for the next (None: last)."""

    comments: tuple[Comment, ...]
    next_cursor: str | None = None


@dataclass(frozen=True)
class PostResult:
    """What a post did: `created` is False when an idempotent retry returned the first one."""

    comment: Comment
    created: bool


@dataclass(frozen=True)
class CommentLimits:
    """Rate limits on posting, per signed-in account and per client network (/24 or /64)."""

    per_account: tuple[RateRule, ...] = (RateRule(5, 60), RateRule(30, 86_400))
    per_network: tuple[RateRule, ...] = (RateRule(20, 60),)


class CommentStore(Protocol):
    """Where comments live. Every adapter passes tests/test_comment_store.py."""

    def add(self, comment: Comment, idempotency_key: str | None = None) -> tuple[Comment, bool]:
        """Store a new comment, or, if (author_sub, idempotency_key) was used before, return
        that first comment and False. Race-safe: concurrent adds with one key store one."""
        ...

    def find(self, author_sub: str, idempotency_key: str) -> Comment | None:
        """The comment this author stored with this idempotency key, if any."""
        ...

    def set_sentiment(
        self,
        comment_id: str,
        sentiment: Sentiment | None,
        status: SentimentStatus,
        phrases: Sequence[str] = (),
    ) -> bool:
        """Record a scoring outcome and the key phrases counted for the insights (replacing
        earlier ones); False if the comment no longer exists."""
        ...

    def get(self, comment_id: str) -> Comment | None: ...

    def set_status(
        self, comment_id: str, status: CommentStatus, changed_at: datetime
    ) -> Comment | None:
        """Record an admin's status and when it changed; the updated comment, or None if
        there is no comment with that id."""
        ...

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
        """Newest first, spam left out unless include_spam; raises InvalidQuery for a limit
        outside 1..PAGE_MAX, InvalidCursor, InvalidStatus."""
        ...

    def pending_sentiment(self, limit: int) -> builtins.list[Comment]:
        """Up to `limit` comments still pending, oldest first; never spam (it is not scored)."""
        ...

    def delete(self, comment_id: str) -> bool: ...

    def delete_by_author(self, author_sub: str) -> int: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CommentService:
    """Posting, scoring, listing, exporting and erasing comments. Speaks no HTTP: the caller
    authenticates, authorises (only admins list or export) and maps errors to statuses."""

    def __init__(
        self,
        store: CommentStore,
        analyzer: SentimentAnalyzer,
        limiter: RateLimiter,
        is_published: Callable[[str], bool],
        clock: Callable[[], datetime] = _utc_now,
        limits: CommentLimits = CommentLimits(),  # frozen, so one default is safe to share
        phrases: KeyPhraseExtractor | None = None,  # the insights' key phrases, if any
    ) -> None:
        self._store = store
        self._analyzer = analyzer
        self._limiter = limiter
        self._is_published = is_published
        self._clock = clock
        self._limits = limits
        self._phrases = phrases

    def post(
        self,
        design: str,
        author_sub: str,
        author_name: str,
        payload: object,
        client_ip: str,
        idempotency_key: str | None = None,
        author_email: str = "",
    ) -> PostResult:
        """Validate, rate-limit, store, then score one comment; durable once this returns.
        `author_email` is kept for the admins' replies (only admins are ever shown it).

        A retry with an idempotency key already used returns the first result without
        spending the rate limit. Raises DesignNotFound, InvalidComment, RateLimited,
        IdempotencyKeyReused.
        """
        if not author_sub:
            raise ValueError("post needs the signed-in author's sub")
        if not self._is_published(design):
            raise DesignNotFound(f"There is no published design {design!r} to comment on")
        new = parse_comment_payload(payload)
        key = merge_idempotency_keys(new.idempotency_key, check_idempotency_key(idempotency_key))
        earlier = self._store.find(author_sub, key) if key else None
        if earlier is not None:
            return _retried(earlier, design, new.text)
        enforce(self._limiter, self._rate_hits(author_sub, client_ip), "comments")
        now = self._clock()
        comment = Comment(
            new_comment_id(now),
            design,
            author_sub,
            author_name,
            new.text,
            now,
            spam=new.honeypot,
            author_email=author_email,
        )
        if new.honeypot:
            logger.info("stored a comment on %s as spam: the honeypot field was filled", design)
        stored, created = self._store.add(comment, key)
        if not created:  # a concurrent retry stored it first
            return _retried(stored, design, new.text)
        return PostResult(stored if stored.spam else self._score(stored), created=True)

    def backfill_sentiment(self, limit: int = 100) -> int:
        """Score up to `limit` pending comments, oldest first; returns how many are no longer
        pending (scored, or failed for good). Run it on a schedule; it is safe to repeat."""
        pending = self._store.pending_sentiment(limit)
        done = [self._score(comment) for comment in pending]
        return sum(1 for comment in done if comment.sentiment_status != SentimentStatus.PENDING)

    def backfill_all(self, batch: int = 100) -> int:
        """Score pending comments batch by batch until none is left or a batch makes no
        progress (the analyzer is failing: they stay pending); returns how many were done."""
        total = 0
        while done := self.backfill_sentiment(batch):
            total += done
        return total

    def list_for_admin(
        self,
        filters: CommentFilter | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page:
        """A page of comments with sentiment, newest first. Admins only: the caller checks."""
        return self._list(filters or CommentFilter(), limit, cursor)

    def list_own(self, author_sub: str, limit: int = PAGE_SIZE, cursor: str | None = None) -> Page:
        """A page of one author's comments, spam included, newest first. They carry sentiment
        and the spam flag, which customers should not be shown: serialise only id, design,
        text and created_at."""
        if not author_sub:
            raise ValueError("list_own needs the signed-in author's sub")
        return self._store.list(
            author_sub=author_sub, limit=limit, cursor=cursor, include_spam=True
        )

    def set_status(self, comment_id: str, status: CommentStatus | str) -> Comment:
        """Mark a comment new, answered or closed (admins only: the caller checks); the
        comment as stored now. Answered or closed takes it off the insights' Needs attention;
        new puts it back. Setting the status it has changes nothing. Raises InvalidStatus,
        CommentNotFound (spam too: admins never see it)."""
        wanted = parse_status(status)
        comment = self._store.get(comment_id)
        if comment is None or comment.spam:
            raise CommentNotFound(f"There is no comment with id {comment_id!r}")
        if comment.status is wanted:
            return comment
        updated = self._store.set_status(comment_id, wanted, self._clock())
        if updated is None:  # deleted meanwhile
            raise CommentNotFound(f"There is no comment with id {comment_id!r}")
        if wanted is CommentStatus.NEW:  # back on the owner's to-do list, if it needs an answer
            self._store.restore_attention(comment_id)
        else:  # answered or closed: off it
            self._store.dismiss_attention(comment_id)
        return updated

    def delete(self, comment_id: str) -> bool:
        """Delete one comment; False if there was none with that id."""
        return self._store.delete(comment_id)

    def erase_author(self, author_sub: str) -> int:
        """Delete every comment by an author (account deletion); returns how many."""
        if not author_sub:
            raise ValueError("erase_author needs an author's sub")
        return self._store.delete_by_author(author_sub)

    def export_csv(self, filters: CommentFilter | None = None) -> Iterator[str]:
        """CSV records (header first, each ending in CRLF), newest first, formula-safe."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")

        def record(cells: tuple[str, ...]) -> str:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([_csv_safe(cell) for cell in cells])
            return buffer.getvalue()

        yield record(CSV_COLUMNS)
        cursor: str | None = None
        while True:
            page = self._list(filters or CommentFilter(), PAGE_MAX, cursor)
            for comment in page.comments:
                yield record(_csv_cells(comment))
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _list(self, filters: CommentFilter, limit: int, cursor: str | None) -> Page:
        return self._store.list(
            design=filters.design,
            label=filters.label,
            since=filters.since,
            until=filters.until,
            author_sub=filters.author_sub,
            limit=limit,
            cursor=cursor,
            status=filters.status,
        )

    def _rate_hits(self, author_sub: str, client_ip: str) -> Iterator[tuple[str, RateRule]]:
        network = client_network(client_ip)
        for rule in self._limits.per_network:  # first: refuses a flood before it counts
            yield f"comments:network:{network}", rule
        for rule in self._limits.per_account:
            yield f"comments:account:{author_sub}", rule

    def _score(self, comment: Comment) -> Comment:
        """Score a stored comment and record the outcome; on any failure it stays pending."""
        try:
            try:
                sentiment: Sentiment | None = self._analyzer.detect(comment.text)
                status = SentimentStatus.SCORED
            except SentimentError as exc:
                logger.warning("comment %s cannot be scored: %s", comment.id, exc)
                sentiment, status = None, SentimentStatus.FAILED
            phrases = self._key_phrases(comment) if sentiment else ()
            self._store.set_sentiment(comment.id, sentiment, status, phrases)
        except Exception:
            # Deliberately broad: the comment is already stored and the post has succeeded;
            # whatever breaks in scoring (network, throttling, a bug in an adapter) must not
            # turn it into an error. It stays pending and backfill_sentiment retries it.
            logger.warning(
                "sentiment for comment %s via %s failed; left pending",
                comment.id,
                self._analyzer.name,
                exc_info=True,
            )
            return comment
        return replace(comment, sentiment=sentiment, sentiment_status=status)

    def _key_phrases(self, comment: Comment) -> tuple[str, ...]:
        """The phrases the insights count; none if the text can never be read for them
        (any other failure leaves the comment pending, to be scored again)."""
        if self._phrases is None:
            return ()
        try:
            return counted_phrases(self._phrases.key_phrases(comment.text))
        except SentimentError as exc:
            logger.warning("comment %s has no key phrases: %s", comment.id, exc)
            return ()


def _retried(earlier: Comment, design: str, text: str) -> PostResult:
    """The first result of an idempotent retry; raises IdempotencyKeyReused if it differs."""
    if (earlier.design, earlier.text) != (design, text):
        raise IdempotencyKeyReused(
            "This idempotency key was already used for a different comment; "
            "use a new key for each new comment"
        )
    return PostResult(earlier, created=False)


def _csv_cells(comment: Comment) -> tuple[str, ...]:
    sentiment = comment.sentiment
    scores = (
        (sentiment.positive, sentiment.negative, sentiment.neutral, sentiment.mixed)
        if sentiment
        else ()
    )
    return (
        comment.id,
        comment.created_at.isoformat(),
        comment.design,
        comment.author_sub,
        comment.author_name,
        comment.text,
        str(comment.sentiment_status),
        str(sentiment.label) if sentiment else "",
        *(f"{score:.4f}" for score in scores),
        *([""] * (4 - len(scores))),
        comment.author_email,
        str(comment.status),
        comment.status_changed_at.isoformat() if comment.status_changed_at else "",
    )


def _csv_safe(cell: str) -> str:
    """Prefix a quote to a cell a spreadsheet would run as a formula (CSV injection)."""
    return "'" + cell if cell.startswith(CSV_FORMULA_STARTS) else cell
