"""Keeps the test suite on this machine: no test can reach AWS, or anything else.

`install()` (called by conftest.py at import, so before any test or fixture runs) gives the
process fake AWS credentials and a region, so boto3 never finds real ones, and wraps socket
connects and name lookups so that anything but a loopback address, a Unix socket or a
loopback name is refused before a packet is sent. moto's `mock_aws` works below sockets and
ThreadedMotoServer listens on 127.0.0.1, so both pass; a real AWS endpoint fails at once
with NetworkRefused naming the host.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
    "AWS_CONFIG_FILE": os.devnull,  # never a developer's own profile
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_INET = (socket.AF_INET, socket.AF_INET6)


class NetworkRefused(ConnectionRefusedError):
    """A test tried to leave this machine."""


def is_local(host: object) -> bool:
    """Whether `host` (an address or a name) stays on this machine."""
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard or loopback
    text = (host.decode() if isinstance(host, bytes) else str(host)).strip("[]").lower()
    if text in LOOPBACK_NAMES or text.endswith(".localhost") or text == "":
        return True
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return False  # a name other than loopback's: resolving it would already go out
    return address.is_loopback or address.is_unspecified


def _refuse(host: object) -> None:
    raise NetworkRefused(f"a test tried to reach {host!r}: tests stay on loopback")


# The real functions, looked up at each call (a test of the guard swaps them for stubs, so
# that a broken guard still sends nothing).
_real: dict[str, Any] = {}


def _connect(self: socket.socket, address: Any) -> None:
    if self.family in _INET and not is_local(address[0]):
        _refuse(address[0])
    return _real["connect"](self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in _INET and not is_local(address[0]):
        _refuse(address[0])
    return _real["connect_ex"](self, address)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not is_local(host):
        _refuse(host)
    return _real["getaddrinfo"](host, *args, **kwargs)


def install() -> None:
    """Fake AWS credentials, and loopback-only sockets, for the rest of this process."""
    os.environ.update(FAKE_AWS)
    if _real:
        return  # installed already
    _real.update(
        connect=socket.socket.connect,
        connect_ex=socket.socket.connect_ex,
        getaddrinfo=socket.getaddrinfo,
    )
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo
