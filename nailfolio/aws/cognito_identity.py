"""The aws identity adapter: a Cognito user pool, its groups, and a revocation list in DynamoDB.

The pool signs users in by email (UsernameAttributes ["email"]); its app client has no
secret and allows ALLOW_USER_PASSWORD_AUTH and ALLOW_REFRESH_TOKEN_AUTH. Roles are the groups
`admins`, `designers` and `customers`, one per user; a user in none (a fresh sign-up) is a
customer, so signing up costs no admin call that could fail halfway.

- Sign-up is SignUp: Cognito emails a code and the user is unconfirmed until ConfirmSignUp
  takes it (ResendConfirmationCode sends another). `create_user` (the CLI's) is
  AdminCreateUser with no message, a permanent password and the group.
- Sign-in is InitiateAuth with USER_PASSWORD_AUTH; it returns the ID token and a refresh
  token, which REFRESH_TOKEN_AUTH turns into a new ID token with the current groups.
- Tokens are checked by the shared TokenVerifier against the pool's JWKS (`cognito_verifier`:
  the JWKS URL and the issuer are two settings, since moto serves the JWKS at its own address
  while `iss` keeps the AWS form), then against the revocation table.
- An ID token still verifies offline after any sign-out, so the app keeps its own
  revocation list (`nailfolio.aws.dynamodb.revocation_table`, TTL on `expires_at`): sign-out
  records the token's `jti` and calls AdminUserGlobalSignOut, which ends every refresh token
  of the user (GlobalSignOut itself needs the access token, which the API never keeps). A
  role change or a deletion records `sub#<sub>` with `not_before`: that user's tokens issued
  before it are refused, so a demoted admin stops being one at once and the form's refresh
  fetches a token with the new group. Tokens carry whole seconds, so one issued in the very
  second of the change is refused too (the next refresh is not).

Every Cognito error becomes the port's own (`_translate`), a throttle or failure
ServiceUnavailable, through `nailfolio.aws.calls.call`. boto3 is never imported here: the
clients come from config.
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Self

from nailfolio.aws.calls import call
from nailfolio.aws.dynamodb import request
from nailfolio.errors import ConfigError, ServiceUnavailable
from nailfolio.identity.provider import (
    DEFAULT_ROLE,
    LEEWAY_S,
    MAX_TOKEN_CHARS,
    ROLES,
    TOKEN_TTL_S,
    AccountExists,
    AlreadyConfirmed,
    ConfirmationNeeded,
    ExpiredCode,
    IdentityError,
    InvalidCode,
    InvalidCredentials,
    Principal,
    Tokens,
    TokenVerifier,
    TooManyAttempts,
    Unauthorized,
    User,
    UserNotFound,
    WeakPassword,
    check_name,
    check_password,
    check_role,
    clean_code,
    fold_email,
    normalise_email,
)

if TYPE_CHECKING:
    from botocore.client import BaseClient

SERVICE = "Cognito"
JWKS_MAX_BYTES = 65_536
LOCKED_RETRY_S = 300  # Cognito says "attempts exceeded" but not for how long
_LOCKED_MESSAGES = ("attempts exceeded", "attempt limit exceeded")
_ATTEMPTS = {  # what TooManyAttempts says was tried too often, by operation
    "InitiateAuth": "sign-in attempts",
    "ConfirmSignUp": "tries at the code",
    "ResendConfirmationCode": "new codes",
}

Fetch = Callable[[str], Mapping[str, Any]]


def fetch_json(url: str, timeout: float = 5.0) -> Mapping[str, Any]:
    """The JSON document at an https URL (a pool's JWKS), read with a timeout and a size cap."""
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"JWKS URL {url!r} must be an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            data = answer.read(JWKS_MAX_BYTES + 1)
    except OSError as exc:
        raise ServiceUnavailable(f"cannot fetch the JWKS at {url} ({exc}); try again") from exc
    if len(data) > JWKS_MAX_BYTES:
        raise ConfigError(f"the JWKS at {url} is over {JWKS_MAX_BYTES} bytes: not a JWKS")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ConfigError(f"the JWKS at {url} is not JSON ({exc})") from None


def cognito_verifier(
    jwks_url: str, issuer: str, client_id: str, fetch: Fetch = fetch_json
) -> TokenVerifier:
    """The verifier of a pool's tokens: its JWKS fetched from `jwks_url` (AWS:
    `https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json`, which is also
    the issuer without the suffix), `iss` and the app client id checked."""
    return TokenVerifier(fetch(jwks_url), issuer, client_id)


class CognitoIdentity:
    """IdentityProvider on a Cognito user pool; safe to share between threads."""

    def __init__(
        self,
        client: BaseClient,
        pool_id: str,
        client_id: str,
        verifier: TokenVerifier,
        dynamodb: BaseClient,
        revocation_table: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client  # a "cognito-idp" client
        self._pool = pool_id
        self._client_id = client_id
        self._verifier = verifier
        self._dynamodb = dynamodb
        self._revoked = revocation_table
        self._clock = clock

    # -- accounts ---------------------------------------------------------------------------

    def sign_up(self, email: str, password: str, name: str = "") -> User:
        """A new customer, unconfirmed while Cognito's emailed code is not entered."""
        email, name = _checked(email, password, name)
        answer = self._call(
            "SignUp",
            ClientId=self._client_id,
            Username=email,
            Password=password,
            UserAttributes=_attributes(email, name),
        )
        confirmed = bool(answer.get("UserConfirmed"))
        return User(answer["UserSub"], email, name, (DEFAULT_ROLE,), self._now(), confirmed)

    def confirm_sign_up(self, email: str, code: str) -> None:
        """Raises InvalidCode (also for no such account), ExpiredCode, AlreadyConfirmed or
        TooManyAttempts."""
        code, username = clean_code(code), fold_email(email)
        if not username:  # no account has no email: the code cannot be right (as locally)
            raise InvalidCode()
        self._call(
            "ConfirmSignUp", ClientId=self._client_id, Username=username, ConfirmationCode=code
        )

    def resend_code(self, email: str) -> None:
        """Raises UserNotFound or AlreadyConfirmed."""
        username = fold_email(email)
        if not username:
            raise UserNotFound("no user without an email")
        self._call("ResendConfirmationCode", ClientId=self._client_id, Username=username)

    def create_user(
        self, email: str, password: str, name: str = "", role: str = DEFAULT_ROLE
    ) -> User:
        """A confirmed account with its role, made by an admin: no email is sent."""
        check_role(role)
        email, name = _checked(email, password, name)
        attributes = [*_attributes(email, name), {"Name": "email_verified", "Value": "true"}]
        made = self._call(
            "AdminCreateUser",
            UserPoolId=self._pool,
            Username=email,
            UserAttributes=attributes,
            MessageAction="SUPPRESS",
        )["User"]
        user = _user(made, (role,))
        try:
            self._call(
                "AdminSetUserPassword",
                UserPoolId=self._pool,
                Username=email,
                Password=password,
                Permanent=True,
            )
            self._join(email, role)
        except BaseException:  # not swallowed: undone, then raised again
            self._call("AdminDeleteUser", UserPoolId=self._pool, Username=user.sub)
            raise
        return replace(user, confirmed=True)

    def get_user(self, sub: str) -> User | None:
        return self._find("sub", sub)

    def find_user(self, email: str) -> User | None:
        return self._find("email", fold_email(email))

    def list_users(self) -> list[User]:
        """Every user, by email, with the role of their group."""
        roles = {sub: role for role in reversed(ROLES) for sub in self._members(role)}
        found = [
            _user(record, (roles.get(_attribute(record, "sub"), DEFAULT_ROLE),))
            for record in self._pages("ListUsers", "Users", {"UserPoolId": self._pool})
        ]
        return sorted(found, key=lambda user: user.email)

    def set_role(self, email: str, role: str) -> User:
        """Move the user to the group `role` (and out of the others); their tokens issued
        before are refused from now on (a refresh gets one with the new group)."""
        check_role(role)
        user = self.find_user(email)
        if user is None:
            raise UserNotFound(f"no user with email {fold_email(email)!r}")
        self._join(user.email, role)
        for group in self._groups_of(user.email):
            if group != role:
                self._call(
                    "AdminRemoveUserFromGroup",
                    UserPoolId=self._pool,
                    Username=user.email,
                    GroupName=group,
                )
        self._refuse_older_tokens(user.sub)
        return replace(user, groups=(role,))

    def delete_user(self, sub: str) -> None:
        """Delete the user; their tokens are refused from then on."""
        self._call("AdminDeleteUser", UserPoolId=self._pool, Username=sub)
        self._refuse_older_tokens(sub)

    # -- sessions ---------------------------------------------------------------------------

    def sign_in(self, email: str, password: str, client_addr: str) -> Tokens:
        """The ID and refresh tokens; raises InvalidCredentials, ConfirmationNeeded or
        TooManyAttempts (Cognito counts the failures itself)."""
        params: dict[str, Any] = {
            "ClientId": self._client_id,
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": fold_email(email), "PASSWORD": password},
        }
        if client_addr:
            params["UserContextData"] = {"IpAddress": client_addr}
        result = self._authenticated(self._call("InitiateAuth", **params))
        return self._tokens(result["IdToken"], result.get("RefreshToken", ""))

    def refresh(self, refresh_token: str) -> Tokens:
        """A new ID token for a live refresh token; raises Unauthorized."""
        if not refresh_token or len(refresh_token) > MAX_TOKEN_CHARS:
            raise Unauthorized("missing or oversized refresh token")
        answer = self._call(
            "InitiateAuth",
            ClientId=self._client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
        return self._tokens(self._authenticated(answer)["IdToken"], "")

    def sign_out(self, token: str) -> None:
        """Revoke the token (raises Unauthorized if it is not a valid one) and end the
        user's refresh tokens; idempotent."""
        principal = self._verifier.verify(token)
        if not principal.token_id:
            raise Unauthorized("no jti")
        expires = principal.expires_at.timestamp()
        self._put_revocation(f"jti#{principal.token_id}", expires, {})
        with suppress(UserNotFound):  # deleted meanwhile: nothing left to end
            self._call("AdminUserGlobalSignOut", UserPoolId=self._pool, Username=principal.email)

    def verify(self, token: str) -> Principal:
        """The principal, unless its token was revoked or its user changed since."""
        principal = self._verifier.verify(token)
        if not principal.token_id:
            raise Unauthorized("no jti")
        jti, user = self._revocations(f"jti#{principal.token_id}", f"sub#{principal.sub}")
        if jti is not None:
            raise Unauthorized("revoked")
        issued = principal.issued_at.timestamp() if principal.issued_at else 0.0
        if user is not None and issued < float(user.get("not_before", {}).get("N", "0")):
            raise Unauthorized("issued before a role change or deletion")
        return principal if principal.groups else replace(principal, groups=(DEFAULT_ROLE,))

    def jwks(self) -> dict[str, Any]:
        """The pool's public keys, as loaded."""
        return self._verifier.jwks

    def close(self) -> None:
        """Nothing to release: the clients belong to whoever made them."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        translate = partial(_translate, operation)
        return call(self._client, SERVICE, operation, params, translate, hints=_HINTS)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _tokens(self, id_token: str, refresh_token: str) -> Tokens:
        principal = self._verifier.verify(id_token)
        return Tokens(id_token, principal.expires_at, refresh_token)

    def _authenticated(self, answer: Mapping[str, Any]) -> Mapping[str, Any]:
        """The AuthenticationResult, or an IdentityError for a challenge the site cannot meet."""
        if "AuthenticationResult" not in answer:
            challenge = answer.get("ChallengeName", "an unknown step")
            raise IdentityError(
                f"this account needs {challenge}, which the site does not offer; ask the studio"
            )
        return answer["AuthenticationResult"]

    def _find(self, attribute: str, value: str) -> User | None:
        if not value or '"' in value or "\\" in value:  # no such sub or email can exist
            return None
        answer = self._call(
            "ListUsers", UserPoolId=self._pool, Filter=f'{attribute} = "{value}"', Limit=1
        )
        if not answer.get("Users"):
            return None
        record = answer["Users"][0]
        groups = self._groups_of(record["Username"])
        return _user(record, (_role(groups),))

    def _groups_of(self, username: str) -> list[str]:
        params = {"UserPoolId": self._pool, "Username": username}
        groups = self._pages("AdminListGroupsForUser", "Groups", params)
        return [group["GroupName"] for group in groups]

    def _members(self, role: str) -> set[str]:
        params = {"UserPoolId": self._pool, "GroupName": role}
        return {
            _attribute(record, "sub") for record in self._pages("ListUsersInGroup", "Users", params)
        }

    def _pages(self, operation: str, key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a paginated listing (ListUsers pages with PaginationToken)."""
        token_name = "PaginationToken" if operation == "ListUsers" else "NextToken"
        items: list[dict[str, Any]] = []
        while True:
            answer = self._call(operation, **params)
            items.extend(answer.get(key, []))
            token = answer.get(token_name)
            if not token:
                return items
            params = {**params, token_name: token}

    def _join(self, username: str, role: str) -> None:
        self._call("AdminAddUserToGroup", UserPoolId=self._pool, Username=username, GroupName=role)

    def _refuse_older_tokens(self, sub: str) -> None:
        """Refuse the user's tokens issued up to this second (whole seconds, like `iat`)."""
        now = self._clock()
        not_before = {"not_before": {"N": str(math.floor(now) + 1)}}
        self._put_revocation(f"sub#{sub}", now + TOKEN_TTL_S, not_before)

    def _put_revocation(self, key: str, expires: float, extra: dict[str, Any]) -> None:
        item = {
            "id": {"S": key},
            "expires_at": {"N": str(math.ceil(expires + LEEWAY_S))},  # the TTL attribute
            **extra,
        }
        request(self._dynamodb, "PutItem", TableName=self._revoked, Item=item)

    def _revocations(
        self, jti_key: str, sub_key: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The revocation items of the token and of its user (None: none)."""
        keys = [{"id": {"S": jti_key}}, {"id": {"S": sub_key}}]
        answer = request(
            self._dynamodb,
            "BatchGetItem",
            RequestItems={self._revoked: {"Keys": keys, "ConsistentRead": True}},
        )
        if answer.get("UnprocessedKeys"):
            raise ServiceUnavailable(
                f"DynamoDB BatchGetItem on table {self._revoked!r} left keys unread; try again"
            )
        found = {item["id"]["S"]: item for item in answer["Responses"].get(self._revoked, [])}
        return found.get(jti_key), found.get(sub_key)


_HINTS = {"ResourceNotFoundException": "check the user pool and app client id settings"}


def _checked(email: str, password: str, name: str) -> tuple[str, str]:
    """The email and name as stored, after the shared checks (Cognito's would differ)."""
    email = normalise_email(email)
    check_password(password)
    return email, check_name(name)


def _attributes(email: str, name: str) -> list[dict[str, str]]:
    attributes = [{"Name": "email", "Value": email}]
    return attributes + ([{"Name": "name", "Value": name}] if name else [])


def _attribute(record: Mapping[str, Any], name: str) -> str:
    attributes = record.get("Attributes") or record.get("UserAttributes") or []
    return next((a["Value"] for a in attributes if a["Name"] == name), "")


def _role(groups: list[str]) -> str:
    """The one role of a user's groups: the highest, customers for none."""
    return next((role for role in ROLES if role in groups), DEFAULT_ROLE)


def _user(record: Mapping[str, Any], groups: tuple[str, ...]) -> User:
    created = record.get("UserCreateDate") or datetime.now(UTC)
    return User(
        sub=_attribute(record, "sub") or record["Username"],
        email=_attribute(record, "email"),
        name=_attribute(record, "name"),
        groups=groups,
        created_at=created.astimezone(UTC),
        confirmed=record.get("UserStatus") != "UNCONFIRMED",
    )


def _translate(
    operation: str, code: str, message: str, params: Mapping[str, Any], _: Mapping[str, Any]
) -> Exception | None:
    """The port's error for a Cognito error code in `operation`; None: ServiceUnavailable."""
    username = str(params.get("Username") or params.get("AuthParameters", {}).get("USERNAME", ""))
    locked = any(words in message.lower() for words in _LOCKED_MESSAGES)
    if code in ("TooManyFailedAttemptsException", "LimitExceededException") or (
        code == "NotAuthorizedException" and locked
    ):
        return TooManyAttempts(LOCKED_RETRY_S, _ATTEMPTS.get(operation, "attempts"))
    if code == "InvalidPasswordException":
        return WeakPassword(f"the password was refused: {message}")
    specific = None
    if operation == "InitiateAuth":
        specific = _sign_in_error(code, message, username, params)
    elif operation == "ConfirmSignUp":
        specific = _confirm_error(code, message)
    if specific is not None:
        return specific
    if code == "UsernameExistsException":
        return AccountExists(f"an account for {username} already exists; sign in")
    if code == "UserNotFoundException":
        return UserNotFound(f"no user {username!r} in the pool")
    if code == "InvalidParameterException" and "already confirmed" in message.lower():
        return AlreadyConfirmed(f"{username} is confirmed already; sign in")
    if code in ("InvalidParameterException", "NotAuthorizedException"):
        return ConfigError(
            f"Cognito {operation} refused the call ({code}: {message}); check the pool, its app"
            " client (no secret; ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH) and the"
            " role's permissions"
        )
    return None


def _sign_in_error(
    code: str, message: str, username: str, params: Mapping[str, Any]
) -> Exception | None:
    refreshing = params.get("AuthFlow") == "REFRESH_TOKEN_AUTH"
    if code == "NotAuthorizedException" and "not enabled" in message.lower():
        return None  # the app client's settings, not the user's password
    if code in ("NotAuthorizedException", "UserNotFoundException"):
        return Unauthorized("refresh token refused") if refreshing else InvalidCredentials()
    if code == "UserNotConfirmedException":
        return ConfirmationNeeded(username)
    if code == "PasswordResetRequiredException":
        return InvalidCredentials()
    return None


def _confirm_error(code: str, message: str) -> Exception | None:
    if code in ("CodeMismatchException", "UserNotFoundException"):
        return InvalidCode()  # no account says the same as a wrong code
    if code == "ExpiredCodeException":
        return ExpiredCode()
    if code == "NotAuthorizedException" and "confirmed" in message.lower():
        return AlreadyConfirmed("this account is confirmed already; sign in")
    return None
