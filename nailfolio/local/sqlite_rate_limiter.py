"""The rate limiter's local adapter: fixed-window counters in their own SQLite file
(var/ratelimit.sqlite3); each hit is one atomic UPSERT, safe across threads and processes
sharing the file; rows of ended windows are pruned now and then.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from pathlib import Path

from nailfolio.local import sqlite
from nailfolio.ratelimit import Decision, check_hit

APPLICATION_ID = 0x4E46_526C  # "NFRl": marks a SQLite file as Nailfolio's rate-limit counters


PRUNE_EVERY = 1000  # hits per limiter instance between sweeps of ended windows


MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE hits (
        bucket TEXT NOT NULL,
        window_seconds INTEGER NOT NULL,
        window_start INTEGER NOT NULL,  -- Unix seconds, a multiple of window_seconds
        expires_at INTEGER NOT NULL,  -- window_start + window_seconds
        count INTEGER NOT NULL,
        PRIMARY KEY (bucket, window_seconds)
    ) WITHOUT ROWID;
    CREATE INDEX hits_by_expiry ON hits (expires_at);
    """,
)


# One statement, so atomic: open the bucket's window at this hit if it has none or its window
# has ended, or count one more hit if the window still has room. (SET expressions read the
# row as it was.) No row comes back when the hit is refused.
_HIT = """
INSERT INTO hits (bucket, window_seconds, window_start, expires_at, count)
VALUES (:bucket, :window, :now, :now + :window, 1)
ON CONFLICT (bucket, window_seconds) DO UPDATE SET
    count = CASE WHEN expires_at <= excluded.window_start THEN 1 ELSE count + 1 END,
    window_start = CASE WHEN expires_at <= excluded.window_start
        THEN excluded.window_start ELSE window_start END,
    expires_at = CASE WHEN expires_at <= excluded.window_start
        THEN excluded.expires_at ELSE expires_at END
WHERE expires_at <= excluded.window_start OR count < :limit
RETURNING count
"""


_EXPIRY = "SELECT expires_at FROM hits WHERE bucket = ? AND window_seconds = ?"


class SqliteRateLimiter(sqlite.SqliteStore):
    """Fixed-window counters in a SQLite file; safe to share between threads and processes."""

    migrations = MIGRATIONS
    application_id = APPLICATION_ID
    # Counters lost in a power cut or to a damaged file only reopen some windows early.
    synchronous = "NORMAL"
    disposable = True

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._hits = itertools.count(1)
        super().__init__(path)

    def hit(self, bucket: str, limit: int, window_seconds: int) -> Decision:
        check_hit(bucket, limit, window_seconds)
        now = self._clock()
        conn = self._conn()
        params = {"bucket": bucket, "window": window_seconds, "now": now, "limit": limit}
        counted = conn.execute(_HIT, params).fetchall()  # fetch all: finishes the statement
        if next(self._hits) % PRUNE_EVERY == 0:
            conn.execute("DELETE FROM hits WHERE expires_at <= ?", (now,))
        if counted:
            return Decision(True, 0)
        (expires_at,) = conn.execute(_EXPIRY, (bucket, window_seconds)).fetchone()
        return Decision(False, max(1, math.ceil(expires_at - now)))
