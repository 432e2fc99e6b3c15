"""The catalog contract (every adapter passes it) and the SQLite adapter and helper."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from moto_dynamodb import atomic_dynamodb, dynamodb_client

from nailfolio import timestamps
from nailfolio.aws.dynamodb import catalog_table
from nailfolio.aws.dynamodb_catalog import DynamoCatalog
from nailfolio.errors import ConfigError
from nailfolio.gallery.catalog import Catalog, Preloaded
from nailfolio.gallery.models import Decision, Label, Rendition, Status, Swatch, Variant
from nailfolio.local import sqlite
from nailfolio.local.outbox_notifier import OutboxNotifier
from nailfolio.local.sqlite_catalog import APPLICATION_ID, MIGRATIONS, SqliteCatalog

WHEN = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
CATALOG_TABLE = "nailfolio-catalog"
LABELS = (Label("Explicit", "", 2.5), Label("Explicit Nudity", "Explicit", 1.25))


def _decision(
    key: str = "ana/red-tips",
    content_hash: str = "h1",
    status: Status = Status.APPROVED,
    **changes: Any,
) -> Decision:
    base = Decision(key, content_hash, status, model="fake 1", labels=LABELS, decided_at=WHEN)
    return replace(base, **changes)


def _rendition(content_hash: str = "h1", taken_at: datetime | None = None) -> Rendition:
    return Rendition(
        content_hash=content_hash,
        width=3000,
        height=4000,
        variants=(
            Variant(f"red-{content_hash[:8]}-480.webp", 480, 640, "webp", "responsive"),
            Variant(f"red-{content_hash[:8]}-1200.jpg", 1200, 1600, "jpeg", "fallback"),
            Variant(f"red-{content_hash[:8]}-thumb.webp", 400, 500, "webp", "thumb"),
        ),
        placeholder="data:image/webp;base64,UklGRg==",
        dominant_colour="#f4c2c2",
        taken_at=taken_at,
    )


# --- the contract: parametrized over adapters (DynamoDB on moto) ---------------------------


@pytest.fixture(params=["sqlite", "dynamodb"])
def open_catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Catalog]]:
    """Opens the same catalog again each call (another connection, or another client)."""
    opened: list[Catalog] = []

    def open_sqlite() -> Catalog:
        return SqliteCatalog(tmp_path / "var" / "catalog.sqlite3")

    def open_dynamodb() -> Catalog:
        return DynamoCatalog(dynamodb_client(), CATALOG_TABLE)

    def open_() -> Catalog:
        catalog = open_sqlite() if request.param == "sqlite" else open_dynamodb()
        opened.append(catalog)
        return catalog

    with contextlib.ExitStack() as stack:
        if request.param == "dynamodb":
            stack.enter_context(atomic_dynamodb())
            client = dynamodb_client()
            client.create_table(**catalog_table(CATALOG_TABLE))
        yield open_
        for catalog in opened:
            catalog.close()


@pytest.fixture
def catalog(open_catalog: Callable[[], Catalog]) -> Catalog:
    return open_catalog()


def test_empty_catalog_knows_nothing(catalog: Catalog) -> None:
    assert catalog.get_decision("ana/red-tips", "h1") is None
    assert catalog.latest_decision("ana/red-tips") is None
    assert catalog.latest_decisions() == []
    assert catalog.decision_history("ana/red-tips") == []
    assert catalog.get_rendition("h1", "fp") is None
    assert catalog.get_file_hash("designs/ana/red.jpg", 10, 20) is None
    assert catalog.get_refusal("h1", "caps") is None


def _fill(catalog: Catalog) -> None:
    """Two designs (one overridden), renditions and refusals under two settings, file hashes."""
    catalog.record_decision(_decision("ana/red-tips", "h1", Status.NEEDS_REVIEW))
    catalog.record_decision(_decision("ana/red-tips", "h1", Status.APPROVED, model="admin"))
    catalog.record_decision(_decision("bea/blue", "h2", Status.REJECTED))
    catalog.put_rendition("fp", _rendition("h1", taken_at=WHEN))
    catalog.put_rendition("other-fp", _rendition("h2"))
    catalog.put_refusal("h3", "caps", "not an image")
    catalog.put_refusal("h4", "other-caps", "too big")
    catalog.put_file_hash("designs/ana/nail#1.jpg", 10, 20, "h1")
    catalog.put_file_hash("designs/bea/blue.png", 30, 40, "h2")


def test_a_snapshot_holds_what_planning_reads_of_every_design(catalog: Catalog) -> None:
    _fill(catalog)
    found = catalog.snapshot("fp", "caps")
    assert found.latest == {
        "ana/red-tips": catalog.latest_decision("ana/red-tips"),
        "bea/blue": catalog.latest_decision("bea/blue"),
    }
    assert found.latest["ana/red-tips"].model == "admin"  # the newest, not the first
    assert found.renditions == {"h1": _rendition("h1", taken_at=WHEN)}  # this fingerprint only
    assert found.refusals == {"h3": "not an image"}  # these caps only
    assert found.file_hashes == {
        "designs/ana/nail#1.jpg": (10, 20, "h1"),
        "designs/bea/blue.png": (30, 40, "h2"),
    }


def test_a_preloaded_catalog_answers_as_the_catalog_does_before_and_after_writes(
    catalog: Catalog,
) -> None:
    _fill(catalog)
    preloaded = Preloaded(catalog, "fp", "caps")

    def reads(of: Any) -> tuple[Any, ...]:
        return (
            of.latest_decision("ana/red-tips"),
            of.latest_decision("bea/blue"),
            of.latest_decision("cleo/new"),
            of.latest_decision("dia/unstamped"),
            of.get_decision("ana/red-tips", "h1"),
            of.get_decision("bea/blue", "h1"),
            of.get_rendition("h1", "fp"),
            of.get_rendition("h2", "other-fp"),
            of.get_rendition("h2", "fp"),
            of.get_refusal("h3", "caps"),
            of.get_refusal("h4", "other-caps"),
            of.get_file_hash("designs/ana/nail#1.jpg", 10, 20),
            of.get_file_hash("designs/ana/nail#1.jpg", 10, 21),
            of.get_file_hash("designs/cleo/new.jpg", 1, 2),
        )

    assert reads(preloaded) == reads(catalog)
    preloaded.record_decision(_decision("cleo/new", "h9", Status.APPROVED))
    preloaded.record_decision(_decision("dia/unstamped", "h8", decided_at=None))  # stamped
    preloaded.record_decision(_decision("ana/red-tips", "h5", Status.REJECTED))
    preloaded.put_rendition("fp", _rendition("h2"))
    preloaded.put_refusal("h1", "caps", "now refused")
    preloaded.put_file_hash("designs/ana/nail#1.jpg", 10, 21, "h5")
    preloaded.put_file_hash("designs/cleo/new.jpg", 1, 2, "h9")
    assert reads(preloaded) == reads(catalog)
    assert preloaded.decision_history("ana/red-tips") == catalog.decision_history("ana/red-tips")


def test_decision_round_trips_as_equal_dataclass(catalog: Catalog) -> None:
    decision = _decision(decided_by="maria", reason="looks fine", status=Status.NEEDS_REVIEW)
    catalog.record_decision(decision)
    assert catalog.get_decision(decision.key, decision.content_hash) == decision
    assert catalog.latest_decision(decision.key) == decision


def test_decision_applies_only_while_the_hash_is_unchanged(catalog: Catalog) -> None:
    catalog.record_decision(_decision(content_hash="h1"))
    assert catalog.get_decision("ana/red-tips", "h1") is not None
    assert catalog.get_decision("ana/red-tips", "h2") is None  # the image changed: moderate
    assert catalog.get_decision("ana/blue-tips", "h1") is None  # same bytes, other design


def test_newest_decision_for_a_hash_wins_and_history_is_kept(catalog: Catalog) -> None:
    model = _decision(status=Status.NEEDS_REVIEW)
    override = _decision(status=Status.APPROVED, model="admin", decided_by="maria")
    catalog.record_decision(model)
    catalog.record_decision(override)
    assert catalog.get_decision("ana/red-tips", "h1") == override
    assert catalog.decision_history("ana/red-tips") == [override, model]


def test_the_decision_recorded_last_wins_whatever_its_time(catalog: Catalog) -> None:
    model = _decision(status=Status.REJECTED)
    override = _decision(status=Status.APPROVED, model="admin", decided_at=WHEN - timedelta(1))
    catalog.record_decision(model)
    catalog.record_decision(override)  # recorded after, though dated a day before
    assert catalog.latest_decision("ana/red-tips") == override
    assert catalog.get_decision("ana/red-tips", "h1") == override
    assert catalog.decision_history("ana/red-tips") == [override, model]
    assert catalog.latest_decisions(Status.APPROVED) == [override]


@pytest.mark.parametrize("confidence", [0.1 + 0.2, 1e-05, 99.99999999999999, 50, 0.0])
def test_label_confidences_come_back_exactly(catalog: Catalog, confidence: float) -> None:
    decision = _decision(labels=(Label("Explicit", "", confidence),))
    catalog.record_decision(decision)
    stored = catalog.get_decision(decision.key, decision.content_hash)
    assert stored == decision
    assert stored is not None and stored.labels[0].confidence == confidence


def test_older_versions_keep_their_decisions(catalog: Catalog) -> None:
    first = _decision(content_hash="h1", status=Status.APPROVED)
    second = _decision(content_hash="h2", status=Status.REJECTED)
    catalog.record_decision(first)
    catalog.record_decision(second)
    assert catalog.get_decision("ana/red-tips", "h1") == first
    assert catalog.get_decision("ana/red-tips", "h2") == second
    assert catalog.latest_decision("ana/red-tips") == second


def test_latest_decisions_take_the_newest_per_key_sorted_by_key(catalog: Catalog) -> None:
    catalog.record_decision(_decision("zoe/gold", "z1", Status.REJECTED))
    catalog.record_decision(_decision("ana/red", "a1", Status.NEEDS_REVIEW))
    catalog.record_decision(_decision("ana/red", "a2", Status.APPROVED))
    catalog.record_decision(_decision("bea/blue", "b1", Status.NEEDS_REVIEW))

    latest = catalog.latest_decisions()

    assert [(d.key, d.content_hash, d.status) for d in latest] == [
        ("ana/red", "a2", Status.APPROVED),
        ("bea/blue", "b1", Status.NEEDS_REVIEW),
        ("zoe/gold", "z1", Status.REJECTED),
    ]


def test_latest_decisions_filter_on_the_current_status_only(catalog: Catalog) -> None:
    catalog.record_decision(_decision("ana/red", "a1", Status.NEEDS_REVIEW))
    catalog.record_decision(_decision("ana/red", "a1", Status.APPROVED, model="admin"))
    catalog.record_decision(_decision("bea/blue", "b1", Status.NEEDS_REVIEW))

    queue = catalog.latest_decisions(Status.NEEDS_REVIEW)

    assert [d.key for d in queue] == ["bea/blue"]  # ana/red was reviewed since
    assert catalog.latest_decisions(Status.REJECTED) == []


def test_decision_without_a_time_is_stamped_in_utc(catalog: Catalog) -> None:
    before = datetime.now(UTC)
    catalog.record_decision(_decision(decided_at=None))
    stored = catalog.get_decision("ana/red-tips", "h1")
    assert stored is not None and stored.decided_at is not None
    assert before <= stored.decided_at <= datetime.now(UTC)
    assert stored.decided_at.utcoffset() == timedelta(0)


def test_decision_time_in_another_zone_comes_back_as_the_same_instant_in_utc(
    catalog: Catalog,
) -> None:
    paris = datetime(2026, 3, 1, 13, 30, tzinfo=timezone(timedelta(hours=1)))
    catalog.record_decision(_decision(decided_at=paris))
    stored = catalog.get_decision("ana/red-tips", "h1")
    assert stored is not None and stored.decided_at == paris
    assert stored.decided_at.tzinfo == UTC


@pytest.mark.parametrize(
    "taken_at",
    [None, datetime(2025, 7, 14, 18, 5, 59), datetime(2025, 7, 14, 16, 5, 59, 1, tzinfo=UTC)],
    ids=["none", "naive-exif", "aware"],
)
def test_rendition_round_trips_exactly(catalog: Catalog, taken_at: datetime | None) -> None:
    rendition = _rendition(taken_at=taken_at)
    catalog.put_rendition("fp1", rendition)
    got = catalog.get_rendition("h1", "fp1")
    assert got == rendition
    assert got is not None and isinstance(got.variants, tuple)
    assert all(isinstance(v, Variant) for v in got.variants)


PALETTE = (Swatch("#9b1027", 0.678, "ruby"), Swatch("#e2bc9e", 0.1 + 0.2, "nude"))


def test_a_renditions_palette_round_trips_exactly(catalog: Catalog) -> None:
    rendition = replace(_rendition(), palette=PALETTE, palette_version=3)
    catalog.put_rendition("fp1", rendition)
    assert catalog.get_rendition("h1", "fp1") == rendition  # 0.30000000000000004 included
    assert catalog.snapshot("fp1", "caps").renditions == {"h1": rendition}


def test_a_rendition_without_a_palette_reads_as_never_read(catalog: Catalog) -> None:
    catalog.put_rendition("fp1", _rendition())
    got = catalog.get_rendition("h1", "fp1")
    assert got is not None and (got.palette, got.palette_version) == ((), 0)


def test_a_rendition_item_put_before_palettes_reads_as_never_read() -> None:
    with atomic_dynamodb():
        client = dynamodb_client()
        client.create_table(**catalog_table(CATALOG_TABLE))
        item = {
            "pk": {"S": "RENDITION#h1"},
            "sk": {"S": "FP#fp1"},
            "content_hash": {"S": "h1"},
            "width": {"N": "3000"},
            "height": {"N": "4000"},
            "variants": {"L": []},
            "placeholder": {"S": ""},
            "dominant_colour": {"S": "#f4c2c2"},
        }  # the item as the adapter wrote it before palettes
        client.put_item(TableName=CATALOG_TABLE, Item=item)
        got = DynamoCatalog(client, CATALOG_TABLE).get_rendition("h1", "fp1")
        assert got is not None and (got.palette, got.palette_version) == ((), 0)


def test_rendition_is_keyed_by_hash_and_fingerprint(catalog: Catalog) -> None:
    catalog.put_rendition("fp1", _rendition("h1"))
    assert catalog.get_rendition("h1", "fp2") is None  # settings changed: render again
    assert catalog.get_rendition("h2", "fp1") is None


def test_putting_a_rendition_again_replaces_it(catalog: Catalog) -> None:
    catalog.put_rendition("fp1", _rendition())
    newer = _rendition(taken_at=datetime(2025, 1, 1, 9, 0))
    catalog.put_rendition("fp1", newer)
    assert catalog.get_rendition("h1", "fp1") == newer


def test_file_hash_hits_only_for_the_same_size_and_mtime(catalog: Catalog) -> None:
    mtime_ns = 1_767_000_000_123_456_789
    catalog.put_file_hash("designs/ana/red.jpg", 3_000_000, mtime_ns, "h1")
    assert catalog.get_file_hash("designs/ana/red.jpg", 3_000_000, mtime_ns) == "h1"
    assert catalog.get_file_hash("designs/ana/red.jpg", 3_000_001, mtime_ns) is None
    assert catalog.get_file_hash("designs/ana/red.jpg", 3_000_000, mtime_ns + 1) is None
    assert catalog.get_file_hash("designs/ana/blue.jpg", 3_000_000, mtime_ns) is None


def test_file_hash_put_again_replaces_the_old_entry(catalog: Catalog) -> None:
    catalog.put_file_hash("designs/ana/red.jpg", 10, 1, "h1")
    catalog.put_file_hash("designs/ana/red.jpg", 12, 2, "h2")
    assert catalog.get_file_hash("designs/ana/red.jpg", 12, 2) == "h2"
    assert catalog.get_file_hash("designs/ana/red.jpg", 10, 1) is None


def test_refusal_is_kept_per_hash_and_input_caps(catalog: Catalog) -> None:
    catalog.put_refusal("h1", "caps1", "truncated or corrupt image data")
    assert catalog.get_refusal("h1", "caps1") == "truncated or corrupt image data"
    assert catalog.get_refusal("h1", "caps2") is None  # a raised cap: try again
    assert catalog.get_refusal("h2", "caps1") is None  # the file changed: try again
    catalog.put_refusal("h1", "caps1", "image is 9000x9000 pixels, over the 64 MP limit")
    assert catalog.get_refusal("h1", "caps1") == "image is 9000x9000 pixels, over the 64 MP limit"


def test_everything_survives_reopening(open_catalog: Callable[[], Catalog]) -> None:
    with open_catalog() as first:
        first.record_decision(_decision())
        first.put_rendition("fp1", _rendition())
        first.put_file_hash("designs/ana/red.jpg", 10, 1, "h1")
        first.put_refusal("h2", "caps", "not an image (looks like text)")
    with open_catalog() as second:
        assert second.get_decision("ana/red-tips", "h1") == _decision()
        assert second.get_rendition("h1", "fp1") == _rendition()
        assert second.get_file_hash("designs/ana/red.jpg", 10, 1) == "h1"
        assert second.get_refusal("h2", "caps") == "not an image (looks like text)"


# --- the SQLite adapter ------------------------------------------------------------------


def test_new_catalog_creates_its_folder_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "var" / "catalog.sqlite3"
    with SqliteCatalog(path) as catalog:
        catalog.record_decision(_decision())
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        conn.close()


def test_catalog_migrates_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    path.touch()
    with SqliteCatalog(path) as catalog:
        catalog.record_decision(_decision())
        assert catalog.latest_decision("ana/red-tips") == _decision()


def test_catalog_refuses_a_schema_from_the_future(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    SqliteCatalog(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    newer = len(MIGRATIONS) + 1
    with pytest.raises(ConfigError, match=rf"schema version {newer} is newer .*upgrade Nailfolio"):
        SqliteCatalog(path)


def test_a_catalog_of_the_first_schema_gains_the_refusals_table(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    conn = sqlite.connect(path, MIGRATIONS[:1], application_id=APPLICATION_ID)
    conn.execute("INSERT INTO file_hashes VALUES ('designs/ana/red.jpg', 10, 1, 'h1')")
    conn.close()
    with SqliteCatalog(path) as catalog:
        assert catalog.get_file_hash("designs/ana/red.jpg", 10, 1) == "h1"  # data kept
        catalog.put_refusal("h1", "caps", "truncated or corrupt image data")
        assert catalog.get_refusal("h1", "caps") == "truncated or corrupt image data"


def test_renditions_of_the_second_schema_gain_an_unread_palette(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    conn = sqlite.connect(path, MIGRATIONS[:2], application_id=APPLICATION_ID)
    conn.execute(
        "INSERT INTO renditions VALUES ('h1', 'fp1', 3000, 4000, '[]', '', '#f4c2c2', NULL)"
    )
    conn.close()
    with SqliteCatalog(path) as catalog:
        old = catalog.get_rendition("h1", "fp1")
        assert old is not None and (old.palette, old.palette_version) == ((), 0)
        catalog.put_rendition("fp1", replace(old, palette=PALETTE, palette_version=1))
        assert catalog.get_rendition("h1", "fp1") == replace(
            old, palette=PALETTE, palette_version=1
        )


def test_catalog_refuses_another_stores_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    OutboxNotifier(path).close()
    with pytest.raises(ConfigError, match="belongs to another store"):
        SqliteCatalog(path)


def test_catalog_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    path.write_text("designs, not a database\n" * 100)
    with pytest.raises(
        ConfigError,
        match=r"catalog\.sqlite3: damaged or unreadable \(file is not a database\); restore it",
    ):
        SqliteCatalog(path)


def test_two_writers_on_one_file_do_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def write(writer: str) -> None:
        try:
            start.wait()  # both open the fresh file at once: migrations must not collide
            with SqliteCatalog(path) as catalog:
                for i in range(100):
                    catalog.record_decision(_decision(f"{writer}/d{i}", f"h{i}"))
                    catalog.put_file_hash(f"designs/{writer}/{i}.jpg", i, i, f"h{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in ("ana", "bea")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with SqliteCatalog(path) as catalog:
        assert len(catalog.latest_decisions()) == 200


def test_many_connections_can_create_a_fresh_file_at_once(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def open_and_close(path: Path, start: threading.Barrier) -> None:
        try:
            start.wait()
            SqliteCatalog(path).close()
        except BaseException as exc:
            errors.append(exc)

    for attempt in range(50):  # the race shows up in ~7% of attempts without the fix
        start = threading.Barrier(6)
        path = tmp_path / f"catalog-{attempt}.sqlite3"
        threads = [threading.Thread(target=open_and_close, args=(path, start)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []


def test_a_writer_waits_for_a_held_lock_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    locked = threading.Event()

    def hold_lock() -> None:
        conn = sqlite.connect(path, MIGRATIONS)
        with sqlite.transaction(conn):
            conn.execute("INSERT INTO file_hashes VALUES ('x', 1, 1, 'h')")
            locked.set()
            time.sleep(0.3)
        conn.close()

    SqliteCatalog(path).close()
    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait()
    with SqliteCatalog(path) as catalog:
        catalog.record_decision(_decision())  # blocks until the holder commits
        assert catalog.get_file_hash("x", 1, 1) == "h"
    holder.join()


# --- the shared SQLite helper --------------------------------------------------------------

ONE = "CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
TWO = """
    -- a comment; with a semicolon
    CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a (id));
    INSERT INTO a (name) VALUES ('semi;colon');
"""


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_connect_applies_only_the_missing_migrations(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    sqlite.connect(path, [ONE]).close()
    assert _version(path) == 1
    conn = sqlite.connect(path, [ONE, TWO])
    try:
        assert sqlite.schema_version(conn) == 2
        assert conn.execute("SELECT name FROM a").fetchall() == [("semi;colon",)]
    finally:
        conn.close()


def test_connect_turns_on_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    conn = sqlite.connect(tmp_path / "store.sqlite3", [ONE, TWO], busy_timeout=2.5)
    try:
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: survives power loss
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            conn.execute("INSERT INTO b (a_id) VALUES (999)")
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("open_store", "mode"),
    [
        ("open_comment_store", 2),  # FULL: an acknowledged comment survives a power cut
        ("open_identity", 2),  # and so does an account
        ("open_catalog", 2),  # and an admin's decision
        ("open_notifier", 2),
        ("open_rate_limiter", 1),  # NORMAL: counters are cheap to lose
    ],
)
def test_stores_commit_durably_except_rate_limit_counters(
    tmp_path: Path, open_store: str, mode: int
) -> None:
    from nailfolio import config

    with getattr(config, open_store)(config.Settings(root=tmp_path)) as store:
        assert store._conn().execute("PRAGMA synchronous").fetchone()[0] == mode


def test_a_failing_migration_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    sqlite.connect(path, [ONE]).close()
    broken = "CREATE TABLE c (id INTEGER); INSERT INTO nowhere VALUES (1);"
    with pytest.raises(ConfigError, match="no such table: nowhere"):
        sqlite.connect(path, [ONE, broken])
    conn = sqlite.connect(path, [ONE])
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert sqlite.schema_version(conn) == 1
        assert tables == {"a"}
    finally:
        conn.close()


def test_a_migration_with_an_unfinished_statement_is_a_bug(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="incomplete statement"):
        sqlite.connect(tmp_path / "store.sqlite3", ["CREATE TABLE d (note TEXT DEFAULT 'oops"])


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    conn = sqlite.connect(tmp_path / "store.sqlite3", [ONE])
    try:
        with pytest.raises(RuntimeError), sqlite.transaction(conn):
            conn.execute("INSERT INTO a (name) VALUES ('kept?')")
            raise RuntimeError("boom")
        assert conn.execute("SELECT COUNT(*) FROM a").fetchone()[0] == 0
        assert not conn.in_transaction
    finally:
        conn.close()


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 1, 2, 3, 4, 5),
        None,
    ],
    ids=["utc", "offset", "naive", "none"],
)
def test_datetimes_survive_a_text_column(value: datetime | None) -> None:
    text = timestamps.format_datetime(value)
    assert timestamps.parse_datetime(text) == value
    if value is not None and value.tzinfo is not None:
        assert text is not None and text.endswith("+00:00")
