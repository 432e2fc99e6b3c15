"""What a visitor's browser fetches from the built site (output/), for `build.py cost`.

Read from the real files, the way a phone loads them:
- HTML, CSS, JavaScript and SVG count gzip-compressed (CloudFront compresses them; Brotli
  would be smaller still), images as they are;
- a page's images: for a <picture>, its first WebP <source> (every current phone takes
  WebP) at the candidate a phone PHONE_CSS_PX wide at PHONE_DPR picks from its srcset and
  sizes; else the <img>'s own srcset or src;
- a design page: its HTML and images, averaged over every design page;
- a listing page: index.html, and the average of its card images apart (a small sample
  site's front page holds fewer cards than a full one: the cost model says how many load);
- the shared assets (stylesheets, module scripts with their static imports, the icon) of
  both, counted once: they are versioned and cached for a year, so a visit loads them once.
Nothing is decoded or executed.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

PHONE_CSS_PX = 390  # a current phone's viewport width in CSS pixels
PHONE_DPR = 3.0  # and its device pixel ratio (the larger candidates: an upper estimate)
REM_PX = 16
COMPRESSED = frozenset({".html", ".css", ".js", ".svg", ".json", ".xml", ".txt"})
_IMPORT = re.compile(r"""(?:^|[;\s])import\s*(?:[^"';]*?\sfrom\s*)?["']([^"']+)["']""")
_SLOT = re.compile(r"^(?:calc\(\s*)?(\d+(?:\.\d+)?)vw(?:\s*-\s*(\d+(?:\.\d+)?)(rem|px)\s*\))?$")


@dataclass(frozen=True)
class Fetches:
    """What one page makes the browser fetch: bytes on the wire and requests."""

    bytes: float
    requests: float


@dataclass(frozen=True)
class PageWeights:
    """The built site's weights (or DEFAULT_WEIGHTS when there is no built site)."""

    design_page: Fetches  # HTML + its image, averaged over design pages
    listing_html: Fetches  # index.html alone
    card_image: Fetches  # one of its card images, on average
    assets: Fetches  # stylesheets, scripts, icon: once a visit
    variant_bytes: float  # every variant file of one design, as stored
    variants: float  # variant files per design
    source: str  # where the figures come from


# Measured on the repository's sample gallery (12 designs) on 2026-12-02, rounded up:
# 46 KB and 2 requests a design page, 3 KB the index's HTML and 10 KB a card image,
# 12 KB and 5 requests the assets, 175 KB in 5 files the variants of a design.
DEFAULT_WEIGHTS = PageWeights(
    design_page=Fetches(50_000, 2),
    listing_html=Fetches(3_500, 1),
    card_image=Fetches(11_000, 1),
    assets=Fetches(15_000, 5),
    variant_bytes=200_000,
    variants=5,
    source="defaults measured on the sample gallery (no built site found: run build first)",
)


def read_page_weights(output_dir: Path) -> PageWeights | None:
    """The weights of the site built in output_dir; None if there is none (no index.html
    or no design page)."""
    index = output_dir / "index.html"
    design_pages = sorted((output_dir / "designs").glob("*/*/index.html"))
    if not index.is_file() or not design_pages:
        return None
    site = _Site(output_dir)
    designs = [site.page(path) for path in design_pages]
    html, cards = site.page(index)
    count, files, total = _variants(output_dir / "img")
    return PageWeights(
        design_page=Fetches(
            sum(html + sum(images) for html, images in designs) / len(designs),
            sum(1 + len(images) for _, images in designs) / len(designs),
        ),
        listing_html=Fetches(html, 1),
        card_image=Fetches(sum(cards) / len(cards), 1) if cards else Fetches(0, 0),
        assets=site.assets(),
        variant_bytes=total / count if count else DEFAULT_WEIGHTS.variant_bytes,
        variants=files / count if count else DEFAULT_WEIGHTS.variants,
        source=f"measured in {output_dir} ({len(design_pages)} design pages)",
    )


def wire_bytes(path: Path) -> int:
    """Bytes on the wire: gzip-compressed for text, as stored for images."""
    data = path.read_bytes()
    if path.suffix.lower() in COMPRESSED:
        return len(gzip.compress(data, compresslevel=6, mtime=0))
    return len(data)


def pick_candidate(srcset: str, sizes: str) -> str:
    """The srcset URL a phone (PHONE_CSS_PX wide at PHONE_DPR) fetches: the smallest
    candidate at least as wide as the slot in device pixels, else the widest."""
    candidates: list[tuple[float, str]] = []
    for item in srcset.split(","):
        url, _, descriptor = item.strip().partition(" ")
        descriptor = descriptor.strip()
        width = float(descriptor[:-1]) if descriptor.endswith("w") else 0.0
        candidates.append((width, url))
    needed = slot_px(sizes) * PHONE_DPR
    wide_enough = sorted(c for c in candidates if c[0] >= needed)
    return (wide_enough[0] if wide_enough else max(candidates))[1]


def slot_px(sizes: str) -> float:
    """The slot width in CSS pixels from the last (unconditional) entry of `sizes`:
    Nvw or calc(Nvw - M rem|px); a full-width slot when it says something else."""
    last = sizes.split(",")[-1].strip() if sizes else ""
    match = _SLOT.match(last)
    if not match:
        return float(PHONE_CSS_PX)
    share, minus, unit = match.groups()
    cut = float(minus or 0) * (REM_PX if unit == "rem" else 1)
    return PHONE_CSS_PX * float(share) / 100 - cut


class _Site:
    """The files of one built site, and the assets its pages share."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.shared: set[Path] = set()

    def page(self, path: Path) -> tuple[int, list[int]]:
        """The page's own bytes on the wire and each of its images'; its assets are noted."""
        parser = _Tags()
        parser.feed(path.read_text(encoding="utf-8"))
        files = [self._file(path, url) for url in parser.images]
        images = [wire_bytes(file) for file in files if file is not None]
        for url in parser.assets:
            file = self._file(path, url)
            if file is not None:
                self.shared.update(self._with_imports(file))
        return wire_bytes(path), images

    def assets(self) -> Fetches:
        return Fetches(sum(wire_bytes(f) for f in self.shared), len(self.shared))

    def _file(self, page: Path, url: str) -> Path | None:
        """The file a URL in `page` names, inside the site; None for data:, other hosts or
        files not there."""
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path:
            return None
        base = self.root if parts.path.startswith("/") else page.parent
        target = (base / parts.path.lstrip("/")).resolve()
        inside = target.is_relative_to(self.root.resolve())
        return target if inside and target.is_file() else None

    def _with_imports(self, file: Path) -> set[Path]:
        """A script with the modules it imports statically (and theirs)."""
        found = {file}
        if file.suffix != ".js":
            return found
        for name in _IMPORT.findall(file.read_text(encoding="utf-8")):
            imported = self._file(file, name)
            if imported is not None and imported not in self.shared:
                found |= self._with_imports(imported)
        return found


class _Tags(HTMLParser):
    """The URLs a page makes the browser fetch: its images (a phone's choice inside a
    <picture> or a srcset) and its shared assets."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.assets: list[str] = []
        self._picture: str | None = None  # the chosen source of the open <picture>
        self._in_picture = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "picture":
            self._in_picture, self._picture = True, None
        elif tag == "source" and self._in_picture and self._picture is None:
            if attr.get("srcset") and attr.get("type", "image/webp") == "image/webp":
                self._picture = pick_candidate(attr["srcset"], attr.get("sizes", ""))
        elif tag == "img":
            own = attr.get("srcset")
            chosen = pick_candidate(own, attr.get("sizes", "")) if own else attr.get("src", "")
            url = self._picture if self._in_picture and self._picture else chosen
            self.images.append(url)
        elif tag == "link" and {"stylesheet", "icon"} & set(attr.get("rel", "").split()):
            self.assets.append(attr.get("href", ""))
        elif tag == "script" and attr.get("src"):
            self.assets.append(attr["src"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "picture":
            self._in_picture = False


def _variants(img_dir: Path) -> tuple[int, int, int]:
    """(designs, variant files, their bytes) in the site's img/ folder; a variant's name
    starts with its image's content hash ("<hash>-<settings>-<variant>.<ext>")."""
    if not img_dir.is_dir():
        return 0, 0, 0
    files = [path for path in img_dir.iterdir() if path.is_file()]
    designs = {path.name.split("-")[0] for path in files}
    return len(designs), len(files), sum(path.stat().st_size for path in files)
