"""Pelican plugin: writes the gallery pages, the Atom feed, sitemap.xml and robots.txt.

Settings it reads (all optional: with no designs it renders an empty gallery):
  NAILFOLIO_DESIGNS         sequence of nailfolio.models.PublishedDesign to publish
  NAILFOLIO_DESIGNERS       sequence of nailfolio.models.Designer (names and bios by slug)
  NAILFOLIO_RENDITIONS_DIR  folder holding every Variant file by name; each is published at
                            img/<variant.name> as a hard link, or a copy across filesystems
  NAILFOLIO_PER_PAGE        designs per listing page (default 24)
  NAILFOLIO_EAGER_IMAGES    thumbnails loaded eagerly at the top of a listing page (default 4)
  NAILFOLIO_FEED_SIZE       designs in the Atom feed (default 20)
  SITEURL, SITENAME, SITESUBTITLE, DEFAULT_LANG
It adds NAILFOLIO_ASSET_VERSION to every template's context: a hash of the theme's site.css,
appended to its URL so the CSS can be cached for long.

URL layout (each page is <path>/index.html, linked as <path>/; links are document-relative):
  ""  "page/<n>/"                      the gallery, newest first
  "designs/<designer>/<design>/"       one page per design
  "designers/"  "designers/<slug>/"    (listings continue at <listing>/page/<n>/)
  "tags/" "tags/<slug>/", "colours/"..., "techniques/"...
  feeds/designs.atom.xml, sitemap.xml, robots.txt, 404.html, img/<variant.name>
Templates: gallery, design, designer, designers, term, terms and 404 (.html), all extending
base.html; Pelican's own pages from content/pages use page.html.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from feedgenerator import Atom1Feed
from markupsafe import Markup
from pelican import signals
from pelican.generators import Generator

from nailfolio.errors import ConfigError
from nailfolio.models import Designer, PublishedDesign, Variant
from nailfolio.slugs import slugify

PER_PAGE = 24
EAGER_IMAGES = 4
FEED_SIZE = 20
FEED_PATH = "feeds/designs.atom.xml"
TERM_KINDS = {"tags": "Tags", "colours": "Colours", "techniques": "Techniques"}
MIME_TYPES = {"webp": "image/webp", "avif": "image/avif", "jpeg": "image/jpeg", "png": "image/png"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
# Polish names a browser does not know as CSS colours; other names are tried as CSS colours.
POLISH_COLOURS = {
    "nude": "#e3bc9a", "blush": "#de98a1", "burgundy": "#800020", "champagne": "#f7e7ce",
    "lilac": "#c8a2c8", "mauve": "#b784a7", "berry": "#8e3a59", "rosegold": "#b76e79",
    "mint": "#98d8b1", "cherry": "#b0122e", "wine": "#722f37", "chrome": "#c0c0c0",
    "nudepink": "#e8b4a8", "sage": "#9caf88", "emerald": "#2e8b57", "cream": "#fff4dc",
    "lemon": "#fff44f", "pearl": "#eae0c8", "ruby": "#9b111e", "rubyred": "#9b111e",
    "tangerine": "#f28500", "peach": "#ffcba4", "bronze": "#cd7f32", "copper": "#b87333",
    "taupe": "#8b7d6b", "charcoal": "#36454f",
}  # fmt: skip
_CSS_COLOUR = re.compile(r"#(?:[0-9a-f]{3}|[0-9a-f]{6})|[a-z]{3,24}")
_PLACEHOLDER = re.compile(r"data:image/(?:webp|jpeg|png|gif|avif);base64,[A-Za-z0-9+/=]+")
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


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
    def date_iso(self) -> str:
        return _aware(self.design.date).isoformat()

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


@dataclass(frozen=True)
class Pager:
    number: int
    count: int
    prev_url: str | None
    next_url: str | None


def build_gallery(
    designs: Sequence[PublishedDesign], designers: Sequence[Designer] = ()
) -> Gallery:
    """Sort the designs newest first and group them by designer, tag, colour and technique."""
    known = {designer.slug: designer for designer in designers}
    ordered = sorted(designs, key=lambda d: (_aware(d.date), d.source.key), reverse=True)
    views = tuple(
        _design_view(d, known.get(d.source.designer.slug, d.source.designer)) for d in ordered
    )
    by_designer: dict[str, list[DesignView]] = {}
    for view in views:
        by_designer.setdefault(view.designer.slug, []).append(view)
    designer_groups = [_designer_group(vs) for vs in by_designer.values()]
    terms = tuple((kind, _term_groups(kind, views)) for kind in TERM_KINDS)
    return Gallery(views, _by_name(designer_groups), terms)


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
        colours=_links("colours", source.colours),
        technique=next(iter(_links("techniques", (source.technique,))), None),
        placeholder_style=style,
    )


def _links(kind: str, names: Sequence[str]) -> tuple[Link, ...]:
    """Links to the listing pages of these names, one per slug, in their given order."""
    links = {}
    for name in (n.strip() for n in names):
        slug = slugify(name, fallback=kind.removesuffix("s"))
        if name and slug not in links:
            swatch = css_colour(name) if kind == "colours" else ""
            links[slug] = Link(name, f"{kind}/{slug}/", swatch)
    return tuple(links.values())


def css_colour(name: str) -> str:
    """A safe CSS colour for a colour name: a known polish name, #hex or a bare CSS keyword.

    Unknown words pass through; the browser ignores those it does not know (the swatch is then
    empty, and the name is always shown as text beside it).
    """
    word = re.sub(r"[\s_-]+", "", name.strip().lower())
    word = POLISH_COLOURS.get(word, word)
    return word if _CSS_COLOUR.fullmatch(word) else ""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _absolute(siteurl: str, path: str) -> str:
    return f"{siteurl}/{path}"


def _plain(html: str, limit: int = 160) -> str:
    text = " ".join(Markup(html).striptags().split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


def _listing_description(group: Group) -> str:
    if group.bio:
        return _plain(group.bio)
    return {
        "designers": f"Nail art designs by {group.name}.",
        "tags": f"Nail art designs tagged “{group.name}”.",
        "colours": f"{group.name} nail art designs.",
        "techniques": f"Nail art designs using the {group.name} technique.",
    }[group.kind]


@dataclass(frozen=True)
class ShareImage:
    """The image named in a page's OpenGraph tags, feed entry and JSON-LD."""

    url: str  # absolute
    width: int
    height: int
    alt: str


def _share_image(siteurl: str, view: DesignView | None) -> ShareImage | None:
    if view is None:
        return None
    v = view.fallback
    return ShareImage(_absolute(siteurl, f"img/{quote(v.name)}"), v.width, v.height, view.alt)


class GalleryGenerator(Generator):
    """Writes every gallery page, the feed, sitemap and robots.txt with the theme's templates."""

    def generate_context(self) -> None:
        self.gallery = build_gallery(
            self.settings.get("NAILFOLIO_DESIGNS") or (),
            self.settings.get("NAILFOLIO_DESIGNERS") or (),
        )
        css = Path(self.theme, "static", "css", "site.css")
        digest = hashlib.sha256(css.read_bytes()).hexdigest()[:10] if css.is_file() else ""
        self.context["NAILFOLIO_ASSET_VERSION"] = digest
        self.siteurl = self.settings.get("SITEURL", "")

    def generate_output(self, writer) -> None:
        gallery = self.gallery
        self._publish_variants(gallery.designs)
        self._write_listing(writer, "", "gallery", gallery.designs)
        for i, view in enumerate(gallery.designs):
            newer = gallery.designs[i - 1] if i else None
            older = gallery.designs[i + 1] if i + 1 < len(gallery.designs) else None
            self._write_design(writer, view, newer, older)
        self._write_index(writer, "designers", "Designers", gallery.designers)
        for group in gallery.designers:
            self._write_listing(writer, group.url, "designer", group.designs, group)
        for kind, groups in gallery.terms:
            self._write_index(writer, kind, TERM_KINDS[kind], groups)
            for group in groups:
                self._write_listing(writer, group.url, "term", group.designs, group)
        root = urlsplit(self.siteurl).path.rstrip("/") + "/"
        self._write(
            writer,
            "404.html",
            "404",
            ROOT=root,
            page_title="Page not found",
            noindex=True,
            canonical=None,
        )
        self._write_feed(gallery.designs[: self.settings.get("NAILFOLIO_FEED_SIZE", FEED_SIZE)])
        self._write_text("robots.txt", _robots(self.siteurl))
        self._write_text("sitemap.xml", _sitemap(self.siteurl, Path(self.output_path)))

    def _write(self, writer, path: str, template: str, **kwargs) -> None:
        """Render one template to <path> (a directory URL gets index.html)."""
        save_as = path + "index.html" if path == "" or path.endswith("/") else path
        kwargs.setdefault("ROOT", "../" * path.count("/") or "./")
        kwargs.setdefault("canonical", _absolute(self.siteurl, path))
        kwargs.setdefault("description", self.settings.get("SITESUBTITLE", ""))
        writer.write_file(save_as, self.get_template(template), self.context, url=path, **kwargs)

    def _write_listing(self, writer, url: str, template: str, designs, group=None) -> None:
        """Write a grid of designs, paginated as <url>, <url>page/2/, ..."""
        per_page = self.settings.get("NAILFOLIO_PER_PAGE", PER_PAGE)
        count = max(1, -(-len(designs) // per_page))
        urls = [url] + [f"{url}page/{n}/" for n in range(2, count + 1)]
        common = {
            "group": group,
            "section": group.kind if group else "gallery",
            "eager": self.settings.get("NAILFOLIO_EAGER_IMAGES", EAGER_IMAGES),
            "og_image": _share_image(self.siteurl, designs[0] if designs else None),
        }
        if group:
            common["description"] = _listing_description(group)
        for n, page_url in enumerate(urls, start=1):
            title = group.name if group else ""
            if n > 1:
                title = f"{title} · page {n}" if title else f"Page {n}"
            pager = Pager(n, count, urls[n - 2] if n > 1 else None, urls[n] if n < count else None)
            self._write(
                writer,
                page_url,
                template,
                designs=designs[(n - 1) * per_page : n * per_page],
                pager=pager,
                page_title=title,
                jsonld=self._collection_jsonld(page_url, title, home=page_url == ""),
                **common,
            )

    def _write_index(self, writer, kind: str, title: str, groups: Sequence[Group]) -> None:
        template = "designers" if kind == "designers" else "terms"
        jsonld = self._collection_jsonld(f"{kind}/", title, home=False)
        self._write(
            writer,
            f"{kind}/",
            template,
            kind=kind,
            kind_title=title,
            groups=groups,
            section=kind,
            page_title=title,
            jsonld=jsonld,
        )

    def _write_design(self, writer, view: DesignView, newer, older) -> None:
        source = view.design.source
        by = view.designer.name
        description = _plain(source.description) or f"{view.title}: nail art by {by}."
        image = _share_image(self.siteurl, view)
        jsonld = {
            "@context": "https://schema.org",
            "@type": "ImageObject",
            "name": view.title,
            "description": description,
            "url": _absolute(self.siteurl, view.url),
            "contentUrl": image.url,
            "thumbnailUrl": _absolute(self.siteurl, f"img/{quote(view.thumb.name)}"),
            "width": view.fallback.width,
            "height": view.fallback.height,
            "datePublished": view.date_iso,
            "keywords": [link.name for link in view.tags],
            "creator": {
                "@type": "Person",
                "name": by,
                "url": _absolute(self.siteurl, view.designer_url),
            },
            "isPartOf": {
                "@type": "WebSite",
                "name": self.settings.get("SITENAME", ""),
                "url": _absolute(self.siteurl, ""),
            },
        }
        self._write(
            writer,
            view.url,
            "design",
            design=view,
            newer=newer,
            older=older,
            section="gallery",
            page_title=f"{view.title} by {by}",
            og_type="article",
            og_image=image,
            description=description,
            jsonld=jsonld,
        )

    def _collection_jsonld(self, path: str, title: str, *, home: bool) -> dict:
        sitename = self.settings.get("SITENAME", "")
        url = _absolute(self.siteurl, path)
        page = {"@type": "CollectionPage", "url": url, "name": title or sitename}
        if not home:
            return {"@context": "https://schema.org", **page}
        subtitle = self.settings.get("SITESUBTITLE", "")
        site = {"@type": "WebSite", "url": url, "name": sitename, "description": subtitle}
        return {"@context": "https://schema.org", "@graph": [site, page]}

    def _publish_variants(self, views: Sequence[DesignView]) -> None:
        """Hard-link (or copy across filesystems) every variant into img/; never re-encode."""
        if not views:
            return
        folder = self.settings.get("NAILFOLIO_RENDITIONS_DIR")
        if not folder:
            raise ConfigError("NAILFOLIO_RENDITIONS_DIR is not set: cannot publish images")
        img_dir = Path(self.output_path, "img")
        img_dir.mkdir(parents=True, exist_ok=True)
        names = {v.name for view in views for v in view.design.rendition.variants}
        for name in sorted(names):
            src, dst = Path(folder, name), img_dir / name
            if dst.exists():
                continue
            try:
                os.link(src, dst)
            except OSError:  # another filesystem, or links not supported: copy the bytes
                shutil.copyfile(src, dst)

    def _write_feed(self, views: Sequence[DesignView]) -> None:
        siteurl = self.siteurl
        feed = Atom1Feed(
            title=self.settings.get("SITENAME", ""),
            link=_absolute(siteurl, ""),
            description=self.settings.get("SITESUBTITLE", ""),
            feed_url=_absolute(siteurl, FEED_PATH),
            language=self.settings.get("DEFAULT_LANG", "en"),
        )
        for view in views:
            image = _share_image(siteurl, view)
            content = (
                f'<p><img src="{_attr(image.url)}" width="{image.width}" '
                f'height="{image.height}" alt="{_attr(image.alt)}"></p>'
                + view.design.source.description
            )
            link = _absolute(siteurl, view.url)
            summary = _plain(view.design.source.description, 300)
            feed.add_item(
                title=view.title,
                link=link,
                description=escape(summary) if summary else None,  # Atom says type="html"
                content=content,
                unique_id=link,
                pubdate=_aware(view.design.date),
                author_name=view.designer.name,
                author_link=_absolute(siteurl, view.designer_url),
                categories=[link.name for link in view.tags],
            )
        path = Path(self.output_path, FEED_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fp:
            feed.write(fp, "utf-8")

    def _write_text(self, name: str, text: str) -> None:
        Path(self.output_path, name).write_text(text, encoding="utf-8")


def _attr(text: str) -> str:
    """Text escaped for a double-quoted HTML attribute."""
    return escape(text, {'"': "&quot;"})


def _robots(siteurl: str) -> str:
    return (
        "User-agent: *\nAllow: /\nDisallow: /admin/\nDisallow: /api/\n\n"
        f"Sitemap: {_absolute(siteurl, 'sitemap.xml')}\n"
    )


def _sitemap(siteurl: str, output: Path) -> str:
    """Every HTML page written so far (Pelican's pages included), except 404.html."""
    urls = []
    for path in sorted(output.rglob("*.html")):
        rel = path.relative_to(output).as_posix()
        if rel == "404.html":
            continue
        rel = rel.removesuffix("index.html")
        urls.append(f"  <url><loc>{escape(_absolute(siteurl, rel))}</loc></url>\n")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "".join(urls)
        + "</urlset>\n"
    )


def get_generators(pelican_object) -> type[Generator]:
    del pelican_object  # the generator reads everything from the settings
    return GalleryGenerator


def register() -> None:
    signals.get_generators.connect(get_generators)
