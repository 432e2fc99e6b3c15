"""The publish stage: a plan by content hash in a safe order, carried out by the local folder
target so that a reader of output/ never sees a page whose images are missing, even while
builds run or when one is killed mid-way."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_render import from_scratch, make_project, snapshot
from test_site import DESIGNERS, REPO, make_design, make_designs

from nailfolio.gallery import scratch
from nailfolio.gallery.publish import PHASES, PublishPlan, phase_of, plan_publish, publish_site
from nailfolio.gallery.render import StagedSite
from nailfolio.gallery.site import render_site

TESTS = Path(__file__).resolve().parent
IMG_REF = re.compile(r'(?:src|srcset|href)="([^"]*)"')


def staged(files: dict[str, str], images: dict[str, str], folder: Path = Path("/s")) -> StagedSite:
    return StagedSite(folder, files, images)


SITE = {
    "index.html": "h1",
    "page/2/index.html": "h2",
    "designs/ana/red/index.html": "h3",
    "designs/ana/blue/index.html": "h4",
    "designers/ana/index.html": "h5",
    "tags/index.html": "h6",
    "about/index.html": "h7",
    "404.html": "h8",
    "theme/css/site.css": "h9",
    "feeds/designs.atom.xml": "h10",
    "sitemap.xml": "h11",
    "robots.txt": "h12",
}
IMAGES = {"img/red-480w.webp": "red-480w.webp", "img/blue-480w.webp": "blue-480w.webp"}


def test_a_first_plan_puts_everything_in_phase_order():
    plan = plan_publish(staged(SITE, IMAGES), {})
    assert plan.deletions == ()
    phases = [upload.phase for upload in plan.uploads]
    assert phases == sorted(phases, key=PHASES.index)
    assert [u.path for u in plan.uploads] == [
        "img/blue-480w.webp",
        "img/red-480w.webp",
        "theme/css/site.css",
        "designs/ana/blue/index.html",
        "designs/ana/red/index.html",
        "404.html",
        "about/index.html",
        "designers/ana/index.html",
        "index.html",
        "page/2/index.html",
        "tags/index.html",
        "feeds/designs.atom.xml",
        "robots.txt",
        "sitemap.xml",
    ]
    red = next(u for u in plan.uploads if u.path == "img/red-480w.webp")
    assert (red.rendition, red.source) == ("red-480w.webp", None)  # from the rendition store
    page = next(u for u in plan.uploads if u.path == "index.html")
    assert page.source == Path("/s/index.html") and page.rendition == ""


def test_a_plan_puts_what_changed_new_before_changed_and_deletes_last():
    published = {**SITE, **IMAGES, "designs/ana/old/index.html": "h0", "img/old.webp": "old.webp"}
    files = {k: v for k, v in SITE.items() if k != "designs/ana/blue/index.html"}
    files |= {"designs/ana/red/index.html": "new3", "designs/ana/pink/index.html": "n1"}
    files |= {"index.html": "new1", "sitemap.xml": "new11"}
    images = {"img/red-480w.webp": "red-480w.webp", "img/pink-480w.webp": "pink-480w.webp"}
    plan = plan_publish(staged(files, images), published)
    assert [u.path for u in plan.uploads] == [
        "img/pink-480w.webp",
        "designs/ana/pink/index.html",  # new, so before the changed neighbour linking to it
        "designs/ana/red/index.html",
        "index.html",
        "sitemap.xml",
    ]
    assert plan.deletions == (
        "designs/ana/blue/index.html",  # pages first
        "designs/ana/old/index.html",
        "img/blue-480w.webp",  # images last: no page shows them any more
        "img/old.webp",
    )
    assert plan.files == {**files, **images}


def test_nothing_changed_is_an_empty_plan_and_no_work():
    class Target:
        def __init__(self) -> None:
            self.applied: list[PublishPlan] = []

        def published(self):
            return {**SITE, **IMAGES}

        def apply(self, plan):
            self.applied.append(plan)

    site = staged(SITE, IMAGES)
    assert plan_publish(site, {**SITE, **IMAGES}).empty
    target = Target()
    report = publish_site(site, target)
    assert (report.uploaded, report.deleted, target.applied) == (0, 0, [])


@pytest.mark.parametrize(
    ("path", "phase"),
    [
        ("img/a.webp", "images"),
        ("theme/js/admin.js", "assets"),
        ("designs/ana/red/index.html", "designs"),
        ("admin/index.html", "pages"),
        ("designers/index.html", "listings"),
        ("colours/red/page/2/index.html", "listings"),
        ("feeds/designs.atom.xml", "indexes"),
    ],
)
def test_phase_of_site_paths(path, phase):
    assert phase_of(path) == phase


def test_the_folder_is_replaced_whole_at_first_then_updated_in_place(tmp_path):
    settings = make_project(tmp_path / "site")
    designs = make_designs(settings, 3)
    first = render_site(settings, designs, DESIGNERS)
    inode = settings.output_dir.stat().st_ino
    assert first.uploaded == len(snapshot(settings.output_dir))
    again = render_site(settings, designs[:2], DESIGNERS)
    assert settings.output_dir.stat().st_ino == inode  # the same folder, updated in place
    assert again.deleted == 5 + 1  # design-2's images and its page, nothing else
    assert not (settings.output_dir / "designs" / "ana" / "design-2").exists()
    assert not list(tmp_path.joinpath("site").glob(".output-*"))  # no scratch left behind


def test_a_folder_rebuilt_by_something_else_is_replaced_whole(tmp_path):
    settings = make_project(tmp_path / "site")
    designs = make_designs(settings, 3)
    render_site(settings, designs, DESIGNERS)
    out = settings.output_dir
    os.rename(out, tmp_path / "elsewhere")
    out.mkdir()
    (out / "index.html").write_text("<p>someone else's site</p>")
    report = render_site(settings, designs, DESIGNERS)
    assert report.uploaded == len(snapshot(out)) and report.deleted == 0
    assert snapshot(out) == snapshot(tmp_path / "elsewhere")


def referenced_images(page: Path) -> list[str]:
    """The img/ files a page names, relative to the site root."""
    refs = []
    for value in IMG_REF.findall(page.read_text(encoding="utf-8")):
        for ref in value.split(","):
            ref = ref.strip().split(" ")[0]
            if "img/" in ref and "://" not in ref:
                refs.append("img/" + ref.split("img/", 1)[1])
    return refs


def missing_images(site: Path) -> list[str]:
    """Pages of the site naming an img/ file it lacks, with that file."""
    return [
        f"{page.relative_to(site)}: {ref}"
        for page in site.rglob("*.html")
        for ref in referenced_images(page)
        if not (site / ref).is_file()
    ]


class Reader(threading.Thread):
    """Reads the site's pages over and over, as a server would, noting every page that named
    an image missing at that moment (the page still the same file after the check)."""

    def __init__(self, site: Path) -> None:
        super().__init__(daemon=True)
        self.site, self.stop, self.broken, self.checked = site, threading.Event(), [], 0

    def pages(self) -> list[Path]:
        """The pages now; a folder removed while the walk is in it (a design dropped) makes
        the walk start again, as a server's next request would."""
        while True:
            try:
                return list(self.site.rglob("*.html"))
            except FileNotFoundError:
                continue

    def run(self) -> None:
        while not self.stop.is_set():
            for page in self.pages():
                try:
                    before = page.stat().st_ino
                    text = page.read_text(encoding="utf-8")
                    refs = referenced_images(page)
                    missing = [ref for ref in refs if not (self.site / ref).is_file()]
                    still = page.stat().st_ino == before
                except FileNotFoundError:
                    continue  # deleted meanwhile: nothing was served from it
                if not text.rstrip().endswith("</html>"):
                    self.broken.append(f"{page.relative_to(self.site)}: half a page")
                self.checked += 1
                if missing and still:
                    self.broken.append(f"{page.relative_to(self.site)}: {missing}")


def test_a_reader_never_sees_a_page_naming_a_missing_image_while_builds_run(tmp_path):
    settings = make_project(tmp_path / "site")
    designs = make_designs(settings, 30)
    render_site(settings, designs, DESIGNERS)
    reader = Reader(settings.output_dir)
    reader.start()
    try:
        newest = make_design(settings, 30, datetime(2026, 1, 1, tzinfo=UTC))
        for step in range(6):  # add the newest, drop it (and others), retitle: pages move
            current = designs[step:] + ([newest] if step % 2 == 0 else [])
            if step == 4:
                current = [replace(d, source=replace(d.source, title="Renamed")) for d in current]
            render_site(settings, current, DESIGNERS)
    finally:
        reader.stop.set()
        reader.join()
    assert reader.checked > 100
    assert reader.broken == []


KILLER = """
    import os, signal, sys
    sys.path[:0] = [{repo!r}, {tests!r}]
    from pathlib import Path
    from test_render import make_project
    from test_site import DESIGNERS, make_designs
    from nailfolio.config import Settings
    from nailfolio.gallery import render
    from nailfolio.gallery.site import render_site
    from nailfolio.local import folder_site_target

    settings = Settings(root=Path({root!r}), site_url="https://nails.test/gallery")
    designs = make_designs(settings, 34)[4:]  # 4 designs gone, 4 newer ones come
    calls = 0

    def dying(original):
        def wrapper(*args, **kwargs):
            global calls
            calls += 1
            if calls == {after}:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)
        return wrapper

    target = {target}
    setattr(target[0], target[1], dying(getattr(target[0], target[1])))
    render_site(settings, designs, DESIGNERS)
"""


def killed_build(settings, target: str, after: int) -> None:
    """A render_site in a child process that kills itself (SIGKILL) at the `after`-th call
    of `target`: four designs go, four newer ones come, so every listing page changes."""
    code = textwrap.dedent(KILLER).format(
        repo=str(REPO), tests=str(TESTS), root=str(settings.root), after=after, target=target
    )
    child = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]


@pytest.mark.parametrize(
    ("target", "after"),
    [
        ("(render.PageCache, 'wrote')", 5),  # mid-render: staging half rewritten
        ("(folder_site_target.FolderSiteTarget, '_place')", 4),  # images going in
        ("(folder_site_target.FolderSiteTarget, '_place')", 30),  # pages going in
        ("(folder_site_target.FolderSiteTarget, '_delete')", 1),  # all in, none deleted yet
    ],
)
def test_a_build_killed_mid_way_leaves_the_site_whole_and_the_next_finishes_it(
    tmp_path, target, after
):
    settings = make_project(tmp_path / "site")
    designs = make_designs(settings, 30)
    render_site(settings, designs, DESIGNERS)
    before = snapshot(settings.output_dir)
    killed_build(settings, target, after)
    assert missing_images(settings.output_dir) == []
    if "PageCache" in target:
        assert snapshot(settings.output_dir) == before  # nothing was published
    scratch_left = list((tmp_path / "site").glob(".output-*"))
    assert scratch.remove_abandoned(scratch_left) == len(scratch_left)  # as the next build does
    fewer = designs[:26]
    render_site(settings, fewer, DESIGNERS)
    assert snapshot(settings.output_dir) == from_scratch(settings, fewer)["site"]
