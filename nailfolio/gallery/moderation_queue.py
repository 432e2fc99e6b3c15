"""The moderation queue: what awaits an admin's decision, and the decision itself.

One piece of code for the CLI (`approve`, `reject`) and the web API (/admin/moderation/):
`override` records an admin's decision in the catalog's audit log and asks for a rebuild
through the RebuildQueue port (at once locally, through SQS on aws). `queue_items` joins the
newest decisions with the content store's scan, so each held-back image comes with the
content key of its original (which may hold spaces and any letters: "designs/chloe_martin/
Crème Brûlée.jpg"). `preview_key` checks a key a client sent before anyone reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from nailfolio.errors import DesignNotFound, NailfolioError
from nailfolio.gallery.catalog import Catalog
from nailfolio.gallery.content import find_design, scan_designs
from nailfolio.gallery.content_store import ContentStore, check_key
from nailfolio.gallery.media_types import media_type
from nailfolio.gallery.models import Decision, DesignSource, Status
from nailfolio.gallery.rebuild_queue import RebuildQueue

ADMIN_MODEL = "admin"  # Decision.model of an override
# What a browser may be shown of an original: raster types only (an SVG runs scripts).
PREVIEW_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"})
REASON_MAX = 500  # characters of an override's reason kept in the audit log


class NotPreviewable(NailfolioError):
    """A preview was asked for a key that is no design's image in the content store."""


class InvalidReason(NailfolioError):
    """An override's reason is missing or too long."""

    field = "reason"


class PreviewLinks(Protocol):
    """Where an admin's browser reads a design's original (never a public address)."""

    def url(self, key: str, media_type: str) -> str: ...


@dataclass(frozen=True)
class QueueItem:
    """A design's newest decision and, when it is still in the content store, its source."""

    decision: Decision
    source: DesignSource | None


def queue_items(
    catalog: Catalog, content: ContentStore, statuses: Sequence[Status]
) -> list[QueueItem]:
    """The newest decision of every design with one of `statuses`, oldest first (the one
    waiting longest comes first), each with its source from one scan of the content store."""
    decisions = [d for status in statuses for d in catalog.latest_decisions(status)]
    if not decisions:
        return []
    sources = {source.key: source for source in scan_designs(content).designs}
    decisions.sort(key=lambda d: (d.decided_at or datetime.min.replace(tzinfo=UTC), d.key))
    return [QueueItem(d, sources.get(d.key)) for d in decisions]


def override(
    catalog: Catalog,
    key: str,
    status: Status,
    reason: str,
    admin: str,
    queue: RebuildQueue | None = None,
) -> Decision:
    """Record `admin`'s decision, then ask `queue` (if any) to republish the site."""
    decision = record_override(catalog, key, status, reason, admin)
    if queue is not None:
        request_republish(queue, decision)
    return decision


def record_override(
    catalog: Catalog, key: str, status: Status, reason: str, admin: str
) -> Decision:
    """Record `admin`'s decision on the design's current version, keeping the moderator's
    labels; raises DesignNotFound, or InvalidReason for a reason over REASON_MAX."""
    if len(reason) > REASON_MAX:
        raise InvalidReason(f"the reason is {len(reason)} characters; keep it to {REASON_MAX}")
    current = catalog.latest_decision(key)
    if current is None:
        raise DesignNotFound(f"no design {key!r} in the catalog")
    decision = Decision(
        key=key,
        content_hash=current.content_hash,
        status=status,
        model=ADMIN_MODEL,
        labels=current.labels,
        decided_at=datetime.now(UTC),
        decided_by=admin,
        reason=reason,
    )
    catalog.record_decision(decision)
    return decision


def request_republish(queue: RebuildQueue, decision: Decision) -> None:
    """Ask for the rebuild an override needs: an approval (or a withdrawal) changes the site."""
    queue.request(f"{decision.status.value} by {decision.decided_by}", [decision.key])


def required_reason(reason: object) -> str:
    """The reason of a web override, stripped: text, not empty (the audit log needs a why)."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidReason("say why: a reason is required, and kept in the audit log")
    return reason.strip()


def preview_key(content: ContentStore, key: str) -> tuple[str, str]:
    """(key, media type) of a design's original a browser may be shown; NotPreviewable for
    a key outside designs/<designer>/, a sidecar, a hidden file or anything not a raster
    image by its name (the content type the preview is served with)."""
    try:
        check_key(key)
    except ValueError as exc:
        raise NotPreviewable(str(exc)) from None
    kind = media_type(key)
    if key.count("/") != 2 or kind not in PREVIEW_TYPES or find_design(content, key) is None:
        raise NotPreviewable(f"{key!r} is no design's image in the content store")
    return key, kind
