"""The gallery as data: published designs sorted, grouped and ready for the templates.

`gallery_views` turns PublishedDesign records into DesignViews (URLs, responsive sources,
term links, a safe placeholder style) grouped by designer, tag, colour and technique. It knows
URLs and names, never files or templates: the Pelican plugin (nailfolio.gallery.pelican_plugin)
renders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote

from markupsafe import Markup

from nailfolio.errors import ConfigError
from nailfolio.gallery import palette
from nailfolio.gallery.models import Designer, PublishedDesign, Rendition, Variant
from nailfolio.gallery.slugs import slugify

TERM_KINDS = {"tags": "Tags", "colours": "Colours", "techniques": "Techniques"}
MIME_TYPES = {"webp": "image/webp", "avif": "image/avif", "jpeg": "image/jpeg", "png": "image/png"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
# Polish names a browser does not know as CSS colours (or knows as another colour); other
# names are tried as CSS colours.
POLISH_COLOURS = {
    "nude": "#e3bc9a", "blush": "#de98a1", "burgundy": "#800020", "champagne": "#f7e7ce",
    "lilac": "#c8a2c8", "mauve": "#b784a7", "berry": "#8e3a59", "rosegold": "#b76e79",
    "mint": "#98d8b1", "cherry": "#b0122e", "wine": "#722f37", "chrome": "#c0c0c0",
    "nudepink": "#e8b4a8", "sage": "#9caf88", "emerald": "#2e8b57", "cream": "#fff4dc",
    "lemon": "#fff44f", "pearl": "#eae0c8", "ruby": "#9b111e", "rubyred": "#9b111e",
    "tangerine": "#f28500", "peach": "#ffcba4", "bronze": "#cd7f32", "copper": "#b87333",
    "taupe": "#8b7d6b", "charcoal": "#36454f",
    # CSS knows these, but not as polish: its plum is pale, its chocolate orange (the shades
    # of nailfolio.gallery.shades, so a tag read from the pixels shows the colour it names)
    "lavender": "#b7a7e8", "violet": "#7b3fb2", "plum": "#5e2350", "chocolate": "#3f2518",
    "magenta": "#c2187a", "brown": "#6b4226",
}  # fmt: skip
_CSS_COLOUR = re.compile(r"#(?:[0-9a-f]{3}|[0-9a-f]{6})|[a-z]{3,24}")
_PLACEHOLDER = re.compile(r"data:image/(?:webp|jpeg|png|gif|avif);base64,[A-Za-z0-9+/=]+")
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
# Words a title keeps lowercase unless they start it ("French with a Twist").
_SMALL_WORDS = frozenset(
    {"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}
)
_WORD = re.compile(r"(?<![\w'’])[^\W\d_][\w'’]*")
CURRENCY_SIGNS = {"EUR": "€", "GBP": "£", "USD": "$"}


@dataclass(frozen=True)
class Link:
    """A named link to a listing page; colours also carry a CSS colour for their swatch."""

    name: str
    url: str
    swatch: str = ""


@dataclass(frozen=True)
class DesignView:
    """One published design with everything its card and its page show."""

    design: PublishedDesign
    designer: Designer
    url: str
    designer_url: str
    thumb: Variant
    fallback: Variant
    sources: tuple[tuple[str, tuple[Variant, ...]], ...]  # (mime type, variants by width)
    tags: tuple[Link, ...]
    colours: tuple[Link, ...]
    technique: Link | None
    placeholder_style: str

    @property
    def key(self) -> str:
        return self.design.source.key

    @property
    def title(self) -> str:
        return self.design.source.title

    @property
    def alt(self) -> str:
        return self.design.source.alt or self.design.source.title

    @property
    def description(self) -> Markup:
        """The description HTML, sanitized upstream by the content scanner."""
        return Markup(self.design.source.description)

    @property
    def price_text(self) -> str:
        """ "€45", "€45.50", "45 CHF"; "" without a price."""
        price = self.design.source.price
        if price is None:
            return ""
        amount = f"{price.amount:.2f}" if price.amount % 1 else f"{price.amount:.0f}"
        sign = CURRENCY_SIGNS.get(price.currency)
        return f"{sign}{amount}" if sign else f"{amount} {price.currency}"

    @property
    def duration_text(self) -> str:
        """ "90 min" under two hours, else "2 h 30 min"; "" without a duration."""
        minutes = self.design.source.duration
        if not minutes:
            return ""
        if minutes < 120:
            return f"{minutes} min"
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"

    @property
    def date_iso(self) -> str:
        return as_utc(self.design.date).isoformat()

    @property
    def date_text(self) -> str:
        date = self.design.date
        return f"{date.day} {MONTHS[date.month - 1]} {date.year}"


@dataclass(frozen=True)
class Group:
    """A designer, tag, colour or technique with its designs, newest first."""

    kind: str  # "designers" or one of TERM_KINDS
    name: str
    url: str
    designs: tuple[DesignView, ...]
    swatch: str = ""
    bio: Markup = field(default_factory=Markup)


@dataclass(frozen=True)
class Gallery:
    designs: tuple[DesignView, ...]  # newest first
    designers: tuple[Group, ...]  # by name
    terms: tuple[tuple[str, tuple[Group, ...]], ...]  # (kind, groups by name)
    similar: Mapping[str, tuple[DesignView, ...]] = field(default_factory=dict)  # by key


def gallery_views(
    designs: Sequence[PublishedDesign], designers: Sequence[Designer] = ()
) -> Gallery:
    """Sort the designs newest first and group them by designer, tag, colour and technique."""
    known = {designer.slug: designer for designer in designers}
    ordered = sorted(designs, key=lambda d: (as_utc(d.date), d.source.key), reverse=True)
    views = tuple(
        _design_view(d, known.get(d.source.designer.slug, d.source.designer)) for d in ordered
    )
    by_designer: dict[str, list[DesignView]] = {}
    for view in views:
        by_designer.setdefault(view.designer.slug, []).append(view)
    designer_groups = [_designer_group(vs) for vs in by_designer.values()]
    terms = tuple((kind, _term_groups(kind, views)) for kind in TERM_KINDS)
    return Gallery(views, _by_name(designer_groups), terms, _similar(views))


def _similar(views: Sequence[DesignView]) -> dict[str, tuple[DesignView, ...]]:
    """Each design's nearest designs by palette (nailfolio.gallery.palette.similar)."""
    by_key = {view.key: view for view in views}
    found = palette.similar({key: view.design.rendition.palette for key, view in by_key.items()})
    return {key: tuple(by_key[other] for other in keys) for key, keys in found.items()}


def _designer_group(views: Sequence[DesignView]) -> Group:
    designer = views[0].designer
    url = views[0].designer_url
    return Group("designers", designer.name, url, tuple(views), bio=Markup(designer.bio))


def _term_groups(kind: str, views: Sequence[DesignView]) -> tuple[Group, ...]:
    found: dict[str, tuple[Link, list[DesignView]]] = {}
    for view in views:
        links = {"tags": view.tags, "colours": view.colours}.get(kind)
        if links is None:
            links = (view.technique,) if view.technique else ()
        for link in links:
            found.setdefault(link.url, (link, []))[1].append(view)
    return _by_name(
        Group(kind, link.name, link.url, tuple(vs), swatch=link.swatch)
        for link, vs in found.values()
    )


def _by_name(groups: Iterable[Group]) -> tuple[Group, ...]:
    return tuple(sorted(groups, key=lambda g: g.name.casefold()))


def _design_view(design: PublishedDesign, designer: Designer) -> DesignView:
    source, rendition = design.source, design.rendition
    variants = rendition.variants
    if not variants:
        raise ConfigError(f"{source.key}: its rendition has no variants; render it again")
    by_width = sorted(variants, key=lambda v: v.width)
    responsive = [v for v in by_width if v.role == "responsive"]
    fallback = next((v for v in variants if v.role == "fallback"), (responsive or by_width)[-1])
    thumb = next((v for v in variants if v.role == "thumb"), (responsive or by_width)[0])
    sources = tuple(
        (MIME_TYPES[fmt], tuple(v for v in responsive if v.format == fmt))
        for fmt in dict.fromkeys(v.format for v in responsive)
        if fmt in MIME_TYPES
    )
    style = ""
    if _HEX.fullmatch(rendition.dominant_colour):
        style = f"background-color:{rendition.dominant_colour};"
    if _PLACEHOLDER.fullmatch(rendition.placeholder):
        style += f"background-image:url({rendition.placeholder})"
    return DesignView(
        design=design,
        designer=designer,
        url=f"designs/{quote(designer.slug)}/{quote(source.slug)}/",
        designer_url=f"designers/{quote(designer.slug)}/",
        thumb=thumb,
        fallback=fallback,
        sources=sources,
        tags=_links("tags", source.tags),
        colours=_links("colours", source.colours or _shades(rendition)),
        technique=next(iter(_links("techniques", (source.technique,))), None),
        placeholder_style=style,
    )


def _shades(rendition: Rendition) -> tuple[str, ...]:
    """The named shades read from the pixels: a design's colours when its sidecar has none."""
    return tuple(swatch.shade for swatch in rendition.palette)


def _links(kind: str, names: Sequence[str]) -> tuple[Link, ...]:
    """Links to the listing pages of these names, one per slug, in their given order."""
    links: dict[str, Link] = {}
    for name in (n.strip() for n in names):
        if name:
            slug, link = _link(kind, name)
            links.setdefault(slug, link)
    return tuple(links.values())


@lru_cache(maxsize=4096)  # a gallery repeats a few dozen names over thousands of designs
def _link(kind: str, name: str) -> tuple[str, Link]:
    slug = slugify(name, fallback=kind.removesuffix("s"))
    swatch = css_colour(name) if kind == "colours" else ""
    shown = term_title(name) if kind in ("tags", "colours") else name
    return slug, Link(shown, f"{kind}/{slug}/", swatch)


def term_title(name: str) -> str:
    """A tag or colour as a title: "french with a twist" -> "French with a Twist", "cat-eye"
    -> "Cat-Eye". Sidecars' tags are lowercased; words with capitals of their own stay."""

    def titled(match: re.Match[str]) -> str:
        word = match.group()
        if not word.islower() or (match.start() and word in _SMALL_WORDS):
            return word
        return word[0].upper() + word[1:]

    return _WORD.sub(titled, name)


def css_colour(name: str) -> str:
    """A safe CSS colour for a colour name: a known polish name, #hex or a bare CSS keyword.

    Unknown words pass through; the browser ignores those it does not know (the swatch is then
    empty, and the name is always shown as text beside it).
    """
    word = re.sub(r"[\s_-]+", "", name.strip().lower())
    word = POLISH_COLOURS.get(word, word)
    return word if _CSS_COLOUR.fullmatch(word) else ""


def as_utc(moment: datetime) -> datetime:
    """The moment itself if it is aware; a naive one is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
