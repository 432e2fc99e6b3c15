"""Times as every store writes them: ISO-8601 text, so SQLite and DynamoDB hold the same."""

from __future__ import annotations

from datetime import UTC, datetime


def format_datetime(value: datetime | None) -> str | None:
    """ISO-8601 text for a column: aware times in UTC; naive ones (EXIF's zoneless wall-clock
    times) kept naive, so they read back exactly as given."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.isoformat()
    return value.astimezone(UTC).isoformat()


def parse_datetime(text: str | None) -> datetime | None:
    """The inverse of format_datetime."""
    return None if text is None else datetime.fromisoformat(text)
