"""Rate limiting: windows opened by a bucket's first hit, and the client's address and network."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from moto_dynamodb import atomic_dynamodb, dynamodb_client

from nailfolio.aws.dynamodb import rate_limit_table, rate_limit_time_to_live
from nailfolio.aws.dynamodb_rate_limiter import DynamoRateLimiter
from nailfolio.local import sqlite_rate_limiter
from nailfolio.local.sqlite_rate_limiter import SqliteRateLimiter
from nailfolio.ratelimit import (
    Decision,
    RateLimited,
    RateLimiter,
    RateRule,
    client_ip,
    client_network,
    enforce,
    viewer_address,
)

RATE_LIMIT_TABLE = "nailfolio-ratelimit"


class FakeClock:
    def __init__(self, now: float = 1_000_040.0) -> None:  # 20 s into a clock minute
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


OpenLimiter = Callable[[Callable[[], float]], RateLimiter]


@pytest.fixture(params=["sqlite", "dynamodb"])
def open_limiter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenLimiter]:
    """Opens another limiter on the same counters each call (another connection, or client)."""
    sqlite_limiters: list[SqliteRateLimiter] = []

    def open_(clock: Callable[[], float]) -> RateLimiter:
        if request.param == "dynamodb":
            client = dynamodb_client()
            return DynamoRateLimiter(client, RATE_LIMIT_TABLE, clock=clock)
        limiter = SqliteRateLimiter(tmp_path / "ratelimit.sqlite3", clock=clock)
        sqlite_limiters.append(limiter)
        return limiter

    with contextlib.ExitStack() as stack:
        if request.param == "dynamodb":
            stack.enter_context(atomic_dynamodb())
            client = dynamodb_client()
            client.create_table(**rate_limit_table(RATE_LIMIT_TABLE))
            client.update_time_to_live(**rate_limit_time_to_live(RATE_LIMIT_TABLE))
        yield open_
        for limiter in sqlite_limiters:
            limiter.close()


@pytest.fixture
def limiter(open_limiter: OpenLimiter, clock: FakeClock) -> RateLimiter:
    return open_limiter(clock)


@pytest.fixture
def sqlite_limiter(tmp_path: Path, clock: FakeClock) -> Iterator[SqliteRateLimiter]:
    with SqliteRateLimiter(tmp_path / "ratelimit.sqlite3", clock=clock) as limiter:
        yield limiter


def test_allows_up_to_the_limit_then_says_when_the_window_ends(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    assert [limiter.hit("a", 3, 60).allowed for _ in range(3)] == [True, True, True]
    assert limiter.hit("a", 3, 60) == Decision(False, 60)  # the window opened at the first hit
    clock.now += 59.5
    assert limiter.hit("a", 3, 60) == Decision(False, 1)  # rounded up, never 0
    clock.now += 0.5  # the next window opens
    assert limiter.hit("a", 3, 60) == Decision(True, 0)


def test_windows_do_not_follow_the_clock(limiter: RateLimiter, clock: FakeClock) -> None:
    """Hits on both sides of a clock minute are one window: no free burst at :00."""
    clock.now = 1_000_079.5  # half a second before a clock minute ends
    assert limiter.hit("a", 1, 60).allowed
    clock.now += 1  # the clock minute turned; the bucket's window did not
    assert limiter.hit("a", 1, 60) == Decision(False, 59)


def test_refused_hits_are_not_counted(limiter: RateLimiter, clock: FakeClock) -> None:
    limiter.hit("a", 1, 60)
    for _ in range(10):
        assert not limiter.hit("a", 1, 60).allowed
    clock.now += 60
    assert limiter.hit("a", 1, 60).allowed
    assert not limiter.hit("a", 1, 60).allowed


def test_buckets_and_windows_are_counted_apart(limiter: RateLimiter) -> None:
    assert limiter.hit("a", 1, 60).allowed
    assert limiter.hit("b", 1, 60).allowed
    assert limiter.hit("a", 1, 86_400).allowed  # same bucket, another window length
    assert not limiter.hit("a", 1, 60).allowed
    assert limiter.hit("a", 1, 86_400) == Decision(False, 86_400)


def test_a_clock_running_behind_does_not_reset_a_newer_window(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    limiter.hit("a", 1, 60)
    clock.now -= 60  # another process whose clock lags one window
    assert not limiter.hit("a", 1, 60).allowed


def test_counters_survive_a_new_limiter_on_the_same_store(
    open_limiter: OpenLimiter, clock: FakeClock
) -> None:
    open_limiter(clock).hit("a", 1, 60)
    assert not open_limiter(clock).hit("a", 1, 60).allowed


def test_hits_are_atomic_across_threads_and_connections(open_limiter: OpenLimiter) -> None:
    limiters = [open_limiter(lambda: 1_000_000.0) for _ in range(4)]
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker(limiter: RateLimiter) -> None:
        for _ in range(25):
            decision = limiter.hit("shared", 37, 3600)
            with lock:
                allowed.append(decision.allowed)

    threads = [threading.Thread(target=worker, args=(limiters[i % 4],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 200
    assert allowed.count(True) == 37


def test_fifty_threads_on_one_bucket_get_exactly_the_limit(open_limiter: OpenLimiter) -> None:
    limiter = open_limiter(lambda: 1_000_000.0)
    start = threading.Barrier(50)
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()  # all at once: the first hits race to open the window
        decision = limiter.hit("burst", 10, 60)
        with lock:
            allowed.append(decision.allowed)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 50
    assert allowed.count(True) == 10


def test_ended_windows_are_pruned(
    sqlite_limiter: RateLimiter, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_rate_limiter, "PRUNE_EVERY", 3)
    sqlite_limiter.hit("old", 5, 60)
    clock.now += 120
    sqlite_limiter.hit("new", 5, 60)
    sqlite_limiter.hit("new", 5, 60)  # third hit: sweeps
    rows = sqlite_limiter._conn().execute("SELECT bucket FROM hits").fetchall()
    assert rows == [("new",)]


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (5, 0)])
def test_refuses_meaningless_rules(limiter: RateLimiter, limit: int, window: int) -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        limiter.hit("a", limit, window)


def test_refuses_a_bucket_without_a_name(limiter: RateLimiter) -> None:
    with pytest.raises(ValueError, match="needs a name"):
        limiter.hit("", 1, 60)


def test_enforce_raises_rate_limited_with_retry_after(limiter: RateLimiter) -> None:
    rules = [("net", RateRule(10, 60)), ("account", RateRule(1, 60))]
    enforce(limiter, rules, "comments")
    with pytest.raises(RateLimited, match="Too many comments; try again in 60 seconds") as caught:
        enforce(limiter, rules, "comments")
    assert caught.value.retry_after == 60


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("10.1.2.3", "10.1.2.0/24"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),  # IPv4-mapped counts as IPv4
        ("::1", "::/64"),
        ("fe80::1%eth0", "fe80::/64"),
    ],
)
def test_client_network(ip: str, network: str) -> None:
    assert client_network(ip) == network


@pytest.mark.parametrize("ip", ["", "not-an-ip", "300.1.1.1", "1.2.3.4/24"])
def test_client_network_refuses_non_addresses(ip: str) -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        client_network(ip)


PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # No proxy in front: the peer is the client, X-Forwarded-For is ignored.
        ("203.0.113.5", None, "203.0.113.5"),
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # spoofed by an untrusted peer
        # Through one trusted proxy: the address it appended.
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        # A client's forged entries sit left of what the trusted proxy appended.
        ("10.0.0.2", "1.1.1.1, 10.9.9.9, 198.51.100.1", "198.51.100.1"),
        # Two trusted proxies: walk past both.
        ("10.0.0.2", "198.51.100.1, 10.0.0.3", "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1,10.0.0.3 , 10.0.0.4", "198.51.100.1"),
        # Every hop trusted: the leftmost is as far as we can see.
        ("10.0.0.2", "10.0.0.7, 10.0.0.3", "10.0.0.7"),
        # Garbage stops the walk at the hop that sent it.
        ("10.0.0.2", "198.51.100.1, garbage, 10.0.0.3", "10.0.0.3"),
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", " , ", "10.0.0.2"),
        # Ports, brackets and IPv4-mapped peers.
        ("10.0.0.2", "198.51.100.1:4711", "198.51.100.1"),
        ("10.0.0.2", "[2001:db8::7]:443", "2001:db8::7"),
        ("::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("::ffff:203.0.113.5", None, "203.0.113.5"),
        # IPv6 proxies.
        ("2001:db8:ffff::1", "2001:db8:1::9", "2001:db8:1::9"),
        ("2001:db8:1::1", "2001:db8:2::9", "2001:db8:1::1"),
    ],
)
def test_client_ip(remote: str, forwarded: str | None, expected: str) -> None:
    assert client_ip(remote, forwarded, PROXIES) == expected


def test_client_ip_without_trusted_proxies_is_the_peer() -> None:
    assert client_ip("10.0.0.2", "198.51.100.1", []) == "10.0.0.2"


def test_client_ip_refuses_bad_configuration() -> None:
    with pytest.raises(ValueError):
        client_ip("10.0.0.2", None, ["10.0.0.0/33"])
    with pytest.raises(TypeError, match="not one string"):
        client_ip("10.0.0.2", None, "10.0.0.0/8")
    with pytest.raises(ValueError, match="not an IP address"):
        client_ip("nowhere", None, PROXIES)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("198.51.100.7:443", "198.51.100.7"),
        ("2001:db8::7:51234", "2001:db8::7"),
        ("2001:0db8:0000::0007:80", "2001:db8::7"),
        ("198.51.100.7", None),  # no port: not what CloudFront writes
        ("nonsense:443", None),
        (":443", None),
        ("", None),
    ],
)
def test_viewer_address_reads_cloudfronts_header(header: str, expected: str | None) -> None:
    assert viewer_address(header) == expected
