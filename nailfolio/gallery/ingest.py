"""The ingest stage: one image from the content store to a recorded moderation decision and,
when approved, its variants in the rendition store.

- `plan` says what work one version of a design still needs, from the catalog alone.
- `analyse` does that work: read the bytes, sniff and decode them safely, moderate, render
  the variants and read the palette (nailfolio.gallery.palette) from the smallest. A cached
  rendition without a current palette is recoloured: the photo is decoded and scaled as a
  render scales it, and nothing is encoded. It touches no catalog, so the build runs it in
  its process pool.
- `record` stores what `analyse` found (decision, rendition, refusal) and tells the admins
  when a design is held back.
- `ingest(key, ...)` is the whole stage for one content key, as one upload event runs it.

Idempotent by content hash: decisions are keyed by it, renditions by it and the
image-settings fingerprint, refusals by it and the input caps, so the same bytes twice do no
image work at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from nailfolio.errors import (
    ContentNotFound,
    ContentUnreadable,
    ImageRejected,
    NailfolioError,
)
from nailfolio.gallery import images, variants
from nailfolio.gallery.catalog import Catalog
from nailfolio.gallery.content import find_design
from nailfolio.gallery.content_store import ContentStore, check_key, version_stamp
from nailfolio.gallery.models import Decision, DesignSource, Label, Rendition, Status
from nailfolio.gallery.moderation import Moderator, decide
from nailfolio.gallery.notify import Notifier
from nailfolio.gallery.palette import PALETTE_VERSION
from nailfolio.gallery.rendition_store import RenditionStore
from nailfolio.gallery.settings import ImageSettings, ModerationSettings

logger = logging.getLogger(__name__)

THRESHOLDS_CHANGED = "moderation thresholds changed"


@dataclass(frozen=True)
class Problem:
    """One file that could not be published (or, as a warning, was published without its
    metadata), and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class CacheKeys:
    """The image settings' two fingerprints: renditions are cached under `fingerprint`,
    refusals under `caps`. Computed once per build, not once per design."""

    fingerprint: str
    caps: str

    @classmethod
    def of(cls, settings: ImageSettings) -> CacheKeys:
        return cls(settings.fingerprint(), settings.input_fingerprint())


@dataclass(frozen=True)
class Job:
    """The image work one version of a design still needs."""

    source: DesignSource
    content_hash: str
    moderate: bool  # no decision is recorded for this content yet
    render: bool  # renditions are wanted and not in the store
    known_status: Status | None
    # A cached rendition whose palette is missing or read by an older PALETTE_VERSION: read
    # again from the photo (variants.recolour), nothing encoded.
    recolour: Rendition | None = None


@dataclass(frozen=True)
class Plan:
    """What the catalog already knows of one version of a design, and the work left."""

    refused: str | None = None  # why these bytes were refused before: nothing else to do
    status: Status | None = None
    rendition: Rendition | None = None  # cached and still in the rendition store
    job: Job | None = None


@dataclass(frozen=True)
class Outcome:
    """What `analyse` found for one job."""

    key: str
    labels: tuple[Label, ...] = ()
    status: Status | None = None  # None: not moderated this time
    rendition: Rendition | None = None
    problem: Problem | None = None
    model: str = ""
    remember: bool = True  # a problem of the bytes (refused until they change), not of access


@dataclass(frozen=True)
class IngestResult:
    """What `ingest` did for one content key."""

    source: DesignSource
    content_hash: str = ""
    status: Status | None = None
    rendition: Rendition | None = None
    problem: Problem | None = None
    processed: bool = False  # image work was done (False: the catalog knew it all)


def display(source: DesignSource) -> str:
    """How problems name a design's file: "content/designs/ana/red.jpg"."""
    return f"content/{source.rel_path}"


def too_big(source: DesignSource, settings: ImageSettings) -> Problem | None:
    """Refuse oversize files from their listed size: reading a huge file is work wasted."""
    oversize = images.oversize_reason(source.size, settings.max_file_bytes)
    return Problem(display(source), oversize) if oversize else None


def hash_content(content: ContentStore, key: str, limit: int) -> str:
    """The sha256 of a content file's bytes (raises ContentUnreadable); a build runs it on
    several threads at once."""
    return images.hash_bytes(content.read(key, limit))


def plan(
    source: DesignSource,
    content_hash: str,
    catalog: Catalog,
    notifier: Notifier,
    settings: ImageSettings,
    policy: ModerationSettings,
    has_variant: Callable[[str], bool],
    keys: CacheKeys,
) -> Plan:
    """What is left to do for this version of a design (see Plan). `has_variant` says
    whether the rendition store holds a variant file: a whole build asks its one listing
    (RenditionStore.names), one upload asks the store (exists)."""
    refused = catalog.get_refusal(content_hash, keys.caps)
    if refused is not None:
        return Plan(refused=refused)
    decision = current_decision(catalog, notifier, policy, source.key, content_hash)
    cached = cached_rendition(catalog.get_rendition(content_hash, keys.fingerprint), has_variant)
    status = decision.status if decision else None
    moderate = decision is None
    render = cached is None and status in (None, Status.APPROVED)
    recolour = None
    if cached and cached.palette_version != PALETTE_VERSION and status in (None, Status.APPROVED):
        recolour = cached
    job = None
    if moderate or render or recolour:
        job = Job(source, content_hash, moderate, render, status, recolour)
    return Plan(status=status, rendition=cached, job=job)


def cached_rendition(
    rendition: Rendition | None, has_variant: Callable[[str], bool]
) -> Rendition | None:
    """A cached rendition counts only while all of its files are still in the store."""
    if rendition is None:
        return None
    return rendition if all(has_variant(v.name) for v in rendition.variants) else None


def analyse(
    job: Job,
    settings: ImageSettings,
    policy: ModerationSettings,
    content: ContentStore,
    renditions: RenditionStore,
    moderator: Callable[[], Moderator],
    data: bytes | None = None,
) -> Outcome:
    """Read (unless given the bytes), decode once, moderate if needed, render if approved,
    and read a cached rendition's palette again if the job asks. A job that only recolours
    publishes its design whatever becomes of the photo: a photo that cannot be read or
    decoded (a cap lowered since) leaves the palette as it was, logged, for the next build."""
    source = job.source
    try:
        if data is None:
            data = content.read(source.rel_path, settings.max_file_bytes)
        loaded = images.load_image_bytes(data, settings, display(source))
        del data  # a few MB per worker, not needed while moderating and rendering
        labels: tuple[Label, ...] = ()
        status, model = job.known_status, ""
        if job.moderate:
            chosen = moderator()
            labels = tuple(chosen.detect_labels(loaded.image))
            status, model = decide(labels, policy), chosen.name
        rendition = None
        if job.render and status is Status.APPROVED:
            rendition = variants.render_variants(
                loaded, job.content_hash, settings, renditions, consume=True
            )
        elif status is Status.APPROVED and job.recolour is not None:
            rendition = variants.recolour(job.recolour, loaded, settings)
        return Outcome(source.key, labels, status if job.moderate else None, rendition, None, model)
    except ImageRejected as exc:
        return _failed(job, Problem(exc.path, exc.reason))
    except ContentUnreadable as exc:  # a link swapped in, a file gone: not the bytes' fault
        return _failed(job, Problem(display(source), exc.reason), remember=False)


def _failed(job: Job, problem: Problem, remember: bool = True) -> Outcome:
    """The outcome of a job whose photo could not be read or decoded: a problem, unless the
    job only recolours, whose rendition stands (its palette waits for the next build)."""
    if not (job.moderate or job.render):
        logger.warning("%s: colours kept as they were: %s", problem.path, problem.reason)
        return Outcome(job.source.key)
    return Outcome(job.source.key, problem=problem, remember=remember)


def record(
    outcome: Outcome, job: Job, catalog: Catalog, notifier: Notifier, keys: CacheKeys
) -> Decision | None:
    """Store what `analyse` found; returns the decision it recorded, if any."""
    if outcome.problem:
        if outcome.remember:  # refused until the bytes or a cap change
            catalog.put_refusal(job.content_hash, keys.caps, outcome.problem.reason)
        return None
    decision = None
    if outcome.status is not None:
        decision = Decision(
            key=outcome.key,
            content_hash=job.content_hash,
            status=outcome.status,
            model=outcome.model,
            labels=outcome.labels,
            decided_at=datetime.now(UTC),
        )
        catalog.record_decision(decision)
        if decision.status is not Status.APPROVED:
            notify_admins(notifier, decision)
    if outcome.rendition:
        catalog.put_rendition(keys.fingerprint, outcome.rendition)
    return decision


def ingest(
    key: str,
    *,
    content: ContentStore,
    renditions: RenditionStore,
    catalog: Catalog,
    notifier: Notifier,
    moderator: Moderator,
    images_settings: ImageSettings,
    policy: ModerationSettings,
) -> IngestResult:
    """The ingest stage for one content key ("designs/ana/red.jpg"), e.g. on an upload event.

    Raises ContentNotFound when the key is not a design the scan would publish (a sidecar,
    a hidden or misplaced file, or gone). The same bytes twice do no image work.
    """
    check_key(key)
    source = find_design(content, key)
    if source is None:
        raise ContentNotFound(
            key,
            "is not a design in the content store (removed, or not an image in a designer folder)",
        )
    if problem := too_big(source, images_settings):
        return IngestResult(source, problem=problem)
    try:
        data = content.read(key, images_settings.max_file_bytes)
    except ContentUnreadable as exc:
        return IngestResult(source, problem=Problem(display(source), exc.reason))
    content_hash = images.hash_bytes(data)
    if len(data) == source.size:  # what the next build's listing will find, so it reads nothing
        catalog.put_file_hash(key, source.size, version_stamp(source.version), content_hash)
    keys = CacheKeys.of(images_settings)
    planned = plan(
        source, content_hash, catalog, notifier, images_settings, policy, renditions.exists, keys
    )
    if planned.refused is not None:
        return IngestResult(source, content_hash, problem=Problem(display(source), planned.refused))
    if planned.job is None:
        return IngestResult(source, content_hash, planned.status, planned.rendition)
    job = planned.job
    outcome = analyse(job, images_settings, policy, content, renditions, lambda: moderator, data)
    decision = record(outcome, job, catalog, notifier, keys)
    status = decision.status if decision else planned.status
    return IngestResult(
        source,
        content_hash,
        None if outcome.problem else status,
        outcome.rendition or planned.rendition,
        outcome.problem,
        processed=True,
    )


def current_decision(
    catalog: Catalog, notifier: Notifier, policy: ModerationSettings, key: str, content_hash: str
) -> Decision | None:
    """The decision for this exact content, re-recorded when it no longer stands as stored.

    A design reverted to an earlier version keeps that version's decision, and the audit log
    says so, so that `moderation list` and `approve` act on the image that is really there.
    An automatic decision is re-taken from its stored labels when the thresholds changed:
    no model runs, and an admin's override is never touched.
    """
    latest = catalog.latest_decision(key)
    if latest is not None and latest.content_hash == content_hash:
        decision: Decision | None = latest  # the usual case: one read, not two
    else:
        decision = catalog.get_decision(key, content_hash)
    if decision is None:
        return None
    reasons = []
    if latest is not None and latest.content_hash != content_hash:
        reasons.append("image reverted to this version")
    status = decide(decision.labels, policy) if decision.decided_by == "auto" else decision.status
    if status is not decision.status:
        reasons.append(THRESHOLDS_CHANGED)
    if reasons:
        decision = replace(
            decision, status=status, decided_at=datetime.now(UTC), reason="; ".join(reasons)
        )
        catalog.record_decision(decision)
        if THRESHOLDS_CHANGED in reasons and status is not Status.APPROVED:
            notify_admins(notifier, decision)
    return decision


def notify_admins(notifier: Notifier, decision: Decision) -> None:
    """Tell the admins a design is held back. A notifier that fails (SNS throttled, a damaged
    outbox) is logged and the stage goes on: the decision is recorded and the design stays
    unpublished, so it still shows in the moderation queue."""
    label = max(decision.labels, key=lambda lb: lb.confidence, default=None)
    detail = f"{label.name} at {label.confidence:.0f}%" if label else "no labels"
    verb = "was rejected" if decision.status is Status.REJECTED else "needs review"
    try:
        notifier.notify(
            f"Design {decision.key} {verb}",
            f"Moderation by {decision.model}: {detail}. It is not published. "
            f"Review it on the site's /admin/moderation/ page, or run: "
            f"build.py approve {decision.key}",
            tags=("moderation", decision.status.value),
        )
    except NailfolioError as exc:
        logger.warning("%s %s, but the admins could not be told: %s", decision.key, verb, exc)
