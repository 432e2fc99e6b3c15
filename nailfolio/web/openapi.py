"""The web API's contract as an OpenAPI 3.1 document (served at /api/openapi.json).

Front-end code and mobile clients are written against this; tests/test_openapi.py runs
schemathesis against the live server with it, so a status, header or field the API sends but
this document does not describe fails the build. Each error response lists the exact `code`
values that status can carry for that operation.
"""

from __future__ import annotations

from typing import Any

from nailfolio.web.api import (
    POSTED_MESSAGE,
    REFRESH_COOKIE,
    REFRESH_MAX_AGE,
    REFRESH_PATH,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
)
from nailfolio.web.openapi_studio import studio_paths, studio_schemas
from nailfolio.web.plumbing import MAX_BODY_BYTES

VERSION = "1.0.0"
Schema = dict[str, Any]

_SECURED = [{"session": []}, {"bearer": []}]
PASSWORD = "Polish-2025!"  # the examples'
_SLUG_SCHEMA = {"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"}
_ID = "^[0-9a-f]{32}$"
_LABELS = ["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"]
_STATUSES = ["new", "answered", "closed"]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: Schema, required: list[str] | None = None, **extra: Any) -> Schema:
    """A closed object: exactly these properties, `required` ones always present."""
    required = list(properties) if required is None else required
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    return schema | ({"required": required} if required else {}) | extra


def _json(schema: Schema, description: str, headers: Schema | None = None) -> Schema:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    return response | ({"headers": headers} if headers else {})


def _error(description: str, *codes: str) -> Schema:
    """An error response whose `error.code` is one of `codes`; 429s say when to retry."""
    schema = _obj(
        {
            "error": _obj(
                {
                    "code": {"type": "string", "enum": list(codes)},
                    "message": {"type": "string", "description": "A sentence for a person."},
                    "field": {"type": "string", "description": "The input field at fault."},
                },
                required=["code", "message"],
            )
        }
    )
    retry = {"Retry-After": _header("Seconds to wait before trying again.", "integer")}
    limited = {"rate_limited", "too_many_attempts", *_UNAVAILABLE} & set(codes)
    return _json(schema, description, retry if limited else None)


_UNAVAILABLE = ("store_unavailable", "service_unavailable")


def _with_unavailable(paths: Schema) -> Schema:
    """Every operation may answer 503: a damaged local store, or an AWS service throttling
    or down (the health check documents its own)."""
    unavailable = _error(
        "A store or AWS service this route needs is unavailable: retry after Retry-After.",
        *_UNAVAILABLE,
    )
    for item in paths.values():
        for operation in item.values():
            operation["responses"].setdefault("503", unavailable)
    return paths


def _header(description: str, kind: str = "string") -> Schema:
    return {"description": description, "required": True, "schema": {"type": kind}}


_SESSION_COOKIE = (
    f"`{SESSION_COOKIE}=<token>; HttpOnly; SameSite=Strict; Path=/; "
    f"Max-Age={SESSION_MAX_AGE}`, plus `Secure` over https"
)
_SET_COOKIE = {"Set-Cookie": _header(f"{_SESSION_COOKIE}.")}
_SIGNED_IN_COOKIES = {
    "Set-Cookie": _header(
        f"{_SESSION_COOKIE}; and, sent as a second Set-Cookie, `{REFRESH_COOKIE}=<refresh"
        f" token>; HttpOnly; SameSite=Strict; Path={REFRESH_PATH}; Max-Age={REFRESH_MAX_AGE}`"
        " (only the auth routes see it: POST /api/auth/refresh trades it for a new session)."
    )
}
_CLEAR_COOKIE = {
    "Set-Cookie": _header(
        f"`{SESSION_COOKIE}=; ...; Max-Age=0` and `{REFRESH_COOKIE}=; ...; Max-Age=0`: signed out."
    )
}
_UNAUTHORIZED = _error("Not signed in, or the session expired or was revoked.", "unauthorized")
_FORBIDDEN = _error("Signed in, but only admins may do this.", "forbidden")
_TOO_LARGE = _error(
    f"The body is over {MAX_BODY_BYTES} bytes (checked before parsing).", "too_large"
)
_NOT_JSON = _error("The Content-Type is not application/json.", "unsupported_media_type")
_POSTED = "201: stored (or dropped as spam, indistinguishably). 200: a retry with the same key."


def _body(schema: Schema, required: bool = True, example: Schema | None = None) -> Schema:
    media: Schema = {"schema": schema} | ({"example": example} if example else {})
    return {"required": required, "content": {"application/json": media}}


def _param(name: str, where: str, schema: Schema, description: str, **extra: Any) -> Schema:
    required = where == "path"
    param = {"name": name, "in": where, "required": required, "schema": schema}
    return param | {"description": description} | extra


_PAGE = [
    _param(
        "cursor", "query", {"type": "string", "maxLength": 200}, "next_cursor of the last page."
    ),
    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200}, "Page size (50)."),
]
_FILTERS = [
    _param("design", "query", {"type": "string"}, 'A design key, "designer/design".'),
    _param("sentiment", "query", {"type": "string", "enum": _LABELS}, "Only this label."),
    _param("since", "query", {"type": "string"}, "ISO-8601 date or time, inclusive (UTC)."),
    _param("until", "query", {"type": "string"}, "ISO-8601 date or time, exclusive (UTC)."),
    _param("status", "query", {"type": "string", "enum": _STATUSES}, "Only this status."),
]


def _schemas() -> Schema:
    """Every named schema, in the order the document lists them."""
    return _user_schemas() | _comment_schemas() | _insights_schemas()


def _user_schemas() -> Schema:
    """Accounts: who is signed in, and the sign-up and sign-in bodies."""
    return {
        "User": _obj(
            {
                "sub": {"type": "string"},
                "email": {"type": "string"},
                "name": {"type": "string"},
                "role": {"type": "string", "enum": ["admins", "designers", "customers"]},
            }
        ),
        "UserEnvelope": _obj({"user": _ref("User")}),
        "SignUp": _obj(
            {
                "email": {"type": "string", "maxLength": 254},
                "password": {"type": "string", "minLength": 8, "maxLength": 256},
                "name": {"type": "string", "maxLength": 256},
            },
            required=["email", "password"],
        ),
        "SignIn": _obj({"email": {"type": "string"}, "password": {"type": "string"}}),
        "Confirm": _obj(
            {
                "email": {"type": "string"},
                "code": {"type": "string", "description": "The code from the email."},
                "password": {"type": "string", "description": "The sign-up's password."},
            }
        ),
        "Resend": _obj({"email": {"type": "string"}}),
        "ConfirmationSent": _obj(
            {"confirm": {"type": "boolean", "const": True}, "email": {"type": "string"}}
        ),
    }


def _comment_schemas() -> Schema:
    """Comments as posted, as their author sees them and as admins see them."""
    timestamp = {"type": "string", "format": "date-time"}
    score = {"type": "number", "minimum": 0, "maximum": 1}
    own = {"id": {"type": "string", "pattern": _ID}, "design": {"type": "string"}}
    own |= {"text": {"type": "string"}, "created_at": timestamp}
    return {
        "NewComment": _obj(
            {
                "text": {"type": "string", "minLength": 1, "maxLength": 2000},
                "website": {"type": "string", "description": "Leave empty (a spam trap)."},
                "idempotency_key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,128}$"},
            },
            required=["text"],
        ),
        "OwnComment": _obj(own),
        "CommentPosted": _obj(
            {"comment": _ref("OwnComment"), "message": {"type": "string", "const": POSTED_MESSAGE}}
        ),
        "OwnCommentPage": _obj(
            {
                "comments": {"type": "array", "items": _ref("OwnComment")},
                "next_cursor": {"type": ["string", "null"]},
            }
        ),
        "Sentiment": _obj(
            {"label": {"type": "string", "enum": _LABELS}}
            | {name: score for name in ("positive", "negative", "neutral", "mixed")}
        ),
        "AdminComment": _obj(
            own
            | {
                "author_name": {"type": "string"},
                "author_id": {"type": "string"},
                "sentiment": {"anyOf": [_ref("Sentiment"), {"type": "null"}]},
                "sentiment_status": {"type": "string", "enum": ["pending", "scored", "failed"]},
                "author_email": {
                    "type": "string",
                    "description": "The author's email when posting (admins only; may be empty).",
                },
                "status": {"type": "string", "enum": _STATUSES},
                "status_changed_at": timestamp,
            }
        ),
        "StatusChange": _obj({"status": {"type": "string", "enum": _STATUSES}}),
        "AdminCommentPage": _obj(
            {
                "comments": {"type": "array", "items": _ref("AdminComment")},
                "next_cursor": {"type": ["string", "null"]},
            }
        ),
    }


def _health(status: str) -> Schema:
    state = {"type": "string", "enum": ["ok", "unavailable"]}
    stores = {"type": "object", "additionalProperties": state}
    return _obj({"status": {"type": "string", "const": status}, "stores": stores})


def _paths() -> Schema:
    bad_body = ("invalid_json", "invalid_field")
    return {
        "/api/health": {
            "get": {
                "summary": "Liveness probe and each store's health",
                "security": [],
                "responses": {
                    "200": _json(_health("ok"), "Up, every store healthy."),
                    "503": _json(_health("degraded"), "Up, but a store is unavailable."),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "The OpenAPI 3.1 document.")},
            }
        },
        "/api/auth/signup": {
            "post": {
                "summary": "Create a customer account: signed in, or a code emailed to confirm",
                "security": [],
                "requestBody": _body(
                    _ref("SignUp"),
                    example={"email": "ana@example.com", "password": "Polish-2025!", "name": "Ana"},
                ),
                "responses": {
                    "201": _json(
                        _ref("UserEnvelope"), "Created and signed in.", _SIGNED_IN_COOKIES
                    ),
                    "202": _json(
                        _ref("ConfirmationSent"),
                        "Created; a code was emailed: POST it to /api/auth/confirm.",
                    ),
                    "400": _error(
                        "A field is missing, unknown or malformed; weak_password lists what is "
                        "missing.",
                        *bad_body,
                        "invalid_email",
                        "weak_password",
                    ),
                    "409": _error("That email already has an account.", "account_exists"),
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                    "429": _error(
                        "Too many sign-ups from this network (or sign-ins from this address).",
                        "rate_limited",
                        "too_many_attempts",
                    ),
                },
            }
        },
        "/api/auth/signin": {
            "post": {
                "summary": "Sign in",
                "security": [],
                "requestBody": _body(
                    _ref("SignIn"), example={"email": "ana@example.com", "password": "Polish-2025!"}
                ),
                "responses": {
                    "200": _json(_ref("UserEnvelope"), "Signed in.", _SIGNED_IN_COOKIES),
                    "400": _error("A field is missing, unknown or not text.", *bad_body),
                    "401": _error("Wrong email or password.", "invalid_credentials"),
                    "403": _error(
                        "The right password, but the email is not confirmed yet: confirm it "
                        "with the emailed code (POST /api/auth/confirm).",
                        "confirmation_needed",
                    ),
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                    "429": _error(
                        "Too many failed sign-ins: 'try again in N s' (Retry-After).",
                        "too_many_attempts",
                    ),
                },
            }
        },
        "/api/auth/confirm": {
            "post": {
                "summary": "Confirm a sign-up with the emailed code, and sign in",
                "security": [],
                "requestBody": _body(
                    _ref("Confirm"),
                    example={
                        "email": "ana@example.com",
                        "code": "123456",
                        "password": "Polish-2025!",
                    },
                ),
                "responses": {
                    "200": _json(
                        _ref("UserEnvelope"), "Confirmed and signed in.", _SIGNED_IN_COOKIES
                    ),
                    "400": _error(
                        "A field is missing, unknown or not text; or the code is wrong (also for "
                        "an email with no account) or expired (ask for a new one).",
                        *bad_body,
                        "invalid_code",
                        "expired_code",
                    ),
                    "401": _error("Confirmed, but the password is wrong.", "invalid_credentials"),
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                    "429": _error(
                        "Too many confirmation attempts from this network, or for this code.",
                        "rate_limited",
                        "too_many_attempts",
                    ),
                },
            }
        },
        "/api/auth/resend": {
            "post": {
                "summary": "Email a new confirmation code (says nothing of whether it was sent)",
                "security": [],
                "requestBody": _body(_ref("Resend"), example={"email": "ana@example.com"}),
                "responses": {
                    "204": {"description": "Sent if the email has an account waiting for a code."},
                    "400": _error(
                        "A field is missing, unknown or malformed.", *bad_body, "invalid_email"
                    ),
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                    "429": _error(
                        "Too many new codes asked for from this network (or for this email).",
                        "rate_limited",
                        "too_many_attempts",
                    ),
                },
            }
        },
        "/api/auth/refresh": {
            "post": {
                "summary": "A new session cookie from the refresh cookie (sent to /api/auth only)",
                "security": [{"refresh": []}],
                "requestBody": _body({"type": "object", "maxProperties": 0}, required=False),
                "responses": {
                    "200": _json(_ref("UserEnvelope"), "A new session.", _SET_COOKIE),
                    "400": _error("The body is not {} (or empty).", *bad_body),
                    "401": _error(
                        "No refresh cookie, or it expired or was signed out: sign in again "
                        "(both cookies are cleared).",
                        "unauthorized",
                    )
                    | {"headers": _CLEAR_COOKIE},
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                },
            }
        },
        "/api/auth/signout": {
            "post": {
                "summary": "Sign out: revoke the token and clear the cookie (idempotent)",
                "security": [],
                "requestBody": _body({"type": "object", "maxProperties": 0}, required=False),
                "responses": {
                    "204": {"description": "Signed out.", "headers": _CLEAR_COOKIE},
                    "400": _error("The body is not {} (or empty).", *bad_body),
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                },
            }
        },
        "/api/me": {
            "get": {
                "summary": "Who is signed in",
                "security": _SECURED,
                "responses": {
                    "200": _json(_ref("UserEnvelope"), "The signed-in user."),
                    "401": _UNAUTHORIZED,
                },
            },
            "delete": {
                "summary": "Erase my account and all my comments",
                "security": _SECURED,
                "responses": {
                    "204": {"description": "Erased and signed out.", "headers": _CLEAR_COOKIE},
                    "401": _UNAUTHORIZED,
                },
            },
        },
        "/api/me/comments": {
            "get": {
                "summary": "My comments, newest first (never their sentiment)",
                "security": _SECURED,
                "parameters": _PAGE,
                "responses": {
                    "200": _json(_ref("OwnCommentPage"), "A page of my comments."),
                    "400": _error("A bad cursor, limit or parameter.", "invalid_query"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/designs/{designer}/{design}/comments": {
            "post": {
                "summary": "Comment on a published design (only the studio's admins read it)",
                "security": _SECURED,
                "parameters": [
                    _param("designer", "path", _SLUG_SCHEMA, "Designer slug.", example="ana"),
                    _param("design", "path", _SLUG_SCHEMA, "Design slug.", example="red-chrome"),
                    _param(
                        "Idempotency-Key",
                        "header",
                        {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,128}$"},
                        "Same as idempotency_key in the body: a retry returns the first comment.",
                    ),
                ],
                "requestBody": _body(_ref("NewComment"), example={"text": "Love the chrome!"}),
                "responses": {
                    "200": _json(_ref("CommentPosted"), _POSTED),
                    "201": _json(_ref("CommentPosted"), _POSTED),
                    "400": _error(
                        "Not a JSON object, or the comment is invalid (see field).",
                        "invalid_json",
                        "invalid_comment",
                    ),
                    "401": _UNAUTHORIZED,
                    "404": _error("No published design with that key.", "design_not_found"),
                    "409": _error(
                        "The key was used for another comment.", "idempotency_key_reused"
                    ),
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                    "429": _error("Too many comments: wait Retry-After seconds.", "rate_limited"),
                },
            }
        },
        "/api/admin/comments": {
            "get": {
                "summary": "Every comment with its sentiment, newest first (admins)",
                "security": _SECURED,
                "parameters": _FILTERS + _PAGE,
                "responses": {
                    "200": _json(_ref("AdminCommentPage"), "A page of comments."),
                    "400": _error(
                        "A bad filter, cursor or limit.", "invalid_query", "invalid_status"
                    ),
                    "401": _UNAUTHORIZED,
                    "403": _FORBIDDEN,
                },
            }
        },
        "/api/admin/comments.csv": {
            "get": {
                "summary": "Every comment matching the filters, as CSV (admins)",
                "description": "Takes the listing's parameters; cursor and limit are ignored.",
                "security": _SECURED,
                "parameters": _FILTERS + _PAGE,
                "responses": {
                    "200": {
                        "description": "attachment; filename=nailfolio-comments.csv",
                        "headers": {"Content-Disposition": _header("The download's name.")},
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    },
                    "400": _error(
                        "A bad filter, cursor or limit.", "invalid_query", "invalid_status"
                    ),
                    "401": _UNAUTHORIZED,
                    "403": _FORBIDDEN,
                },
            }
        },
        "/api/admin/comments/{comment_id}": {
            "delete": {
                "summary": "Delete a comment (admins)",
                "security": _SECURED,
                "parameters": [_param("comment_id", "path", {"type": "string"}, "Its id.")],
                "responses": {
                    "204": {"description": "Deleted."},
                    "401": _UNAUTHORIZED,
                    "403": _FORBIDDEN,
                    "404": _error("No comment with that id.", "not_found"),
                },
            },
            "patch": {
                "summary": "Mark a comment new, answered or closed (admins)",
                "security": _SECURED,
                "parameters": [_param("comment_id", "path", {"type": "string"}, "Its id.")],
                "requestBody": _body(_ref("StatusChange"), example={"status": "answered"}),
                "responses": {
                    "200": _json(_ref("AdminComment"), "The comment, as now stored."),
                    "400": _error(
                        "Not a JSON object, or not a status.",
                        *bad_body,
                        "invalid_status",
                    ),
                    "401": _UNAUTHORIZED,
                    "403": _FORBIDDEN,
                    "404": _error("No comment with that id.", "not_found"),
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                },
            },
        },
    }


# -- Insights (issue 9): /api/admin/insights, its JSON download and its CSV -----------------

_INSIGHTS_FILTERS = [
    _param("since", "query", {"type": "string", "format": "date"}, "ISO date: its week in."),
    _param("until", "query", {"type": "string", "format": "date"}, "ISO date, exclusive."),
    _param("designer", "query", {"type": "string"}, "Only this designer's designs."),
]


def _insights_schemas() -> Schema:
    """The insights report: counts, shares, trends, phrases and the attention list."""
    share = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
    counts = {
        "comments": {"type": "integer"},
        "scored": {"type": "integer"},
        **{label: {"type": "integer"} for label in ("positive", "negative", "neutral", "mixed")},
        "share": _obj({label: share for label in ("positive", "negative", "neutral", "mixed")}),
        "average_score": {"type": ["number", "null"], "minimum": -1, "maximum": 1},
    }
    week = {"type": "string", "format": "date"}
    average = {"type": ["number", "null"], "minimum": -1, "maximum": 1}
    weekly = _obj({"week": week, "comments": {"type": "integer"}, "average_score": average})
    ranked = _obj(
        {"name": {"type": "string"}, **counts, "weekly": {"type": "array", "items": weekly}},
        [*counts, "name"],
    )
    phrase = _obj({"phrase": {"type": "string"}, "count": {"type": "integer"}})
    phrases = {"type": "array", "items": phrase}
    nullable = {"type": ["string", "null"]}
    attention = _obj(
        {
            "comment_id": {"type": "string"},
            "design": {"type": "string"},
            "author_name": {"type": "string"},
            "author_email": {"type": "string"},
            "text": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "reasons": {
                "type": "array",
                "items": {"type": "string", "enum": ["booking", "negative", "question"]},
            },
        }
    )
    ranking = {"type": "array", "items": _ref("InsightsRanked")}
    return {
        "InsightsCounts": _obj(counts),
        "InsightsRanked": ranked,
        "Insights": _obj(
            {
                "filters": _obj({"since": nullable, "until": nullable, "designer": nullable}),
                "totals": _ref("InsightsCounts"),
                "designs": ranking,
                "designers": ranking,
                "volume": {"type": "array", "items": _obj({"week": week, **counts})},
                "this_month": _obj(
                    {"since": week, "most_loved": ranking, "most_criticised": ranking}
                ),
                "key_phrases": _obj(
                    {
                        "overall": phrases,
                        "by_design": {"type": "object", "additionalProperties": phrases},
                    }
                ),
                "needs_attention": {"type": "array", "items": attention},
            }
        ),
    }


def _insights_paths() -> Schema:
    def operation(summary: str, ok: Schema) -> Schema:
        return {
            "get": {
                "summary": summary,
                "security": _SECURED,
                "parameters": _INSIGHTS_FILTERS,
                "responses": {
                    "200": ok,
                    "400": _error("A bad date or an unknown parameter.", "invalid_query"),
                    "401": _UNAUTHORIZED,
                    "403": _FORBIDDEN,
                },
            }
        }

    download = {"Content-Disposition": _header("The download's name.")}
    return {
        "/api/admin/insights": operation(
            "What customers say, per design and designer, week by week (admins)",
            _json(_ref("Insights"), "Counts kept at write time; whole weeks (Monday, UTC)."),
        ),
        "/api/admin/insights.json": operation(
            "The same insights as a download (admins)",
            _json(_ref("Insights"), "attachment; filename=nailfolio-insights.json", download),
        ),
        "/api/admin/insights.csv": operation(
            "One row per design and week, as CSV (admins)",
            {
                "description": "attachment; filename=nailfolio-insights.csv",
                "headers": download,
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
        ),
    }


def openapi() -> Schema:
    """The OpenAPI 3.1 document of the API, as plain data."""
    from nailfolio.web.openapi_moderation import moderation_paths, moderation_schemas

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Nailfolio API",
            "version": VERSION,
            "description": (
                "Customers' comments on nail-art designs, visible to the studio's admins only. "
                "Every answer is JSON (but the CSV export) with Cache-Control: no-store and "
                "X-Content-Type-Options: nosniff; errors are "
                '{"error": {"code", "message", "field"?}}. POST bodies must be '
                f"application/json of at most {MAX_BODY_BYTES} bytes."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": _with_unavailable(
            _paths() | _insights_paths() | moderation_paths() | studio_paths()
        ),
        "components": {
            "schemas": _schemas() | moderation_schemas() | studio_schemas(),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
                "refresh": {"type": "apiKey", "in": "cookie", "name": REFRESH_COOKIE},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }
