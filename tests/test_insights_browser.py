"""/admin/insights/ in a real Chromium, on a phone and a desktop, against the real API on one
origin, under its strict CSP. Screenshots go to $NAILFOLIO_SHOTS (if set), to look at."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from test_admin_browser import csp_messages, designs, post_comment, sign_in

from nailfolio.web.csp import ADMIN_CSP

pytestmark = pytest.mark.browser

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture
def admin(new_account) -> tuple[str, str]:
    return new_account("admins", "Ada Admin")


@pytest.fixture
def commented(browser, sample_gallery, sample_api, new_account) -> dict[str, str]:
    """Comments on two designs: a booking question, an unhappy one and some happy ones."""
    customer = new_account("customers", "Cleo Customer")
    first, second = designs(sample_gallery.root)[:2]
    tag = uuid.uuid4().hex[:6]
    texts = {
        "booking": f"Can I book this for my wedding on Saturday? {tag}",
        "unhappy": f"Awful, the polish chipped after one day. {tag}",
    }
    post_comment(browser, sample_gallery.url, customer, first, texts["booking"])
    post_comment(browser, sample_gallery.url, customer, second, texts["unhappy"])
    for n in range(3):
        post_comment(browser, sample_gallery.url, customer, first, f"Love the chrome shine {n}!")
    return texts


def shoot(page: Page, name: str) -> None:
    folder = os.environ.get("NAILFOLIO_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("size", SIZES)
def test_insights_page_draws_charts_with_tables_and_the_attention_list(
    browser, sample_gallery, admin, commented, assert_accessible, size: str
) -> None:
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.errors, page.messages = [], []  # type: ignore[attr-defined]
    page.on("console", lambda message: page.messages.append(message.text))  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    page.goto(f"{sample_gallery.url}/admin/insights/")
    expect(page.locator("meta[http-equiv=Content-Security-Policy]")).to_have_attribute(
        "content", ADMIN_CSP
    )
    sign_in(page, None, admin)
    attention = page.locator("[data-attention] li")
    expect(attention.filter(has_text=commented["booking"])).to_have_count(1)
    booking = attention.filter(has_text=commented["booking"])
    expect(booking.locator(".badge")).to_have_text(["Booking", "Question"])
    expect(attention.filter(has_text=commented["unhappy"]).locator(".badge")).to_have_text(
        ["Unhappy"]
    )
    for chart in ("volume", "designs", "designers", "phrases"):
        figure = page.locator(f'[data-chart="{chart}"]')
        expect(figure.locator("svg[aria-hidden=true]")).to_have_count(1)
        expect(figure.locator("table tbody tr").first).to_be_attached()
    expect(page.locator('[data-chart="phrases"] table')).to_contain_text("chrome shine")
    # The bars take the theme's colours (an unclosed rule earlier in site.css drew them black).
    fills = page.eval_on_selector_all(
        '[data-chart="designs"] rect.chart__bar', "bars => bars.map(b => getComputedStyle(b).fill)"
    )
    assert fills and "rgb(0, 0, 0)" not in fills, fills
    assert "rgb(28, 94, 52)" in fills  # --pos, the light scheme's positive green
    csv = page.locator("[data-export=csv]")
    expect(csv).to_have_attribute("href", "/api/admin/insights.csv")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the insights page must not scroll sideways"
    assert_accessible(page, size)
    shoot(page, f"insights-{size}")
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]
    context.close()


def test_filters_narrow_the_report_and_the_export_links(
    watched_page: Page, sample_gallery, admin, commented
) -> None:
    page = watched_page
    page.goto(f"{sample_gallery.url}/admin/insights/")
    sign_in(page, None, admin)
    expect(page.locator("[data-attention] li").first).to_be_visible()
    page.get_by_label("Designer", exact=True).fill("nobody")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("[data-attention-empty]")).to_be_visible()
    expect(page.locator("[data-status]")).to_have_text("0 comments; 0 waiting for an answer.")
    expect(page.locator("[data-export=json]")).to_have_attribute(
        "href", "/api/admin/insights.json?designer=nobody"
    )
    assert "designer=nobody" in page.url
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]


def test_reply_on_the_attention_list_prepares_the_email_and_takes_it_off(
    watched_page: Page, sample_gallery, admin, commented
) -> None:
    page = watched_page
    page.goto(f"{sample_gallery.url}/admin/insights/")
    sign_in(page, None, admin)
    booking = page.locator("[data-attention] li").filter(has_text=commented["booking"])
    reply = booking.get_by_role("link", name="Reply")
    href = reply.get_attribute("href") or ""
    assert href.startswith("mailto:") and "?subject=Re%3A%20your%20comment%20on%20" in href
    assert "Can%20I%20book%20this%20for%20my%20wedding" in href  # the comment, quoted
    with page.expect_request(lambda r: r.method == "PATCH") as patched:
        reply.click()
    assert patched.value.post_data_json == {"status": "answered"}
    expect(booking).to_have_count(0)
    expect(page.locator("[data-status]")).to_contain_text("marked answered")
    page.reload()
    entries = page.locator("[data-attention] li")
    expect(entries.first).to_be_visible()
    expect(entries.filter(has_text=commented["booking"])).to_have_count(0)
    expect(entries.filter(has_text=commented["unhappy"])).to_have_count(1)
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]
