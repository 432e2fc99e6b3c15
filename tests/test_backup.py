"""`build.py backup` and `build.py check`: consistent copies of every store while they are
written to, a restore that brings the data back, and damage found and reported."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result
from conftest import PASSWORD, ApiProject
from test_damaged_stores import damage

from nailfolio import cli, config
from nailfolio.comments.service import Comment
from nailfolio.local.backup import backup_stores, check_stores


def invoke(project: ApiProject, *args: str) -> Result:
    return CliRunner().invoke(cli.main, ["--root", str(project.root), *args])


def comment(number: int) -> Comment:
    when = datetime(2026, 3, 1, tzinfo=UTC)
    return Comment(f"c{number:05}", "ana/red-chrome", "sub-1", "Cleo", f"Lovely #{number}", when)


def count_comments(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM comments").fetchone()
    conn.close()
    return count


def test_backup_copies_every_store_and_the_key_into_a_dated_folder(
    api_project: ApiProject,
) -> None:
    api_project.add_user("owner@example.com", "admins")
    with config.open_comment_store(api_project.settings) as store:
        store.add(comment(1))
    result = invoke(api_project, "backup", str(api_project.root / "safe"))
    assert result.exit_code == 0, result.output
    (folder,) = (api_project.root / "safe").iterdir()
    assert folder.name.startswith("nailfolio-20")
    copied = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert copied == [
        "catalog.sqlite3",
        "comments.sqlite3",
        "identity.sqlite3",
        "identity/signing-key.pem",
    ]
    assert (folder / "identity" / "signing-key.pem").stat().st_mode & 0o077 == 0
    assert f"backed up 4 files to safe/{folder.name}" in result.output
    assert count_comments(folder / "comments.sqlite3") == 1


def test_a_backup_taken_during_writes_is_consistent(api_project: ApiProject) -> None:
    settings = api_project.settings
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        with config.open_comment_store(settings) as store:
            while not stop.is_set() and len(written) < 5000:
                store.add(comment(len(written)))
                written.append(1)

    with config.open_comment_store(settings) as store:
        store.add(comment(99999))
    writer = threading.Thread(target=write)
    writer.start()
    try:
        folders = [backup_stores(settings, api_project.root / "safe", _second(n)) for n in (1, 2)]
    finally:
        stop.set()
        writer.join()
    counts = [count_comments(folder / "comments.sqlite3") for folder in folders]
    assert 1 <= counts[0] <= counts[1] <= len(written) + 1
    assert all(sqlite_ok(folder / "comments.sqlite3") for folder in folders)


def _second(n: int) -> datetime:
    return datetime(2026, 12, 1, 8, 0, n, tzinfo=UTC)


def sqlite_ok(path: Path) -> bool:
    with sqlite3.connect(path) as conn:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    return ok


def test_restoring_a_backup_brings_accounts_and_comments_back(
    api_project: ApiProject,
) -> None:
    settings = api_project.settings
    api_project.add_user("owner@example.com", "admins")
    with config.open_comment_store(settings) as store:
        store.add(comment(1))
    folder = backup_stores(settings, api_project.root / "safe")
    damage(settings.comments_path)
    damage(settings.identity_path)
    # The README's restore: with nothing running, copy the folder's files back into var/.
    for suffix in ("-wal", "-shm"):
        for path in settings.var_dir.glob(f"*{suffix}"):
            path.unlink()
    shutil.copytree(folder, settings.var_dir, dirs_exist_ok=True)
    assert invoke(api_project, "check").exit_code == 0
    with config.open_comment_store(settings) as store:
        assert store.get("c00001") is not None
    with config.open_identity(settings) as identity:
        assert identity.sign_in("owner@example.com", PASSWORD, "127.0.0.1").id_token


def test_backup_refuses_a_damaged_store_and_leaves_no_folder(api_project: ApiProject) -> None:
    damage(api_project.settings.catalog_path)
    result = invoke(api_project, "backup", str(api_project.root / "safe"))
    assert result.exit_code == 1
    assert "catalog.sqlite3: damaged or unreadable" in result.output
    assert list((api_project.root / "safe").iterdir()) == []


def test_check_reports_each_store_and_fails_on_damage(api_project: ApiProject) -> None:
    healthy = invoke(api_project, "check")
    assert healthy.exit_code == 0, healthy.output
    assert "ok       var/catalog.sqlite3" in healthy.output
    assert "ok       var/identity/signing-key.pem" in healthy.output
    assert "absent   var/outbox.sqlite3 (made on first use)" in healthy.output
    damage(api_project.settings.catalog_path)
    damaged = invoke(api_project, "check")
    assert damaged.exit_code == 1
    assert "DAMAGED  var/catalog.sqlite3: " in damaged.output
    assert "1 damaged: restore from a backup" in damaged.output
    names = {found.store.name: found.problem for found in check_stores(api_project.settings)}
    assert names["catalog"] and names["identity"] is None
