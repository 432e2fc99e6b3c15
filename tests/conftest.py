"""Shared fixtures: a throwaway project folder and a deterministic moderator."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import network_guard
import pytest
from PIL import Image

from nailfolio.config import Settings, load_settings
from nailfolio.gallery.models import Label

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from nailfolio.gallery.pipeline import BuildReport
    from nailfolio.web.api import ApiLimits

REPO = Path(__file__).resolve().parent.parent

network_guard.install()  # before any test: fake AWS credentials, loopback-only sockets


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


def make_lambda_bundle(task_root: Path) -> Path:
    """What the packager vendors at $LAMBDA_TASK_ROOT/project/ (the hooks' Lambdas read it)."""
    project = task_root / "project"
    (project / "content").mkdir(parents=True)
    (project / "theme").symlink_to(REPO / "theme", target_is_directory=True)
    shutil.copytree(REPO / "content" / "pages", project / "content" / "pages")
    for name in ("pelicanconf.py", "publishconf.py"):
        shutil.copy(REPO / name, project / name)
    return project


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
    from nailfolio.gallery.pipeline import build_configured
    from nailfolio.web.server import make_server

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


# -- the web API ----------------------------------------------------------------------------

PASSWORD = "Polish-2025!"
PUBLISHED = "ana/red-chrome"  # approved in every api_project
UNPUBLISHED = "ana/blue-matte"  # needs review in every api_project


def generous_limits() -> ApiLimits:
    """Rate limits no test reaches unless it means to."""
    from nailfolio.comments.service import CommentLimits
    from nailfolio.ratelimit import RateRule
    from nailfolio.web.api import ApiLimits

    lots = (RateRule(100_000, 60),)
    return ApiLimits(CommentLimits(per_account=lots, per_network=lots), lots)


@dataclass
class ApiProject:
    """A project the API is configured to serve, with one published and one held design."""

    root: Path
    settings: Settings

    @property
    def accepted(self) -> int:
        """What POST /api/auth/signup answers when it goes through: 201 with a session
        locally; 202 on Cognito, which emails a code to confirm first."""
        return 202 if self.settings.backend == "aws" else 201

    @property
    def signed_up(self) -> int:
        """What ApiClient.sign_up's answer (the one that opened the session) says."""
        return 200 if self.settings.backend == "aws" else 201

    def configure(self, limits: ApiLimits | None = None) -> None:
        from nailfolio.web import api

        api.configure(self.settings, limits or generous_limits())

    def add_user(self, email: str, role: str = "customers", name: str = "") -> None:
        """An account made straight in the identity store (no HTTP, no rate limit)."""
        from nailfolio.config import open_identity

        with open_identity(self.settings) as identity:
            identity.create_user(email, PASSWORD, name or email.partition("@")[0].title(), role)


@pytest.fixture(scope="session")
def signing_key_pem(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One RSA key for every api_project: making one costs up to half a second."""
    from nailfolio.local.signing_key import load_signing_key

    path = tmp_path_factory.mktemp("key") / "identity" / "signing-key.pem"
    load_signing_key(path)
    return path.read_bytes()


# The API suites that also run on the aws backend, over moto's server (see moto_server.py);
# a test there marked local_only (it opens a local file, say) runs on the local one alone,
# one marked aws_only (a presigned POST to the bucket, say) on the aws one alone.
AWS_API_SUITES = frozenset(
    {"test_api", "test_api_auth", "test_openapi", "test_design_uploads", "test_api_insights"}
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "api_backend" not in metafunc.fixturenames:
        return
    marked = metafunc.definition.get_closest_marker
    both = metafunc.module.__name__ in AWS_API_SUITES and not marked("local_only")
    backends = ["aws"] if marked("aws_only") else ["local", "aws"] if both else ["local"]
    metafunc.parametrize("api_backend", backends, indirect=True)


@pytest.fixture
def api_backend(request: pytest.FixtureRequest) -> str:
    """The backend api_project serves from: local, or aws on moto's server."""
    return request.param


@pytest.fixture(scope="session")
def moto() -> Iterator[Any]:
    """One moto server per test process, started by the first aws test."""
    from moto_server import moto_server

    with moto_server() as server:
        yield server


def _backend_settings(request: pytest.FixtureRequest, backend: str, local: Settings) -> Settings:
    """`local`, or the same project on the aws backend with fresh resources on moto."""
    if backend == "local":
        return local
    from moto_server import aws_resources

    server = request.getfixturevalue("moto")
    server.reset()
    aws = load_settings(env=aws_resources(server), root=local.root).aws
    return replace(local, backend="aws", aws=aws)


@pytest.fixture
def api_project(
    project: Project, signing_key_pem: bytes, api_backend: str, request: pytest.FixtureRequest
) -> Iterator[ApiProject]:
    from nailfolio.config import open_catalog
    from nailfolio.gallery.models import Decision, Status
    from nailfolio.web import api

    key = project.settings.var_dir / "identity" / "signing-key.pem"
    key.parent.mkdir(mode=0o700, parents=True)
    key.write_bytes(signing_key_pem)
    key.chmod(0o600)
    settings = _backend_settings(request, api_backend, project.settings)
    with open_catalog(settings) as catalog:
        catalog.record_decision(Decision(PUBLISHED, "hash-red", Status.APPROVED, "test"))
        catalog.record_decision(Decision(UNPUBLISHED, "hash-blue", Status.NEEDS_REVIEW, "test"))
    (settings.output_dir).mkdir(parents=True, exist_ok=True)
    (settings.output_dir / "index.html").write_text("<h1>Gallery</h1>")
    served = ApiProject(project.root, settings)
    served.configure()
    yield served
    api.reset()


@pytest.fixture
def emailed_codes(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The local identity made to email confirmation codes, as Cognito does: sign-ups wait
    for one. Returns every code sent, by address (configure the API after asking for it)."""
    from nailfolio import config
    from nailfolio.local.sqlite_identity import LocalIdentity

    sent: dict[str, list[str]] = {}

    def send_code(email: str, code: str) -> None:
        sent.setdefault(email, []).append(code)

    def open_identity(settings: Settings) -> LocalIdentity:
        path, key = settings.identity_path, settings.signing_key_path
        return LocalIdentity(path, key, send_code=send_code)

    monkeypatch.setattr(config, "open_identity", open_identity)
    return sent


def set_cookies(response: Any) -> dict[str, str]:
    """The Set-Cookie headers of a chalice.test answer by cookie name (one is a str, several
    a list)."""
    found = response.headers.get("Set-Cookie") or []
    values = [found] if isinstance(found, str) else list(found)
    return {value.partition("=")[0]: value for value in values}


class ApiClient:
    """chalice.test.Client with JSON helpers and a cookie jar of the session cookie and the
    refresh cookie (sent, like a browser, only to /api/auth/)."""

    def __init__(self, client: Any, confirms: bool = False) -> None:
        self.http = client.http
        self.cookie: str | None = None
        self.refresh_cookie: str | None = None
        self.confirms = confirms  # sign_up enters the emailed code itself (on moto's Cognito)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        sent = {"Content-Type": "application/json"} if body is not None else {}
        jar = [f"nf_session={self.cookie}"] if self.cookie else []
        if self.refresh_cookie and path.startswith("/api/auth/"):
            jar.append(f"nf_refresh={self.refresh_cookie}")
        if jar:
            sent["Cookie"] = "; ".join(jar)
        sent |= headers or {}
        raw = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
        response = self.http.request(method, path, headers=sent, body=raw or b"")
        cookies = set_cookies(response)
        if "nf_session" in cookies:
            self.cookie = cookies["nf_session"].partition("=")[2].partition(";")[0] or None
        if "nf_refresh" in cookies:
            self.refresh_cookie = cookies["nf_refresh"].partition("=")[2].partition(";")[0] or None
        return response

    def sign_up(self, email: str, name: str = "") -> Any:
        """Sign up and, where a code is emailed (Cognito, 202) and this client `confirms`,
        enter it as the form does (moto takes any code): the answer that opened the
        session, or the refusal."""
        body = {"email": email, "password": PASSWORD} | ({"name": name} if name else {})
        answer = self.request("POST", "/api/auth/signup", body)
        if answer.status_code != 202 or not self.confirms:
            return answer
        confirm = {"email": email, "code": "123456", "password": PASSWORD}
        return self.request("POST", "/api/auth/confirm", confirm)

    def sign_in(self, email: str) -> Any:
        return self.request("POST", "/api/auth/signin", {"email": email, "password": PASSWORD})

    def session(self, email: str) -> ApiClient:
        """Another client on the same app, signed in as `email` (an existing account)."""
        other = ApiClient.__new__(ApiClient)
        other.http, other.cookie, other.refresh_cookie = self.http, None, None
        other.confirms = self.confirms
        assert other.sign_in(email).status_code == 200
        return other


@pytest.fixture
def api_client(api_project: ApiProject) -> Iterator[ApiClient]:
    from chalice.test import Client

    from chalice_app.app import app

    with Client(app) as client:
        yield ApiClient(client, confirms=api_project.settings.backend == "aws")


@pytest.fixture
def live_api(api_project: ApiProject) -> Iterator[str]:
    """The one-origin server (`build.py serve`) for api_project, on a free loopback port."""
    from nailfolio.web.server import make_server

    server = make_server(api_project.settings.output_dir, port=0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# -- the comment form and /admin/ in a browser -----------------------------------------------


@pytest.fixture
def sample_api(sample_gallery: SampleGallery) -> Iterator[ApiProject]:
    """The API of sample_gallery's own server, serving that project (generous rate limits)."""
    from nailfolio.web import api

    env = {"NAILFOLIO_SITE_URL": sample_gallery.url}
    settings = load_settings(env=env, root=sample_gallery.root)
    served = ApiProject(sample_gallery.root, settings)
    served.configure()
    yield served
    api.reset()


@pytest.fixture
def watched_page(browser: Browser) -> Iterator[Any]:
    """A desktop page that records console errors and uncaught exceptions in `page.errors`,
    every console message in `page.messages` and every dialog in `page.dialogs` (dismissed,
    or accepted once the test sets `page.accept_dialogs = True`)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.errors, page.messages, page.dialogs = [], [], []
    page.accept_dialogs = False

    def console(message: Any) -> None:
        page.messages.append(message.text)
        if message.type == "error":
            page.errors.append(message.text)

    def dialog(shown: Any) -> None:
        page.dialogs.append(shown.message)
        if page.accept_dialogs:
            shown.accept()
        else:
            shown.dismiss()

    page.on("console", console)
    page.on("pageerror", lambda exc: page.errors.append(f"uncaught: {exc}"))
    page.on("dialog", dialog)
    yield page
    context.close()


@pytest.fixture
def assert_accessible() -> Any:
    """Run axe (WCAG 2 A and AA) on a page and fail with its report if anything is found."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page: Any, label: str = "") -> None:
        tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
        results = axe.run(page, options={"runOnly": {"type": "tag", "values": tags}})
        assert results.violations_count == 0, f"{label} {page.url}\n{results.generate_report()}"

    return check


@pytest.fixture
def new_account(sample_api: ApiProject) -> Any:
    """new_account(role="customers", name="") makes an account on sample_api's project and
    returns (email, password)."""

    def make(role: str = "customers", name: str = "") -> tuple[str, str]:
        email = f"{role[:5]}-{os.urandom(5).hex()}@example.com"
        sample_api.add_user(email, role, name)
        return email, PASSWORD

    return make
