"""HTTP plumbing for the Chalice views: JSON bodies read safely, answers in one shape, cookies,
the client's address, and the headers every API answer carries.

Nothing here knows about Nailfolio's services (that is nailfolio/web/api.py); everything here
knows HTTP. Errors travel as `HttpError`, which `nailfolio.web.api.endpoint` turns into
`{"error": {"code": ..., "message": ...}}` with its status.

Request bodies, in this order: the media type must be application/json (a charset parameter
may say utf-8, nothing else), which also shuts out cross-site HTML form posts; the raw bytes
are capped at MAX_BODY_BYTES before anything parses them; then they must be strict UTF-8
JSON holding one object, with no duplicate keys and no NaN or Infinity.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from chalice.app import Request, Response

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
JSON_TYPE = "application/json"
CSV_TYPE = "text/csv; charset=utf-8"
SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# Chalice answers some requests itself (405, a view's unhandled exception as 500): same shape.
_CHALICE_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    415: "unsupported_media_type",
    500: "internal_error",
}
_CHALICE_MESSAGES = {500: "Something went wrong on our side; please try again in a moment."}
_BEARER = re.compile(r"bearer[ \t]+(\S+)[ \t]*", re.IGNORECASE)


class HttpError(Exception):
    """An answer other than success: status, a snake_case code and a sentence for a person."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.field, self.headers)


def json_response(
    data: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer (ASCII-escaped, so no byte of user text reaches the wire unescaped)."""
    body = json.dumps(data, separators=(",", ":"))
    return Response(body, {"Content-Type": JSON_TYPE, **(headers or {})}, status)


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    error = {"code": code, "message": message} | ({"field": field} if field else {})
    return json_response({"error": error}, status, headers)


def no_content(headers: Mapping[str, str] | None = None) -> Response:
    """204: no body, so no Content-Type either."""
    return Response("", dict(headers or {}), 204)


def csv_response(text: str, filename: str) -> Response:
    disposition = f'attachment; filename="{filename}"'
    return Response(text, {"Content-Type": CSV_TYPE, "Content-Disposition": disposition}, 200)


def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; raises HttpError 415, 413 or 400 (see the module docstring)."""
    _check_media_type(request.headers.get("content-type", ""))
    raw = request.raw_body or b""
    raw = raw.encode() if isinstance(raw, str) else raw
    if len(raw) > MAX_BODY_BYTES:
        raise HttpError(
            413, "too_large", f"The request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}"
        )
    try:
        value = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise HttpError(
            400, "invalid_json", "The request body is not valid UTF-8 JSON; send a JSON object"
        ) from None
    if not isinstance(value, dict):
        raise HttpError(
            400, "invalid_json", 'The request body must be a JSON object, like {"a": 1}'
        )
    return value


def read_optional_json(request: Request) -> dict[str, Any]:
    """Like read_json, but an empty body counts as {} (for posts that need no fields)."""
    if not request.raw_body:
        _check_media_type(request.headers.get("content-type", ""))
        return {}
    return read_json(request)


def _check_media_type(content_type: str) -> None:
    media_type, *params = (part.strip().lower() for part in content_type.split(";"))
    charsets = [p.partition("=")[2].strip('"') for p in params if p.startswith("charset=")]
    if media_type != JSON_TYPE or any(charset != "utf-8" for charset in charsets):
        shown = content_type.strip()[:100] or "none"
        raise HttpError(
            415,
            "unsupported_media_type",
            f"Send the body as application/json (Content-Type was {shown})",
        )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def query_params(request: Request, allowed: Iterable[str]) -> dict[str, str]:
    """The query string as single values; raises HttpError 400 invalid_query for a parameter
    that is unknown or repeated."""
    allowed = tuple(allowed)
    params = request.query_params or {}
    found: dict[str, str] = {}
    for name in params:
        values = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
        if name not in allowed:
            expected = ", ".join(allowed) or "none"
            raise HttpError(400, "invalid_query", f"Unknown parameter {name!r}; use {expected}")
        if len(values) != 1:
            raise HttpError(400, "invalid_query", f"Give the parameter {name!r} once")
        found[name] = values[0]
    return found


def header(request: Request, name: str) -> str | None:
    """A header's value; repeated headers (API Gateway's multiValueHeaders) joined by ", "."""
    event = request.to_original_event()
    multi = {k.lower(): v for k, v in (event.get("multiValueHeaders") or {}).items()}
    values = multi.get(name.lower())
    if values:
        return ", ".join(values)
    return request.headers.get(name)


def source_ip(request: Request) -> str:
    """The TCP peer as API Gateway (or the local server) saw it."""
    return str(request.context.get("identity", {}).get("sourceIp") or "")


def is_https(request: Request, site_url: str) -> bool:
    """Whether the browser reached us over https (CloudFront and API Gateway say so in
    X-Forwarded-Proto), or the site is only ever served over https."""
    proto = (request.headers.get("x-forwarded-proto") or "").split(",")[0].strip().lower()
    return proto == "https" or site_url.lower().startswith("https://")


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    match = _BEARER.fullmatch((request.headers.get("authorization") or "").strip())
    return match.group(1) if match else None


def cookie(request: Request, name: str) -> str | None:
    """One cookie's value from the Cookie header(s), or None."""
    for part in (header(request, "cookie") or "").replace(",", ";").split(";"):
        key, eq, value = part.strip().partition("=")
        if eq and key == name:
            return value.strip().strip('"')
    return None


def set_cookie(name: str, value: str, max_age: int, secure: bool, path: str = "/") -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Strict, for `path` (the whole site by default),
    Secure over https."""
    secure_flag = "; Secure" if secure else ""
    return f"{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age}{secure_flag}"


def finish_response(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice middleware: every answer gets SECURITY_HEADERS, a JSON Content-Type when it has
    a body and says none, and Chalice's own error bodies in the API's error shape."""
    response = get_response(request)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        status = response.status_code
        code = _CHALICE_CODES.get(status, "error")
        message = _CHALICE_MESSAGES.get(status, str(body.get("Message") or "Request failed"))
        response = error_response(status, code, message, headers=response.headers)
    if body not in ("", b"", None) and not _has(response.headers, "content-type"):
        response.headers["Content-Type"] = JSON_TYPE
    response.headers.update(SECURITY_HEADERS)
    return response


def _has(headers: Mapping[str, Any], name: str) -> bool:
    return any(key.lower() == name for key in headers)
