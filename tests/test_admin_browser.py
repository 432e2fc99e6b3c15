"""/admin/ in a real Chromium, against the real API on one origin, under its strict CSP."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from nailfolio.web.csp import ADMIN_CSP

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"
PHONE = {"width": 360, "height": 740}


def designs(root: Path) -> list[str]:
    """Keys ("designer/design") of the published designs in the built sample gallery."""
    pages = sorted((root / "output" / "designs").glob("*/*/index.html"))
    return ["/".join(page.parent.parts[-2:]) for page in pages]


def post_comment(browser: Browser, url: str, account: tuple[str, str], design: str, text: str):
    """Sign in and comment through the API, in a browser context of its own."""
    context = browser.new_context(base_url=url)
    try:
        signed_in = context.request.post(
            "/api/auth/signin", data={"email": account[0], "password": account[1]}
        )
        assert signed_in.status == 200, signed_in.text()
        body = {"text": text, "website": "", "idempotency_key": uuid.uuid4().hex}
        posted = context.request.post(f"/api/designs/{design}/comments", data=body)
        assert posted.status == 201, posted.text()
        return posted.json()["comment"]
    finally:
        context.close()


def sign_in(page: Page, url: str | None, account: tuple[str, str]) -> None:
    """Sign in on /admin/ (opened first, unless url is None)."""
    if url is not None:
        page.goto(f"{url}/admin/")
    form = page.locator("form[data-sign-in]")
    form.get_by_label("Email").fill(account[0])
    form.get_by_label("Password").fill(account[1])
    form.get_by_role("button", name="Sign in").click()


def row_of(page: Page, text: str):
    return page.locator("[data-rows] tr").filter(has_text=text)


def csp_messages(page: Page) -> list[str]:
    return [m for m in page.messages if "Content Security Policy" in m]  # type: ignore[attr-defined]


@pytest.fixture
def admin(new_account) -> tuple[str, str]:
    return new_account("admins", "Ada Admin")


@pytest.fixture
def customer(new_account) -> tuple[str, str]:
    return new_account("customers", "Cleo Customer")


def test_admin_sees_a_posted_comment_with_its_sentiment(
    watched_page: Page, browser, sample_gallery, sample_api, admin, customer, assert_accessible
) -> None:
    page = watched_page
    design = designs(sample_gallery.root)[0]
    text = f"I love this design, it is gorgeous! {uuid.uuid4().hex[:6]}"
    comment = post_comment(browser, sample_gallery.url, customer, design, text)

    page.goto(f"{sample_gallery.url}/admin/")
    expect(page.locator("form[data-sign-in]")).to_be_visible()
    csp = page.locator("meta[http-equiv=Content-Security-Policy]")
    expect(csp).to_have_attribute("content", ADMIN_CSP)
    expect(page.locator("meta[name=robots]")).to_have_attribute("content", "noindex")
    assert_accessible(page, "signed out")

    sign_in(page, sample_gallery.url, admin)
    row = row_of(page, text)
    expect(row).to_have_count(1)
    expect(row.get_by_role("link", name=design)).to_have_attribute("href", f"../designs/{design}/")
    expect(row).to_contain_text("Cleo Customer")
    score = comment_score(page, sample_gallery.url, text)
    expect(row.locator(".badge")).to_have_text(f"Positive {score}")
    expect(row.locator("time")).to_have_attribute("datetime", comment["created_at"])
    assert_accessible(page, "admin table")

    row.get_by_role("link", name=design).click()  # the design's link, not "Reply"
    expect(page).to_have_url(f"{sample_gallery.url}/designs/{design}/")
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]


def comment_score(page: Page, url: str, text: str) -> str:
    """The positive score the API gave a comment, as the badge should print it."""
    response = page.request.get(f"{url}/api/admin/comments?sentiment=POSITIVE&limit=200")
    [found] = [c for c in response.json()["comments"] if c["text"] == text]
    return f"{found['sentiment']['positive']:.2f}"


def test_comment_html_is_shown_as_text_and_never_run(
    watched_page: Page, browser, sample_gallery, sample_api, admin, customer
) -> None:
    page = watched_page
    design = designs(sample_gallery.root)[1]
    post_comment(browser, sample_gallery.url, customer, design, XSS)
    sign_in(page, sample_gallery.url, admin)
    cell = row_of(page, "alert(2)").first.locator(".admin-table__text")
    expect(cell).to_have_text(XSS)
    page.wait_for_timeout(300)  # time for a payload to fire, were it parsed
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.locator("[data-rows] img, [data-rows] script").count() == 0
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]


def test_filters_csv_and_load_more(
    watched_page: Page, browser, sample_gallery, sample_api, admin, customer
) -> None:
    page = watched_page
    first, second = designs(sample_gallery.root)[2:4]
    tag = uuid.uuid4().hex[:6]
    post_comment(browser, sample_gallery.url, customer, first, f"Wonderful, I adore it {tag}")
    post_comment(browser, sample_gallery.url, customer, first, f"Awful and ugly, I hate it {tag}")
    post_comment(browser, sample_gallery.url, customer, second, f"Lovely work {tag}")
    sign_in(page, sample_gallery.url, admin)
    expect(row_of(page, tag)).to_have_count(3)

    filters = page.locator("form[data-filters]")
    filters.get_by_label("Design").fill(first)
    filters.get_by_label("Sentiment").select_option("NEGATIVE")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page.locator("[data-rows] tr")).not_to_have_count(0)
    for label in page.locator("[data-rows] .badge").all_text_contents():
        assert label.startswith("Negative")
    expect(row_of(page, f"Awful and ugly, I hate it {tag}")).to_have_count(1)
    expect(row_of(page, tag)).to_have_count(1)
    assert f"design={first.replace('/', '%2F')}" in page.url and "sentiment=NEGATIVE" in page.url

    href = page.locator("[data-csv]").get_attribute("href")
    assert href.startswith("/api/admin/comments.csv?")
    assert "sentiment=NEGATIVE" in href and f"design={first.replace('/', '%2F')}" in href
    csv = page.request.get(sample_gallery.url + href)
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    header, *records = csv.text().splitlines()
    assert header.startswith("id,created_at,design,")
    assert records and all(first in record and "NEGATIVE" in record for record in records)

    filters.get_by_label("From").fill("2000-01-01")
    filters.get_by_label("To").fill("2000-01-31")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page.locator("[data-empty]")).to_have_text("No comments match these filters.")
    expect(page.locator("[data-table]")).to_be_hidden()
    assert "since=" in page.locator("[data-csv]").get_attribute("href")

    filters.get_by_role("button", name="Clear").click()
    expect(row_of(page, tag)).to_have_count(3)

    page.goto(f"{sample_gallery.url}/admin/?limit=1")  # one per page, to page through
    more = page.get_by_role("button", name="Load more comments")
    expect(page.locator("[data-rows] tr")).to_have_count(1)
    more.click()
    expect(page.locator("[data-rows] tr")).to_have_count(2)
    design_link = page.locator("[data-rows] tr").nth(1).get_by_role("link").first  # not Reply
    expect(design_link).to_be_focused()
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]


def test_delete_asks_first_then_removes_the_comment(
    watched_page: Page, browser, sample_gallery, sample_api, admin, customer
) -> None:
    page = watched_page
    design = designs(sample_gallery.root)[0]
    text = f"Delete me {uuid.uuid4().hex[:6]}"
    post_comment(browser, sample_gallery.url, customer, design, text)
    sign_in(page, sample_gallery.url, admin)
    delete = row_of(page, text).get_by_role("button", name="Delete")
    expect(delete).to_contain_text("Delete the comment by Cleo Customer")  # for screen readers
    delete.click()  # dismissed: nothing happens
    question = "Delete the comment by Cleo Customer? This cannot be undone."
    assert page.dialogs == [question]  # type: ignore[attr-defined]
    expect(row_of(page, text)).to_have_count(1)
    page.accept_dialogs = True  # type: ignore[attr-defined]
    delete.click()
    expect(row_of(page, text)).to_have_count(0)
    expect(page.locator("[data-list-status]")).to_contain_text("Comment deleted.")
    page.reload()
    expect(page.locator("[data-admin]")).to_be_visible()
    expect(row_of(page, text)).to_have_count(0)
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_customer_is_told_they_need_an_admin_account(
    watched_page: Page, sample_gallery, sample_api, customer, assert_accessible
) -> None:
    page = watched_page
    sign_in(page, sample_gallery.url, customer)
    denied = page.locator("[data-not-admin]")
    expect(denied.get_by_role("heading", name="You need an admin account")).to_be_visible()
    expect(denied).to_contain_text("Signed in as Cleo Customer")
    expect(page.locator("[data-admin]")).to_be_hidden()
    assert_accessible(page, "not an admin")
    denied.get_by_role("button", name="Sign out").click()
    expect(page.locator("form[data-sign-in]")).to_be_visible()
    expect(page.locator("form[data-sign-in]").get_by_label("Email")).to_be_focused()
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]


def test_admin_table_on_a_phone_is_accessible_and_fits(
    browser, sample_gallery, sample_api, admin, customer, assert_accessible
) -> None:
    post_comment(browser, sample_gallery.url, customer, designs(sample_gallery.root)[0], "Cute!")
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, sample_gallery.url, admin)
    expect(page.locator("[data-rows] tr").first).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the admin page must not scroll sideways on a phone"
    assert_accessible(page, "phone")
    context.close()


def test_an_expired_session_asks_the_admin_to_sign_in_again(
    watched_page: Page, sample_gallery, sample_api, admin
) -> None:
    page = watched_page
    sign_in(page, sample_gallery.url, admin)
    expect(page.locator("[data-admin]")).to_be_visible()
    page.context.clear_cookies()
    page.locator("form[data-filters]").get_by_role("button", name="Apply filters").click()
    expect(page.locator("[data-session-note]")).to_have_text(
        "Your session has ended. Sign in again to go on."
    )
    expect(page.locator("form[data-sign-in]").get_by_label("Email")).to_be_focused()
    expect(page.locator("form[data-filters] [role=alert]")).to_have_text("")
    sign_in(page, None, admin)  # right there, no reload
    expect(page.locator("[data-admin]")).to_be_visible()
    refused = "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    expected = [refused, refused]  # the listing, then the refresh it tried (no cookie left)
    assert page.errors == expected  # type: ignore[attr-defined]


# A link's filters are untrusted: anyone can send an admin one. Each bad value is ignored,
# named next to its filter, and the page still comes up.
BAD_LINKS = [
    ("since=foo", "since", "Ignored “foo” from the link: not a date in the form YYYY-MM-DD."),
    ("until=2025-13-45", "until", "Ignored “2025-13-45” from the link: not a real date."),
    ("since=2025-02-30", "since", "Ignored “2025-02-30” from the link: not a real date."),
    ("since=2023-02-29", "since", "Ignored “2023-02-29” from the link: not a real date."),
    (
        "since=2025-5-1",
        "since",
        "Ignored “2025-5-1” from the link: not a date in the form YYYY-MM-DD.",
    ),
    (
        "sentiment=HAPPY",
        "sentiment",
        "Ignored “HAPPY” from the link: not one of Positive, Negative, Neutral or Mixed.",
    ),
    (
        "design=%3Cb%3Eana",
        "design",
        "Ignored “<b>ana” from the link: not a design such as ana/red-chrome"
        " (designer/design, in lowercase).",
    ),
    (
        "since=2025-05-02&until=2025-05-01",
        "until",
        "Ignored “2025-05-01” from the link: earlier than the “From” date, 2025-05-02.",
    ),
]
BAD_IDS = [link for link, _, _ in BAD_LINKS]


def field_note(page: Page, name: str):
    """The message tied to a filter by aria-describedby (the note about its link value)."""
    field = page.locator(f"form[data-filters] [name={name}]")
    ids = (field.get_attribute("aria-describedby") or "").split()
    notes = [page.locator(f"#{i}") for i in ids if i != "filters-error"]
    assert len(notes) == 1, ids
    return notes[0]


@pytest.mark.parametrize(("link", "name", "message"), BAD_LINKS, ids=BAD_IDS)
def test_a_bad_filter_in_the_link_is_ignored_for_a_signed_out_visitor(
    watched_page: Page, sample_gallery, sample_api, link, name, message, assert_accessible
) -> None:
    page = watched_page
    page.goto(f"{sample_gallery.url}/admin/?{link}")
    expect(page.locator("form[data-sign-in]")).to_be_visible()
    expect(page.locator("[data-admin-placeholder]")).to_be_hidden()
    expect(page.locator("[data-link-note]")).to_be_visible()
    expect(page.locator("[data-link-note]")).to_contain_text(message.split(": ", 1)[1])
    expect(page.locator("[data-csv]")).not_to_have_attribute("href", re.compile(f"{name}="))
    assert_accessible(page, link)
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(("link", "name", "message"), BAD_LINKS, ids=BAD_IDS)
def test_a_bad_filter_in_the_link_is_ignored_for_an_admin(
    watched_page: Page, sample_gallery, sample_api, admin, link, name, message, assert_accessible
) -> None:
    page = watched_page
    sign_in(page, sample_gallery.url, admin)
    expect(page.locator("[data-admin]")).to_be_visible()
    page.goto(f"{sample_gallery.url}/admin/?{link}")
    expect(page.locator("[data-admin]")).to_be_visible()
    expect(field_note(page, name)).to_have_text(message)
    expect(page.locator(f"form[data-filters] [name={name}]")).to_have_value("")
    expect(page.locator("[data-link-note]")).to_be_hidden()  # the field's own note says it
    shown = page.locator("[data-table]:not([hidden]), [data-empty]:not([hidden])")
    expect(shown).to_have_count(1)  # the list came up: comments, or "No comments…"
    expect(page.locator("[data-list-status]")).not_to_have_text("Loading comments…")
    href = page.locator("[data-csv]").get_attribute("href")
    assert f"{name}=" not in href, href
    assert_accessible(page, link)

    page.locator("form[data-filters]").get_by_role("button", name="Apply filters").click()
    expect(field_note(page, name)).to_have_text("")  # the link's values are gone
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]


GOOD_LINKS = [
    ("since=2024-02-29&until=2024-03-01", {"since": "2024-02-29", "until": "2024-03-01"}),
    (
        "sentiment=negative&design=ana%2Fred-chrome",
        {"sentiment": "NEGATIVE", "design": "ana/red-chrome"},
    ),
    ("since=2025-05-01&until=2025-05-01", {"since": "2025-05-01", "until": "2025-05-01"}),
]


@pytest.mark.parametrize(("link", "expected"), GOOD_LINKS, ids=[g for g, _ in GOOD_LINKS])
def test_a_good_filter_in_the_link_is_applied(
    watched_page: Page, sample_gallery, sample_api, admin, link, expected
) -> None:
    page = watched_page
    page.goto(f"{sample_gallery.url}/admin/?{link}")
    expect(page.locator("[data-link-note]")).to_be_hidden()
    sign_in(page, None, admin)
    expect(page.locator("[data-admin]")).to_be_visible()
    href = page.locator("[data-csv]").get_attribute("href")
    for name, value in expected.items():
        expect(page.locator(f"form[data-filters] [name={name}]")).to_have_value(value)
        expect(field_note(page, name)).to_have_text("")
        assert f"{name}=" in href, href
    expect(page.locator("[data-list-status]")).not_to_have_text("Loading comments…")
    assert page.errors == [] and csp_messages(page) == []  # type: ignore[attr-defined]


def test_a_typed_design_must_be_a_design_key(
    watched_page: Page, sample_gallery, sample_api, admin
) -> None:
    page = watched_page
    sign_in(page, sample_gallery.url, admin)
    filters = page.locator("form[data-filters]")
    filters.get_by_label("Design").fill("Ana/Red Chrome")
    filters.get_by_role("button", name="Apply filters").click()
    expect(filters.locator("[role=alert]")).to_have_text(
        "“Ana/Red Chrome” is not a design such as ana/red-chrome (designer/design, in lowercase)."
    )
    expect(filters.get_by_label("Design")).to_have_attribute("aria-invalid", "true")
    expect(filters.get_by_label("Design")).to_be_focused()
    assert "design=" not in page.url
    assert page.errors == []  # type: ignore[attr-defined]
