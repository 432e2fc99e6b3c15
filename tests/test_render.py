"""The render stage renders only what changed, and what it leaves is what a full render from
scratch would: compared file by file, in staging and in the published site."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_site import DESIGNERS, REPO, make_design, make_designs

from nailfolio.config import Settings
from nailfolio.gallery.models import PublishedDesign
from nailfolio.gallery.render import staging_paths
from nailfolio.gallery.site import SiteReport, render_site

COUNT = 60  # a front page and one page behind it (see Pager)


def make_project(root: Path) -> Settings:
    """A project with its own copy of the theme and settings, so a test may edit them."""
    shutil.copytree(REPO / "theme", root / "theme")
    shutil.copy(REPO / "pelicanconf.py", root / "pelicanconf.py")
    pages = root / "content" / "pages"
    pages.mkdir(parents=True)
    (pages / "about.md").write_text("Title: About us\n\nWe paint **tiny** things on nails.\n")
    (root / "content" / "designs").mkdir()
    settings = Settings(root=root, site_url="https://nails.test/gallery", site_name="Nailfolio")
    settings.renditions_dir.mkdir(parents=True)
    return settings


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder by its relative path, with its bytes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def from_scratch(settings: Settings, designs, designers=DESIGNERS) -> dict[str, dict]:
    """Staging and the site after a full render with no state left from earlier renders."""
    staging, manifest = staging_paths(settings)
    shutil.rmtree(staging)
    manifest.unlink()
    shutil.rmtree(settings.output_dir)
    (settings.var_dir / "output.json").unlink()
    shutil.rmtree(settings.var_dir / "jinja")
    report = render_site(settings, designs, designers)
    assert report.rendered == report.pages - pelican_pages(settings)  # every gallery page
    return {"site": snapshot(settings.output_dir), "staging": snapshot(staging)}


def pelican_pages(settings: Settings) -> int:
    """Pelican's own pages (content/pages): rendered by Pelican, not counted as rendered."""
    return len(list((settings.content_dir / "pages").glob("*.md")))


def incremental(settings: Settings, designs, designers=DESIGNERS) -> tuple[SiteReport, dict]:
    report = render_site(settings, designs, designers)
    staging, _ = staging_paths(settings)
    return report, {"site": snapshot(settings.output_dir), "staging": snapshot(staging)}


@pytest.fixture
def started(tmp_path: Path) -> tuple[Settings, list[PublishedDesign]]:
    settings = make_project(tmp_path / "site")
    designs = make_designs(settings, COUNT)
    render_site(settings, designs, DESIGNERS)
    return settings, designs


def _retitled(design: PublishedDesign, title: str) -> PublishedDesign:
    return replace(design, source=replace(design.source, title=title))


def _edited_sidecar(design: PublishedDesign) -> PublishedDesign:
    source = replace(
        design.source,
        description="<p>Now with <em>chrome</em>.</p>",
        tags=("chrome",),
        colours=("silver",),
        technique="foil",
    )
    return replace(design, source=source)


CHANGES = {
    "add": lambda s, d: [*d, make_design(s, COUNT, datetime(2026, 1, 1, tzinfo=UTC))],
    "add-oldest": lambda s, d: [*d, make_design(s, COUNT, datetime(2020, 1, 1, tzinfo=UTC))],
    "remove": lambda s, d: d[:7] + d[8:],
    "remove-newest": lambda s, d: d[:-1],
    "edit-sidecar": lambda s, d: [*d[:5], _edited_sidecar(d[5]), *d[6:]],
    "retitle": lambda s, d: [*d[:12], _retitled(d[12], "Midnight Garden"), *d[13:]],
}


@pytest.mark.parametrize("change", CHANGES)
def test_incremental_render_equals_a_full_one_after_a_design_change(started, change):
    settings, designs = started
    changed = CHANGES[change](settings, designs)
    report, after = incremental(settings, changed)
    assert 0 < report.rendered < report.pages  # only what changed
    assert after == from_scratch(settings, changed)


def test_an_unchanged_render_renders_and_publishes_nothing(started):
    settings, designs = started
    before = snapshot(settings.output_dir)
    report = render_site(settings, designs, DESIGNERS)
    assert (report.rendered, report.uploaded, report.deleted) == (0, 0, 0)
    assert report.pelican_seconds == 0.0  # Pelican did not even run
    assert snapshot(settings.output_dir) == before


def test_a_designer_bio_change_renders_their_pages(started):
    settings, designs = started
    designers = (replace(DESIGNERS[0], bio="<p>Now paints large worlds.</p>"), DESIGNERS[1])
    report, after = incremental(settings, designs, designers)
    assert report.rendered > 0
    assert b"large worlds" in after["site"]["designers/ana/index.html"]
    assert after == from_scratch(settings, designs, designers)


def test_a_theme_change_renders_every_page(started):
    settings, designs = started
    base = settings.theme_dir / "templates" / "base.html"
    base.write_text(base.read_text().replace("</footer>", "<p>New footer</p></footer>"))
    css = settings.theme_dir / "static" / "css" / "site.css"
    css.write_text(css.read_text() + "\n.new { color: red; }\n")
    report, after = incremental(settings, designs)
    assert report.rendered == report.pages - pelican_pages(settings)
    assert b"New footer" in after["site"]["designs/ana/design-0/index.html"]
    assert after == from_scratch(settings, designs)


def test_a_site_url_change_renders_every_page(started):
    settings, designs = started
    settings = replace(settings, site_url="https://example.test")
    report, after = incremental(settings, designs)
    assert report.rendered == report.pages - pelican_pages(settings)
    assert b"https://example.test/designs/" in after["site"]["sitemap.xml"]
    assert after == from_scratch(settings, designs)


def test_a_pelican_settings_change_renders_every_page(started, monkeypatch):
    from pelican.settings import read_settings

    settings, designs = started
    conf = settings.root / "pelicanconf.py"
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as on a machine that caches
    read_settings(str(conf))  # its bytecode is cached now
    before = conf.stat()
    conf.write_text(conf.read_text().replace("NAILFOLIO_PER_PAGE = 24", "NAILFOLIO_PER_PAGE = 12"))
    # An edit within the same second keeps the size and the mtime Python checks its cache by.
    os.utime(conf, ns=(before.st_atime_ns, before.st_mtime_ns))
    report, after = incremental(settings, designs)
    assert report.rendered == report.pages - pelican_pages(settings)
    assert "page/3/index.html" in after["site"]
    assert after == from_scratch(settings, designs)


def test_pelican_pages_change_and_go(started):
    settings, designs = started
    pages = settings.content_dir / "pages"
    (pages / "about.md").write_text("Title: About the studio\n\nNew words.\n")
    (pages / "care.md").write_text("Title: Nail care\n\nFile gently.\n")
    _, after = incremental(settings, designs)
    assert b"About the studio" in after["site"]["designs/ana/design-0/index.html"]  # the nav
    assert "care/index.html" in after["site"]
    assert after == from_scratch(settings, designs)
    (pages / "care.md").unlink()
    _, after = incremental(settings, designs)
    assert "care/index.html" not in after["site"] and "care/index.html" not in after["staging"]
    assert after == from_scratch(settings, designs)


def test_a_damaged_manifest_means_a_full_render(started):
    settings, designs = started
    _, manifest = staging_paths(settings)
    manifest.write_text("{not json")
    stale = staging_paths(settings)[0] / "designs" / "ana" / "gone" / "index.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("<p>left by a render that was killed</p>")
    report, after = incremental(settings, designs)
    assert report.rendered == report.pages - pelican_pages(settings)
    assert "designs/ana/gone/index.html" not in after["staging"]
    assert after == from_scratch(settings, designs)


def test_a_staged_file_deleted_by_hand_is_rendered_again(started):
    settings, designs = started
    staging, _ = staging_paths(settings)
    (staging / "designs" / "ana" / "design-0" / "index.html").unlink()
    (staging / "sitemap.xml").unlink()
    report, after = incremental(settings, designs)
    assert report.rendered == 1
    assert after == from_scratch(settings, designs)
