"""Pelican plugin: writes the gallery pages, the Atom feed, sitemap.xml and robots.txt.

Settings it reads (all optional: with no designs it renders an empty gallery):
  NAILFOLIO_DESIGNS         sequence of nailfolio.gallery.models.PublishedDesign to publish
  NAILFOLIO_DESIGNERS       sequence of nailfolio.gallery.models.Designer (names and bios by slug)
  NAILFOLIO_RENDITIONS_DIR  folder holding every Variant file by name; each is published at
                            img/<variant.name> as a hard link, or a copy across filesystems
  NAILFOLIO_PER_PAGE        designs per listing page (default 24)
  NAILFOLIO_EAGER_IMAGES    thumbnails loaded eagerly at the top of a listing page (default 4)
  NAILFOLIO_FEED_SIZE       designs in the Atom feed (default 20)
  NAILFOLIO_PAGE_CACHE      a nailfolio.gallery.render.PageCache (the render stage's): pages
                            it holds as fresh are not rendered again, and images are not
                            published into img/ (the publish stage does that)
  NAILFOLIO_STUDIO          a nailfolio.gallery.studio.Studio (content/studio.md): every
                            template sees it as STUDIO (header, footer, "Book this design")
  SITEURL, SITENAME, SITESUBTITLE, DEFAULT_LANG
It adds NAILFOLIO_ASSET_VERSION to every template's context: a hash of the theme's CSS and
scripts, appended to their URLs so they can be cached for long.

URL layout (each page is <path>/index.html, linked as <path>/; links are document-relative):
  ""  "page/<n>/"                      the gallery, newest first
  "designs/<designer>/<design>/"       one page per design
  "designers/"  "designers/<slug>/"    (listings continue at <listing>/page/<n>/)
  "tags/" "tags/<slug>/", "colours/"..., "techniques/"...
  "contact/"                           the studio's address, hours, phone and NailSalon JSON-LD
  "admin/"                             comments for admins (noindex, not in the sitemap)
  "admin/moderation/"                  the moderation queue for admins (likewise)
  "admin/insights/"                    insights for admins (likewise)
  "studio/"                            designers' uploads (noindex, not in the sitemap; its
                                       CSP is a header only: see nailfolio.web.csp)
  feeds/designs.atom.xml, sitemap.xml, robots.txt, 404.html, img/<variant.name>
Templates: gallery, design, designer, designers, term, terms, contact, admin, moderation,
insights and 404 (.html), all extending base.html; Pelican's own pages from content/pages
use page.html.
Pages that run scripts carry a Content-Security-Policy <meta>: DESIGN_CSP on design pages (the
comment form), ADMIN_CSP on /admin/ and /contact/; servers send them as headers too, with
frame-ancestors.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from feedgenerator import Atom1Feed
from markupsafe import Markup
from pelican import signals
from pelican.generators import Generator

from nailfolio.errors import ConfigError
from nailfolio.gallery.render import PageCache
from nailfolio.gallery.studio import Studio, studio_jsonld
from nailfolio.gallery.views import TERM_KINDS, DesignView, Group, as_utc, gallery_views
from nailfolio.web.csp import ADMIN_CSP, DESIGN_CSP, MODERATION_CSP

PER_PAGE = 24
EAGER_IMAGES = 4
FEED_SIZE = 20
FEED_PATH = "feeds/designs.atom.xml"
# Written, but not in the sitemap.
UNLISTED = (
    "404.html",
    "admin/index.html",
    "admin/moderation/index.html",
    "admin/insights/index.html",
    "studio/index.html",
)


@dataclass(frozen=True)
class Pager:
    """Where a listing page sits. Pages are counted from the oldest designs: page/<k>/ holds
    the same PER_PAGE designs for good, and the front page the newest PER_PAGE to
    2 x PER_PAGE - 1. Adding a design changes the front page only (a new page/<k>/ appears
    once every PER_PAGE additions), so neither the render nor the CDN redoes the others."""

    number: int  # k of page/<k>/; 0 for the front page
    prev_url: str | None  # newer designs
    next_url: str | None  # older designs

    @property
    def front(self) -> bool:
        return self.number == 0


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
        self.gallery = gallery_views(
            self.settings.get("NAILFOLIO_DESIGNS") or (),
            self.settings.get("NAILFOLIO_DESIGNERS") or (),
        )
        self.context["NAILFOLIO_ASSET_VERSION"] = _asset_version(Path(self.theme, "static"))
        self.siteurl = self.settings.get("SITEURL", "")
        self.studio: Studio = self.settings.get("NAILFOLIO_STUDIO") or Studio()
        self.context["STUDIO"] = self.studio  # Pelican's own pages show it too
        self.cache: PageCache | None = self.settings.get("NAILFOLIO_PAGE_CACHE")
        if self.cache is not None:
            self.cache.add_views(self.gallery.designs)
        self.html_pages: set[str] = set()  # for the sitemap: every HTML page of the site
        # Pelican's own pages are written before ours (its generators run first).
        signals.content_written.connect(self._note_written)

    def _note_written(self, path: str, context=None) -> None:
        del context
        rel = Path(path).relative_to(self.output_path).as_posix()
        if rel.endswith(".html"):
            self.html_pages.add(rel)

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
        self._write_contact(writer)
        self._write_unlisted(writer)
        self._write_feed(gallery.designs[: self.settings.get("NAILFOLIO_FEED_SIZE", FEED_SIZE)])
        self._write_text("robots.txt", _robots(self.siteurl))
        signals.content_written.disconnect(self._note_written)
        self._write_text("sitemap.xml", _sitemap(self.siteurl, self.html_pages))

    def _write_contact(self, writer) -> None:
        """/contact/: the studio's details, under the strict CSP (its JSON-LD is data)."""
        name = self.settings.get("SITENAME", "")
        self._write(
            writer,
            "contact/",
            "contact",
            page_title="Contact and booking",
            description=f"How to find, call and book {name}: address, opening hours and phone.",
            section="contact",
            csp=ADMIN_CSP,
            jsonld=studio_jsonld(self.studio, name, _absolute(self.siteurl, "")),
        )

    def _write_unlisted(self, writer) -> None:
        """The pages left out of the sitemap (UNLISTED): the 404 page and /admin/."""
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
        self._write(
            writer,
            "admin/",
            "admin",
            page_title="Comments · Admin",
            description="Customer comments on the designs, for the studio's admins.",
            noindex=True,
            canonical=None,
            csp=ADMIN_CSP,
        )
        self._write(
            writer,
            "admin/moderation/",
            "moderation",
            page_title="Moderation · Admin",
            description="Held-back photos to approve or reject, for the studio's admins.",
            noindex=True,
            canonical=None,
            csp=MODERATION_CSP,
        )
        self._write(
            writer,
            "studio/",
            "studio",
            page_title="Your designs · Studio",
            description="Designers upload their photos and follow their moderation.",
            noindex=True,
            canonical=None,
        )
        self._write(
            writer,
            "admin/insights/",
            "insights",
            page_title="Insights · Admin",
            description="What customers say about the designs, for the studio's admins.",
            noindex=True,
            canonical=None,
            csp=ADMIN_CSP,
        )

    def _write(self, writer, path: str, template: str, fingerprint: str = "", **kwargs) -> None:
        """Render one template to <path> (a directory URL gets index.html), unless the render
        stage's cache holds it already: by its variables, or by `fingerprint` when given."""
        save_as = _save_as(path)
        kwargs.setdefault("ROOT", "../" * path.count("/") or "./")
        kwargs.setdefault("canonical", _absolute(self.siteurl, path))
        kwargs.setdefault("description", self.settings.get("SITESUBTITLE", ""))
        self.html_pages.add(save_as)
        if self.cache is not None and not fingerprint:
            fingerprint = self.cache.fingerprint(template, save_as, {"url": path, **kwargs})
            if self.cache.keep(save_as, fingerprint):
                return
        writer.write_file(save_as, self.get_template(template), self.context, url=path, **kwargs)
        if self.cache is not None:
            self.cache.wrote(save_as, fingerprint)

    def _kept(self, path: str, template: str, inputs: tuple) -> str | None:
        """For a page whose variables are made from `inputs` alone (and the settings): None
        when the render stage's cache holds it already (it is kept), else its fingerprint."""
        if self.cache is None:
            return ""
        save_as = _save_as(path)
        fingerprint = self.cache.fingerprint(template, save_as, {"inputs": inputs})
        if not self.cache.keep(save_as, fingerprint):
            return fingerprint
        self.html_pages.add(save_as)
        return None

    def _write_listing(self, writer, url: str, template: str, designs, group=None) -> None:
        """Write a grid of designs (newest first): the front page at <url>, then the older
        ones at <url>page/<k>/, k counted from the oldest (see Pager)."""
        per_page = self.settings.get("NAILFOLIO_PER_PAGE", PER_PAGE)
        fixed = max(0, len(designs) // per_page - 1)  # full pages behind the front one
        urls = [url] + [f"{url}page/{k}/" for k in range(1, fixed + 1)]
        common = {
            "section": group.kind if group else "gallery",
            "eager": self.settings.get("NAILFOLIO_EAGER_IMAGES", EAGER_IMAGES),
        }
        if group:
            common["description"] = _listing_description(group)
        # The pages behind the front one get the group without its designs: they show only
        # their own, so a design added to the group leaves their inputs, and them, unchanged.
        behind = replace(group, designs=()) if group else None
        n = len(designs)
        for k, page_url in enumerate(urls):
            title = group.name if group else ""
            if k:  # page k holds the designs ranked (k-1)P to kP - 1 from the oldest
                title = f"{title} · page {k}" if title else f"Page {k}"
                shown = designs[n - k * per_page : n - (k - 1) * per_page]
                newer = urls[k + 1] if k < fixed else url
                pager = Pager(k, newer, urls[k - 1] if k > 1 else None)
            else:
                shown = designs[: n - fixed * per_page]
                pager = Pager(0, None, urls[fixed] if fixed else None)
            self._write(
                writer,
                page_url,
                template,
                designs=shown,
                group=behind if k else group,
                pager=pager,
                page_title=title,
                og_image=_share_image(self.siteurl, shown[0] if shown else None),
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
        # A design page is made of its views alone: checked before the work below.
        similar = self.gallery.similar.get(view.key, ())
        fingerprint = self._kept(view.url, "design", (view, newer, older, similar))
        if fingerprint is None:
            return
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
            fingerprint,
            design=view,
            newer=newer,
            older=older,
            similar=similar,
            section="gallery",
            page_title=f"{view.title} by {by}",
            csp=DESIGN_CSP,
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
        salon = studio_jsonld(self.studio, sitename, url)
        del salon["@context"]
        return {"@context": "https://schema.org", "@graph": [site, page, salon]}

    def _publish_variants(self, views: Sequence[DesignView]) -> None:
        """Hard-link (or copy across filesystems) every variant into img/; never re-encode."""
        if not views:
            return
        names = {v.name for view in views for v in view.design.rendition.variants}
        if self.cache is not None:  # the publish stage copies them from the rendition store
            self.cache.images.update(names)
            return
        folder = self.settings.get("NAILFOLIO_RENDITIONS_DIR")
        if not folder:
            raise ConfigError("NAILFOLIO_RENDITIONS_DIR is not set: cannot publish images")
        img_dir = Path(self.output_path, "img")
        img_dir.mkdir(parents=True, exist_ok=True)
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
                pubdate=as_utc(view.design.date),
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


def _save_as(path: str) -> str:
    """The file of a page's URL path: a directory URL gets index.html."""
    return path + "index.html" if path == "" or path.endswith("/") else path


def _attr(text: str) -> str:
    """Text escaped for a double-quoted HTML attribute."""
    return escape(text, {'"': "&quot;"})


def _asset_version(static: Path) -> str:
    """A short hash of the theme's CSS and scripts ("" without any): their cache buster."""
    files = sorted([*static.glob("css/*.css"), *static.glob("js/*.js")])
    if not files:
        return ""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(static).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:10]


def _robots(siteurl: str) -> str:
    return (
        "User-agent: *\nAllow: /\nDisallow: /admin/\nDisallow: /studio/\nDisallow: /api/\n\n"
        f"Sitemap: {_absolute(siteurl, 'sitemap.xml')}\n"
    )


def _sitemap(siteurl: str, pages: set[str]) -> str:
    """Every HTML page (Pelican's included), except the UNLISTED ones, in path order."""
    urls = []
    for rel in sorted(pages, key=lambda page: page.split("/")):
        if rel in UNLISTED:
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
