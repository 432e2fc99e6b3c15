"""The comment form's confirm step and session refresh in a real Chromium, at phone and desktop
widths, against the local API on one origin with a LocalIdentity that emails codes (into a
list here) the way Cognito does."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import ApiProject
from playwright.sync_api import Page, expect
from test_comment_form_browser import first_design, open_design, sign_in, unhandled

from nailfolio.config import load_settings

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 900}
PASSWORD = "Nails-4-ever!"


@dataclass
class Mailbox:
    """Every code the identity emailed, by address."""

    sent: dict[str, list[str]]

    def last(self, email: str) -> str:
        return self.sent[email][-1]


@pytest.fixture
def mailbox(sample_gallery, emailed_codes: dict[str, list[str]]) -> Iterator[Mailbox]:
    """sample_gallery's API, its sign-ups waiting for an emailed code."""
    from nailfolio.web import api

    env = {"NAILFOLIO_SITE_URL": sample_gallery.url}
    settings = load_settings(env=env, root=sample_gallery.root)
    ApiProject(sample_gallery.root, settings).configure()
    yield Mailbox(emailed_codes)
    api.reset()


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def sized_page(browser, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page at the width asked for, recording console errors in `page.errors`."""
    context = browser.new_context(viewport=request.param, device_scale_factor=1)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(f"uncaught: {exc}"))
    yield page
    context.close()


def fits(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def sign_up(page: Page, email: str) -> None:
    page.get_by_role("tab", name="Create an account").click()
    form = page.locator("form[data-sign-up]")
    form.get_by_label("Name").fill("Cleo Confirm")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Create account").click()


def test_sign_up_asks_for_the_emailed_code_with_resend(
    sized_page: Page, sample_gallery, mailbox: Mailbox, assert_accessible
) -> None:
    page = sized_page
    design = first_design(sample_gallery.root)
    open_design(page, sample_gallery, design)
    email = f"cleo-{uuid.uuid4().hex[:8]}-with-a-rather-long-address@example.com"
    sign_up(page, email)

    confirm = page.locator("[data-confirm]")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text(f"We emailed a code to {email}")
    code = confirm.get_by_label("Code from the email")
    expect(code).to_be_focused()
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    expect(page.get_by_role("tab", name="Sign in")).to_be_hidden()
    assert fits(page), "the confirm step must not scroll sideways"
    assert_accessible(page, "confirm step")

    code.fill("")
    confirm.get_by_role("button", name="Confirm").click()
    expect(confirm.get_by_role("alert")).to_have_text("Enter the code from the email.")
    first = mailbox.last(email)
    code.fill(f"{(int(first) + 1) % 10**6:06d}")
    confirm.get_by_role("button", name="Confirm").click()
    expect(confirm.get_by_role("alert")).to_contain_text("not right")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_be_focused()

    confirm.get_by_role("button", name="Resend code").click()
    expect(confirm.get_by_role("status")).to_have_text(f"We sent a new code to {email}.")
    assert len(mailbox.sent[email]) == 2
    expect(code).to_be_focused()
    code.fill(mailbox.last(email))
    confirm.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-signed-in]")).to_contain_text("Signed in as Cleo Confirm")
    expect(page.get_by_label("Your comment")).to_be_focused()
    expect(confirm).to_be_hidden()

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("[data-signed-out]")).to_be_visible()
    expect(page.get_by_role("tab", name="Sign in")).to_be_visible()
    sign_in(page, (email, PASSWORD))  # confirmed: no code asked again
    assert unhandled(page) == []


def test_signing_in_before_confirming_asks_for_the_code(
    sized_page: Page, sample_gallery, mailbox: Mailbox
) -> None:
    page = sized_page
    open_design(page, sample_gallery, first_design(sample_gallery.root))
    email = f"dora-{uuid.uuid4().hex[:8]}@example.com"
    sign_up(page, email)
    confirm = page.locator("[data-confirm]")
    expect(confirm).to_be_visible()
    page.reload()  # the tab closed before the code came: the account waits
    form = page.locator("form[data-sign-in]")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(confirm.get_by_role("status")).to_contain_text("not confirmed yet")
    expect(confirm).to_contain_text(email)
    confirm.get_by_label("Code from the email").fill(mailbox.last(email))
    confirm.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-signed-in]")).to_contain_text("Signed in as Cleo Confirm")
    assert unhandled(page) == []


def test_an_expired_session_is_renewed_from_the_refresh_cookie(
    watched_page: Page, sample_gallery, new_account
) -> None:
    """An hour on, the browser drops the session cookie; the refresh cookie (sent only to
    /api/auth, unreadable by scripts) brings the session back without asking anything."""
    page = watched_page
    open_design(page, sample_gallery, first_design(sample_gallery.root))
    sign_in(page, new_account("customers", "Rita Refresh"))
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["nf_refresh"]["path"] == "/api/auth" and cookies["nf_refresh"]["httpOnly"]
    assert "nf_refresh" not in page.evaluate("document.cookie")
    page.context.clear_cookies(name="nf_session")
    with page.expect_response(re.compile(r"/api/auth/refresh$")) as refreshed:
        page.reload()
    assert refreshed.value.status == 200
    expect(page.locator("[data-signed-in]")).to_be_visible()
    assert unhandled(page) == []
