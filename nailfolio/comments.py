"""Comments on designs: payload validation, the CommentStore port and the CommentService.

Customers post comments; only admins read them (authorisation is the caller's job: this
module takes a plain `author_sub`/`author_name` and never sees a token). A comment is stored
first and scored for sentiment second, so a failing analyzer never loses one.

Validation rules for a posted payload (a JSON object with only these fields):
- `text` (required): a string; "\\r\\n" and lone "\\r" become "\\n"; NFC-normalised, then trimmed;
  1..TEXT_MAX characters, counted as code points after NFC (grapheme clusters would match
  what people see better, but need a third-party library). Refused rather than silently
  stripped, so the customer sees why: unpaired surrogates, NUL and other C0/C1 controls
  except tab and newline, bidirectional embedding/override/isolate controls (U+202A-U+202E,
  U+2066-U+2069: they can disguise text), and the invisible U+200B, U+2060 and U+FEFF.
  Allowed: the joiners U+200C/U+200D (emoji sequences such as 👩‍🎨, Persian and Indic
  scripts need them) and the marks U+200E/U+200F. HTML is kept verbatim: it is text, escaped
  by whoever renders it.
- `website` (optional): the honeypot, hidden from people. If it holds anything but spaces,
  the post is dropped (not stored, not rate-limited) and the result looks exactly like an
  accepted post, so a bot learns nothing.
- `idempotency_key` (optional, or passed separately, e.g. from a header): 8-128 characters of
  [A-Za-z0-9_-]. A retried post with the same key by the same author returns the first
  result instead of storing a second comment.

Listing is newest first (created_at, then id, both descending) in pages; a page's
`next_cursor` is opaque to clients: base64url (unpadded) of the JSON array
[created_at ISO-8601 UTC, id] of the page's last comment.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import csv
import io
import json
import logging
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from nailfolio.errors import DesignNotFound, NailfolioError
from nailfolio.ratelimit import RateLimiter, RateRule, client_network, enforce
from nailfolio.sentiment import Sentiment, SentimentAnalyzer, SentimentError, SentimentLabel

logger = logging.getLogger(__name__)

TEXT_MAX = 2000  # code points after NFC
PAYLOAD_FIELDS = ("text", "website", "idempotency_key")
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{8,128}")
COMMENT_ID = re.compile(r"[0-9a-f]{32}")  # 12 hex digits of Unix ms, then 20 random ones
PAGE_SIZE = 50
PAGE_MAX = 200
CURSOR_MAX = 200  # characters; real cursors are about 110
QUERY_FIELDS = ("design", "label", "since", "until", "author", "limit", "cursor")
CSV_COLUMNS = (
    "id", "created_at", "design", "author_sub", "author_name", "text",
    "sentiment_status", "label", "positive", "negative", "neutral", "mixed",
)  # fmt: skip
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # spreadsheets run these as formulas

_NEWLINES = re.compile(r"\r\n?")
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


class SentimentStatus(StrEnum):
    PENDING = "pending"  # stored, not scored yet: backfill_sentiment will retry
    SCORED = "scored"
    FAILED = "failed"  # the analyzer can never score this text


class InvalidComment(NailfolioError):
    """A posted comment is malformed; `field` names the payload field at fault, if one is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class IdempotencyKeyReused(NailfolioError):
    """The author already used this idempotency key for a different comment."""


class InvalidQuery(NailfolioError):
    """A listing's filters, limit or cursor are malformed."""


class InvalidCursor(InvalidQuery):
    """A page cursor was not made by this service (or was altered)."""


@dataclass(frozen=True)
class NewComment:
    """A validated payload: what the customer asked to post."""

    text: str
    idempotency_key: str | None = None
    honeypot: bool = False  # the hidden field was filled: a bot, drop it quietly


@dataclass(frozen=True)
class Comment:
    """A stored comment. `created_at` is aware UTC; `sentiment` is set once scored."""

    id: str
    design: str  # "designer/slug"
    author_sub: str
    author_name: str
    text: str
    created_at: datetime
    sentiment: Sentiment | None = None
    sentiment_status: SentimentStatus = SentimentStatus.PENDING

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError(f"comment {self.id}: created_at must be timezone-aware")
        object.__setattr__(self, "created_at", self.created_at.astimezone(UTC))
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
class CommentFilter:
    """Which comments an admin lists or exports. `since` is inclusive, `until` exclusive;
    naive datetimes are taken as UTC."""

    design: str | None = None
    label: SentimentLabel | None = None
    since: datetime | None = None
    until: datetime | None = None
    author_sub: str | None = None

    def __post_init__(self) -> None:
        if self.label is not None:
            try:
                object.__setattr__(self, "label", SentimentLabel(str(self.label).upper()))
            except ValueError:
                labels = ", ".join(SentimentLabel)
                raise InvalidQuery(f"label {self.label!r} is not one of {labels}") from None
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
                object.__setattr__(self, name, aware.astimezone(UTC))
        if self.since and self.until and self.since >= self.until:
            raise InvalidQuery("since must be earlier than until")


@dataclass(frozen=True)
class ListQuery:
    """A listing request parsed from query-string parameters."""

    filters: CommentFilter = field(default_factory=CommentFilter)
    limit: int = PAGE_SIZE
    cursor: str | None = None


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

    def set_sentiment(
        self, comment_id: str, sentiment: Sentiment | None, status: SentimentStatus
    ) -> bool:
        """Record a scoring outcome; False if the comment no longer exists."""
        ...

    def get(self, comment_id: str) -> Comment | None: ...

    def list(
        self,
        design: str | None = None,
        label: SentimentLabel | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        author_sub: str | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page:
        """Newest first; raises InvalidQuery for a limit outside 1..PAGE_MAX, InvalidCursor."""
        ...

    def pending_sentiment(self, limit: int) -> builtins.list[Comment]:
        """Up to `limit` comments still pending, oldest first."""
        ...

    def delete(self, comment_id: str) -> bool: ...

    def delete_by_author(self, author_sub: str) -> int: ...


def parse_comment_payload(payload: object) -> NewComment:
    """Validate a posted JSON body; raises InvalidComment naming the field and the fix."""
    if not isinstance(payload, dict):
        raise InvalidComment('The comment must be a JSON object, like {"text": "Love it!"}')
    unknown = sorted(str(name) for name in payload if name not in PAYLOAD_FIELDS)
    if unknown:
        raise InvalidComment(
            f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}; "
            f"a comment has only {', '.join(PAYLOAD_FIELDS)}",
            unknown[0],
        )
    if "text" not in payload:
        raise InvalidComment("The comment has no text", "text")
    text = clean_text(payload["text"])
    website = payload.get("website")
    if website is not None and not isinstance(website, str):
        raise InvalidComment("website must be a string", "website")
    key = payload.get("idempotency_key")
    return NewComment(text, check_idempotency_key(key), bool(website and website.strip()))


def clean_text(text: object) -> str:
    """A comment's text, validated and normalised (the rules are in the module docstring)."""
    if not isinstance(text, str):
        raise InvalidComment("Comment text must be a string", "text")
    if len(text) > 4 * TEXT_MAX:  # spare NFC a huge input; NFC shrinks text far less than 4x
        raise InvalidComment(f"Comment is {len(text)} characters; the limit is {TEXT_MAX}", "text")
    text = _NEWLINES.sub("\n", text)
    bad = _FORBIDDEN.search(text)
    if bad:
        char = bad.group()
        raise InvalidComment(
            f"Comment contains {_describe(char)} (U+{ord(char):04X}) at character "
            f"{bad.start() + 1}; remove it and try again",
            "text",
        )
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise InvalidComment("Comment is empty; write something before posting", "text")
    if len(text) > TEXT_MAX:
        raise InvalidComment(f"Comment is {len(text)} characters; the limit is {TEXT_MAX}", "text")
    return text


def check_idempotency_key(key: object) -> str | None:
    """The key itself, or None if absent; raises InvalidComment if it is malformed."""
    if key is None:
        return None
    if not isinstance(key, str) or not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidComment(
            "idempotency_key must be 8 to 128 letters, digits, '-' or '_' (a UUID works)",
            "idempotency_key",
        )
    return key


def _describe(char: str) -> str:
    code = ord(char)
    if code == 0:
        return "a NUL character"
    if 0xD800 <= code <= 0xDFFF:
        return "a broken character (an unpaired surrogate)"
    if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        return "a text-direction control"
    if code in (0x200B, 0x2060, 0xFEFF):
        return "an invisible zero-width character"
    return "a control character"


def new_comment_id(created_at: datetime) -> str:
    """32 hex digits: Unix milliseconds (12), then 80 random bits; sorts by creation time."""
    millis = int(created_at.timestamp() * 1000)
    return f"{millis:012x}{secrets.token_hex(10)}"


def encode_cursor(created_at: datetime, comment_id: str) -> str:
    """The opaque cursor that resumes a listing after this comment."""
    blob = json.dumps([created_at.astimezone(UTC).isoformat(), comment_id]).encode()
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) from a cursor made by encode_cursor; raises InvalidCursor."""
    problem = InvalidCursor("The page cursor is not valid; start again from the first page")
    if not isinstance(cursor, str) or not 0 < len(cursor) <= CURSOR_MAX:
        raise problem
    try:
        blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_text, comment_id = json.loads(blob)
        created_at = datetime.fromisoformat(created_text)
    except (ValueError, TypeError, binascii.Error):
        raise problem from None
    if created_at.tzinfo is None or not (
        isinstance(comment_id, str) and COMMENT_ID.fullmatch(comment_id)
    ):
        raise problem
    return created_at.astimezone(UTC), comment_id


def check_page_limit(limit: object) -> int:
    """A page size in 1..PAGE_MAX; raises InvalidQuery otherwise."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
        raise InvalidQuery(f"limit must be a whole number from 1 to {PAGE_MAX}, not {limit!r}")
    return limit


def parse_list_query(query: Mapping[str, str] | None) -> ListQuery:
    """Listing parameters from a query string: design, label, since, until (ISO-8601 date or
    datetime; UTC if no offset), author, limit, cursor. Raises InvalidQuery."""
    query = query or {}
    unknown = sorted(set(query) - set(QUERY_FIELDS))
    if unknown:
        raise InvalidQuery(f"Unknown parameter {unknown[0]!r}; use {', '.join(QUERY_FIELDS)}")
    limit_text = query.get("limit", str(PAGE_SIZE))
    limit = int(limit_text) if re.fullmatch(r"[0-9]{1,4}", limit_text) else limit_text
    filters = CommentFilter(
        design=query.get("design") or None,
        label=query.get("label") or None,  # type: ignore[arg-type]  # CommentFilter converts it
        since=_parse_when(query.get("since"), "since"),
        until=_parse_when(query.get("until"), "until"),
        author_sub=query.get("author") or None,
    )
    return ListQuery(filters, check_page_limit(limit), query.get("cursor") or None)


def _parse_when(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)  # a bare date is midnight; CommentFilter adds UTC
    except ValueError:
        raise InvalidQuery(
            f"{name}={text!r} is not a date or time; use ISO-8601, like 2025-05-01 "
            "or 2025-05-01T12:00:00Z"
        ) from None


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
    ) -> None:
        self._store = store
        self._analyzer = analyzer
        self._limiter = limiter
        self._is_published = is_published
        self._clock = clock
        self._limits = limits

    def post(
        self,
        design: str,
        author_sub: str,
        author_name: str,
        payload: object,
        client_ip: str,
        idempotency_key: str | None = None,
    ) -> PostResult:
        """Validate, rate-limit, store, then score one comment; durable once this returns.

        Raises DesignNotFound, InvalidComment, RateLimited, IdempotencyKeyReused.
        """
        if not author_sub:
            raise ValueError("post needs the signed-in author's sub")
        if not self._is_published(design):
            raise DesignNotFound(f"There is no published design {design!r} to comment on")
        new = parse_comment_payload(payload)
        key = _one_key(new.idempotency_key, check_idempotency_key(idempotency_key))
        now = self._clock()
        comment = Comment(new_comment_id(now), design, author_sub, author_name, new.text, now)
        if new.honeypot:
            logger.info("dropped a comment on %s: the honeypot field was filled", design)
            return PostResult(comment, created=True)  # indistinguishable from a real post
        enforce(self._limiter, self._rate_hits(author_sub, client_ip), "comments")
        stored, created = self._store.add(comment, key)
        if not created:
            if (stored.design, stored.text) != (design, new.text):
                raise IdempotencyKeyReused(
                    "This idempotency key was already used for a different comment; "
                    "use a new key for each new comment"
                )
            return PostResult(stored, created=False)
        return PostResult(self._score(stored), created=True)

    def backfill_sentiment(self, limit: int = 100) -> int:
        """Score up to `limit` pending comments, oldest first; returns how many are no longer
        pending (scored, or failed for good). Run it on a schedule; it is safe to repeat."""
        pending = self._store.pending_sentiment(limit)
        done = [self._score(comment) for comment in pending]
        return sum(1 for comment in done if comment.sentiment_status != SentimentStatus.PENDING)

    def list_for_admin(
        self,
        filters: CommentFilter | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page:
        """A page of comments with sentiment, newest first. Admins only: the caller checks."""
        return self._list(filters or CommentFilter(), limit, cursor)

    def list_own(self, author_sub: str, limit: int = PAGE_SIZE, cursor: str | None = None) -> Page:
        """A page of one author's comments, newest first. They carry sentiment, which
        customers should not be shown: serialise only id, design, text and created_at."""
        if not author_sub:
            raise ValueError("list_own needs the signed-in author's sub")
        return self._store.list(author_sub=author_sub, limit=limit, cursor=cursor)

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
            self._store.set_sentiment(comment.id, sentiment, status)
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


def _one_key(body_key: str | None, other_key: str | None) -> str | None:
    if body_key and other_key and body_key != other_key:
        raise InvalidComment(
            "Two different idempotency keys were sent; send one", "idempotency_key"
        )
    return body_key or other_key


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
    )


def _csv_safe(cell: str) -> str:
    """Prefix a quote to a cell a spreadsheet would run as a formula (CSV injection)."""
    return "'" + cell if cell.startswith(CSV_FORMULA_STARTS) else cell
