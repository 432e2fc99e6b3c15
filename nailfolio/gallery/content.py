"""Scan the content store into designers and designs, with sidecar metadata and problems.

Layout: content/designs/<designer folder>/<image> (+ optional <image stem>.md sidecar) and an
optional content/designs/<designer folder>/designer.md, locally; the same keys in the content
bucket on AWS. The scan works from a content store's listing and reads
(nailfolio.gallery.content_store), so it runs the same on both. Rules the scan follows:

- Every regular file in a designer folder is a design candidate whatever its extension, except
  Markdown files (*.md: sidecars and designer.md) and hidden files (dotfiles, Thumbs.db,
  desktop.ini). The image pipeline sniffs the real type from the bytes and reports non-images,
  so a stray notes.txt still reaches the user as a clear "not an image" line.
- Files directly under designs/ and sub-folders inside a designer folder are not scanned; each
  is reported once as a ContentProblem saying where to move it. Hidden folders and __MACOSX
  are skipped silently.
- Symbolic links under designs/ (designer folders, images, sidecars) are never followed: each
  is reported as a ContentProblem, so a link to a file elsewhere on the disk is never
  published. content_dir itself may be a link. (S3 has no links.)
- A sidecar matches its image by stem: exactly, else ignoring case when exactly one sidecar
  fits and no image has its exact stem (Red.JPG + red.md); two images with one stem
  (red.jpg, red.png) share red.md. A sidecar with no
  image is reported. designer.md (any case) always describes the designer, never an image.
- Slugs come from nailfolio.gallery.slugs.unique_slugs (stable under adding or removing other
  files);
  DesignSource.key is "<designer slug>/<design slug>".
- Sidecar text is plain text except the body, rendered from Markdown with raw HTML escaped and
  links limited to http, https, mailto and relative URLs. Titles, tags and alt stay plain
  text: templates must escape them.
- Dates are naive wall-clock datetimes: a time zone written in a sidecar is dropped.
- "Price: 45 EUR" (or "€45", "45.50 GBP") and "Duration: 90 min" (or "1 h 30 min", "1.5 h")
  are parsed into DesignSource.price and .duration (minutes); a bad one is a warning.
- A camera's file name (IMG_2041, PXL_20260301_123456789, WhatsApp Image 2026-03-01 at...,
  see is_camera_name) never becomes a title: without a sidecar title the design is untitled
  and is published as "Design by <designer>, <day of its date>" (title_untitled). Its slug
  stays file-derived ("img-2041"), so its URL and catalog key never change.
- A broken sidecar never hides its design: the design keeps derived metadata, the sidecar
  gets a ContentProblem marked as a warning. Problems with Markdown files (sidecars,
  designer.md) are all warnings: nothing goes unpublished because of them. The others are
  files or folders that are not published.
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import TypeVar
from xml.etree.ElementTree import Element

import markdown
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE

from nailfolio.errors import ContentUnreadable
from nailfolio.gallery.content_store import ContentEntry, ContentStore, EntryKind
from nailfolio.gallery.models import Designer, DesignSource, Price, PublishedDesign
from nailfolio.gallery.slugs import unique_slugs
from nailfolio.gallery.views import MONTHS

DESIGNS_DIR = "designs"
DESIGNER_FILE = "designer.md"
SIDECAR_SUFFIX = ".md"
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "icon\r", "__macosx"})  # casefolded
MAX_SIDECAR_BYTES = 256 * 1024
SAFE_URL_SCHEMES = frozenset({"http", "https", "mailto"})
DATE_HINT = "use YYYY-MM-DD, or YYYY-MM-DD HH:MM"
RACY_SECONDS = 2.0  # sidecars changed this recently are not cached yet

_META_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):[ \t]*(.*)$")
_URL_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]+")  # browsers skip these inside a scheme
_WORD_BREAK = re.compile(r"[\s_.\-]+")
# Camera, phone and chat-app file names. A name is a camera's when it starts with one of
# _GENERIC_STARTS, or its first word is a camera prefix and/or a number (IMG, DSCN1234,
# 20260301) and every other word is a number or camera noise (WA0001, E2041, MP, at, copy).
_GENERIC_STARTS = ("screenshot", "screen shot", "whatsapp image", "whatsapp photo", "signal-")
_CAMERA_WORD = re.compile(
    r"(?:img|mvimg|pxl|dsc|dscn|dscf|dji|gopr|sam|pano|pict?|photo|image|p)?\d*"
)
_CAMERA_NOISE = re.compile(
    r"[a-z]{0,2}\d+|at|am|pm|mp|portrait|cover|night|burst\d*|edited|edit|copy|original"
)
_CAMERA_WORD_BREAK = re.compile(r"[\s_.\-()~]+")
_NAME_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])")
_md_lock = threading.Lock()
_T = TypeVar("_T")
CURRENCY_SIGNS = {"€": "EUR", "£": "GBP", "$": "USD"}
PRICE_HINT = "write it like 45 EUR, 45.50 EUR or €45"
DURATION_HINT = "write it like 90 min, 1 h 30 min or 1.5 h"
MAX_DURATION = 24 * 60
_AMOUNT = r"(?P<amount>\d{1,6}(?:[.,]\d{1,2})?)"
_PRICE = re.compile(
    rf"(?P<before>[A-Za-z]{{3}}|[€£$])?\s*{_AMOUNT}\s*(?P<after>[A-Za-z]{{3}}|[€£$])?"
)
_DURATION_PART = re.compile(
    r"(?P<number>\d+(?:[.,]\d+)?)\s*(?P<unit>hours?|hrs?|h|minutes?|mins?|m)(?![a-z])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ContentProblem:
    """Something in the content folder a designer should fix; the scan goes on regardless."""

    path: str  # POSIX, relative to scan_designs' display_root ("designs/ana/red.md" by default)
    reason: str
    warning: bool = False  # about metadata only: the designs concerned are still published

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Scan:
    """Everything found under content/designs/, sorted: designs by key, designers by slug."""

    designs: tuple[DesignSource, ...]
    designers: tuple[Designer, ...]
    problems: tuple[ContentProblem, ...]


def scan_designs(
    content: ContentStore, display_prefix: str = "", sidecar_cache: Path | None = None
) -> Scan:
    """Find every designer and design under designs/ in a content store (no image is decoded).

    Problem paths are POSIX paths relative to the store's root, like DesignSource.rel_path
    ("designs/ana/red.md"), after `display_prefix` ("content/" gives
    "content/designs/ana/red.md"). `sidecar_cache` is a file keeping parsed sidecars between
    scans (SidecarCache).
    """
    cache = SidecarCache(sidecar_cache)
    scanner = _Scanner(content, display_prefix, cache)
    folders, inside, slugs = _designer_folders(content, scanner)
    designers = [
        scanner.scan_folder(entry, inside.get(entry.key, []), slugs[entry.name])
        for entry in folders
    ]
    cache.save()
    return Scan(
        designs=tuple(sorted(scanner.designs, key=lambda design: design.key)),
        designers=tuple(sorted(designers, key=lambda designer: designer.slug)),
        problems=tuple(sorted(set(scanner.problems), key=lambda p: (p.path, p.reason))),
    )


def find_design(content: ContentStore, key: str) -> DesignSource | None:
    """The design scan_designs would find at a content key, with the same slugs, reading only
    its sidecar and its designer's designer.md (one upload's ingest); None if there is none."""
    scanner = _Scanner(content, "", SidecarCache(None))
    folders, inside, slugs = _designer_folders(content, scanner)
    for folder in folders:
        if key.startswith(f"{folder.key}/"):
            entries = inside.get(folder.key, [])
            scanner.scan_folder(folder, entries, slugs[folder.name], only=key)
    return scanner.designs[0] if scanner.designs else None


@dataclass(frozen=True)
class DesignerFolder:
    """A designer folder and who owns it (designer.md's Account: field, folded)."""

    key: str  # "designs/ana-lima"
    designer: Designer

    @property
    def name(self) -> str:
        return self.key.rpartition("/")[2]


def designer_folders(content: ContentStore) -> tuple[DesignerFolder, ...]:
    """Every designer folder with its Designer, reading only the designer.md files."""
    scanner = _Scanner(content, "", SidecarCache(None))
    folders, inside, slugs = _designer_folders(content, scanner)
    found = []
    for folder in folders:
        files = [e for e in inside.get(folder.key, []) if e.kind is EntryKind.FILE]
        marker = next((e.key for e in files if e.name.lower() == DESIGNER_FILE), None)
        found.append(
            DesignerFolder(folder.key, scanner._designer(folder, slugs[folder.name], marker))
        )
    return tuple(found)


def folder_designs(content: ContentStore, folder_key: str) -> tuple[DesignSource, ...]:
    """The designs scan_designs would find in one designer folder, with the same slugs,
    reading only that folder's sidecars (a designer's own listing)."""
    scanner = _Scanner(content, "", SidecarCache(None))
    folders, inside, slugs = _designer_folders(content, scanner)
    for folder in folders:
        if folder.key == folder_key:
            scanner.scan_folder(folder, inside.get(folder.key, []), slugs[folder.name])
    return tuple(sorted(scanner.designs, key=lambda design: design.key))


def _designer_folders(
    content: ContentStore, scanner: _Scanner
) -> tuple[list[ContentEntry], dict[str, list[ContentEntry]], dict[str, str]]:
    """The designer folders (problems recorded for anything else in designs/), what each
    holds, and each folder's slug by name."""
    top, inside = _group(content.list_designs())
    folders: list[ContentEntry] = []
    for entry in top:
        if entry.kind is EntryKind.LINK:
            scanner.problem(entry.key, _link_reason(entry))
        elif entry.kind is EntryKind.UNREADABLE:
            scanner.problem(entry.key, "cannot be read; check its permissions")
        elif entry.kind is EntryKind.FOLDER:
            folders.append(entry)
        else:
            scanner.problem(
                entry.key, "not in a designer folder; move it into content/designs/<designer>/"
            )
    slugs = unique_slugs({entry.name: entry.name for entry in folders}, fallback="designer")
    return folders, inside, slugs


def _group(
    entries: Sequence[ContentEntry],
) -> tuple[list[ContentEntry], dict[str, list[ContentEntry]]]:
    """The visible entries of designs/ and of each folder in it, sorted by name: no
    dotfiles, Thumbs.db and the like (nor anything inside a hidden folder)."""
    top: list[ContentEntry] = []
    inside: defaultdict[str, list[ContentEntry]] = defaultdict(list)
    for entry in entries:
        parts = entry.key.split("/")
        if any(_is_hidden(part) for part in parts[1:]):
            continue
        if len(parts) <= 2:  # in designs/ (or designs/ itself, when its listing was refused)
            top.append(entry)
        else:
            inside[f"{parts[0]}/{parts[1]}"].append(entry)
    for folder in inside.values():
        folder.sort(key=lambda entry: entry.name)
    return sorted(top, key=lambda entry: entry.name), inside


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name.lower() in IGNORED_NAMES


def parse_metadata(text: str) -> tuple[dict[str, str], str]:
    """Split a Pelican-style file into its "Key: value" header (keys lowercased) and body.

    The header ends at the first blank line or the first line that is not "Key: value";
    indented lines continue the previous value. Unknown keys are kept; callers ignore them.
    """
    meta: dict[str, str] = {}
    lines = text.lstrip("\ufeff").splitlines()
    key = None
    body_start = len(lines)
    for index, line in enumerate(lines):
        if key and line[:1] in (" ", "\t") and line.strip():
            meta[key] = f"{meta[key]} {line.strip()}".strip()
        elif match := _META_LINE.match(line):
            key = match.group(1).lower()
            meta[key] = match.group(2).strip()
        else:
            body_start = index
            break
    return meta, "\n".join(lines[body_start:]).strip()


def render_markdown(text: str) -> str:
    """Markdown to HTML that is safe to embed: raw HTML escaped, unsafe link schemes dropped."""
    return _render_markdown(text) if text.strip() else ""


@lru_cache(maxsize=2048)  # rescans (watch mode, rebuilds) mostly meet unchanged sidecars
def _render_markdown(text: str) -> str:
    with _md_lock:
        converter = _markdown()
        converter.reset()
        return converter.convert(text)


def title_from_name(name: str) -> str:
    """A readable title from a file or folder name: "ruby-french_tips 02" -> "Ruby French Tips 02".

    Lowercase words get a capital; words with capitals of their own ("OPI", "McRae") stay.
    """
    words = [word for word in _WORD_BREAK.split(name) if word]
    titled = " ".join(word[:1].upper() + word[1:] if word.islower() else word for word in words)
    return titled or name.strip() or "Untitled"


def is_camera_name(stem: str) -> bool:
    """True for names a camera, phone or chat app gives a photo: never a visitor's title."""
    folded = stem.strip().lower()
    if folded.startswith(_GENERIC_STARTS):
        return True
    first, *rest = [word for word in _CAMERA_WORD_BREAK.split(folded) if word] or [""]
    return (
        bool(first)
        and _CAMERA_WORD.fullmatch(first) is not None
        and all(_CAMERA_NOISE.fullmatch(word) for word in rest)
    )


def date_from_camera_name(stem: str) -> datetime | None:
    """The day a camera or chat app wrote into a file name (PXL_20260301_..., WhatsApp Image
    2026-03-01 ...), if it is a camera's name and holds a real date."""
    if not is_camera_name(stem) or not (match := _NAME_DATE.search(stem)):
        return None
    try:
        return datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return None  # 20260231: digits that only look like a date


def title_untitled(designs: Sequence[PublishedDesign]) -> list[PublishedDesign]:
    """Give untitled designs their published title: "Design by Ana, 1 March 2026" from the
    designer and the design's date; " (2)", " (3)"... for more of hers on the same day,
    numbered in date order. Titled designs are returned unchanged."""
    same_day: defaultdict[tuple[str, str], list[PublishedDesign]] = defaultdict(list)
    for design in designs:
        if design.source.untitled:
            base = f"Design by {design.source.designer.name}, {_day_text(design.date)}"
            same_day[(design.source.designer.slug, base)].append(design)
    titles: dict[str, str] = {}
    for (_, base), group in same_day.items():
        ordered = sorted(group, key=lambda design: (design.date, design.source.key))
        for number, design in enumerate(ordered, start=1):
            titles[design.source.key] = base if number == 1 else f"{base} ({number})"
    return [
        replace(design, source=replace(design.source, title=titles[design.source.key]))
        if design.source.key in titles
        else design
        for design in designs
    ]


def _day_text(moment: datetime) -> str:
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def split_list(value: str) -> tuple[str, ...]:
    """Comma- (or semicolon-) separated values: trimmed, lowercased, deduplicated, in order."""
    items = (" ".join(item.split()).lower() for item in re.split(r"[,;]", value))
    return tuple(dict.fromkeys(item for item in items if item))


def parse_date(value: str) -> datetime:
    """A sidecar date ("2026-03-01", "2026-03-01 14:30"...) as a naive datetime.

    Raises ValueError with a message fit for the designer.
    """
    try:
        parsed = datetime.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        raise ValueError(f"Date: {value!r} is not a date; {DATE_HINT}") from None
    return parsed.replace(tzinfo=None)


def parse_price(value: str) -> Price:
    """A sidecar price ("45 EUR", "EUR 45", "€45", "45,50 €"). Raises ValueError with a
    message fit for the designer."""
    match = _PRICE.fullmatch(value.strip())
    signs = [sign for sign in (match["before"], match["after"]) if sign] if match else []
    if not match or len(signs) != 1:
        raise ValueError(f"Price: {value!r} is not a price with its currency; {PRICE_HINT}")
    currency = CURRENCY_SIGNS.get(signs[0], signs[0].upper())
    return Price(Decimal(match["amount"].replace(",", ".")), currency)


def parse_duration(value: str) -> int:
    """A sidecar duration in minutes ("90 min", "1 h 30 min", "1.5 h", "2 hours"). Raises
    ValueError with a message fit for the designer."""
    text = value.strip()
    parts = list(_DURATION_PART.finditer(text))
    rest = _DURATION_PART.sub("", text)
    if not parts or not re.fullmatch(r"(?:[\s,]|and)*", rest):
        raise ValueError(f"Duration: {value!r} is not a length of time; {DURATION_HINT}")
    minutes = 0.0
    for part in parts:
        number = float(part["number"].replace(",", "."))
        minutes += number * 60 if part["unit"].lower().startswith("h") else number
    if not 0 < round(minutes) <= MAX_DURATION:
        raise ValueError(f"Duration: {value!r} is not between 1 minute and 24 hours")
    return round(minutes)


class _Scanner:
    """Collects designs and problems while walking designer folders."""

    def __init__(self, store: ContentStore, prefix: str, cache: SidecarCache) -> None:
        self.store = store
        self.prefix = prefix  # the content root as problems show it: "" or "content/"
        self.cache = cache
        self.designs: list[DesignSource] = []
        self.problems: list[ContentProblem] = []

    def problem(self, key: str, reason: str, *, warning: bool = False) -> None:
        self.problems.append(ContentProblem(f"{self.prefix}{key}", reason, warning))

    def scan_folder(
        self,
        folder: ContentEntry,
        entries: Sequence[ContentEntry],
        designer_slug: str,
        only: str | None = None,
    ) -> Designer:
        """Scan one designer folder; returns its Designer and records its designs (or, given
        `only`, the design at that key alone, leaving the other sidecars unread)."""
        designer_file: str | None = None
        sidecars: dict[str, ContentEntry] = {}  # by stem
        images: dict[str, ContentEntry] = {}
        for entry in entries:
            if entry.kind is EntryKind.LINK:  # a linked sidecar only costs its design the metadata
                self.problem(entry.key, _link_reason(entry), warning=_is_markdown(entry.name))
            elif entry.kind in (EntryKind.FOLDER, EntryKind.UNREADABLE):
                where = f"{self.prefix}{folder.key}"
                self.problem(
                    entry.key, f"sub-folders are not scanned; move its images up into {where}/"
                )
            elif entry.kind is not EntryKind.FILE:
                self.problem(
                    entry.key, "broken link or not a regular file; replace it with the file"
                )
            elif entry.name.lower() == DESIGNER_FILE:
                designer_file = entry.key
            elif _is_markdown(entry.name):
                sidecars[entry.stem] = entry
            else:
                images[entry.name] = entry
        designer = self._designer(folder, designer_slug, designer_file)
        stems = {name: entry.stem for name, entry in images.items()}
        slugs = unique_slugs(stems)
        # A sidecar named exactly after an image belongs to it alone; the others may match by case.
        image_stems = set(stems.values())  # a set: a folder of 1,000 designs is 1,000 lookups
        loose = {stem: found for stem, found in sidecars.items() if stem not in image_stems}
        used: set[str] = set()
        for name, entry in images.items():
            if only is not None and entry.key != only:
                continue
            sidecar = _find_sidecar(stems[name], sidecars, loose)
            if sidecar is not None:
                used.add(sidecar.key)
            self.designs.append(self._design(entry, designer, slugs[name], sidecar))
        for stem, found in sidecars.items():
            if found.key not in used and only is None:
                reason = f"no image named {stem}.* beside this sidecar; rename one to match"
                self.problem(found.key, reason, warning=True)
        return designer

    def _designer(self, folder: ContentEntry, slug: str, designer_file: str | None) -> Designer:
        meta, body = self._read_markdown(designer_file) if designer_file else ({}, "")
        name = meta.get("name") or meta.get("title") or title_from_name(folder.name)
        bio = "\n\n".join(part for part in (meta.get("bio", ""), body) if part)
        account = meta.get("account", "").strip().lower()  # as identity folds emails
        return Designer(slug=slug, name=name, bio=render_markdown(bio), account=account)

    def _design(
        self,
        entry: ContentEntry,
        designer: Designer,
        slug: str,
        sidecar: ContentEntry | None,
    ) -> DesignSource:
        stem = entry.stem
        meta, description = self._read_sidecar(sidecar) if sidecar else ({}, "")
        untitled = not meta.get("title") and is_camera_name(stem)
        if untitled:  # a stand-in: title_untitled adds the design's date when publishing
            title, alt = f"Design by {designer.name}", f"Nail design by {designer.name}"
        else:
            title = meta.get("title") or title_from_name(stem)
            alt = f"{title} nail design by {designer.name}"
        where = sidecar.key if sidecar else entry.key
        date = self._parsed(where, meta.get("date"), parse_date)
        price = self._parsed(where, meta.get("price"), parse_price)
        duration = self._parsed(where, meta.get("duration"), parse_duration) or 0
        return DesignSource(
            key=f"{designer.slug}/{slug}",
            path=entry.path or Path(entry.key),
            rel_path=entry.key,
            designer=designer,
            slug=slug,
            title=title,
            tags=split_list(meta.get("tags", "")),
            colours=split_list(meta.get("colours") or meta.get("colors", "")),
            technique=meta.get("technique", ""),
            date=date,
            description=description,
            alt=meta.get("alt") or alt,
            mtime=entry.modified,
            untitled=untitled,
            size=entry.size,
            version=entry.version,
            price=price,
            duration=duration,
        )

    def _parsed(self, key: str, value: str | None, parse: Callable[[str], _T]) -> _T | None:
        """A sidecar value parsed, or None when absent or bad (a bad one is a warning)."""
        if not value:
            return None
        try:
            return parse(value)
        except ValueError as error:
            self.problem(key, str(error), warning=True)
            return None

    def _read_sidecar(self, entry: ContentEntry) -> tuple[dict[str, str], str]:
        """A sidecar's metadata and its body as HTML, from the cache while it is unchanged."""
        cached = self.cache.get(entry)
        if cached is not None:
            return cached
        problems = len(self.problems)
        meta, body = self._read_markdown(entry.key)
        parsed = meta, render_markdown(body)
        if len(self.problems) == problems:  # trouble is reported by every scan
            self.cache.put(entry, *parsed)
        return parsed

    def _read_markdown(self, key: str) -> tuple[dict[str, str], str]:
        """Metadata and body of a sidecar or designer.md; a problem and nothing if unreadable."""
        try:
            data = self.store.read(key, MAX_SIDECAR_BYTES)
        except ContentUnreadable as error:
            self.problem(key, error.reason, warning=True)
            return {}, ""
        if len(data) > MAX_SIDECAR_BYTES:
            reason = f"larger than {MAX_SIDECAR_BYTES // 1024} KB; shorten it"
            self.problem(key, reason, warning=True)
            return {}, ""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.problem(key, "not UTF-8 text; save it as UTF-8", warning=True)
            return {}, ""
        return parse_metadata(text)


class SidecarCache:
    """Parsed sidecars kept in a JSON file between scans, by key, size and version (mtime
    locally, ETag on S3): an unchanged sidecar is neither read, nor parsed, nor rendered from
    Markdown again.

    Only sidecars read without trouble are kept, and only those the last scan met. With no
    file (None) it caches nothing.
    """

    VERSION = 2

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, list] = {}
        self._seen: dict[str, list] = {}
        if path is None:
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("version") == self.VERSION:
            self._entries = data.get("sidecars", {})

    def get(self, entry: ContentEntry) -> tuple[dict[str, str], str] | None:
        found = self._entries.get(entry.key)
        if found is None or found[:2] != [entry.size, entry.version]:
            return None
        self._seen[entry.key] = found
        return dict(found[2]), found[3]

    def put(self, entry: ContentEntry, meta: dict[str, str], html: str) -> None:
        # A file changed within the clock's granularity of its mtime could change again
        # under the same mtime and size: such a file is kept only once it has settled.
        if self.path is not None and time.time() - entry.modified > RACY_SECONDS:
            self._seen[entry.key] = [entry.size, entry.version, meta, html]

    def save(self) -> None:
        """Write the sidecars this scan met, when they differ from the file's."""
        if self.path is None or self._seen == self._entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        data = {"version": self.VERSION, "sidecars": self._seen}
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)


def _is_markdown(name: str) -> bool:
    return name.lower().endswith(SIDECAR_SUFFIX)


def _link_reason(entry: ContentEntry) -> str:
    """Why a symbolic link is refused: following it could publish any file on the disk."""
    kind = "folder" if entry.to_folder else "file"
    return f"is a symbolic link; copy the {kind} in instead"


def _find_sidecar(
    stem: str, sidecars: dict[str, ContentEntry], loose: dict[str, ContentEntry]
) -> ContentEntry | None:
    """The sidecar named like the image's stem, else the one unclaimed sidecar matching by case."""
    if stem in sidecars:
        return sidecars[stem]
    matches = [key for loose_stem, key in loose.items() if loose_stem.casefold() == stem.casefold()]
    return matches[0] if len(matches) == 1 else None


class _SafeLinks(Treeprocessor):
    """Drop href/src values whose scheme could run code; mark links as user content."""

    def run(self, root: Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and not _is_safe_url(value):
                    del element.attrib[attribute]
            if element.tag == "a":
                element.set("rel", "nofollow ugc noopener")


def _is_safe_url(url: str) -> bool:
    plain = _URL_IGNORED.sub("", html.unescape(url.replace(AMP_SUBSTITUTE, "&"))).lower()
    match = _URL_SCHEME.match(plain)
    return match is None or match.group(1) in SAFE_URL_SCHEMES


@cache
def _markdown() -> markdown.Markdown:
    """One shared converter (guarded by _md_lock): building one costs more than converting."""
    converter = markdown.Markdown(output_format="html")
    converter.preprocessors.deregister("html_block")  # raw HTML blocks become escaped text
    converter.inlinePatterns.deregister("html")  # and so do inline tags and comments
    converter.treeprocessors.register(_SafeLinks(converter), "safe_links", 0)
    return converter
