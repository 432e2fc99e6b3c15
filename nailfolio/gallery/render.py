"""The render stage: the site's pages from the published designs and the content's metadata
(Pelican with the gallery plugin; no image is decoded) into a persistent staging folder,
var/site/, rendering only what changed.

Each gallery page's fingerprint is the site's fingerprint (see `site_fingerprint`: theme,
Pelican settings files and overrides, content/ outside designs/, the studio (content/
studio.md, as parsed: every page shows it), the plugin's code and the libraries' versions)
plus every template variable of that page. The manifest (var/site.json)
keeps each page's fingerprint and the sha256 of what was written: a page whose fingerprint
is unchanged is neither rendered nor written. When no input changed at all, Pelican is not
even imported. Pelican's own pages, the feed, sitemap, robots.txt and the theme's assets are
few and cheap: they are written again on every render that runs Pelican.

A render deletes the manifest before it touches staging and writes it back once staging is
whole again; a render killed mid-way leaves no manifest, and the next starts staging afresh.
A staged file is never rewritten in place: a page that changed is removed and written as a
new file, so publishing may hard-link staged files into the site.
Images are not copied into staging: pages name them (img/<variant name>), and publishing
takes them from the rendition store (nailfolio.gallery.publish).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any

from nailfolio import config
from nailfolio.config import Settings
from nailfolio.errors import ConfigError
from nailfolio.gallery import scratch
from nailfolio.gallery.models import Designer, PublishedDesign
from nailfolio.gallery.studio import Studio, load_studio

logger = logging.getLogger(__name__)

# Bump when rendering changes in a way no fingerprinted input shows: every page renders anew.
RENDER_VERSION = 1
MANIFEST_VERSION = 1
LIBRARIES = ("pelican", "jinja2", "markdown", "markupsafe", "feedgenerator")
# Folders holding gallery pages only (the plugin's, in the manifest): not walked after a run.
# What a Pelican run imports (import_pelican loads them ahead of it).
PELICAN_MODULES = (
    "jinja2",
    "pelican.generators",
    "pelican.readers",
    "pelican.settings",
    "pelican.writers",
    "nailfolio.gallery.pelican_plugin",
    "nailfolio.gallery.site",
)
GALLERY_FOLDERS = frozenset({"designs", "designers", "page", "tags", "colours", "techniques"})
_HERE = Path(__file__).resolve().parent
# The code that shapes the pages: the plugin, the views it renders, the CSP it writes.
CODE_FILES = (
    _HERE / "pelican_plugin.py",
    _HERE / "views.py",
    _HERE / "palette.py",  # similar designs
    _HERE / "shades.py",  # colour swatches
    _HERE / "render.py",
    _HERE / "studio.py",
    _HERE.parent / "web" / "csp.py",
)


@dataclass(frozen=True)
class StagedSite:
    """What a render left in staging: every file by its content hash, and the images the
    pages reference (published from the rendition store, not from staging)."""

    folder: Path
    files: Mapping[str, str]  # "designs/ana/red/index.html" -> sha256 of the staged file
    images: Mapping[str, str]  # "img/<name>" -> variant file name in the rendition store
    skipped: tuple[str, ...] = ()  # keys of designs left out: a variant file was missing
    rendered: int = 0  # gallery pages rendered this time (0 when nothing changed)
    pelican_seconds: float = 0.0  # 0.0 when Pelican did not run
    seconds: float = 0.0

    @property
    def pages(self) -> int:
        return sum(1 for path in self.files if path.endswith(".html"))


@dataclass
class PageCache:
    """Handed to the plugin (NAILFOLIO_PAGE_CACHE): which pages are fresh, what was written."""

    site: str  # the site's fingerprint: part of every page's
    folder: Path  # staging, Pelican's OUTPUT_PATH
    previous: Mapping[str, tuple[str, str]]  # save_as -> (fingerprint, sha256), last render
    designs: Mapping[int, str] = field(default_factory=dict)  # id(PublishedDesign) -> digest
    pages: dict[str, tuple[str, str]] = field(default_factory=dict)  # this render's
    images: set[str] = field(default_factory=set)  # variant names the pages reference
    rendered: int = 0
    _memo: dict[int, tuple[Any, str]] = field(default_factory=dict)

    def add_views(self, views: Sequence[Any]) -> None:
        """Digest each design's view as its design and designer: it is made of those alone
        (by nailfolio.gallery.views, whose code is part of the site's fingerprint)."""
        for view in views:
            design = self.designs.get(id(view.design)) or _sha(repr(view.design))
            self._memo[id(view)] = (view, _sha(f"{design}{view.designer!r}"))

    def fingerprint(self, template: str, save_as: str, variables: Mapping[str, Any]) -> str:
        """The page's fingerprint: the site's, its template and all its variables."""
        text = _digest({"template": template, "save_as": save_as, **variables}, self._memo)
        return _sha(f"{self.site}\0{text}")

    def keep(self, save_as: str, fingerprint: str) -> bool:
        """True (and the page is kept as it is) when staging holds it with this fingerprint.
        Otherwise the stale file is removed: the page is written anew, as a new file, never
        over one that a publish may have linked into the site."""
        entry = self.previous.get(save_as)
        path = self.folder / save_as
        if entry is None or entry[0] != fingerprint or not path.is_file():
            path.unlink(missing_ok=True)
            return False
        self.pages[save_as] = entry
        return True

    def wrote(self, save_as: str, fingerprint: str) -> None:
        self.pages[save_as] = (fingerprint, _file_sha(self.folder / save_as))
        self.rendered += 1


def render_staging(
    settings: Settings,
    designs: Sequence[PublishedDesign],
    designers: Sequence[Designer],
    conf: Path | None = None,
    held: AbstractSet[str] | None = None,
    studio: Studio | None = None,
) -> StagedSite:
    """Bring staging up to date with these designs; returns what it holds.

    `conf` is the Pelican settings file (default: pelicanconf.py in the project root).
    `held` is every variant name the rendition store holds (default: its listing, asked
    now); designs with a variant missing from it are logged, left out and listed in
    `skipped`. `studio` defaults to content/studio.md's (its problems unreported: the build
    reports them).
    """
    started = time.perf_counter()
    conf = conf or settings.root / "pelicanconf.py"
    if not conf.is_file():
        raise ConfigError(f"{conf}: Pelican settings file not found")
    if not settings.content_dir.is_dir():
        raise ConfigError(f"{settings.content_dir}: content folder not found")
    if held is None:
        held = config.open_rendition_store(settings).names()
    publishable, skipped = split_publishable(designs, held)
    folder, manifest_path = staging_paths(settings)
    if studio is None:
        studio = load_studio(settings.content_dir).studio
    # The studio shows on every page; content/ is hashed by size and mtime only.
    site = _sha(f"{site_fingerprint(settings, conf)}\0{studio!r}")
    # A design's digest stands for its view on every page: views are made from it alone.
    digests = {id(design): _sha(repr(design)) for design in publishable}
    inputs = _sha(f"{site}\0{''.join(digests.values())}{tuple(designers)!r}")
    manifest = _read_manifest(manifest_path)
    if manifest and manifest["inputs"] == inputs and _whole(folder, manifest):
        return _staged(folder, manifest, tuple(skipped), 0, 0.0, started)
    manifest_path.unlink(missing_ok=True)  # staging is not whole until it is written back
    if manifest is None:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        scratch.remove_files(folder, manifest["other"])  # rewritten by the run when still wanted
    folder.mkdir(parents=True, exist_ok=True)
    cache = PageCache(site, folder, manifest["pages"] if manifest else {}, digests)
    pelican_started = time.perf_counter()
    _run_pelican(settings, conf, folder, publishable, designers, cache, studio)
    pelican_seconds = time.perf_counter() - pelican_started
    scratch.remove_files(
        folder, [p for p in (manifest["pages"] if manifest else ()) if p not in cache.pages]
    )
    other = {
        p: _file_sha(folder / p) for p in _walk(folder, GALLERY_FOLDERS) if p not in cache.pages
    }
    manifest = {
        "version": MANIFEST_VERSION,
        "inputs": inputs,
        "pages": cache.pages,
        "other": other,
        "images": sorted(cache.images),
    }
    _write_json(manifest_path, manifest)
    return _staged(folder, manifest, tuple(skipped), cache.rendered, pelican_seconds, started)


@contextlib.contextmanager
def site_lock(settings: Settings) -> Iterator[None]:
    """Held over a render and its publish: two builds at once take turns on staging."""
    lock = settings.var_dir / "site.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.touch()
    with scratch.claimed(lock):
        yield


def staging_paths(settings: Settings) -> tuple[Path, Path]:
    """The staging folder and its manifest."""
    return settings.var_dir / "site", settings.var_dir / "site.json"


def site_fingerprint(settings: Settings, conf: Path) -> str:
    """A hash of every input all pages share: what Pelican reads besides the designs."""
    digest = hashlib.sha256(f"render {RENDER_VERSION}\0".encode())
    for name in LIBRARIES:
        digest.update(f"{name} {metadata.version(name)}\0".encode())
    overrides = (settings.content_dir, settings.theme_dir, settings.site_url, settings.site_name)
    digest.update(repr(overrides).encode())
    for path in CODE_FILES:
        digest.update(path.read_bytes())
    # Settings files may import one another (publishconf imports pelicanconf): take them all.
    _hash_files(digest, [*sorted(conf.resolve().parent.glob("*.py")), conf.resolve()])
    _hash_tree(digest, settings.theme_dir)
    _hash_tree(digest, settings.content_dir, skip="designs", stat_only=True)
    return digest.hexdigest()


def split_publishable(
    designs: Sequence[PublishedDesign], held: AbstractSet[str]
) -> tuple[list[PublishedDesign], list[str]]:
    """Keep designs whose every variant the rendition store holds (`held`: its names, one
    listing rather than a check per variant); log and list the others."""
    kept, skipped = [], []
    for design in designs:
        problem = _variant_problem(design, held)
        if problem:
            logger.warning("%s: left out of the site: %s", design.source.key, problem)
            skipped.append(design.source.key)
        else:
            kept.append(design)
    return kept, skipped


def _variant_problem(design: PublishedDesign, held: AbstractSet[str]) -> str:
    variants = design.rendition.variants
    if not variants:
        return "its rendition has no variants"
    for variant in variants:
        name = variant.name
        if not name or name in (".", "..") or "/" in name or "\\" in name:
            return f"variant name {name!r} is not a plain file name"
        if name not in held:
            return f"variant {name} is not in the rendition store; build again to render it"
    return ""


def _forget_compiled_settings(conf: Path) -> None:
    """Python trusts a module's cached bytecode while the source's mtime (to the second) and
    size are unchanged, so a settings edit that keeps the size ("24" -> "12") within the
    second would be read stale, though the fingerprint saw it: drop the bytecode of the
    settings files beside `conf` (those the fingerprint covers) before Pelican reads them."""
    folder = conf.resolve().parent
    for compiled in (folder / "__pycache__").glob("*.pyc"):
        if (folder / f"{compiled.name.partition('.')[0]}.py").is_file():
            compiled.unlink(missing_ok=True)


def import_pelican() -> None:
    """Import what a Pelican run needs (~0.2 s), ahead of the run: a build does it while its
    pool finishes the last images."""
    for name in PELICAN_MODULES:
        importlib.import_module(name)


def _run_pelican(
    settings: Settings,
    conf: Path,
    folder: Path,
    publishable: Sequence[PublishedDesign],
    designers: Sequence[Designer],
    cache: PageCache,
    studio: Studio,
) -> None:
    """One Pelican run into staging, the plugin skipping the pages the cache says are fresh."""
    from jinja2 import FileSystemBytecodeCache
    from pelican import Pelican
    from pelican.log import console as pelican_console
    from pelican.settings import read_settings

    _forget_compiled_settings(conf)
    pelican_settings = read_settings(
        str(conf),
        override={
            "PATH": str(settings.content_dir),
            "OUTPUT_PATH": str(folder),
            "THEME": str(settings.theme_dir),
            "SITEURL": settings.site_url.rstrip("/"),
            "SITENAME": studio.name or settings.site_name,
            "DELETE_OUTPUT_DIRECTORY": False,  # staging is kept: only what changed is written
            "NAILFOLIO_DESIGNS": tuple(publishable),
            "NAILFOLIO_DESIGNERS": tuple(designers),
            "NAILFOLIO_RENDITIONS_DIR": str(settings.renditions_dir),
            "NAILFOLIO_PAGE_CACHE": cache,
            "NAILFOLIO_STUDIO": studio,
        }
        | ({"SITESUBTITLE": studio.tagline} if studio.tagline else {}),
    )
    # Compiled templates are kept between runs (Jinja checks each one against its source).
    jinja_cache = settings.var_dir / "jinja"
    jinja_cache.mkdir(parents=True, exist_ok=True)
    environment = dict(pelican_settings.get("JINJA_ENVIRONMENT") or {})
    environment.setdefault("bytecode_cache", FileSystemBytecodeCache(str(jinja_cache)))
    pelican_settings["JINJA_ENVIRONMENT"] = environment
    # Pelican prints its own article counts on its console: capture that console only
    # (redirecting sys.stdout would swallow every other thread's output meanwhile).
    with pelican_console.capture() as summary:
        Pelican(pelican_settings).run()
    logger.debug("pelican: %s", summary.get().strip())


def _staged(
    folder: Path,
    manifest: Mapping[str, Any],
    skipped: tuple[str, ...],
    rendered: int,
    pelican_seconds: float,
    started: float,
) -> StagedSite:
    files = {path: sha for path, (_, sha) in manifest["pages"].items()} | manifest["other"]
    images = {f"img/{name}": name for name in manifest["images"]}
    seconds = time.perf_counter() - started
    logger.info("rendered %d of %d files in %.2f s", rendered, len(files), seconds)
    return StagedSite(folder, files, images, skipped, rendered, pelican_seconds, seconds)


def _whole(folder: Path, manifest: Mapping[str, Any]) -> bool:
    """Every file the manifest lists is still in staging (someone may have deleted some)."""
    root = str(folder)
    return all(
        os.path.isfile(os.path.join(root, rel))
        for files in (manifest["pages"], manifest["other"])
        for rel in files
    )


def _read_manifest(path: Path) -> dict[str, Any] | None:
    """The last render's manifest; None when missing, damaged or of another version."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("version") != MANIFEST_VERSION:
        return None
    manifest["pages"] = {path: tuple(entry) for path, entry in manifest["pages"].items()}
    return manifest


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write beside, then rename: a reader finds the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def _walk(folder: Path, skip: frozenset[str] = frozenset()) -> list[str]:
    """Every file under folder, as POSIX paths relative to it, but in the top-level folders
    named in `skip`."""
    found, todo = [], [""]
    while todo:
        prefix = todo.pop()
        with os.scandir(folder / prefix if prefix else folder) as entries:
            for entry in entries:
                rel = f"{prefix}{entry.name}"
                if not entry.is_dir(follow_symlinks=False):
                    found.append(rel)
                elif prefix or entry.name not in skip:
                    todo.append(rel + "/")
    return found


def _hash_files(digest: Any, paths: Sequence[Path]) -> None:
    for path in paths:
        digest.update(f"{path}\0".encode() + path.read_bytes() + b"\0")


def _hash_tree(digest: Any, root: Path, skip: str = "", *, stat_only: bool = False) -> None:
    """Every file under root (following links, as Pelican does) by path, size and mtime, and
    by content unless stat_only; `skip` is a top-level folder left out."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        if dirpath == str(root) and skip in dirnames:
            dirnames.remove(skip)
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            st = path.stat()
            digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
            if not stat_only:
                digest.update(path.read_bytes())


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _digest(value: Any, memo: dict[int, tuple[Any, str]]) -> str:
    """A deterministic text for a template variable. Sequences of dataclasses (a page's
    designs, a group's) and dataclasses holding one (a group) are digested item by item,
    once per render (a design shows on many pages); anything else by repr (dicts included:
    the plugin builds each one in the same order every time)."""
    if type(value) in _PLAIN:
        return repr(value)
    known = memo.get(id(value))
    if known is not None:
        return known[1]
    if isinstance(value, dict):  # the page's variables, or plain data (a JSON-LD block)
        if not any(_is_dataclass(v) or _holds_dataclasses(v) for v in value.values()):
            return repr(value)
        return "{" + ",".join(f"{k!r}:{_digest(v, memo)}" for k, v in value.items()) + "}"
    if _holds_dataclasses(value):
        text = "[" + ",".join(_digest(item, memo) for item in value) + "]"
    elif _is_dataclass(value):
        values = [getattr(value, f.name) for f in fields(value)]
        if not any(_holds_dataclasses(v) for v in values):
            return repr(value)
        text = f"{type(value).__qualname__}({','.join(_digest(v, memo) for v in values)})"
    else:
        return f"{type(value).__qualname__}:{value!r}"  # an identity repr: rendered every time
    digest = _sha(text)
    memo[id(value)] = (value, digest)  # kept alive with it: its id cannot pass to another
    return digest


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _is_dataclass(value: Any) -> bool:
    return hasattr(type(value), "__dataclass_fields__")


def _holds_dataclasses(value: Any) -> bool:
    return type(value) in (tuple, list) and bool(value) and _is_dataclass(value[0])
