"""Colour from the pixels in a real headless Chromium, on the sample gallery: a design page
tagged with the shades read from its pixels and showing similar designs, and the colour page
a visitor reaches from it, at phone and desktop sizes (screenshots in SHOTS)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SHOTS = Path(os.environ.get("NAILFOLIO_SHOTS", "/tmp/shots/colours"))
DESIGN = "/designs/ana-lima/lavender-ombre-02/"  # no sidecar: its colours are its pixels'


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=request.param, device_scale_factor=1)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    context.close()


def _settle(page: Page) -> None:
    """Scroll to the end and back so lazy images load, then wait for the network."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")


def _check(page: Page, assert_accessible, name: str) -> None:
    """No errors, no broken image, no sideways scrolling, no WCAG A/AA issue; a screenshot."""
    assert page.errors == []  # type: ignore[attr-defined]
    broken = page.evaluate("[...document.images].filter(i => !i.naturalWidth).map(i => i.src)")
    assert broken == []
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert_accessible(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {}
    page.screenshot(path=str(SHOTS / f"{name}-{size.get('width')}.png"), full_page=True)


def test_a_design_page_shows_its_pixel_colours_and_similar_designs(
    page: Page, sample_site: str, assert_accessible
) -> None:
    page.goto(sample_site + DESIGN)
    _settle(page)
    colours = page.locator(".facts__row", has_text="Colours").locator("a.chip")
    assert colours.all_inner_texts() == ["Lavender", "Nude"]
    similar = page.get_by_role("region", name="Similar designs")
    assert similar.is_visible()
    cards = similar.locator("a.card__link")
    assert cards.count() >= 1
    assert "Cherry Blossom" in cards.first.inner_text()
    _check(page, assert_accessible, "design")
    cards.first.click()
    page.wait_for_load_state("networkidle")
    assert page.url == sample_site + "/designs/chloe-martin/cherry-blossom/"


def test_a_visitor_filters_by_a_colour_nobody_typed(
    page: Page, sample_site: str, assert_accessible
) -> None:
    page.goto(sample_site + DESIGN)
    page.locator(".facts__row", has_text="Colours").get_by_role("link", name="lavender").click()
    page.wait_for_load_state("networkidle")
    assert page.url == sample_site + "/colours/lavender/"
    _settle(page)
    titles = page.locator(".grid .card__title").all_inner_texts()
    assert titles == ["Lavender Ombre 02"]
    assert page.locator(".intro__title .swatch").count() == 1
    _check(page, assert_accessible, "colour")
