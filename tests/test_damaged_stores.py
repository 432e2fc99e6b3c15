"""A damaged store (a SQLite file cut short and filled with junk, an unreadable signing key):
every command says which file and what to do in one line, the API answers 503 in JSON on
the routes that need that store and keeps serving every other route."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import PASSWORD, PUBLISHED, ApiClient, ApiProject, MarkerModerator, Project

from nailfolio import cli, config
from nailfolio.errors import StoreDamaged
from nailfolio.local import sqlite

ADVICE = "restore it from a backup"


def damage(path: Path) -> None:
    """What a crash mid-write or a bad disk leaves: the first page kept, junk after it."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    path.write_bytes(path.read_bytes()[:4096] + b"\xde\xad junk \xbe\xef" * 1000)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def built(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project built once, with a user and a notification in its stores."""
    monkeypatch.setattr(config, "moderator_factory", lambda settings: MarkerModerator)
    project.add_image("ana/red.jpg")
    project.add_image("ana/held.jpg", marker=128)  # leaves a notification in the outbox
    assert invoke(project, "build", "--quiet").exit_code == 0
    with config.open_identity(project.settings) as identity:
        identity.sign_up("owner@example.com", PASSWORD, "Owner")
    return project


def invoke(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli.main, ["--root", str(project.root), *args])


@pytest.mark.parametrize(
    ("store", "command"),
    [
        ("catalog.sqlite3", ("build", "--quiet")),
        ("catalog.sqlite3", ("moderation", "list")),
        ("catalog.sqlite3", ("approve", "ana/held", "--no-rebuild")),
        ("outbox.sqlite3", ("moderation", "outbox")),
        ("identity.sqlite3", ("users", "list")),
    ],
)
def test_a_command_on_a_damaged_store_names_the_file_and_what_to_do(
    built: Project, store: str, command: tuple[str, ...]
) -> None:
    path = built.settings.var_dir / store
    damage(path)
    line = one_line_error(invoke(built, *command))
    assert str(path) in line and ADVICE in line


def test_a_damaged_rate_limit_file_is_moved_aside_and_started_afresh(project: Project) -> None:
    path = project.settings.ratelimit_path
    with config.open_rate_limiter(project.settings) as limiter:
        assert limiter.hit("x", 1, 60).allowed
    damage(path)
    with config.open_rate_limiter(project.settings) as limiter:
        assert limiter.hit("x", 1, 60).allowed  # the old count went with the damaged file
        assert not limiter.hit("x", 1, 60).allowed
    (aside,) = path.parent.glob("ratelimit.sqlite3.damaged-*")
    assert sqlite.check_file(aside) is not None
    assert sqlite.check_file(path) is None


def test_damage_found_by_a_query_after_opening_is_named_too(built: Project) -> None:
    """The outbox's schema fits in its first page: it opens, and the first read fails."""
    path = built.settings.outbox_path
    damage(path)
    with (
        config.open_notifier(built.settings) as outbox,
        pytest.raises(StoreDamaged, match=ADVICE) as raised,
    ):
        outbox.list_notifications(5)
    assert raised.value.path == str(path)


def test_check_file_finds_damage_and_passes_a_healthy_file(built: Project) -> None:
    path = built.settings.catalog_path
    assert sqlite.check_file(path) is None
    damage(path)
    assert "malformed" in (sqlite.check_file(path) or "")


# -- the API ---------------------------------------------------------------------------------


def fresh_services(api_project: ApiProject) -> None:
    """Make the API open its stores again, as a restarted server would."""
    api_project.configure()


def post_comment(client: ApiClient) -> object:
    return client.request("POST", f"/api/designs/{PUBLISHED}/comments", {"text": "Lovely!"})


def health(client: ApiClient) -> tuple[int, dict]:
    response = client.request("GET", "/api/health")
    return response.status_code, response.json_body


def test_a_damaged_catalog_stops_comments_only(
    api_project: ApiProject, api_client: ApiClient
) -> None:
    api_project.add_user("cleo@example.com")
    damage(api_project.settings.catalog_path)
    fresh_services(api_project)
    assert api_client.sign_up("new@example.com").status_code == 201
    assert api_client.sign_in("cleo@example.com").status_code == 200
    refused = post_comment(api_client)
    assert refused.status_code == 503
    assert refused.json_body["error"]["code"] == "store_unavailable"
    assert refused.headers["Retry-After"].isdigit()
    assert "sqlite3" not in refused.body.decode()  # server paths are for the log only
    status, report = health(api_client)
    assert status == 503 and report["status"] == "degraded"
    assert report["stores"]["catalog"] == "unavailable"
    assert report["stores"]["identity"] == "ok"


def test_a_damaged_comment_store_stops_comments_but_not_signing_in(
    api_project: ApiProject, api_client: ApiClient
) -> None:
    api_project.add_user("admin@example.com", "admins")
    with config.open_comment_store(api_project.settings):
        pass  # the file exists before it is damaged
    damage(api_project.settings.comments_path)
    fresh_services(api_project)
    admin = api_client.session("admin@example.com")
    assert admin.request("GET", "/api/me").status_code == 200
    assert admin.request("GET", "/api/admin/comments").status_code == 503
    assert post_comment(admin).status_code == 503
    assert health(admin)[1]["stores"]["comments"] == "unavailable"


def test_a_damaged_rate_limit_file_breaks_nothing(
    api_project: ApiProject, api_client: ApiClient
) -> None:
    assert api_client.sign_up("first@example.com").status_code == 201
    damage(api_project.settings.ratelimit_path)
    fresh_services(api_project)
    assert api_client.sign_up("second@example.com").status_code == 201
    assert post_comment(api_client).status_code == 201
    assert health(api_client)[0] == 200


@pytest.mark.parametrize("how", ["junk", "unreadable"])
def test_a_damaged_signing_key_is_a_503_not_a_traceback(
    api_project: ApiProject, api_client: ApiClient, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_project.add_user("cleo@example.com")
    key = api_project.settings.var_dir / "identity" / "signing-key.pem"
    if how == "junk":
        key.write_bytes(b"-----BEGIN PRIVATE KEY-----\njunk\n")
    else:
        real_read = Path.read_bytes

        def unreadable(self: Path) -> bytes:
            if self == key:
                raise PermissionError(13, "Permission denied", str(self))
            return real_read(self)

        monkeypatch.setattr(Path, "read_bytes", unreadable)  # root ignores chmod 000
    fresh_services(api_project)
    refused = api_client.sign_in("cleo@example.com")
    assert refused.status_code == 503
    assert refused.json_body["error"]["code"] == "store_unavailable"
    status, report = health(api_client)
    assert status == 503 and report["stores"]["signing_key"] == "unavailable"


def test_a_failing_cloud_service_is_a_503_with_retry_after(
    api_project: ApiProject, api_client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nailfolio.errors import ServiceUnavailable
    from nailfolio.web import api

    api_project.add_user("cleo@example.com")

    def throttled(*args: object, **kwargs: object) -> None:
        raise ServiceUnavailable("DynamoDB throttled PutItem on nailfolio-comments")

    client = api_client.session("cleo@example.com")
    monkeypatch.setattr(api.comments(), "post", throttled)
    refused = post_comment(client)
    assert refused.status_code == 503
    assert refused.json_body["error"]["code"] == "service_unavailable"
    assert refused.headers["Retry-After"].isdigit()
    assert "DynamoDB" not in refused.body.decode()
