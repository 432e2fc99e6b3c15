"""The guard that keeps tests on this machine: fake AWS credentials, loopback-only sockets.

Each test swaps the real socket functions for stubs first, so that even a broken guard
sends nothing anywhere."""

from __future__ import annotations

import os
import socket
from typing import Any

import network_guard
import pytest
from network_guard import NetworkRefused, is_local


@pytest.fixture
def nothing_leaves(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """The real connect and lookup replaced by stubs that only record what reached them."""
    reached: list[tuple[str, Any]] = []

    def recorder(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> int:
            reached.append((name, args))
            return 0

        return record

    for name in ("connect", "connect_ex", "getaddrinfo"):
        monkeypatch.setitem(network_guard._real, name, recorder(name))
    return reached


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", True),
        (None, True),
        ("192.0.2.1", False),
        ("10.0.0.1", False),
        ("2001:db8::1", False),
        ("s3.eu-west-1.amazonaws.com", False),
        ("cognito-idp.eu-west-1.amazonaws.com", False),
    ],
)
def test_only_loopback_counts_as_local(host: object, local: bool) -> None:
    assert is_local(host) is local


def test_a_connect_to_another_host_is_refused_before_it_happens(
    nothing_leaves: list[tuple[str, Any]],
) -> None:
    with socket.socket() as sock, pytest.raises(NetworkRefused, match="tests stay on loopback"):
        sock.connect(("192.0.2.1", 443))
    with socket.socket() as sock, pytest.raises(NetworkRefused):
        sock.connect_ex(("192.0.2.1", 443))
    with pytest.raises(NetworkRefused):
        socket.getaddrinfo("example.com", 443)
    assert nothing_leaves == []


def test_loopback_goes_through(nothing_leaves: list[tuple[str, Any]]) -> None:
    with socket.socket() as sock:
        sock.connect(("127.0.0.1", 9))
    socket.getaddrinfo("localhost", 80)
    assert [name for name, _args in nothing_leaves] == ["connect", "getaddrinfo"]


def test_boto3_cannot_reach_aws(nothing_leaves: list[tuple[str, Any]]) -> None:
    """Outside mock_aws, a real call fails on the guard, with the fake credentials."""
    import boto3
    import botocore.exceptions

    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    from botocore.config import Config

    once = Config(retries={"max_attempts": 1, "mode": "standard"})  # no backoff to wait out
    client = boto3.client("s3", region_name="eu-west-1", config=once)
    assert client.meta.region_name == "eu-west-1"
    with pytest.raises((NetworkRefused, botocore.exceptions.EndpointConnectionError)) as raised:
        client.list_buckets()
    assert "amazonaws.com" in str(raised.value)
    assert nothing_leaves == []
