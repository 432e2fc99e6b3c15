"""The studio's identity in real Pelican builds: header and footer on every page, /contact/
with its NailSalon JSON-LD, "Book this design", price and duration, term titles; and
content/studio.md's problems in the build and in `check`."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from conftest import Project
from test_pipeline import run
from test_site import SITE_URL, Doc, make_design, make_project

from nailfolio.cli import commands as cli
from nailfolio.gallery.lambda_root import prepare_root
from nailfolio.gallery.models import Price
from nailfolio.gallery.site import render_site
from nailfolio.gallery.views import term_title
from nailfolio.web.csp import ADMIN_CSP, csp_header

STUDIO_MD = """\
Name: Polished Lisbon
Tagline: Nail art, painted by hand in Chiado
Street: Rua das Flores 28
Postcode: 1200-195
City: Lisbon
Country: PT
Phone: +351 213 456 789
Email: hello@polished.example
Booking: https://book.example/polished?service={design}
Hours: Tue-Fri 10:00-19:30; Sat 10:00-17:00
Social: https://www.instagram.com/polished

Two minutes from the **metro**.
"""
DESIGNERS = ()


def build(root: Path, studio: str | None = STUDIO_MD, count: int = 3):
    """A small project rendered with the real theme; its settings and designs."""
    settings = make_project(root)
    if studio is not None:
        (settings.content_dir / "studio.md").write_text(studio, encoding="utf-8")
    designs = [make_design(settings, i, datetime(2025, 3, 1 + i, tzinfo=UTC)) for i in range(count)]
    first = designs[0].source
    designs[0] = replace(
        designs[0], source=replace(first, price=Price(Decimal("45.5"), "EUR"), duration=150)
    )
    render_site(settings, designs, DESIGNERS)
    return settings, designs


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    return build(tmp_path_factory.mktemp("studio") / "site")


@pytest.fixture(scope="module")
def out(site) -> Path:
    return site[0].output_dir


def html_pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def test_every_page_shows_the_studio_in_its_header_and_footer(out: Path) -> None:
    pages = html_pages(out)
    assert len(pages) > 10
    for path in pages:
        doc = Doc(path)
        assert "Polished Lisbon" in doc.text and "Nail art, painted by hand in Chiado" in doc.text
        assert "Tue–Fri 10:00–19:30" in doc.text and "Sat 10:00–17:00" in doc.text, path
        assert doc.find_all("a", href="tel:+351213456789"), path
        assert doc.find_all("a", href="mailto:hello@polished.example"), path
        assert doc.find_all("a", href="https://www.instagram.com/polished"), path
        assert doc.find_all("a", class_="site-nav__book"), path


def test_the_studio_name_and_tagline_are_the_sites(out: Path) -> None:
    doc = Doc(out / "index.html")
    assert doc.find_all("title") and "<title>Polished Lisbon · Nail art" in doc.html
    assert doc.meta("og:site_name") == "Polished Lisbon"
    about = Doc(out / "about" / "index.html")  # Pelican's own pages too
    assert "<title>About us · Polished Lisbon</title>" in about.html


def test_contact_page_lists_address_hours_phone_and_booking(out: Path) -> None:
    doc = Doc(out / "contact" / "index.html")
    assert "Rua das Flores 28 1200-195 Lisbon PT" in doc.text
    assert "Monday Closed Tuesday 10:00–19:30" in doc.text
    assert "Sunday Closed" in doc.text
    assert "Two minutes from the <strong>metro</strong>." in doc.html
    assert doc.find("a", class_="button")["href"] == "https://book.example/polished"
    assert doc.find("a", href="../contact/")["aria-current"] == "page"
    assert doc.find("link", rel="canonical")["href"] == f"{SITE_URL}/contact/"
    assert f"{SITE_URL}/contact/" in (out / "sitemap.xml").read_text()


def test_contact_page_runs_under_the_strict_csp(out: Path) -> None:
    doc = Doc(out / "contact" / "index.html")
    [csp] = [a for t, a in doc.tags if t == "meta" and a.get("http-equiv")]
    assert csp["content"] == ADMIN_CSP
    assert csp_header("/contact/") == ADMIN_CSP + "; frame-ancestors 'none'"
    assert not [a for _, a in doc.tags if "style" in a] and "<style" not in doc.html
    inline = [a for a, text in doc.scripts if not a.get("src")]
    assert inline == [{"type": "application/ld+json"}]  # data, which script-src leaves be


def test_contact_jsonld_is_a_nail_salon(out: Path) -> None:
    data = Doc(out / "contact" / "index.html").jsonld()
    assert data["@context"] == "https://schema.org" and data["@type"] == "NailSalon"
    assert (data["name"], data["url"]) == ("Polished Lisbon", f"{SITE_URL}/")
    assert data["telephone"] == "+351 213 456 789"
    assert data["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "Rua das Flores 28",
        "postalCode": "1200-195",
        "addressLocality": "Lisbon",
        "addressCountry": "PT",
    }
    days = [spec["dayOfWeek"] for spec in data["openingHoursSpecification"]]
    assert days == [["Tuesday", "Wednesday", "Thursday", "Friday"], ["Saturday"]]
    assert all(
        spec["@type"] == "OpeningHoursSpecification" and spec["opens"] == "10:00"
        for spec in data["openingHoursSpecification"]
    )
    assert data["sameAs"] == ["https://www.instagram.com/polished"]


def test_the_home_page_graph_names_the_salon(out: Path) -> None:
    graph = Doc(out / "index.html").jsonld()["@graph"]
    [salon] = [node for node in graph if node["@type"] == "NailSalon"]
    assert salon["@id"] == f"{SITE_URL}/#studio" and salon["address"]["addressLocality"] == "Lisbon"


def test_owner_text_cannot_close_the_jsonld_script(tmp_path: Path) -> None:
    name = "Nails </script><script>alert(1)</script> & <!-- Co"
    settings, _ = build(tmp_path / "site", f"Name: {name}\nCity: </script>Lisbon\n", count=1)
    for rel in ("contact/index.html", "index.html"):
        doc = Doc(settings.output_dir / rel)
        assert "<script>alert" not in doc.html and "</script>Lisbon" not in doc.html
        data = doc.jsonld()
        salon = data if rel.startswith("contact") else data["@graph"][2]
        assert salon["name"] == name and salon["address"]["addressLocality"] == "</script>Lisbon"
        scripts = doc.find_all("script")  # no tag injected: the data block and the module
        assert [a.get("type") for a in scripts] == ["application/ld+json", "module"]


def test_design_page_books_the_design_with_price_and_duration(site) -> None:
    settings, designs = site
    key = designs[0].source.key
    doc = Doc(settings.output_dir / "designs" / key / "index.html")
    button = doc.find("a", class_="booking__button")
    assert button["href"] == "https://book.example/polished?service=Design%200"
    assert "Book this design" in doc.text
    assert "Price €45.50" in doc.text and "Duration 2 h 30 min" in doc.text
    other = Doc(settings.output_dir / "designs" / designs[1].source.key / "index.html")
    assert "Price" not in other.text and "Duration" not in other.text
    assert other.find("a", class_="booking__button")["href"].endswith("service=Design%201")


def test_without_a_booking_link_the_button_prepares_an_email(tmp_path: Path) -> None:
    settings, designs = build(tmp_path / "site", "Email: hello@polished.example\n", count=1)
    doc = Doc(settings.output_dir / "designs" / designs[0].source.key / "index.html")
    href = doc.find("a", class_="booking__button")["href"]
    assert href.startswith("mailto:hello@polished.example?subject=Booking%3A%20Design%200&body=")
    body = parse_qs(urlsplit(href).query)["body"][0]
    assert f"{SITE_URL}/designs/{designs[0].source.key}/" in body


def test_without_a_studio_file_the_site_builds_and_booking_goes_to_contact(tmp_path) -> None:
    settings, designs = build(tmp_path / "site", None, count=1)
    out = settings.output_dir
    doc = Doc(out / "designs" / designs[0].source.key / "index.html")
    assert doc.find("a", class_="booking__button")["href"] == "../../../contact/"
    contact = Doc(out / "contact" / "index.html")
    assert "has not published its contact details yet" in contact.text
    assert contact.jsonld()["name"] == "Nailfolio" and "address" not in contact.jsonld()
    assert "By appointment" in Doc(out / "index.html").text


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("classic", "Classic"),
        ("cherry red", "Cherry Red"),
        ("french with a twist", "French with a Twist"),
        ("cat-eye", "Cat-Eye"),
        ("it's gold", "It's Gold"),
        ("OPI red", "OPI Red"),
        ("3d chrome", "3d Chrome"),
    ],
)
def test_term_titles(name: str, title: str) -> None:
    assert term_title(name) == title


def test_tag_and_colour_pages_are_titled_in_h1_title_and_listing(tmp_path: Path) -> None:
    settings = make_project(tmp_path / "site")
    design = make_design(settings, 0, datetime(2025, 3, 1, tzinfo=UTC))
    source = replace(design.source, tags=("classic", "french tips"), colours=("cherry red",))
    render_site(settings, [replace(design, source=source)], DESIGNERS)
    out = settings.output_dir
    for rel, title in (("tags/classic", "Classic"), ("colours/cherry-red", "Cherry Red")):
        doc = Doc(out / rel / "index.html")
        assert f"<title>{title} · Nailfolio</title>" in doc.html
        assert doc.meta("og:title") == title and title in doc.text
    assert "Classic 1" in Doc(out / "tags" / "index.html").text
    assert "Cherry Red 1" in Doc(out / "colours" / "index.html").text
    chips = Doc(out / "designs" / source.key / "index.html").text
    assert "Classic" in chips and "French Tips" in chips and "Cherry Red" in chips


def test_a_studio_edit_renders_every_page_again(site, tmp_path: Path) -> None:
    """Even an edit keeping the file's size and mtime, which content/'s stat hash misses."""
    settings, designs = build(tmp_path / "site")
    studio = settings.content_dir / "studio.md"
    stat = studio.stat()
    again = render_site(settings, designs, DESIGNERS)
    assert again.rendered == 0
    studio.write_text(STUDIO_MD.replace("+351 213 456 789", "+351 213 456 700"))
    os.utime(studio, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    edited = render_site(settings, designs, DESIGNERS)
    assert edited.rendered == again.pages - 1  # all but Pelican's own about page
    for path in html_pages(settings.output_dir):
        assert "tel:+351213456700" in path.read_text(), path


def test_the_build_warns_about_a_bad_studio_value_and_still_publishes(project: Project) -> None:
    project.add_image("ana/red.jpg")
    (project.settings.content_dir / "studio.md").write_text("Phone: call us\nCity: Lisbon\n")
    report = run(project)
    assert report.published == 1
    [warning] = [str(w) for w in report.warnings]
    assert warning.startswith("content/studio.md: Phone: 'call us' is not a phone number")
    assert "Lisbon" in (project.root / "output" / "contact" / "index.html").read_text()


def test_check_reports_a_bad_studio_value(project: Project) -> None:
    studio = project.settings.content_dir / "studio.md"
    studio.write_text("Email: hello at polished\nBooking: book.example\n")
    result = CliRunner().invoke(cli.main, ["--root", str(project.root), "check"])
    assert result.exit_code == 1
    assert "problem  content/studio.md: Email: 'hello at polished' is not an email" in result.output
    assert "problem  content/studio.md: Booking: 'book.example' is not a web link" in result.output
    assert "2 bad values in studio.md" in result.output
    studio.write_text(STUDIO_MD)
    assert CliRunner().invoke(cli.main, ["--root", str(project.root), "check"]).exit_code == 0


def test_the_lambda_root_carries_the_studio_file(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "content").mkdir(parents=True)
    shutil.copy(Path(__file__).parents[1] / "pelicanconf.py", bundle / "pelicanconf.py")
    (bundle / "theme").mkdir()
    (bundle / "content" / "studio.md").write_text(STUDIO_MD)
    prepare_root(bundle, tmp_path / "root")
    assert (tmp_path / "root" / "content" / "studio.md").read_text() == STUDIO_MD
