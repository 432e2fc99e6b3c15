"""/studio/ in a real Chromium at phone size, against the real API on one origin (local
backend), under its strict CSP: a designer signs in, picks photos, describes them, uploads
them with progress, and sees one go live and one held for review."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from conftest import PASSWORD, MarkerModerator, Project, generous_limits
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from nailfolio import config
from nailfolio.config import Settings, open_identity
from nailfolio.gallery.pipeline import build_configured
from nailfolio.web import api
from nailfolio.web.csp import STUDIO_CSP

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SHOTS = Path("/tmp/shots/uploads")
ANA = "ana@example.com"


@dataclass(frozen=True)
class StudioSite:
    url: str
    settings: Settings


@pytest.fixture
def studio_site(
    project: Project, signing_key_pem: bytes, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StudioSite]:
    """Ana's folder with one live design, built and served with its API."""
    from nailfolio.web.server import make_server

    monkeypatch.setattr(config, "moderator_factory", lambda settings: MarkerModerator)
    key = project.settings.signing_key_path
    key.parent.mkdir(mode=0o700, parents=True)
    key.write_bytes(signing_key_pem)
    key.chmod(0o600)
    server = make_server(project.settings.output_dir, port=0)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings = replace(project.settings, site_url=url)
    project.add_image("ana-lima/old-favourite.jpg")
    (project.designs / "ana-lima" / "designer.md").write_text(f"Name: Ana Lima\nAccount: {ANA}\n")
    build_configured(settings)
    api.configure(settings, generous_limits())
    with open_identity(settings) as identity:
        identity.create_user(ANA, PASSWORD, "Ana Lima", "designers")
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield StudioSite(url, settings)
    server.shutdown()
    server.server_close()
    api.reset()


def photo(tmp_path: Path, name: str, marker: int) -> Path:
    """A phone-sized JPEG; marker is MarkerModerator's score (0 clean, 128 held)."""
    image = Image.new("RGB", (900, 1200), (190, 40, 70))
    image.paste((marker, 0, 0), (0, 0, 32, 32))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    path = tmp_path / name
    path.write_bytes(out.getvalue())
    return path


def watched(browser: Browser, viewport: dict[str, int]) -> Page:
    context = browser.new_context(
        viewport=viewport, device_scale_factor=2 if viewport == PHONE else 1
    )
    page = context.new_page()
    page.errors, page.csp = [], []  # type: ignore[attr-defined]

    def console(message) -> None:
        if message.type == "error":
            page.errors.append(message.text)  # type: ignore[attr-defined]
        if "Content Security Policy" in message.text:
            page.csp.append(message.text)  # type: ignore[attr-defined]

    page.on("console", console)
    page.on("pageerror", lambda exc: page.errors.append(f"uncaught: {exc}"))  # type: ignore[attr-defined]
    return page


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/studio/")
    form = page.locator("form[data-sign-in]")
    form.get_by_label("Email").fill(ANA)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Designs in Ana Lima")).to_be_visible()


def card(page: Page, design: str):
    return page.locator(f"[data-design='{design}']")


def test_a_designer_uploads_from_her_phone_and_sees_each_status(
    browser: Browser, studio_site: StudioSite, tmp_path: Path, assert_accessible
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = watched(browser, PHONE)
    response = page.goto(f"{studio_site.url}/studio/")
    assert response is not None and response.headers["content-security-policy"].startswith(
        STUDIO_CSP
    )
    expect(page.locator("meta[name=robots]")).to_have_attribute("content", "noindex")
    sign_in(page, studio_site.url)
    expect(card(page, "ana-lima/old-favourite").locator(".badge")).to_have_text("Live")
    assert_accessible(page, "studio, signed in")

    upload = page.locator("form[data-upload-form]")
    photos = upload.get_by_label("Photos", exact=True)
    expect(photos).to_have_attribute("accept", "image/*,.heic,.heif,.avif")
    photos.set_input_files(
        [photo(tmp_path, "Ruby Glass.jpg", 0), photo(tmp_path, "IMG_2041.jpg", 128)]
    )
    expect(page.locator("[data-picked] li")).to_have_count(2)
    expect(page.locator("[data-picked] img").first).to_be_visible()  # a blob: preview, under CSP
    upload.get_by_label("Tags").fill("wedding, Chrome")
    upload.get_by_label("Colours").fill("red")
    upload.get_by_label("Technique").fill("chrome powder")
    page.screenshot(path=str(SHOTS / "phone-picked.png"), full_page=True)
    upload.get_by_role("button", name="Upload").click()

    uploads = page.locator("[data-progress] li")
    expect(uploads).to_have_count(2)
    for row in uploads.all():
        expect(row.locator(".studio__upload-status")).to_have_text("Uploaded", timeout=60_000)
        expect(row.locator("progress")).to_have_attribute("value", "1")
    live = card(page, "ana-lima/ruby-glass")
    expect(live.locator(".badge")).to_have_text("Live", timeout=30_000)
    expect(live).to_contain_text("chrome powder · wedding · chrome · red")
    expect(card(page, "ana-lima/img-2041").locator(".badge")).to_have_text("Held for review")
    expect(card(page, "ana-lima/img-2041").get_by_role("link")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "phone-uploaded.png"), full_page=True)
    held = card(page, "ana-lima/img-2041")
    held.get_by_text("Edit details").click()
    held.get_by_label("Title").fill("Bridal French")
    held.get_by_role("button", name="Save details").click()
    expect(card(page, "ana-lima/img-2041").locator(".studio__design-title")).to_have_text(
        "Bridal French"
    )
    page.screenshot(path=str(SHOTS / "phone-edited.png"), full_page=True)
    assert_accessible(page, "studio, after uploading")
    assert page.errors == [] and page.csp == []  # type: ignore[attr-defined]

    live.get_by_role("link", name="Ruby Glass").click()
    expect(page).to_have_url(f"{studio_site.url}/designs/ana-lima/ruby-glass/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ruby Glass")
    assert ANA not in page.content()  # designer.md's Account: is never published
    stored = sorted(p.name for p in (studio_site.settings.designs_dir / "ana-lima").iterdir())
    assert stored == [
        "designer.md",
        "img-2041.jpg",
        "img-2041.md",
        "old-favourite.jpg",
        "ruby-glass.jpg",
        "ruby-glass.md",
    ]
    page.context.close()


def test_the_studio_at_desktop_size_and_for_a_customer(
    browser: Browser, studio_site: StudioSite
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = watched(browser, DESKTOP)
    sign_in(page, studio_site.url)
    page.screenshot(path=str(SHOTS / "desktop.png"), full_page=True)
    page.get_by_role("button", name="Sign out").first.click()
    with open_identity(studio_site.settings) as identity:
        identity.create_user("cleo@example.com", PASSWORD, "Cleo", "customers")
    form = page.locator("form[data-sign-in]")
    form.get_by_label("Email").fill("cleo@example.com")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="You need a designer account")).to_be_visible()
    page.screenshot(path=str(SHOTS / "desktop-customer.png"), full_page=True)
    assert page.errors == [] and page.csp == []  # type: ignore[attr-defined]
    page.context.close()
    assert os.path.getsize(SHOTS / "desktop.png") > 0
