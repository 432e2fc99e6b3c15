"""The studio's identity in a real Chromium, at phone (390x844) and desktop (1280x800) sizes:
the header, the footer, /contact/ and a design's "Book this design" button (sample content)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
DESIGN = "/designs/ana-lima/ruby-french-tips/"  # its sidecar gives a price and a duration
SHOTS = Path(os.environ.get("NAILFOLIO_SHOTS", "/tmp/shots/identity"))


@pytest.fixture(params=list(SIZES))
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page at one size that records console errors (CSP violations among them)."""
    context = browser.new_context(viewport=SIZES[request.param], device_scale_factor=1)
    page = context.new_page()
    page.size = request.param  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    yield page
    context.close()


def _open(page: Page, url: str, shot: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.size  # type: ignore[attr-defined]
    page.screenshot(path=SHOTS / f"{shot}-{size}.png", full_page=True)
    page.locator("header.site-header").screenshot(path=SHOTS / f"{shot}-{size}-header.png")
    page.locator("footer.site-footer").screenshot(path=SHOTS / f"{shot}-{size}-footer.png")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{url} scrolls sideways by {overflow} px"


def test_contact_page_shows_the_studio_and_its_jsonld_under_the_strict_csp(
    page: Page, sample_site: str, assert_accessible
) -> None:
    _open(page, sample_site + "/contact/", "contact")
    assert page.locator("h1").inner_text() == "Nailfolio Studio"
    hours = page.locator(".hours__row")
    assert hours.count() == 7 and hours.nth(5).inner_text().split() == [
        "Saturday",
        "10:00–13:00,",
        "14:00–17:00",
    ]
    assert page.get_by_role("link", name="Book an appointment").get_attribute("href") == (
        "https://book.nailfolio.example/appointments"
    )
    block = page.locator('script[type="application/ld+json"]').text_content() or ""
    salon = json.loads(block)
    assert salon["@type"] == "NailSalon" and salon["address"]["@type"] == "PostalAddress"
    csp = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert_accessible(page, "contact")


def test_header_and_footer_carry_the_studio_on_every_kind_of_page(
    page: Page, sample_site: str
) -> None:
    for path, shot in (("/", "home"), ("/tags/", "tags"), ("/about/", "about")):
        _open(page, sample_site + path, shot)
        footer = page.locator("footer.site-footer")
        assert footer.get_by_role("link", name="+351 213 456 789").is_visible()
        assert "Tue–Fri 10:00–19:30" in footer.inner_text()
        assert footer.get_by_role("link", name="Instagram").is_visible()
        assert page.locator(".brand__tagline").is_visible()
        contact = page.locator("header .site-nav__book")
        assert contact.is_visible() and contact.bounding_box()["height"] >= 36  # a thumb's tap


def test_design_page_books_the_design(page: Page, sample_site: str, assert_accessible) -> None:
    _open(page, sample_site + DESIGN, "design")
    button = page.get_by_role("link", name="Book this design")
    href = button.get_attribute("href") or ""
    assert parse_qs(urlsplit(href).query) == {"service": ["Ruby French Tips"]}
    box = button.bounding_box()
    width = SIZES[page.size]["width"]  # type: ignore[attr-defined]
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= width
    booking = page.locator(".booking").inner_text()
    assert "€45" in booking and "75 min" in booking
    assert page.locator(".facts").get_by_role("link", name="Classic").is_visible()  # a title
    assert_accessible(page, "design")
