"""The notifier's local adapter: notifications kept in an outbox table (var/outbox.sqlite3),
shown by `build.py moderation outbox` and /admin/.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from nailfolio import timestamps
from nailfolio.gallery.models import Notification
from nailfolio.gallery.notify import clean_subject
from nailfolio.local import sqlite

APPLICATION_ID = 0x4E46_4F62  # "NFOb": marks a SQLite file as a Nailfolio outbox


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
                timestamps.format_datetime(datetime.now(UTC)),
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
