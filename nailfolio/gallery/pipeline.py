"""The build: scan content, moderate and render what changed, publish the approved gallery.

Work is skipped whenever the catalog already knows the answer: file hashes are cached by
(path, size, mtime), moderation decisions by content hash, renditions by content hash and
image-settings fingerprint, refusals (images that could not be used) by content hash and the
input caps. Image work runs in a process pool; each image fails on its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from nailfolio import config
from nailfolio.config import Settings
from nailfolio.errors import ImageRejected, NailfolioError
from nailfolio.gallery import images, scratch, variants
from nailfolio.gallery.catalog import Catalog
from nailfolio.gallery.content import date_from_camera_name, scan_designs, title_untitled
from nailfolio.gallery.models import (
    Decision,
    Designer,
    DesignSource,
    Label,
    PublishedDesign,
    Rendition,
    Status,
)
from nailfolio.gallery.moderation import Moderator, decide
from nailfolio.gallery.notify import Notifier
from nailfolio.gallery.settings import ModerationSettings

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str], None]
ModeratorFactory = Callable[[], Moderator]


@dataclass(frozen=True)
class Problem:
    """One file that could not be published (or, as a warning, was published without its
    metadata), and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class BuildReport:
    """What a build did: counts for the summary line, problems and warnings for the log.

    Every design found ends up published, rejected, needing review or not usable (a problem).
    """

    designs: int = 0  # files found in designer folders, and anything else left in their way
    processed: int = 0  # images decoded this build (moderated and/or rendered)
    reused: int = 0  # usable images needing no image work
    published: int = 0
    rejected: int = 0
    needs_review: int = 0
    problems: tuple[Problem, ...] = ()  # not published: skipped
    seconds: float = 0.0
    warnings: tuple[Problem, ...] = ()  # sidecar trouble: the design is published regardless

    @property
    def invalid(self) -> int:
        return len(self.problems)


@dataclass(frozen=True)
class _Job:
    source: DesignSource
    content_hash: str
    moderate: bool  # no decision is recorded for this content yet
    render: bool  # renditions are wanted and not cached
    known_status: Status | None


@dataclass(frozen=True)
class _Outcome:
    key: str
    labels: tuple[Label, ...] = ()
    status: Status | None = None
    rendition: Rendition | None = None
    problem: Problem | None = None
    model: str = ""


@dataclass
class _Tally:
    processed: int = 0
    refused: int = 0  # remembered refusals: reported again, not decoded again
    problems: list[Problem] = field(default_factory=list)
    statuses: dict[str, Status] = field(default_factory=dict)  # current decision per key


# Worker-process state: each worker builds its own moderator once (models are not picklable).
_worker_moderator: Moderator | None = None
_worker_factory: ModeratorFactory | None = None


def _init_worker(factory: ModeratorFactory) -> None:
    global _worker_factory, _worker_moderator
    scratch.end_with_parent()  # a killed build leaves no worker behind
    _worker_factory, _worker_moderator = factory, None


def _moderator() -> Moderator:
    global _worker_moderator
    if _worker_moderator is None:
        assert _worker_factory is not None, "worker initialised without a moderator factory"
        _worker_moderator = _worker_factory()
    return _worker_moderator


def _process(job: _Job, settings: Settings) -> _Outcome:
    """Decode once, moderate if needed, render variants if approved. Runs in a worker."""
    source = job.source
    try:
        loaded = images.load_image(source.path, settings.images, display_path=_display(source))
        labels: tuple[Label, ...] = ()
        status, model = job.known_status, ""
        if job.moderate:
            moderator = _moderator()
            labels = tuple(moderator.detect_labels(loaded.image))
            status, model = decide(labels, settings.moderation), moderator.name
        rendition = None
        if job.render and status is Status.APPROVED:
            rendition = variants.render_variants(
                loaded, job.content_hash, settings.images, settings.renditions_dir
            )
        return _Outcome(
            source.key, labels, status if job.moderate else None, rendition, None, model
        )
    except ImageRejected as exc:
        return _Outcome(source.key, problem=Problem(exc.path, exc.reason))
    finally:
        _release_freed_memory()


def _release_freed_memory() -> None:
    """Hand the heap's free pages back to the system between images (glibc's malloc_trim):
    the two-worker tree's sampled peak RSS fell ~10 MB on the benchmark photos."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to ask for
        ctypes.CDLL(None).malloc_trim(0)


def _display(source: DesignSource) -> str:
    return f"content/{source.rel_path}"


class _LazyPool:
    """A process pool started only when there is work for it (a no-change build has none)."""

    def __init__(self, workers: int, factory: ModeratorFactory) -> None:
        self._workers, self._factory = workers, factory
        self._executor: ProcessPoolExecutor | None = None

    def get(self) -> ProcessPoolExecutor | None:
        if self._workers > 1 and self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self._workers, initializer=_init_worker, initargs=(self._factory,)
            )
        return self._executor

    def close(self) -> None:
        if self._executor:
            self._executor.shutdown()


def _hash_sources(
    sources: Sequence[DesignSource], catalog: Catalog, lazy_pool: _LazyPool
) -> dict[str, str]:
    """Content hash per key; cached by (path, size, mtime) so an unchanged file is not read."""
    hashes: dict[str, str] = {}
    missing: list[tuple[DesignSource, os.stat_result]] = []
    for source in sources:
        st = source.path.stat()
        cached = catalog.get_file_hash(source.rel_path, st.st_size, st.st_mtime_ns)
        if cached:
            hashes[source.key] = cached
        else:
            missing.append((source, st))
    paths = [source.path for source, _ in missing]
    pool = lazy_pool.get() if len(paths) > 1 else None
    digests = pool.map(images.hash_file, paths) if pool else map(images.hash_file, paths)
    for (source, st), digest in zip(missing, digests, strict=True):
        catalog.put_file_hash(source.rel_path, st.st_size, st.st_mtime_ns, digest)
        hashes[source.key] = digest
    return hashes


def _rendition_on_disk(rendition: Rendition | None, settings: Settings) -> Rendition | None:
    """A cached rendition counts only while all of its files are still in the cache folder."""
    if rendition is None:
        return None
    folder = settings.renditions_dir
    return rendition if all((folder / v.name).is_file() for v in rendition.variants) else None


def _too_big(source: DesignSource, settings: Settings) -> Problem | None:
    """Refuse oversize files before hashing them: hashing a huge file is work wasted."""
    size = source.path.stat().st_size
    limit = settings.images.max_file_bytes
    if size <= limit:
        return None
    return Problem(
        _display(source), f"file is {size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit"
    )


def build_gallery(
    settings: Settings,
    catalog: Catalog,
    notifier: Notifier,
    moderator_factory: ModeratorFactory,
    on_progress: ProgressCallback | None = None,
    on_start: Callable[[int], None] | None = None,
) -> BuildReport:
    """Bring output/ up to date with content/: the one entry point for every build."""
    started = time.perf_counter()
    _tidy_scratch(settings)
    scan = scan_designs(settings.content_dir, sidecar_cache=settings.var_dir / "sidecars.json")
    skipped = [Problem(f"content/{p.path}", p.reason) for p in scan.problems if not p.warning]
    warnings = [Problem(f"content/{p.path}", p.reason) for p in scan.problems if p.warning]
    tally = _Tally(problems=list(skipped))
    sources = []
    for source in scan.designs:
        problem = _too_big(source, settings)
        if problem:
            tally.problems.append(problem)
        else:
            sources.append(source)

    lazy_pool = _LazyPool(min(settings.worker_count, max(1, len(sources))), moderator_factory)
    try:
        hashes = _hash_sources(sources, catalog, lazy_pool)
        jobs, renditions = _plan(sources, hashes, catalog, notifier, settings, tally)
        if on_start:
            on_start(len(jobs))
        pool = lazy_pool.get() if len(jobs) > 1 else None
        outcomes = _run_jobs(jobs, settings, pool, moderator_factory, on_progress)
    finally:
        lazy_pool.close()

    job_of = {job.source.key: job for job in jobs}
    for outcome in outcomes:
        _record(outcome, job_of[outcome.key], catalog, notifier, settings, renditions, tally)

    published = _published(sources, renditions, tally.statuses)
    statuses = list(tally.statuses.values())
    _render_and_publish(settings, published, scan.designers)
    return BuildReport(
        designs=len(scan.designs) + len(skipped),  # a link, a sub-folder...: not usable
        processed=tally.processed,
        reused=len(sources) - len(jobs) - tally.refused,
        published=len(published),
        rejected=statuses.count(Status.REJECTED),
        needs_review=statuses.count(Status.NEEDS_REVIEW),
        problems=tuple(tally.problems),
        seconds=time.perf_counter() - started,
        warnings=tuple(warnings),
    )


def _plan(
    sources: Sequence[DesignSource],
    hashes: dict[str, str],
    catalog: Catalog,
    notifier: Notifier,
    settings: Settings,
    tally: _Tally,
) -> tuple[list[_Job], dict[str, Rendition]]:
    """Decide per design what work is left; return the jobs and the renditions already cached.
    The decisions found are noted in the tally, so nothing asks the catalog for them again;
    so are the refusals remembered, which need no work at all."""
    fingerprint = settings.images.fingerprint()
    caps = settings.images.input_fingerprint()
    jobs: list[_Job] = []
    renditions: dict[str, Rendition] = {}
    for source in sources:
        content_hash = hashes[source.key]
        refused = catalog.get_refusal(content_hash, caps)
        if refused is not None:
            tally.problems.append(Problem(_display(source), refused))
            tally.refused += 1
            continue
        decision = _current_decision(
            catalog, notifier, settings.moderation, source.key, content_hash
        )
        cached = _rendition_on_disk(catalog.get_rendition(content_hash, fingerprint), settings)
        if cached:
            renditions[source.key] = cached
        status = decision.status if decision else None
        if status is not None:
            tally.statuses[source.key] = status
        moderate = decision is None
        render = cached is None and status in (None, Status.APPROVED)
        if moderate or render:
            jobs.append(_Job(source, content_hash, moderate, render, status))
    return jobs, renditions


def _current_decision(
    catalog: Catalog, notifier: Notifier, policy: ModerationSettings, key: str, content_hash: str
) -> Decision | None:
    """The decision for this exact content, re-recorded when it no longer stands as stored.

    A design reverted to an earlier version keeps that version's decision, and the audit log
    says so, so that `moderation list` and `approve` act on the image that is really there.
    An automatic decision is re-taken from its stored labels when the thresholds changed:
    no model runs, and an admin's override is never touched.
    """
    decision = catalog.get_decision(key, content_hash)
    if decision is None:
        return None
    reasons = []
    latest = catalog.latest_decision(key)
    if latest is not None and latest.content_hash != content_hash:
        reasons.append("image reverted to this version")
    status = decide(decision.labels, policy) if decision.decided_by == "auto" else decision.status
    if status is not decision.status:
        reasons.append("moderation thresholds changed")
    if reasons:
        decision = replace(
            decision, status=status, decided_at=datetime.now(UTC), reason="; ".join(reasons)
        )
        catalog.record_decision(decision)
        if "moderation thresholds changed" in reasons and status is not Status.APPROVED:
            _notify_admins(notifier, decision)
    return decision


def _run_jobs(
    jobs: Sequence[_Job],
    settings: Settings,
    pool: ProcessPoolExecutor | None,
    factory: ModeratorFactory,
    on_progress: ProgressCallback | None,
) -> list[_Outcome]:
    outcomes: list[_Outcome] = []
    if pool is None:
        _init_worker(factory)
        for job in jobs:
            outcomes.append(_process(job, settings))
            if on_progress:
                on_progress(job.source.key)
        return outcomes
    futures = {pool.submit(_process, job, settings): job for job in jobs}
    for future in as_completed(futures):
        outcomes.append(future.result())
        if on_progress:
            on_progress(futures[future].source.key)
    return outcomes


def _record(
    outcome: _Outcome,
    job: _Job,
    catalog: Catalog,
    notifier: Notifier,
    settings: Settings,
    renditions: dict[str, Rendition],
    tally: _Tally,
) -> None:
    """Store what a worker found: decisions (notifying admins), renditions, problems."""
    tally.processed += 1
    if outcome.problem:
        tally.problems.append(outcome.problem)
        # Remembered until the bytes or a cap change. A link swapped in after the scan is
        # refused for what it is, not for its bytes: the file put back in its place is tried.
        if not job.source.path.is_symlink():
            caps = settings.images.input_fingerprint()
            catalog.put_refusal(job.content_hash, caps, outcome.problem.reason)
        return
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
        tally.statuses[outcome.key] = decision.status
        if decision.status is not Status.APPROVED:
            _notify_admins(notifier, decision)
    if outcome.rendition:
        catalog.put_rendition(settings.images.fingerprint(), outcome.rendition)
        renditions[outcome.key] = outcome.rendition


def _render_and_publish(
    settings: Settings, published: Sequence[PublishedDesign], designers: Sequence[Designer]
) -> None:
    """The render stage (what changed, into staging), then the publish stage (what differs,
    to the site target). Imported here: the pool's workers never need them."""
    from nailfolio.gallery.publish import publish_site
    from nailfolio.gallery.render import render_staging, site_lock

    with site_lock(settings):
        staged = render_staging(settings, published, designers)
        publish_site(staged, config.open_site_target(settings))


def _notify_admins(notifier: Notifier, decision: Decision) -> None:
    """Tell the admins a design is held back. A notifier that fails (SNS throttled, a damaged
    outbox) is logged and the build goes on: the decision is recorded and the design stays
    unpublished, so it still shows in the moderation queue."""
    label = max(decision.labels, key=lambda lb: lb.confidence, default=None)
    detail = f"{label.name} at {label.confidence:.0f}%" if label else "no labels"
    verb = "was rejected" if decision.status is Status.REJECTED else "needs review"
    try:
        notifier.notify(
            f"Design {decision.key} {verb}",
            f"Moderation by {decision.model}: {detail}. It is not published. "
            f"Override with: build.py approve {decision.key}",
            tags=("moderation", decision.status.value),
        )
    except NailfolioError as exc:
        logger.warning("%s %s, but the admins could not be told: %s", decision.key, verb, exc)


def _published(
    sources: Sequence[DesignSource],
    renditions: dict[str, Rendition],
    statuses: dict[str, Status],
) -> list[PublishedDesign]:
    """Approved designs with a rendition (an image that failed before moderation has no
    status: it is reported as a problem instead); untitled ones get their dated title."""
    return title_untitled(
        [
            PublishedDesign(source, rendition, _design_date(source, rendition))
            for source in sources
            if statuses.get(source.key) is Status.APPROVED
            and (rendition := renditions.get(source.key))
        ]
    )


def _design_date(source: DesignSource, rendition: Rendition) -> datetime:
    """Sidecar date, else EXIF DateTimeOriginal, else the day in a camera's file name
    (WhatsApp strips EXIF but names the day), else the file's modification time."""
    return (
        source.date
        or rendition.taken_at
        or date_from_camera_name(source.path.stem)
        or datetime.fromtimestamp(source.mtime)
    )


def build_configured(
    settings: Settings,
    on_progress: ProgressCallback | None = None,
    on_start: Callable[[int], None] | None = None,
) -> BuildReport:
    """build_gallery with the adapters the settings choose: what the CLI and hooks run."""
    with config.open_catalog(settings) as catalog, config.open_notifier(settings) as notifier:
        factory = config.moderator_factory(settings)
        return build_gallery(settings, catalog, notifier, factory, on_progress, on_start)


def _tidy_scratch(settings: Settings) -> None:
    """Remove what interrupted builds left: scratch folders beside output/ and temporary
    files in var/ (a build running meanwhile holds its own, which are left alone)."""
    output = settings.output_dir
    scratch.remove_abandoned(
        [
            *output.parent.glob(f".{output.name}-new-*"),
            *output.parent.glob(f".{output.name}-old-*"),
            *output.parent.glob(f".{output.name}-publish-*"),
            *settings.renditions_dir.glob(".*.tmp"),
            *settings.signing_key_path.parent.glob(".*.tmp"),
        ]
    )
