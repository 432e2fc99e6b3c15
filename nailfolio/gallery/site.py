"""Render the static site: one real Pelican build, swapped into output/ in one step.

The build goes into a fresh sibling folder (`.output-new-*` beside output/), which then
replaces output/ by an atomic exchange of the two folders (Linux renameat2 RENAME_EXCHANGE;
elsewhere two renames a few microseconds apart). A server reading output/ meanwhile, such
as `build.py serve`, sees the whole old site or the whole new one, never a half-built one,
and whatever left the catalog (a design's pages and its image files) leaves the site.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pelican import Pelican
from pelican.log import console as pelican_console
from pelican.settings import read_settings

from nailfolio.config import Settings
from nailfolio.errors import ConfigError
from nailfolio.gallery import scratch
from nailfolio.gallery.models import Designer, PublishedDesign

logger = logging.getLogger(__name__)

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@dataclass(frozen=True)
class SiteReport:
    """What one render produced."""

    pages: int  # HTML files in the published site
    seconds: float  # wall time of the whole render: Pelican, the swap, deleting the old site
    pelican_seconds: float = 0.0  # the Pelican build alone
    images: int = 0  # files under img/
    skipped: tuple[str, ...] = ()  # keys of designs left out: a variant file was missing


def render_site(
    settings: Settings,
    designs: Sequence[PublishedDesign],
    designers: Sequence[Designer],
    conf: Path | None = None,
) -> SiteReport:
    """Build the whole site with Pelican and the gallery plugin, then swap it into output/.

    `conf` is the Pelican settings file (default: pelicanconf.py in the project root; pass
    publishconf.py for production). Designs whose variant files are missing from the
    renditions folder are logged, left out and listed in the report.
    """
    started = time.perf_counter()
    conf = conf or settings.root / "pelicanconf.py"
    if not conf.is_file():
        raise ConfigError(f"{conf}: Pelican settings file not found")
    if not settings.content_dir.is_dir():
        raise ConfigError(f"{settings.content_dir}: content folder not found")
    publishable, skipped = _split_publishable(designs, settings.renditions_dir)
    output = settings.output_dir.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-new-", dir=output.parent))
    try:
        # Claimed while we work in it: if this process is killed, the next build removes it.
        with scratch.claimed(staging):
            staging.chmod(0o755)  # mkdtemp makes it private; the site is for everyone to read
            pelican_settings = _pelican_settings(settings, conf, staging, publishable, designers)
            pelican_started = time.perf_counter()
            # Pelican prints its own article counts on its console: capture that console only
            # (redirecting sys.stdout would swallow every other thread's output meanwhile).
            with pelican_console.capture() as summary:
                Pelican(pelican_settings).run()
            pelican_seconds = time.perf_counter() - pelican_started
            logger.debug("pelican: %s", summary.get().strip())
            pages, images = _count_files(staging)
            _swap_in(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started
    logger.info("rendered %d pages and %d images in %.2f s", pages, images, seconds)
    return SiteReport(pages, seconds, pelican_seconds, images, tuple(skipped))


def _pelican_settings(
    settings: Settings,
    conf: Path,
    staging: Path,
    publishable: Sequence[PublishedDesign],
    designers: Sequence[Designer],
) -> dict[str, Any]:
    """Pelican's settings from `conf`, pointed at our folders, staging and designs."""
    return read_settings(
        str(conf),
        override={
            "PATH": str(settings.content_dir),
            "OUTPUT_PATH": str(staging),
            "THEME": str(settings.theme_dir),
            "SITEURL": settings.site_url.rstrip("/"),
            "SITENAME": settings.site_name,
            "DELETE_OUTPUT_DIRECTORY": False,  # staging is new and empty
            "NAILFOLIO_DESIGNS": tuple(publishable),
            "NAILFOLIO_DESIGNERS": tuple(designers),
            "NAILFOLIO_RENDITIONS_DIR": str(settings.renditions_dir),
        },
    )


def _split_publishable(
    designs: Sequence[PublishedDesign], renditions_dir: Path
) -> tuple[list[PublishedDesign], list[str]]:
    """Keep designs whose every variant file is in renditions_dir; log and list the others."""
    kept, skipped = [], []
    for design in designs:
        problem = _variant_problem(design, renditions_dir)
        if problem:
            logger.warning("%s: left out of the site: %s", design.source.key, problem)
            skipped.append(design.source.key)
        else:
            kept.append(design)
    return kept, skipped


def _variant_problem(design: PublishedDesign, renditions_dir: Path) -> str:
    variants = design.rendition.variants
    if not variants:
        return "its rendition has no variants"
    for variant in variants:
        name = variant.name
        if not name or name in (".", "..") or Path(name).name != name or "\\" in name:
            return f"variant name {name!r} is not a plain file name"
        if not (renditions_dir / name).is_file():
            return f"{renditions_dir / name} is missing"
    return ""


def _count_files(folder: Path) -> tuple[int, int]:
    pages = sum(1 for _ in folder.rglob("*.html"))
    img = folder / "img"
    images = sum(1 for _ in img.iterdir()) if img.is_dir() else 0
    return pages, images


def _swap_in(new: Path, output: Path) -> None:
    """Make `new` the site at `output`; the previous site is deleted."""
    if not output.exists():
        os.rename(new, output)
        return
    # The previous site is nobody's once swapped out: a build tidying at the same moment may
    # be deleting it too, hence ignore_errors.
    if _exchange(new, output):
        shutil.rmtree(new, ignore_errors=True)  # now holds the previous site
        return
    old = output.with_name(f".{output.name}-old-{uuid.uuid4().hex[:8]}")
    os.rename(output, old)
    os.rename(new, output)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    if sys.platform != "linux":
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))
