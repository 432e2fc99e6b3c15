"""Backups and integrity checks of the local backend's stores (the SQLite files in var/ and
the signing key).

A backup is SQLite's online backup of every store, so it is consistent and safe to take
while `build.py serve` runs, plus a copy of the signing key, written into a dated folder
that appears whole or not at all (it is built under a temporary name and renamed). Each
copy is checked with integrity_check before the folder is renamed into place. Restoring
is copying the files back into var/ while nothing runs (see the README).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nailfolio.config import Settings
from nailfolio.errors import NailfolioError, StoreDamaged
from nailfolio.local import sqlite
from nailfolio.local.signing_key import load_signing_key

BACKUP_PREFIX = "nailfolio-"


@dataclass(frozen=True)
class StoreFile:
    """One file of a store: its name in reports and where it lives."""

    name: str
    path: Path
    kind: str  # "sqlite" or "key"


@dataclass(frozen=True)
class StoreCheck:
    """The health of one store file: `problem` is None when it is sound (or absent)."""

    store: StoreFile
    present: bool
    problem: str | None = None


def store_files(settings: Settings) -> tuple[StoreFile, ...]:
    """Every file the local backend keeps state in."""
    databases = (
        ("catalog", settings.catalog_path),
        ("outbox", settings.outbox_path),
        ("comments", settings.comments_path),
        ("ratelimit", settings.ratelimit_path),
        ("identity", settings.identity_path),
    )
    files = [StoreFile(name, path, "sqlite") for name, path in databases]
    return (*files, StoreFile("signing_key", settings.signing_key_path, "key"))


def check_stores(settings: Settings) -> list[StoreCheck]:
    """Each store file's integrity (SQLite's integrity_check; the key must load)."""
    return [_check(store) for store in store_files(settings)]


def _check(store: StoreFile) -> StoreCheck:
    if not store.path.is_file():
        return StoreCheck(store, present=False)
    if store.kind == "key":
        try:
            load_signing_key(store.path)
        except NailfolioError as exc:
            return StoreCheck(store, True, getattr(exc, "detail", str(exc)))
        return StoreCheck(store, True)
    return StoreCheck(store, True, sqlite.check_file(store.path))


def backup_stores(settings: Settings, target_dir: Path, now: datetime | None = None) -> Path:
    """Copy every store into a new dated folder under `target_dir` and return it. Raises
    StoreDamaged (and leaves no folder) when a store or its copy fails its check."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H%M%SZ")
    final = target_dir / f"{BACKUP_PREFIX}{stamp}"
    if final.exists():
        raise NailfolioError(f"{final} exists already; wait a second or choose another folder")
    target_dir.mkdir(parents=True, exist_ok=True)
    partial = target_dir / f".{final.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700)
    try:
        for store in store_files(settings):
            if store.path.is_file():
                _copy(store, partial / store.path.relative_to(settings.var_dir))
        os.rename(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def _copy(store: StoreFile, target: Path) -> None:
    problem = _check(store).problem  # a damaged store is no backup
    if problem is not None:
        raise StoreDamaged(store.path, problem)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if store.kind == "key":
        shutil.copy2(store.path, target)
        target.chmod(0o600)
        return
    sqlite.backup_file(store.path, target)
    problem = sqlite.check_file(target)
    if problem is not None:
        raise StoreDamaged(target, f"the copy failed its check: {problem}")
