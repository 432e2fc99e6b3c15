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
"""

from __future__ import annotations

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

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
