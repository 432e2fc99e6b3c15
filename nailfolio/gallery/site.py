"""The site, rendered and published in one call: the render stage into staging (var/site/),
then the publish stage into output/ (nailfolio.gallery.render, nailfolio.gallery.publish).

Only what changed is rendered, and only what differs is published. A server reading
output/ meanwhile, such as `build.py serve`, never sees a half-written file or a page
referencing a missing one (nailfolio.local.folder_site_target), and whatever left the
catalog (a design's pages and its image files) leaves the site.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from nailfolio import config
from nailfolio.config import Settings
from nailfolio.gallery.models import Designer, PublishedDesign
from nailfolio.gallery.publish import PublishReport, SiteTarget, publish_site
from nailfolio.gallery.render import StagedSite, render_staging, site_lock
from nailfolio.gallery.studio import Studio

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteReport:
    """What one render and publish produced."""

    pages: int  # HTML files in the published site
    seconds: float  # wall time of the whole render and publish
    pelican_seconds: float = 0.0  # the Pelican run alone (0.0: nothing changed, none ran)
    images: int = 0  # files under img/
    skipped: tuple[str, ...] = ()  # keys of designs left out: a variant file was missing
    rendered: int = 0  # gallery pages rendered this time
    uploaded: int = 0  # files published this time
    deleted: int = 0  # files removed from the site this time


def render_site(
    settings: Settings,
    designs: Sequence[PublishedDesign],
    designers: Sequence[Designer],
    conf: Path | None = None,
    target: SiteTarget | None = None,
    held: AbstractSet[str] | None = None,
    studio: Studio | None = None,
) -> SiteReport:
    """Render what changed into staging, then publish what differs to the site target.

    `conf` is the Pelican settings file (default: pelicanconf.py in the project root; pass
    publishconf.py for production); `target` defaults to the one the settings choose
    (output/ locally). Designs with a variant the rendition store does not hold (`held`:
    its names; default, its listing now) are logged, left out and listed in the report.
    `studio` defaults to content/studio.md's.
    """
    started = time.perf_counter()
    with site_lock(settings):
        staged = render_staging(settings, designs, designers, conf, held, studio)
        published = publish_site(staged, target or config.open_site_target(settings))
    return site_report(staged, published, time.perf_counter() - started)


def site_report(staged: StagedSite, published: PublishReport, seconds: float) -> SiteReport:
    """The report of a render and its publish."""
    logger.info(
        "site: %d pages rendered, %d files published, %d deleted in %.2f s",
        staged.rendered,
        published.uploaded,
        published.deleted,
        seconds,
    )
    return SiteReport(
        pages=staged.pages,
        seconds=seconds,
        pelican_seconds=staged.pelican_seconds,
        images=len(staged.images),
        skipped=staged.skipped,
        rendered=staged.rendered,
        uploaded=published.uploaded,
        deleted=published.deleted,
    )
