"""The local identity adapter: users in SQLite, scrypt password hashes, RS256 ID tokens.

`LocalIdentity` keeps users, revoked token ids, sign-in failures and the networks each user
has signed in from in var/identity.sqlite3, and signs tokens with the key
`signing_key.load_signing_key` keeps at var/identity/signing-key.pem. Tokens are verified by
the shared `TokenVerifier` against `jwks()`, then checked against the store, so a signed-out
token, a deleted user or a changed role take effect at once.

Passwords are hashed by `passwords` (scrypt); a hash weaker than SCRYPT is replaced at the next
successful sign-in. A sign-in for an unknown email verifies against a dummy hash with the same
parameters, so both failures take the same time.

Brute force: wrong guesses slow the guesser, not the account's owner (OWASP's "familiar
source" idea, as Cognito and Okta use it). An account remembers the networks
(`ratelimit.client_network`: the /24 of an IPv4 address, the /64 of an IPv6 one) it has signed
in from successfully in the last 90 days: its familiar networks. Every attempt is recorded
against its account (the folded email, known or not) and its network, with whether that
network was familiar to the account, in one transaction with the checks and before the
password is checked, so concurrent guesses count; an attempt refused is not recorded. A
success takes back the account's failures from its network. An attempt is judged by:

- from one of the account's familiar networks: only the account's failures from that
  network. Strangers spraying made-up or other accounts from the same network (a mobile
  carrier's CGNAT /24 is shared by thousands), and strangers guessing the account from other
  networks, never get its owner refused there.
- from any other network, also the network's failures (20 in 15 minutes lock the network's
  unfamiliar attempts for 15 minutes: spraying many accounts stays slow) and the account's
  failures from networks unfamiliar to it (guessing one account from many networks stays slow).

An account's counts lock after 5 failures, for 30 s after the last one, doubling with each
further failure up to 15 minutes, and remember failures for a day: a guesser gets about a
hundred guesses a day at one account from all the networks it has not used, and as many more
from each of its familiar networks they are on.

Trade-offs, honestly. A stranger on the owner's own network (the same CGNAT /24) guessing the
owner's account shares the owner's count, so they lock the owner out there for up to 15
minutes after each guess, for as long as they keep guessing; the doubling keeps them to about
a hundred guesses a day, but only a per-device cookie could tell them from the owner. Anyone
can likewise keep an account locked for the networks it has not used (an owner travelling, or
moved by their carrier to a new /24), and a network locked for attempts unfamiliar to it
(sign-ups, whose first sign-in is one, and first sign-ins there) for 15 minutes at a time.
While a network is locked, whether an attempt from it is refused tells the accounts that have
signed in from that very network from all other emails: an enumeration of the sprayer's own
network's regulars, nothing wider.

Confirmation: with no `send_code` (the default) a sign-up is confirmed at once, as before,
because the local backend sends no email: a code would go where no customer can read it (the
outbox is the admins'). Given `send_code(email, code)` (a mailer, or a test), a sign-up stays
unconfirmed until `confirm_sign_up` gets that code, as on Cognito: six digits, valid for a day
(CODE_TTL_S), dead after CODE_TRIES wrong guesses, stored as a SHA-256 hash.

Refresh tokens: sign-in returns an opaque random refresh token, kept as a SHA-256 hash for
REFRESH_TTL_S (30 days, Cognito's default), which `refresh` turns into a new ID token with
the user's current role. Sign-out ends all the user's refresh tokens, like Cognito's
GlobalSignOut; the ID token it presents is revoked by its jti.

Threads: each thread gets its own connection (the local server is threaded); `close()` closes
the calling thread's, the others close when their threads end.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from nailfolio import timestamps
from nailfolio.identity.provider import (
    CODE_TTL_S,
    DEFAULT_ROLE,
    LEEWAY_S,
    LOCAL_CLIENT_ID,
    LOCAL_ISSUER,
    MAX_TOKEN_CHARS,
    REFRESH_TTL_S,
    TOKEN_TTL_S,
    AccountExists,
    AlreadyConfirmed,
    ConfirmationNeeded,
    ExpiredCode,
    InvalidCode,
    InvalidCredentials,
    Principal,
    Tokens,
    TokenVerifier,
    TooManyAttempts,
    Unauthorized,
    User,
    UserNotFound,
    check_name,
    check_password,
    check_role,
    clean_code,
    fold_email,
    normalise_email,
)
from nailfolio.local import sqlite
from nailfolio.local.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from nailfolio.local.signing_key import load_signing_key, public_jwk
from nailfolio.ratelimit import client_network

APPLICATION_ID = 0x4E46_4964  # "NFId": marks a SQLite file as a Nailfolio identity store
ACCOUNT_KEY_MAX = 320  # a lookup key longer than any stored email is cut, never stored whole
CODE_TRIES = 5  # wrong guesses a code survives; then a new one must be sent

SendCode = Callable[[str, str], None]  # (email, code)

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        sub TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,  -- normalised: see identity.normalise_email
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admins', 'designers', 'customers')),
        password_hash TEXT NOT NULL,  -- $scrypt$ln=..,r=..,p=..$salt$key
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE revoked_tokens (
        jti TEXT PRIMARY KEY,
        expires_at REAL NOT NULL  -- the token's exp: the row can go once that has passed
    ) WITHOUT ROWID;
    CREATE INDEX revoked_by_expiry ON revoked_tokens (expires_at);
    CREATE TABLE sign_in_attempts (  -- failures, and attempts not decided yet
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL CHECK (scope IN ('account', 'address')),
        key TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX attempts_by_key ON sign_in_attempts (scope, key, at);
    CREATE INDEX attempts_by_time ON sign_in_attempts (at);
    """,
    # Familiar networks. The attempts of the first schema are at most 15 minutes old: dropped.
    """
    DROP TABLE sign_in_attempts;
    CREATE TABLE sign_in_attempts (  -- failures, and attempts not decided yet
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL,  -- the folded email, known or not
        network TEXT NOT NULL,  -- see _address_key
        familiar INTEGER NOT NULL CHECK (familiar IN (0, 1)),  -- to the account, at the time
        at REAL NOT NULL
    );
    CREATE INDEX attempts_by_pair ON sign_in_attempts (account, network, at);
    CREATE INDEX attempts_by_stranger ON sign_in_attempts (account, familiar, at);
    CREATE INDEX attempts_by_network ON sign_in_attempts (network, at);
    CREATE INDEX attempts_by_time ON sign_in_attempts (at);
    CREATE TABLE familiar_networks (  -- where each account has signed in successfully
        sub TEXT NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
        network TEXT NOT NULL,
        signed_in_at REAL NOT NULL,  -- the last success from it
        PRIMARY KEY (sub, network)
    ) WITHOUT ROWID;
    CREATE INDEX familiar_by_time ON familiar_networks (signed_in_at);
    """,
    # Confirmation codes and refresh tokens. Existing users were confirmed at sign-up.
    """
    ALTER TABLE users ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 1
        CHECK (confirmed IN (0, 1));
    CREATE TABLE sign_up_codes (
        sub TEXT PRIMARY KEY REFERENCES users (sub) ON DELETE CASCADE,
        code_hash TEXT NOT NULL,  -- SHA-256 of the code, hex
        expires_at REAL NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,  -- SHA-256 of the token, hex: the token is never stored
        sub TEXT NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX refresh_by_sub ON refresh_tokens (sub);
    CREATE INDEX refresh_by_expiry ON refresh_tokens (expires_at);
    """,
)


@dataclass(frozen=True)
class Throttle:
    """`limit` failures within `window_s` lock for `first_delay_s`, doubling per further
    failure up to `max_delay_s`, counted from the last failure."""

    limit: int
    window_s: float
    first_delay_s: float
    max_delay_s: float

    def delay(self, failures: int) -> float:
        return min(self.first_delay_s * 2 ** min(failures - self.limit, 30), self.max_delay_s)


# One account from one network, and one account from all the networks unfamiliar to it.
ACCOUNT_THROTTLE = Throttle(limit=5, window_s=86_400, first_delay_s=30, max_delay_s=900)
# One network's attempts at accounts it is not familiar to.
NETWORK_THROTTLE = Throttle(limit=20, window_s=900, first_delay_s=900, max_delay_s=900)
FAMILIAR_FOR_S = 90 * 86_400  # a network stays familiar this long after a success from it
_KEPT_S = max(ACCOUNT_THROTTLE.window_s, NETWORK_THROTTLE.window_s)

# The failures each count holds: (account, network), the network, the account from strangers.
_PAIR = "account = ? AND network = ?"
_NETWORK = "network = ?"
_STRANGERS = "account = ? AND familiar = 0"


class LocalIdentity(sqlite.SqliteStore):
    """IdentityProvider on one machine; safe to share between threads."""

    migrations = MIGRATIONS
    application_id = APPLICATION_ID

    def __init__(
        self,
        db_path: Path,
        key_path: Path,
        clock: Callable[[], float] = time.time,
        *,
        issuer: str = LOCAL_ISSUER,
        client_id: str = LOCAL_CLIENT_ID,
        send_code: SendCode | None = None,
    ) -> None:
        self.key_path = key_path
        self._send_code = send_code  # None: sign-ups are confirmed at once
        self.issuer = issuer
        self.client_id = client_id
        self._clock = clock
        self._key_lock = threading.Lock()
        self._signer: tuple[rsa.RSAPrivateKey, str, TokenVerifier] | None = None
        super().__init__(db_path)  # opens now: a bad database fails here, not at sign-in

    # -- accounts ---------------------------------------------------------------------------

    def sign_up(self, email: str, password: str, name: str = "") -> User:
        """A new customer, unconfirmed (and sent a code) if there is a `send_code`; raises
        InvalidEmail, WeakPassword, InvalidName or AccountExists."""
        user = self._insert(email, password, name, DEFAULT_ROLE, self._send_code is None)
        if not user.confirmed:
            self._send_new_code(user)
        return user

    def create_user(
        self, email: str, password: str, name: str = "", role: str = DEFAULT_ROLE
    ) -> User:
        """A confirmed account with its role (the admin's way in: no code is sent)."""
        return self._insert(email, password, name, check_role(role), True)

    def confirm_sign_up(self, email: str, code: str) -> None:
        """Raises InvalidCode (also for no such account), ExpiredCode or AlreadyConfirmed."""
        code = clean_code(code)
        now = self._clock()
        with sqlite.transaction(self._conn()) as db:
            user = db.execute(
                "SELECT sub, confirmed FROM users WHERE email = ?", (fold_email(email),)
            ).fetchone()
            if user is None:
                raise InvalidCode()
            if user[1]:
                raise AlreadyConfirmed("this account is confirmed already; sign in")
            select = "SELECT code_hash, expires_at, failures FROM sign_up_codes WHERE sub = ?"
            found = db.execute(select, (user[0],)).fetchone()
            if found is None or found[1] <= now or found[2] >= CODE_TRIES:
                raise ExpiredCode()
            right = hmac.compare_digest(found[0], _digest(code))
            if right:
                db.execute("UPDATE users SET confirmed = 1 WHERE sub = ?", (user[0],))
                db.execute("DELETE FROM sign_up_codes WHERE sub = ?", (user[0],))
            else:
                update = "UPDATE sign_up_codes SET failures = failures + 1 WHERE sub = ?"
                db.execute(update, (user[0],))
        if not right:  # raised after the commit, so the failure counts
            raise InvalidCode()

    def resend_code(self, email: str) -> None:
        """A new code for an unconfirmed account; raises UserNotFound or AlreadyConfirmed."""
        user = self.find_user(email)
        if user is None:
            raise UserNotFound(f"no user with email {fold_email(email)!r}")
        if user.confirmed or self._send_code is None:
            raise AlreadyConfirmed(f"{user.email} is confirmed already; sign in")
        self._send_new_code(user)

    def get_user(self, sub: str) -> User | None:
        return self._one("WHERE sub = ?", sub)

    def find_user(self, email: str) -> User | None:
        return self._one("WHERE email = ?", fold_email(email))

    def list_users(self) -> list[User]:
        """Every user, by email."""
        rows = self._conn().execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY email")
        return [_user(row) for row in rows]

    def set_role(self, email: str, role: str) -> User:
        """Give the user `role` (their only one); takes effect on their next request."""
        check_role(role)
        update = f"UPDATE users SET role = ? WHERE email = ? RETURNING {_USER_COLUMNS}"
        row = self._conn().execute(update, (role, fold_email(email))).fetchone()
        if row is None:
            raise UserNotFound(f"no user with email {fold_email(email)!r}")
        return _user(row)

    def delete_user(self, sub: str) -> None:
        """Delete the user; their tokens are refused from then on."""
        if not self._conn().execute("DELETE FROM users WHERE sub = ?", (sub,)).rowcount:
            raise UserNotFound(f"no user with sub {sub!r}")

    # -- sessions ---------------------------------------------------------------------------

    def sign_in(self, email: str, password: str, client_addr: str) -> Tokens:
        """Tokens for the right password; raises InvalidCredentials or TooManyAttempts."""
        now = self._clock()
        account = fold_email(email)[:ACCOUNT_KEY_MAX]
        network = _address_key(client_addr)
        self._record_attempt(account, network, now)
        select = f"SELECT password_hash, {_USER_COLUMNS} FROM users WHERE email = ?"
        row = self._conn().execute(select, (account,)).fetchone()
        stored = row[0] if row else dummy_hash()
        if not verify_password(password, stored) or row is None:
            raise InvalidCredentials()
        user = _user(row[1:])
        if not user.confirmed:  # the right password: its owner may learn this
            clear = f"DELETE FROM sign_in_attempts WHERE {_PAIR}"
            self._conn().execute(clear, (account, network))
            raise ConfirmationNeeded(user.email)
        refresh_token = secrets.token_urlsafe(32)
        rehashed = hash_password(password) if needs_rehash(stored) else None
        with sqlite.transaction(self._conn()) as db:
            # The account's failures from here were the owner's (this attempt's among them).
            db.execute(f"DELETE FROM sign_in_attempts WHERE {_PAIR}", (account, network))
            db.execute(
                "INSERT INTO familiar_networks (sub, network, signed_in_at) VALUES (?, ?, ?)"
                " ON CONFLICT (sub, network) DO UPDATE SET signed_in_at = excluded.signed_in_at",
                (user.sub, network, now),
            )
            db.execute(
                "DELETE FROM familiar_networks WHERE signed_in_at <= ?", (now - FAMILIAR_FOR_S,)
            )
            if rehashed:
                db.execute("UPDATE users SET password_hash = ? WHERE sub = ?", (rehashed, user.sub))
            db.execute("DELETE FROM refresh_tokens WHERE expires_at <= ?", (now,))
            db.execute(
                "INSERT INTO refresh_tokens (token_hash, sub, expires_at) VALUES (?, ?, ?)",
                (_digest(refresh_token), user.sub, now + REFRESH_TTL_S),
            )
        return replace(self._issue(user, now), refresh_token=refresh_token)

    def refresh(self, refresh_token: str) -> Tokens:
        """A new ID token, with the user's role as it is now; raises Unauthorized."""
        if not isinstance(refresh_token, str) or not 0 < len(refresh_token) <= MAX_TOKEN_CHARS:
            raise Unauthorized("missing or oversized refresh token")
        now = self._clock()
        select = f"SELECT {_USER_COLUMNS_OF_U} FROM refresh_tokens JOIN users AS u USING (sub)"
        row = self._conn().execute(
            f"{select} WHERE token_hash = ? AND expires_at > ?", (_digest(refresh_token), now)
        )
        found = row.fetchone()
        if found is None:
            raise Unauthorized("refresh token unknown, expired or signed out")
        return self._issue(_user(found), now)

    def sign_out(self, token: str) -> None:
        """Revoke the token (raises Unauthorized if it is not a valid one); idempotent."""
        principal = self._verifier().verify(token)
        if not principal.token_id:
            raise Unauthorized("no jti")
        now = self._clock()
        with sqlite.transaction(self._conn()) as db:
            db.execute(
                "INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)",
                (principal.token_id, principal.expires_at.timestamp()),
            )
            # Tokens past their expiry (and the leeway) are refused anyway: forget them.
            db.execute("DELETE FROM revoked_tokens WHERE expires_at < ?", (now - LEEWAY_S,))
            # Like Cognito's GlobalSignOut: no refresh token of the user works any more.
            db.execute("DELETE FROM refresh_tokens WHERE sub = ?", (principal.sub,))

    def verify(self, token: str) -> Principal:
        """The principal, with email, name and groups as the store has them now."""
        principal = self._verifier().verify(token)
        if not principal.token_id:
            raise Unauthorized("no jti")
        select = "SELECT 1 FROM revoked_tokens WHERE jti = ?"
        if self._conn().execute(select, (principal.token_id,)).fetchone():
            raise Unauthorized("revoked")
        user = self.get_user(principal.sub)
        if user is None:
            raise Unauthorized("user deleted")
        return replace(principal, email=user.email, name=user.name, groups=user.groups)

    def jwks(self) -> dict[str, Any]:
        """The public signing key, in the format of Cognito's /.well-known/jwks.json."""
        key, _kid, _verifier = self._signing()
        return {"keys": [public_jwk(key)]}

    # -- plumbing ---------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _insert(self, email: str, password: str, name: str, role: str, confirmed: bool) -> User:
        email = normalise_email(email)
        check_password(password)
        name = check_name(name)
        stored = hash_password(password)  # before the insert: a taken email costs the same
        user = User(str(uuid.uuid4()), email, name, (role,), self._now(), confirmed)
        created = timestamps.format_datetime(user.created_at)
        try:
            self._conn().execute(
                "INSERT INTO users (sub, email, name, role, password_hash, created_at, confirmed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user.sub, email, name, role, stored, created, int(confirmed)),
            )
        except sqlite3.IntegrityError:
            raise AccountExists(f"an account for {email} already exists; sign in") from None
        return user

    def _send_new_code(self, user: User) -> None:
        """Store a new code for the user (the old one dies) and send it."""
        assert self._send_code is not None
        code = f"{secrets.randbelow(10**6):06d}"
        self._conn().execute(
            "INSERT INTO sign_up_codes (sub, code_hash, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (sub) DO UPDATE SET code_hash = excluded.code_hash,"
            " expires_at = excluded.expires_at, failures = 0",
            (user.sub, _digest(code), self._clock() + CODE_TTL_S),
        )
        self._send_code(user.email, code)

    def _one(self, where: str, value: str) -> User | None:
        row = self._conn().execute(f"SELECT {_USER_COLUMNS} FROM users {where}", (value,))
        found = row.fetchone()
        return _user(found) if found else None

    def _record_attempt(self, account: str, network: str, now: float) -> None:
        """Record an attempt at the account from the network, or raise TooManyAttempts."""
        with sqlite.transaction(self._conn()) as db:
            db.execute("DELETE FROM sign_in_attempts WHERE at <= ?", (now - _KEPT_S,))
            familiar = _is_familiar(db, account, network, now)
            checks = [(_PAIR, (account, network), ACCOUNT_THROTTLE)]
            if not familiar:
                checks.append((_NETWORK, (network,), NETWORK_THROTTLE))
                checks.append((_STRANGERS, (account,), ACCOUNT_THROTTLE))
            wait = max(_lock_left(db, where, args, rule, now) for where, args, rule in checks)
            if not wait:
                db.execute(
                    "INSERT INTO sign_in_attempts (account, network, familiar, at)"
                    " VALUES (?, ?, ?, ?)",
                    (account, network, int(familiar), now),
                )
        if wait:
            raise TooManyAttempts(math.ceil(wait))

    def _signing(self) -> tuple[rsa.RSAPrivateKey, str, TokenVerifier]:
        with self._key_lock:
            if self._signer is None:
                key = load_signing_key(self.key_path)
                jwks = {"keys": [public_jwk(key)]}
                verifier = TokenVerifier(jwks, self.issuer, self.client_id, clock=self._clock)
                self._signer = (key, jwks["keys"][0]["kid"], verifier)
            return self._signer

    def _verifier(self) -> TokenVerifier:
        return self._signing()[2]

    def _issue(self, user: User, now: float) -> Tokens:
        key, kid, _verifier = self._signing()
        issued = int(now)
        claims = {
            "sub": user.sub,
            "email": user.email,
            "email_verified": False,  # the local backend never confirms addresses
            "cognito:username": user.sub,  # Cognito's username when email is the sign-in name
            "cognito:groups": list(user.groups),
            "name": user.name,
            "token_use": "id",
            "iss": self.issuer,
            "aud": self.client_id,
            "auth_time": issued,
            "iat": issued,
            "exp": issued + TOKEN_TTL_S,
            "jti": str(uuid.uuid4()),
        }
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
        return Tokens(token, datetime.fromtimestamp(issued + TOKEN_TTL_S, UTC))


_USER_COLUMNS = "sub, email, name, role, created_at, confirmed"
_USER_COLUMNS_OF_U = "u.sub, u.email, u.name, u.role, u.created_at, u.confirmed"


def _user(row: tuple[Any, ...]) -> User:
    sub, email, name, role, created_at, confirmed = row
    return User(sub, email, name, (role,), datetime.fromisoformat(created_at), bool(confirmed))


def _digest(secret: str) -> str:
    """What is stored of a code or refresh token: its SHA-256, hex (both are random enough
    that no salt or slow hash is needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _address_key(client_addr: str) -> str:
    """What the throttle counts a client as: its network, or the text as given if it is not
    an address."""
    try:
        return client_network(client_addr)
    except ValueError:
        return client_addr.strip() or "unknown"


def _is_familiar(db: sqlite3.Connection, account: str, network: str, now: float) -> bool:
    """Whether the account (an existing one) has signed in from the network lately."""
    found = db.execute(
        "SELECT 1 FROM familiar_networks JOIN users USING (sub)"
        " WHERE users.email = ? AND network = ? AND signed_in_at > ?",
        (account, network, now - FAMILIAR_FOR_S),
    )
    return found.fetchone() is not None


def _lock_left(
    db: sqlite3.Connection, where: str, args: tuple[str, ...], throttle: Throttle, now: float
) -> float:
    """Seconds until the attempts `where` selects may go on (0: they may now)."""
    count, last = db.execute(
        f"SELECT COUNT(*), MAX(at) FROM sign_in_attempts WHERE {where} AND at > ?",
        (*args, now - throttle.window_s),
    ).fetchone()
    if count < throttle.limit:
        return 0.0
    return max(0.0, last + throttle.delay(count) - now)
