"""Open SQLite databases the same way everywhere: WAL, foreign keys, busy timeout, migrations.

Each store (catalog, outbox, comments…) owns one database file and one ordered list of
migrations. `PRAGMA user_version` counts how many of them the file has had, so one file holds
exactly one store: `application_id` (a number each store picks) makes `connect` refuse a file
that belongs to another store instead of silently skipping its migrations.

Commits are durable by default (`synchronous=FULL`: WAL synced at each commit), so what a
store has acknowledged survives a power cut or an OS crash, not just a killed process. A store
whose rows are cheap to lose (rate-limit counters) may choose NORMAL, which survives a killed
process only, for faster commits.

Connections are in autocommit mode (`isolation_level=None`): a single statement commits on its
own; wrap several writes in `transaction(conn)`, which takes the write lock up front.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from types import FunctionType, TracebackType
from typing import Any, ClassVar, Self, TypeVar

from nailfolio.errors import ConfigError, StoreDamaged

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 10.0  # how long a writer waits for another connection's lock
SYNCHRONOUS_MODES = ("FULL", "NORMAL")
# Result codes that mean the file itself is bad, not that it is busy or the SQL is wrong.
_DAMAGE_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)

F = TypeVar("F", bound=Callable[..., Any])


def connect(
    path: Path,
    migrations: Sequence[str],
    *,
    application_id: int = 0,
    busy_timeout: float = BUSY_TIMEOUT_S,
    synchronous: str = "FULL",
) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path` and bring its schema up to date.

    `migrations[i]` is a SQL script that takes the schema from version i to i + 1; it runs in
    one transaction with the version bump, so a failing migration leaves no trace. A file
    whose version is newer than `len(migrations)`, or whose `application_id` is another
    store's, raises ConfigError. `application_id=0` skips that check. `synchronous` is FULL
    (durable through power loss) or NORMAL (through a killed process only).
    """
    if synchronous not in SYNCHRONOUS_MODES:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, not {synchronous!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False: a connection is still used by one thread only (SqliteStore
    # keeps one per thread), but may be closed by whichever thread frees that thread's state.
    conn = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    try:
        _use_wal(conn, busy_timeout)
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path, migrations, application_id)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_damage(exc):
            raise StoreDamaged(path, str(exc)) from None
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


@contextmanager
def without_fsync(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Commit the block's writes without waiting for the disk (synchronous=NORMAL), for rows
    that are cheap to lose; the next durable commit syncs them along with its own."""
    (mode,) = conn.execute("PRAGMA synchronous").fetchone()
    conn.execute("PRAGMA synchronous = NORMAL")
    try:
        yield conn
    finally:
        conn.execute(f"PRAGMA synchronous = {int(mode)}")


def is_damage(exc: BaseException) -> bool:
    """Whether a sqlite3 error says the database file is damaged (or not a database)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlite3.DatabaseError)
        and code is not None
        and code & 0xFF in (_DAMAGE_CODES)
    )


def check_file(path: Path, *, full: bool = True) -> str | None:
    """What is wrong with the database file at `path` (None: nothing), by SQLite's own
    integrity_check (or the faster quick_check); read only, so safe while others write."""
    if not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(_read_only_uri(path), uri=True)) as conn:
            pragma = "integrity_check(5)" if full else "quick_check(5)"
            found = [row[0] for row in conn.execute(f"PRAGMA {pragma}")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if found == ["ok"] else "; ".join(found)


def backup_file(path: Path, target: Path) -> None:
    """Copy the database at `path` to `target` with SQLite's online backup: a consistent copy
    even while other connections write (they wait a moment at most, never fail). The copy is
    one file in rollback-journal mode; a store that opens it switches it back to WAL."""
    with (
        closing(sqlite3.connect(_read_only_uri(path), uri=True)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        try:
            source.backup(copy, pages=256, sleep=0.005)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise StoreDamaged(path, str(exc)) from None
            raise
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal


def _read_only_uri(path: Path) -> str:
    return f"{Path(path).resolve().as_uri()}?mode=ro"


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
    # Whose file it is comes first: another store's schema version means nothing to this one.
    version = schema_version(conn)
    found = int(conn.execute("PRAGMA application_id").fetchone()[0])
    fresh = version == 0 and found == 0
    if application_id and not fresh and found != application_id:
        raise ConfigError(
            f"{path}: this database belongs to another store (application id {found:#x}, "
            f"expected {application_id:#x}); give each store its own file"
        )
    if version > len(migrations):
        raise ConfigError(
            f"{path}: database schema version {version} is newer than this Nailfolio knows "
            f"({len(migrations)}); upgrade Nailfolio, or restore a backup made by this version"
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


class SqliteStore:
    """Base of the SQLite adapters: one store, one file, one connection per thread.

    sqlite3 connections stay in the thread that made them and the local server is threaded,
    so each thread opens its own on first use; `close` closes the calling thread's, the
    others close when their thread ends. Subclasses set `migrations` and `application_id`.

    Every public method of a subclass turns SQLite's "database disk image is malformed" (or
    "file is not a database") into StoreDamaged naming the file, so a damaged store is one
    clear error for the command line and a 503 for the API, never a traceback. A store that
    sets `disposable` (its rows cost nothing to lose, like rate-limit counters) instead moves
    a damaged file aside, starts afresh and carries on.
    """

    migrations: ClassVar[Sequence[str]] = ()
    application_id: ClassVar[int] = 0
    synchronous: ClassVar[str] = "FULL"
    disposable: ClassVar[bool] = False
    _afresh_lock = threading.Lock()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if isinstance(member, FunctionType) and not name.startswith("_"):
                setattr(cls, name, _damage_named(member))

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        try:
            self._conn()  # create or migrate the file now: a bad path fails at start-up
        except StoreDamaged:
            if not self.disposable:
                raise
            self._start_afresh()

    def check(self, *, full: bool = True) -> str | None:
        """What is wrong with this store's file (None: nothing); see check_file."""
        return check_file(self.path, full=full)

    def _conn(self) -> sqlite3.Connection:
        owned = getattr(self._local, "owned", None)
        if owned is None:
            conn = connect(
                self.path,
                self.migrations,
                application_id=self.application_id,
                synchronous=self.synchronous,
            )
            owned = self._local.owned = _ThreadConnection(conn)
        return owned.conn

    def _start_afresh(self) -> None:
        """Move a damaged file aside (as NAME.damaged-TIME) and reopen an empty store; a file
        another thread has already replaced is kept."""
        self.close()
        with self._afresh_lock:
            problem = check_file(self.path, full=False)
            if problem is not None:
                aside = self.path.with_name(f"{self.path.name}.damaged-{time.time_ns()}")
                self.path.rename(aside)
                for suffix in ("-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                logger.warning(
                    "%s was damaged (%s): moved to %s, started afresh",
                    self.path,
                    problem,
                    aside.name,
                )
        self._conn()

    def close(self) -> None:
        owned = getattr(self._local, "owned", None)
        if owned is not None:
            owned.conn.close()
            self._local.owned = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _ThreadConnection:
    """One thread's connection, closed when the thread's local storage is freed (its thread
    ended): explicitly, as Python 3.13 warns about connections left to the garbage collector."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        # No module globals here: at interpreter shutdown they may already be None
        # (`suppress` was, in a process ending with its connections).
        try:  # noqa: SIM105 (suppress is a module global)
            self.conn.close()
        except Exception:  # shutting down: nothing left to tell
            pass


def _damage_named(method: F) -> F:
    """Wrap a store method: a damaged file becomes StoreDamaged naming it."""

    @functools.wraps(method)
    def guarded(self: SqliteStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except StoreDamaged:
            if not self.disposable:
                raise
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            if not self.disposable:
                raise StoreDamaged(self.path, str(exc)) from None
        self._start_afresh()
        return method(self, *args, **kwargs)

    return guarded  # type: ignore[return-value]
