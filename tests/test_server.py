"""The loopback server: real HTTP against a folder."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import struct
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import PASSWORD, ApiProject, generous_limits

from nailfolio.errors import ConfigError
from nailfolio.ratelimit import RateRule
from nailfolio.web.csp import ADMIN_CSP, DESIGN_CSP, MODERATION_CSP, STUDIO_CSP
from nailfolio.web.server import SiteServer, make_server


@pytest.fixture
def site_root(tmp_path: Path) -> Path:
    (tmp_path / "img").mkdir()
    (tmp_path / "index.html").write_text("<h1>Gallery</h1>")
    (tmp_path / "404.html").write_text("<h1>Lost nail</h1>")
    (tmp_path / "img" / "abc-480w.webp").write_bytes(b"RIFF....WEBP")
    for page in ("admin", "admin/moderation", "designs/ana/red", "studio"):
        (tmp_path / page).mkdir(parents=True)
        (tmp_path / page / "index.html").write_text("<h1>page</h1>")
    return tmp_path


@pytest.fixture
def site_server(site_root: Path) -> Iterator[SiteServer]:
    server = make_server(site_root, port=0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(site_server: SiteServer) -> str:
    return f"http://127.0.0.1:{site_server.server_address[1]}"


def test_serves_pages_with_revalidation(site: str) -> None:
    with urllib.request.urlopen(site + "/") as response:
        assert response.read() == b"<h1>Gallery</h1>"
        assert response.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "policy"),
    [
        ("/admin/", ADMIN_CSP + "; frame-ancestors 'none'"),
        ("/admin/moderation/", MODERATION_CSP + "; frame-ancestors 'none'"),
        ("/designs/ana/red/", DESIGN_CSP + "; frame-ancestors 'none'"),
        ("/studio/", STUDIO_CSP + "; frame-ancestors 'none'"),
        ("/", None),
    ],
)
def test_pages_with_scripts_get_their_csp_header(site: str, path: str, policy: str | None) -> None:
    with urllib.request.urlopen(site + path) as response:
        assert response.headers["Content-Security-Policy"] == policy


def test_hashed_images_are_cached_forever(site: str) -> None:
    with urllib.request.urlopen(site + "/img/abc-480w.webp") as response:
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_missing_page_gets_the_site_404(site: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(site + "/no/such/page/")
    assert caught.value.code == 404
    assert caught.value.read() == b"<h1>Lost nail</h1>"


def _exchange(base: str, data: bytes) -> bytes:
    """Everything the server sends back for raw `data`, until it closes the connection."""
    host, port = urlsplit(base).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


SMUGGLED = b"GET /img/abc-480w.webp HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED,
        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n",
    ],
    ids=["content-length", "chunked"],
)
@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
def test_static_request_with_a_body_is_refused_not_smuggled(
    site: str, method: bytes, framing: bytes
) -> None:
    """The body would otherwise be read as a second request on the kept-alive connection."""
    answer = _exchange(site, method + b" /index.html HTTP/1.1\r\nHost: x\r\n" + framing)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.count(b"HTTP/1.1 ") == 1
    assert b"\r\nConnection: close\r\n" in answer


def test_static_get_with_an_empty_body_is_served(site: str) -> None:
    request = (
        b"GET /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    answer = _exchange(site, request)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"<h1>Gallery</h1>")


@pytest.mark.parametrize(
    "request_line",
    [b"GET / HTTP/9x", b"GET http://[/api/x HTTP/1.1", b"GET http://[/index.html HTTP/1.1"],
)
def test_malformed_request_line_is_a_400(site: str, request_line: bytes) -> None:
    """Answered, not dropped with a traceback. An unreadable version gets the standard
    library's HTTP/0.9-style answer: the error page without a status line."""
    answer = _exchange(site, request_line + b"\r\nHost: x\r\n\r\n")
    assert b"<p>Error code: 400</p>" in answer


def test_folders_are_not_listed(site: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(site + "/img/")
    assert caught.value.code == 404
    assert caught.value.read() == b"<h1>Lost nail</h1>"
    assert caught.value.headers["Cache-Control"] == "no-cache"  # not cached for a year


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    first = make_server(tmp_path, port=0)
    try:
        with pytest.raises(ConfigError, match="choose another with --port"):
            make_server(tmp_path, port=first.server_address[1])
    finally:
        first.server_close()


# -- one origin: the site and the API ------------------------------------------------------


@contextmanager
def _connect(base: str, source: str = "127.0.0.1") -> Iterator[http.client.HTTPConnection]:
    host, port = urlsplit(base).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    try:
        yield connection
    finally:
        connection.close()


def _call(
    base: str, method: str, path: str, body: Any = None, source: str = "127.0.0.1"
) -> tuple[int, Any]:
    """(status, parsed JSON body) of one request on its own connection."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    with _connect(base, source) as connection:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")


def test_api_and_site_share_one_origin_and_connection(live_api: str) -> None:
    with _connect(live_api) as connection:
        connection.request("GET", "/api/health")
        response = connection.getresponse()
        stores = dict.fromkeys(
            ("identity", "comments", "ratelimit", "catalog", "signing_key"), "ok"
        )
        assert (response.status, json.loads(response.read())) == (
            200,
            {"status": "ok", "stores": stores},
        )
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        connection.request("GET", "/")  # the same keep-alive connection
        page = connection.getresponse()
        assert (page.status, page.read()) == (200, b"<h1>Gallery</h1>")
        assert page.headers["Cache-Control"] == "no-cache"


def test_head_on_an_api_route_answers_like_get_without_a_body(live_api: str) -> None:
    with _connect(live_api) as connection:
        connection.request("GET", "/api/health")
        get = connection.getresponse()
        length = len(get.read())
        connection.request("HEAD", "/api/health")  # the same keep-alive connection
        head = connection.getresponse()
        assert (head.status, head.read()) == (200, b"")
        assert head.headers["Content-Length"] == str(length)
        assert head.headers["Content-Type"] == get.headers["Content-Type"]
        connection.request("GET", "/api/health")  # nothing stray left on the connection
        assert connection.getresponse().status == 200


def test_unknown_api_route_is_a_json_404(live_api: str) -> None:
    status, answer = _call(live_api, "GET", "/api/no/such/thing")
    assert (status, answer["error"]["code"]) == (404, "not_found")


def test_server_refuses_a_huge_body_without_reading_it(live_api: str) -> None:
    """The headers promise 2 MB; the answer comes at once, before any of it is sent."""
    with _connect(live_api) as connection:
        connection.putrequest("POST", "/api/auth/signin")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(2 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["code"] == "too_large"
        assert response.headers["Connection"] == "close"
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("megabytes", "status"), [(2, 403), (51, 413)])
def test_an_upload_post_may_carry_one_image_up_to_the_size_cap(
    live_api: str, megabytes: int, status: int
) -> None:
    """Over the API's 1 MB, under the 50 MB image cap: the app reads it (and refuses the
    forged form); over the cap, the server refuses it unread."""
    boundary = "x"
    body = (
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        + b"\xff\xd8\xff"
        + b"\0" * (megabytes * 2**20)
        + b"\r\n--x--\r\n"
    )
    with _connect(live_api) as connection:
        connection.putrequest("POST", "/api/studio/files")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        if status == 403:
            connection.send(body)
        response = connection.getresponse()
        assert response.status == status, response.read()[:200]


def test_server_refuses_chunked_bodies(live_api: str) -> None:
    # Refused before the body is read: the answer must survive the close every time
    # (without a lingering close the kernel's reset could destroy it: a race, so repeat).
    for _ in range(30):
        status, answer = _call(live_api, "POST", "/api/auth/signin", iter([b"{}"]))
        assert (status, answer["error"]["code"]) == (411, "length_required")


def test_app_caps_bodies_the_server_lets_through(live_api: str) -> None:
    body = b'{"text": "' + b"x" * (20 * 1024) + b'"}'
    status, answer = _call(live_api, "POST", "/api/auth/signin", body)
    assert (status, answer["error"]["code"]) == (413, "too_large")


def test_post_to_a_static_path_is_not_implemented(live_api: str) -> None:
    with _connect(live_api) as connection:
        connection.request("POST", "/index.html", body=b"x")
        assert connection.getresponse().status == 501


def test_the_api_sees_the_real_client_address(live_api: str, api_project: ApiProject) -> None:
    """Sign-ups are limited per /24: a second from 127.0.0.2 is refused, one from 127.0.1.1
    (another network) is not, so the app was told each connection's own address."""
    api_project.configure(replace(generous_limits(), sign_ups=(RateRule(1, 3600),)))

    def sign_up(source: str) -> int:
        payload = {"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
        return _call(live_api, "POST", "/api/auth/signup", json.dumps(payload), source)[0]

    assert [sign_up(a) for a in ("127.0.0.1", "127.0.0.2", "127.0.1.1")] == [201, 429, 201]


def test_static_only_server_has_no_api(site_root: Path) -> None:
    server = make_server(site_root, port=0, api=False)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/api/health")
        assert caught.value.code == 404
        caught.value.close()
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("lengths", [["abc"], ["²"], ["-1"], ["2", "3"]])
def test_server_refuses_a_malformed_content_length(live_api: str, lengths: list[str]) -> None:
    with _connect(live_api) as connection:
        connection.putrequest("POST", "/api/auth/signin")
        for length in lengths:
            connection.putheader("Content-Length", length)
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 400
        assert json.loads(response.read())["error"]["code"] == "bad_request"


# -- targets that cannot name a file -------------------------------------------------------


@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
@pytest.mark.parametrize(
    ("target", "status"),
    [
        (b"/index.html%00.png", 400),
        (b"/%00", 400),
        (b"/..%00/x", 400),
        (b"/img/\x00", 400),
        (b"/%ed%a0%80", 400),  # a lone surrogate: no file name can hold it
        (b"http://x%00/index.html", 400),  # absolute form: the host is part of the file path
        (b"/api/health%00", 404),  # the app's JSON 404, as API Gateway would answer
        (b"/api/%00", 404),
    ],
)
def test_a_target_no_file_name_can_hold_is_answered_not_dropped(
    live_api: str, method: bytes, target: bytes, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    request = method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = _exchange(live_api, request)
    assert answer.startswith(b"HTTP/1.1 %d " % status)
    assert "Traceback" not in capsys.readouterr().err


# -- clients that hang up, errors while serving --------------------------------------------


BIG_FILE_BYTES = 32 * 1024 * 1024  # more than loopback's socket buffers hold: writes block


def _hang_up(base: str, how: str) -> str:
    """Ask for the big file, then go: closing before any of it came, or resetting mid-way.
    Returns the client's host:port, as the server logs it."""
    host, port = urlsplit(base).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        local_host, local_port = connection.getsockname()[:2]
        me = f"{local_host}:{local_port}"
        connection.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        if how == "reset":
            assert connection.recv(1)  # the answer is under way
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return me


@contextmanager
def _handled(server: SiteServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Waits on leaving until the server has finished handling one connection."""
    done = threading.Event()
    handle = server.process_request_thread

    def tracked(*args: Any) -> None:
        try:
            handle(*args)
        finally:
            done.set()

    monkeypatch.setattr(server, "process_request_thread", tracked)
    yield
    assert done.wait(10), "the server did not finish with the connection"


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_client_that_hangs_up_is_one_quiet_line_not_a_traceback(
    site_server: SiteServer,
    site: str,
    site_root: Path,
    how: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    (site_root / "big.bin").write_bytes(bytes(BIG_FILE_BYTES))
    caplog.set_level(logging.DEBUG, logger="nailfolio.web.server")
    with _handled(site_server, monkeypatch):
        me = _hang_up(site, how)
    assert "Traceback" not in capsys.readouterr().err
    # Only this connection's: other tests' servers may still be closing theirs meanwhile.
    records = [
        r for r in caplog.records if r.name == "nailfolio.web.server" and me in r.getMessage()
    ]
    assert [(r.levelno, "went away" in r.getMessage(), r.exc_info) for r in records] == [
        (logging.DEBUG, True, None)
    ]


def test_a_real_error_while_serving_is_logged_with_its_traceback(
    site_server: SiteServer,
    site: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(self: SimpleHTTPRequestHandler) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(SimpleHTTPRequestHandler, "send_head", broken)
    with _handled(site_server, monkeypatch):
        assert _exchange(site, b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n") == b""
    [record] = [r for r in caplog.records if r.name == "nailfolio.web.server"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "the disk is on fire" in str(record.exc_info[1])
