"""The admins' digest of new comments: one message at most every N minutes, never one per
comment, and none when nothing is new.

A stored mark (DigestMarks, kept by the comment store) names the newest comment the last
digest listed and when it was sent. A run lists the comments after the mark, sends one
digest, and only then advances the mark: a failed send leaves it, so the next run sends
them all (nothing is lost, and nothing is sent twice unless the store fails right after a
send). Comments younger than SETTLE wait for the next run: a post being stored at this very
moment, or one an eventually consistent index has not shown yet, is never skipped. Spam is
never listed. Without a mark (the first run), the digest covers the last FIRST_LOOKBACK.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from nailfolio.comments.query import PAGE_MAX
from nailfolio.comments.service import Comment, CommentStore
from nailfolio.errors import NailfolioError
from nailfolio.gallery.notify import Notifier

logger = logging.getLogger(__name__)

DIGEST_MINUTES = 15.0  # the default of Settings.digest_minutes (NAILFOLIO_DIGEST_MINUTES)
SETTLE = timedelta(seconds=30)
FIRST_LOOKBACK = timedelta(days=1)
LISTED_MAX = 50  # comments named in one message; the rest are counted
READ_MAX = 1_000  # comments one run reads; a busier spell is reported as "1000+"
FIRST_LINE_MAX = 120  # characters of a comment's first line
DIGEST_TAGS = ("comments", "digest")
CHECK_INTERVAL_S = 60.0  # how often `serve` asks whether a digest is due
CHECK_MINUTES = 5  # how often the aws schedule asks (chalice_app/app.py)


@dataclass(frozen=True)
class DigestMark:
    """Where the last digest stopped: the newest comment it listed, and when it was sent."""

    created_at: datetime
    comment_id: str
    sent_at: datetime


class DigestMarks(Protocol):
    """Where the digest's mark is kept (each comment store adapter keeps one)."""

    def digest_mark(self) -> DigestMark | None: ...

    def set_digest_mark(self, mark: DigestMark) -> None: ...


class DigestStore(CommentStore, DigestMarks, Protocol):
    """A comment store that also keeps the digest's mark."""


@dataclass(frozen=True)
class Digest:
    """What one run sent: how many comments it counted (0: nothing was sent)."""

    sent: int
    reason: str = ""  # why nothing was sent: "not due", "nothing new"


def send_digest(
    store: DigestStore,
    notifier: Notifier,
    admin_url: str,
    every: timedelta = timedelta(minutes=DIGEST_MINUTES),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    site_name: str = "Nailfolio",
) -> Digest:
    """Send one digest of the comments posted since the last one, if one is due; the mark
    advances only once the notifier has sent it (a failure raises, the mark stays)."""
    when = now()
    mark = store.digest_mark()
    if mark is not None and when - mark.sent_at < every:
        return Digest(0, "not due")
    since = mark.created_at if mark else when - FIRST_LOOKBACK
    until = when - SETTLE
    if since >= until:
        return Digest(0, "nothing new")
    new = list(_after_mark(store, since, until, mark))
    if not new:
        return Digest(0, "nothing new")
    subject, body = digest_message(new, admin_url, site_name)
    notifier.notify(subject, body, DIGEST_TAGS)
    newest = new[0]
    store.set_digest_mark(DigestMark(newest.created_at, newest.id, when))
    logger.info("comment digest sent: %d new comments", len(new))
    return Digest(len(new))


def digest_message(new: list[Comment], admin_url: str, site_name: str) -> tuple[str, str]:
    """The digest's subject and body for `new` (newest first, as listed): one line per
    comment (design, name, first line), oldest first, then the link to the admin page."""
    more = "+" if len(new) >= READ_MAX else ""  # the run stopped reading: there are more
    count = f"{len(new)}{more}"
    noun = "comment" if len(new) == 1 else "comments"
    listed = list(reversed(new[:LISTED_MAX]))
    lines = [f"{count} new {noun} on {site_name}:", ""]
    lines += [f"- {c.design}, {c.author_name or 'someone'}: {_first_line(c.text)}" for c in listed]
    if len(new) > LISTED_MAX:
        lines.append(f"... and {len(new) - LISTED_MAX}{more} more")
    lines += ["", f"Read and answer them: {admin_url}"]
    return f"{site_name}: {count} new {noun}", "\n".join(lines)


def _after_mark(
    store: CommentStore, since: datetime, until: datetime, mark: DigestMark | None
) -> Iterator[Comment]:
    """Comments in [since, until) after the mark, newest first, at most READ_MAX."""
    cursor: str | None = None
    read = 0
    while True:
        page = store.list(since=since, until=until, limit=PAGE_MAX, cursor=cursor)
        for comment in page.comments:
            if mark and (comment.created_at, comment.id) <= (mark.created_at, mark.comment_id):
                return
            yield comment
            read += 1
            if read >= READ_MAX:
                return
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= FIRST_LINE_MAX else line[: FIRST_LINE_MAX - 3].rstrip() + "..."


def run_digests(
    send: Callable[[], Digest],
    stop: threading.Event,
    on_sent: Callable[[int], None] = lambda count: None,
    interval: float = CHECK_INTERVAL_S,
) -> None:
    """Call `send` (a digest, if due) at once and then every `interval` seconds until `stop`
    is set; `on_sent(n)` hears of each digest sent. A failing round is logged and the next
    one tries again (the mark stayed, so its comments are in the next digest)."""
    while True:
        try:
            digest = send()
        except NailfolioError as exc:  # a known trouble (a damaged store): its message says all
            logger.warning("comment digest failed; trying again later: %s", exc)
        except Exception:  # the loop must outlive an outage; the comments wait for the next
            logger.warning("comment digest failed; trying again later", exc_info=True)
        else:
            if digest.sent:
                on_sent(digest.sent)
        if stop.wait(interval):
            return
