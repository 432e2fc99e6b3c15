"""Telling the admins: the Notifier port and its local adapter, an outbox shown in /admin/.

`OutboxNotifier` keeps every notification in its own SQLite file (var/outbox.sqlite3, apart
from the catalog: each store owns one file and one schema version). SMTP delivery, when added,
belongs here as a second adapter or a sender reading the outbox; the aws backend publishes to
an SNS topic instead.

Subjects are cleaned to what SNS accepts (one line, under 100 characters) by every adapter,
so a subject that works locally also works in production; put details in the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol, Self

from nailfolio.gallery.models import Notification
from nailfolio.local import sqlite

APPLICATION_ID = 0x4E46_4F62  # "NFOb": marks a SQLite file as a Nailfolio outbox
SUBJECT_MAX = 99  # SNS: "must be less than 100 characters long"

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,  -- sending order: the highest id is the newest
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        tags TEXT NOT NULL,  -- JSON list of strings
        created_at TEXT NOT NULL
    );
    """,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class Notifier(Protocol):
    """Sends a short message to the admins."""

    def notify(self, subject: str, body: str, tags: Sequence[str] = ()) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...


def clean_subject(subject: str) -> str:
    """One line of at most SUBJECT_MAX characters: line breaks and control characters
    become spaces, a longer subject is cut with "..."."""
    line = " ".join(_CONTROL.sub(" ", subject).split())
    if len(line) <= SUBJECT_MAX:
        return line
    return line[: SUBJECT_MAX - 3].rstrip() + "..."


class OutboxNotifier(sqlite.SqliteStore):
    """Notifications kept in a SQLite outbox table, newest shown first in /admin/."""

    migrations = MIGRATIONS
    application_id = APPLICATION_ID

    def notify(self, subject: str, body: str, tags: Sequence[str] = ()) -> None:
        if isinstance(tags, str):
            raise TypeError("tags must be a sequence of strings, not one string")
        self._conn().execute(
            "INSERT INTO outbox (subject, body, tags, created_at) VALUES (?, ?, ?, ?)",
            (
                clean_subject(subject),
                body,
                json.dumps(list(tags)),
                sqlite.format_datetime(datetime.now(UTC)),
            ),
        )

    def list_notifications(self, limit: int = 50) -> list[Notification]:
        """The `limit` most recent notifications, newest first."""
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, not {limit}")
        rows = (
            self._conn()
            .execute(
                "SELECT id, subject, body, tags, created_at FROM outbox ORDER BY id DESC LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        return [
            Notification(
                id=row_id,
                subject=subject,
                body=body,
                created_at=datetime.fromisoformat(created_at),
                tags=tuple(json.loads(tags)),
            )
            for row_id, subject, body, tags, created_at in rows
        ]
