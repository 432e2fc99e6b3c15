"""Real Pelican builds of fabricated designs into tmp_path, checked page by page."""

from __future__ import annotations

import itertools
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pelican import Pelican, signals
from pelican.settings import read_settings
from PIL import Image

from nailfolio.config import Settings
from nailfolio.gallery.models import Designer, DesignSource, PublishedDesign, Rendition, Variant
from nailfolio.gallery.pelican_plugin import UNLISTED, GalleryGenerator
from nailfolio.gallery.site import render_site
from nailfolio.gallery.views import css_colour, gallery_views
from nailfolio.web.csp import ADMIN_CSP, DESIGN_CSP, MODERATION_CSP

REPO = Path(__file__).resolve().parent.parent
SITE_URL = "https://nails.test/gallery"  # a sub-path, to prove links survive one
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
DESIGNERS = (
    Designer("ana", "Ana Lima", "<p>Paints <em>tiny</em> worlds.</p>"),
    Designer("bo", "Bo Chen"),
)
PLACEHOLDER = "data:image/webp;base64,UklGRhYAAABXRUJQVlA4"
DESIGN_COUNT = 30  # one front page (24 to 47 designs)


class Doc(HTMLParser):
    """The start tags of one HTML file, with their attributes, and its text."""

    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.path = path
        self.html = path.read_text(encoding="utf-8")
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self.text_parts: list[str] = []
        self.feed(self.html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None  # an empty <script src=...></script> has no data

    def handle_data(self, data):
        if self._script is not None:
            self.scripts.append((self._script, data))
            self._script = None
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def find_all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        """Tags with these attributes (class_ matches one class among several)."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}

        def matches(a: dict[str, str | None]) -> bool:
            return all(
                v in (a.get(k) or "").split() if k == "class" else a.get(k) == v
                for k, v in wanted.items()
            )

        return [a for t, a in self.tags if t == tag and matches(a)]

    def find(self, tag: str, **attrs: str) -> dict[str, str | None]:
        found = self.find_all(tag, **attrs)
        assert found, f"{self.path}: no <{tag} {attrs}>"
        return found[0]

    def meta(self, prop: str) -> str | None:
        for attrs in self.find_all("meta"):
            if prop in (attrs.get("property"), attrs.get("name")):
                return attrs.get("content")
        return None

    def jsonld(self) -> dict:
        blocks = [
            text for attrs, text in self.scripts if attrs.get("type") == "application/ld+json"
        ]
        assert len(blocks) == 1, f"{self.path}: {len(blocks)} JSON-LD blocks"
        return json.loads(blocks[0])


def make_project(root: Path) -> Settings:
    """A project folder using the real theme and pelicanconf, with a page and a sidecar."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("theme", "pelicanconf.py"):
        (root / name).symlink_to(REPO / name)
    pages = root / "content" / "pages"
    pages.mkdir(parents=True)
    (pages / "about.md").write_text("Title: About us\n\nWe paint **tiny** things on nails.\n")
    ana = root / "content" / "designs" / "ana"
    ana.mkdir(parents=True)
    Image.new("RGB", (40, 50), (180, 40, 70)).save(ana / "sidecar-only.jpg")
    (ana / "sidecar-only.md").write_text(
        "Title: Sidecar Should Stay Hidden\nTags: secret\n\nBody\n"
    )
    (ana / "designer.md").write_text("Name: Designer File Should Stay Hidden\n\nBio\n")
    settings = Settings(root=root, site_url=SITE_URL, site_name="Nailfolio")
    settings.renditions_dir.mkdir(parents=True)
    return settings


def make_design(settings: Settings, i: int, when: datetime) -> PublishedDesign:
    """A design whose five variant files are tiny real images in the renditions folder."""
    designer = DESIGNERS[i % 2]
    content_hash = f"{i:04d}" + "ab" * 30
    variants = []
    for width, fmt, role in [
        (480, "webp", "responsive"),
        (960, "webp", "responsive"),
        (1600, "webp", "responsive"),
        (1200, "jpeg", "fallback"),
        (400, "webp", "thumb"),
    ]:
        name = f"{content_hash[:12]}-{role}-{width}.{'jpg' if fmt == 'jpeg' else fmt}"
        colour = (150 + i % 100, 40, 90)
        Image.new("RGB", (8, 10), colour).save(settings.renditions_dir / name, fmt.upper())
        variants.append(Variant(name, width, width * 5 // 4, fmt, role))
    source = DesignSource(
        key=f"{designer.slug}/design-{i}",
        path=settings.designs_dir / designer.slug / f"design-{i}.jpg",
        rel_path=f"designs/{designer.slug}/design-{i}.jpg",
        designer=Designer(designer.slug, designer.slug),
        slug=f"design-{i}",
        title=f"Design {i}",
        tags=("French tips", "glitter") if i % 3 else ("Minimal",),
        colours=("red", "nude") if i % 2 else ("cherry red",),
        technique="gel" if i % 2 else "stamping",
        description=f"<p>Design number {i}, with <strong>care</strong>.</p>",
        alt=f"Close-up of nails painted in design {i}",
    )
    rendition = Rendition(content_hash, 1600, 2000, tuple(variants), PLACEHOLDER, "#b42850")
    return PublishedDesign(source, rendition, when)


def make_designs(settings: Settings, count: int) -> list[PublishedDesign]:
    start = datetime(2025, 1, 1, 12, tzinfo=UTC)
    return [make_design(settings, i, start + timedelta(days=i)) for i in range(count)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Settings, list[PublishedDesign]]:
    settings = make_project(tmp_path_factory.mktemp("site"))
    designs = make_designs(settings, DESIGN_COUNT)
    report = render_site(settings, designs, DESIGNERS)
    assert report.skipped == ()
    assert report.images == DESIGN_COUNT * 5
    return settings, designs


@pytest.fixture(scope="module")
def out(built) -> Path:
    return built[0].output_dir


def project_entries(root: Path) -> list[str]:
    """What is in a project folder, but Python's bytecode cache of pelicanconf.py (there or
    not, as PYTHONDONTWRITEBYTECODE says)."""
    return sorted(p.name for p in root.iterdir() if p.name != "__pycache__")


def html_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def test_index_lists_newest_first_with_sized_lazy_thumbnails(out):
    doc = Doc(out / "index.html")
    cards = [a["href"] for a in doc.find_all("a", class_="card__link")]
    assert cards[:3] == [f"./designs/{DESIGNERS[i % 2].slug}/design-{i}/" for i in (29, 28, 27)]
    assert len(cards) == 30  # the newest 24 to 47: pages behind it hold 24 each, for good
    assert not (out / "page").exists()
    thumbs = doc.find_all("img", class_="card__img")
    for n, img in enumerate(thumbs):
        assert img["width"] == "400" and img["height"] == "500"
        assert img["alt"].startswith("Close-up of nails")
        assert img["src"].startswith("./img/") and img["src"].endswith("thumb-400.webp")
        assert PLACEHOLDER in img["style"] and "#b42850" in img["style"]
        assert img.get("loading") == (None if n < 4 else "lazy")
    assert thumbs[0]["fetchpriority"] == "high"
    assert sum("fetchpriority" in img for img in thumbs) == 1


def test_index_paginates_with_rel_prev_next(tmp_path):
    settings = make_project(tmp_path)
    render_site(settings, make_designs(settings, 50), DESIGNERS)  # front 26, page/1/ 24
    out = settings.output_dir
    first, second = Doc(out / "index.html"), Doc(out / "page" / "1" / "index.html")
    assert first.find("link", rel="next")["href"] == "./page/1/"
    assert first.find("a", rel="next")["href"] == "./page/1/"
    assert not first.find_all("link", rel="prev")
    assert second.find("link", rel="prev")["href"] == "../../"
    assert not second.find_all("link", rel="next")
    cards = [a["href"] for a in second.find_all("a", class_="card__link")]
    assert cards == [
        f"../../designs/{DESIGNERS[i % 2].slug}/design-{i}/" for i in range(23, -1, -1)
    ]
    assert second.find("link", rel="canonical")["href"] == f"{SITE_URL}/page/1/"
    assert len(first.find_all("a", class_="card__link")) == 26
    assert '<span class="pagination__status">Page 1</span>' in second.html
    assert '<span class="pagination__status">Newest designs</span>' in first.html
    assert not (out / "page" / "2").exists()


def test_pages_behind_the_front_one_keep_their_designs_as_designs_are_added(tmp_path):
    """Pages count from the oldest: a new design changes the front page only, so a render
    (and the CDN) leaves the others be; a new page/<k>/ appears every 24 designs."""
    settings = make_project(tmp_path)
    designs = make_designs(settings, 72)  # front 24..47, page/1/ and page/2/
    render_site(settings, designs, DESIGNERS)
    out = settings.output_dir
    before = {k: (out / f"page/{k}/index.html").read_bytes() for k in (1, 2)}
    render_site(settings, make_designs(settings, 73), DESIGNERS)
    assert {k: (out / f"page/{k}/index.html").read_bytes() for k in (1, 2)} == before
    assert len(Doc(out / "index.html").find_all("a", class_="card__link")) == 25
    render_site(settings, make_designs(settings, 96), DESIGNERS)  # the front is full: a page
    assert (out / "page/1/index.html").read_bytes() == before[1]
    assert len(Doc(out / "page/3/index.html").find_all("a", class_="card__link")) == 24
    assert len(Doc(out / "index.html").find_all("a", class_="card__link")) == 24


def test_design_page_has_responsive_picture_and_fallback(out):
    doc = Doc(out / "designs" / "bo" / "design-7" / "index.html")
    assert "<picture>" in doc.html
    source = doc.find("source", type="image/webp")
    assert source["srcset"] == ", ".join(
        f"../../../img/0007abababab-responsive-{w}.webp {w}w" for w in (480, 960, 1600)
    )
    assert source["sizes"]
    img = doc.find("img", class_="design__img")
    assert img["src"] == "../../../img/0007abababab-fallback-1200.jpg"
    assert (img["width"], img["height"]) == ("1200", "1500")
    assert img["alt"] == "Close-up of nails painted in design 7"
    assert "loading" not in img


def test_design_page_links_designer_terms_and_neighbours(out):
    doc = Doc(out / "designs" / "bo" / "design-7" / "index.html")
    hrefs = {a["href"] for a in doc.find_all("a")}
    assert {
        "../../../designers/bo/",
        "../../../tags/french-tips/",
        "../../../tags/glitter/",
        "../../../colours/red/",
        "../../../colours/nude/",
        "../../../techniques/gel/",
    } <= hrefs
    assert doc.find("a", rel="prev")["href"] == "../../../designs/ana/design-8/"  # newer
    assert doc.find("a", rel="next")["href"] == "../../../designs/ana/design-6/"  # older
    assert "Bo Chen" in doc.text and "gel" in doc.text and "8 January 2025" in doc.text
    assert "Design number 7, with care." in doc.text
    swatches = [s["style"] for s in doc.find_all("span", class_="swatch")]
    assert swatches == ["--swatch:red", "--swatch:#e3bc9a"]
    assert "Red" in doc.text and "Nude" in doc.text  # colour names are text (as titles), too
    newest = Doc(out / "designs" / "bo" / "design-29" / "index.html")
    assert not newest.find_all("a", rel="prev") and newest.find_all("a", rel="next")


def test_design_page_has_comments_section_marker(out):
    doc = Doc(out / "designs" / "bo" / "design-7" / "index.html")
    section = doc.find("section", id="comments")
    assert section == {
        "id": "comments",
        "class": "comments",
        "data-design": "bo/design-7",
        "aria-labelledby": "comments-title",
    }
    assert doc.find("h2", id="comments-title")
    assert "Commenting needs JavaScript" in doc.text


def test_design_page_carries_the_comment_form_for_its_script(out):
    doc = Doc(out / "designs" / "bo" / "design-7" / "index.html")
    [script] = [a for a in doc.find_all("script") if a.get("src")]
    assert script["type"] == "module"
    assert re.fullmatch(r"\.\./\.\./\.\./theme/js/comments\.js\?v=[0-9a-f]{10}", script["src"])
    assert "hidden" in doc.find("div", class_="comments__signed-out")  # until the script runs
    assert "hidden" in doc.find("div", class_="comments__signed-in")
    assert doc.find("input", autocomplete="current-password")["type"] == "password"
    assert doc.find("input", autocomplete="new-password")["aria-describedby"]
    assert len(doc.find_all("input", autocomplete="email")) == 2
    assert doc.find("label", for_="comment-text") and doc.find("textarea", id="comment-text")
    assert "maxlength" not in doc.find("textarea", id="comment-text")
    honeypot = doc.find("input", name="website")
    assert honeypot["tabindex"] == "-1" and honeypot["autocomplete"] == "off"
    assert doc.find("div", class_="honeypot")["aria-hidden"] == "true"
    assert doc.find("p", id="comment-error")["role"] == "alert"
    assert doc.find("p", id="comment-count") and doc.find("p", aria_live="polite")
    assert doc.find_all("p", role="status")
    assert doc.meta("Content-Security-Policy") is None  # http-equiv, not name:
    [csp] = [a for t, a in doc.tags if t == "meta" and a.get("http-equiv")]
    assert csp["content"] == DESIGN_CSP
    assert "'unsafe-inline'" in DESIGN_CSP.partition("style-src")[2]  # placeholder styles


def test_moderation_page_is_unlisted_noindex_and_holds_no_image(out):
    doc = Doc(out / "admin" / "moderation" / "index.html")
    assert doc.meta("robots") == "noindex" and not doc.find_all("link", rel="canonical")
    [csp] = [a for t, a in doc.tags if t == "meta" and a.get("http-equiv")]
    assert csp["content"] == MODERATION_CSP
    assert "unsafe" not in MODERATION_CSP and "script-src 'self';" in MODERATION_CSP
    [script] = doc.find_all("script")
    assert script["type"] == "module"
    assert script["src"].startswith("../../theme/js/moderation.js?v=")
    assert not [a for _, a in doc.tags if "style" in a] and "<style" not in doc.html
    assert doc.find("div", id="moderation")["data-root"] == "../../"
    assert not doc.find_all("img")  # previews come from the admin-only API, never the page
    sitemap = (out / "sitemap.xml").read_text()
    assert "admin/moderation" not in sitemap


def test_studio_page_is_unlisted_noindex_and_takes_photos(out):
    doc = Doc(out / "studio" / "index.html")
    assert doc.meta("robots") == "noindex" and not doc.find_all("link", rel="canonical")
    assert not [a for t, a in doc.tags if t == "meta" and a.get("http-equiv")]  # a header
    [script] = doc.find_all("script")
    assert script["type"] == "module" and script["src"].startswith("../theme/js/studio.js?v=")
    photos = doc.find("input", id="studio-photos")
    assert photos["type"] == "file" and photos["accept"].startswith("image/*")
    assert "multiple" in photos and doc.find("label", for_="studio-photos")
    assert not [a for _, a in doc.tags if "style" in a], "no style attribute under the CSP"


@pytest.mark.parametrize(
    ("page", "root"),
    [("admin/", "../"), ("admin/insights/", "../../"), ("admin/moderation/", "../../")],
)
def test_each_admin_page_links_every_admin_page_and_marks_itself(out, page, root):
    doc = Doc(out / page / "index.html")
    paths = ("admin/", "admin/insights/", "admin/moderation/", "studio/")
    links = [a for a in doc.find_all("a") if a.get("href") in {root + p for p in paths}]
    assert [a["href"] for a in links] == [root + p for p in paths]
    assert [a["href"] for a in links if a.get("aria-current") == "page"] == [root + page]
    for path in paths:
        assert (out / path / "index.html").is_file()


def test_admin_page_is_unlisted_noindex_and_strict(out):
    doc = Doc(out / "admin" / "index.html")
    assert doc.meta("robots") == "noindex"
    assert not doc.find_all("link", rel="canonical")
    [csp] = [a for t, a in doc.tags if t == "meta" and a.get("http-equiv")]
    assert csp["http-equiv"] == "Content-Security-Policy" and csp["content"] == ADMIN_CSP
    assert "unsafe" not in ADMIN_CSP and "frame-ancestors" not in ADMIN_CSP  # header only
    [script] = doc.find_all("script")  # and no inline one
    assert script["type"] == "module" and script["src"].startswith("../theme/js/admin.js?v=")
    assert not [a for _, a in doc.tags if "style" in a], "no style attribute under the CSP"
    assert "<style" not in doc.html
    assert doc.find("div", id="admin")["data-root"] == "../"
    assert "data-sign-in" in doc.find("form", class_="form")
    assert [a for _, a in doc.tags if "data-csv-slot" in a]  # admin.js adds the CSV link there
    assert not [a for a in doc.find_all("a") if not a.get("href")]  # every link is crawlable
    assert "needs JavaScript" in doc.text
    sitemap = (out / "sitemap.xml").read_text()
    assert "/admin/" not in sitemap
    assert "Disallow: /admin/" in (out / "robots.txt").read_text().splitlines()


def test_scripts_never_parse_strings_as_html_or_code():
    for path in sorted((REPO / "theme" / "static" / "js").glob("*.js")):
        source = path.read_text()
        for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert risky not in source, f"{path.name}: {risky}"
        assert "new Function" not in source and "http://" not in source, path.name


def test_designer_pages_and_listing(out):
    listing = Doc(out / "designers" / "index.html")
    assert [a["href"] for a in listing.find_all("a", class_="card__link")] == [
        "../designers/ana/",
        "../designers/bo/",
    ]
    ana = Doc(out / "designers" / "ana" / "index.html")
    assert "Ana Lima" in ana.text and "Paints tiny worlds." in ana.text
    cards = [a["href"] for a in ana.find_all("a", class_="card__link")]
    assert cards == [f"../../designs/ana/design-{i}/" for i in range(28, -1, -2)]
    assert "Designer File Should Stay Hidden" not in ana.html


@pytest.mark.parametrize(
    ("kind", "slug", "name", "count"),
    [
        ("tags", "french-tips", "French Tips", 20),
        ("tags", "minimal", "Minimal", 10),
        ("colours", "cherry-red", "Cherry Red", 15),
        ("techniques", "stamping", "stamping", 15),
    ],
)
def test_term_pages_and_indexes(out, kind, slug, name, count):
    page = Doc(out / kind / slug / "index.html")
    assert name in page.text
    assert len(page.find_all("a", class_="card__link")) == count
    index = Doc(out / kind / "index.html")
    assert f"../{kind}/{slug}/" in [a["href"] for a in index.find_all("a", class_="chip")]


def test_feed_is_atom_with_absolute_urls_and_images(out):
    feed = ET.parse(out / "feeds" / "designs.atom.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 20
    assert entries[0].find(f"{ATOM}title").text == "Design 29"
    link = entries[0].find(f"{ATOM}link").get("href")
    assert link == f"{SITE_URL}/designs/bo/design-29/"
    content = entries[0].find(f"{ATOM}content").text
    assert f'src="{SITE_URL}/img/0029abababab-fallback-1200.jpg"' in content


def test_sitemap_lists_every_html_page(out):
    root = ET.parse(out / "sitemap.xml").getroot()
    locs = [loc.text for loc in root.iter(f"{SITEMAP}loc")]
    expected = set()
    for path in html_files(out):
        rel = path.relative_to(out).as_posix()
        if rel not in UNLISTED:  # 404.html and the admin pages
            expected.add(f"{SITE_URL}/{rel.removesuffix('index.html')}")
    assert len(locs) == len(set(locs)) and set(locs) == expected
    assert f"{SITE_URL}/about/" in locs and f"{SITE_URL}/designs/ana/design-0/" in locs


def test_robots_txt_allows_all_but_admin_and_api(out):
    lines = (out / "robots.txt").read_text().splitlines()
    assert "User-agent: *" in lines and "Allow: /" in lines
    assert "Disallow: /admin/" in lines and "Disallow: /api/" in lines
    assert "Disallow: /studio/" in lines
    assert f"Sitemap: {SITE_URL}/sitemap.xml" in lines


def test_404_page_links_from_the_site_root(out):
    doc = Doc(out / "404.html")
    assert doc.meta("robots") == "noindex"
    assert doc.find("link", rel="stylesheet")["href"].startswith("/gallery/theme/css/site.css")
    assert doc.find("a", class_="button")["href"] == "/gallery/"
    assert not doc.find_all("link", rel="canonical")


def test_every_page_has_head_metadata(out):
    for path in html_files(out):
        doc = Doc(path)
        assert doc.find("html")["lang"] == "en"
        assert doc.find_all("title") and doc.meta("description"), path
        assert doc.meta("viewport") and doc.meta("theme-color") and doc.meta("twitter:card")
        assert doc.find("link", rel="icon")
        if path.relative_to(out).as_posix() not in UNLISTED:
            canonical = doc.find("link", rel="canonical")["href"]
            assert canonical.startswith(SITE_URL + "/") and doc.meta("og:url") == canonical
            assert doc.meta("og:title") and doc.meta("og:type")
        for attrs, text in doc.scripts:
            assert attrs.get("type") == "application/ld+json", f"{path}: unexpected script"
            json.loads(text)
        for attrs in doc.find_all("script"):
            if attrs.get("src"):
                assert attrs.get("type") == "module" and "/theme/js/" in attrs["src"], path


def test_design_page_opengraph_and_jsonld(out):
    doc = Doc(out / "designs" / "ana" / "design-4" / "index.html")
    assert doc.meta("og:type") == "article"
    assert doc.meta("og:image") == f"{SITE_URL}/img/0004abababab-fallback-1200.jpg"
    assert (doc.meta("og:image:width"), doc.meta("og:image:height")) == ("1200", "1500")
    assert doc.meta("twitter:card") == "summary_large_image"
    data = doc.jsonld()
    assert data["@context"] == "https://schema.org" and data["@type"] == "ImageObject"
    assert data["creator"] == {
        "@type": "Person",
        "name": "Ana Lima",
        "url": f"{SITE_URL}/designers/ana/",
    }
    assert data["contentUrl"] == doc.meta("og:image")
    assert data["url"] == f"{SITE_URL}/designs/ana/design-4/"


def test_index_jsonld_describes_site_and_collection(out):
    data = Doc(out / "index.html").jsonld()
    types = {node["@type"]: node for node in data["@graph"]}
    assert types["WebSite"]["url"] == f"{SITE_URL}/"
    assert types["CollectionPage"]["url"] == f"{SITE_URL}/"


def test_pages_have_one_h1_unique_ids_and_ordered_headings(out):
    for path in html_files(out):
        doc = Doc(path)
        ids = Counter(a["id"] for _, a in doc.tags if a.get("id"))
        assert not [i for i, n in ids.items() if n > 1], path
        levels = [int(t[1]) for t, _ in doc.tags if re.fullmatch(r"h[1-6]", t)]
        assert levels[:1] == [1] and levels.count(1) == 1, path
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), path
        assert all(img.get("alt") for img in doc.find_all("img")), path
        assert doc.find_all("main") and doc.find_all("nav") and doc.find_all("footer")


def test_no_request_leaves_the_site(out):
    """Only SITEURL itself (canonical, OpenGraph, JSON-LD) and schema.org's @context."""
    allowed = re.compile(rf"{re.escape(SITE_URL)}(/[^\s\"'<>]*)?|https://schema\.org")
    # The moderation page's CSP lets its admin-only previews come from presigned S3 URLs.
    previews = re.compile(rf"{allowed.pattern}|https://\*\.amazonaws\.com;")
    files = html_files(out) + sorted(out.rglob("*.css"))
    for path in files:
        moderation = path.relative_to(out).as_posix() == "admin/moderation/index.html"
        sources = previews if moderation else allowed
        for url in re.findall(r"(?:https?:)?//[^\s\"'<>)]+", path.read_text()):
            assert sources.fullmatch(url), f"{path}: {url}"
        for attr in re.findall(r'(?:src|href|srcset)="(/[^"]*)"', path.read_text()):
            assert path.name == "404.html" and attr.startswith("/gallery/"), f"{path}: {attr}"


def test_published_images_are_links_or_copies_of_renditions(built, out):
    settings, designs = built
    names = {v.name for d in designs for v in d.rendition.variants}
    assert {p.name for p in (out / "img").iterdir()} == names
    for name in names:
        published, rendition = out / "img" / name, settings.renditions_dir / name
        assert os.path.samefile(published, rendition) or (
            published.read_bytes() == rendition.read_bytes()
        )


def test_about_page_renders_from_markdown(out):
    doc = Doc(out / "about" / "index.html")
    assert "About us" in doc.text and "<strong>tiny</strong>" in doc.html
    assert doc.find("a", href="../about/")["aria-current"] == "page"
    assert doc.meta("description") == "We paint tiny things on nails."


def test_sidecars_and_designer_files_are_not_articles(out):
    assert not (out / "designs" / "ana" / "sidecar-only").exists()
    assert not list(out.rglob("sidecar-only*")) and not list(out.rglob("designer*.html"))
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".xml"}:
            text = path.read_text()
            assert "Sidecar Should Stay Hidden" not in text and "secret" not in text, path
    assert {p.name for p in (out / "designs" / "ana").iterdir()} == {
        f"design-{i}" for i in range(0, DESIGN_COUNT, 2)
    }


def test_theme_assets_are_published(out):
    assert (out / "theme" / "css" / "site.css").is_file()
    assert (out / "theme" / "favicon.svg").is_file()


def test_rebuild_drops_a_removed_design_and_its_images(tmp_path):
    settings = make_project(tmp_path)
    designs = make_designs(settings, 3)
    render_site(settings, designs, DESIGNERS)
    gone = designs.pop(1)
    out = settings.output_dir
    assert (out / "designs" / "bo" / "design-1" / "index.html").is_file()
    report = render_site(settings, designs, DESIGNERS)
    assert not (out / "designs" / "bo" / "design-1").exists()
    assert not (out / "designers" / "bo").exists()
    for variant in gone.rendition.variants:
        assert not (out / "img" / variant.name).exists()
    assert report.images == 10 and (out / "designs" / "ana" / "design-2" / "index.html").exists()
    assert "design-1/" not in (out / "sitemap.xml").read_text()
    assert project_entries(tmp_path) == sorted(
        ["content", "output", "pelicanconf.py", "theme", "var"]
    )  # no staging folder left behind


def test_rebuild_happens_beside_the_live_site_until_it_is_complete(tmp_path):
    settings = make_project(tmp_path)
    designs = make_designs(settings, 2)
    render_site(settings, designs, DESIGNERS)
    seen = []

    def while_finishing(pelican_object):
        live = settings.output_dir / "designs" / "bo" / "design-1" / "index.html"
        seen.append((Path(pelican_object.output_path), live.is_file()))

    signals.finalized.connect(while_finishing)
    try:
        render_site(settings, designs[:1], DESIGNERS)
    finally:
        signals.finalized.disconnect(while_finishing)
    [(staging, live_page_still_there)] = seen
    # Pelican renders into staging (kept between builds), never into the live site.
    assert staging == settings.var_dir / "site" and staging != settings.output_dir
    assert live_page_still_there  # the old site served on until the publish
    assert not (staging / "designs" / "bo").exists()
    assert not (settings.output_dir / "designs" / "bo").exists()


def test_a_failed_build_leaves_the_live_site_alone(tmp_path, monkeypatch):
    settings = make_project(tmp_path)
    designs = make_designs(settings, 2)
    render_site(settings, designs, DESIGNERS)
    before = sorted(p.relative_to(settings.output_dir) for p in settings.output_dir.rglob("*"))

    def broken(self, writer):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(GalleryGenerator, "generate_output", broken)
    with pytest.raises(RuntimeError, match="template exploded"):
        render_site(settings, designs[:1], DESIGNERS)
    after = sorted(p.relative_to(settings.output_dir) for p in settings.output_dir.rglob("*"))
    assert after == before
    assert project_entries(tmp_path) == sorted(
        ["content", "output", "pelicanconf.py", "theme", "var"]
    )


def test_publishconf_builds_with_the_configured_site_url(tmp_path):
    settings = make_project(tmp_path)
    report = render_site(settings, make_designs(settings, 1), DESIGNERS, REPO / "publishconf.py")
    assert report.pages > 1
    doc = Doc(settings.output_dir / "designs" / "ana" / "design-0" / "index.html")
    assert doc.find("link", rel="canonical")["href"] == f"{SITE_URL}/designs/ana/design-0/"


def test_design_with_a_missing_variant_file_is_left_out(tmp_path):
    settings = make_project(tmp_path)
    designs = make_designs(settings, 2)
    (settings.renditions_dir / designs[0].rendition.variants[0].name).unlink()
    report = render_site(settings, designs, DESIGNERS)
    assert report.skipped == ("ana/design-0",)
    assert not (settings.output_dir / "designs" / "ana").exists()
    assert (settings.output_dir / "designs" / "bo" / "design-1" / "index.html").is_file()


def test_plain_pelican_run_without_designs_renders_an_empty_gallery(tmp_path):
    settings = make_project(tmp_path)
    conf = read_settings(
        str(settings.root / "pelicanconf.py"),
        override={"PATH": str(settings.content_dir), "OUTPUT_PATH": str(settings.output_dir)},
    )
    Pelican(conf).run()
    doc = Doc(settings.output_dir / "index.html")
    assert "No designs are published yet" in doc.text
    assert (settings.output_dir / "about" / "index.html").is_file()
    assert (settings.output_dir / "tags" / "index.html").is_file()


@pytest.mark.parametrize(
    ("name", "css"),
    [
        ("red", "red"),
        ("Light Pink", "lightpink"),
        ("Nude", "#e3bc9a"),
        ("rose-gold", "#b76e79"),
        ("#A0B1C2", "#a0b1c2"),
        ("red; background:url(x)", ""),
    ],
)
def test_colour_swatches_are_safe_css(name, css):
    assert css_colour(name) == css


def test_term_slugs_follow_the_shared_slug_rules(tmp_path):
    settings = make_project(tmp_path)
    design = make_design(settings, 1, datetime(2025, 5, 1, tzinfo=UTC))
    source = replace(design.source, tags=("Ombré", "ombre", "  Cat eye "), technique="Gel & Foil")
    view = gallery_views([replace(design, source=source)]).designs[0]
    assert [(t.name, t.url) for t in view.tags] == [
        ("Ombré", "tags/ombre/"),
        ("Cat Eye", "tags/cat-eye/"),  # a title, however the sidecar wrote it
    ]
    assert view.technique.url == "techniques/gel-and-foil/"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_theme_colour_pairs_meet_wcag_aa():
    css = (REPO / "theme" / "static" / "css" / "site.css").read_text()
    light, dark = re.findall(r":root\s*{([^}]*)}", css)[:2]
    for block in (light, dark):
        var = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", block))
        text_pairs = [
            ("ink", "bg"), ("ink", "surface"), ("muted", "bg"), ("muted", "surface"),
            ("accent", "bg"), ("accent", "surface"), ("accent", "blush"), ("muted", "blush"),
            ("on-accent", "accent"), ("ink", "blush"),
        ]  # fmt: skip
        for fg, bg in text_pairs:
            assert contrast(var[fg], var[bg]) >= 4.5, (fg, bg, contrast(var[fg], var[bg]))
        assert contrast(var["accent"], var["bg"]) >= 3  # focus outline


def test_form_and_badge_colours_meet_wcag_aa():
    css = (REPO / "theme" / "static" / "css" / "site.css").read_text()
    for block in re.findall(r":root\s*{([^}]*)}", css)[:2]:
        var = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", block))
        text_pairs = [
            ("danger", "surface"), ("danger", "bg"), ("success", "surface"),
            ("pos", "pos-bg"), ("neg", "neg-bg"), ("neu", "neu-bg"), ("mix", "mix-bg"),
        ]  # fmt: skip
        for fg, bg in text_pairs:
            assert contrast(var[fg], var[bg]) >= 4.5, (fg, bg, contrast(var[fg], var[bg]))
        for edge in ("bg", "surface"):  # field borders are user-interface components
            assert contrast(var["field"], var[edge]) >= 3, ("field", edge)
        assert contrast(var["danger"], var["bg"]) >= 3  # an invalid field's border


def test_render_time_for_200_designs(tmp_path, capsys):
    settings = make_project(tmp_path)
    designs = make_designs(settings, 200)
    first = render_site(settings, designs, DESIGNERS)
    started = time.perf_counter()
    again = render_site(settings, designs, DESIGNERS)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\n200 designs: first render {first.seconds:.2f} s"
            f" (Pelican {first.pelican_seconds:.2f} s); unchanged re-render {elapsed:.2f} s"
            f" (Pelican {again.pelican_seconds:.2f} s), {again.pages} pages, {again.images} images"
        )
    assert again.pages == first.pages and again.images == 1000


def test_a_render_never_swallows_what_other_threads_print(tmp_path, capsys) -> None:
    """`serve` prints from other threads (the background backfill, the watcher) while a
    rebuild runs Pelican: none of it may vanish into the capture of Pelican's own output."""
    import threading

    settings = make_project(tmp_path / "site")
    designs = make_designs(settings, 3)
    rendering, done = threading.Event(), threading.Event()

    def chatter() -> None:
        rendering.wait()
        n = 0
        while not done.is_set():
            print(f"tick {n}", flush=True)
            n += 1
        print(f"ticks {n}", flush=True)

    thread = threading.Thread(target=chatter)
    thread.start()
    rendering.set()
    try:
        render_site(settings, designs, DESIGNERS)
    finally:
        done.set()
        thread.join()
    out = capsys.readouterr().out.splitlines()
    total = int(out[-1].split()[1])
    assert total > 0 and out[:-1] == [f"tick {n}" for n in range(total)]
