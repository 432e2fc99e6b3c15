"""Who may do what: every endpoint and method, for every kind of caller, with the token in the
cookie and in a Bearer header, against the exact status the contract promises."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from chalice.local import RouteMatcher
from chalice.test import Client
from conftest import (
    PASSWORD,
    PUBLISHED,
    REPO,
    UNPUBLISHED,
    ApiClient,
    ApiProject,
    generous_limits,
    set_cookies,
)

from chalice_app.app import app
from nailfolio.config import Settings, load_settings, open_catalog, open_identity
from nailfolio.gallery.models import Decision, Status
from nailfolio.ratelimit import RateRule
from nailfolio.web import api

CALLERS = ("visitor", "customer", "designer", "admin", "signed_out")
ROLE_OF = {"customer": "customers", "designer": "designers", "admin": "admins"}


@dataclass(frozen=True)
class Row:
    """One endpoint and method; `expect` gives the status for each of CALLERS in order."""

    method: str
    path: str
    expect: tuple[int, int, int, int, int]
    body: Any = None
    fresh_user: bool = False  # the call ends the caller's session or account: use a new one

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


OK = (200, 200, 200, 200, 200)
ADMIN_200, ADMIN_400, ADMIN_404 = ((401, 403, 403, status, 401) for status in (200, 400, 404))
MISSING_DECISION = {"design": "no/such", "status": "approved", "reason": "x"}
UPLOAD = {"filename": "red.jpg", "content_type": "image/jpeg", "size": 1000}
TABLE = [
    Row("GET", "/api/health", OK),
    Row("GET", "/api/openapi.json", OK),
    Row("POST", "/api/auth/signup", (201,) * 5, body="new-account"),
    Row("POST", "/api/auth/signin", OK, body={"email": "someone@example.com"}),
    Row("POST", "/api/auth/signout", (204,) * 5, body={}, fresh_user=True),
    Row(
        "POST",
        "/api/auth/confirm",
        (400,) * 5,  # no such sign-up: a wrong code, whoever asks
        body={"email": "nobody@example.com", "code": "123456", "password": PASSWORD},
    ),
    Row("POST", "/api/auth/resend", (204,) * 5, body={"email": "someone@example.com"}),
    Row("POST", "/api/auth/refresh", (401,) * 5, body={}),  # no refresh cookie sent
    Row("GET", "/api/me", (401, 200, 200, 200, 401)),
    Row("DELETE", "/api/me", (401, 204, 204, 204, 401), fresh_user=True),
    Row("GET", "/api/me/comments", (401, 200, 200, 200, 401)),
    Row("GET", "/api/me/comments?cursor=junk", (401, 400, 400, 400, 401)),
    Row("POST", f"/api/designs/{PUBLISHED}/comments", (401, 201, 201, 201, 401), {"text": "Hi"}),
    Row("POST", f"/api/designs/{UNPUBLISHED}/comments", (401, 404, 404, 404, 401), {"text": "x"}),
    Row("POST", "/api/designs/no/such/comments", (401, 404, 404, 404, 401), {"text": "x"}),
    Row("GET", "/api/admin/comments", (401, 403, 403, 200, 401)),
    Row("GET", f"/api/admin/comments?design={PUBLISHED}", (401, 403, 403, 200, 401)),
    Row("GET", "/api/admin/comments?sentiment=SMUG", (401, 403, 403, 400, 401)),
    Row("GET", "/api/admin/comments.csv", (401, 403, 403, 200, 401)),
    Row("GET", "/api/admin/comments.csv?limit=0", (401, 403, 403, 400, 401)),
    Row("DELETE", "/api/admin/comments/{existing}", (401, 403, 403, 204, 401)),
    Row("DELETE", "/api/admin/comments/{missing}", (401, 403, 403, 404, 401)),
    # The moderation queue (nailfolio/web/moderation.py): admins only, before any lookup.
    Row("GET", "/api/admin/moderation", (401, 403, 403, 200, 401)),
    Row("GET", "/api/admin/moderation?status=maybe", (401, 403, 403, 400, 401)),
    Row("GET", "/api/admin/moderation/preview?key=designs%2Fno%2Fsuch.jpg", ADMIN_404),
    Row("GET", "/api/admin/moderation/preview?key=..%2Fpelicanconf.py", ADMIN_404),
    Row("GET", f"/api/admin/moderation/history?design={UNPUBLISHED}", ADMIN_200),
    Row("GET", "/api/admin/moderation/history?design=no/such", ADMIN_404),
    Row("GET", "/api/admin/moderation/outbox", ADMIN_200),
    Row("POST", "/api/admin/moderation/decisions", ADMIN_400, {"design": UNPUBLISHED}),
    Row("POST", "/api/admin/moderation/decisions", ADMIN_404, MISSING_DECISION),
    Row("PATCH", "/api/admin/comments/{existing}", (401, 403, 403, 200, 401), {"status": "closed"}),
    Row("PATCH", "/api/admin/comments/{missing}", (401, 403, 403, 404, 401), {"status": "closed"}),
    Row("PATCH", "/api/admin/comments/{existing}", (401, 403, 403, 400, 401), {"status": "done"}),
    Row("GET", "/api/admin/comments?status=answered", (401, 403, 403, 200, 401)),
    Row("GET", "/api/admin/comments.csv?status=gone", (401, 403, 403, 400, 401)),
    # The studio: the designer owns designs/ana/ (see `world`); admins name any folder.
    Row("GET", "/api/studio/designs", (401, 403, 200, 400, 401)),
    Row("GET", "/api/studio/designs?designer=ana", (401, 403, 200, 200, 401)),
    Row("GET", "/api/studio/designs?designer=bo", (401, 403, 403, 200, 401)),
    Row("POST", "/api/studio/uploads", (401, 403, 201, 201, 401), {**UPLOAD, "designer": "ana"}),
    Row("POST", "/api/studio/uploads", (401, 403, 403, 201, 401), {**UPLOAD, "designer": "bo"}),
    Row("POST", "/api/studio/files", (403,) * 5, "forged-upload"),  # the form is the authority
    Row("PUT", "/api/studio/designs/ana/red", (401, 403, 200, 200, 401), {"title": "Red"}),
    Row("PUT", "/api/studio/designs/bo/blue", (401, 403, 403, 200, 401), {"title": "Blue"}),
    Row("GET", "/api/admin/insights", (401, 403, 403, 200, 401)),
    Row("GET", "/api/admin/insights?since=junk", (401, 403, 403, 400, 401)),
    Row("GET", "/api/admin/insights.json", (401, 403, 403, 200, 401)),
    Row("GET", "/api/admin/insights.csv", (401, 403, 403, 200, 401)),
]


FORGED_UPLOAD = (
    b'--x\r\nContent-Disposition: form-data; name="key"\r\n\r\ndesigns/ana/new.jpg\r\n'
    b'--x\r\nContent-Disposition: form-data; name="signature"\r\n\r\nforged\r\n'
    b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    b"\xff\xd8\xff\xe0 not really a photo\r\n--x--\r\n"
)


@dataclass
class World:
    """One project for the whole table: a signed-in user of each role, and a revoked token."""

    settings: Settings
    tokens: dict[str, str]


def _new_user(settings: Settings, role: str) -> tuple[str, str]:
    """(email, token) of a new account with `role`, made in-process (no HTTP, no limits)."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    with open_identity(settings) as identity:
        identity.sign_up(email, PASSWORD, role.title())
        if role != "customers":
            identity.set_role(email, role)
        return email, identity.sign_in(email, PASSWORD, "192.0.2.1").id_token


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("auth") / "site"
    (root / "content" / "designs").mkdir(parents=True)
    os.symlink(REPO / "theme", root / "theme")
    settings = replace(load_settings(env={}, root=root), workers=1)
    with open_catalog(settings) as catalog:
        catalog.record_decision(Decision(PUBLISHED, "hash-red", Status.APPROVED, "test"))
        catalog.record_decision(Decision(UNPUBLISHED, "hash-blue", Status.NEEDS_REVIEW, "test"))
    users = {caller: _new_user(settings, role) for caller, role in ROLE_OF.items()}
    tokens = {caller: token for caller, (_email, token) in users.items()}
    for folder, account in (("ana", users["designer"][0]), ("bo", "bo@example.com")):
        (root / "content" / "designs" / folder).mkdir()
        (root / "content" / "designs" / folder / "designer.md").write_text(f"Account: {account}\n")
    for design in ("ana/red.jpg", "bo/blue.jpg"):  # never a valid image: ingest refuses it
        (root / "content" / "designs" / design).write_bytes(b"not an image")
    _email, revoked = _new_user(settings, "customers")
    with open_identity(settings) as identity:
        identity.sign_up("someone@example.com", PASSWORD)
        identity.sign_out(revoked)
    yield World(settings, tokens | {"signed_out": revoked})


@pytest.fixture
def client(world: World) -> Iterator[Any]:
    api.configure(world.settings, generous_limits())
    with Client(app) as chalice_client:
        yield chalice_client.http
    api.reset()


def _token(world: World, caller: str, row: Row) -> str | None:
    if caller == "visitor":
        return None
    if row.fresh_user and caller != "signed_out":
        return _new_user(world.settings, ROLE_OF[caller])[1]
    return world.tokens[caller]


def _path(row: Row) -> str:
    if "{existing}" in row.path:
        posted = api.comments().post(PUBLISHED, "author-sub", "Author", {"text": "x"}, "192.0.2.9")
        return row.path.replace("{existing}", posted.comment.id)
    return row.path.replace("{missing}", "0" * 32)


def _body(row: Row) -> Any:
    if row.body == "forged-upload":
        return None  # sent as multipart by the test
    if row.body == "new-account":
        return {"email": f"new-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
    if row.path == "/api/auth/signin":
        return row.body | {"password": PASSWORD}
    return row.body


@pytest.mark.parametrize("carrier", ["cookie", "bearer"])
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.id)
def test_authorization_table(
    world: World, client: Any, row: Row, caller: str, carrier: str
) -> None:
    token = _token(world, caller, row)
    headers = {}
    if token and carrier == "cookie":
        headers["Cookie"] = f"nf_session={token}"
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    payload = _body(row)
    if payload is not None:
        headers["Content-Type"] = "application/json"
    raw = json.dumps(payload).encode() if payload is not None else b""
    if row.body == "forged-upload":
        headers["Content-Type"] = "multipart/form-data; boundary=x"
        raw = FORGED_UPLOAD
    response = client.request(row.method, _path(row), headers=headers, body=raw)
    expected = row.expect[CALLERS.index(caller)]
    assert response.status_code == expected, response.body[:300]
    if expected in (401, 403):
        code = {401: "unauthorized", 403: "forbidden"}[expected]
        assert json.loads(response.body)["error"]["code"] == code


@pytest.mark.parametrize("caller", ["customer", "designer"])
def test_non_admins_learn_nothing_about_comments(world: World, client: Any, caller: str) -> None:
    """An existing and a missing comment id, a valid and an invalid filter: all one 403."""
    headers = {"Cookie": f"nf_session={world.tokens[caller]}"}
    calls = [
        ("DELETE", "/api/admin/comments/{existing}"),
        ("DELETE", "/api/admin/comments/{missing}"),
        ("GET", "/api/admin/comments?sentiment=POSITIVE"),
        ("GET", "/api/admin/comments?sentiment=SMUG"),
    ]
    answers = {
        client.request(method, _path(Row(method, path, OK)), headers=headers).body
        for method, path in calls
    }
    assert len(answers) == 1


def test_the_table_covers_every_route() -> None:
    matcher = RouteMatcher(list(app.routes))
    covered = {(row.method, matcher.match_route(_path_template(row)).route) for row in TABLE}
    routes = {(method, path) for path, methods in app.routes.items() for method in methods}
    assert routes <= covered, routes - covered


def _path_template(row: Row) -> str:
    return row.path.replace("{existing}", "x").replace("{missing}", "x")


def test_a_revoked_token_is_refused_as_a_bearer_too(world: World, client: Any) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['signed_out']}"}
    assert client.request("GET", "/api/me", headers=headers).status_code == 401


def _sign_in_from(client: ApiClient, address: str, email: str, password: str = PASSWORD) -> Any:
    """A sign-in as if from `address`, told by the trusted proxy in front of the API."""
    body = {"email": email, "password": password}
    return client.request("POST", "/api/auth/signin", body, {"X-Forwarded-For": address})


@pytest.mark.local_only  # the local throttle's own rule; Cognito locks out by itself
def test_a_sign_in_spray_from_a_network_does_not_lock_out_the_admin_on_it(
    api_project: ApiProject, api_client: ApiClient
) -> None:
    """A carrier-grade NAT /24: strangers spray made-up emails, the admin still gets in."""
    api_project.settings = replace(api_project.settings, trusted_proxies=("127.0.0.0/8",))
    api_project.configure()
    api_project.add_user("boss@example.com", "admins")
    assert _sign_in_from(api_client, "203.0.113.7", "boss@example.com").status_code == 200
    spray = [
        _sign_in_from(api_client, f"203.0.113.{20 + n}", f"guess-{n}@example.com", "Wrong-1!aa")
        for n in range(21)
    ]
    assert [response.status_code for response in spray] == [401] * 20 + [429]
    refused = json.loads(spray[-1].body)["error"]
    seconds = int(spray[-1].headers["Retry-After"])
    assert refused == {
        "code": "too_many_attempts",
        "message": f"too many sign-in attempts; try again in {seconds} s",
    }
    admin = _sign_in_from(api_client, "203.0.113.9", "boss@example.com")
    assert admin.status_code == 200, admin.body
    assert json.loads(admin.body)["user"]["role"] == "admins"


@pytest.mark.local_only  # the local signing key
@pytest.mark.parametrize(
    ("how", "logged"),
    [
        ("corrupt", r"damaged or unreadable \(not a PEM private key"),
        ("unreadable", r"damaged or unreadable \(the signing key cannot be read"),
    ],
)
def test_a_sign_up_that_fails_to_sign_its_session_can_be_retried(
    api_project: ApiProject,
    api_client: ApiClient,
    signing_key_pem: bytes,
    caplog: pytest.LogCaptureFixture,
    how: str,
    logged: str,
) -> None:
    key = api_project.settings.var_dir / "identity" / "signing-key.pem"
    if how == "corrupt":
        key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    else:  # a folder where the file was: unreadable even by root, who ignores chmod 000
        key.unlink()
        key.mkdir(mode=0o700)
    failed = api_client.sign_up("dana@example.com")
    answer = (failed.status_code, json.loads(failed.body)["error"]["code"])
    assert answer == (503, "store_unavailable")
    assert re.search(rf"signing-key\.pem: {logged}", caplog.text)  # for the operator
    with open_identity(api_project.settings) as identity:
        assert identity.find_user("dana@example.com") is None
    if how == "unreadable":
        key.rmdir()
    key.write_bytes(signing_key_pem)
    key.chmod(0o600)
    retried = api_client.sign_up("dana@example.com")
    assert retried.status_code == 201, retried.body


# -- the confirm step, resending, refresh -------------------------------------------------------


@dataclass
class Confirming:
    """The API on a local identity that emails codes (here: into `codes`), as Cognito does."""

    client: ApiClient
    sent: dict[str, list[str]]  # every code emailed, by email
    project: ApiProject

    def code(self, email: str) -> str:
        """The last code emailed to `email`."""
        return self.sent[email][-1]


@pytest.fixture
def confirming(
    api_project: ApiProject, emailed_codes: dict[str, list[str]]
) -> Iterator[Confirming]:
    api_project.configure()
    with Client(app) as chalice_client:
        yield Confirming(ApiClient(chalice_client), emailed_codes, api_project)


def _json(response: Any) -> Any:
    return json.loads(response.body)


def _code(response: Any) -> str:
    return _json(response)["error"]["code"]


@pytest.mark.local_only  # codes from a local identity that emails them (moto takes any code)
def test_sign_up_waits_for_the_emailed_code_then_confirm_signs_in(confirming: Confirming) -> None:
    client, email = confirming.client, "nia@example.com"
    response = client.sign_up(" Nia@Example.com ", "Nia")
    assert (response.status_code, _json(response)) == (202, {"confirm": True, "email": email})
    assert "Set-Cookie" not in response.headers and client.cookie is None
    signed_in = client.sign_in(email)
    assert (signed_in.status_code, _code(signed_in)) == (403, "confirmation_needed")
    code = confirming.code(email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    confirm = {"email": email, "code": wrong, "password": PASSWORD}
    refused = client.request("POST", "/api/auth/confirm", confirm)
    assert (refused.status_code, _code(refused), _json(refused)["error"]["field"]) == (
        400,
        "invalid_code",
        "code",
    )
    done = client.request("POST", "/api/auth/confirm", confirm | {"code": code})
    assert done.status_code == 200, done.body
    assert _json(done)["user"] | {"sub": ""} == {
        "sub": "",
        "email": email,
        "name": "Nia",
        "role": "customers",
    }
    assert client.cookie and client.refresh_cookie
    assert _json(client.request("GET", "/api/me"))["user"]["email"] == email
    again = client.request("POST", "/api/auth/confirm", confirm | {"code": code})
    assert again.status_code == 200  # confirmed already: simply signed in


@pytest.mark.local_only  # codes from a local identity that emails them (moto takes any code)
def test_confirm_with_a_wrong_password_confirms_but_does_not_sign_in(
    confirming: Confirming,
) -> None:
    client = confirming.client
    assert client.sign_up("ola@example.com").status_code == 202
    confirm = {"email": "ola@example.com", "code": confirming.code("ola@example.com")}
    wrong = client.request("POST", "/api/auth/confirm", confirm | {"password": "Wrong-2025!"})
    assert (wrong.status_code, _code(wrong)) == (401, "invalid_credentials")
    assert client.sign_in("ola@example.com").status_code == 200


@pytest.mark.local_only  # codes from a local identity that emails them (moto takes any code)
@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.com", "code": "123456"},
        {"email": "a@example.com", "password": PASSWORD},
        {"email": "a@example.com", "code": 123456, "password": PASSWORD},
        {"email": "a@example.com", "code": "1", "password": PASSWORD, "name": "x"},
    ],
    ids=["no-password", "no-code", "code-not-text", "unknown-field"],
)
def test_confirm_refuses_a_malformed_body(confirming: Confirming, body: dict[str, Any]) -> None:
    response = confirming.client.request("POST", "/api/auth/confirm", body)
    assert (response.status_code, _code(response)) == (400, "invalid_field")


@pytest.mark.local_only  # codes from a local identity that emails them (moto takes any code)
def test_resend_sends_a_new_code_and_never_says_whether_the_email_exists(
    confirming: Confirming,
) -> None:
    client, email = confirming.client, "pia@example.com"
    assert client.sign_up(email).status_code == 202
    first = confirming.code(email)
    confirming.project.add_user("done@example.com")  # confirmed
    answers = [
        client.request("POST", "/api/auth/resend", {"email": who})
        for who in (email, "nobody@example.com", "done@example.com")
    ]
    assert [(a.status_code, a.body) for a in answers] == [(204, b"")] * 3
    assert sorted(confirming.sent) == [email] and len(confirming.sent[email]) == 2
    stale = {"email": email, "code": first, "password": PASSWORD}
    assert client.request("POST", "/api/auth/confirm", stale).status_code == 400
    fresh = stale | {"code": confirming.code(email)}
    assert client.request("POST", "/api/auth/confirm", fresh).status_code == 200
    malformed = client.request("POST", "/api/auth/resend", {"email": "not-an-email"})
    assert (malformed.status_code, _code(malformed)) == (400, "invalid_email")


@pytest.mark.local_only  # codes from a local identity that emails them (moto takes any code)
@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/auth/resend", {"email": "q@example.com"}, 204),
        ("/api/auth/confirm", {"email": "q@ex.com", "code": "000000", "password": PASSWORD}, 400),
    ],
    ids=["resend", "confirm"],
)
def test_resend_and_confirm_are_rate_limited_per_network(
    confirming: Confirming, path: str, body: dict[str, str], status: int
) -> None:
    limits = replace(generous_limits(), sign_ups=(RateRule(3, 3600),))
    confirming.project.configure(limits)
    client = confirming.client
    statuses = [
        client.request("POST", path, body, {"X-Forwarded-For": "203.0.113.9"}).status_code
        for _ in range(4)
    ]
    assert statuses == [status, status, status, 429]
    assert client.sign_up("r@example.com").status_code == 202  # sign-ups count apart


def test_refresh_renews_the_session_until_sign_out(
    api_project: ApiProject, api_client: ApiClient
) -> None:
    assert api_client.sign_up("sam@example.com").status_code == api_project.signed_up
    first, refresh_token = api_client.cookie, api_client.refresh_cookie
    assert first and refresh_token
    renewed = api_client.request("POST", "/api/auth/refresh", {})
    assert renewed.status_code == 200, renewed.body
    assert _json(renewed)["user"]["email"] == "sam@example.com"
    assert sorted(set_cookies(renewed)) == ["nf_session"]  # the refresh token stays
    assert api_client.cookie != first
    assert api_client.request("GET", "/api/me").status_code == 200
    assert api_client.request("POST", "/api/auth/signout", {}).status_code == 204
    api_client.refresh_cookie = refresh_token  # a copy kept from before the sign-out
    dead = api_client.request("POST", "/api/auth/refresh", {})
    assert (dead.status_code, _code(dead)) == (401, "unauthorized")
    assert all(value.endswith("Max-Age=0") for value in set_cookies(dead).values())
    assert sorted(set_cookies(dead)) == ["nf_refresh", "nf_session"]


def test_sign_out_after_the_session_expired_still_ends_the_refresh_token(
    api_project: ApiProject, api_client: ApiClient
) -> None:
    assert api_client.sign_up("tia@example.com").status_code == api_project.signed_up
    refresh_token = api_client.refresh_cookie
    api_client.cookie = None  # the hour is up: the browser dropped the session cookie
    assert api_client.request("POST", "/api/auth/signout", {}).status_code == 204
    api_client.refresh_cookie = refresh_token
    assert api_client.request("POST", "/api/auth/refresh", {}).status_code == 401


def test_refresh_takes_no_fields(api_client: ApiClient) -> None:
    response = api_client.request("POST", "/api/auth/refresh", {"token": "x"})
    assert (response.status_code, _code(response)) == (400, "invalid_field")
