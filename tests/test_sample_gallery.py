"""The repository's sample content through a real build (real model, Pelican), page by page."""

from __future__ import annotations

import json
import re
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import SampleGallery
from PIL import Image

from nailfolio.gallery.content import scan_designs
from nailfolio.local.folder_content_store import FolderContentStore

pytestmark = pytest.mark.slow


def read(gallery: SampleGallery, rel: str) -> str:
    return (gallery.root / "output" / rel).read_text(encoding="utf-8")


def test_every_sample_design_is_approved_and_published(sample_gallery: SampleGallery) -> None:
    scan = scan_designs(FolderContentStore(sample_gallery.root / "content"))
    report = sample_gallery.report
    assert report.problems == ()
    assert report.published == len(scan.designs) == 12
    for design in scan.designs:
        assert (sample_gallery.root / "output" / "designs" / design.key / "index.html").is_file()


def test_index_lists_every_design_newest_first(sample_gallery: SampleGallery) -> None:
    index = read(sample_gallery, "index.html")
    keys = re.findall(r'href="(?:\./)?designs/([^"]+)/"', index)
    assert len(keys) == 12 and len(set(keys)) == 12
    dates = []
    for key in keys:
        page = read(sample_gallery, f"designs/{key}/index.html")
        dates.append(re.search(r'<time datetime="([^"]+)"', page).group(1))
    assert dates == sorted(dates, reverse=True)


def test_design_page_has_responsive_picture_and_metadata(sample_gallery: SampleGallery) -> None:
    page = read(sample_gallery, "designs/bea-okafor/sunset-gradient/index.html")
    srcset = re.search(r'<source type="image/webp"[^>]* srcset="([^"]+)"', page).group(1)
    assert [w for w in re.findall(r" (\d+)w", srcset)] == ["480", "960", "1440"]
    img = re.search(r'<img class="design__img"[^>]*>', page).group(0)
    assert 'width="1200" height="1500"' in img and 'alt="' in img  # the JPEG fallback
    assert '<h1 class="design__title">Sunset Gradient</h1>' in page
    assert 'href="../../../designers/bea-okafor/"' in page
    assert 'href="../../../tags/ombre/"' in page and 'href="../../../colours/coral/"' in page
    assert 'data-design="bea-okafor/sunset-gradient"' in page
    ld = json.loads(re.search(r'application/ld\+json">(.*?)</script>', page).group(1))
    assert ld["name"] == "Sunset Gradient" and ld["creator"]["name"] == "Bea Okafor"


def test_designer_tag_and_colour_pages_list_their_designs(sample_gallery: SampleGallery) -> None:
    designers = read(sample_gallery, "designers/index.html")
    for slug in ("ana-lima", "bea-okafor", "chloe-martin"):
        assert f'href="../designers/{slug}/"' in designers
    ombre = read(sample_gallery, "tags/ombre/index.html")
    assert "designs/bea-okafor/sunset-gradient/" in ombre
    coral = read(sample_gallery, "colours/coral/index.html")
    assert "designs/bea-okafor/sunset-gradient/" in coral


def test_feed_sitemap_robots_and_404(sample_gallery: SampleGallery) -> None:
    feed = ET.fromstring(read(sample_gallery, "feeds/designs.atom.xml"))
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 12
    sitemap = ET.fromstring(read(sample_gallery, "sitemap.xml"))
    locs = {e.text for e in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    assert f"{sample_gallery.url}/designs/bea-okafor/sunset-gradient/" in locs
    assert "Sitemap:" in read(sample_gallery, "robots.txt")
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{sample_gallery.url}/no-such-design/")
    assert missing.value.code == 404 and b"<html" in missing.value.read()


def test_published_images_carry_no_metadata(sample_gallery: SampleGallery) -> None:
    images = sorted((sample_gallery.root / "output" / "img").iterdir())
    assert len(images) >= 12 * 4
    for path in images:
        data = path.read_bytes()
        assert b"Exif" not in data and b"GPS" not in data, path.name
        assert b"http://ns.adobe.com/xap" not in data, path.name
        with Image.open(path) as im:
            assert not im.getexif(), path.name


def test_sideways_phone_photo_is_published_upright(sample_gallery: SampleGallery) -> None:
    page = read(sample_gallery, "designs/ana-lima/lavender-ombre-02/index.html")
    img = re.search(r'<img class="design__img"[^>]* src="\.\./\.\./\.\./img/([^"]+)"', page)
    fallback = Path(sample_gallery.root / "output" / "img" / img.group(1))
    with Image.open(fallback) as im:
        assert im.height > im.width, "stored 1500x1200 with orientation 6: shown 1200x1500"
