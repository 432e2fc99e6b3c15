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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from nailfolio.gallery.render import StagedSite
from nailfolio.gallery.views import TERM_KINDS

logger = logging.getLogger(__name__)

PHASES = ("images", "assets", "designs", "pages", "listings", "indexes")
LISTING_FOLDERS = frozenset({"page", "designers", *TERM_KINDS})
INDEX_FILES = frozenset({"sitemap.xml", "robots.txt"})


@dataclass(frozen=True)
class Upload:
    """One file to put into the site: a staged file, or a rendition by name."""

    path: str  # in the site, POSIX: "designs/ana/red/index.html", "img/ab12-480w.webp"
    digest: str
    phase: str  # one of PHASES
    source: Path | None = None  # the staged file (pages, assets, indexes)
    rendition: str = ""  # the variant file in the rendition store (images)


@dataclass(frozen=True)
class PublishPlan:
    """What a publish will do, in order; `files` is what the target holds once it is done."""

    uploads: tuple[Upload, ...]
    deletions: tuple[str, ...]
    files: Mapping[str, str]

    @property
    def empty(self) -> bool:
        return not self.uploads and not self.deletions


class SiteTarget(Protocol):
    """Where the site is published: a local folder, or (next) an S3 bucket behind a CDN."""

    def published(self) -> Mapping[str, str]:
        """What the target holds now, path -> digest; {} when it cannot vouch for it."""
        ...

    def apply(self, plan: PublishPlan) -> None:
        """Carry out the plan: its uploads in order, then its deletions in order."""
        ...


@dataclass(frozen=True)
class PublishReport:
    uploaded: int
    deleted: int
    seconds: float


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


def plan_publish(staged: StagedSite, published: Mapping[str, str]) -> PublishPlan:
    """The uploads and deletions that turn `published` into the staged site."""
    wanted = {**staged.images, **staged.files}
    uploads = [
        Upload(
            path,
            digest,
            phase_of(path),
            source=None if path in staged.images else staged.folder / path,
            rendition=staged.images.get(path, ""),
        )
        for path, digest in wanted.items()
        if published.get(path) != digest
    ]
    uploads.sort(key=lambda u: (PHASES.index(u.phase), u.path in published, u.path))
    deletions = sorted(
        (path for path in published if path not in wanted),
        key=lambda path: (phase_of(path) == "images", not path.endswith(".html"), path),
    )
    return PublishPlan(tuple(uploads), tuple(deletions), wanted)


def publish_site(staged: StagedSite, target: SiteTarget) -> PublishReport:
    """Plan against what the target holds, then have it carry the plan out."""
    started = time.perf_counter()
    plan = plan_publish(staged, target.published())
    if not plan.empty:
        target.apply(plan)
    seconds = time.perf_counter() - started
    logger.info(
        "published %d files, deleted %d in %.2f s", len(plan.uploads), len(plan.deletions), seconds
    )
    return PublishReport(len(plan.uploads), len(plan.deletions), seconds)
