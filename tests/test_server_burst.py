"""The loopback server under a burst: every client is answered, none is reset."""

from __future__ import annotations

import errno
import resource
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nailfolio.web.server import SiteServer, make_server

BURST = 600
OLD_BACKLOG = 128  # the listen queue before this test: 400 clients at once overflowed it
HANDSHAKE_S = 0.8  # under the kernel's 1 s SYN retransmission: a dropped SYN shows as late
DEADLINE_S = 30  # for every answer of the burst; a few seconds are usual
REQUEST = b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def _somaxconn() -> int:
    """The kernel's cap on a listen queue, where it can be read."""
    try:
        return int(Path("/proc/sys/net/core/somaxconn").read_text())
    except (OSError, ValueError):
        return BURST


@dataclass
class Client:
    """One connection of the burst and what it received."""

    sock: socket.socket
    received: bytearray = field(default_factory=bytearray)
    outcome: str = ""  # the status line, or the socket error's name


@pytest.fixture
def burst() -> Iterator[int]:
    """How many clients the burst has: BURST, or fewer where the kernel caps listen queues
    or open files lower; never as few as the old backlog (128), which reset under 400."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * BURST + 256  # both ends of every connection live in this one process
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raise_to = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raise_to, max(raise_to, hard)))
        except (ValueError, OSError):  # raising the hard limit takes root
            resource.setrlimit(resource.RLIMIT_NOFILE, (raise_to, hard))
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    files = BURST if limit == resource.RLIM_INFINITY else (limit - 256) // 2
    count = min(BURST, _somaxconn(), files)
    assert count > OLD_BACKLOG, (
        f"this machine allows a burst of only {count} (somaxconn {_somaxconn()}, "
        f"{limit} open files): raise net.core.somaxconn or the open-file limit"
    )
    yield count
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture
def static_server(tmp_path: Path) -> Iterator[SiteServer]:
    (tmp_path / "index.html").write_text("<h1>Gallery</h1>" * 64)
    server = make_server(tmp_path, port=0, api=False)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _open_all(port: int, count: int) -> list[Client]:
    """Start `count` connections at once (non-blocking: the SYNs leave back to back)."""
    clients = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        clients.append(Client(sock))
    return clients


def _late_handshakes(clients: list[Client]) -> int:
    """How many connections are not established within HANDSHAKE_S (their SYN was dropped)."""
    with selectors.DefaultSelector() as selector:
        for client in clients:
            selector.register(client.sock, selectors.EVENT_WRITE)
        end = time.monotonic() + HANDSHAKE_S
        while selector.get_map() and (left := end - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                selector.unregister(key.fileobj)
        return len(selector.get_map())


def _exchange_all(clients: list[Client]) -> None:
    """Send each client's request and read its whole answer, until the server closes."""
    with selectors.DefaultSelector() as selector:
        for client in clients:
            selector.register(client.sock, selectors.EVENT_WRITE, client)
        end = time.monotonic() + DEADLINE_S
        while selector.get_map() and (left := end - time.monotonic()) > 0:
            for key, events in selector.select(left):
                if not _step(key.data, events, selector):
                    selector.unregister(key.fileobj)
        for key in selector.get_map().values():
            key.data.outcome = "no answer in time"


def _step(client: Client, events: int, selector: selectors.BaseSelector) -> bool:
    """Move one client on; False once it is done (answered in full, or failed)."""
    try:
        if events & selectors.EVENT_WRITE:
            error = client.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise OSError(error, errno.errorcode.get(error, str(error)))
            client.sock.send(REQUEST)  # tiny: fits the empty send buffer at once
            selector.modify(client.sock, selectors.EVENT_READ, client)
            return True
        if chunk := client.sock.recv(65536):
            client.received += chunk
            return True
        client.outcome = bytes(client.received).partition(b"\r\n")[0].decode() or "empty answer"
    except OSError as exc:
        client.outcome = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return False


def _status_and_headers(answer: bytes) -> tuple[str, dict[str, str]]:
    """The status line and the headers (by lowercased name) of a raw answer."""
    lines = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    pairs = (line.partition(":") for line in lines[1:])
    return lines[0], {name.strip().lower(): value.strip() for name, _, value in pairs}


def _acceptable(client: Client) -> bool:
    """A complete 200, or a 503 saying when to retry; never a reset or a cut answer."""
    status, headers = _status_and_headers(bytes(client.received))
    body = bytes(client.received).partition(b"\r\n\r\n")[2]
    if headers.get("content-length") != str(len(body)):
        return False
    return status.startswith("HTTP/1.1 200 ") or (
        status.startswith("HTTP/1.1 503 ") and headers.get("retry-after", "").isdigit()
    )


def _get(port: int) -> bytes:
    """One request on its own connection; everything until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(REQUEST)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_burst_of_clients_is_answered_without_a_reset(
    burst: int, static_server: SiteServer
) -> None:
    """600 clients at once: the listen queue holds them all (an overflow drops the SYN, a
    1 s wait here and a reset where the kernel aborts on overflow), and each gets a whole
    answer: the page, or a 503 with Retry-After once the handler threads are all busy."""
    clients = _open_all(static_server.server_address[1], burst)
    try:
        late = _late_handshakes(clients)
        _exchange_all(clients)
    finally:
        for client in clients:
            client.sock.close()
    outcomes: dict[str, int] = {}
    for client in clients:
        outcomes[client.outcome] = outcomes.get(client.outcome, 0) + 1
    assert late == 0, f"{late} of {burst} connections overflowed the listen queue"
    assert set(outcomes) <= {"HTTP/1.1 200 OK", "HTTP/1.1 503 Service Unavailable"}, outcomes
    assert outcomes.get("HTTP/1.1 200 OK"), "the first connections find a free thread"
    assert all(_acceptable(client) for client in clients)


def test_beyond_its_handler_threads_the_server_answers_503_at_once(tmp_path: Path) -> None:
    """Two kept-alive connections hold both threads: a third gets a prompt, whole 503 with
    Retry-After, and is served again once a thread is free."""
    (tmp_path / "index.html").write_text("<h1>Gallery</h1>")
    server = make_server(tmp_path, port=0, api=False, max_connections=2)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    port = server.server_address[1]
    holders = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        for holder in holders:  # answered, then idle on keep-alive: the thread stays busy
            holder.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
            assert holder.recv(65536).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        answer = _get(port)
        elapsed = time.monotonic() - started
        status, headers = _status_and_headers(answer)
        assert status == "HTTP/1.1 503 Service Unavailable"
        assert headers["retry-after"] == "1" and headers["connection"] == "close"
        assert int(headers["content-length"]) == len(answer.partition(b"\r\n\r\n")[2]) > 0
        assert elapsed < 1.0  # answered at once, not after waiting for a thread
        holders.pop().close()
        end = time.monotonic() + 10
        while (status := _status_and_headers(_get(port))[0]).startswith("HTTP/1.1 503 "):
            assert time.monotonic() < end, "the closed connection's thread was never freed"
            time.sleep(0.05)
        assert status == "HTTP/1.1 200 OK"
    finally:
        for holder in holders:
            holder.close()
        server.shutdown()
        server.server_close()
