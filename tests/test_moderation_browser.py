"""/admin/moderation/ in a real Chromium, against the real API and site on one origin: an admin
approves a held-back photo end to end, at phone and desktop sizes, and sees it go live."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from conftest import PASSWORD, MarkerModerator, Project, generous_limits
from playwright.sync_api import Browser, Page, expect

from nailfolio import config
from nailfolio.gallery.pipeline import build_configured
from nailfolio.web import api
from nailfolio.web.csp import MODERATION_CSP

pytestmark = pytest.mark.browser

HELD = "chloe_martin/Crème Brûlée.jpg"
HELD_KEY = "chloe-martin/creme-brulee"
SHOTS = Path("/tmp/shots/modqueue")
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
ADMIN = "ada@example.com"


@dataclass(frozen=True)
class Studio:
    url: str
    settings: config.Settings


@pytest.fixture
def studio(project: Project, monkeypatch: pytest.MonkeyPatch) -> Iterator[Studio]:
    """A project with one photo held for review and one published, built and served, with
    its API and an admin account."""
    from nailfolio.web.server import make_server

    monkeypatch.setattr(config, "moderator_factory", lambda settings: MarkerModerator)
    project.add_image(HELD, marker=128, colour=(190, 90, 120))
    project.add_image("ana/fine.jpg")
    server = make_server(project.settings.output_dir, port=0)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings = replace(project.settings, site_url=url)
    build_configured(settings)
    api.configure(settings, generous_limits())
    with config.open_identity(settings) as identity:
        identity.create_user(ADMIN, PASSWORD, "Ada Admin", "admins")
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield Studio(url, settings)
    server.shutdown()
    server.server_close()
    api.reset()


def _page(browser: Browser, size: str) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport=SIZES[size], device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return page, errors


@pytest.mark.parametrize("size", list(SIZES))
def test_admin_approves_a_held_photo_and_sees_it_go_live(
    browser: Browser, studio: Studio, size: str, assert_accessible
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, errors = _page(browser, size)
    live_page = f"{studio.url}/designs/{HELD_KEY}/"
    assert page.request.get(live_page).status == 404  # held back: not published

    page.goto(f"{studio.url}/admin/moderation/")
    csp = page.locator("meta[http-equiv=Content-Security-Policy]")
    expect(csp).to_have_attribute("content", MODERATION_CSP)
    expect(page.locator("meta[name=robots]")).to_have_attribute("content", "noindex")
    form = page.locator("form[data-sign-in]")
    form.get_by_label("Email").fill(ADMIN)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()

    card = page.locator(".moderation__item").filter(has_text=HELD_KEY)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Explicit Nudity")
    expect(card).to_contain_text("designs/" + HELD)
    expect(card.locator(".badge")).to_have_text("Needs review")
    preview = card.locator("img.moderation__preview")
    expect(preview).to_have_attribute("alt", "Preview of Crème Brûlée")
    preview.scroll_into_view_if_needed()
    loaded = "img => img.complete && img.naturalWidth > 0"
    page.wait_for_function(loaded, arg=preview.element_handle())
    assert preview.evaluate("img => img.naturalWidth") == 1200
    expect(page.locator("[data-outbox]")).to_contain_text(f"Design {HELD_KEY} needs review")
    assert_accessible(page, f"queue {size}")
    page.screenshot(path=str(SHOTS / f"queue-{size}.png"), full_page=True)

    card.get_by_role("button", name="Approve").click()  # no reason yet: refused in the page
    expect(card.locator("[data-form-error]")).to_have_text("Say why: a reason is required.")
    card.get_by_label("Reason").fill("Glitter, not skin")
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".moderation__live")).to_have_text(
        "The design is live: see its page.", timeout=60_000
    )
    assert page.request.get(live_page).status == 200
    expect(card.locator(".moderation__head .badge")).to_have_text("Approved")
    card.locator("summary", has_text="Audit log").click()
    history = card.locator(".moderation__history li")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("Approved")
    expect(history.first).to_contain_text(f"by {ADMIN}: Glitter, not skin")
    page.screenshot(path=str(SHOTS / f"approved-{size}.png"), full_page=True)

    card.get_by_role("link", name="see its page").click()
    expect(page).to_have_url(live_page)
    # The original is never in the built site: only the renditions are.
    assert not list(studio.settings.output_dir.rglob("Crème*"))
    assert errors == []


def test_admin_rejects_a_published_design_and_sees_it_go_off_the_site(
    browser: Browser, studio: Studio
) -> None:
    page, errors = _page(browser, "desktop")
    live_page = f"{studio.url}/designs/ana/fine/"
    assert page.request.get(live_page).status == 200
    page.goto(f"{studio.url}/admin/moderation/")
    form = page.locator("form[data-sign-in]")
    form.get_by_label("Email").fill(ADMIN)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator(".moderation__item")).to_have_count(1)  # the held one only

    page.get_by_label("Show").select_option("approved")
    page.get_by_role("button", name="Show", exact=True).click()
    card = page.locator(".moderation__item").filter(has_text="ana/fine")
    expect(card).to_have_count(1)
    expect(card.locator(".badge")).to_have_text("Approved")
    card.get_by_label("Reason").fill("Blurry <b>photo</b>")
    card.get_by_role("button", name="Reject").click()
    expect(card.locator(".moderation__live")).to_have_text(
        "The design is off the site.", timeout=60_000
    )
    assert page.request.get(live_page).status == 404
    card.locator("summary", has_text="Audit log").click()
    expect(card.locator(".moderation__history li").first).to_contain_text(
        f"by {ADMIN}: Blurry <b>photo</b>"  # shown as text, never as markup
    )
    assert card.locator(".moderation__history b").count() == 0
    # Chromium logs the poll's expected 404 (the page is gone) as a failed resource.
    assert [e for e in errors if "status of 404" not in e] == []
