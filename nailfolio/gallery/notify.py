"""Telling the admins: the Notifier port.

Locally, nailfolio.local.outbox_notifier keeps every notification in its own SQLite file
(var/outbox.sqlite3), shown in /admin/; the aws backend publishes to an SNS topic instead.

Subjects are cleaned to what SNS accepts (one line, under 100 characters) by every adapter,
so a subject that works locally also works in production; put details in the body.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, Self

SUBJECT_MAX = 99  # SNS: "must be less than 100 characters long"


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
