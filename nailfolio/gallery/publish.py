"""The publish stage: bring a site target up to date with the staged site, by content hash.

A plan comes first, from what the target says it holds (path -> digest) and what the
render staged; the target then carries it out in the plan's order, chosen so that a page
is never visible before the files it references, nor those files gone while a page still
shows them:

  1. images (img/, from the rendition store)   2. assets (theme/, anything not a page)
  3. design pages                              4. other pages (Pelican's, 404, admin)
  5. listings (the gallery, designers, terms)  6. indexes (feed, sitemap.xml, robots.txt)
  then deletions: pages first, images last.

Within a phase, new paths go before changed ones (a new design page exists before its
neighbours link to it). An image's digest is its variant name: names carry the content
hash and the settings' fingerprint, and a rendition file is never rewritten. A staged
file's digest is the sha256 of its bytes. A plan with nothing in it is carried out by doing
nothing at all.

Every upload carries the headers it is served with: its type from the one table
(nailfolio.gallery.media_types) and a Cache-Control by kind of file:
- img/ (names change with the bytes): a year, immutable;
- pages, the feed, sitemap.xml, robots.txt: 60 s, then revalidate. A CDN invalidation
  follows each publish, but correctness never waits on one: no cache anywhere holds a page
  more than a minute, which is what makes deleting old images later safe (below);
- other assets (theme/: named without a hash; pages add ?v=<theme hash>, but the modules
  they import do not): 5 minutes, then revalidate.

A target served through caches (a CDN, browsers: `CachedSiteTarget`, the S3 site bucket)
gets more careful plans, by its `CachePolicy`:
- a file pages load (an image, an asset) that no page references any more is deleted only
  by a later publish, at least `defer_seconds` after this one: a page cached before this
  publish may still show it. Pages and indexes leave at once;
- a publish about to delete more than half of a site of 20 files or more stops with
  TooManyDeletions (an emptied catalog must not empty the site) unless deletes are allowed;
- the plan lists the viewer paths of the changed and deleted files to invalidate at the CDN
  (`x/index.html` is seen as `/x/` and `/x/index.html`), or `/*` above a threshold.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from nailfolio.errors import TooManyDeletions
from nailfolio.gallery.media_types import media_type
from nailfolio.gallery.render import StagedSite
from nailfolio.gallery.rendition_store import CACHE_CONTROL as IMMUTABLE_CACHE
from nailfolio.gallery.views import TERM_KINDS

logger = logging.getLogger(__name__)

PHASES = ("images", "assets", "designs", "pages", "listings", "indexes")
LISTING_FOLDERS = frozenset({"page", "designers", *TERM_KINDS})
INDEX_FILES = frozenset({"sitemap.xml", "robots.txt"})
PAGE_CACHE = "public, max-age=60, must-revalidate"
ASSET_CACHE = "public, max-age=300, must-revalidate"
LOADED_BY_PAGES = frozenset({"images", "assets"})  # phases whose deletions a CDN defers
DEFER_SECONDS = 600.0  # ten times a page's max-age: room for invalidations and slow loads
GUARD_MIN_FILES = 20  # the max-deletes guard leaves smaller sites alone
DEFAULT_MAX_INVALIDATION_PATHS = 100
WILDCARD = "/*"


@dataclass(frozen=True)
class Upload:
    """One file to put into the site: a staged file, or a rendition by name."""

    path: str  # in the site, POSIX: "designs/ana/red/index.html", "img/ab12-480w.webp"
    digest: str
    phase: str  # one of PHASES
    source: Path | None = None  # the staged file (pages, assets, indexes)
    rendition: str = ""  # the variant file in the rendition store (images)
    content_type: str = ""  # the headers it is served with (object_headers)
    cache_control: str = ""
    replaces: bool = False  # the target holds another version (or one of unknown digest)


@dataclass(frozen=True)
class PublishPlan:
    """What a publish will do, in order; `files` is what the target holds once it is done
    (and, on a cached target, the `deferred` files still unwanted)."""

    uploads: tuple[Upload, ...]
    deletions: tuple[str, ...]  # deleted now, in this order
    files: Mapping[str, str]
    deferred: Mapping[str, float] = field(default_factory=dict)  # kept for later: path -> since
    invalidations: tuple[str, ...] = ()  # viewer paths for the CDN, "/*" at most
    deferred_changed: bool = False  # `deferred` differs from what the target has noted

    @property
    def empty(self) -> bool:
        return not self.uploads and not self.deletions and not self.deferred_changed

    @property
    def copies(self) -> int:
        """Uploads that are renditions (server-side copies on S3)."""
        return sum(1 for upload in self.uploads if upload.rendition)


@dataclass(frozen=True)
class CachePolicy:
    """How plans for a target behind caches are made (see the module docstring)."""

    defer_seconds: float = DEFER_SECONDS
    allow_deletes: bool = False  # let a publish delete most of the site
    max_invalidation_paths: int | None = None  # None: no CDN in front, nothing to invalidate


class SiteTarget(Protocol):
    """Where the site is published: a local folder, or an S3 bucket behind a CDN."""

    def published(self) -> Mapping[str, str]:
        """What the target holds now, path -> digest; {} when it cannot vouch for it. A file
        whose digest or headers are unknown or not the ones wanted has digest ""."""
        ...

    def apply(self, plan: PublishPlan) -> None:
        """Carry out the plan: its uploads in order, then its deletions in order."""
        ...


@runtime_checkable
class CachedSiteTarget(SiteTarget, Protocol):
    """A target served through caches: its plans follow its `policy`. `apply` is called for
    every plan, even an empty one (the target may have its own record to bring up to date)."""

    policy: CachePolicy

    def deferred(self) -> Mapping[str, float]:
        """Files whose deletion earlier publishes deferred: path -> when (epoch seconds).
        Asked after `published`."""
        ...


class Cdn(Protocol):
    """The CDN in front of a site target: told which paths changed."""

    def invalidate(self, paths: Sequence[str]) -> str:
        """Ask for these viewer paths to be fetched afresh; returns the request's id."""
        ...


@dataclass(frozen=True)
class PublishReport:
    uploaded: int
    deleted: int
    seconds: float
    copied: int = 0  # of `uploaded`: renditions brought over
    deferred: int = 0  # unwanted files kept for a later publish
    invalidated: int = 0  # viewer paths handed to the CDN


def phase_of(path: str) -> str:
    """Which publishing phase a site path belongs to."""
    first = path.split("/", 1)[0]
    if first == "img":
        return "images"
    if path in INDEX_FILES or first == "feeds":
        return "indexes"
    if not path.endswith(".html"):
        return "assets"
    if first == "designs":
        return "designs"
    if path == "index.html" or (first in LISTING_FOLDERS and "/" in path):
        return "listings"
    return "pages"


def cache_control(path: str) -> str:
    """The Cache-Control a site path is served with (see the module docstring)."""
    phase = phase_of(path)
    if phase == "images":
        return IMMUTABLE_CACHE
    return ASSET_CACHE if phase == "assets" else PAGE_CACHE


def object_headers(path: str) -> tuple[str, str]:
    """(Content-Type, Cache-Control) of a site path."""
    return media_type(path), cache_control(path)


def plan_publish(
    staged: StagedSite,
    published: Mapping[str, str],
    *,
    policy: CachePolicy | None = None,
    deferred: Mapping[str, float] | None = None,
    now: float | None = None,
) -> PublishPlan:
    """The uploads and deletions that turn `published` into the staged site; with a
    `policy` (a cached target), deletions deferred, guarded, and the paths to invalidate."""
    wanted = {**staged.images, **staged.files}
    uploads = [
        Upload(
            path,
            digest,
            phase_of(path),
            source=None if path in staged.images else staged.folder / path,
            rendition=staged.images.get(path, ""),
            content_type=media_type(path),
            cache_control=cache_control(path),
            replaces=path in published,
        )
        for path, digest in wanted.items()
        if published.get(path) != digest
    ]
    uploads.sort(key=lambda u: (PHASES.index(u.phase), u.replaces, u.path))
    unwanted = [path for path in published if path not in wanted]
    noted = dict(deferred or {})
    kept: dict[str, float] = {}
    if policy is not None:
        _guard_deletes(published, unwanted, noted, policy)
        unwanted, kept = _defer(unwanted, noted, policy, time.time() if now is None else now)
    deletions = tuple(
        sorted(
            unwanted,
            key=lambda path: (phase_of(path) == "images", not path.endswith(".html"), path),
        )
    )
    limit = policy.max_invalidation_paths if policy else None
    return PublishPlan(
        tuple(uploads),
        deletions,
        wanted,
        deferred=kept,
        invalidations=() if limit is None else invalidation_paths(uploads, deletions, limit),
        deferred_changed=policy is not None and kept != noted,
    )


def _guard_deletes(
    published: Mapping[str, str],
    unwanted: Sequence[str],
    noted: Mapping[str, float],
    policy: CachePolicy,
) -> None:
    """Stop before a publish deletes more than half of the site (files already waiting for
    a deferred deletion are no longer part of it)."""
    if policy.allow_deletes:
        return
    site = sum(1 for path in published if path not in noted)
    leaving = sum(1 for path in unwanted if path not in noted)
    if site >= GUARD_MIN_FILES and leaving * 2 > site:
        raise TooManyDeletions(
            f"this publish would delete {leaving} of the site's {site} files; if that is "
            "meant (designs withdrawn on purpose), run `build.py publish --allow-deletes`, "
            "otherwise check that the catalog and the content store are the right ones"
        )


def _defer(
    unwanted: Sequence[str], noted: Mapping[str, float], policy: CachePolicy, now: float
) -> tuple[list[str], dict[str, float]]:
    """(deleted now, kept for later: path -> since): pages and indexes go now; files pages
    load go once their deletion has waited `defer_seconds` since a publish first deferred it."""
    now_deleted: list[str] = []
    kept: dict[str, float] = {}
    for path in unwanted:
        since = noted.get(path)
        if phase_of(path) not in LOADED_BY_PAGES or (
            since is not None and now - since >= policy.defer_seconds
        ):
            now_deleted.append(path)
        else:
            kept[path] = now if since is None else since
    return now_deleted, kept


def viewer_paths(path: str) -> tuple[str, ...]:
    """The URL paths a viewer reaches a site file by: "x/index.html" is "/x/" and
    "/x/index.html"; percent-encoded, as CloudFront wants them."""
    quoted = quote(path, safe="/")
    if quoted == "index.html":
        return ("/", "/index.html")
    if quoted.endswith("/index.html"):
        return (f"/{quoted[: -len('index.html')]}", f"/{quoted}")
    return (f"/{quoted}",)


def invalidation_paths(
    uploads: Iterable[Upload], deletions: Iterable[str], max_paths: int
) -> tuple[str, ...]:
    """What the CDN must fetch afresh: every file replaced (an image only when its headers
    change: its name changes with its bytes) or deleted, as viewers name it; new files are
    in no cache. One "/*" above `max_paths`."""
    changed = [upload.path for upload in uploads if upload.replaces]
    paths = sorted({seen for path in (*changed, *deletions) for seen in viewer_paths(path)})
    if len(paths) > max_paths:
        return (WILDCARD,)
    return tuple(paths)


def plan_for(staged: StagedSite, target: SiteTarget, now: float | None = None) -> PublishPlan:
    """The plan for this target: against what it holds, and by its policy if it has one."""
    published = target.published()
    if isinstance(target, CachedSiteTarget):
        policy, deferred = target.policy, target.deferred()
        return plan_publish(staged, published, policy=policy, deferred=deferred, now=now)
    return plan_publish(staged, published)


def publish_site(staged: StagedSite, target: SiteTarget, now: float | None = None) -> PublishReport:
    """Plan against what the target holds, then have it carry the plan out."""
    started = time.perf_counter()
    plan = plan_for(staged, target, now)
    if not plan.empty or isinstance(target, CachedSiteTarget):
        target.apply(plan)
    seconds = time.perf_counter() - started
    logger.info(
        "published %d files, deleted %d (%d deferred) in %.2f s",
        len(plan.uploads),
        len(plan.deletions),
        len(plan.deferred),
        seconds,
    )
    return PublishReport(
        len(plan.uploads),
        len(plan.deletions),
        seconds,
        copied=plan.copies,
        deferred=len(plan.deferred),
        invalidated=len(plan.invalidations),
    )


class Rehearsal:
    """A site target standing in for another: each plan made against it goes to `on_plan`
    first, and is carried out by the other target only when `carry_out` (a dry run is not).
    Everything else (the policy, deferred deletions) is the other target's."""

    def __init__(
        self, target: SiteTarget, on_plan: Callable[[PublishPlan], None], carry_out: bool
    ) -> None:
        self._target = target
        self._on_plan = on_plan
        self._carry_out = carry_out

    def published(self) -> Mapping[str, str]:
        return self._target.published()

    def apply(self, plan: PublishPlan) -> None:
        self._on_plan(plan)
        if self._carry_out:
            self._target.apply(plan)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)
