"""Identity: the shared policy and token verifier, and the local adapter (users in SQLite)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nailfolio.config import Settings, open_identity
from nailfolio.errors import ConfigError
from nailfolio.identity.accounts import AccountService
from nailfolio.identity.provider import (
    CODE_TTL_S,
    LEEWAY_S,
    LOCAL_CLIENT_ID,
    LOCAL_ISSUER,
    REFRESH_TTL_S,
    ROLES,
    AccountExists,
    AlreadyConfirmed,
    ExpiredCode,
    InvalidCredentials,
    InvalidEmail,
    InvalidName,
    TokenVerifier,
    TooManyAttempts,
    Unauthorized,
    UnknownRole,
    User,
    UserNotFound,
    WeakPassword,
    check_password,
    normalise_email,
)
from nailfolio.local.passwords import ScryptParams, hash_password, verify_password
from nailfolio.local.signing_key import load_signing_key, public_jwk
from nailfolio.local.sqlite_identity import APPLICATION_ID, MIGRATIONS, LocalIdentity
from nailfolio.local.sqlite_rate_limiter import SqliteRateLimiter

PASSWORD = "Nail-Art-2024"
WRONG = "Wrong-Guess-1"
HOME = "198.51.100.7"
ELSEWHERE = "203.0.113.9"
START = 1_750_000_000.0


class FakeClock:
    """Stands in for time.time: tests move it forward instead of sleeping."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Accounts:
    """Signed-in users on demand, for API tests: `accounts.token("admins")` is an ID token."""

    password = PASSWORD

    def __init__(self, identity: LocalIdentity) -> None:
        self.identity = identity
        self._count = 0

    def add(self, role: str = "customers", email: str | None = None, name: str = "") -> User:
        self._count += 1
        user = self.identity.sign_up(email or f"{role}-{self._count}@example.com", PASSWORD, name)
        return self.identity.set_role(user.email, role) if role != "customers" else user

    def token(self, role: str = "customers", email: str | None = None) -> str:
        user = self.add(role, email)
        return self.identity.sign_in(user.email, PASSWORD, "127.0.0.1").id_token

    @staticmethod
    def headers(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def signing_pem() -> bytes:
    """One RSA key for the tests that do not test the key file (making one takes ~0.1 s)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _local_identity(root: Path, clock: FakeClock, pem: bytes) -> LocalIdentity:
    key_path = root / "var" / "identity" / "signing-key.pem"
    key_path.parent.mkdir(mode=0o700, parents=True)
    key_path.write_bytes(pem)
    key_path.chmod(0o600)
    return LocalIdentity(root / "var" / "identity.sqlite3", key_path, clock=clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def identity(tmp_path: Path, clock: FakeClock, signing_pem: bytes) -> Iterator[LocalIdentity]:
    with _local_identity(tmp_path, clock, signing_pem) as store:
        yield store


@pytest.fixture
def accounts(identity: LocalIdentity) -> Accounts:
    return Accounts(identity)


# -- policy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Nail-Art-2024", None),
        ("Aa1!aaaa", None),  # exactly 8
        ("Nail Art 2024", None),  # an inner space is a symbol, as on Cognito
        ("Aa1!" + "a" * 252, None),  # exactly 256
        ("Aa1!" + "a" * 253, "a password has at most 256 characters"),
        ("Aa1!aaa", "the password needs at least 8 characters"),
        ("nail-art-2024", "the password needs an uppercase letter"),
        ("NAIL-ART-2024", "the password needs a lowercase letter"),
        ("Nail-Art-Days", "the password needs a digit"),
        ("NailArt2024", "the password needs a symbol such as ! ? # or -"),
        ("NailArt2024 ", "the password needs a symbol"),  # a trailing space does not count
        (" Nail-Art-2024", "a password cannot begin or end with a space"),
        ("Ñáíl-árt-2024", "the password needs an uppercase letter"),  # ASCII letters only
        (
            "",
            "the password needs at least 8 characters, an uppercase letter, "
            "a lowercase letter, a digit, a symbol such as ! ? # or -",
        ),
    ],
)
def test_password_policy_lists_what_is_missing(password: str, problem: str | None) -> None:
    if problem is None:
        check_password(password)
        return
    with pytest.raises(WeakPassword) as caught:
        check_password(password)
    assert str(caught.value).startswith(problem)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("ana@example.com", "ana@example.com"),
        ("  Ana@Example.COM \n", "ana@example.com"),
        ("ANA.B+Nails@Mail.Example.org", "ana.b+nails@mail.example.org"),
        ("a@b.co", "a@b.co"),
    ],
)
def test_emails_are_trimmed_and_lowercased(raw: str, stored: str) -> None:
    assert normalise_email(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "ana",
        "ana@",
        "@example.com",
        "ana@example",
        "ana@@example.com",
        "ana@mail@example.com",
        "ana@.example.com",
        "ana@example.com.",
        "ana@example..com",
        "an a@example.com",
        "ana@exam\x00ple.com",
        "a" * 243 + "@example.com",  # 255 characters
    ],
)
def test_malformed_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalise_email(raw)


def test_longest_allowed_email_is_254_characters() -> None:
    assert len(normalise_email("a" * 242 + "@example.com")) == 254


# -- accounts -----------------------------------------------------------------------------------


def test_sign_up_then_sign_in_round_trip(identity: LocalIdentity, clock: FakeClock) -> None:
    user = identity.sign_up(" Ana@Example.com ", PASSWORD, " Ana Lima ")
    assert user.email == "ana@example.com" and user.name == "Ana Lima"
    assert user.groups == ("customers",)
    assert user.created_at == datetime.fromtimestamp(START, UTC)
    assert identity.get_user(user.sub) == user
    assert identity.find_user("ANA@example.com") == user
    assert identity.list_users() == [user]

    clock.advance(60)
    tokens = identity.sign_in("ANA@EXAMPLE.COM", PASSWORD, HOME)
    assert tokens.expires_at == datetime.fromtimestamp(START + 60 + 3600, UTC)
    principal = identity.verify(tokens.id_token)
    assert (principal.sub, principal.email, principal.name) == (user.sub, user.email, "Ana Lima")
    assert principal.groups == ("customers",) and principal.has_role("customers")
    assert principal.expires_at == tokens.expires_at
    assert principal.token_id


@pytest.mark.parametrize("again", ["ana@example.com", "ANA@example.com", " ana@EXAMPLE.com"])
def test_sign_up_refuses_an_email_that_has_an_account(identity: LocalIdentity, again: str) -> None:
    identity.sign_up("ana@example.com", PASSWORD)
    with pytest.raises(AccountExists, match=r"an account for ana@example\.com already exists"):
        identity.sign_up(again, "Other-Pass-99")


@pytest.mark.parametrize(
    ("email", "password", "name", "error"),
    [
        ("not-an-email", PASSWORD, "", InvalidEmail),
        ("ana@example.com", "weak", "", WeakPassword),
        ("ana@example.com", PASSWORD, "Ana\nLima", InvalidName),
        ("ana@example.com", PASSWORD, "x" * 257, InvalidName),
    ],
)
def test_sign_up_refuses_bad_input_and_creates_nothing(
    identity: LocalIdentity, email: str, password: str, name: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        identity.sign_up(email, password, name)
    assert identity.list_users() == []


def test_wrong_password_and_unknown_email_fail_alike(identity: LocalIdentity) -> None:
    identity.sign_up("ana@example.com", PASSWORD)
    with pytest.raises(InvalidCredentials) as wrong:
        identity.sign_in("ana@example.com", WRONG, HOME)
    with pytest.raises(InvalidCredentials) as unknown:
        identity.sign_in("nobody@example.com", PASSWORD, HOME)
    assert str(wrong.value) == str(unknown.value) == "incorrect email or password"


def test_unknown_email_spends_the_same_scrypt_work(
    identity: LocalIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity.sign_up("ana@example.com", PASSWORD)
    calls: list[dict[str, Any]] = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(password: bytes, **kwargs: Any) -> bytes:
        calls.append(kwargs)
        return real_scrypt(password, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
    with pytest.raises(InvalidCredentials):
        identity.sign_in("nobody@example.com", PASSWORD, HOME)
    with pytest.raises(InvalidCredentials):
        identity.sign_in("ana@example.com", WRONG, HOME)
    assert len(calls) == 2
    unknown, known = ({k: v for k, v in c.items() if k != "salt"} for c in calls)
    assert unknown == known and known["n"] == 2**14 and known["r"] == 8 and known["p"] == 1


def test_passwords_are_salted_scrypt_with_their_parameters(
    identity: LocalIdentity, tmp_path: Path
) -> None:
    identity.sign_up("ana@example.com", PASSWORD)
    identity.sign_up("bea@example.com", PASSWORD)
    with sqlite3.connect(tmp_path / "var" / "identity.sqlite3") as db:
        hashes = [row[0] for row in db.execute("SELECT password_hash FROM users")]
    db.close()
    assert hashes[0] != hashes[1]  # same password, different salts
    for stored in hashes:
        _, scheme, params, salt, key = stored.split("$")
        assert (scheme, params) == ("scrypt", "ln=14,r=8,p=1")
        assert len(base64.urlsafe_b64decode(salt + "==")) == 16
        assert len(base64.urlsafe_b64decode(key + "=")) == 32
        assert PASSWORD not in stored
        assert verify_password(PASSWORD, stored) and not verify_password(WRONG, stored)


def test_weaker_hash_is_upgraded_at_sign_in(identity: LocalIdentity, tmp_path: Path) -> None:
    identity.sign_up("ana@example.com", PASSWORD)
    weak = hash_password(PASSWORD, ScryptParams(n=2**10, r=8, p=1))
    db = sqlite3.connect(tmp_path / "var" / "identity.sqlite3", isolation_level=None)
    db.execute("UPDATE users SET password_hash = ?", (weak,))
    identity.sign_in("ana@example.com", PASSWORD, HOME)
    stored = db.execute("SELECT password_hash FROM users").fetchone()[0]
    db.close()
    assert stored.startswith("$scrypt$ln=14,r=8,p=1$")
    assert verify_password(PASSWORD, stored)


def test_roles_are_set_listed_and_checked(identity: LocalIdentity) -> None:
    user = identity.sign_up("ana@example.com", PASSWORD)
    assert identity.set_role("ANA@example.com", "designers").groups == ("designers",)
    assert identity.get_user(user.sub).groups == ("designers",)
    with pytest.raises(UnknownRole, match="unknown role 'admin'; use one of: admins, designers"):
        identity.set_role("ana@example.com", "admin")
    with pytest.raises(UserNotFound):
        identity.set_role("nobody@example.com", "admins")
    assert ROLES == ("admins", "designers", "customers")


def test_delete_user_and_unknown_sub(identity: LocalIdentity) -> None:
    user = identity.sign_up("ana@example.com", PASSWORD)
    identity.delete_user(user.sub)
    assert identity.get_user(user.sub) is None and identity.list_users() == []
    with pytest.raises(UserNotFound):
        identity.delete_user(user.sub)
    with pytest.raises(InvalidCredentials):
        identity.sign_in("ana@example.com", PASSWORD, HOME)


def _break_key(key: Path, how: str) -> None:
    if how == "corrupt":
        key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    else:  # unreadable even by root, who ignores chmod 000: a folder where the file was
        key.unlink()
        key.mkdir(mode=0o700)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("corrupt", r"damaged or unreadable \(not a PEM private key"),
        ("unreadable", r"damaged or unreadable \(the signing key cannot be read"),
    ],
)
def test_a_sign_up_that_cannot_sign_its_session_leaves_no_account(
    identity: LocalIdentity,
    tmp_path: Path,
    signing_pem: bytes,
    how: str,
    message: str,
    request: pytest.FixtureRequest,
) -> None:
    limiter = SqliteRateLimiter(tmp_path / "limits.sqlite3")
    request.addfinalizer(limiter.close)
    service = AccountService(
        identity,
        None,  # type: ignore[arg-type]  # sign-up never touches comments
        limiter,
    )
    _break_key(identity.key_path, how)
    with pytest.raises(ConfigError, match=rf"signing-key\.pem: {message}"):
        service.sign_up("ana@example.com", PASSWORD, "Ana", HOME)
    assert identity.find_user("ana@example.com") is None
    if how == "unreadable":
        identity.key_path.rmdir()
    identity.key_path.write_bytes(signing_pem)
    identity.key_path.chmod(0o600)
    session = service.sign_up("ana@example.com", PASSWORD, "Ana", HOME)  # not AccountExists
    assert session.principal.email == "ana@example.com"
    assert identity.verify(session.token).sub == session.principal.sub


# -- tokens -------------------------------------------------------------------------------------

ID_TOKEN_CLAIMS = {
    "sub",
    "email",
    "email_verified",
    "cognito:username",
    "cognito:groups",
    "token_use",
    "iss",
    "aud",
    "auth_time",
    "iat",
    "exp",
    "jti",
    "name",
}


def test_id_token_claims_are_shaped_like_cognito(identity: LocalIdentity) -> None:
    user = identity.sign_up("ana@example.com", PASSWORD, "Ana")
    token = identity.sign_in("ana@example.com", PASSWORD, HOME).id_token
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS256"
    assert header["kid"] == identity.jwks()["keys"][0]["kid"]
    assert set(claims) == ID_TOKEN_CLAIMS
    assert claims["sub"] == claims["cognito:username"] == user.sub
    assert claims["email"] == "ana@example.com" and claims["name"] == "Ana"
    assert claims["email_verified"] is False
    assert claims["cognito:groups"] == ["customers"]
    assert claims["token_use"] == "id"
    assert (claims["iss"], claims["aud"]) == (LOCAL_ISSUER, LOCAL_CLIENT_ID)
    assert claims["iat"] == claims["auth_time"] == int(START)
    assert claims["exp"] == int(START) + 3600
    second = identity.sign_in("ana@example.com", PASSWORD, HOME).id_token
    assert jwt.decode(second, options={"verify_signature": False})["jti"] != claims["jti"]


def test_jwks_is_cognito_shaped_and_kid_is_the_rfc7638_thumbprint(
    identity: LocalIdentity,
) -> None:
    (jwk,) = identity.jwks()["keys"]
    assert set(jwk) == {"alg", "e", "kid", "kty", "n", "use"}
    assert (jwk["alg"], jwk["kty"], jwk["use"], jwk["e"]) == ("RS256", "RSA", "sig", "AQAB")
    assert "d" not in jwk
    # The example key of RFC 7638, section 3.1, and its published thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
        "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvzq"
        "Y368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu"
        "0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    number = int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)), "big")
    example = rsa.RSAPublicNumbers(65537, number).public_key()
    assert public_jwk(example)["kid"] == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@dataclass
class Forge:
    """A valid token, the identity that issued it, and what it takes to make others like it."""

    identity: LocalIdentity
    clock: FakeClock
    token: str
    claims: dict[str, Any]
    key: rsa.RSAPrivateKey
    kid: str

    def sign(self, **changes: Any) -> str:
        """A correctly signed token with some claims changed (None removes one)."""
        claims = {k: v for k, v in (self.claims | changes).items() if v is not None}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(
    header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]
) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _tampered_payload(f: Forge) -> str:
    header, _payload, signature = f.token.split(".")
    raised = f.claims | {"cognito:groups": ["admins"]}
    return f"{header}.{_b64(json.dumps(raised).encode())}.{signature}"


def _tampered_signature(f: Forge) -> str:
    header, payload, signature = f.token.split(".")
    flipped = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    flipped[10] ^= 0x01
    return f"{header}.{payload}.{_b64(bytes(flipped))}"


def _alg_none(f: Forge) -> str:
    return _hand_made({"alg": "none", "typ": "JWT", "kid": f.kid}, f.claims, lambda _: b"")


def _hs256_with_public_key(f: Forge) -> str:
    header = {"alg": "HS256", "typ": "JWT", "kid": f.kid}
    return _hand_made(header, f.claims, lambda m: hmac.new(f.public_pem(), m, "sha256").digest())


def _other_key(f: Forge) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(f.claims, stranger, algorithm="RS256", headers={"kid": f.kid})


FORGERIES: dict[str, Callable[[Forge], str]] = {
    "tampered payload": _tampered_payload,
    "tampered signature": _tampered_signature,
    "alg none": _alg_none,
    "HS256 keyed with the public key": _hs256_with_public_key,
    "signed by another key": _other_key,
    "unknown kid": lambda f: jwt.encode(f.claims, f.key, algorithm="RS256", headers={"kid": "x"}),
    "expired": lambda f: f.sign(iat=int(START) - 7200, exp=int(START) - LEEWAY_S - 1),
    "issued in the future": lambda f: f.sign(iat=int(START) + 600, exp=int(START) + 4200),
    "not valid yet": lambda f: f.sign(nbf=int(START) + 600),
    "wrong issuer": lambda f: f.sign(iss="https://evil.example.com"),
    "wrong audience": lambda f: f.sign(aud="another-client"),
    "no exp": lambda f: f.sign(exp=None),
    "exp not a number": lambda f: f.sign(exp="tomorrow"),
    "exp NaN": lambda f: f.sign(exp=float("nan")),
    "exp infinite": lambda f: f.sign(exp=float("inf")),
    "exp past year 9999": lambda f: f.sign(exp=10**12),
    "exp a boolean": lambda f: f.sign(exp=True),
    "refresh token_use": lambda f: f.sign(token_use="refresh"),
    "no token_use": lambda f: f.sign(token_use=None),
    "groups not a list": lambda f: f.sign(**{"cognito:groups": "admins"}),
    "garbage": lambda f: "not.a.jwt",
    "empty": lambda f: "",
    "oversized": lambda f: "a" * 20_000,
    "not a string": lambda f: None,  # type: ignore[return-value]
}


@pytest.fixture(scope="module")
def forge(tmp_path_factory: pytest.TempPathFactory, signing_pem: bytes) -> Iterator[Forge]:
    """Shared by tests that only verify (its clock never moves)."""
    clock = FakeClock()
    with _local_identity(tmp_path_factory.mktemp("forge"), clock, signing_pem) as identity:
        identity.sign_up("ana@example.com", PASSWORD)
        token = identity.sign_in("ana@example.com", PASSWORD, HOME).id_token
        key = load_signing_key(identity.key_path)
        claims = jwt.decode(token, options={"verify_signature": False})
        kid = jwt.get_unverified_header(token)["kid"]
        yield Forge(identity, clock, token, claims, key, kid)


@pytest.mark.parametrize("how", FORGERIES.values(), ids=FORGERIES.keys())
@pytest.mark.parametrize("checker", ["adapter", "verifier"])
def test_bad_tokens_are_unauthorized_with_one_message(
    forge: Forge, how: Callable[[Forge], str], checker: str
) -> None:
    if checker == "adapter":
        check = forge.identity.verify
    else:
        jwks = forge.identity.jwks()
        check = TokenVerifier(jwks, LOCAL_ISSUER, LOCAL_CLIENT_ID, clock=forge.clock).verify
    check(forge.token)  # the genuine one passes
    with pytest.raises(Unauthorized) as caught:
        check(how(forge))
    assert str(caught.value) == "not signed in, or the session has expired; please sign in"
    assert caught.value.reason


def test_clock_skew_within_the_leeway_is_accepted(forge: Forge) -> None:
    forge.identity.verify(forge.sign(exp=int(START) - LEEWAY_S + 1))
    forge.identity.verify(forge.sign(iat=int(START) + LEEWAY_S - 1))


def test_token_expires_after_an_hour(
    identity: LocalIdentity, accounts: Accounts, clock: FakeClock
) -> None:
    token = accounts.token()
    clock.advance(3600 + LEEWAY_S)
    identity.verify(token)
    clock.advance(1)
    with pytest.raises(Unauthorized) as caught:
        identity.verify(token)
    assert caught.value.reason == "expired"


def test_verifier_accepts_a_cognito_access_token(forge: Forge) -> None:
    """Cognito access tokens carry client_id instead of aud, and no email or name."""
    access = forge.sign(
        token_use="access",
        aud=None,
        client_id=LOCAL_CLIENT_ID,
        email=None,
        name=None,
        username=forge.claims["sub"],
        scope="aws.cognito.signin.user.admin",
    )
    jwks = {"keys": [public_jwk(forge.key)]}
    verifier = TokenVerifier(jwks, LOCAL_ISSUER, LOCAL_CLIENT_ID, clock=forge.clock)
    principal = verifier.verify(access)
    assert principal.sub == forge.claims["sub"] and principal.email == ""
    assert principal.groups == ("customers",)
    with pytest.raises(Unauthorized):
        TokenVerifier(jwks, LOCAL_ISSUER, "another-client", clock=forge.clock).verify(access)


@pytest.mark.parametrize(
    "jwks",
    [
        {},
        {"keys": []},
        {"keys": [{"kty": "EC", "kid": "k", "crv": "P-256", "x": "a", "y": "b"}]},
        {"keys": [{"kty": "RSA", "kid": "k", "alg": "RS256", "use": "enc", "n": "a", "e": "AQAB"}]},
    ],
)
def test_verifier_needs_an_rs256_signing_key(jwks: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="no RS256 signing key"):
        TokenVerifier(jwks, LOCAL_ISSUER, LOCAL_CLIENT_ID)


def test_verifier_refuses_short_rsa_keys() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ConfigError, match="2048 bits"):
        TokenVerifier({"keys": [public_jwk(small)]}, LOCAL_ISSUER, LOCAL_CLIENT_ID)


def test_sign_out_revokes_that_token_only(identity: LocalIdentity, accounts: Accounts) -> None:
    user = accounts.add()
    phone = identity.sign_in(user.email, PASSWORD, HOME).id_token
    laptop = identity.sign_in(user.email, PASSWORD, HOME).id_token
    identity.sign_out(phone)
    with pytest.raises(Unauthorized) as caught:
        identity.verify(phone)
    assert caught.value.reason == "revoked"
    identity.sign_out(phone)  # twice is fine
    assert identity.verify(laptop).sub == user.sub


def test_sign_out_refuses_a_bad_token(identity: LocalIdentity) -> None:
    with pytest.raises(Unauthorized):
        identity.sign_out("garbage")


def test_revocations_are_pruned_once_expired(
    identity: LocalIdentity, accounts: Accounts, clock: FakeClock, tmp_path: Path
) -> None:
    user = accounts.add()
    identity.sign_out(identity.sign_in(user.email, PASSWORD, HOME).id_token)
    clock.advance(2 * 3600)
    identity.sign_out(identity.sign_in(user.email, PASSWORD, HOME).id_token)
    with sqlite3.connect(tmp_path / "var" / "identity.sqlite3") as db:
        rows = db.execute("SELECT expires_at FROM revoked_tokens").fetchall()
    db.close()
    assert rows == [(START + 2 * 3600 + 3600,)]


def test_token_of_a_deleted_user_is_refused(identity: LocalIdentity, accounts: Accounts) -> None:
    token = accounts.token("admins")
    identity.delete_user(identity.verify(token).sub)
    with pytest.raises(Unauthorized) as caught:
        identity.verify(token)
    assert caught.value.reason == "user deleted"


def test_role_change_applies_to_tokens_already_issued(
    identity: LocalIdentity, accounts: Accounts
) -> None:
    token = accounts.token("admins", email="ana@example.com")
    assert identity.verify(token).has_role("admins")
    identity.set_role("ana@example.com", "customers")
    principal = identity.verify(token)
    assert principal.groups == ("customers",) and not principal.has_role("admins")


# -- brute force --------------------------------------------------------------------------------


def _fail(identity: LocalIdentity, email: str, times: int, addr: str = HOME) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            identity.sign_in(email, WRONG, addr)


def _locked_for(identity: LocalIdentity, email: str, addr: str = HOME) -> int:
    with pytest.raises(TooManyAttempts) as caught:
        identity.sign_in(email, PASSWORD, addr)  # the right password, refused while locked
    retry_after = caught.value.retry_after
    assert str(caught.value) == f"too many sign-in attempts; try again in {retry_after} s"
    return retry_after


def test_account_locks_after_five_failures_for_a_growing_delay(
    identity: LocalIdentity, accounts: Accounts, clock: FakeClock
) -> None:
    user = accounts.add(email="ana@example.com")
    _fail(identity, user.email, 5)
    assert _locked_for(identity, user.email) == 30
    clock.advance(10)
    assert _locked_for(identity, user.email) == 20
    assert _locked_for(identity, user.email, ELSEWHERE) == 20  # any unfamiliar network
    clock.advance(20)
    _fail(identity, user.email, 1)
    assert _locked_for(identity, user.email) == 60
    clock.advance(60)
    _fail(identity, user.email, 1)
    assert _locked_for(identity, user.email) == 120
    clock.advance(15 * 60)  # the lock has run out
    assert identity.sign_in(user.email, PASSWORD, HOME).id_token


def test_account_lock_spares_other_accounts(identity: LocalIdentity, accounts: Accounts) -> None:
    ana, bea = accounts.add(), accounts.add()
    _fail(identity, ana.email, 5)
    assert _locked_for(identity, ana.email) == 30
    assert identity.sign_in(bea.email, PASSWORD, HOME).id_token


def test_success_resets_the_account_counter(identity: LocalIdentity, accounts: Accounts) -> None:
    user = accounts.add()
    _fail(identity, user.email, 4)
    identity.sign_in(user.email, PASSWORD, HOME)
    _fail(identity, user.email, 4)
    identity.sign_in(user.email, PASSWORD, HOME)
    _fail(identity, user.email, 5)
    assert _locked_for(identity, user.email) == 30


def test_unknown_emails_lock_too_so_locks_reveal_nothing(identity: LocalIdentity) -> None:
    _fail(identity, "nobody@example.com", 5)
    assert _locked_for(identity, "NOBODY@example.com") == 30


def test_address_locks_after_twenty_failures(
    identity: LocalIdentity, accounts: Accounts, clock: FakeClock
) -> None:
    user = accounts.add()
    for n in range(20):
        _fail(identity, f"guess-{n}@example.com", 1, addr=ELSEWHERE)
        clock.advance(1)
    assert _locked_for(identity, user.email, addr=ELSEWHERE) == 900 - 1
    assert identity.sign_in(user.email, PASSWORD, HOME).id_token  # other addresses are fine
    clock.advance(900)
    assert identity.sign_in(user.email, PASSWORD, ELSEWHERE).id_token


@pytest.mark.parametrize(
    ("address", "outsider"),
    [("2001:db8:1:2::{}", "2001:db8:1:3::1"), ("198.51.100.{}", "198.51.101.1")],
)
def test_address_lock_covers_the_whole_network(
    identity: LocalIdentity, accounts: Accounts, address: str, outsider: str
) -> None:
    """Failures from one /64 (IPv6) or /24 (IPv4) count together, so rotating through the
    addresses of a network does not escape the lock; the next network is not locked."""
    user = accounts.add()
    for n in range(20):
        _fail(identity, f"guess-{n}@example.com", 1, addr=address.format(n + 1))
    assert _locked_for(identity, user.email, addr=address.format(99)) == 900
    assert identity.sign_in(user.email, PASSWORD, outsider).id_token


def test_successes_do_not_count_against_the_address(
    identity: LocalIdentity, accounts: Accounts
) -> None:
    user, newcomer = accounts.add(), accounts.add()
    for n in range(19):
        _fail(identity, f"guess-{n}@example.com", 1)
    for _ in range(3):
        identity.sign_in(user.email, PASSWORD, HOME)
    _fail(identity, "guess-19@example.com", 1)  # the 20th failure, not yet refused
    assert _locked_for(identity, newcomer.email) == 900
    assert identity.sign_in(user.email, PASSWORD, HOME).id_token  # HOME is familiar to user


def test_concurrent_guesses_cannot_outrun_the_lock(
    identity: LocalIdentity, accounts: Accounts
) -> None:
    user = accounts.add()
    outcomes: list[str] = []

    def guess() -> None:
        try:
            identity.sign_in(user.email, WRONG, HOME)
        except (InvalidCredentials, TooManyAttempts) as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["InvalidCredentials"] * 5 + ["TooManyAttempts"] * 5


def test_threads_share_one_identity(identity: LocalIdentity) -> None:
    errors: list[BaseException] = []

    def sign_up_and_in(n: int) -> None:
        try:
            identity.sign_up(f"user{n}@example.com", PASSWORD)
            token = identity.sign_in(f"user{n}@example.com", PASSWORD, f"10.0.0.{n}").id_token
            assert identity.verify(token).email == f"user{n}@example.com"
        except BaseException as exc:  # collected for the main thread to report
            errors.append(exc)

    threads = [threading.Thread(target=sign_up_and_in, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(identity.list_users()) == 8


# -- signing key and configuration --------------------------------------------------------------


def test_signing_key_is_private_made_on_first_use_and_shared(
    tmp_path: Path, clock: FakeClock
) -> None:
    db, key = tmp_path / "identity.sqlite3", tmp_path / "identity" / "signing-key.pem"
    with LocalIdentity(db, key, clock=clock) as first:
        first.sign_up("ana@example.com", PASSWORD)
        assert not key.exists()  # not needed yet
        token = first.sign_in("ana@example.com", PASSWORD, HOME).id_token
        jwks = first.jwks()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert list(key.parent.iterdir()) == [key]  # no temporary file left behind
    with LocalIdentity(db, key, clock=clock) as second:
        assert second.jwks() == jwks
        assert second.verify(token).email == "ana@example.com"


def test_signing_key_readable_by_others_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    key = tmp_path / "signing-key.pem"
    load_signing_key(key)
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others; chmod 600"):
        LocalIdentity(tmp_path / "identity.sqlite3", key, clock=clock).jwks()


def test_open_identity_builds_the_local_adapter_under_var(tmp_path: Path) -> None:
    settings = Settings(root=tmp_path)
    with open_identity(settings) as opened:
        assert isinstance(opened, LocalIdentity)
        assert opened.path == tmp_path / "var" / "identity.sqlite3"
        assert opened.key_path == tmp_path / "var" / "identity" / "signing-key.pem"


def test_open_identity_on_aws_names_the_missing_pool_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^NAILFOLIO_COGNITO_CLIENT_ID is not set"):
        open_identity(Settings(root=tmp_path, backend="aws"))


# -- confirmation codes and refresh tokens (local only: the contract has the shared part) ------


def _confirming(root: Path, clock: FakeClock, pem: bytes, sent: list[str]) -> LocalIdentity:
    """A LocalIdentity whose sign-ups wait for a code (appended to `sent`)."""
    _local_identity(root, clock, pem).close()  # writes the key file
    key_path = root / "var" / "identity" / "signing-key.pem"
    return LocalIdentity(
        root / "var" / "identity.sqlite3",
        key_path,
        clock=clock,
        send_code=lambda _email, code: sent.append(code),
    )


def test_default_sign_up_is_confirmed_at_once_and_sends_nothing(identity: LocalIdentity) -> None:
    user = identity.sign_up("ana@example.com", PASSWORD)
    assert user.confirmed
    assert identity.sign_in("ana@example.com", PASSWORD, HOME).id_token
    with pytest.raises(AlreadyConfirmed):
        identity.resend_code("ana@example.com")


def test_a_code_expires_after_a_day(tmp_path: Path, clock: FakeClock, signing_pem: bytes) -> None:
    sent: list[str] = []
    with _confirming(tmp_path, clock, signing_pem, sent) as identity:
        identity.sign_up("ana@example.com", PASSWORD)
        assert len(sent) == 1 and re.fullmatch(r"\d{6}", sent[0])
        clock.advance(CODE_TTL_S)
        with pytest.raises(ExpiredCode):
            identity.confirm_sign_up("ana@example.com", sent[0])
        identity.resend_code("ana@example.com")
        identity.confirm_sign_up("ana@example.com", f" {sent[1][:3]} {sent[1][3:]} ")
        with pytest.raises(AlreadyConfirmed):
            identity.confirm_sign_up("ana@example.com", sent[1])
        stored = sqlite3.connect(tmp_path / "var" / "identity.sqlite3")
        assert stored.execute("SELECT COUNT(*) FROM sign_up_codes").fetchone() == (0,)


def test_codes_and_refresh_tokens_are_stored_hashed(
    tmp_path: Path, clock: FakeClock, signing_pem: bytes
) -> None:
    sent: list[str] = []
    with _confirming(tmp_path, clock, signing_pem, sent) as identity:
        identity.sign_up("ana@example.com", PASSWORD)
        raw = (tmp_path / "var" / "identity.sqlite3").read_bytes()
        assert sent[0].encode() not in raw
        identity.confirm_sign_up("ana@example.com", sent[0])
        refresh_token = identity.sign_in("ana@example.com", PASSWORD, HOME).refresh_token
    db = sqlite3.connect(tmp_path / "var" / "identity.sqlite3")
    (stored,) = db.execute("SELECT token_hash FROM refresh_tokens").fetchone()
    assert stored == hashlib.sha256(refresh_token.encode()).hexdigest()


def test_refresh_tokens_last_thirty_days_and_follow_the_role(
    identity: LocalIdentity, accounts: Accounts, clock: FakeClock
) -> None:
    user = accounts.add("customers")
    tokens = identity.sign_in(user.email, PASSWORD, HOME)
    clock.advance(REFRESH_TTL_S - 1)
    identity.set_role(user.email, "designers")
    renewed = identity.refresh(tokens.refresh_token)
    assert identity.verify(renewed.id_token).groups == ("designers",)
    clock.advance(1)
    with pytest.raises(Unauthorized):
        identity.refresh(tokens.refresh_token)


def test_a_deleted_users_refresh_tokens_die_with_them(
    identity: LocalIdentity, accounts: Accounts
) -> None:
    user = accounts.add()
    tokens = identity.sign_in(user.email, PASSWORD, HOME)
    identity.delete_user(user.sub)
    with pytest.raises(Unauthorized):
        identity.refresh(tokens.refresh_token)


def test_an_identity_store_from_before_confirmation_keeps_its_users_confirmed(
    tmp_path: Path, clock: FakeClock, signing_pem: bytes
) -> None:
    path = tmp_path / "var" / "identity.sqlite3"
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)
    for script in MIGRATIONS[:2]:
        old.executescript(script)
    old.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    old.execute("PRAGMA user_version = 2")
    old.execute(
        "INSERT INTO users VALUES ('sub-1', 'ana@example.com', 'Ana', 'admins', ?, ?)",
        (hash_password(PASSWORD), "2025-01-01T00:00:00+00:00"),
    )
    old.commit()
    old.close()
    with _local_identity(tmp_path, clock, signing_pem) as identity:
        user = identity.find_user("ana@example.com")
        assert user is not None and user.confirmed and user.groups == ("admins",)
        assert identity.sign_in("ana@example.com", PASSWORD, HOME).refresh_token
