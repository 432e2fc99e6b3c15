"""The build: scan content, ingest what changed, render and publish the approved gallery.

Work is skipped whenever the catalog already knows the answer: file hashes are cached by
(key, size, version) in the content store's listing, moderation decisions by content hash,
renditions by content hash and image-settings fingerprint, refusals (images that could not
be used) by content hash and the input caps. The image work is the ingest stage's
(nailfolio.gallery.ingest), run in a process pool and in the build's own process; each image
fails on its own.
"""

from __future__ import annotations

import collections
import functools
import logging
import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from nailfolio import config
from nailfolio.config import Settings
from nailfolio.errors import ContentUnreadable
from nailfolio.gallery import heap, ingest, scaling, scratch
from nailfolio.gallery.catalog import Catalog, Preloaded
from nailfolio.gallery.content import date_from_camera_name, scan_designs, title_untitled
from nailfolio.gallery.content_store import ContentStore, version_stamp
from nailfolio.gallery.ingest import CacheKeys, Job, Outcome, Problem
from nailfolio.gallery.models import Decision, DesignSource, PublishedDesign, Rendition, Status
from nailfolio.gallery.moderation import Moderator
from nailfolio.gallery.notify import Notifier
from nailfolio.gallery.publish import SiteTarget
from nailfolio.gallery.rendition_store import RenditionStore
from nailfolio.gallery.studio import load_studio

__all__ = [
    "BuildReport",
    "Ingested",
    "Problem",
    "build_configured",
    "build_gallery",
    "ingest_changes",
]

T = TypeVar("T")
R = TypeVar("R")
logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str], None]
ModeratorFactory = Callable[[], Moderator]


@dataclass(frozen=True)
class BuildReport:
    """What a build did: counts for the summary line, problems and warnings for the log.

    Every design found ends up published, rejected, needing review or not usable (a problem).
    """

    designs: int = 0  # files found in designer folders, and anything else left in their way
    processed: int = 0  # images decoded this build (moderated, rendered, or recoloured)
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


@dataclass
class _Tally:
    processed: int = 0
    refused: int = 0  # remembered refusals: reported again, not decoded again
    problems: list[Problem] = field(default_factory=list)
    statuses: dict[str, Status] = field(default_factory=dict)  # current decision per key


@dataclass(frozen=True)
class _Hashed:
    digest: str = ""
    reason: str = ""  # why the file could not be read


# Worker-process state: each worker builds its own moderator once (models are not picklable).
_worker_moderator: Moderator | None = None
_worker_factory: ModeratorFactory | None = None


def _init_worker(factory: ModeratorFactory) -> None:
    scratch.end_with_parent()  # a killed build leaves no worker behind
    _prepare_image_work(factory)


def _prepare_image_work(factory: ModeratorFactory) -> None:
    """Set this process up for image jobs (a pool worker, or the build's own process)."""
    global _worker_factory, _worker_moderator
    heap.for_image_work()
    scaling.one_thread()  # the pool already has a worker per core
    _worker_factory, _worker_moderator = factory, None


def _end_image_work() -> None:
    """Drop the build's own process's moderator (its model) and image heap after its jobs:
    `serve` goes on for days."""
    global _worker_factory, _worker_moderator
    _worker_factory, _worker_moderator = None, None
    heap.for_other_work()


def _moderator() -> Moderator:
    global _worker_moderator
    if _worker_moderator is None:
        assert _worker_factory is not None, "worker initialised without a moderator factory"
        _worker_moderator = _worker_factory()
    return _worker_moderator


def _process(
    job: Job, settings: Settings, content: ContentStore, renditions: RenditionStore
) -> Outcome:
    """The ingest stage's image work for one job, in a pool worker (the stores are pickled:
    the local ones as their folders) or in the build's own process."""
    return ingest.analyse(
        job, settings.images, settings.moderation, content, renditions, _moderator
    )


def _hash_one(content: ContentStore, limit: int, key: str) -> _Hashed:
    try:
        return _Hashed(ingest.hash_content(content, key, limit))
    except ContentUnreadable as exc:
        return _Hashed(reason=exc.reason)


class _LazyPool:
    """The processes that work beside the build's own: `workers - 1` of them, started only
    when there is work for them (a no-change build has none).

    The build's own process is one of the image workers (`_work_through`) instead of waiting
    for the pool: the tree is one process smaller, ~40 MB at its peak on 2 cores."""

    def __init__(self, workers: int, factory: ModeratorFactory) -> None:
        self.workers, self._factory = max(1, workers), factory
        self._executor: ProcessPoolExecutor | None = None

    def get(self) -> ProcessPoolExecutor | None:
        if self.workers > 1 and self._executor is None:
            # Forked, unless libvips has run in this process (an earlier build in the same
            # process, as `serve --watch` runs them): a forked worker would inherit its state
            # without its threads and wait for them for ever. Spawned workers import the
            # library afresh (~6% of a cold build, and ~50 MB more for the tree: a resource
            # tracker, nothing shared), so fork stays the usual way.
            method = "spawn" if scaling.used_here() else "fork"
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers - 1,
                mp_context=multiprocessing.get_context(method),
                initializer=_init_worker,
                initargs=(self._factory,),
            )
        return self._executor

    def started_for(self, items: Sequence[object]) -> ProcessPoolExecutor | None:
        """The pool, started now, when there is more than one item to share with it."""
        return self.get() if len(items) > 1 else None

    def close(self) -> None:
        if self._executor:
            self._executor.shutdown()


def _work_through(
    items: Sequence[T],
    run: Callable[[T], R],
    pool: ProcessPoolExecutor | None,
    workers: int,
    on_result: Callable[[T, R], None],
    on_drained: Callable[[], None] | None = None,
) -> None:
    """Run `run` on every item, on the pool's processes and in this one alike, handing each
    result to `on_result` (in this process) as it comes. The pool takes items from the front
    and this process from the back, so neither waits on the other; two are kept queued per
    pool process so none goes idle between items. Without a pool, all run here in order.
    `on_drained` runs once, when no item is left for this process while the pool's last
    ones still run (for 0.3-0.5 s at the end of a cold build)."""
    queue = collections.deque(items)
    running: dict[Future[R], T] = {}
    while queue or running:
        while pool and queue and len(running) < 2 * (workers - 1):
            item = queue.popleft()
            running[pool.submit(run, item)] = item
        if queue:
            item = queue.pop() if pool else queue.popleft()
            on_result(item, run(item))
            finished = [future for future in running if future.done()]
        else:
            if on_drained:
                on_drained()
                on_drained = None  # once
            finished = list(wait(running, return_when=FIRST_COMPLETED).done)
        for future in finished:
            on_result(running.pop(future), future.result())


def _hash_sources(
    sources: Sequence[DesignSource],
    catalog: Catalog,
    content: ContentStore,
    limit: int,
    threads: int,
    tally: _Tally,
    read_missing: bool = True,
) -> dict[str, str]:
    """Content hash per key; cached by (key, size, version) so an unchanged file is not read
    (the others on up to `threads` threads). A file that cannot be read (gone, or a link
    swapped in since the scan) is a problem.
    Without `read_missing`, a file whose hash is not cached (not ingested yet) is left out."""
    hashes: dict[str, str] = {}
    missing: list[tuple[DesignSource, int]] = []
    for source in sources:
        stamp = version_stamp(source.version)
        cached = catalog.get_file_hash(source.rel_path, source.size, stamp)
        if cached:
            hashes[source.key] = cached
        else:
            missing.append((source, stamp))
    if not read_missing:
        if missing:
            logger.info("%d designs not ingested yet: left out until they are", len(missing))
        return hashes
    stamps = {source.rel_path: (source, stamp) for source, stamp in missing}

    def note(rel_path: str, hashed: _Hashed) -> None:
        source, stamp = stamps[rel_path]
        if hashed.reason:
            tally.problems.append(Problem(ingest.display(source), hashed.reason))
            return
        catalog.put_file_hash(source.rel_path, source.size, stamp, hashed.digest)
        hashes[source.key] = hashed.digest

    hashed = _threaded_map(functools.partial(_hash_one, content, limit), list(stamps), threads)
    for rel_path, found in zip(stamps, hashed, strict=True):
        note(rel_path, found)
    return hashes


def _threaded_map(run: Callable[[T], R], items: Sequence[T], threads: int) -> Iterator[R]:
    """`run` over `items` in order, on up to `threads` threads of this process. For the
    hashing: the reads and hashlib release the GIL, so two threads hash 200 photos in ~0.25
    s, where the process pool took ~0.8 s (its fork and start, a round trip per file). The
    threads have ended when the last result is out, so the pool may fork after them."""
    if threads <= 1 or len(items) <= 1:
        yield from map(run, items)
        return
    # One arena: the image work's threads would later be handed these threads' own, and the
    # build's process peaked ~6 MB higher (199 against 193 MB).
    heap.one_arena()
    with ThreadPoolExecutor(min(threads, len(items)), thread_name_prefix="hash") as pool:
        yield from pool.map(run, items)
    heap.release_freed_memory()  # the last files the threads read


def build_gallery(
    settings: Settings,
    catalog: Catalog,
    notifier: Notifier,
    moderator_factory: ModeratorFactory,
    on_progress: ProgressCallback | None = None,
    on_start: Callable[[int], None] | None = None,
    *,
    content_store: ContentStore | None = None,
    rendition_store: RenditionStore | None = None,
    moderate_new: bool = True,
    conf: Path | None = None,
    target: SiteTarget | None = None,
) -> BuildReport:
    """Bring output/ up to date with content/: the one entry point for every build.

    The stores default to the local folders (content/, var/renditions/), the site target to
    the one the settings choose. With `moderate_new=False` (the rebuild hook on aws, where
    each upload has its own ingest) a design with no decision for its current bytes is left
    out until its ingest decides: nothing is moderated, and its bytes are not even read.
    `conf` is the Pelican settings file (default: pelicanconf.py)."""
    started = time.perf_counter()
    content = content_store or config.open_content_store(settings)
    rendition_store = rendition_store or config.open_rendition_store(settings)
    _tidy_scratch(settings)
    keys = CacheKeys.of(settings.images)
    catalog = Preloaded(catalog, keys.fingerprint, keys.caps)  # one read, not four per design
    scan = scan_designs(content, sidecar_cache=settings.var_dir / "sidecars.json")
    skipped = [Problem(f"content/{p.path}", p.reason) for p in scan.problems if not p.warning]
    studio = load_studio(settings.content_dir)
    found = [*scan.problems, *studio.problems]
    warnings = [Problem(f"content/{p.path}", p.reason) for p in found if p.warning]
    tally = _Tally(problems=list(skipped))
    sources = []
    for source in scan.designs:
        problem = ingest.too_big(source, settings.images)
        if problem:
            tally.problems.append(problem)
        else:
            sources.append(source)

    lazy_pool = _LazyPool(min(settings.worker_count, max(1, len(sources))), moderator_factory)
    try:
        limit = settings.images.max_file_bytes
        hashes = _hash_sources(
            sources, catalog, content, limit, lazy_pool.workers, tally, moderate_new
        )
        sources = [source for source in sources if source.key in hashes]
        # One listing of the rendition store serves both the plan and the render.
        held = set(rendition_store.names()) if sources else set()
        jobs, renditions = _plan(sources, hashes, catalog, notifier, settings, keys, held, tally)
        waiting = 0 if moderate_new else sum(job.moderate for job in jobs)
        if waiting:  # no decision for these bytes: their own ingest will decide
            jobs = [job for job in jobs if not job.moderate]
        if on_start:
            on_start(len(jobs))
        job_of = {job.source.key: job for job in jobs}

        def record(outcome: Outcome) -> None:
            _record(outcome, job_of[outcome.key], catalog, notifier, keys, renditions, tally)
            if outcome.rendition:  # just put into the store
                held.update(variant.name for variant in outcome.rendition.variants)
            if on_progress:
                on_progress(outcome.key)

        _run_jobs(jobs, settings, content, rendition_store, lazy_pool, moderator_factory, record)
    finally:
        lazy_pool.close()

    published = _published(sources, renditions, tally.statuses)
    statuses = list(tally.statuses.values())
    from nailfolio.gallery.site import render_site  # Pelican: ~20 MB the workers never need

    target = target or config.open_site_target(settings, rendition_store)
    render_site(
        settings, published, scan.designers, conf, target=target, held=held, studio=studio.studio
    )
    return BuildReport(
        designs=len(scan.designs) + len(skipped),  # a link, a sub-folder...: not usable
        processed=tally.processed,
        reused=len(sources) - len(jobs) - waiting - tally.refused,
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
    keys: CacheKeys,
    held: AbstractSet[str],
    tally: _Tally,
) -> tuple[list[Job], dict[str, Rendition]]:
    """Decide per design what work is left; return the jobs and the renditions already cached
    (`held`: the variant names the rendition store holds). The decisions found are noted in
    the tally, so nothing asks the catalog for them again; so are the refusals remembered,
    which need no work at all."""
    jobs: list[Job] = []
    renditions: dict[str, Rendition] = {}
    for source in sources:
        planned = ingest.plan(
            source,
            hashes[source.key],
            catalog,
            notifier,
            settings.images,
            settings.moderation,
            held.__contains__,
            keys,
        )
        if planned.refused is not None:
            tally.problems.append(Problem(ingest.display(source), planned.refused))
            tally.refused += 1
            continue
        if planned.rendition:
            renditions[source.key] = planned.rendition
        if planned.status is not None:
            tally.statuses[source.key] = planned.status
        if planned.job:
            jobs.append(planned.job)
    return jobs, renditions


def _run_jobs(
    jobs: Sequence[Job],
    settings: Settings,
    content: ContentStore,
    store: RenditionStore,
    lazy_pool: _LazyPool,
    factory: ModeratorFactory,
    on_outcome: Callable[[Outcome], None],
) -> None:
    """Run every job, in the pool and in this process (`_work_through`), handing each outcome
    to `on_outcome` as it comes: this process records one between its own images (recording
    all at the end had added ~0.3 s of one core to a 200-photo cold build), and a build
    stopped mid-way keeps what it did."""
    pool = lazy_pool.started_for(jobs)  # forked before this process loads libvips, below
    process = functools.partial(_process, settings=settings, content=content, renditions=store)
    _prepare_image_work(factory)
    try:
        _work_through(
            jobs, process, pool, lazy_pool.workers, lambda _, got: on_outcome(got), _ready_to_render
        )
    finally:
        _end_image_work()


def _ready_to_render() -> None:
    """While the pool finishes its last images: this process lets go of its model and image
    heap, then imports what the render runs (Pelican, Jinja, the plugin: ~0.2 s of one core,
    otherwise spent after the last image, with the other core idle)."""
    _end_image_work()
    from nailfolio.gallery import render

    render.import_pelican()


def _record(
    outcome: Outcome,
    job: Job,
    catalog: Catalog,
    notifier: Notifier,
    keys: CacheKeys,
    renditions: dict[str, Rendition],
    tally: _Tally,
) -> None:
    """Store what a worker found (ingest.record) and note it in the tally."""
    tally.processed += 1
    decision = ingest.record(outcome, job, catalog, notifier, keys)
    if outcome.problem:
        tally.problems.append(outcome.problem)
        return
    if decision is not None:
        tally.statuses[outcome.key] = decision.status
    if outcome.rendition:
        renditions[outcome.key] = outcome.rendition


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
    *,
    moderate_new: bool = True,
    conf: Path | None = None,
    target: SiteTarget | None = None,
) -> BuildReport:
    """build_gallery with the adapters the settings choose (the site target: unless given):
    what the CLI and hooks run."""
    with config.open_catalog(settings) as catalog, config.open_notifier(settings) as notifier:
        factory = config.moderator_factory(settings)
        return build_gallery(
            settings,
            catalog,
            notifier,
            factory,
            on_progress,
            on_start,
            moderate_new=moderate_new,
            conf=conf,
            target=target,
        )


@dataclass(frozen=True)
class Ingested:
    """The ingest stage's result for one content key, and the design's latest decision
    before it: together they say whether the site changes."""

    result: ingest.IngestResult
    previous: Decision | None = None


class _NotingCatalog:
    """A catalog noting, per design, the first latest_decision answer: the decision before
    this ingest (the stage asks for it before recording any)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self.first: dict[str, Decision | None] = {}

    def __getattr__(self, name: str) -> object:
        return getattr(self._catalog, name)

    def latest_decision(self, key: str) -> Decision | None:
        found = self._catalog.latest_decision(key)
        self.first.setdefault(key, found)
        return found


def ingest_changes(settings: Settings, keys: Sequence[str]) -> dict[str, Ingested]:
    """The ingest stage for each content key ("designs/ana/red.jpg", as an upload event names
    it) with the adapters the settings choose: what the moderate hook runs. A key that is no
    design (a sidecar, removed since) has no result."""
    from nailfolio.errors import ContentNotFound

    found: dict[str, Ingested] = {}
    content, renditions = config.open_content_store(settings), config.open_rendition_store(settings)
    with config.open_catalog(settings) as catalog, config.open_notifier(settings) as notifier:
        moderator = config.moderator_factory(settings)()
        noting = _NotingCatalog(catalog)
        for key in keys:
            try:
                result = ingest.ingest(
                    key,
                    content=content,
                    renditions=renditions,
                    catalog=noting,  # a Catalog by delegation
                    notifier=notifier,
                    moderator=moderator,
                    images_settings=settings.images,
                    policy=settings.moderation,
                )
            except ContentNotFound as exc:
                logger.info("%s: not ingested: %s", key, exc)
                continue
            design = result.source.key
            if design not in noting.first:  # stopped before deciding: too big, unreadable...
                noting.first[design] = catalog.latest_decision(design)  # ...so nothing new
            previous = noting.first[design]
            found[key] = Ingested(result, previous)
    return found


def ingest_configured(settings: Settings, keys: Sequence[str]) -> dict[str, ingest.IngestResult]:
    """ingest_changes' results alone."""
    return {key: ingested.result for key, ingested in ingest_changes(settings, keys).items()}


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
