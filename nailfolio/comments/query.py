"""How admins and authors ask for comments: filters, page sizes, cursors and comment ids.

Listing is newest first (created_at, then id, both descending) in pages; a page's
`next_cursor` is opaque to clients: base64url (unpadded) of the JSON array
[created_at ISO-8601 UTC, id] of the page's last comment. Comment ids start with their
creation time, so they sort the same way.
"""

from __future__ import annotations

import binascii
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nailfolio.comments.sentiment import SentimentLabel
from nailfolio.comments.status import CommentStatus, parse_status
from nailfolio.errors import NailfolioError
from nailfolio.identity.base64url import decode_base64url, encode_base64url

COMMENT_ID = re.compile(r"[0-9a-f]{32}")  # 12 hex digits of Unix ms, then 20 random ones
PAGE_SIZE = 50
PAGE_MAX = 200
CURSOR_MAX = 200  # characters; real cursors are about 110
QUERY_FIELDS = ("design", "label", "since", "until", "author", "status", "limit", "cursor")


class InvalidQuery(NailfolioError):
    """A listing's filters, limit or cursor are malformed."""


class InvalidCursor(InvalidQuery):
    """A page cursor was not made by this service (or was altered)."""


@dataclass(frozen=True)
class CommentFilter:
    """Which comments an admin lists or exports. `since` is inclusive, `until` exclusive;
    naive datetimes are taken as UTC."""

    design: str | None = None
    label: SentimentLabel | None = None
    since: datetime | None = None
    until: datetime | None = None
    author_sub: str | None = None
    status: CommentStatus | None = None  # a name is converted; raises InvalidStatus

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
                try:
                    object.__setattr__(self, name, aware.astimezone(UTC))
                except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
                    raise InvalidQuery(
                        f"{name}={value.isoformat()} is out of range; use a time in the years "
                        "1 to 9999 (UTC)"
                    ) from None
        if self.status is not None:
            object.__setattr__(self, "status", parse_status(self.status))
        if self.since and self.until and self.since >= self.until:
            raise InvalidQuery("since must be earlier than until")


@dataclass(frozen=True)
class ListQuery:
    """A listing request parsed from query-string parameters."""

    filters: CommentFilter = field(default_factory=CommentFilter)
    limit: int = PAGE_SIZE
    cursor: str | None = None


def new_comment_id(created_at: datetime) -> str:
    """32 hex digits: Unix milliseconds (12), then 80 random bits; sorts by creation time."""
    millis = int(created_at.timestamp() * 1000)
    return f"{millis:012x}{secrets.token_hex(10)}"


def encode_cursor(created_at: datetime, comment_id: str) -> str:
    """The opaque cursor that resumes a listing after this comment."""
    blob = json.dumps([created_at.astimezone(UTC).isoformat(), comment_id]).encode()
    return encode_base64url(blob)


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) from a cursor made by encode_cursor; raises InvalidCursor."""
    problem = InvalidCursor("The page cursor is not valid; start again from the first page")
    if not isinstance(cursor, str) or not 0 < len(cursor) <= CURSOR_MAX:
        raise problem
    try:
        blob = decode_base64url(cursor)
        created_text, comment_id = json.loads(blob)
        created_at = datetime.fromisoformat(created_text)
        utc = created_at.astimezone(UTC) if created_at.tzinfo else None
    except (ValueError, TypeError, OverflowError, binascii.Error):
        raise problem from None
    if utc is None or not (isinstance(comment_id, str) and COMMENT_ID.fullmatch(comment_id)):
        raise problem
    return utc, comment_id


def check_page_limit(limit: object) -> int:
    """A page size in 1..PAGE_MAX; raises InvalidQuery otherwise."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
        raise InvalidQuery(f"limit must be a whole number from 1 to {PAGE_MAX}, not {limit!r}")
    return limit


def parse_list_query(query: Mapping[str, str] | None) -> ListQuery:
    """Listing parameters from a query string: design, label, since, until (ISO-8601 date or
    datetime; UTC if no offset), author, status, limit, cursor. Raises InvalidQuery."""
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
        status=query.get("status") or None,  # type: ignore[arg-type]  # converted
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
