"""The web API's side of the library: services wired once per process, who is signed in,
library errors as HTTP statuses, and the JSON shapes the views answer with.

Services are built on first use from `config.load_settings()` (or what `configure` was
given) and then kept for the life of the process, as a Lambda container keeps them between
invocations; nothing is built, and nothing heavy imported, when this module is imported.
Tests and `build.py serve` call `configure(settings, limits)` to point the API at a project;
`reset()` forgets it all.

Authentication: the session cookie (SESSION_COOKIE, HttpOnly) or an `Authorization: Bearer`
header carries a token (the header wins when both are sent); every protected view verifies
it here, whatever API Gateway did. The session cookie lives as long as its ID token (an
hour); the refresh cookie (REFRESH_COOKIE, HttpOnly, sent only to /api/auth) holds the
refresh token for 30 days, which POST /api/auth/refresh trades for a new session cookie, so a
customer stays signed in for days while each token stays short-lived. Roles: any signed-in
role may comment and manage its own account; only admins read, export or delete comments. A
visitor gets 401 everywhere protected, a signed-in non-admin 403 on admin routes, before
anything is looked up.
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from nailfolio.web import plumbing
from nailfolio.web.plumbing import HttpError

if TYPE_CHECKING:
    from nailfolio.comments.query import ListQuery
    from nailfolio.comments.service import Comment, CommentLimits, CommentService, Page
    from nailfolio.config import Settings
    from nailfolio.identity.accounts import AccountService, PendingConfirmation, Session
    from nailfolio.identity.provider import Principal
    from nailfolio.ratelimit import RateRule

SESSION_COOKIE = "nf_session"
SESSION_MAX_AGE = 3600  # seconds; the token's own lifetime (identity.TOKEN_TTL_S)
REFRESH_COOKIE = "nf_refresh"
REFRESH_PATH = "/api/auth"  # only the auth routes ever see the refresh token
REFRESH_MAX_AGE = 30 * 86_400  # the refresh token's own lifetime (identity.REFRESH_TTL_S)
ORIGIN_HEADER = "x-nailfolio-origin"  # CloudFront adds it to API requests (the origin secret)
POSTED_MESSAGE = "Thanks! Your comment went privately to the studio."
ADMIN_QUERY = ("design", "sentiment", "since", "until", "status", "cursor", "limit")
OWN_QUERY = ("cursor", "limit")
SIGN_UP_FIELDS = ("email", "password", "name")
SIGN_IN_FIELDS = ("email", "password")
CONFIRM_FIELDS = ("email", "code", "password")
RESEND_FIELDS = ("email",)
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?")
_STORE_UNAVAILABLE = "This part of the studio is unavailable for now; please try again later"
STORE_RETRY_AFTER_S = 60
_UNAUTHORIZED = "You are not signed in, or your session has expired; please sign in"
_CONFIRM_FIRST = "Confirm your email first: enter the code we sent you"


@dataclass(frozen=True)
class ApiLimits:
    """Rate limits of the API; tests and benchmarks pass their own to `configure`."""

    comments: CommentLimits
    sign_ups: tuple[RateRule, ...]

    @classmethod
    def default(cls) -> ApiLimits:
        from nailfolio.comments.service import CommentLimits
        from nailfolio.identity.accounts import SIGN_UP_LIMITS

        return cls(CommentLimits(), SIGN_UP_LIMITS)

    def scaled(self, factor: float) -> ApiLimits:
        """Every limit multiplied by `factor` (settings.rate_limit_scale), windows kept."""

        def scale(rules: Sequence[RateRule]) -> tuple[RateRule, ...]:
            return tuple(replace(rule, limit=max(1, round(rule.limit * factor))) for rule in rules)

        comments = replace(
            self.comments,
            per_account=scale(self.comments.per_account),
            per_network=scale(self.comments.per_network),
        )
        return ApiLimits(comments, scale(self.sign_ups))


@dataclass(frozen=True)
class Services:
    """Everything the views call, built once per process."""

    settings: Settings
    accounts: AccountService
    comments: CommentService
    stores: dict[str, Any] = field(default_factory=dict, repr=False)  # by health name


logger = logging.getLogger(__name__)

_lock = threading.Lock()
_configured: tuple[Settings, ApiLimits | None] | None = None
_services: Services | None = None


def configure(settings: Settings, limits: ApiLimits | None = None) -> None:
    """Serve this project with these limits (default: ApiLimits.default() scaled by
    settings.rate_limit_scale); the services are rebuilt on next use."""
    global _configured
    reset()
    with _lock:
        _configured = (settings, limits)


def reset() -> None:
    """Forget the configuration and the services (closing this thread's connections)."""
    global _configured, _services
    with _lock:
        old, _services, _configured = _services, None, None
    for store in old.stores.values() if old else ():
        store.close()


def services() -> Services:
    """The process's services, built on first use."""
    global _services
    built = _services
    if built is None:
        with _lock:
            if _services is None:
                _services = _build(*(_configured or (_load_settings(), None)))
            built = _services
    return built


def _load_settings() -> Settings:
    from nailfolio.config import load_settings

    return load_settings()


def _build(settings: Settings, limits: ApiLimits | None) -> Services:
    from nailfolio import config
    from nailfolio.comments.service import CommentService
    from nailfolio.identity.accounts import AccountService

    limits = limits or ApiLimits.default().scaled(settings.rate_limit_scale)
    stores = {name: _open_store(opener, settings) for name, opener in _store_openers().items()}
    analyzer = config.build_sentiment_analyzer(settings)
    comments = CommentService(
        stores["comments"],
        analyzer,
        stores["ratelimit"],
        _published_check(stores["catalog"]),
        limits=limits.comments,
        phrases=config.build_key_phrases(settings),
    )
    accounts = AccountService(stores["identity"], comments, stores["ratelimit"], limits.sign_ups)
    return Services(settings, accounts, comments, stores)


def _store_openers() -> dict[str, Callable[[Settings], Any]]:
    """The stores the API uses, by the name /api/health reports them under."""
    from nailfolio import config

    return {
        "identity": config.open_identity,
        "comments": config.open_comment_store,
        "ratelimit": config.open_rate_limiter,
        "catalog": config.open_catalog,
    }


def _open_store(opener: Callable[[Settings], Any], settings: Settings) -> Any:
    """The store, or a stand-in that raises its StoreDamaged on use: a damaged store takes
    down only the routes that need it."""
    from nailfolio.errors import StoreDamaged

    try:
        return opener(settings)
    except StoreDamaged as exc:
        logger.error("%s", exc)
        return UnavailableStore(exc)


class UnavailableStore:
    """Stands in for a store that could not be opened: every use raises why."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        raise self.error


def store_health() -> dict[str, str | None]:
    """Each store's problem (None: healthy), checked now; the signing key counts as one."""
    from nailfolio.errors import StoreDamaged

    stores = services().stores
    found: dict[str, str | None] = {}
    for name, store in stores.items():
        if isinstance(store, UnavailableStore):
            found[name] = str(store.error)
            continue
        check = getattr(store, "check", None)
        found[name] = check(full=False) if check else None
    identity = stores["identity"]
    if not isinstance(identity, UnavailableStore):
        try:
            identity.jwks()
            found["signing_key"] = None
        except StoreDamaged as exc:
            found["signing_key"] = str(exc)
    return found


def health_json() -> tuple[dict[str, Any], bool]:
    """/api/health's answer, and whether every store is healthy. Problems are logged, and
    only named to the client ("unavailable"): the details name files on the server."""
    problems = store_health()
    for name, problem in problems.items():
        if problem is not None:
            logger.error("store %s is unhealthy: %s", name, problem)
    healthy = all(problem is None for problem in problems.values())
    stores = {
        name: "ok" if problem is None else "unavailable" for name, problem in problems.items()
    }
    return {"status": "ok" if healthy else "degraded", "stores": stores}, healthy


def _published_check(catalog: Any) -> Callable[[str], bool]:
    from nailfolio.gallery.models import Status

    def is_published(key: str) -> bool:
        """A design is published when its latest moderation decision approves it."""
        designer, _, slug = key.partition("/")
        if not (_SLUG.fullmatch(designer) and _SLUG.fullmatch(slug)):
            return False
        decision = catalog.latest_decision(key)
        return decision is not None and decision.status == Status.APPROVED

    return is_published


# -- views' helpers ------------------------------------------------------------------------


def endpoint(view: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a view: HttpError and the library's known errors become JSON error answers."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except HttpError as exc:
            return exc.response()
        except Exception as exc:
            mapped = http_error(exc)
            if mapped is None:
                raise  # a bug or an outage: Chalice logs it and answers 500 internal_error
            if mapped.status >= 500:  # the client is told less than the owner needs to know
                logger.error("%s %s: %s", type(exc).__name__, view.__name__, exc)
            return mapped.response()

    return wrapper


def http_error(exc: Exception) -> HttpError | None:
    """The HTTP answer for a library error, or None for one the API does not expect."""
    for error_class, status, code, message in _error_table():
        if isinstance(exc, error_class):
            retry = getattr(exc, "retry_after", STORE_RETRY_AFTER_S if status == 503 else None)
            headers = {"Retry-After": str(retry)} if retry is not None else {}
            return HttpError(
                status,
                code,
                message or str(exc),
                field=_error_field(exc),
                headers=headers,
            )
    return None


@functools.cache
def _error_table() -> tuple[tuple[type[Exception], int, str, str | None], ...]:
    from nailfolio.comments.query import InvalidQuery
    from nailfolio.comments.service import CommentNotFound, IdempotencyKeyReused
    from nailfolio.comments.status import InvalidStatus
    from nailfolio.comments.text import InvalidComment
    from nailfolio.errors import DesignNotFound, ServiceUnavailable, StoreDamaged
    from nailfolio.identity.provider import (
        AccountExists,
        ConfirmationNeeded,
        ExpiredCode,
        InvalidCode,
        InvalidCredentials,
        InvalidEmail,
        InvalidName,
        TooManyAttempts,
        Unauthorized,
        WeakPassword,
    )
    from nailfolio.ratelimit import RateLimited

    return (
        (InvalidEmail, 400, "invalid_email", None),
        (WeakPassword, 400, "weak_password", None),
        (InvalidName, 400, "invalid_field", None),
        # The identity's message names the email: someone else's account, so say less.
        (AccountExists, 409, "account_exists", "An account with this email exists; sign in"),
        (InvalidCredentials, 401, "invalid_credentials", "Incorrect email or password"),
        (ConfirmationNeeded, 403, "confirmation_needed", _CONFIRM_FIRST),
        (ExpiredCode, 400, "expired_code", None),  # before InvalidCode: it is one
        (InvalidCode, 400, "invalid_code", None),
        (TooManyAttempts, 429, "too_many_attempts", None),
        (Unauthorized, 401, "unauthorized", _UNAUTHORIZED),
        (InvalidComment, 400, "invalid_comment", None),
        (IdempotencyKeyReused, 409, "idempotency_key_reused", None),
        (InvalidQuery, 400, "invalid_query", None),
        (InvalidStatus, 400, "invalid_status", None),
        (CommentNotFound, 404, "not_found", "There is no comment with that id"),
        (RateLimited, 429, "rate_limited", None),
        (DesignNotFound, 404, "design_not_found", None),
        # The message names a file on the server: log it, tell the client less.
        (StoreDamaged, 503, "store_unavailable", _STORE_UNAVAILABLE),
        (ServiceUnavailable, 503, "service_unavailable", _STORE_UNAVAILABLE),
    )


def _error_field(exc: Exception) -> str | None:
    names = {
        "InvalidEmail": "email",
        "WeakPassword": "password",
        "InvalidName": "name",
        "InvalidCode": "code",
        "ExpiredCode": "code",
    }
    return getattr(exc, "field", None) or names.get(type(exc).__name__)


def accounts() -> AccountService:
    return services().accounts


def comments() -> CommentService:
    return services().comments


def client_ip(request: Request) -> str:
    """The client's address: the TCP peer, or what trusted proxies say in X-Forwarded-For;
    behind the stack's CloudFront (API Gateway's peer is then an edge, shared by everyone
    near it), the viewer CloudFront names, if the request carries the origin secret that
    only CloudFront adds (anyone may call API Gateway directly and write any header)."""
    from nailfolio.ratelimit import client_ip as resolve
    from nailfolio.ratelimit import viewer_address

    settings = services().settings
    secret = settings.aws.values.get("origin_secret", "")
    sent = plumbing.header(request, ORIGIN_HEADER) or ""
    if secret and hmac.compare_digest(sent.encode(), secret.encode()):
        viewer = viewer_address(plumbing.header(request, "cloudfront-viewer-address") or "")
        if viewer:
            return viewer
    forwarded = plumbing.header(request, "x-forwarded-for")
    return resolve(plumbing.source_ip(request), forwarded, settings.trusted_proxies)


def signed_in(request: Request) -> Principal:
    """Who sent the request; raises HttpError 401 for a visitor or a dead token."""
    token = session_token(request)
    if not token:
        raise HttpError(401, "unauthorized", _UNAUTHORIZED)
    return accounts().authenticate(token)  # Unauthorized → 401 through `endpoint`


def admin(request: Request) -> Principal:
    """An admin; raises HttpError 401 for a visitor, 403 for anyone else."""
    from nailfolio.identity.accounts import role_of

    principal = signed_in(request)
    if role_of(principal) != "admins":
        raise HttpError(403, "forbidden", "Only the studio's admins can do this")
    return principal


def session_token(request: Request) -> str | None:
    """The token the request speaks with: the Bearer header's, else the cookie's."""
    return plumbing.bearer_token(request) or plumbing.cookie(request, SESSION_COOKIE) or None


def presented_tokens(request: Request) -> tuple[str, ...]:
    """Every token the request carries (sign-out ends them all)."""
    tokens = (plumbing.bearer_token(request), plumbing.cookie(request, SESSION_COOKIE))
    return tuple(dict.fromkeys(token for token in tokens if token))


def credentials(
    request: Request, fields: Sequence[str], required: Sequence[str] = ("email", "password")
) -> dict[str, str]:
    """The JSON body of a sign-up, sign-in, confirm or resend: only `fields`, all strings,
    `required` present; raises HttpError 400 invalid_field naming the field."""
    body = plumbing.read_json(request)
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise HttpError(400, "invalid_field", f"Unknown field {unknown[0]!r}", field=unknown[0])
    for name in required:
        if name not in body:
            raise HttpError(400, "invalid_field", f"Enter your {name}", field=name)
    for name, value in body.items():
        if not isinstance(value, str):
            raise HttpError(400, "invalid_field", f"{name} must be text", field=name)
        if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value):
            raise HttpError(
                400, "invalid_field", f"{name} contains a character that cannot be used", field=name
            )
    return body


def session_response(request: Request, session: Session, status: int) -> Response:
    """The signed-in user, with the session cookie set (and the refresh cookie, if new)."""
    secure = plumbing.is_https(request, services().settings.site_url)
    cookies = [plumbing.set_cookie(SESSION_COOKIE, session.token, SESSION_MAX_AGE, secure)]
    if session.refresh_token:
        cookies.append(_refresh_cookie(session.refresh_token, REFRESH_MAX_AGE, secure))
    return plumbing.json_response(
        {"user": user_json(session.principal)}, status, {"Set-Cookie": _one_or_list(cookies)}
    )


def sign_up_response(request: Request, result: Session | PendingConfirmation) -> Response:
    """201 with the session, or 202 {"confirm": true, "email"} when a code was emailed."""
    from nailfolio.identity.accounts import PendingConfirmation

    if isinstance(result, PendingConfirmation):
        return plumbing.json_response({"confirm": True, "email": result.email}, 202)
    return session_response(request, result, 201)


def refreshed_response(request: Request) -> Response:
    """200 with a new session cookie for the refresh cookie's token, or 401 with both
    cookies cleared when there is none or it is dead."""
    from nailfolio.identity.provider import Unauthorized

    token = plumbing.cookie(request, REFRESH_COOKIE)
    try:
        if not token:
            raise Unauthorized("no refresh cookie")
        session = accounts().refresh(token)
    except Unauthorized:
        error = HttpError(401, "unauthorized", _UNAUTHORIZED, headers=_cleared_cookies(request))
        return error.response()
    return session_response(request, session, 200)


def signed_out_response(request: Request) -> Response:
    """204, with the session and refresh cookies cleared."""
    return plumbing.no_content(_cleared_cookies(request))


def _cleared_cookies(request: Request) -> dict[str, Any]:
    secure = plumbing.is_https(request, services().settings.site_url)
    cookies = [plumbing.set_cookie(SESSION_COOKIE, "", 0, secure), _refresh_cookie("", 0, secure)]
    return {"Set-Cookie": cookies}


def _refresh_cookie(value: str, max_age: int, secure: bool) -> str:
    return plumbing.set_cookie(REFRESH_COOKIE, value, max_age, secure, REFRESH_PATH)


def _one_or_list(values: list[str]) -> str | list[str]:
    """A header's value: one string, or a list Chalice sends as repeated headers."""
    return values[0] if len(values) == 1 else values


def admin_query(request: Request) -> ListQuery:
    """Filters and page of an admin listing or export; raises InvalidQuery (400)."""
    from nailfolio.comments.query import parse_list_query

    params = plumbing.query_params(request, ADMIN_QUERY)
    if "sentiment" in params:
        params["label"] = params.pop("sentiment")
    return _checked(parse_list_query(params))


def own_query(request: Request) -> ListQuery:
    """Page of a user's own listing; raises InvalidQuery (400)."""
    from nailfolio.comments.query import parse_list_query

    return _checked(parse_list_query(plumbing.query_params(request, OWN_QUERY)))


def _checked(query: ListQuery) -> ListQuery:
    """The query, its cursor checked now (the CSV export ignores it, but a bad one is still
    a bad request)."""
    from nailfolio.comments.query import decode_cursor

    if query.cursor:
        decode_cursor(query.cursor)
    return query


# -- JSON shapes ---------------------------------------------------------------------------


def user_json(principal: Principal) -> dict[str, str]:
    from nailfolio.identity.accounts import role_of

    return {
        "sub": principal.sub,
        "email": principal.email,
        "name": principal.name,
        "role": role_of(principal),
    }


def own_comment_json(comment: Comment) -> dict[str, str]:
    """A comment as its author sees it: never its sentiment."""
    return {
        "id": comment.id,
        "design": comment.design,
        "text": comment.text,
        "created_at": timestamp(comment.created_at),
    }


def admin_comment_json(comment: Comment) -> dict[str, Any]:
    """A comment as admins see it: sentiment, status and the author's email (admins only)."""
    sentiment = comment.sentiment
    return {
        "id": comment.id,
        "design": comment.design,
        "author_name": comment.author_name,
        "author_id": comment.author_sub,
        "author_email": comment.author_email,
        "status": str(comment.status),
        "status_changed_at": timestamp(comment.status_changed_at or comment.created_at),
        "text": comment.text,
        "created_at": timestamp(comment.created_at),
        "sentiment": None
        if sentiment is None
        else {
            "label": str(sentiment.label),
            "positive": sentiment.positive,
            "negative": sentiment.negative,
            "neutral": sentiment.neutral,
            "mixed": sentiment.mixed,
        },
        "sentiment_status": str(comment.sentiment_status),
    }


def page_json(page: Page, shape: Callable[[Comment], dict[str, Any]]) -> dict[str, Any]:
    return {"comments": [shape(c) for c in page.comments], "next_cursor": page.next_cursor}


def posted_json(comment: Comment) -> dict[str, Any]:
    return {"comment": own_comment_json(comment), "message": POSTED_MESSAGE}


def timestamp(when: datetime) -> str:
    """ISO-8601 UTC with microseconds and a Z: what `since` and `until` accept back."""
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
