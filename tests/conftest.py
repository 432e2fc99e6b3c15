"""Shared fixtures: a throwaway project folder and a deterministic moderator."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from nailfolio.config import Settings, load_settings
from nailfolio.models import Label

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from nailfolio.pipeline import BuildReport

REPO = Path(__file__).resolve().parent.parent


class MarkerModerator:
    """Deterministic stand-in for the model: confidence = red channel of the top-left pixel.

    Paint the top-left block red=255 for a certain rejection, 128 for "needs review", 0 for
    clean (a 32 px block survives JPEG compression and draft decoding).
    Counts calls in a class attribute so tests can see how much moderation work a build did.
    """

    name = "marker 1"
    calls = 0

    def detect_labels(self, image: Image.Image) -> tuple[Label, ...]:
        type(self).calls += 1
        red = image.convert("RGB").getpixel((0, 0))[0]
        return (Label("Explicit Nudity", "", round(red / 255 * 100, 1)),)


@dataclass
class Project:
    """A project folder in tmp_path with the real theme and settings, and no designs yet."""

    root: Path
    settings: Settings

    @property
    def designs(self) -> Path:
        return self.settings.designs_dir

    def add_image(
        self,
        rel: str,
        size: tuple[int, int] = (1200, 900),
        colour: tuple[int, int, int] = (200, 120, 160),
        marker: int = 0,
        fmt: str = "JPEG",
    ) -> Path:
        """Write a real image under content/designs/; marker sets the fake moderator's score."""
        path = self.designs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", size, colour)
        image.paste((marker, 0, 0), (0, 0, 32, 32))
        image.save(path, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        return path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "site"
    (root / "content" / "designs").mkdir(parents=True)
    (root / "content" / "pages").mkdir()
    os.symlink(REPO / "theme", root / "theme")
    (root / "pelicanconf.py").write_text((REPO / "pelicanconf.py").read_text())
    settings = replace(load_settings(env={}, root=root), workers=1)
    MarkerModerator.calls = 0
    return Project(root, settings)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole session (Playwright's own download fails)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass(frozen=True)
class SampleGallery:
    """The repository's sample content, built into a temporary project and served."""

    url: str
    root: Path
    report: BuildReport


@pytest.fixture(scope="session")
def sample_gallery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleGallery]:
    """The sample gallery built with the real moderator and served on loopback."""
    from nailfolio.pipeline import build_configured
    from nailfolio.server import make_server

    root = tmp_path_factory.mktemp("sample") / "site"
    shutil.copytree(REPO / "content", root / "content")
    os.symlink(REPO / "theme", root / "theme")
    shutil.copy(REPO / "pelicanconf.py", root / "pelicanconf.py")
    server = make_server(root / "output", port=0)  # bound first: the build needs its URL
    url = f"http://127.0.0.1:{server.server_address[1]}"
    report = build_configured(load_settings(env={"NAILFOLIO_SITE_URL": url}, root=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield SampleGallery(url, root, report)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def sample_site(sample_gallery: SampleGallery) -> str:
    """The served sample gallery's base URL."""
    return sample_gallery.url
