"""The sign-in throttle of the local identity: wrong guesses slow the guesser, not the
account's owner on a network the account has signed in from before."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from nailfolio.identity.provider import InvalidCredentials, TooManyAttempts, User
from nailfolio.local import sqlite
from nailfolio.local.passwords import hash_password
from nailfolio.local.sqlite_identity import APPLICATION_ID, MIGRATIONS, LocalIdentity

PASSWORD = "Nail-Art-2024"
WRONG = "Wrong-Guess-1"
CGNAT = "203.0.113.{}"  # one carrier-grade NAT /24: the admin and strangers share it
HOME = "198.51.100.7"
START = 1_750_000_000.0
DAY = 86_400


class FakeClock:
    """Stands in for time.time: tests move it forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def signing_pem(signing_key_pem: bytes) -> bytes:
    """The session's one RSA key (conftest): making one costs up to half a second."""
    return signing_key_pem


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "identity.sqlite3"


@pytest.fixture
def identity(
    tmp_path: Path, db_path: Path, clock: FakeClock, signing_pem: bytes
) -> Iterator[LocalIdentity]:
    key = tmp_path / "identity" / "signing-key.pem"
    key.parent.mkdir(mode=0o700)
    key.write_bytes(signing_pem)
    key.chmod(0o600)
    with LocalIdentity(db_path, key, clock=clock) as store:
        yield store


def _user(identity: LocalIdentity, email: str, *signed_in_from: str) -> User:
    """A new account that has signed in successfully from each of `signed_in_from`."""
    user = identity.sign_up(email, PASSWORD)
    for addr in signed_in_from:
        identity.sign_in(email, PASSWORD, addr)
    return user


def _fail(identity: LocalIdentity, email: str, addr: str, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            identity.sign_in(email, WRONG, addr)


def _locked_for(identity: LocalIdentity, email: str, addr: str) -> int:
    """Seconds the right password is refused for, checking the message says so."""
    with pytest.raises(TooManyAttempts) as caught:
        identity.sign_in(email, PASSWORD, addr)
    retry_after = caught.value.retry_after
    assert str(caught.value) == f"too many sign-in attempts; try again in {retry_after} s"
    return retry_after


def _spray(identity: LocalIdentity, attempts: int, tag: str = "guess") -> list[str]:
    """Wrong sign-ins for made-up emails from addresses all over the CGNAT /24: outcomes."""
    outcomes = []
    for n in range(attempts):
        try:
            identity.sign_in(f"{tag}-{n}@example.com", WRONG, CGNAT.format(20 + n % 200))
        except (InvalidCredentials, TooManyAttempts) as exc:
            outcomes.append(type(exc).__name__)
    return outcomes


SLOWED = ["InvalidCredentials"] * 20 + ["TooManyAttempts"] * 5


def test_a_spray_from_the_admins_network_never_locks_the_admin_out(
    identity: LocalIdentity, clock: FakeClock
) -> None:
    admin = _user(identity, "boss@example.com", CGNAT.format(7))
    identity.set_role(admin.email, "admins")
    clock.advance(DAY)
    for attack in range(2):  # the spray repeated once its lock has passed
        assert _spray(identity, 25, tag=f"attack{attack}") == SLOWED
        token = identity.sign_in(admin.email, PASSWORD, CGNAT.format(9)).id_token
        assert identity.verify(token).has_role("admins")
        clock.advance(900)


def test_the_spray_is_slowed_for_accounts_new_to_the_network(
    identity: LocalIdentity, clock: FakeClock
) -> None:
    traveller = _user(identity, "bea@example.com", HOME)  # familiar elsewhere only
    newcomer = _user(identity, "cleo@example.com")  # has never signed in
    for n in range(20):
        _fail(identity, f"guess-{n}@example.com", CGNAT.format(20 + n))
        clock.advance(1)
    assert _locked_for(identity, "guess-99@example.com", CGNAT.format(9)) == 900 - 1
    assert _locked_for(identity, traveller.email, CGNAT.format(9)) == 900 - 1
    assert _locked_for(identity, newcomer.email, CGNAT.format(9)) == 900 - 1
    assert identity.sign_in(traveller.email, PASSWORD, HOME).id_token  # at home: fine
    clock.advance(900)
    assert identity.sign_in(newcomer.email, PASSWORD, CGNAT.format(9)).id_token


@pytest.mark.parametrize("familiar", [True, False], ids=["familiar", "unfamiliar"])
def test_guessing_one_account_from_one_network_slows_exponentially(
    identity: LocalIdentity, clock: FakeClock, familiar: bool
) -> None:
    """A day's memory: after the first 15 minutes the guesser is no faster again. From the
    account's own network this also refuses its owner: the one case the design leaves."""
    user = _user(identity, "ana@example.com", *([HOME] if familiar else []))
    _fail(identity, user.email, HOME, times=5)
    for delay in (30, 60, 120, 240, 480, 900, 900, 900):
        assert _locked_for(identity, user.email, HOME) == delay
        clock.advance(delay)
        _fail(identity, user.email, HOME)
    assert clock.now - START > 3000  # far past the old 15-minute window
    assert _locked_for(identity, user.email, HOME) == 900


def test_guessing_one_account_from_many_networks_stays_slow(
    identity: LocalIdentity, clock: FakeClock
) -> None:
    user = _user(identity, "ana@example.com", HOME)
    networks = (f"192.0.{n}.1" for n in range(1, 100))  # a new /24 for every guess
    for _ in range(5):
        _fail(identity, user.email, next(networks))
    for delay in (30, 60, 120, 240, 480, 900, 900):
        assert _locked_for(identity, user.email, next(networks)) == delay
        clock.advance(delay)
        _fail(identity, user.email, next(networks))
    assert identity.sign_in(user.email, PASSWORD, HOME).id_token  # the owner, at home
    assert _locked_for(identity, user.email, next(networks)) == 900  # still slow elsewhere


@pytest.mark.parametrize("spread", [1, 12], ids=["one-network", "many-networks"])
def test_the_owner_on_a_familiar_network_is_not_refused_for_failures_elsewhere(
    identity: LocalIdentity, clock: FakeClock, spread: int
) -> None:
    user = _user(identity, "ana@example.com", HOME)
    for n in range(24):
        with suppress(InvalidCredentials, TooManyAttempts):  # refused: the guesser slowed
            identity.sign_in(user.email, WRONG, f"192.0.{n % spread}.1")
        clock.advance(60)
    token = identity.sign_in(user.email, PASSWORD, "198.51.100.200").id_token  # same /24
    assert identity.verify(token).sub == user.sub


def test_a_success_forgets_that_networks_failures_for_the_account_only(
    identity: LocalIdentity, clock: FakeClock
) -> None:
    user = _user(identity, "ana@example.com", HOME)
    _fail(identity, user.email, HOME, times=4)  # the owner's own typos
    identity.sign_in(user.email, PASSWORD, HOME)
    _fail(identity, user.email, HOME, times=4)
    identity.sign_in(user.email, PASSWORD, HOME)
    _fail(identity, user.email, HOME, times=5)
    assert _locked_for(identity, user.email, HOME) == 30


def test_a_network_stops_being_familiar_after_90_days(
    identity: LocalIdentity, clock: FakeClock
) -> None:
    user = _user(identity, "ana@example.com", CGNAT.format(7))
    clock.advance(89 * DAY)
    identity.sign_in(user.email, PASSWORD, CGNAT.format(8))  # a success renews the 90 days
    clock.advance(89 * DAY)
    assert _spray(identity, 25) == SLOWED
    assert identity.sign_in(user.email, PASSWORD, CGNAT.format(9)).id_token
    clock.advance(91 * DAY)
    assert _spray(identity, 25, tag="later") == SLOWED
    assert _locked_for(identity, user.email, CGNAT.format(9)) > 0


def test_a_deleted_accounts_networks_are_not_inherited(
    identity: LocalIdentity, clock: FakeClock
) -> None:
    old = _user(identity, "ana@example.com", CGNAT.format(7))
    identity.delete_user(old.sub)
    identity.sign_up("ana@example.com", PASSWORD)  # someone else takes the email
    assert _spray(identity, 25) == SLOWED
    assert _locked_for(identity, "ana@example.com", CGNAT.format(7)) > 0


def test_old_attempts_and_familiar_networks_are_pruned(
    identity: LocalIdentity, clock: FakeClock, db_path: Path
) -> None:
    user = _user(identity, "ana@example.com", HOME)
    _spray(identity, 25)
    _fail(identity, user.email, HOME, times=3)
    clock.advance(91 * DAY)
    _user(identity, "bea@example.com", "192.0.2.1")
    with sqlite3.connect(db_path) as db:
        attempts = db.execute("SELECT account, network FROM sign_in_attempts").fetchall()
        networks = db.execute("SELECT network FROM familiar_networks").fetchall()
    db.close()
    assert (attempts, networks) == ([], [("192.0.2.0/24",)])


def test_a_store_of_the_first_schema_is_migrated_and_keeps_its_users(
    db_path: Path, tmp_path: Path, clock: FakeClock, signing_pem: bytes
) -> None:
    old = sqlite.connect(db_path, MIGRATIONS[:1], application_id=APPLICATION_ID)
    old.execute(
        "INSERT INTO users VALUES ('sub-1', 'ana@example.com', 'Ana', 'admins', ?, '2025-01-01')",
        (hash_password(PASSWORD),),
    )
    old.execute("INSERT INTO sign_in_attempts (scope, key, at) VALUES ('account', 'x', 1.0)")
    old.close()
    key = tmp_path / "key.pem"
    key.write_bytes(signing_pem)
    key.chmod(0o600)
    with LocalIdentity(db_path, key, clock=clock) as identity:
        assert identity.sign_in("ana@example.com", PASSWORD, HOME).id_token
    with sqlite3.connect(db_path) as db:
        assert sqlite.schema_version(db) == len(MIGRATIONS) > 1
    db.close()
