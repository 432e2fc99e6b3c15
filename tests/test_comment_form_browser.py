"""The comment form of a design page in a real Chromium, against the real API on one origin."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from nailfolio.config import open_comment_store

pytestmark = pytest.mark.browser

SENT = "Thanks! Your comment went privately to the studio."
# What a browser logs by itself when the API answers an error the page then handles.
HANDLED = re.compile(
    r"Failed to load resource: (the server responded with a status of 4\d\d|net::)"
)


def first_design(root: Path) -> str:
    """The key ("designer/design") of a published design in the built sample gallery."""
    page = sorted((root / "output" / "designs").glob("*/*/index.html"))[0]
    return "/".join(page.parent.parts[-2:])


def stored_texts(settings, design: str) -> list[str]:
    with open_comment_store(settings) as store:
        return [c.text for c in store.list(design=design, limit=200).comments]


def unhandled(page: Page) -> list[str]:
    return [e for e in page.errors if not HANDLED.match(e)]  # type: ignore[attr-defined]


@pytest.fixture
def design(sample_gallery) -> str:
    return first_design(sample_gallery.root)


@pytest.fixture
def customer(new_account) -> tuple[str, str]:
    """(email, password) of a new customer account."""
    return new_account("customers", "Cora Customer")


def open_design(page: Page, sample_gallery, design: str) -> None:
    page.goto(f"{sample_gallery.url}/designs/{design}/")
    expect(page.locator("[data-signed-out]")).to_be_visible()


def sign_in(page: Page, account: tuple[str, str]) -> None:
    form = page.locator("form[data-sign-in]")
    form.get_by_label("Email").fill(account[0])
    form.get_by_label("Password").fill(account[1])
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("[data-signed-in]")).to_be_visible()


def test_sign_up_comment_and_sign_out(
    watched_page: Page, sample_gallery, sample_api, design, assert_accessible
) -> None:
    page = watched_page
    open_design(page, sample_gallery, design)
    expect(page.locator("[data-comments-placeholder]")).to_be_hidden()
    assert_accessible(page, "signed out")

    page.get_by_role("tab", name="Create an account").click()
    expect(page.get_by_role("tab", name="Create an account")).to_have_attribute(
        "aria-selected", "true"
    )
    signup = page.locator("form[data-sign-up]")
    expect(signup.get_by_label("Password")).to_have_attribute("autocomplete", "new-password")
    expect(signup.get_by_text("at least 8 characters")).to_be_visible()
    email = f"new-{uuid.uuid4().hex[:10]}@example.com"
    signup.get_by_label("Name").fill("Nia New")
    signup.get_by_label("Email").fill(email)
    signup.get_by_label("Password").fill("short")
    signup.get_by_role("button", name="Create account").click()
    expect(signup.get_by_role("alert")).to_contain_text("at least 8 characters")
    expect(signup.get_by_label("Password")).to_be_focused()
    signup.get_by_label("Password").fill("Nails-4-ever!")
    signup.get_by_role("button", name="Create account").click()
    expect(page.locator("[data-signed-in]")).to_contain_text("Signed in as Nia New")
    textarea = page.get_by_label("Your comment")
    expect(textarea).to_be_focused()
    assert_accessible(page, "signed in")

    text = "Love the colours, so delicate!"
    textarea.fill(text)
    expect(page.locator("[data-counter]")).to_have_text(f"{len(text)} / 2000")
    expect(page.locator("[data-counter-live]")).to_have_text(f"{len(text)} of 2000 characters used")
    page.get_by_role("button", name="Send comment").dblclick()
    status = page.get_by_role("status").filter(has_text=SENT)
    expect(status).to_have_text(SENT)
    expect(status).to_be_focused()
    expect(textarea).to_have_value("")
    expect(page.locator("[data-counter]")).to_have_text("0 / 2000")
    assert stored_texts(sample_api.settings, design).count(text) == 1  # the double click

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("[data-signed-out]")).to_be_visible()
    expect(page.locator("[data-account-status]")).to_have_text("You are signed out.")
    page.reload()
    expect(page.locator("[data-signed-out]")).to_be_visible()
    sign_in(page, (email, "Nails-4-ever!"))
    expect(page.locator("[data-signed-in]")).to_contain_text("Signed in as Nia New")
    assert page.errors == []  # type: ignore[attr-defined]


def test_honeypot_is_hidden_from_people_and_tab_order(
    watched_page: Page, sample_gallery, sample_api, design, customer
) -> None:
    page = watched_page
    open_design(page, sample_gallery, design)
    sign_in(page, customer)
    honeypot = page.locator("input[name=website]")
    expect(honeypot).to_have_attribute("tabindex", "-1")
    expect(honeypot).to_have_attribute("autocomplete", "off")
    assert honeypot.evaluate("e => e.closest('[aria-hidden=true]') !== null")
    box = honeypot.evaluate("e => e.closest('.honeypot').getBoundingClientRect().toJSON()")
    assert box["width"] <= 1 and box["height"] <= 1  # visually hidden, but there for bots
    page.get_by_label("Your comment").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send comment")).to_be_focused()


def test_a_retry_after_a_lost_answer_posts_once(
    watched_page: Page, sample_gallery, sample_api, design, customer
) -> None:
    """The first answer never reaches the page; sending again reuses the idempotency key."""
    page = watched_page
    open_design(page, sample_gallery, design)
    sign_in(page, customer)
    text = f"Stored once, whatever happens {uuid.uuid4().hex[:6]}"
    page.get_by_label("Your comment").fill(text)
    keys = []

    def lose_answer(route: Route) -> None:
        keys.append(route.request.post_data_json["idempotency_key"])
        route.fetch()  # the API stores it...
        route.abort()  # ...and the page hears nothing

    page.route("**/api/designs/**/comments", lose_answer, times=1)
    page.get_by_role("button", name="Send comment").click()
    expect(page.get_by_role("alert").filter(has_text="offline")).to_be_visible()
    expect(page.get_by_label("Your comment")).to_have_value(text)
    with page.expect_request("**/api/designs/**/comments") as request:
        page.get_by_role("button", name="Send comment").click()
    expect(page.get_by_text(SENT)).to_be_visible()
    assert request.value.post_data_json["idempotency_key"] == keys[0]
    assert stored_texts(sample_api.settings, design).count(text) == 1
    assert unhandled(page) == []


def test_an_expired_session_keeps_the_text_through_sign_in_and_reload(
    watched_page: Page, sample_gallery, sample_api, design, customer
) -> None:
    page = watched_page
    open_design(page, sample_gallery, design)
    sign_in(page, customer)
    text = "Typed before my session ran out. <b>Kept</b> verbatim."
    page.get_by_label("Your comment").fill(text)
    page.context.clear_cookies()
    page.get_by_role("button", name="Send comment").click()

    expect(page.locator("[data-signed-out]")).to_be_visible()
    expect(page.locator("[data-session-note]")).to_contain_text("Your session has ended")
    expect(page.locator("form[data-sign-in]").get_by_label("Email")).to_be_focused()
    expect(page.locator("#comment-text")).to_have_value(text)
    stored = page.evaluate("JSON.stringify(sessionStorage)")
    assert "Kept" in stored

    page.reload()  # a reload keeps the draft too
    expect(page.locator("[data-signed-out]")).to_be_visible()
    sign_in(page, customer)
    textarea = page.get_by_label("Your comment")
    expect(textarea).to_have_value(text)
    expect(textarea).to_be_focused()
    page.get_by_role("button", name="Send comment").click()
    expect(page.get_by_text(SENT)).to_be_visible()
    assert stored_texts(sample_api.settings, design).count(text) == 1
    assert page.evaluate("sessionStorage.length") == 0
    assert unhandled(page) == []


def test_rate_limit_says_how_long_to_wait_and_keeps_the_text(
    watched_page: Page, sample_gallery, sample_api, design, customer
) -> None:
    page = watched_page
    open_design(page, sample_gallery, design)
    sign_in(page, customer)
    body = '{"error": {"code": "rate_limited", "message": "Too many comments; try again in 42 s"}}'
    page.route(
        "**/api/designs/**/comments",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "42", "Content-Type": "application/json"},
            body=body,
        ),
    )
    page.get_by_label("Your comment").fill("Hello again")
    page.get_by_role("button", name="Send comment").click()
    alert = page.locator("#comment-error")
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text("wait 42 seconds")
    expect(page.get_by_label("Your comment")).to_have_value("Hello again")
    expect(page.get_by_role("button", name="Send comment")).to_be_enabled()
    assert unhandled(page) == []


def test_offline_says_so_and_keeps_the_text(
    watched_page: Page, sample_gallery, sample_api, design, customer
) -> None:
    page = watched_page
    open_design(page, sample_gallery, design)
    sign_in(page, customer)
    page.route("**/api/designs/**/comments", lambda route: route.abort("internetdisconnected"))
    page.get_by_label("Your comment").fill("Sent from a tunnel")
    page.get_by_role("button", name="Send comment").click()
    expect(page.locator("#comment-error")).to_contain_text("You seem to be offline")
    expect(page.get_by_label("Your comment")).to_have_value("Sent from a tunnel")
    page.unroute("**/api/designs/**/comments")

    page.context.set_offline(True)  # navigator.onLine is false: no request is even tried
    page.get_by_role("button", name="Send comment").click()
    expect(page.locator("#comment-error")).to_contain_text("You seem to be offline")
    page.context.set_offline(False)
    expect(page.get_by_label("Your comment")).to_have_value("Sent from a tunnel")
    assert unhandled(page) == []


def test_text_over_the_limit_is_refused_before_sending(
    watched_page: Page, sample_gallery, sample_api, design, customer
) -> None:
    page = watched_page
    open_design(page, sample_gallery, design)
    sign_in(page, customer)
    posts = []
    page.on("request", lambda r: r.method == "POST" and "/comments" in r.url and posts.append(r))
    textarea = page.get_by_label("Your comment")
    textarea.fill("a" * 2001)
    expect(page.locator("[data-counter]")).to_have_text("2001 / 2000: 1 too many")
    page.get_by_role("button", name="Send comment").click()
    expect(page.locator("#comment-error")).to_contain_text("the limit is 2000")
    expect(textarea).to_be_focused()
    expect(textarea).to_have_attribute("aria-invalid", "true")
    expect(textarea).to_have_value("a" * 2001)
    assert posts == []
    textarea.fill("a" * 2000)  # the limit itself is fine
    page.get_by_role("button", name="Send comment").click()
    expect(page.get_by_text(SENT)).to_be_visible()
    expect(textarea).not_to_have_attribute("aria-invalid", "true")
    assert page.errors == []  # type: ignore[attr-defined]


def test_without_javascript_the_section_says_so(browser, sample_gallery, design) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{sample_gallery.url}/designs/{design}/")
    expect(page.locator("[data-comments-placeholder]")).to_contain_text("needs JavaScript")
    expect(page.locator("[data-signed-out]")).to_be_hidden()
    expect(page.locator("[data-signed-in]")).to_be_hidden()
    context.close()


def test_account_tabs_follow_the_keyboard(watched_page: Page, sample_gallery, design) -> None:
    page = watched_page
    open_design(page, sample_gallery, design)
    sign_in_tab = page.get_by_role("tab", name="Sign in")
    sign_up_tab = page.get_by_role("tab", name="Create an account")
    sign_in_tab.focus()
    page.keyboard.press("ArrowRight")
    expect(sign_up_tab).to_be_focused()
    expect(sign_up_tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel", name="Create an account")).to_be_visible()
    expect(page.locator("form[data-sign-in]")).to_be_hidden()
    page.keyboard.press("Tab")  # into the panel: the selected tab is the only tab stop
    expect(page.locator("form[data-sign-up]").get_by_label("Name")).to_be_focused()
    sign_up_tab.focus()
    page.keyboard.press("Home")
    expect(sign_in_tab).to_have_attribute("aria-selected", "true")
    expect(sign_in_tab).to_have_attribute("tabindex", "0")
    expect(sign_up_tab).to_have_attribute("tabindex", "-1")
    assert page.errors == []  # type: ignore[attr-defined]
