"""Image placeholders in a real Chromium: painted while an image loads, never through it.

A design with transparent parts (a PNG or WebP with alpha) must show the page behind those
parts once it has loaded, not the blurred placeholder or its dominant colour.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import MarkerModerator, Project
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, Route

from nailfolio import config
from nailfolio.gallery.pipeline import build_gallery

pytestmark = pytest.mark.browser

PAGE_BACKGROUND = (0xFB, 0xF7, 0xF4)  # --bg in site.css, light scheme
NAIL = (232, 30, 140)  # a loud pink, far from the page background
SIZE = (800, 1000)  # 4:5 like the grid's thumbnails, so the thumbnail is not cropped
TRANSPARENT_POINTS = ((0.04, 0.5), (0.5, 0.04), (0.96, 0.5))  # in the clear border
IMAGES = ".card__img, .design__img"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def transparent_design(project: Project, rel: str, fmt: str) -> None:
    """A nail-pink block on a transparent canvas, with a clear 10% border all round."""
    path = project.designs / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGBA", SIZE, (0, 0, 0, 0))  # transparent black: the moderator's 0
    width, height = SIZE
    box = (width // 10, height // 10, width - width // 10, height - height // 10)
    ImageDraw.Draw(image).rounded_rectangle(box, radius=60, fill=(*NAIL, 255))
    image.save(path, fmt, **({"lossless": True} if fmt == "WEBP" else {}))


@dataclass(frozen=True)
class ServedSite:
    url: str
    designs: tuple[str, ...]  # "designer/slug" keys


@pytest.fixture
def transparent_site(project: Project) -> Iterator[ServedSite]:
    """A built and served project of two transparent designs, a PNG and a WebP."""
    from nailfolio.web.server import make_server

    transparent_design(project, "ana/clear-tips.png", "PNG")
    transparent_design(project, "ana/glass-tips.webp", "WEBP")
    with config.open_catalog(project.settings) as catalog:
        notifier = config.open_notifier(project.settings)
        report = build_gallery(project.settings, catalog, notifier, MarkerModerator)
    assert report.published == 2, report
    server = make_server(project.settings.output_dir, port=0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield ServedSite(
        f"http://127.0.0.1:{server.server_address[1]}", ("ana/clear-tips", "ana/glass-tips")
    )
    server.shutdown()
    server.server_close()


class Held:
    """Requests matching a pattern, held back until released (then let through at once)."""

    def __init__(self, page: Page, pattern: str) -> None:
        self.routes: list[Route] | None = []
        page.route(pattern, self._hold)

    def _hold(self, route: Route) -> None:
        if self.routes is None:
            route.continue_()
        else:
            self.routes.append(route)

    def release(self) -> None:
        routes, self.routes = self.routes or [], None
        for route in routes:
            route.continue_()


ALL_COMPLETE = (
    f"(imgs => imgs.length > 0 && imgs.every(i => i.complete))"
    f"([...document.querySelectorAll('{IMAGES}')])"
)


def wait_until(page: Page, expression: str, seconds: float = 10) -> None:
    """Poll an expression (wait_for_function evaluates strings, which the pages' CSP forbids)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true: {expression}"
        page.wait_for_timeout(20)


def arrive(page: Page, url: str, arrival: str) -> None:
    """Open url with its images coming after the scripts have run (their load listeners do
    the work), before them (complete when the scripts run, as from the cache), or without
    JavaScript; return once everything has loaded and a frame has been painted."""
    if arrival == "images-last":
        images = Held(page, "**/img/*")
        page.goto(url, wait_until="domcontentloaded")  # module scripts have run by then
        images.release()
    elif arrival == "images-first":
        scripts = Held(page, "**/theme/js/*.js")
        page.goto(url, wait_until="commit")
        wait_until(page, ALL_COMPLETE)
        scripts.release()
    else:
        page.goto(url)
    page.wait_for_load_state("load")
    loaded = page.eval_on_selector_all(IMAGES, "imgs => imgs.map(i => i.naturalWidth > 0)")
    assert loaded and all(loaded), loaded
    page.wait_for_timeout(100)


ARRIVALS = ["images-last", "images-first", "no-javascript"]


@pytest.fixture(params=ARRIVALS)
def arrival(request: pytest.FixtureRequest) -> str:
    return request.param


@contextmanager
def open_page(browser: Browser, arrival: str, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(
        viewport=viewport,
        device_scale_factor=1,
        color_scheme="light",
        java_script_enabled=arrival != "no-javascript",
    )
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    context.close()


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def page(browser: Browser, arrival, request: pytest.FixtureRequest) -> Iterator[Page]:
    with open_page(browser, arrival, request.param) as opened:
        yield opened


def backgrounds(page: Page, selector: str = IMAGES) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        selector,
        "imgs => imgs.map(i => { const s = getComputedStyle(i);"
        " return {src: i.currentSrc, image: s.backgroundImage, colour: s.backgroundColor}; })",
    )


def pixels_in_clear_parts(page: Page, selector: str) -> list[tuple[int, int, int]]:
    """The screen's colour at points of an image where the design is transparent."""
    box = page.locator(selector).bounding_box()
    assert box, selector
    shot = Image.open(io.BytesIO(page.screenshot(clip=box))).convert("RGB")
    return [
        shot.getpixel((int(shot.width * x), int(shot.height * y))) for x, y in TRANSPARENT_POINTS
    ]


def close_to(
    colour: tuple[int, int, int], expected: tuple[int, int, int], tolerance: int = 3
) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def assert_page_shows_through(page: Page, selectors: list[str]) -> None:
    for selector in selectors:
        page.locator(selector).scroll_into_view_if_needed()
        colours = pixels_in_clear_parts(page, selector)
        assert all(close_to(c, PAGE_BACKGROUND) for c in colours), (selector, colours)
    for found in backgrounds(page):
        assert found["image"] == "none", found
        assert found["colour"] == "rgba(0, 0, 0, 0)", found


def test_grid_thumbnails_show_the_page_through_their_transparent_parts(
    page: Page, transparent_site: ServedSite, arrival
) -> None:
    arrive(page, transparent_site.url + "/", arrival)
    thumbs = page.locator(".card__img")
    assert thumbs.count() == 2
    assert_page_shows_through(page, [f".card:nth-child({i + 1}) .card__img" for i in range(2)])
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("design", [0, 1], ids=["png", "webp"])
def test_design_image_shows_the_page_through_its_transparent_parts(
    page: Page, transparent_site: ServedSite, arrival, design: int
) -> None:
    arrive(page, f"{transparent_site.url}/designs/{transparent_site.designs[design]}/", arrival)
    assert_page_shows_through(page, [".design__img"])
    assert page.errors == []  # type: ignore[attr-defined]


def test_placeholder_is_painted_while_the_image_loads(
    browser: Browser, transparent_site: ServedSite
) -> None:
    """The fix must not lose the placeholder: it is there until the image arrives."""
    with open_page(browser, "images-last", DESKTOP) as page:
        images = Held(page, "**/img/*")
        url = f"{transparent_site.url}/designs/{transparent_site.designs[0]}/"
        page.goto(url, wait_until="domcontentloaded")  # module scripts have run by then
        # The design's own picture (its similar designs' cards have placeholders too).
        [loading] = backgrounds(page, ".design__img")
        assert loading["image"].startswith('url("data:image/webp;base64,'), loading
        images.release()
        page.wait_for_load_state("load")
        [loaded] = backgrounds(page, ".design__img")
        assert loaded["image"] == "none", loaded
