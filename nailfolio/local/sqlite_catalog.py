"""The catalog's local adapter: one SQLite file (by default var/catalog.sqlite3, shared with
no other store), keeping every semantic of the `Catalog` port (nailfolio.gallery.catalog).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from nailfolio import timestamps
from nailfolio.gallery.catalog import CatalogSnapshot
from nailfolio.gallery.models import Decision, Label, Rendition, Status, Swatch, Variant
from nailfolio.local import sqlite

APPLICATION_ID = 0x4E46_4361  # "NFCa": marks a SQLite file as a Nailfolio catalog


MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,  -- recording order: the highest id is the newest
        key TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('approved', 'needs_review', 'rejected')),
        model TEXT NOT NULL,
        labels TEXT NOT NULL,  -- JSON list of {name, parent_name, confidence}
        decided_at TEXT NOT NULL,
        decided_by TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX decisions_by_key ON decisions (key, id);
    CREATE INDEX decisions_by_hash ON decisions (key, content_hash, id);
    CREATE TABLE renditions (
        content_hash TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        variants TEXT NOT NULL,  -- JSON list of Variant fields
        placeholder TEXT NOT NULL,
        dominant_colour TEXT NOT NULL,
        taken_at TEXT,
        PRIMARY KEY (content_hash, fingerprint)
    ) WITHOUT ROWID;
    CREATE TABLE file_hashes (
        rel_path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE refusals (
        content_hash TEXT NOT NULL,
        input_fingerprint TEXT NOT NULL,  -- ImageSettings.input_fingerprint(): the caps
        reason TEXT NOT NULL,  -- ImageRejected.reason, without the file's path
        PRIMARY KEY (content_hash, input_fingerprint)
    ) WITHOUT ROWID;
    """,
    # Renditions made before palettes get none (version 0): the next build reads theirs
    # from a small variant (nailfolio.gallery.ingest), re-encoding nothing.
    """
    ALTER TABLE renditions ADD COLUMN palette TEXT NOT NULL DEFAULT '[]';  -- JSON Swatches
    ALTER TABLE renditions ADD COLUMN palette_version INTEGER NOT NULL DEFAULT 0;
    """,
)


_RENDITION_COLUMNS = (
    "content_hash, width, height, variants, placeholder, dominant_colour, taken_at, palette,"
    " palette_version"
)
_DECISION_COLUMNS = "key, content_hash, status, model, labels, decided_at, decided_by, reason"


class SqliteCatalog(sqlite.SqliteStore):
    """The catalog in one SQLite file; one instance per process (connections are not shared)."""

    migrations = MIGRATIONS
    application_id = APPLICATION_ID

    def get_decision(self, key: str, content_hash: str) -> Decision | None:
        """The newest decision for this exact version of the design, if it was moderated."""
        row = (
            self._conn()
            .execute(
                f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE key = ? AND content_hash = ?"
                " ORDER BY id DESC LIMIT 1",
                (key, content_hash),
            )
            .fetchone()
        )
        return _decision(row) if row else None

    def latest_decision(self, key: str) -> Decision | None:
        """The newest decision for the design, whatever version it was about."""
        row = (
            self._conn()
            .execute(
                f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE key = ? ORDER BY id DESC LIMIT 1",
                (key,),
            )
            .fetchone()
        )
        return _decision(row) if row else None

    def latest_decisions(self, status: Status | None = None) -> list[Decision]:
        """The newest decision of every design (only those with `status`), sorted by key."""
        rows = (
            self._conn()
            .execute(
                f"SELECT {_DECISION_COLUMNS} FROM decisions"
                " WHERE id IN (SELECT MAX(id) FROM decisions GROUP BY key)"
                " AND (:status IS NULL OR status = :status) ORDER BY key",
                {"status": None if status is None else status.value},
            )
            .fetchall()
        )
        return [_decision(row) for row in rows]

    def decision_history(self, key: str) -> list[Decision]:
        """Every decision recorded for the design, newest first: the audit log."""
        rows = (
            self._conn()
            .execute(
                f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE key = ? ORDER BY id DESC", (key,)
            )
            .fetchall()
        )
        return [_decision(row) for row in rows]

    def record_decision(self, decision: Decision) -> None:
        """Append a decision to the history; earlier ones are kept."""
        if decision.decided_at is None:
            decision = replace(decision, decided_at=datetime.now(UTC))
        self._conn().execute(
            f"INSERT INTO decisions ({_DECISION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                decision.key,
                decision.content_hash,
                Status(decision.status).value,
                decision.model,
                json.dumps([asdict(label) for label in decision.labels]),
                timestamps.format_datetime(decision.decided_at),
                decision.decided_by,
                decision.reason,
            ),
        )

    def get_rendition(self, content_hash: str, fingerprint: str) -> Rendition | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {_RENDITION_COLUMNS} FROM renditions"
                " WHERE content_hash = ? AND fingerprint = ?",
                (content_hash, fingerprint),
            )
            .fetchone()
        )
        return _rendition(row) if row else None

    def put_rendition(self, fingerprint: str, rendition: Rendition) -> None:
        """Store (or replace) what the pipeline rendered from one source with these settings.
        Not fsynced: a cache (the next decision's commit syncs it along; lost, the design is
        rendered again)."""
        with sqlite.without_fsync(self._conn()) as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO renditions (fingerprint, {_RENDITION_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    fingerprint,
                    rendition.content_hash,
                    rendition.width,
                    rendition.height,
                    json.dumps([asdict(variant) for variant in rendition.variants]),
                    rendition.placeholder,
                    rendition.dominant_colour,
                    timestamps.format_datetime(rendition.taken_at),
                    json.dumps([asdict(swatch) for swatch in rendition.palette]),
                    rendition.palette_version,
                ),
            )

    def get_file_hash(self, rel_path: str, size: int, mtime_ns: int) -> str | None:
        """The content hash recorded for this file, if its size and mtime are unchanged."""
        row = (
            self._conn()
            .execute(
                "SELECT content_hash FROM file_hashes"
                " WHERE rel_path = ? AND size = ? AND mtime_ns = ?",
                (rel_path, size, mtime_ns),
            )
            .fetchone()
        )
        return row[0] if row else None

    def put_file_hash(self, rel_path: str, size: int, mtime_ns: int, content_hash: str) -> None:
        """Not fsynced: a cache of what reading the file tells again (a cold build wrote 200
        of these, each waiting ~0.6 ms for the disk in a process that also does image work)."""
        with sqlite.without_fsync(self._conn()) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO file_hashes (rel_path, size, mtime_ns, content_hash)"
                " VALUES (?, ?, ?, ?)",
                (rel_path, size, mtime_ns, content_hash),
            )

    def get_refusal(self, content_hash: str, input_fingerprint: str) -> str | None:
        """Why these bytes were refused under these caps, if they were."""
        row = (
            self._conn()
            .execute(
                "SELECT reason FROM refusals WHERE content_hash = ? AND input_fingerprint = ?",
                (content_hash, input_fingerprint),
            )
            .fetchone()
        )
        return row[0] if row else None

    def put_refusal(self, content_hash: str, input_fingerprint: str, reason: str) -> None:
        """Remember that the pipeline refused these bytes under these caps, and why."""
        self._conn().execute(
            "INSERT OR REPLACE INTO refusals (content_hash, input_fingerprint, reason)"
            " VALUES (?, ?, ?)",
            (content_hash, input_fingerprint, reason),
        )

    def snapshot(self, fingerprint: str, caps: str) -> CatalogSnapshot:
        """Four queries, whatever the number of designs."""
        db = self._conn()
        hashes = db.execute("SELECT rel_path, size, mtime_ns, content_hash FROM file_hashes")
        renditions = db.execute(
            f"SELECT {_RENDITION_COLUMNS} FROM renditions WHERE fingerprint = ?",
            (fingerprint,),
        )
        refusals = db.execute(
            "SELECT content_hash, reason FROM refusals WHERE input_fingerprint = ?", (caps,)
        )
        return CatalogSnapshot(
            fingerprint,
            caps,
            file_hashes={path: (size, mtime, digest) for path, size, mtime, digest in hashes},
            latest={decision.key: decision for decision in self.latest_decisions()},
            renditions={row[0]: _rendition(row) for row in renditions},
            refusals=dict(refusals.fetchall()),
        )


def _rendition(row: tuple[Any, ...]) -> Rendition:
    content_hash, width, height, variants, placeholder, colour, taken_at, palette, version = row
    return Rendition(
        content_hash=content_hash,
        width=width,
        height=height,
        variants=tuple(Variant(**fields) for fields in json.loads(variants)),
        placeholder=placeholder,
        dominant_colour=colour,
        taken_at=timestamps.parse_datetime(taken_at),
        palette=tuple(Swatch(**fields) for fields in json.loads(palette)),
        palette_version=version,
    )


def _decision(row: sqlite3.Row | tuple[Any, ...]) -> Decision:
    key, content_hash, status, model, labels, decided_at, decided_by, reason = row
    return Decision(
        key=key,
        content_hash=content_hash,
        status=Status(status),
        model=model,
        labels=tuple(Label(**fields) for fields in json.loads(labels)),
        decided_at=timestamps.parse_datetime(decided_at),
        decided_by=decided_by,
        reason=reason,
    )
