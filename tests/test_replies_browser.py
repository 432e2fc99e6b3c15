"""Answering customers on /admin/ in a real Chromium: the author's email beside each
comment, its status shown and changed, and "Reply", a prepared email that marks it answered."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect
from test_admin_browser import csp_messages, designs, post_comment, row_of, sign_in

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/replies")
CRLF = "\r\n"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def encoded(text: str) -> str:
    """What JavaScript's encodeURIComponent makes of a text."""
    return quote(text, safe="!~*'()")


def expected_reply(email: str, name: str, design: str, text: str, design_url: str) -> str:
    """The mailto: link worked out by hand: CRLF lines, each part percent-encoded."""
    quoted = [f"> {line}" for line in text.split("\n")]
    body = [f"Hello {name},", "", f"You wrote about {design} ({design_url}):", "", *quoted, "", ""]
    subject = encoded(f"Re: your comment on {design}")
    address = encoded(email).replace("%40", "@")
    return f"mailto:{address}?subject={subject}&body={encoded(CRLF.join(body))}"


@pytest.fixture
def admin(new_account) -> tuple[str, str]:
    return new_account("admins", "Ada Admin")


@pytest.fixture
def customer(new_account) -> tuple[str, str]:
    return new_account("customers", "Cleo Customer")


def api_status(page: Page, url: str, text: str) -> str:
    response = page.request.get(f"{url}/api/admin/comments?limit=200")
    (found,) = [c for c in response.json()["comments"] if c["text"] == text]
    return found["status"]


def test_reply_is_a_prepared_email_that_marks_the_comment_answered(
    watched_page: Page, browser, sample_gallery, sample_api, admin, customer, assert_accessible
) -> None:
    page = watched_page
    design = designs(sample_gallery.root)[0]
    text = f"Can I book this for my wedding? 50% off & #1 ❤ {uuid.uuid4().hex[:6]}\nOn 12 June?"
    post_comment(browser, sample_gallery.url, customer, design, text)
    sign_in(page, sample_gallery.url, admin)
    row = row_of(page, text)
    expect(row).to_have_count(1)
    expect(row.locator(".admin-table__email")).to_have_text(customer[0])
    status = row.get_by_label("Status of the comment by Cleo Customer")
    expect(status).to_have_value("new")

    reply = row.get_by_role("link", name="Reply")
    design_url = f"{sample_gallery.url}/designs/{design}/"
    expected = expected_reply(customer[0], "Cleo Customer", design, text, design_url)
    href = reply.get_attribute("href")
    assert href == expected
    designer, slug = design.split("/")
    assert href.startswith(f"mailto:{customer[0]}?subject=Re%3A%20your%20comment%20on%20")
    assert f"on%20{designer}%2F{slug}&body=Hello%20Cleo%20Customer%2C%0D%0A%0D%0A" in href
    assert (
        "%3E%20Can%20I%20book%20this%20for%20my%20wedding%3F%2050%25%20off%20%26%20%231%20" in href
    )
    assert "%E2%9D%A4" in href and href.endswith("%0D%0A%3E%20On%2012%20June%3F%0D%0A%0D%0A")
    assert_accessible(page, "admin with replies")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "admin-desktop-reply.png"))

    with page.expect_request(lambda r: r.method == "PATCH") as patched:
        reply.click()
    assert patched.value.post_data_json == {"status": "answered"}
    expect(status).to_have_value("answered")
    expect(page.locator("[data-list-status]")).to_contain_text("marked answered")
    assert api_status(page, sample_gallery.url, text) == "answered"
    page.reload()
    expect(row_of(page, text).get_by_label("Status of the comment by Cleo Customer")).to_have_value(
        "answered"
    )
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]


def test_the_status_is_changed_from_its_select_and_filtered_on(
    watched_page: Page, browser, sample_gallery, sample_api, admin, customer
) -> None:
    page = watched_page
    first, second = designs(sample_gallery.root)[1:3]
    tag = uuid.uuid4().hex[:6]
    post_comment(browser, sample_gallery.url, customer, first, f"Close me {tag}")
    post_comment(browser, sample_gallery.url, customer, second, f"Keep me new {tag}")
    sign_in(page, sample_gallery.url, admin)
    select = row_of(page, f"Close me {tag}").get_by_label("Status of the comment by Cleo Customer")
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.status == 200):
        select.select_option("closed")
    expect(page.locator("[data-list-status]")).to_have_text("Marked closed.")
    assert api_status(page, sample_gallery.url, f"Close me {tag}") == "closed"

    filters = page.locator("form[data-filters]")
    filters.get_by_label("Status", exact=True).select_option("closed")
    filters.get_by_role("button", name="Apply filters").click()
    expect(row_of(page, tag)).to_have_count(1)
    expect(row_of(page, f"Close me {tag}")).to_have_count(1)
    assert "status=closed" in page.url
    assert "status=closed" in page.locator("[data-csv]").get_attribute("href")
    page.goto(f"{sample_gallery.url}/admin/?status=new")
    expect(row_of(page, f"Keep me new {tag}")).to_have_count(1)
    expect(row_of(page, f"Close me {tag}")).to_have_count(0)
    page.goto(f"{sample_gallery.url}/admin/?status=done")
    expect(page.locator("[data-note-for=status]")).to_contain_text("not one of new, answered")
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]


def test_a_failed_status_change_puts_the_select_back(
    watched_page: Page, browser, sample_gallery, sample_api, admin, customer
) -> None:
    page = watched_page
    text = f"Deleted meanwhile {uuid.uuid4().hex[:6]}"
    comment = post_comment(
        browser, sample_gallery.url, customer, designs(sample_gallery.root)[0], text
    )
    sign_in(page, sample_gallery.url, admin)
    select = row_of(page, text).get_by_label("Status of the comment by Cleo Customer")
    expect(select).to_have_value("new")
    assert page.request.delete(f"{sample_gallery.url}/api/admin/comments/{comment['id']}").ok
    select.select_option("closed")
    expect(page.locator("[data-list-status]")).to_contain_text("The status was not changed")
    expect(select).to_have_value("new")


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_replies_look_right_on_a_phone_and_a_desktop(
    browser, sample_gallery, sample_api, admin, customer, assert_accessible, size, viewport
) -> None:
    design = designs(sample_gallery.root)[0]
    post_comment(
        browser, sample_gallery.url, customer, design, "Do you have this in pink?\nFor Friday"
    )
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    sign_in(page, sample_gallery.url, admin)
    expect(page.locator("[data-rows] tr").first.get_by_role("link", name="Reply")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the admin page must not scroll sideways"
    assert_accessible(page, size)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"admin-{size}.png"), full_page=True)
    context.close()


def test_a_long_unbroken_name_and_comment_never_widen_the_desktop_page(
    browser, sample_gallery, sample_api, admin, new_account
) -> None:
    """Found in the full suite: another test's comment widened /admin/ by 180 px on a
    desktop, since table cells wrap at spaces only unless told otherwise."""
    long_name = "Featherstonehaugh-Cholmondeley-Worthington-Smythe"
    writer = new_account("customers", long_name)
    design = designs(sample_gallery.root)[0]
    post_comment(browser, sample_gallery.url, writer, design, "Gorgeous" + "!" * 120)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, sample_gallery.url, admin)
    expect(page.locator("[data-rows] tr").filter(has_text=long_name)).to_have_count(1)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the admin page scrolls sideways by {overflow} px"
    context.close()
