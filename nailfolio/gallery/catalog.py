"""The catalog: moderation decisions (an append-only audit log), renditions, file hashes,
and refusals (images the pipeline could not use).

`Catalog` is the port; its adapters are nailfolio.local.sqlite_catalog (SQLite) and, on the
aws backend, DynamoDB. Semantics every adapter keeps:

- Decisions are never updated or deleted. "Newest" means most recently recorded, so an admin's
  override recorded after the model's decision wins. A decision applies to one content hash:
  a changed image has no decision until it is moderated again.
- A decision recorded without `decided_at` is stamped with the current UTC time.
- Renditions are keyed by (content hash, image-settings fingerprint); putting one again
  replaces it. File hashes are keyed by path and valid only for the same size and mtime.
- Refusals are keyed by (content hash, input fingerprint: the image settings' caps), so the
  same bytes are not decoded again to fail again, until the file or a cap changes.
- Datetimes are stored as ISO-8601, aware ones in UTC; values come back as equal dataclasses.
- `snapshot` reads, in a few queries (or one scan of a table), everything a build's planning
  asks of every design; `Preloaded` answers those reads from it, so a build of 5,000 designs
  makes no 20,000 lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from nailfolio.gallery.models import Decision, Rendition, Status


class Catalog(Protocol):
    """Where moderation decisions, renditions and file hashes are kept between builds."""

    def get_decision(self, key: str, content_hash: str) -> Decision | None: ...

    def latest_decision(self, key: str) -> Decision | None: ...

    def latest_decisions(self, status: Status | None = None) -> list[Decision]: ...

    def decision_history(self, key: str) -> list[Decision]: ...

    def record_decision(self, decision: Decision) -> None: ...

    def get_rendition(self, content_hash: str, fingerprint: str) -> Rendition | None: ...

    def put_rendition(self, fingerprint: str, rendition: Rendition) -> None: ...

    def get_file_hash(self, rel_path: str, size: int, mtime_ns: int) -> str | None: ...

    def put_file_hash(self, rel_path: str, size: int, mtime_ns: int, content_hash: str) -> None: ...

    def get_refusal(self, content_hash: str, input_fingerprint: str) -> str | None: ...

    def put_refusal(self, content_hash: str, input_fingerprint: str, reason: str) -> None: ...

    def snapshot(self, fingerprint: str, caps: str) -> CatalogSnapshot: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@dataclass(frozen=True)
class CatalogSnapshot:
    """What a build's planning reads of every design, read in one go."""

    fingerprint: str  # the image settings' fingerprint the renditions are for
    caps: str  # the input caps the refusals are for
    file_hashes: Mapping[str, tuple[int, int, str]]  # rel path -> (size, mtime_ns, hash)
    latest: Mapping[str, Decision]  # design key -> its newest decision
    renditions: Mapping[str, Rendition]  # content hash -> rendition (for `fingerprint`)
    refusals: Mapping[str, str]  # content hash -> reason (for `caps`)


class Preloaded:
    """A catalog whose planning reads come from a snapshot taken at the start of a build;
    everything else, and every write, goes to the catalog (writes also update the snapshot,
    so a read after a write sees it, as on the catalog itself)."""

    def __init__(self, catalog: Catalog, fingerprint: str, caps: str) -> None:
        self._catalog = catalog
        found = catalog.snapshot(fingerprint, caps)
        self._fingerprint, self._caps = fingerprint, caps
        self._hashes = dict(found.file_hashes)
        self._latest = dict(found.latest)
        self._renditions = dict(found.renditions)
        self._refusals = dict(found.refusals)

    def __getattr__(self, name: str) -> object:  # decision_history, latest_decisions...
        return getattr(self._catalog, name)

    def get_file_hash(self, rel_path: str, size: int, mtime_ns: int) -> str | None:
        known = self._hashes.get(rel_path)
        return known[2] if known and known[:2] == (size, mtime_ns) else None

    def put_file_hash(self, rel_path: str, size: int, mtime_ns: int, content_hash: str) -> None:
        self._catalog.put_file_hash(rel_path, size, mtime_ns, content_hash)
        self._hashes[rel_path] = (size, mtime_ns, content_hash)

    def latest_decision(self, key: str) -> Decision | None:
        return self._latest.get(key)

    def get_decision(self, key: str, content_hash: str) -> Decision | None:
        latest = self._latest.get(key)
        if latest is not None and latest.content_hash == content_hash:
            return latest  # the newest decision of the design is the newest of its version
        return self._catalog.get_decision(key, content_hash)

    def record_decision(self, decision: Decision) -> None:
        self._catalog.record_decision(decision)
        if decision.decided_at is None:  # the catalog stamps the time: read back what it kept
            self._latest[decision.key] = self._catalog.latest_decision(decision.key) or decision
        else:
            self._latest[decision.key] = decision

    def get_rendition(self, content_hash: str, fingerprint: str) -> Rendition | None:
        if fingerprint != self._fingerprint:
            return self._catalog.get_rendition(content_hash, fingerprint)
        return self._renditions.get(content_hash)

    def put_rendition(self, fingerprint: str, rendition: Rendition) -> None:
        self._catalog.put_rendition(fingerprint, rendition)
        if fingerprint == self._fingerprint:
            self._renditions[rendition.content_hash] = rendition

    def get_refusal(self, content_hash: str, input_fingerprint: str) -> str | None:
        if input_fingerprint != self._caps:
            return self._catalog.get_refusal(content_hash, input_fingerprint)
        return self._refusals.get(content_hash)

    def put_refusal(self, content_hash: str, input_fingerprint: str, reason: str) -> None:
        self._catalog.put_refusal(content_hash, input_fingerprint, reason)
        if input_fingerprint == self._caps:
            self._refusals[content_hash] = reason
