"""The IdentityProvider contract, on both backends: LocalIdentity (in its confirm-by-code mode)
and CognitoIdentity on moto (`mock_aws`: a pool signing in by email, an app client with
USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH, the three groups, the revocation table).

moto's ConfirmSignUp takes any code and has no ResendConfirmationCode, so wrong codes and
resending are checked on Cognito through botocore's Stubber (tests/test_cognito_identity.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from moto_cognito import cognito_backend

from nailfolio.identity.accounts import role_of
from nailfolio.identity.provider import (
    AccountExists,
    ConfirmationNeeded,
    ExpiredCode,
    IdentityProvider,
    InvalidCode,
    InvalidCredentials,
    TokenVerifier,
    Unauthorized,
    UnknownRole,
    UserNotFound,
)
from nailfolio.local.sqlite_identity import CODE_TRIES, LocalIdentity

PASSWORD = "Polish-2025!"
ADDR = "203.0.113.7"


@dataclass
class Backend:
    """An identity under test, with what only a test can know about it."""

    name: str
    identity: IdentityProvider
    verifier: Callable[[], TokenVerifier]  # the signature-only check the adapter starts with
    code_for: Callable[[str], str]  # the code the email was last sent
    whole_seconds: bool  # a role change refuses tokens issued in its second (Cognito)
    codes: dict[str, str] = field(default_factory=dict)

    def wait_for_next_second(self) -> None:
        if self.whole_seconds:
            time.sleep(1.01 - time.time() % 1)


@pytest.fixture(params=["local", "cognito"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "local":
        yield request.getfixturevalue("local_backend")
        return
    with cognito_backend() as cognito:
        yield Backend("cognito", cognito, lambda: cognito._verifier, lambda _email: "123456", True)


def new_email() -> str:
    return f"u-{uuid.uuid4().hex[:10]}@example.com"


def confirmed(backend: Backend, name: str = "") -> str:
    """A signed-up and confirmed customer's email."""
    email = new_email()
    backend.identity.sign_up(email, PASSWORD, name)
    backend.identity.confirm_sign_up(email, backend.code_for(email))
    return email


def test_sign_up_waits_for_the_code_then_signs_in(backend: Backend) -> None:
    identity = backend.identity
    email = new_email()
    user = identity.sign_up(email.upper(), PASSWORD, "Nia")
    assert (user.email, user.name, user.groups, user.confirmed) == (
        email,
        "Nia",
        ("customers",),
        False,
    )
    with pytest.raises(ConfirmationNeeded) as needed:
        identity.sign_in(email, PASSWORD, ADDR)
    assert needed.value.email == email
    identity.confirm_sign_up(email, backend.code_for(email))
    tokens = identity.sign_in(email, PASSWORD, ADDR)
    assert tokens.refresh_token
    principal = identity.verify(tokens.id_token)
    assert (principal.sub, principal.email, role_of(principal)) == (user.sub, email, "customers")
    found = identity.find_user(email)
    assert found is not None and found.confirmed


# Two behaviours only the local adapter can show here: moto's ConfirmSignUp takes any code
# and moto has no ResendConfirmationCode. Cognito's answers to both (CodeMismatch,
# ExpiredCode, TooManyFailedAttempts, LimitExceeded) go through Stubber in
# test_cognito_identity.py.


@pytest.fixture
def local_backend(tmp_path: Path) -> Iterator[Backend]:
    codes: dict[str, str] = {}
    identity = LocalIdentity(
        tmp_path / "identity.sqlite3",
        tmp_path / "key.pem",
        send_code=lambda email, code: codes.__setitem__(email, code),
    )
    with identity:
        yield Backend("local", identity, identity._verifier, codes.__getitem__, False, codes)


def test_local_wrong_code_leaves_the_account_unconfirmed(local_backend: Backend) -> None:
    backend = local_backend
    identity = backend.identity
    email = new_email()
    identity.sign_up(email, PASSWORD)
    wrong = "000000" if backend.code_for(email) != "000000" else "111111"
    with pytest.raises(InvalidCode):
        identity.confirm_sign_up(email, wrong)
    with pytest.raises(InvalidCode):
        identity.confirm_sign_up(new_email(), backend.code_for(email))  # no such account
    with pytest.raises(ConfirmationNeeded):
        identity.sign_in(email, PASSWORD, ADDR)
    identity.confirm_sign_up(email, backend.code_for(email))
    assert identity.sign_in(email, PASSWORD, ADDR).id_token


def test_local_code_dies_after_too_many_wrong_tries_and_a_new_one_works(
    local_backend: Backend,
) -> None:
    backend = local_backend
    identity = backend.identity
    email = new_email()
    identity.sign_up(email, PASSWORD)
    first = backend.code_for(email)
    wrong = f"{(int(first) + 1) % 10**6:06d}"
    for _ in range(CODE_TRIES):
        with pytest.raises(InvalidCode):
            identity.confirm_sign_up(email, wrong)
    with pytest.raises(ExpiredCode):
        identity.confirm_sign_up(email, first)  # right, but too late
    identity.resend_code(email)
    identity.confirm_sign_up(email, backend.code_for(email))
    assert identity.sign_in(email, PASSWORD, ADDR).id_token


def test_sign_up_refuses_a_taken_email_confirmed_or_not(backend: Backend) -> None:
    email = confirmed(backend)
    with pytest.raises(AccountExists):
        backend.identity.sign_up(email, PASSWORD)
    pending = new_email()
    backend.identity.sign_up(pending, PASSWORD)
    with pytest.raises(AccountExists):
        backend.identity.sign_up(pending, PASSWORD)


def test_wrong_password_and_unknown_email_are_one_error(backend: Backend) -> None:
    email = confirmed(backend)
    for who, password in ((email, "Wrong-pass-1"), (new_email(), PASSWORD)):
        with pytest.raises(InvalidCredentials):
            backend.identity.sign_in(who, password, ADDR)


def test_refresh_gives_a_new_id_token(backend: Backend) -> None:
    identity = backend.identity
    email = confirmed(backend)
    tokens = identity.sign_in(email, PASSWORD, ADDR)
    renewed = identity.refresh(tokens.refresh_token)
    assert renewed.id_token != tokens.id_token
    assert renewed.refresh_token == ""  # the one given at sign-in stays in use
    principal = identity.verify(renewed.id_token)
    assert principal.email == email
    assert principal.token_id != identity.verify(tokens.id_token).token_id
    for junk in ("", "not-a-refresh-token", "x" * 20_000):
        with pytest.raises(Unauthorized):
            identity.refresh(junk)


def test_sign_out_refuses_the_token_though_its_signature_still_verifies(
    backend: Backend,
) -> None:
    identity = backend.identity
    email = confirmed(backend)
    tokens = identity.sign_in(email, PASSWORD, ADDR)
    other = identity.sign_in(email, PASSWORD, ADDR)
    identity.sign_out(tokens.id_token)
    assert backend.verifier().verify(tokens.id_token).email == email  # offline: still valid
    with pytest.raises(Unauthorized):
        identity.verify(tokens.id_token)
    for refresh_token in (tokens.refresh_token, other.refresh_token):  # GlobalSignOut
        with pytest.raises(Unauthorized):
            identity.refresh(refresh_token)
    identity.sign_out(tokens.id_token)  # idempotent
    assert identity.verify(identity.sign_in(email, PASSWORD, ADDR).id_token).email == email


def test_roles_are_groups_one_per_user(backend: Backend) -> None:
    identity = backend.identity
    email = new_email()
    made = identity.create_user(email, PASSWORD, "Dee", "designers")
    assert (made.groups, made.confirmed) == (("designers",), True)
    tokens = identity.sign_in(email, PASSWORD, ADDR)  # no code needed: an admin made it
    assert role_of(identity.verify(tokens.id_token)) == "designers"
    assert identity.set_role(email, "admins").groups == ("admins",)
    user = identity.find_user(email)
    assert user is not None and user.groups == ("admins",)
    try:  # local rereads the role; Cognito refuses the token carrying the old group
        assert role_of(identity.verify(tokens.id_token)) == "admins"
    except Unauthorized:
        assert backend.whole_seconds
    backend.wait_for_next_second()
    renewed = identity.refresh(tokens.refresh_token)
    assert role_of(identity.verify(renewed.id_token)) == "admins"
    with pytest.raises(UnknownRole):
        identity.set_role(email, "owners")
    with pytest.raises(UserNotFound):
        identity.set_role(new_email(), "admins")


def test_list_find_and_delete_users(backend: Backend) -> None:
    identity = backend.identity
    first = confirmed(backend, "Bea")
    second = new_email()
    identity.create_user(second, PASSWORD, "", "admins")
    listed = {user.email: user for user in identity.list_users()}
    assert [e for e in sorted(listed) if e in (first, second)] == sorted([first, second])
    assert (listed[first].name, listed[first].groups) == ("Bea", ("customers",))
    assert listed[second].groups == ("admins",)
    user = identity.find_user(first.upper())
    assert user is not None and identity.get_user(user.sub) == user
    token = identity.sign_in(first, PASSWORD, ADDR).id_token
    identity.delete_user(user.sub)
    assert identity.find_user(first) is None and identity.get_user(user.sub) is None
    with pytest.raises(Unauthorized):
        identity.verify(token)
    with pytest.raises(UserNotFound):
        identity.delete_user(user.sub)
    assert identity.find_user('no"body@example.com') is None


@pytest.mark.parametrize(
    "change",
    [{"issuer": "https://elsewhere.example"}, {"audience": "another-app-client"}],
    ids=["issuer", "audience"],
)
def test_verification_checks_issuer_and_audience(backend: Backend, change: dict[str, Any]) -> None:
    email = confirmed(backend)
    token = backend.identity.sign_in(email, PASSWORD, ADDR).id_token
    right = backend.verifier()
    params = {"issuer": right.issuer, "audience": right.audience} | change
    assert right.verify(token).email == email
    with pytest.raises(Unauthorized) as refused:
        TokenVerifier(right.jwks, **params).verify(token)
    assert refused.value.reason in ("wrong issuer", "wrong audience")


def test_account_service_confirms_refreshes_and_signs_out(backend: Backend, tmp_path: Path) -> None:
    """What the API does with the port, on both backends: 202-style pending sign-up, confirm
    into a session with a refresh token, refresh, sign-out ending the refresh token too."""
    from nailfolio.identity.accounts import AccountService, PendingConfirmation
    from nailfolio.local.sqlite_rate_limiter import SqliteRateLimiter

    with SqliteRateLimiter(tmp_path / "limits.sqlite3") as limiter:
        accounts = AccountService(backend.identity, comments=None, limiter=limiter)  # type: ignore[arg-type]
        email = new_email()
        pending = accounts.sign_up(email, PASSWORD, "Ivy", ADDR)
        assert pending == PendingConfirmation(email)
        if backend.name == "local":  # moto has no ResendConfirmationCode
            accounts.resend_code(new_email(), ADDR)  # nobody: says nothing
            accounts.resend_code(email, ADDR)
        session = accounts.confirm(email, backend.code_for(email), PASSWORD, ADDR)
        assert session.principal.email == email and session.refresh_token
        renewed = accounts.refresh(session.refresh_token)
        assert renewed.principal.sub == session.principal.sub and not renewed.refresh_token
        accounts.sign_out(renewed.token, refresh_token=session.refresh_token)
        with pytest.raises(Unauthorized):
            accounts.refresh(session.refresh_token)
        with pytest.raises(Unauthorized):
            accounts.authenticate(renewed.token)
        again = accounts.confirm(email, backend.code_for(email), PASSWORD, ADDR)
        assert again.principal.email == email  # confirmed already: simply signed in
