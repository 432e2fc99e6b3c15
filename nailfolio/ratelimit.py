"""Rate limiting: the RateLimiter port and client-address helpers, shared by comments and
identity (its local adapter is nailfolio.local.sqlite_rate_limiter).

Fixed windows anchored at a bucket's first hit: the first hit opens a window of
`window_seconds`, at most `limit` hits are allowed in it, and the first hit after it has
ended opens the next one. A refused hit is not counted, so a client that keeps retrying is
let in again as soon as its window ends; `retry_after` is the whole seconds until then.
Windows are not aligned to the clock, so "limit hits within window_seconds of the first"
holds exactly wherever the hits fall; a client can still spend `limit` at the end of one
window and `limit` at the start of the next (at most 2 x limit over any `window_seconds`).
One row and one atomic statement per hit; on DynamoDB the same is a conditional UpdateItem
(count < limit while the window lasts) with a second conditional one to open a new window.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Protocol

from nailfolio.errors import NailfolioError

IPV4_PREFIX = 24  # client_network groups IPv4 clients by /24
IPV6_PREFIX = 64  # and IPv6 clients by /64 (one subscriber's usual allocation)


Address = IPv4Address | IPv6Address


class RateLimited(NailfolioError):
    """Too many requests: try again after `retry_after` seconds (HTTP 429, Retry-After)."""

    def __init__(self, retry_after: int, what: str = "requests") -> None:
        unit = "second" if retry_after == 1 else "seconds"
        super().__init__(f"Too many {what}; try again in {retry_after} {unit}")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Decision:
    """The answer to one hit: allowed, or refused until `retry_after` seconds from now."""

    allowed: bool
    retry_after: int = 0


@dataclass(frozen=True)
class RateRule:
    """At most `limit` hits per `window_seconds`."""

    limit: int
    window_seconds: int


class RateLimiter(Protocol):
    """Counts hits per bucket; a refused hit is not counted."""

    def hit(self, bucket: str, limit: int, window_seconds: int) -> Decision: ...


def check_hit(bucket: str, limit: int, window_seconds: int) -> None:
    """What every adapter's `hit` refuses: a nameless bucket, a limit or window below 1."""
    if not bucket:
        raise ValueError("a rate-limit bucket needs a name")
    if limit < 1 or window_seconds < 1:
        raise ValueError(f"limit ({limit}) and window_seconds ({window_seconds}) must be >= 1")


def enforce(limiter: RateLimiter, hits: Iterable[tuple[str, RateRule]], what: str) -> None:
    """Hit each (bucket, rule) in order; raise RateLimited at the first refusal.

    Hits before the refusing one have been counted: put the cheapest-to-refuse rule first.
    """
    for bucket, rule in hits:
        decision = limiter.hit(bucket, rule.limit, rule.window_seconds)
        if not decision.allowed:
            raise RateLimited(decision.retry_after, what)


def client_network(ip: str) -> str:
    """The network a client address is limited as: "a.b.c.0/24" for IPv4, "x:x:x:x::/64" for
    IPv6 (an IPv4-mapped IPv6 address counts as its IPv4 address). Raises ValueError."""
    address = _parse_address(ip)
    if address is None:
        raise ValueError(f"{ip!r} is not an IP address")
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network((address, prefix), strict=False))


def client_ip(remote_addr: str, forwarded_for: str | None, trusted_proxies: Sequence[str]) -> str:
    """The client's address: the TCP peer, unless the peer is a trusted proxy (a CIDR in
    `trusted_proxies`), in which case X-Forwarded-For is walked from the right past trusted
    proxies to the first address none of them is. Join repeated X-Forwarded-For headers with
    ", " before calling. An entry that is not an address stops the walk at the hop that sent
    it (only a client writes garbage; a trusted proxy appends its peer's real address).
    Raises ValueError if `remote_addr` or a CIDR is malformed."""
    if isinstance(trusted_proxies, str):
        raise TypeError("trusted_proxies must be a sequence of CIDRs, not one string")
    peer = _parse_address(remote_addr)
    if peer is None:
        raise ValueError(f"remote address {remote_addr!r} is not an IP address")
    networks = [ipaddress.ip_network(cidr.strip(), strict=False) for cidr in trusted_proxies]
    client = peer
    if forwarded_for and _is_trusted(peer, networks):
        for hop in reversed(forwarded_for.split(",")):
            address = _parse_address(hop)
            if address is None:
                break
            client = address
            if not _is_trusted(address, networks):
                break
    return str(client)


def viewer_address(text: str) -> str | None:
    """The address in CloudFront's CloudFront-Viewer-Address header ("198.51.100.7:443",
    "2001:db8::1:443": the port after the last colon, IPv6 unbracketed), or None."""
    host, colon, port = text.strip().rpartition(":")
    if not colon or not port.isdigit():
        return None
    address = _parse_address(host)
    return None if address is None else str(address)


def _is_trusted(address: Address, networks: Sequence[IPv4Network | IPv6Network]) -> bool:
    return any(address in network for network in networks)


def _parse_address(text: str) -> Address | None:
    """An address from "1.2.3.4", "1.2.3.4:567", "[2001:db8::1]:567" or "fe80::1%eth0",
    with IPv4-mapped IPv6 turned into IPv4; None if it is none of those."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # IPv4 with a port
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
