"""The sample gallery in a real headless Chromium: phone and desktop, plus axe accessibility."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Request

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=request.param, device_scale_factor=1)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("requestfailed", lambda req: _record_failure(page, req))
    yield page
    context.close()


def _record_failure(page: Page, request: Request) -> None:
    """A failed request is an error, except one the browser cancelled because the page was
    left (a click away while a lazy image or the icon was still loading)."""
    if request.failure != "net::ERR_ABORTED":
        page.errors.append(f"failed: {request.url} ({request.failure})")  # type: ignore[attr-defined]


def _scroll_through(page: Page) -> None:
    """Bring every lazy image into view so the browser fetches it."""
    height = page.evaluate("document.body.scrollHeight")
    for y in range(0, height + 1, 500):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(30)
    page.wait_for_load_state("networkidle")


def _broken_images(page: Page) -> list[str]:
    return page.evaluate(
        "[...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.currentSrc || i.src)"
    )


def test_index_loads_every_image_without_errors(page: Page, sample_site: str) -> None:
    page.goto(sample_site + "/")
    _scroll_through(page)
    assert page.locator("img").count() >= 10
    assert _broken_images(page) == []
    assert page.errors == []  # type: ignore[attr-defined]
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page must not scroll sideways"


def test_design_page_opens_from_the_grid(page: Page, sample_site: str) -> None:
    page.goto(sample_site + "/")
    first = page.locator("main a[href*='designs/']").first
    href = first.evaluate("a => a.href")  # resolved against the page, like the browser will
    first.click()
    page.wait_for_load_state("networkidle")
    assert page.url == href
    assert page.locator("h1").count() == 1
    assert page.locator("picture img").count() == 1
    assert _broken_images(page) == []
    assert page.locator("#comments").count() == 1
    assert page.errors == []  # type: ignore[attr-defined]
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def _design_and_designer_urls(page: Page, sample_site: str) -> list[str]:
    page.goto(sample_site + "/")
    design = page.locator("main a[href*='designs/']").first.evaluate("a => a.href")
    page.goto(sample_site + "/designers/")
    designer = page.locator("main a[href*='designers/']").first.evaluate("a => a.href")
    assert re.search(r"/designs/[^/]+/[^/]+/$", design), design
    assert re.search(r"/designers/[^/]+/$", designer), designer
    return [sample_site + "/", design, designer]


def test_no_wcag_a_or_aa_violations(page: Page, sample_site: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    for url in _design_and_designer_urls(page, sample_site):
        page.goto(url)
        _scroll_through(page)
        results = axe.run(
            page,
            options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}},
        )
        assert results.violations_count == 0, f"{url}\n{results.generate_report()}"


@pytest.mark.parametrize(
    ("viewport", "scale", "css_width", "fetched"),
    [
        ({"width": 390, "height": 844}, 3, 350, "1200w"),  # phone: the screen less 2.5rem
        ({"width": 820, "height": 1180}, 2, 780, "1200w"),  # tablet in portrait
        ({"width": 1366, "height": 900}, 1, 576, "960w"),  # laptop: the 36rem column
    ],
)
def test_each_screen_fetches_the_smallest_width_that_fills_the_picture(
    browser: Browser,
    sample_site: str,
    viewport: dict[str, int],
    scale: int,
    css_width: int,
    fetched: str,
) -> None:
    """The README's "Picture sizes": the picture spans the screen less 2.5rem below 60em and
    36rem from there, and `sizes` says so, so a browser takes the width its pixels need (the
    sample's photo is 1200 px wide, so 480, 960 and its own 1200)."""
    context = browser.new_context(viewport=viewport, device_scale_factor=scale)
    page = context.new_page()
    page.goto(sample_site + "/designs/chloe-martin/emerald-marble/", wait_until="networkidle")
    picture = page.locator("main picture img").first
    width, source = picture.evaluate("i => [i.getBoundingClientRect().width, i.currentSrc]")
    context.close()
    assert width == css_width
    assert source.endswith(f"-{fetched}.webp")
