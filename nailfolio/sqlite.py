"""Open SQLite databases the same way everywhere: WAL, foreign keys, busy timeout, migrations.

Each store (catalog, outbox, comments…) owns one database file and one ordered list of
migrations. `PRAGMA user_version` counts how many of them the file has had, so one file holds
exactly one store: `application_id` (a number each store picks) makes `connect` refuse a file
that belongs to another store instead of silently skipping its migrations.

Connections are in autocommit mode (`isolation_level=None`): a single statement commits on its
own; wrap several writes in `transaction(conn)`, which takes the write lock up front.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from nailfolio.errors import ConfigError

BUSY_TIMEOUT_S = 10.0  # how long a writer waits for another connection's lock


def connect(
    path: Path,
    migrations: Sequence[str],
    *,
    application_id: int = 0,
    busy_timeout: float = BUSY_TIMEOUT_S,
) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path` and bring its schema up to date.

    `migrations[i]` is a SQL script that takes the schema from version i to i + 1; it runs in
    one transaction with the version bump, so a failing migration leaves no trace. A file
    whose version is newer than `len(migrations)`, or whose `application_id` is another
    store's, raises ConfigError. `application_id=0` skips that check.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    try:
        _use_wal(conn, busy_timeout)
        conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: no corruption, fast commits
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path, migrations, application_id)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ConfigError(f"{path}: cannot open the database ({exc})") from exc
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run a block as one write transaction: committed on success, rolled back on error.

    BEGIN IMMEDIATE takes the write lock at the start, so a concurrent writer waits for the
    busy timeout instead of failing on a read-to-write upgrade.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def schema_version(conn: sqlite3.Connection) -> int:
    """How many migrations the open database has had."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _use_wal(conn: sqlite3.Connection, busy_timeout: float) -> None:
    """Switch to WAL (persistent in the file), retrying while another connection holds a lock:
    SQLite returns "database is locked" for this pragma without waiting the busy timeout."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _migrate(
    conn: sqlite3.Connection, path: Path, migrations: Sequence[str], application_id: int
) -> None:
    _check(conn, path, migrations, application_id)
    if schema_version(conn) == len(migrations):
        return  # the common case: no write lock taken
    with transaction(conn):
        # Another process may have migrated while we waited for the lock: look again.
        _check(conn, path, migrations, application_id)
        version = schema_version(conn)
        if version == 0 and application_id:
            conn.execute(f"PRAGMA application_id = {int(application_id)}")
        for index in range(version, len(migrations)):
            for statement in _statements(migrations[index]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {len(migrations)}")


def _check(
    conn: sqlite3.Connection, path: Path, migrations: Sequence[str], application_id: int
) -> None:
    version = schema_version(conn)
    if version > len(migrations):
        raise ConfigError(
            f"{path}: database schema version {version} is newer than this Nailfolio knows "
            f"({len(migrations)}); upgrade Nailfolio, or restore a backup made by this version"
        )
    found = int(conn.execute("PRAGMA application_id").fetchone()[0])
    fresh = version == 0 and found == 0
    if application_id and not fresh and found != application_id:
        raise ConfigError(
            f"{path}: this database belongs to another store (application id {found:#x}, "
            f"expected {application_id:#x}); give each store its own file"
        )


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (`execute` runs one at a time)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                yield pending.strip()
            pending = ""
    if pending.rstrip(";").strip():
        raise ValueError(f"migration ends with an incomplete statement: {pending.strip()!r}")


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


class SqliteStore:
    """Base of the SQLite adapters: one store, one file, one connection per thread.

    sqlite3 connections stay in the thread that made them and the local server is threaded,
    so each thread opens its own on first use; `close` closes the calling thread's, the
    others close when their thread ends. Subclasses set `migrations` and `application_id`.
    """

    migrations: ClassVar[Sequence[str]] = ()
    application_id: ClassVar[int] = 0

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._conn()  # create or migrate the file now: a bad path fails at start-up

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, self.migrations, application_id=self.application_id)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
