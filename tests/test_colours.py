"""Colour from the pixels through a whole build: colour tags, colour pages, similar designs,
and renditions made before palettes (or by an older reading) recoloured without re-encoding,
to the palette a fresh build reads."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace

from conftest import REPO, MarkerModerator, Project
from PIL import Image

from nailfolio import config
from nailfolio.gallery.models import Label
from nailfolio.gallery.palette import PALETTE_VERSION
from nailfolio.gallery.pipeline import BuildReport, build_gallery

RED, RED2, NAVY, LILAC = (205, 28, 36), (215, 40, 44), (28, 37, 80), (200, 165, 215)


def run(project: Project, moderator: type[MarkerModerator] = MarkerModerator) -> BuildReport:
    with (
        config.open_catalog(project.settings) as catalog,
        config.open_notifier(project.settings) as notifier,
    ):
        return build_gallery(project.settings, catalog, notifier, moderator)


def doc(project: Project, path: str) -> str:
    return (project.root / "output" / path / "index.html").read_text(encoding="utf-8")


def chips(page: str) -> list[str]:
    """The colour pages a design page links to from its Colours row."""
    row = re.search(r"<dt>Colours</dt>\s*<dd>(.*?)</dd>", page, re.S)
    return re.findall(r'class="chip" href="[./]*colours/([^/"]+)/"', row.group(1)) if row else []


def similar_section(page: str) -> str:
    found = re.search(r'<section class="similar".*?</section>', page, re.S)
    return found.group(0) if found else ""


def similar_links(page: str) -> list[str]:
    """The designs a design page shows as similar, in order."""
    return re.findall(r'class="card__link" href="[./]*designs/([^"]+)"', similar_section(page))


def cards(page: str) -> list[str]:
    return re.findall(r'class="card__link" href="([^"]+)"', page)


def sidecar(project: Project, rel: str, text: str) -> None:
    (project.designs / rel).write_text(text, encoding="utf-8")


def test_a_design_without_sidecar_colours_is_tagged_with_the_shades_of_its_pixels(
    project: Project,
) -> None:
    project.add_image("ana/red.jpg", colour=RED)
    project.add_image("ana/navy.jpg", colour=NAVY)
    run(project)
    assert chips(doc(project, "designs/ana/red")) == ["red"]
    assert chips(doc(project, "designs/ana/navy")) == ["navy"]
    red_page = doc(project, "colours/red")  # the colour page a visitor filters by
    assert cards(red_page) == ["../../designs/ana/red/"]
    listed = re.findall(r'href="[./]*colours/([^/"]+)/"', doc(project, "colours"))
    assert listed == ["navy", "red"]  # the colours index, by name


def test_sidecar_colours_always_win_over_the_pixels(project: Project) -> None:
    project.add_image("ana/red.jpg", colour=RED)
    sidecar(project, "ana/red.md", "Title: Not Red\nColours: lilac, gold\n")
    run(project)
    assert chips(doc(project, "designs/ana/red")) == ["lilac", "gold"]
    assert not (project.root / "output" / "colours" / "red").exists()


def test_each_design_page_shows_the_designs_nearest_by_palette(project: Project) -> None:
    project.add_image("ana/red.jpg", colour=RED)
    project.add_image("bea/red2.jpg", colour=RED2)
    project.add_image("bea/lilac.jpg", colour=LILAC)
    project.add_image("cleo/navy.jpg", colour=NAVY)
    run(project)
    assert similar_links(doc(project, "designs/ana/red")) == ["bea/red2/"]
    assert similar_links(doc(project, "designs/bea/red2")) == ["ana/red/"]
    assert similar_section(doc(project, "designs/cleo/navy")) == ""  # none near: no section
    assert ">Similar designs</h2>" in similar_section(doc(project, "designs/ana/red"))


def test_a_new_design_renders_the_pages_that_now_list_it_as_similar(project: Project) -> None:
    project.add_image("ana/red.jpg", colour=RED)
    project.add_image("cleo/navy.jpg", colour=NAVY)
    run(project)
    assert similar_links(doc(project, "designs/ana/red")) == []
    project.add_image("bea/red2.jpg", colour=RED2)
    run(project)
    assert similar_links(doc(project, "designs/ana/red")) == ["bea/red2/"]


def test_renditions_made_before_palettes_get_theirs_on_the_next_build_without_re_encoding(
    project: Project,
) -> None:
    project.add_image("ana/red.jpg", colour=RED)
    project.add_image("ana/navy.jpg", colour=NAVY)
    run(project)
    with config.open_catalog(project.settings) as catalog:  # as a catalog before palettes
        db = catalog._conn()
        db.execute("UPDATE renditions SET palette = '[]', palette_version = 0")
    stored = {p.name: p.stat().st_mtime_ns for p in project.settings.renditions_dir.iterdir()}
    MarkerModerator.calls = 0
    report = run(project)
    assert chips(doc(project, "designs/ana/red")) == ["red"]
    after = {p.name: p.stat().st_mtime_ns for p in project.settings.renditions_dir.iterdir()}
    assert after == stored and MarkerModerator.calls == 0  # nothing encoded or moderated
    assert (report.processed, report.published) == (2, 2)  # two photos read again
    with config.open_catalog(project.settings) as catalog:
        versions = catalog._conn().execute("SELECT palette_version FROM renditions").fetchall()
    assert versions == [(PALETTE_VERSION,), (PALETTE_VERSION,)]
    assert run(project).processed == 0  # and then no work at all


def _palettes(project: Project) -> dict[str, list[dict[str, object]]]:
    with config.open_catalog(project.settings) as catalog:
        rows = catalog._conn().execute("SELECT content_hash, palette FROM renditions")
        return {digest: json.loads(palette) for digest, palette in rows}


class _Approving(MarkerModerator):
    """Approves every picture: real photos' corners would read as the marker's score."""

    def detect_labels(self, image: Image.Image) -> tuple[Label, ...]:
        type(self).calls += 1
        return (Label("Explicit Nudity", "", 0.0),)


def test_a_recoloured_photo_reads_the_palette_a_fresh_build_reads(project: Project) -> None:
    # Three sample photos whose stored WebPs read otherwise (their halved chroma and noise):
    # recoloured from those, milky marble was silver, lavender ombre silver first, and
    # emerald marble lost its sage. A version bump must not change a gallery's colours.
    designs = project.root / "content" / "designs" / "ana"
    designs.mkdir(parents=True)
    for name in ("milky-marble.png", "Lavender Ombre 02.jpg"):
        shutil.copy(REPO / "content" / "designs" / "ana-lima" / name, designs / name)
    shutil.copy(REPO / "content" / "designs" / "chloe_martin" / "Emerald Marble.jpg", designs)
    assert run(project, _Approving).published == 3
    fresh = _palettes(project)
    shades = {digest: [s["shade"] for s in palette] for digest, palette in fresh.items()}
    assert sorted(shades.values()) == [
        ["emerald", "grey", "sage"],
        ["lavender", "nude"],
        ["white"],
    ]
    with config.open_catalog(project.settings) as catalog:  # as an older reading left them
        catalog._conn().execute("UPDATE renditions SET palette = '[]', palette_version = 0")
    stored = {p.name: p.stat().st_mtime_ns for p in project.settings.renditions_dir.iterdir()}
    assert run(project, _Approving).processed == 3
    assert _palettes(project) == fresh
    after = {p.name: p.stat().st_mtime_ns for p in project.settings.renditions_dir.iterdir()}
    assert after == stored  # nothing encoded again


def test_a_pool_build_recolours_as_an_inline_build_does(project: Project) -> None:
    for name, colour in {"red": RED, "navy": NAVY, "lilac": LILAC}.items():
        project.add_image(f"ana/{name}.jpg", colour=colour)
    run(project)
    with config.open_catalog(project.settings) as catalog:
        catalog._conn().execute("UPDATE renditions SET palette = '[]', palette_version = 0")
    pooled = replace(project.settings, workers=2)  # the jobs and renditions cross processes
    with config.open_catalog(pooled) as catalog, config.open_notifier(pooled) as notifier:
        report = build_gallery(pooled, catalog, notifier, MarkerModerator)
    assert (report.processed, report.problems) == (3, ())
    assert [chips(doc(project, f"designs/ana/{n}")) for n in ("red", "navy", "lilac")] == [
        ["red"],
        ["navy"],
        ["lilac"],
    ]
