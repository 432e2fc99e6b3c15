"""The outbox notifier: what admins see in /admin/ and `build.py moderation outbox`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nailfolio.errors import ConfigError
from nailfolio.gallery.notify import SUBJECT_MAX, Notifier, clean_subject
from nailfolio.local.outbox_notifier import OutboxNotifier
from nailfolio.local.sqlite_catalog import SqliteCatalog


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[OutboxNotifier]:
    with OutboxNotifier(tmp_path / "var" / "outbox.sqlite3") as notifier:
        yield notifier


def _send(notifier: Notifier, subject: str, body: str = "", tags: tuple[str, ...] = ()) -> None:
    notifier.notify(subject, body, tags)  # through the port, as the pipeline calls it


def test_notification_is_listed_with_its_fields(outbox: OutboxNotifier) -> None:
    before = datetime.now(UTC)
    _send(outbox, "Design ana/red needs review", "Explicit at 52%.", ("moderation", "needs_review"))

    (note,) = outbox.list_notifications()

    assert note.subject == "Design ana/red needs review"
    assert note.body == "Explicit at 52%."
    assert note.tags == ("moderation", "needs_review")
    assert before <= note.created_at <= datetime.now(UTC)
    assert note.created_at.utcoffset() == timedelta(0)


def test_notifications_are_listed_newest_first_up_to_the_limit(outbox: OutboxNotifier) -> None:
    for i in range(5):
        _send(outbox, f"note {i}")
    assert [n.subject for n in outbox.list_notifications(limit=3)] == ["note 4", "note 3", "note 2"]
    ids = [n.id for n in outbox.list_notifications()]
    assert ids == sorted(ids, reverse=True) and len(ids) == 5


def test_empty_outbox_lists_nothing(outbox: OutboxNotifier) -> None:
    assert outbox.list_notifications() == []


@pytest.mark.parametrize("limit", [0, -1])
def test_list_limit_must_be_positive(outbox: OutboxNotifier, limit: int) -> None:
    with pytest.raises(ValueError, match="limit must be 1 or more"):
        outbox.list_notifications(limit)


def test_tags_given_as_one_string_are_refused(outbox: OutboxNotifier) -> None:
    with pytest.raises(TypeError, match="not one string"):
        outbox.notify("subject", "body", "moderation")


def test_body_is_kept_verbatim(outbox: OutboxNotifier) -> None:
    body = "Line one\nLine two\twith a tab; and 'quotes' — ünïcode 💅"
    _send(outbox, "subject", body)
    assert outbox.list_notifications()[0].body == body


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Design ana/red was rejected", "Design ana/red was rejected"),
        ("two\nlines", "two lines"),
        ("  padded\r\n\tand tabbed  ", "padded and tabbed"),
        ("bell\x07and\x00nul", "bell and nul"),
        ("x" * SUBJECT_MAX, "x" * SUBJECT_MAX),
        ("x" * (SUBJECT_MAX + 1), "x" * (SUBJECT_MAX - 3) + "..."),
    ],
    ids=["plain", "newline", "whitespace", "control", "at-limit", "too-long"],
)
def test_subjects_are_cleaned_to_one_short_line(subject: str, expected: str) -> None:
    assert clean_subject(subject) == expected


def test_notify_stores_the_cleaned_subject(outbox: OutboxNotifier) -> None:
    _send(outbox, "Design\nana/red " + "y" * 200)
    stored = outbox.list_notifications()[0].subject
    assert "\n" not in stored and len(stored) == SUBJECT_MAX


def test_outbox_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with OutboxNotifier(path) as first:
        _send(first, "kept")
    with OutboxNotifier(path) as second:
        assert [n.subject for n in second.list_notifications()] == ["kept"]


def test_outbox_refuses_the_catalog_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    SqliteCatalog(path).close()
    with pytest.raises(ConfigError, match=r"belongs to another store.*its own file"):
        OutboxNotifier(path)


def test_outbox_and_catalog_live_side_by_side_in_var(tmp_path: Path) -> None:
    var = tmp_path / "var"
    with SqliteCatalog(var / "catalog.sqlite3"), OutboxNotifier(var / "outbox.sqlite3") as outbox:
        _send(outbox, "hello")
        assert len(outbox.list_notifications()) == 1
