"""The web API (chalice_app/app.py) end to end: chalice.test.Client against a temp project,
and the real one-origin server for what needs threads."""

from __future__ import annotations

import base64
import csv
import http.client
import io
import json
import re
import subprocess
import sys
import threading
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import PUBLISHED, UNPUBLISHED, ApiClient, ApiProject, generous_limits, set_cookies

from nailfolio.comments.service import CommentLimits
from nailfolio.config import open_identity
from nailfolio.ratelimit import RateRule
from nailfolio.web.api import ApiLimits

COMMENTS = f"/api/designs/{PUBLISHED}/comments"
ADMIN = "boss@example.com"
CUSTOMER = "cleo@example.com"
# A well-formed cursor whose time is before year 1 once converted to UTC.
OUT_OF_RANGE_CURSOR = (
    base64.urlsafe_b64encode(json.dumps(["0001-01-01T00:00:00+01:00", "0" * 32]).encode())
    .rstrip(b"=")
    .decode()
)


def body(response: Any) -> Any:
    return json.loads(response.body)


def error_code(response: Any) -> str:
    return body(response)["error"]["code"]


@pytest.fixture
def admin(api_project: ApiProject, api_client: ApiClient) -> ApiClient:
    api_project.add_user(ADMIN, "admins", "Boss")
    return api_client.session(ADMIN)


@pytest.fixture
def customer(api_project: ApiProject, api_client: ApiClient) -> ApiClient:
    api_project.add_user(CUSTOMER, name="Cleo")
    return api_client.session(CUSTOMER)


# -- basics ----------------------------------------------------------------------------------


def test_health_is_ok(api_client: ApiClient) -> None:
    response = api_client.request("GET", "/api/health")
    stores = dict.fromkeys(("identity", "comments", "ratelimit", "catalog", "signing_key"), "ok")
    assert (response.status_code, body(response)) == (200, {"status": "ok", "stores": stores})
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/health", 200),
        ("GET", "/api/openapi.json", 200),
        ("GET", "/api/me", 401),
        ("PUT", "/api/me", 405),
        ("POST", "/api/auth/signin", 415),
        ("GET", "/api/admin/comments", 401),
    ],
)
def test_every_answer_carries_the_security_headers(
    api_client: ApiClient, method: str, path: str, status: int
) -> None:
    response = api_client.request(method, path, headers={"Content-Type": "text/plain"})
    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if status >= 400:
        assert set(body(response)["error"]) == {"code", "message"}


def test_method_not_allowed_uses_the_error_shape(api_client: ApiClient) -> None:
    response = api_client.request("PUT", "/api/me")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"


# -- sign-up, sign-in, sign-out ----------------------------------------------------------


def test_sign_up_makes_a_signed_in_customer(api_project: ApiProject, api_client: ApiClient) -> None:
    response = api_client.sign_up("Dana@Example.com", name="Dana")
    assert response.status_code == api_project.signed_up
    user = body(response)["user"]
    assert set(user) == {"sub", "email", "name", "role"}
    assert (user["email"], user["name"], user["role"]) == ("dana@example.com", "Dana", "customers")
    me = api_client.request("GET", "/api/me")
    assert (me.status_code, body(me)["user"]) == (200, user)


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"email": "not-an-email", "password": "Polish-2025!"}, "invalid_email", "email"),
        ({"email": "d@example.com", "password": "short"}, "weak_password", "password"),
        ({"email": "d@example.com"}, "invalid_field", "password"),
        ({"password": "Polish-2025!"}, "invalid_field", "email"),
        (
            {"email": "d@example.com", "password": "Polish-2025!", "role": "admins"},
            "invalid_field",
            "role",
        ),
        (
            {"email": "d@example.com", "password": "Polish-2025!", "name": 7},
            "invalid_field",
            "name",
        ),
        (
            {"email": "d@example.com", "password": "Polish-2025!", "name": "a\nb"},
            "invalid_field",
            "name",
        ),
        ({"email": "d\x00@example.com", "password": "Polish-2025!"}, "invalid_field", "email"),
        ({"email": "d\ud800@example.com", "password": "Polish-2025!"}, "invalid_field", "email"),
    ],
)
def test_sign_up_refuses_bad_fields(
    api_client: ApiClient, payload: dict[str, Any], code: str, field: str
) -> None:
    raw = json.dumps(payload)  # ensure_ascii: a lone surrogate travels as the "\ud800" escape
    response = api_client.request("POST", "/api/auth/signup", raw)
    assert response.status_code == 400
    assert (error_code(response), body(response)["error"]["field"]) == (code, field)
    assert api_client.cookie is None


def test_weak_password_message_lists_what_is_missing(api_client: ApiClient) -> None:
    response = api_client.request(
        "POST", "/api/auth/signup", {"email": "d@example.com", "password": "alllowercase"}
    )
    message = body(response)["error"]["message"]
    assert "an uppercase letter" in message and "a digit" in message and "a symbol" in message


def test_sign_up_twice_is_a_conflict_that_does_not_echo_the_email(
    api_client: ApiClient, customer: ApiClient
) -> None:
    response = api_client.sign_up(CUSTOMER)
    assert (response.status_code, error_code(response)) == (409, "account_exists")
    assert CUSTOMER not in response.body.decode()


def test_sign_ups_are_rate_limited_per_network(
    api_project: ApiProject, api_client: ApiClient
) -> None:
    api_project.configure(replace(generous_limits(), sign_ups=(RateRule(2, 3600),)))
    assert api_client.sign_up("a1@example.com").status_code == api_project.signed_up
    assert api_client.sign_up("a2@example.com").status_code == api_project.signed_up
    response = api_client.sign_up("a3@example.com")
    assert (response.status_code, error_code(response)) == (429, "rate_limited")
    assert 0 < int(response.headers["Retry-After"]) <= 3600


def test_sign_in_sets_the_session(api_client: ApiClient, customer: ApiClient) -> None:
    response = api_client.sign_in(CUSTOMER)
    assert response.status_code == 200
    assert body(response)["user"]["email"] == CUSTOMER
    assert api_client.request("GET", "/api/me").status_code == 200


@pytest.mark.parametrize("email", [CUSTOMER, "nobody@example.com"])
def test_wrong_credentials_say_the_same_thing(
    api_client: ApiClient, customer: ApiClient, email: str
) -> None:
    response = api_client.request(
        "POST", "/api/auth/signin", {"email": email, "password": "Wrong-2025!"}
    )
    assert response.status_code == 401
    assert body(response) == {
        "error": {"code": "invalid_credentials", "message": "Incorrect email or password"}
    }


@pytest.mark.local_only  # the local throttle's own rule; Cognito locks out by itself
def test_repeated_failed_sign_ins_are_locked_out(
    api_client: ApiClient, customer: ApiClient
) -> None:
    wrong = {"email": CUSTOMER, "password": "Wrong-2025!"}
    statuses = [api_client.request("POST", "/api/auth/signin", wrong).status_code for _ in range(5)]
    assert statuses == [401] * 5
    response = api_client.sign_in(CUSTOMER)  # even the right password, while locked
    assert (response.status_code, error_code(response)) == (429, "too_many_attempts")
    seconds = int(response.headers["Retry-After"])
    message = f"too many sign-in attempts; try again in {seconds} s"
    assert body(response)["error"]["message"] == message


@pytest.mark.local_only  # the local throttle's own rule; Cognito locks out by itself
def test_sign_up_refused_by_a_sign_in_lock_makes_no_account(
    api_project: ApiProject, api_client: ApiClient
) -> None:
    for n in range(20):  # locks the client's address for sign-ins
        wrong = {"email": f"guess-{n}@example.com", "password": "Wrong-2025!"}
        assert api_client.request("POST", "/api/auth/signin", wrong).status_code == 401
    for _ in range(2):  # the retry is refused alike, not told the email is taken
        response = api_client.sign_up("dana@example.com")
        assert (response.status_code, error_code(response)) == (429, "too_many_attempts")
    with open_identity(api_project.settings) as identity:
        assert identity.find_user("dana@example.com") is None


def test_sign_out_revokes_the_token(api_client: ApiClient, customer: ApiClient) -> None:
    token = customer.cookie
    response = customer.request("POST", "/api/auth/signout", {})
    assert response.status_code == 204 and response.body == b""
    assert set_cookies(response) == {
        "nf_session": "nf_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        "nf_refresh": "nf_refresh=; HttpOnly; SameSite=Strict; Path=/api/auth; Max-Age=0",
    }
    replay = api_client.request("GET", "/api/me", headers={"Cookie": f"nf_session={token}"})
    assert (replay.status_code, error_code(replay)) == (401, "unauthorized")
    bearer = api_client.request("GET", "/api/me", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 401


@pytest.mark.parametrize("payload", [None, "", {}])
def test_sign_out_without_a_session_is_still_204(api_client: ApiClient, payload: Any) -> None:
    headers = {"Content-Type": "application/json"}
    response = api_client.request("POST", "/api/auth/signout", payload, headers)
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("payload", "content_type", "status"),
    [({"everything": True}, "application/json", 400), ("{}", "text/plain", 415)],
)
def test_sign_out_takes_no_fields_and_only_json(
    api_client: ApiClient, payload: Any, content_type: str, status: int
) -> None:
    response = api_client.request(
        "POST", "/api/auth/signout", payload, {"Content-Type": content_type}
    )
    assert response.status_code == status


def test_bearer_token_works_without_the_cookie(api_client: ApiClient, customer: ApiClient) -> None:
    headers = {"Authorization": f"Bearer {customer.cookie}"}
    response = api_client.request("GET", "/api/me", headers=headers)
    assert (response.status_code, body(response)["user"]["email"]) == (200, CUSTOMER)


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not.a.token"},
        {"Cookie": "nf_session=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
        {"Cookie": "other=1"},
        {},
    ],
)
def test_no_valid_token_is_unauthorized(api_client: ApiClient, headers: dict[str, str]) -> None:
    response = api_client.request("GET", "/api/me", headers=headers)
    assert (response.status_code, error_code(response)) == (401, "unauthorized")


# -- cookies ---------------------------------------------------------------------------------


def session_cookie_re(secure: bool) -> str:
    flags = "; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600" + ("; Secure" if secure else "")
    return r"nf_session=[\w-]+\.[\w-]+\.[\w-]+" + re.escape(flags)


# A refresh token as each backend makes it: 32 random bytes in base64url locally; Cognito's
# own, opaque (a JWE on AWS, a UUID on moto).
REFRESH_TOKEN = {"local": r"[\w-]{43}", "aws": r"[\w.-]{36,}"}


def refresh_cookie_re(secure: bool, backend: str = "local") -> str:
    flags = "; HttpOnly; SameSite=Strict; Path=/api/auth; Max-Age=2592000"
    token = REFRESH_TOKEN[backend]
    return f"nf_refresh={token}" + re.escape(flags + ("; Secure" if secure else ""))


def test_session_cookie_flags_over_http(api_project: ApiProject, api_client: ApiClient) -> None:
    response = api_client.sign_up("d@example.com")
    cookies = set_cookies(response)
    assert sorted(cookies) == ["nf_refresh", "nf_session"]
    assert re.fullmatch(session_cookie_re(secure=False), cookies["nf_session"])
    refresh = refresh_cookie_re(secure=False, backend=api_project.settings.backend)
    assert re.fullmatch(refresh, cookies["nf_refresh"])


def test_session_cookie_is_secure_behind_https(
    api_project: ApiProject, api_client: ApiClient, customer: ApiClient
) -> None:
    response = api_client.request(
        "POST",
        "/api/auth/signin",
        {"email": CUSTOMER, "password": "Polish-2025!"},
        {"X-Forwarded-Proto": "https"},
    )
    assert re.fullmatch(session_cookie_re(secure=True), set_cookies(response)["nf_session"])
    refresh = refresh_cookie_re(secure=True, backend=api_project.settings.backend)
    assert re.fullmatch(refresh, set_cookies(response)["nf_refresh"])
    out = api_client.request("POST", "/api/auth/signout", {}, {"X-Forwarded-Proto": "https"})
    cleared = set_cookies(out)
    assert sorted(cleared) == ["nf_refresh", "nf_session"]
    assert all(value.endswith("; Max-Age=0; Secure") for value in cleared.values())


def test_session_cookie_is_secure_for_an_https_site(
    api_project: ApiProject, api_client: ApiClient
) -> None:
    api_project.settings = replace(api_project.settings, site_url="https://nails.example")
    api_project.configure()
    response = api_client.sign_up("d@example.com")
    assert re.fullmatch(session_cookie_re(secure=True), set_cookies(response)["nf_session"])
    refresh = refresh_cookie_re(secure=True, backend=api_project.settings.backend)
    assert re.fullmatch(refresh, set_cookies(response)["nf_refresh"])


# -- posting comments ------------------------------------------------------------------------


def test_post_comment(customer: ApiClient, admin: ApiClient) -> None:
    response = customer.request("POST", COMMENTS, {"text": "Love this chrome!"})
    assert response.status_code == 201
    posted = body(response)
    assert posted["message"] == "Thanks! Your comment went privately to the studio."
    comment = posted["comment"]
    assert set(comment) == {"id", "design", "text", "created_at"}
    assert (comment["design"], comment["text"]) == (PUBLISHED, "Love this chrome!")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", comment["created_at"])
    listed = body(admin.request("GET", "/api/admin/comments"))["comments"]
    assert [c["id"] for c in listed] == [comment["id"]]
    assert listed[0]["author_name"] == "Cleo"
    assert listed[0]["sentiment"]["label"] == "POSITIVE"


def test_oversize_body_is_refused_before_parsing(customer: ApiClient, admin: ApiClient) -> None:
    not_even_json = "{" + "x" * (17 * 1024)
    response = customer.request("POST", COMMENTS, not_even_json)
    assert (response.status_code, error_code(response)) == (413, "too_large")
    assert body(admin.request("GET", "/api/admin/comments"))["comments"] == []


def test_a_body_of_exactly_16_kb_is_read(customer: ApiClient) -> None:
    raw = json.dumps({"text": "Nice", "website": ""})
    raw = raw[:-1] + " " * (16 * 1024 - len(raw)) + "}"
    assert len(raw.encode()) == 16 * 1024
    assert customer.request("POST", COMMENTS, raw).status_code == 201


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonp",
        "",
    ],
)
def test_only_json_is_accepted(customer: ApiClient, content_type: str) -> None:
    raw = json.dumps({"text": "Nice"})
    response = customer.request("POST", COMMENTS, raw, {"Content-Type": content_type})
    assert (response.status_code, error_code(response)) == (415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_with_utf8_charset_is_accepted(customer: ApiClient, content_type: str) -> None:
    raw = json.dumps({"text": "Nice"})
    response = customer.request("POST", COMMENTS, raw, {"Content-Type": content_type})
    assert response.status_code == 201


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        '["a list"]',
        '"a string"',
        '{"text": "a", "text": "b"}',
        '{"text": NaN}',
        b'{"text": "\xff"}',
        "[" * 5000 + "]" * 5000,
        "",
    ],
)
def test_malformed_json_is_invalid_json(customer: ApiClient, raw: str | bytes) -> None:
    response = customer.request("POST", COMMENTS, raw, {"Content-Type": "application/json"})
    assert (response.status_code, error_code(response)) == (400, "invalid_json")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"text": "hi", "rating": 5}', "rating"),
        ('{"comment": "hi"}', "comment"),
        ('{"text": "nul \\u0000 here"}', "text"),
        ('{"text": "lone \\ud800 surrogate"}', "text"),
        ('{"text": "\\u202egnp.exe"}', "text"),
        ('{"text": "zero\\u200bwidth"}', "text"),
        ('{"text": "   "}', "text"),
        ('{"text": 42}', "text"),
        ('{"text": "' + "a" * 2001 + '"}', "text"),
        ('{"text": "ok", "idempotency_key": "short"}', "idempotency_key"),
    ],
)
def test_invalid_comments_name_the_field(
    customer: ApiClient, admin: ApiClient, raw: str, field: str
) -> None:
    response = customer.request("POST", COMMENTS, raw)
    assert response.status_code == 400
    error = body(response)["error"]
    assert (error["code"], error["field"]) == ("invalid_comment", field)
    assert body(admin.request("GET", "/api/admin/comments"))["comments"] == []


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "</textarea><b>bold</b> & ' \" `",
        "👩‍🎨 Ana's nails ✨",
    ],
)
def test_markup_is_stored_and_returned_verbatim_as_text(
    customer: ApiClient, admin: ApiClient, text: str
) -> None:
    response = customer.request("POST", COMMENTS, {"text": text})
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    assert body(response)["comment"]["text"] == text
    assert body(admin.request("GET", "/api/admin/comments"))["comments"][0]["text"] == text
    assert body(customer.request("GET", "/api/me/comments"))["comments"][0]["text"] == text


def test_honeypot_looks_accepted_and_is_hidden_from_admins(
    customer: ApiClient, admin: ApiClient
) -> None:
    real = customer.request("POST", COMMENTS, {"text": "Lovely", "website": ""})
    spam = {"text": "Buy pills", "website": "http://spam.example", "idempotency_key": "spam-key-1"}
    bot = customer.request("POST", COMMENTS, spam)
    assert bot.status_code == real.status_code == 201
    assert set(body(bot)) == set(body(real))
    assert set(body(bot)["comment"]) == set(body(real)["comment"])
    assert body(bot)["message"] == body(real)["message"]
    assert set(bot.headers) == set(real.headers)
    texts = [c["text"] for c in body(admin.request("GET", "/api/admin/comments"))["comments"]]
    assert texts == ["Lovely"]
    export = admin.request("GET", "/api/admin/comments.csv").body.decode("utf-8")
    assert "Lovely" in export and "Buy pills" not in export
    # The bot sees what a real author sees: its comment listed, a retry answered 200.
    own = body(customer.request("GET", "/api/me/comments"))["comments"]
    assert [c["text"] for c in own] == ["Buy pills", "Lovely"]
    again = customer.request("POST", COMMENTS, spam)
    assert (again.status_code, body(again)) == (200, body(bot))


@pytest.mark.parametrize("where", ["header", "body"])
def test_idempotent_retry_returns_the_first_comment(
    customer: ApiClient, admin: ApiClient, where: str
) -> None:
    key = str(uuid.uuid4())
    payload: dict[str, str] = {"text": "Stunning"}
    headers = {}
    if where == "header":
        headers["Idempotency-Key"] = key
    else:
        payload["idempotency_key"] = key
    first = customer.request("POST", COMMENTS, payload, headers)
    again = customer.request("POST", COMMENTS, payload, headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert body(again) == body(first)
    assert len(body(admin.request("GET", "/api/admin/comments"))["comments"]) == 1


def test_idempotent_retry_is_answered_once_the_rate_limit_is_reached(
    api_project: ApiProject, customer: ApiClient
) -> None:
    limits = CommentLimits(per_account=(RateRule(2, 60),), per_network=(RateRule(100, 60),))
    api_project.configure(ApiLimits(limits, generous_limits().sign_ups))
    posts = [{"text": f"n{i}", "idempotency_key": f"key-000{i}"} for i in range(3)]
    first = [customer.request("POST", COMMENTS, payload) for payload in posts[:2]]
    again = customer.request("POST", COMMENTS, posts[0])
    assert (again.status_code, body(again)) == (200, body(first[0]))
    assert customer.request("POST", COMMENTS, posts[2]).status_code == 429


def test_reusing_a_key_for_another_comment_is_a_conflict(customer: ApiClient) -> None:
    headers = {"Idempotency-Key": "key-12345678"}
    assert customer.request("POST", COMMENTS, {"text": "One"}, headers).status_code == 201
    response = customer.request("POST", COMMENTS, {"text": "Two"}, headers)
    assert (response.status_code, error_code(response)) == (409, "idempotency_key_reused")


def test_comments_are_rate_limited(api_project: ApiProject, customer: ApiClient) -> None:
    limits = CommentLimits(per_account=(RateRule(2, 60),), per_network=(RateRule(100, 60),))
    api_project.configure(ApiLimits(limits, generous_limits().sign_ups))
    statuses = [customer.request("POST", COMMENTS, {"text": f"n{i}"}).status_code for i in range(3)]
    assert statuses[:2] == [201, 201]
    response = customer.request("POST", COMMENTS, {"text": "n3"})
    assert (response.status_code, error_code(response)) == (429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60


@pytest.mark.parametrize(
    "path",
    [
        f"/api/designs/{UNPUBLISHED}/comments",
        "/api/designs/ana/no-such-design/comments",
        "/api/designs/nobody/red-chrome/comments",
        "/api/designs/Ana/red-chrome/comments",
        "/api/designs/ana/..%2F..%2Fetc/comments",
    ],
)
def test_unpublished_or_unknown_design_is_not_found(customer: ApiClient, path: str) -> None:
    response = customer.request("POST", path, {"text": "Hello"})
    assert (response.status_code, error_code(response)) == (404, "design_not_found")


def test_signed_out_cannot_comment(api_client: ApiClient) -> None:
    response = api_client.request("POST", COMMENTS, {"text": "Hello"})
    assert (response.status_code, error_code(response)) == (401, "unauthorized")


# -- my account and my comments ------------------------------------------------------------


def test_my_comments_are_mine_only_and_carry_no_sentiment(
    api_project: ApiProject, customer: ApiClient, admin: ApiClient
) -> None:
    api_project.add_user("dora@example.com")
    dora = customer.session("dora@example.com")
    for text in ("first", "second", "third"):
        assert customer.request("POST", COMMENTS, {"text": text}).status_code == 201
    assert dora.request("POST", COMMENTS, {"text": "dora's"}).status_code == 201
    page = body(customer.request("GET", "/api/me/comments?limit=2"))
    assert [c["text"] for c in page["comments"]] == ["third", "second"]
    assert all(set(c) == {"id", "design", "text", "created_at"} for c in page["comments"])
    rest = body(customer.request("GET", f"/api/me/comments?limit=2&cursor={page['next_cursor']}"))
    assert ([c["text"] for c in rest["comments"]], rest["next_cursor"]) == (["first"], None)


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=201",
        "limit=x",
        "cursor=garbage",
        "design=ana/red",
        "limit=1&limit=2",
        f"cursor={OUT_OF_RANGE_CURSOR}",
    ],
)
def test_my_comments_bad_query(customer: ApiClient, query: str) -> None:
    response = customer.request("GET", f"/api/me/comments?{query}")
    assert (response.status_code, error_code(response)) == (400, "invalid_query")


def test_deleting_my_account_erases_my_comments(
    api_project: ApiProject, api_client: ApiClient, customer: ApiClient, admin: ApiClient
) -> None:
    token = customer.cookie
    for text in ("one", "two"):
        assert customer.request("POST", COMMENTS, {"text": text}).status_code == 201
    assert admin.request("POST", COMMENTS, {"text": "admin's own"}).status_code == 201
    response = customer.request("DELETE", "/api/me")
    assert response.status_code == 204
    assert set_cookies(response)["nf_session"].endswith("Max-Age=0")
    assert set_cookies(response)["nf_refresh"].endswith("Max-Age=0")
    texts = [c["text"] for c in body(admin.request("GET", "/api/admin/comments"))["comments"]]
    assert texts == ["admin's own"]
    replay = api_client.request("GET", "/api/me", headers={"Cookie": f"nf_session={token}"})
    assert replay.status_code == 401
    assert api_client.sign_in(CUSTOMER).status_code == 401
    assert api_client.sign_up(CUSTOMER).status_code == api_project.signed_up  # free again


# -- the admins' inbox -----------------------------------------------------------------------


@pytest.fixture
def inbox(customer: ApiClient, admin: ApiClient) -> ApiClient:
    for text in ("I love it, gorgeous!", "This is awful and ugly.", "It is a nail."):
        assert customer.request("POST", COMMENTS, {"text": text}).status_code == 201
    return admin


def test_admin_list_has_authors_and_sentiment(inbox: ApiClient) -> None:
    page = body(inbox.request("GET", "/api/admin/comments"))
    assert page["next_cursor"] is None
    first = page["comments"][0]
    assert set(first) == {
        "id", "design", "author_name", "author_id", "text", "created_at", "sentiment",
        "sentiment_status", "author_email", "status", "status_changed_at",
    }  # fmt: skip
    assert (first["text"], first["author_name"], first["sentiment_status"]) == (
        "It is a nail.",
        "Cleo",
        "scored",
    )
    assert set(first["sentiment"]) == {"label", "positive", "negative", "neutral", "mixed"}
    labels = [c["sentiment"]["label"] for c in page["comments"]]
    assert labels == ["NEUTRAL", "NEGATIVE", "POSITIVE"]


@pytest.mark.parametrize(
    ("query", "texts"),
    [
        ("sentiment=POSITIVE", ["I love it, gorgeous!"]),
        ("sentiment=negative", ["This is awful and ugly."]),
        (f"design={PUBLISHED}&limit=1", ["It is a nail."]),
        ("design=ana/other", []),
        (
            "since=2000-01-01&until=2100-01-01",
            ["It is a nail.", "This is awful and ugly.", "I love it, gorgeous!"],
        ),
        ("until=2000-01-01T00:00:00Z", []),
    ],
)
def test_admin_list_filters(inbox: ApiClient, query: str, texts: list[str]) -> None:
    response = inbox.request("GET", f"/api/admin/comments?{query}")
    assert response.status_code == 200
    assert [c["text"] for c in body(response)["comments"]] == texts


def test_admin_list_pages(inbox: ApiClient) -> None:
    seen, cursor = [], ""
    while True:
        page = body(inbox.request("GET", f"/api/admin/comments?limit=2{cursor}"))
        seen += [c["id"] for c in page["comments"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert len(seen) == len(set(seen)) == 3


@pytest.mark.parametrize(
    "query",
    [
        "sentiment=HAPPY",
        "since=yesterday",
        "since=2025-02-01&until=2025-01-01",
        "cursor=abc",
        "limit=-1",
        "label=POSITIVE",
        "author=someone",
        "sentiment=POSITIVE&sentiment=NEGATIVE",
        "since=0001-01-01T00:00:00%2B01:00",
        "until=9999-12-31T23:59:59-01:00",
        f"cursor={OUT_OF_RANGE_CURSOR}",
    ],
)
def test_admin_list_bad_query(inbox: ApiClient, query: str) -> None:
    for path in ("/api/admin/comments", "/api/admin/comments.csv"):
        response = inbox.request("GET", f"{path}?{query}")
        assert (response.status_code, error_code(response)) == (400, "invalid_query")


def test_csv_export(inbox: ApiClient, customer: ApiClient) -> None:
    assert customer.request("POST", COMMENTS, {"text": "=HYPERLINK(1)"}).status_code == 201
    response = inbox.request("GET", "/api/admin/comments.csv?sentiment=NEUTRAL")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = 'attachment; filename="nailfolio-comments.csv"'
    assert response.headers["Content-Disposition"] == disposition
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8"))))
    assert rows[0][:6] == ["id", "created_at", "design", "author_sub", "author_name", "text"]
    assert sorted(row[5] for row in rows[1:]) == ["'=HYPERLINK(1)", "It is a nail."]


def test_admin_deletes_a_comment(inbox: ApiClient) -> None:
    comment_id = body(inbox.request("GET", "/api/admin/comments"))["comments"][0]["id"]
    response = inbox.request("DELETE", f"/api/admin/comments/{comment_id}")
    assert (response.status_code, response.body) == (204, b"")
    again = inbox.request("DELETE", f"/api/admin/comments/{comment_id}")
    assert (again.status_code, error_code(again)) == (404, "not_found")
    assert len(body(inbox.request("GET", "/api/admin/comments"))["comments"]) == 2


def test_deleting_a_malformed_id_is_not_found(inbox: ApiClient) -> None:
    response = inbox.request("DELETE", "/api/admin/comments/not-an-id")
    assert (response.status_code, error_code(response)) == (404, "not_found")


# -- privacy ---------------------------------------------------------------------------------


def test_no_response_carries_another_persons_email_or_address(
    api_project: ApiProject, api_client: ApiClient, customer: ApiClient, admin: ApiClient
) -> None:
    """Everything Cleo, a fresh visitor and the admin can see, scanned for other people's
    email addresses and for client IP addresses."""
    seen: list[tuple[str, Any]] = []

    def look(who: str, client: ApiClient, method: str, path: str, payload: Any = None) -> None:
        seen.append((who, client.request(method, path, payload)))

    look(CUSTOMER, customer, "POST", COMMENTS, {"text": "Hello from Cleo"})
    look(CUSTOMER, customer, "GET", "/api/me/comments")
    look(CUSTOMER, customer, "GET", "/api/admin/comments")
    look(ADMIN, admin, "GET", "/api/me")
    look(ADMIN, admin, "GET", "/api/admin/comments")
    look(ADMIN, admin, "GET", "/api/admin/comments.csv")
    look("", api_client, "POST", "/api/auth/signup", {"email": CUSTOMER, "password": "Xx-12345"})
    look("", api_client, "POST", "/api/auth/signin", {"email": ADMIN, "password": "Wrong-123!"})
    look("", api_client, "GET", "/api/openapi.json")
    for who, response in seen:
        text = response.body.decode("utf-8") + json.dumps(response.headers)
        for email in {CUSTOMER, ADMIN} - {who} - _shown_to_admins(who, response):
            assert email not in text, (who, text[:300])
        assert "127.0.0.1" not in text


def _shown_to_admins(who: str, response: Any) -> set[str]:
    """The one exception (issue 9): the admin's inbox names each comment's author's email,
    so the admins can answer; nothing else ever does."""
    inbox = who == ADMIN and response.status_code == 200 and b"Hello from Cleo" in response.body
    return {CUSTOMER} if inbox else set()


# -- the real server: threads ----------------------------------------------------------------


def _post_live(base: str, path: str, token: str, payload: dict[str, Any], headers=None) -> Any:
    netloc = urlsplit(base).netloc
    connection = http.client.HTTPConnection(netloc, timeout=30)
    try:
        sent = {"Content-Type": "application/json", "Cookie": f"nf_session={token}"}
        connection.request("POST", path, json.dumps(payload), sent | (headers or {}))
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _run_threads(count: int, work: Any) -> list[Any]:
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_fifty_concurrent_posts_store_fifty_comments(
    live_api: str, customer: ApiClient, admin: ApiClient
) -> None:
    token = customer.cookie
    assert token
    results = _run_threads(
        50, lambda i: _post_live(live_api, COMMENTS, token, {"text": f"comment {i}"})
    )
    assert [status for status, _ in results] == [201] * 50
    ids = {answer["comment"]["id"] for _, answer in results}
    listed = body(admin.request("GET", "/api/admin/comments?limit=200"))["comments"]
    assert {c["id"] for c in listed} == ids and len(ids) == 50
    assert sorted(c["text"] for c in listed) == sorted(f"comment {i}" for i in range(50))


def test_concurrent_retries_with_one_key_store_one_comment(
    live_api: str, customer: ApiClient, admin: ApiClient
) -> None:
    token = customer.cookie
    assert token
    headers = {"Idempotency-Key": "retry-storm-1"}
    results = _run_threads(
        20, lambda i: _post_live(live_api, COMMENTS, token, {"text": "Once only"}, headers)
    )
    assert sorted(status for status, _ in results) == [200] * 19 + [201]
    assert len({answer["comment"]["id"] for _, answer in results}) == 1
    assert len(body(admin.request("GET", "/api/admin/comments"))["comments"]) == 1


def test_importing_the_app_leaves_the_library_loggers_alone() -> None:
    import logging

    from chalice_app.app import app

    library = logging.getLogger("nailfolio")
    assert app.log is library
    assert (library.level, library.propagate, library.handlers) == (logging.NOTSET, True, [])


def test_an_unexpected_failure_is_a_500_in_the_error_shape(
    customer: ApiClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from nailfolio.web import api

    def broken() -> Any:
        raise RuntimeError("disk on fire at /secret/path")

    monkeypatch.setattr(api, "comments", broken)
    response = customer.request("POST", COMMENTS, {"text": "Hello"})
    assert (response.status_code, error_code(response)) == (500, "internal_error")
    assert "secret" not in response.body.decode()
    assert response.headers["Cache-Control"] == "no-store"
    assert "disk on fire" in caplog.text  # logged for the operator, with the traceback


def test_sign_out_ends_both_the_cookie_and_the_bearer_session(
    api_client: ApiClient, customer: ApiClient
) -> None:
    other = api_client.session(CUSTOMER)
    tokens = (customer.cookie, other.cookie)
    headers = {"Authorization": f"Bearer {other.cookie}"}
    assert customer.request("POST", "/api/auth/signout", {}, headers).status_code == 204
    for token in tokens:
        replay = api_client.request("GET", "/api/me", headers={"Authorization": f"Bearer {token}"})
        assert replay.status_code == 401


@pytest.mark.parametrize(
    ("trusted", "forwarded", "statuses"),
    [
        ((), ["203.0.113.5", "198.51.100.7"], [201, 429]),  # X-Forwarded-For not believed
        (("127.0.0.0/8",), ["203.0.113.5", "203.0.113.9"], [201, 429]),  # same /24
        (("127.0.0.0/8",), ["203.0.113.5", "198.51.100.7"], [201, 201]),
        (("127.0.0.0/8",), ["203.0.113.5", "198.51.100.7, 203.0.113.5"], [201, 429]),
    ],
)
def test_client_address_comes_through_trusted_proxies_only(
    api_project: ApiProject,
    api_client: ApiClient,
    trusted: tuple[str, ...],
    forwarded: list[str],
    statuses: list[int],
) -> None:
    api_project.settings = replace(api_project.settings, trusted_proxies=trusted)
    api_project.configure(replace(generous_limits(), sign_ups=(RateRule(1, 3600),)))
    seen = []
    for index, chain in enumerate(forwarded):
        payload = {"email": f"p{index}@example.com", "password": "Polish-2025!"}
        headers = {"X-Forwarded-For": chain}
        seen.append(api_client.request("POST", "/api/auth/signup", payload, headers).status_code)
    assert seen == [api_project.accepted if status == 201 else status for status in statuses]


def test_repeated_forwarded_for_headers_are_joined() -> None:
    from chalice.app import Request

    from nailfolio.web import plumbing

    event = {
        "multiValueQueryStringParameters": None,
        "headers": {"x-forwarded-for": "198.51.100.7"},
        "multiValueHeaders": {"X-Forwarded-For": ["203.0.113.5", "198.51.100.7"]},
        "pathParameters": {},
        "requestContext": {
            "httpMethod": "GET",
            "resourcePath": "/api/me",
            "identity": {"sourceIp": "10.0.0.1"},
        },
        "body": None,
        "stageVariables": {},
    }
    request = Request(event)
    assert plumbing.header(request, "x-forwarded-for") == "203.0.113.5, 198.51.100.7"
    assert plumbing.source_ip(request) == "10.0.0.1"


def test_importing_the_app_builds_nothing_and_loads_nothing_heavy() -> None:
    """Lambda cold starts and every test pay for import-time work: keep it to Chalice."""
    repo = Path(__file__).resolve().parent.parent
    heavy = ["boto3", "onnxruntime", "vaderSentiment", "PIL", "pelican", "jwt", "sqlite3"]
    heavy += ["nailfolio.identity.provider", "nailfolio.comments.service"]
    code = f"import app, sys; print([m for m in {heavy!r} if m in sys.modules])"
    env = {"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-c", code]
    run = subprocess.run(command, cwd=repo / "chalice_app", env=env, capture_output=True, text=True)
    assert (run.returncode, run.stdout.strip()) == (0, "[]"), run.stderr


@pytest.mark.parametrize("text", ["0", "-2", "many", "inf", "nan"])
def test_rate_limit_scale_must_be_a_positive_number(tmp_path: Path, text: str) -> None:
    from nailfolio.config import load_settings
    from nailfolio.errors import ConfigError

    with pytest.raises(ConfigError, match="NAILFOLIO_RATE_LIMIT_SCALE"):
        load_settings(env={"NAILFOLIO_RATE_LIMIT_SCALE": text}, root=tmp_path)


def test_rate_limit_scale_multiplies_every_api_limit(tmp_path: Path) -> None:
    from nailfolio.config import load_settings

    settings = load_settings(env={"NAILFOLIO_RATE_LIMIT_SCALE": "1000"}, root=tmp_path)
    limits = ApiLimits.default().scaled(settings.rate_limit_scale)
    assert limits.comments.per_account == (RateRule(5000, 60), RateRule(30_000, 86_400))
    assert limits.comments.per_network == (RateRule(20_000, 60),)
    assert limits.sign_ups == (RateRule(10_000, 3600),)


def _request_through(headers: dict[str, str], source_ip: str = "130.176.0.9") -> Any:
    """An API Gateway request whose TCP peer is `source_ip` (a CloudFront edge's, say)."""
    from chalice.app import Request

    event = {
        "multiValueQueryStringParameters": None,
        "headers": headers,
        "multiValueHeaders": {},
        "pathParameters": {},
        "requestContext": {
            "httpMethod": "POST",
            "resourcePath": "/api/auth/signin",
            "identity": {"sourceIp": source_ip},
        },
        "body": None,
        "stageVariables": {},
    }
    return Request(event)


@pytest.mark.parametrize(
    ("secret", "headers", "expected"),
    [
        # through the stack's CloudFront: the viewer it names, not the edge everyone shares
        (
            "s3cret",
            {"x-nailfolio-origin": "s3cret", "cloudfront-viewer-address": "198.51.100.7:443"},
            "198.51.100.7",
        ),
        (
            "s3cret",
            {"x-nailfolio-origin": "s3cret", "cloudfront-viewer-address": "2001:db8::7:51234"},
            "2001:db8::7",
        ),
        # a direct call to API Gateway naming any viewer it likes: its own address counts
        (
            "s3cret",
            {"x-nailfolio-origin": "guess", "cloudfront-viewer-address": "198.51.100.7:443"},
            "130.176.0.9",
        ),
        ("s3cret", {"cloudfront-viewer-address": "198.51.100.7:443"}, "130.176.0.9"),
        # no secret configured (the local backend): the header means nothing
        (
            "",
            {"x-nailfolio-origin": "", "cloudfront-viewer-address": "198.51.100.7:443"},
            "130.176.0.9",
        ),
        # a garbled viewer address falls back to the peer
        (
            "s3cret",
            {"x-nailfolio-origin": "s3cret", "cloudfront-viewer-address": "nonsense"},
            "130.176.0.9",
        ),
    ],
)
def test_client_ip_behind_cloudfront_is_the_viewer_only_with_the_origin_secret(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    secret: str,
    headers: dict[str, str],
    expected: str,
) -> None:
    from types import SimpleNamespace

    from nailfolio import config
    from nailfolio.web import api

    settings = config.load_settings(env={"NAILFOLIO_ORIGIN_SECRET": secret}, root=tmp_path)
    monkeypatch.setattr(api, "services", lambda: SimpleNamespace(settings=settings))
    assert api.client_ip(_request_through(headers)) == expected


# -- answering customers: the author's email (admins only) and each comment's status ---------


def _inbox_comment(admin: ApiClient, text: str) -> dict[str, Any]:
    comments = body(admin.request("GET", "/api/admin/comments"))["comments"]
    return next(c for c in comments if c["text"] == text)


def test_admins_see_the_authors_email_and_a_new_status(inbox: ApiClient) -> None:
    first = _inbox_comment(inbox, "It is a nail.")
    assert (first["author_email"], first["status"]) == (CUSTOMER, "new")
    assert first["status_changed_at"] == first["created_at"]
    rows = list(
        csv.DictReader(io.StringIO(inbox.request("GET", "/api/admin/comments.csv").body.decode()))
    )
    assert {(row["author_email"], row["status"]) for row in rows} == {(CUSTOMER, "new")}


def test_no_customer_facing_answer_carries_the_authors_email(
    api_project: ApiProject, customer: ApiClient
) -> None:
    """Every response the author (and any non-admin) gets: the post, its idempotent retry,
    their own list, /api/me: no email of the comment in any of them but /api/me's own."""
    headers = {"Idempotency-Key": "retry-key-123"}
    posted = customer.request("POST", COMMENTS, {"text": "Email me?"}, headers)
    retried = customer.request("POST", COMMENTS, {"text": "Email me?"}, headers)
    spam = customer.request("POST", COMMENTS, {"text": "Bot", "website": "x"})
    own = customer.request("GET", "/api/me/comments")
    assert (posted.status_code, retried.status_code, own.status_code) == (201, 200, 200)
    for response in (posted, retried, spam, own):
        text = response.body.decode("utf-8")
        assert CUSTOMER not in text and "author_email" not in text, text[:300]
        assert '"status"' not in text  # the admins' status is theirs too
    me = body(customer.request("GET", "/api/me"))
    assert set(me["user"]) == {"sub", "email", "name", "role"}  # one's own email, only


def test_admin_sets_a_comments_status(inbox: ApiClient) -> None:
    comment = _inbox_comment(inbox, "It is a nail.")
    path = f"/api/admin/comments/{comment['id']}"
    response = inbox.request("PATCH", path, {"status": "answered"})
    assert response.status_code == 200
    answered = body(response)
    assert answered == comment | {
        "status": "answered",
        "status_changed_at": answered["status_changed_at"],
    }
    assert answered["status_changed_at"] > comment["status_changed_at"]
    assert _inbox_comment(inbox, "It is a nail.") == answered
    listed = body(inbox.request("GET", "/api/admin/comments?status=answered"))["comments"]
    assert [c["id"] for c in listed] == [comment["id"]]
    new = body(inbox.request("GET", "/api/admin/comments?status=new"))["comments"]
    assert len(new) == 2 and comment["id"] not in {c["id"] for c in new}
    csv_rows = inbox.request("GET", "/api/admin/comments.csv?status=answered").body.decode()
    assert [row["id"] for row in csv.DictReader(io.StringIO(csv_rows))] == [comment["id"]]
    closed = body(inbox.request("PATCH", path, {"status": "closed"}))
    assert closed["status"] == "closed"


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"status": "done"}, 400, "invalid_status"),
        ({"status": "ANSWERED"}, 400, "invalid_status"),
        ({"status": 1}, 400, "invalid_field"),
        ({}, 400, "invalid_field"),
        ({"status": "closed", "text": "edited"}, 400, "invalid_field"),
        (["closed"], 400, "invalid_json"),
    ],
)
def test_setting_a_bad_status_is_refused(
    inbox: ApiClient, payload: Any, status: int, code: str
) -> None:
    comment = _inbox_comment(inbox, "It is a nail.")
    response = inbox.request("PATCH", f"/api/admin/comments/{comment['id']}", payload)
    assert (response.status_code, error_code(response)) == (status, code)
    assert _inbox_comment(inbox, "It is a nail.")["status"] == "new"


def test_setting_the_status_of_an_unknown_comment_is_not_found(inbox: ApiClient) -> None:
    for comment_id in ("0" * 32, "not-an-id"):
        response = inbox.request("PATCH", f"/api/admin/comments/{comment_id}", {"status": "closed"})
        assert (response.status_code, error_code(response)) == (404, "not_found")


def test_a_bad_status_filter_is_refused(inbox: ApiClient) -> None:
    for path in ("/api/admin/comments", "/api/admin/comments.csv"):
        response = inbox.request("GET", f"{path}?status=open")
        assert (response.status_code, error_code(response)) == (400, "invalid_status")
