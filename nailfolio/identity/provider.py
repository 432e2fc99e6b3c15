"""Who is signed in: the IdentityProvider port, the rules both adapters share, the one verifier.

Roles are Cognito groups with the same names on both backends: `admins`, `designers`,
`customers` (ROLES). A visitor is anyone signed out; a new sign-up is a customer. Each user has
exactly one role, carried as a one-element `groups` tuple so the shape matches Cognito.

Shared rules, so that what works locally also works on Cognito:
- Emails are the sign-in name. `normalise_email` trims them and lowercases all of it, the local
  part too: RFC 5321 lets a mailbox be case-sensitive, but no mainstream provider is, and a
  Cognito pool with case-insensitive usernames (the default) folds case the same way. The
  price: two mailboxes differing only in case cannot both have an account.
- Passwords follow Cognito's default policy (8 to 256 characters with an uppercase and a
  lowercase ASCII letter, a digit and one of Cognito's symbols, no space at either end).
- Tokens are ID tokens with Cognito's claims, signed RS256. `TokenVerifier` checks them against
  a JWKS (the local adapter's, or the pool's `/.well-known/jwks.json`): it is the only token
  check the API makes, on both backends. Any failure is `Unauthorized` with one generic
  message; the reason, for logs, is in `Unauthorized.reason`.

Account enumeration: sign-in says the same thing, after the same hashing work, for an unknown
email and a wrong password. Sign-up cannot help telling that an email is taken (it must say
something, and Cognito's SignUp raises UsernameExistsException too); the cost of that probe is
bounded by the API's rate limits, not here. Sign-in locks apply to unknown emails as well, so a
lock says nothing about whether the account exists; the one exception is an account's own
familiar network, which its locks spare (see local_identity).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from nailfolio.errors import ConfigError, NailfolioError

ROLES = ("admins", "designers", "customers")
DEFAULT_ROLE = "customers"
LOCAL_ISSUER = "nailfolio-local"
LOCAL_CLIENT_ID = "nailfolio-web"
TOKEN_TTL_S = 3600  # Cognito's default ID-token lifetime
REFRESH_TTL_S = 30 * 86_400  # Cognito's default refresh-token lifetime: a session lasts 30 days
CODE_TTL_S = 86_400  # Cognito's sign-up codes last 24 hours
LEEWAY_S = 30  # clock skew tolerated on exp, iat and nbf
TOKEN_USES = ("id", "access")
MAX_TOKEN_CHARS = 16_384  # far above any real ID token; refuses junk before parsing it

EMAIL_MAX = 254
NAME_MAX = 256
PASSWORD_MIN = 8
PASSWORD_MAX = 256
CODE_MAX = 64  # Cognito's codes are 6 digits; anything far longer is not one
# Cognito's list of special characters; a space counts too, unless leading or trailing.
PASSWORD_SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LAST_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z


class IdentityError(NailfolioError):
    """Base class of sign-up, sign-in and user-management errors."""


class InvalidEmail(IdentityError):
    """The email address is malformed."""


class InvalidName(IdentityError):
    """The display name is too long or holds control characters."""


class WeakPassword(IdentityError):
    """The password does not meet the policy; the message lists everything it lacks."""


class AccountExists(IdentityError):
    """Sign-up with an email that already has an account (Cognito: UsernameExistsException)."""


class InvalidCredentials(IdentityError):
    """Wrong email or password: one message for both, so it does not reveal which."""

    def __init__(self) -> None:
        super().__init__("incorrect email or password")


class TooManyAttempts(IdentityError):
    """Sign-in (or a code, on Cognito) is refused for a while after too many failures."""

    def __init__(self, retry_after: int, what: str = "sign-in attempts") -> None:
        super().__init__(f"too many {what}; try again in {retry_after} s")
        self.retry_after = retry_after


class Unauthorized(IdentityError):
    """A token is missing, malformed, forged, expired, revoked or for a deleted user."""

    def __init__(self, reason: str = "") -> None:
        super().__init__("not signed in, or the session has expired; please sign in")
        self.reason = reason  # for logs only: never shown to the caller


class UnknownRole(IdentityError):
    """A role that is not one of ROLES."""


class UserNotFound(IdentityError):
    """No user with that email or sub."""


class ConfirmationNeeded(IdentityError):
    """The account's email is not confirmed yet (Cognito: UserNotConfirmedException)."""

    def __init__(self, email: str) -> None:
        super().__init__(f"confirm {email} first with the code we emailed (or ask for a new one)")
        self.email = email


class InvalidCode(IdentityError):
    """A confirmation code that is wrong (Cognito: CodeMismatchException), or for no account."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or "that code is not right; check the email, or get a new code")


class ExpiredCode(InvalidCode):
    """A confirmation code that has expired or was tried too often: send a new one."""

    def __init__(self) -> None:
        super().__init__("that code has expired; ask for a new one")


class AlreadyConfirmed(IdentityError):
    """Confirming, or resending a code to, an account that is already confirmed."""


@dataclass(frozen=True)
class User:
    """An account as the user store holds it (never the password hash)."""

    sub: str  # immutable id (a UUID, as Cognito's); emails can change, subs do not
    email: str
    name: str
    groups: tuple[str, ...]
    created_at: datetime
    confirmed: bool = True  # False: signed up, the emailed code not entered yet


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    sub: str
    email: str
    name: str
    groups: tuple[str, ...]
    token_id: str  # the token's jti: what sign-out revokes
    expires_at: datetime
    issued_at: datetime | None = None

    def has_role(self, role: str) -> bool:
        return role in self.groups


@dataclass(frozen=True)
class Tokens:
    """What a successful sign-in or refresh returns."""

    id_token: str
    expires_at: datetime
    refresh_token: str = ""  # sign-in only: a refresh keeps the one it was given


class IdentityProvider(Protocol):
    """Sign up, confirm, in and out; refresh and verify tokens; manage users and their role.

    `sign_up` returns the new user, `confirmed` or not: an unconfirmed one was sent a code,
    which `confirm_sign_up` takes (raising InvalidCode, ExpiredCode, AlreadyConfirmed or
    TooManyAttempts) and `resend_code` sends again (raising UserNotFound or AlreadyConfirmed:
    the caller decides what to reveal). Signing in before confirming raises
    ConfirmationNeeded, after the password was checked. `create_user` is the admin's way in:
    a confirmed account with its role, no code sent. `sign_out` revokes the token and ends
    every refresh token of its user (Cognito's GlobalSignOut). `refresh` turns a refresh token
    into a new ID token with the user's current role, or raises Unauthorized.
    """

    def sign_up(self, email: str, password: str, name: str = "") -> User: ...

    def confirm_sign_up(self, email: str, code: str) -> None: ...

    def resend_code(self, email: str) -> None: ...

    def create_user(
        self, email: str, password: str, name: str = "", role: str = DEFAULT_ROLE
    ) -> User: ...

    def sign_in(self, email: str, password: str, client_addr: str) -> Tokens: ...

    def refresh(self, refresh_token: str) -> Tokens: ...

    def sign_out(self, token: str) -> None: ...

    def verify(self, token: str) -> Principal: ...

    def get_user(self, sub: str) -> User | None: ...

    def find_user(self, email: str) -> User | None: ...

    def list_users(self) -> list[User]: ...

    def set_role(self, email: str, role: str) -> User: ...

    def delete_user(self, sub: str) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def fold_email(email: str) -> str:
    """The lookup key of an email: trimmed and lowercased, not validated."""
    return email.strip().lower()


def normalise_email(email: str) -> str:
    """The email as stored: folded (see the module docstring) and checked; raises InvalidEmail."""
    folded = fold_email(email)
    if not folded:
        raise InvalidEmail("enter an email address")
    if len(folded) > EMAIL_MAX:
        raise InvalidEmail(f"an email address has at most {EMAIL_MAX} characters")
    local, at, domain = folded.partition("@")
    if (
        not at
        or "@" in domain
        or not local
        or "." not in domain
        or domain.startswith(".")
        or domain.endswith(".")
        or ".." in domain
        or any(c.isspace() for c in folded)
        or _CONTROL.search(folded)
    ):
        raise InvalidEmail(f"{folded!r} is not an email address (expected name@example.com)")
    return folded


def check_password(password: str) -> None:
    """Raise WeakPassword listing everything the password lacks under Cognito's default policy."""
    if len(password) > PASSWORD_MAX:
        raise WeakPassword(f"a password has at most {PASSWORD_MAX} characters")
    missing = []
    if len(password) < PASSWORD_MIN:
        missing.append(f"at least {PASSWORD_MIN} characters")
    if not any("A" <= c <= "Z" for c in password):
        missing.append("an uppercase letter")
    if not any("a" <= c <= "z" for c in password):
        missing.append("a lowercase letter")
    if not any("0" <= c <= "9" for c in password):
        missing.append("a digit")
    if not any(c in PASSWORD_SYMBOLS for c in password.strip(" ")):
        missing.append("a symbol such as ! ? # or -")
    if missing:
        raise WeakPassword("the password needs " + ", ".join(missing))
    if password != password.strip(" "):
        raise WeakPassword("a password cannot begin or end with a space")


def check_name(name: str) -> str:
    """The display name, trimmed; raises InvalidName."""
    name = name.strip()
    if len(name) > NAME_MAX:
        raise InvalidName(f"a name has at most {NAME_MAX} characters")
    if _CONTROL.search(name):
        raise InvalidName("a name cannot contain line breaks or control characters")
    return name


def clean_code(code: str) -> str:
    """A confirmation code as typed, without spaces; raises InvalidCode for one that cannot be."""
    cleaned = "".join(code.split()) if isinstance(code, str) else ""
    if not cleaned or len(cleaned) > CODE_MAX or _CONTROL.search(cleaned):
        raise InvalidCode("enter the code from the email")
    return cleaned


def check_role(role: str) -> str:
    """The role, if it is one of ROLES; raises UnknownRole."""
    if role not in ROLES:
        raise UnknownRole(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    return role


class TokenVerifier:
    """Verifies RS256 tokens against a JWKS; serves the local adapter and Cognito alike.

    Checks: the header names RS256 (alg none, HS256 and the rest are refused before any key is
    used) and a `kid` in the JWKS; the signature; `exp`, `iat` and `nbf` against `clock` with
    `leeway` seconds; `iss`; `token_use` is "id" or "access"; the audience, which is `aud` in
    an ID token and `client_id` in a Cognito access token. Revocation and whether the user
    still exists are the adapter's business (see LocalIdentity.verify).
    """

    def __init__(
        self,
        jwks: Mapping[str, Any],
        issuer: str,
        audience: str,
        *,
        leeway: float = LEEWAY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = {"keys": list(jwks.get("keys", []))}
        self._leeway = leeway
        self._clock = clock
        self._keys = _rsa_keys(jwks)
        if not self._keys:
            raise ConfigError("the JWKS holds no RS256 signing key with a kid")

    def verify(self, token: str) -> Principal:
        """The principal the token speaks for; raises Unauthorized for any bad token."""
        claims = self._decode(token)
        now = self._clock()
        exp = _timestamp(claims, "exp")
        if now > exp + self._leeway:
            raise Unauthorized("expired")
        if _timestamp(claims, "iat") > now + self._leeway:
            raise Unauthorized("issued in the future")
        if "nbf" in claims and _timestamp(claims, "nbf") > now + self._leeway:
            raise Unauthorized("not valid yet")
        if claims.get("iss") != self.issuer:
            raise Unauthorized("wrong issuer")
        token_use = claims.get("token_use")
        if token_use not in TOKEN_USES:
            raise Unauthorized("not an id or access token")
        audience = claims.get("aud") if token_use == "id" else claims.get("client_id")
        if isinstance(audience, list) and self.audience in audience:
            audience = self.audience
        if audience != self.audience:
            raise Unauthorized("wrong audience")
        sub = claims.get("sub")
        groups = claims.get("cognito:groups", [])
        if not isinstance(sub, str) or not sub:
            raise Unauthorized("no subject")
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise Unauthorized("malformed groups")
        return Principal(
            sub=sub,
            email=_text(claims, "email"),
            name=_text(claims, "name"),
            groups=tuple(groups),
            token_id=_text(claims, "jti"),
            expires_at=datetime.fromtimestamp(exp, UTC),
            issued_at=datetime.fromtimestamp(_timestamp(claims, "iat"), UTC),
        )

    def _decode(self, token: str) -> dict[str, Any]:
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized("missing or oversized token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("malformed") from None
        if header.get("alg") != "RS256":
            raise Unauthorized(f"algorithm {header.get('alg')!r} refused")
        kid = header.get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthorized("unknown signing key")
        options = {
            "require": ["sub", "iss", "exp", "iat", "token_use"],
            # Checked above against the injectable clock, and per token_use for the audience.
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
            "verify_aud": False,
            "verify_iss": False,
        }
        try:
            return jwt.decode(token, key, algorithms=["RS256"], options=options)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"rejected: {exc}") from None


def _rsa_keys(jwks: Mapping[str, Any]) -> dict[str, rsa.RSAPublicKey]:
    """The RS256 signature keys of a JWKS by kid; other keys (encryption, EC…) are skipped."""
    keys: dict[str, rsa.RSAPublicKey] = {}
    for jwk in jwks.get("keys", []):
        if (
            jwk.get("kty") != "RSA"
            or jwk.get("use", "sig") != "sig"
            or jwk.get("alg", "RS256") != "RS256"
            or not isinstance(jwk.get("kid"), str)
        ):
            continue
        public = {name: jwk.get(name) for name in ("kty", "n", "e")}  # never private parts
        try:
            key = jwt.algorithms.RSAAlgorithm.from_jwk(public)
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise ConfigError(f"JWKS key {jwk['kid']!r} is not a usable RSA key ({exc})") from None
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
            raise ConfigError(f"JWKS key {jwk['kid']!r} is not an RSA key of 2048 bits or more")
        keys[jwk["kid"]] = key
    return keys


def _timestamp(claims: Mapping[str, Any], name: str) -> float:
    """A NumericDate claim; NaN, infinities and dates past the year 9999 are refused."""
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthorized(f"{name} is not a number")
    if not 0 <= value <= _LAST_TIMESTAMP:  # false for NaN too
        raise Unauthorized(f"{name} is out of range")
    return float(value)


def _text(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name, "")
    return value if isinstance(value, str) else ""
