"""Scanning content/designs/: sidecars, derived metadata, designers, slugs and problems."""

from __future__ import annotations

import re
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from nailfolio.errors import ContentError
from nailfolio.gallery.content import (
    ContentProblem,
    Scan,
    date_from_camera_name,
    is_camera_name,
    parse_duration,
    parse_metadata,
    parse_price,
    render_markdown,
    scan_designs,
    split_list,
    title_from_name,
)
from nailfolio.gallery.models import Price
from nailfolio.gallery.slugs import short_hash
from nailfolio.local.folder_content_store import FolderContentStore

REPO = Path(__file__).resolve().parent.parent

SIDECAR = """\
Title: Ruby French Tips
Tags: French,  Classic , french, Red
Colors: Ruby Red, nude
Technique: Gel polish
Date: 2026-03-01 14:30
Alt: Five almond nails with ruby tips
Mood: ignored

A **deep red** tip on a
sheer nude base.
"""


def scan_folder(folder: Path, display_prefix: str = "") -> Scan:
    """scan_designs over the local store of `folder`."""
    return scan_designs(FolderContentStore(folder), display_prefix)


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    (root / "designs").mkdir(parents=True)
    return root


def put(content: Path, rel: str, text: str | bytes = b"") -> Path:
    path = content / "designs" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def by_key(content: Path) -> dict:
    return {design.key: design for design in scan_folder(content).designs}


def test_sidecar_metadata_fills_every_field(content: Path) -> None:
    image = put(content, "ana/ruby.jpg")
    put(content, "ana/ruby.md", SIDECAR)
    design = by_key(content)["ana/ruby"]
    assert design.path == image.resolve()
    assert design.rel_path == "designs/ana/ruby.jpg"
    assert design.title == "Ruby French Tips"
    assert design.tags == ("french", "classic", "red")
    assert design.colours == ("ruby red", "nude")
    assert design.technique == "Gel polish"
    assert design.date == datetime(2026, 3, 1, 14, 30)
    assert design.alt == "Five almond nails with ruby tips"
    assert design.description == "<p>A <strong>deep red</strong> tip on a\nsheer nude base.</p>"
    assert design.mtime == image.stat().st_mtime


def test_colours_spelling_wins_over_colors(content: Path) -> None:
    put(content, "ana/x.jpg")
    put(content, "ana/x.md", "Colours: Gold\nColors: Silver\n")
    assert by_key(content)["ana/x"].colours == ("gold",)


def test_metadata_is_derived_without_a_sidecar(content: Path) -> None:
    put(content, "ana-lima/ruby-french_tips 02.jpg")
    design = by_key(content)["ana-lima/ruby-french-tips-02"]
    assert design.title == "Ruby French Tips 02"
    assert (design.tags, design.colours, design.technique) == ((), (), "")
    assert design.date is None
    assert design.description == ""
    assert design.alt == "Ruby French Tips 02 nail design by Ana Lima"


def test_sidecar_without_alt_or_title_derives_them(content: Path) -> None:
    put(content, "ana/gold_leaf.png")
    put(content, "ana/gold_leaf.md", "Tags: gold\n\nShiny.")
    design = by_key(content)["ana/gold-leaf"]
    assert design.title == "Gold Leaf"
    assert design.alt == "Gold Leaf nail design by Ana"
    assert design.tags == ("gold",)


def test_designer_md_names_the_designer(content: Path) -> None:
    put(content, "Bea Okafor/sunset.jpg")
    put(content, "Bea Okafor/designer.md", "Name: Bea Okafor-Smith\nBio: Lagos.\n\nLoves *chrome*.")
    put(content, "chloe_martin/daisy.jpg")
    scan = scan_folder(content)
    bea, chloe = scan.designers
    assert (bea.slug, bea.name) == ("bea-okafor", "Bea Okafor-Smith")
    assert bea.bio == "<p>Lagos.</p>\n<p>Loves <em>chrome</em>.</p>"
    assert (chloe.slug, chloe.name, chloe.bio) == ("chloe-martin", "Chloe Martin", "")
    assert [d.key for d in scan.designs] == ["bea-okafor/sunset", "chloe-martin/daisy"]
    assert scan.designs[0].designer == bea
    assert scan.problems == ()


def test_case_clashes_get_unique_slugs_stable_when_files_come_and_go(content: Path) -> None:
    for name in ("red.jpg", "Red.jpg", "red.PNG"):
        put(content, f"ana/{name}")
    before = {d.rel_path: d.slug for d in scan_folder(content).designs}
    assert before == {
        "designs/ana/red.jpg": "red",
        "designs/ana/Red.jpg": f"red-{short_hash('Red.jpg')}",
        "designs/ana/red.PNG": f"red-{short_hash('red.PNG')}",
    }
    put(content, "ana/RED.webp")
    put(content, "ana/blue.jpg")
    after = {d.rel_path: d.slug for d in scan_folder(content).designs}
    assert {path: after[path] for path in before} == before
    assert len(set(after.values())) == len(after)
    (content / "designs/ana/RED.webp").unlink()
    (content / "designs/ana/blue.jpg").unlink()
    assert {d.rel_path: d.slug for d in scan_folder(content).designs} == before


def test_designer_folder_clash_gets_unique_slugs(content: Path) -> None:
    put(content, "ana-lima/a.jpg")
    put(content, "Ana Lima/b.jpg")
    assert set(by_key(content)) == {"ana-lima/a", f"ana-lima-{short_hash('Ana Lima')}/b"}


def test_any_file_name_gets_a_url_safe_slug(content: Path) -> None:
    for name in (
        "💅.jpg",
        "東京 nails.jpg",
        "Crème brûlée.webp",
        "a b  c.jpeg",
        "x" * 120 + ".jpg",
    ):
        put(content, f"ana/{name}")
    slugs = [d.slug for d in scan_folder(content).designs]
    assert len(set(slugs)) == 5
    assert "creme-brulee" in slugs
    assert "a-b-c" in slugs
    assert all(slug.isascii() and " " not in slug and len(slug) <= 60 for slug in slugs)


def test_non_image_files_are_listed_for_the_pipeline_to_reject(content: Path) -> None:
    put(content, "ana/notes.txt", "remember to buy top coat")
    put(content, "ana/no-extension", b"\x00\x01")
    assert set(by_key(content)) == {"ana/notes", "ana/no-extension"}


def test_hidden_files_and_folders_are_ignored(content: Path) -> None:
    put(content, "ana/red.jpg")
    for rel in ("ana/.DS_Store", "ana/._red.jpg", "ana/Thumbs.db", "ana/desktop.ini"):
        put(content, rel)
    put(content, "ana/.thumbs/red.jpg")
    put(content, ".git/config")
    put(content, "__MACOSX/ana/._red.jpg")
    scan = scan_folder(content)
    assert [d.key for d in scan.designs] == ["ana/red"]
    assert [d.slug for d in scan.designers] == ["ana"]
    assert scan.problems == ()


def test_misplaced_files_and_orphan_sidecars_are_reported(content: Path) -> None:
    put(content, "loose.jpg")
    put(content, "ana/old/red.jpg")
    put(content, "ana/blue.md", "Title: Blue")
    scan = scan_folder(content, display_prefix="content/")
    assert scan.designs == ()
    assert [str(p) for p in scan.problems] == [
        "content/designs/ana/blue.md: no image named blue.* beside this sidecar; "
        "rename one to match",
        "content/designs/ana/old: sub-folders are not scanned; "
        "move its images up into content/designs/ana/",
        "content/designs/loose.jpg: not in a designer folder; "
        "move it into content/designs/<designer>/",
    ]
    # The orphan sidecar leaves nothing out of the site; the sub-folder and loose.jpg do.
    assert [p.warning for p in scan.problems] == [True, False, False]


def test_symlinked_files_and_folders_are_reported_never_followed(
    content: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("Title: Leaked\n\nThe database password is hunter2\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    Image.new("RGB", (8, 8)).save(outside / "private.png")
    put(content, "ana/red.jpg")
    (content / "designs/ana/red.md").symlink_to(secret)
    (content / "designs/ana/leak.png").symlink_to(outside / "private.png")
    (content / "designs/ana/designer.md").symlink_to(secret)
    (content / "designs/bo").symlink_to(outside, target_is_directory=True)
    (content / "designs/gone.jpg").symlink_to(tmp_path / "missing.jpg")
    scan = scan_folder(content, display_prefix="content/")
    assert [(d.key, d.title, d.description) for d in scan.designs] == [("ana/red", "Red", "")]
    assert [d.name for d in scan.designers] == ["Ana"]
    assert [str(p) for p in scan.problems] == [
        "content/designs/ana/designer.md: is a symbolic link; copy the file in instead",
        "content/designs/ana/leak.png: is a symbolic link; copy the file in instead",
        "content/designs/ana/red.md: is a symbolic link; copy the file in instead",
        "content/designs/bo: is a symbolic link; copy the folder in instead",
        "content/designs/gone.jpg: is a symbolic link; copy the file in instead",
    ]
    warnings = {p.path for p in scan.problems if p.warning}  # the images are still published
    assert warnings == {"content/designs/ana/designer.md", "content/designs/ana/red.md"}


def test_a_symlinked_content_folder_is_scanned(content: Path, tmp_path: Path) -> None:
    put(content, "ana/red.jpg")
    link = tmp_path / "linked-content"
    link.symlink_to(content, target_is_directory=True)
    scan = scan_folder(link)
    assert [d.key for d in scan.designs] == ["ana/red"]
    assert scan.problems == ()


def test_bad_sidecar_date_is_reported_and_the_design_kept(content: Path) -> None:
    put(content, "ana/red.jpg")
    put(content, "ana/red.md", "Title: Red\nDate: last tuesday\n")
    scan = scan_folder(content)
    assert [(d.key, d.title, d.date) for d in scan.designs] == [("ana/red", "Red", None)]
    assert scan.problems == (
        ContentProblem(
            "designs/ana/red.md",
            "Date: 'last tuesday' is not a date; use YYYY-MM-DD, or YYYY-MM-DD HH:MM",
            warning=True,
        ),
    )


def test_unreadable_sidecar_is_reported_and_the_design_kept(content: Path) -> None:
    put(content, "ana/red.jpg")
    put(content, "ana/red.md", "Title: Caf\xe9".encode("latin-1"))
    scan = scan_folder(content)
    assert scan.designs[0].title == "Red"
    assert [(p.reason, p.warning) for p in scan.problems] == [
        ("not UTF-8 text; save it as UTF-8", True)
    ]


def test_sidecar_matches_its_image_ignoring_case_only_when_unclaimed(content: Path) -> None:
    put(content, "ana/Blue.JPG")
    put(content, "ana/blue.md", "Title: Sky")
    put(content, "ana/red.jpg")
    put(content, "ana/Red.png")
    put(content, "ana/red.md", "Title: Ruby")
    titles = {d.rel_path: d.title for d in scan_folder(content).designs}
    assert titles == {
        "designs/ana/Blue.JPG": "Sky",
        "designs/ana/red.jpg": "Ruby",
        "designs/ana/Red.png": "Red",
    }


def test_html_in_sidecar_body_is_escaped(content: Path) -> None:
    put(content, "ana/red.jpg")
    body = (
        '<script>alert("x")</script>\n\n'
        '<img src=x onerror="alert(1)"> [click](javascript:alert(1)) '
        "[ok](https://example.com/a?b=1) <!-- hidden -->"
    )
    put(content, "ana/red.md", f"Title: Red\n\n{body}")
    html = by_key(content)["ana/red"].description
    assert "<script" not in html and "<img" not in html and "<!--" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html
    assert '<a href="https://example.com/a?b=1" rel="nofollow ugc noopener">ok</a>' in html


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "java&#115;cript:alert(1)", "data:text/html,x"],
)
def test_markdown_drops_links_that_could_run_code(url: str) -> None:
    assert "href" not in render_markdown(f"[x]({url})")


def test_parse_metadata_reads_a_pelican_style_header() -> None:
    meta, body = parse_metadata("\ufeffTitle: A\nTags: x,\n    y\n\nBody: not a key\n")
    assert meta == {"title": "A", "tags": "x, y"}
    assert body == "Body: not a key"
    assert parse_metadata("Just prose, no header.") == ({}, "Just prose, no header.")


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("ruby-french_tips 02", "Ruby French Tips 02"),
        ("OPI dupes", "OPI Dupes"),
        ("crème.brûlée", "Crème Brûlée"),
        ("---", "---"),
    ],
)
def test_title_from_name(name: str, title: str) -> None:
    assert title_from_name(name) == title


CAMERA_NAMES = [
    # (file name, the day it names)
    ("IMG_2041.jpg", None),
    ("IMG_2041 (1).jpg", None),
    ("IMG_E2041.JPG", None),
    ("PXL_20260301_123456789.jpg", datetime(2026, 3, 1)),
    ("PXL_20260301_123456789.PORTRAIT.jpg", datetime(2026, 3, 1)),
    ("DSC_0042.JPG", None),
    ("DSCN1234", None),
    ("DSCF0007.jpg", None),
    ("P1010001.JPG", None),
    ("20260301_123456.jpg", datetime(2026, 3, 1)),
    ("Screenshot 2026-03-01 at 10.00.00.png", datetime(2026, 3, 1)),
    ("Screenshot_20260301-100000_Instagram.jpg", datetime(2026, 3, 1)),
    ("WhatsApp Image 2026-03-01 at 10.00.00.jpeg", datetime(2026, 3, 1)),
    ("WhatsApp Image 2026-03-01 at 10.00.00 (2).jpeg", datetime(2026, 3, 1)),
    ("IMG-20260301-WA0001.jpg", datetime(2026, 3, 1)),
    ("MVIMG_20260301_123456.jpg", datetime(2026, 3, 1)),
    ("photo_2026-03-01_10-00-00.jpg", datetime(2026, 3, 1)),
    ("IMG_20260231_101010.jpg", None),  # not a real day
    ("image0.jpeg", None),
    ("0042.jpg", None),
]


@pytest.mark.parametrize(("name", "day"), CAMERA_NAMES)
def test_a_camera_file_name_never_becomes_a_title(
    content: Path, name: str, day: datetime | None
) -> None:
    put(content, f"ana/{name}")
    (design,) = scan_folder(content).designs
    assert is_camera_name(Path(name).stem)
    assert (design.title, design.alt, design.untitled) == (
        "Design by Ana",
        "Nail design by Ana",
        True,
    )
    assert date_from_camera_name(Path(name).stem) == day


@pytest.mark.parametrize(
    "name",
    [
        "ruby-french_tips 02",
        "red chrome",
        "2026 collection",
        "Image of ruby tips",
        "DSC_red_nails",
        "pixel-perfect",
        "samba",
        "img-art",
    ],
)
def test_a_designer_s_own_name_is_not_mistaken_for_a_camera_s(name: str) -> None:
    assert not is_camera_name(name)


def test_a_sidecar_title_names_a_camera_file(content: Path) -> None:
    put(content, "ana/IMG_2041.jpg")
    put(content, "ana/IMG_2041.md", "Title: Ruby tips\n")
    (design,) = scan_folder(content).designs
    assert (design.title, design.untitled, design.slug) == ("Ruby tips", False, "img-2041")


def test_split_list_normalises_tags() -> None:
    assert split_list(" Red ;gold,, RED , Rose   Gold") == ("red", "gold", "rose gold")


def test_missing_content_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="content folder not found"):
        scan_folder(tmp_path / "nope")


def test_content_without_designs_folder_scans_empty(tmp_path: Path) -> None:
    scan = scan_folder(tmp_path)
    assert (scan.designs, scan.designers, scan.problems) == ((), (), ())


def test_scan_of_200_designs_is_fast(content: Path) -> None:
    for index in range(200):
        put(content, f"designer-{index % 5}/design {index:03}.jpg")
        if index % 2:
            put(content, f"designer-{index % 5}/design {index:03}.md", SIDECAR)
    assert len(scan_folder(content).designs) == 200  # also warms the Markdown converter
    timings = []
    for _ in range(3):  # best of three: a busy CI machine should not fail this
        started = time.perf_counter()
        scan_folder(content)
        timings.append(time.perf_counter() - started)
    elapsed = min(timings)
    assert elapsed < 0.05, f"scan took {elapsed * 1000:.0f} ms"


def test_committed_sample_content_scans_cleanly() -> None:
    scan = scan_folder(REPO / "content", display_prefix="content/")
    assert scan.problems == ()
    assert [d.slug for d in scan.designers] == ["ana-lima", "bea-okafor", "chloe-martin"]
    assert 10 <= len(scan.designs) <= 14
    assert all(d.designer.bio for d in scan.designs)
    with_sidecar = [d for d in scan.designs if d.description]
    assert 4 <= len(with_sidecar) <= len(scan.designs) - 4
    formats = set()
    for design in scan.designs:
        with Image.open(design.path) as image:
            formats.add(image.format)
    assert formats == {"JPEG", "PNG", "WEBP"}


@pytest.mark.parametrize(
    ("text", "price"),
    [
        ("45 EUR", Price(Decimal("45"), "EUR")),
        ("EUR 45", Price(Decimal("45"), "EUR")),
        ("€45", Price(Decimal("45"), "EUR")),
        ("45,50 €", Price(Decimal("45.50"), "EUR")),
        ("30 gbp", Price(Decimal("30"), "GBP")),
        ("$40.5", Price(Decimal("40.5"), "USD")),
        ("120 CHF", Price(Decimal("120"), "CHF")),
    ],
)
def test_sidecar_prices(text: str, price: Price) -> None:
    assert parse_price(text) == price


@pytest.mark.parametrize("text", ["45", "45 EUR €", "about 45", "EUR", "45.123 EUR", "-5 EUR"])
def test_bad_prices_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape("write it like 45 EUR, 45.50 EUR or €45")):
        parse_price(text)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90 min", 90),
        ("90 minutes", 90),
        ("1 h 30 min", 90),
        ("1h30m", 90),
        ("1.5 h", 90),
        ("2 hours", 120),
        ("1 hour and 15 minutes", 75),
    ],
)
def test_sidecar_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("90", "is not a length of time"),
        ("soon", "is not a length of time"),
        ("about 1 h", "is not a length of time"),
        ("25 h", "is not between 1 minute and 24 hours"),
        ("0 min", "is not between 1 minute and 24 hours"),
    ],
)
def test_bad_durations_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_duration(text)


def test_sidecar_price_and_duration_reach_the_design(content: Path) -> None:
    put(content, "ana/red.jpg")
    put(content, "ana/red.md", "Title: Red\nPrice: 45 EUR\nDuration: 1 h 15 min\n")
    design = by_key(content)["ana/red"]
    assert (design.price, design.duration) == (Price(Decimal("45"), "EUR"), 75)


def test_bad_price_and_duration_are_warnings_and_the_design_kept(content: Path) -> None:
    put(content, "ana/red.jpg")
    put(content, "ana/red.md", "Title: Red\nPrice: cheap\nDuration: a while\n")
    scan = scan_folder(content)
    assert [(d.title, d.price, d.duration) for d in scan.designs] == [("Red", None, 0)]
    assert [(p.path, p.warning) for p in scan.problems] == [("designs/ana/red.md", True)] * 2
    reasons = sorted(p.reason for p in scan.problems)
    assert reasons[0].startswith("Duration: 'a while' is not a length of time")
    assert reasons[1].startswith("Price: 'cheap' is not a price with its currency")
