"""The moderation queue on the web, locally: the domain (nailfolio.gallery.moderation_queue)
and its admin API (/api/admin/moderation...), on a project built with the marker moderator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from chalice.test import Client
from conftest import PASSWORD, MarkerModerator, Project, generous_limits

from chalice_app.app import app
from nailfolio import config
from nailfolio.errors import DesignNotFound
from nailfolio.gallery import moderation_queue
from nailfolio.gallery.models import Decision, Status
from nailfolio.gallery.pipeline import build_configured
from nailfolio.local.folder_content_store import FolderContentStore
from nailfolio.web import api

HELD = "designs/chloe_martin/Crème Brûlée.jpg"  # a space and accents, as designers name files
HELD_KEY = "chloe-martin/creme-brulee"


class RecordingQueue:
    """A RebuildQueue that keeps what it was asked."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, list[str]]] = []

    def request(self, reason: str, keys: Any = ()) -> None:
        self.requests.append((reason, list(keys)))


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "moderator_factory", lambda settings: MarkerModerator)


@pytest.fixture
def built(project: Project) -> Project:
    """A project with one held-back image (spaces, accents), one approved, one rejected."""
    project.add_image(HELD.removeprefix("designs/"), marker=128)
    project.add_image("ana/fine.jpg")
    project.add_image("ana/bad.jpg", marker=255)
    (project.designs / "ana" / "fine.md").write_text("Title: Fine lines\n")
    build_configured(project.settings)
    return project


def test_queue_lists_held_designs_with_their_source_and_labels(built: Project) -> None:
    with config.open_catalog(built.settings) as catalog:
        content = FolderContentStore(built.settings.content_dir)
        (item,) = moderation_queue.queue_items(catalog, content, [Status.NEEDS_REVIEW])
        every = moderation_queue.queue_items(catalog, content, list(Status))
    assert item.decision.key == HELD_KEY
    assert item.source is not None and item.source.rel_path == HELD
    assert item.decision.labels[0].confidence == pytest.approx(50.2, abs=1)
    assert sorted(i.decision.key for i in every) == ["ana/bad", "ana/fine", HELD_KEY]


def test_override_records_the_decision_and_asks_for_one_rebuild(built: Project) -> None:
    queue = RecordingQueue()
    with config.open_catalog(built.settings) as catalog:
        decision = moderation_queue.override(
            catalog, HELD_KEY, Status.APPROVED, "glitter, not skin", "ada@example.com", queue
        )
        history = catalog.decision_history(HELD_KEY)
    assert history[0] == decision
    assert (decision.status, decision.model, decision.decided_by) == (
        Status.APPROVED,
        "admin",
        "ada@example.com",
    )
    assert decision.labels == history[1].labels  # the moderator's labels stay on record
    assert queue.requests == [("approved by ada@example.com", [HELD_KEY])]


def test_override_of_an_unknown_design_is_design_not_found(built: Project) -> None:
    queue = RecordingQueue()
    with config.open_catalog(built.settings) as catalog, pytest.raises(DesignNotFound):
        moderation_queue.override(catalog, "no/such", Status.APPROVED, "x", "ada", queue)
    assert queue.requests == []


@pytest.mark.parametrize(
    "key",
    [
        "designs/ana/../../var/catalog.sqlite3",
        "../pelicanconf.py",
        "/etc/passwd",
        "pages/about.md",
        "designs/ana/fine.md",
        "designs/ana",
        "designs/ana/missing.jpg",
        "designs/chloe_martin/Crème Brûlée.jpg/x",
    ],
)
def test_preview_refuses_keys_that_are_no_designs_image(built: Project, key: str) -> None:
    content = FolderContentStore(built.settings.content_dir)
    with pytest.raises(moderation_queue.NotPreviewable):
        moderation_queue.preview_key(content, key)


@pytest.mark.parametrize("reason", [None, "", "   ", 3, ["why"]])
def test_a_web_override_needs_a_reason(reason: object) -> None:
    with pytest.raises(moderation_queue.InvalidReason):
        moderation_queue.required_reason(reason)


# -- the API ---------------------------------------------------------------------------------


@dataclass
class Admin:
    http: Any
    headers: dict[str, str]
    project: Project

    def get(self, path: str, **headers: str) -> Any:
        return self.http.request("GET", path, headers=self.headers | headers)

    def post(self, path: str, body: Any) -> Any:
        sent = self.headers | {"Content-Type": "application/json"}
        return self.http.request("POST", path, headers=sent, body=json.dumps(body).encode())


def _token(settings: config.Settings, email: str, role: str) -> str:
    with config.open_identity(settings) as identity:
        identity.create_user(email, PASSWORD, "Ada", role)
        return identity.sign_in(email, PASSWORD, "192.0.2.1").id_token


@pytest.fixture
def admin(built: Project, signing_key_pem: bytes) -> Iterator[Admin]:
    key = built.settings.signing_key_path
    key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key.write_bytes(signing_key_pem)
    key.chmod(0o600)
    settings = replace(built.settings, workers=1)
    api.configure(settings, generous_limits())
    token = _token(settings, "ada@example.com", "admins")
    with Client(app) as client:
        yield Admin(client.http, {"Cookie": f"nf_session={token}"}, built)
    api.reset()


def test_api_lists_the_queue_with_preview_links_that_carry_the_key(admin: Admin) -> None:
    answer = admin.get("/api/admin/moderation")
    assert answer.status_code == 200, answer.body
    (item,) = json.loads(answer.body)["designs"]
    assert item["design"] == HELD_KEY and item["status"] == "needs_review"
    assert item["source"] == HELD and item["designer"] == "Chloe Martin"
    assert item["labels"][0]["name"] == "Explicit Nudity" and item["score"] > 40
    assert item["page"] == f"designs/{HELD_KEY}/"
    assert item["preview_url"] == f"/api/admin/moderation/preview?key={quote(HELD, safe='')}"
    every = json.loads(admin.get("/api/admin/moderation?status=all").body)["designs"]
    assert {d["status"] for d in every} == {"needs_review", "approved", "rejected"}
    assert admin.get("/api/admin/moderation?status=maybe").status_code == 400


def test_preview_streams_the_original_privately(admin: Admin) -> None:
    url = json.loads(admin.get("/api/admin/moderation").body)["designs"][0]["preview_url"]
    answer = admin.get(url, Accept="image/*")
    assert answer.status_code == 200
    assert answer.body == (admin.project.settings.content_dir / HELD).read_bytes()
    assert answer.headers["Content-Type"] == "image/jpeg"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # never in the built site: neither the original's name nor its bytes
    output = admin.project.settings.output_dir
    assert not list(output.rglob("Crème*")) and not list(output.rglob("*.jpg.orig"))
    visitor = admin.http.request("GET", url, headers={"Accept": "image/*"})
    assert visitor.status_code == 401


@pytest.mark.parametrize(
    "key", ["designs/ana/../../var/catalog.sqlite3", "pelicanconf.py", "designs/ana/fine.md"]
)
def test_preview_of_a_key_outside_the_designs_is_404(admin: Admin, key: str) -> None:
    answer = admin.get(f"/api/admin/moderation/preview?key={quote(key, safe='')}")
    assert answer.status_code == 404
    assert json.loads(answer.body)["error"]["code"] == "not_found"


def test_preview_of_a_file_over_the_size_cap_is_404(admin: Admin) -> None:
    settings = admin.project.settings
    small = replace(settings, images=replace(settings.images, max_file_bytes=1000))
    api.configure(small, generous_limits())
    answer = admin.get(f"/api/admin/moderation/preview?key={quote(HELD, safe='')}")
    assert answer.status_code == 404
    assert "NAILFOLIO_MAX_FILE_MB" in json.loads(answer.body)["error"]["message"]


def test_approving_publishes_the_design_and_keeps_the_audit_log(admin: Admin) -> None:
    page = admin.project.settings.output_dir / "designs" / HELD_KEY / "index.html"
    assert not page.exists()
    body = {"design": HELD_KEY, "status": "approved", "reason": "glitter, not skin"}
    answer = admin.post("/api/admin/moderation/decisions", body)
    assert answer.status_code == 200, answer.body
    data = json.loads(answer.body)
    assert data["rebuild"] == {"state": "done", "message": ""}
    assert data["page"] == f"designs/{HELD_KEY}/" and page.is_file()
    assert data["decision"]["decided_by"] == "ada@example.com"
    history = json.loads(admin.get(f"/api/admin/moderation/history?design={HELD_KEY}").body)
    assert [d["status"] for d in history["decisions"]] == ["approved", "needs_review"]
    assert history["decisions"][0]["reason"] == "glitter, not skin"
    assert json.loads(admin.get("/api/admin/moderation").body)["designs"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"design": HELD_KEY, "status": "approved"}, "reason"),
        ({"design": HELD_KEY, "status": "approved", "reason": "  "}, "reason"),
        ({"design": HELD_KEY, "status": "needs_review", "reason": "x"}, "status"),
        ({"design": HELD_KEY, "status": "approved", "reason": "x", "by": "me"}, "by"),
        ({"status": "approved", "reason": "x"}, "design"),
    ],
)
def test_a_decision_without_a_reason_or_with_a_bad_field_is_400(
    admin: Admin, body: dict[str, Any], field: str
) -> None:
    answer = admin.post("/api/admin/moderation/decisions", body)
    assert answer.status_code == 400
    assert json.loads(answer.body)["error"]["field"] == field
    with config.open_catalog(admin.project.settings) as catalog:
        assert catalog.latest_decision(HELD_KEY).status == Status.NEEDS_REVIEW  # type: ignore[union-attr]


def test_a_decision_on_an_unknown_design_is_404(admin: Admin) -> None:
    body = {"design": "no/such", "status": "approved", "reason": "x"}
    assert admin.post("/api/admin/moderation/decisions", body).status_code == 404
    assert admin.get("/api/admin/moderation/history?design=no/such").status_code == 404


def test_outbox_lists_the_notifications_kept_locally(admin: Admin) -> None:
    data = json.loads(admin.get("/api/admin/moderation/outbox").body)
    assert data["kept"] is True and "outbox" in data["where"]
    subjects = [note["subject"] for note in data["notifications"]]
    assert f"Design {HELD_KEY} needs review" in subjects
    assert "Design ana/bad was rejected" in subjects


def test_non_admins_are_refused_everywhere(admin: Admin) -> None:
    token = _token(admin.project.settings, "dee@example.com", "designers")
    other = Admin(admin.http, {"Cookie": f"nf_session={token}"}, admin.project)
    for path in ("", "/outbox", f"/history?design={HELD_KEY}", "/preview?key=x"):
        assert other.get(f"/api/admin/moderation{path}").status_code == 403
    body = {"design": HELD_KEY, "status": "approved", "reason": "x"}
    assert other.post("/api/admin/moderation/decisions", body).status_code == 403


def test_record_override_keeps_the_labels_of_the_version_on_record(tmp_path: Path) -> None:
    from nailfolio.local.sqlite_catalog import SqliteCatalog

    with SqliteCatalog(tmp_path / "c.sqlite3") as catalog:
        catalog.record_decision(Decision("a/b", "h1", Status.REJECTED, "m"))
        decision = moderation_queue.record_override(catalog, "a/b", Status.APPROVED, "", "ada")
    assert decision.content_hash == "h1"
