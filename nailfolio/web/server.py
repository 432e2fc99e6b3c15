"""A loopback HTTP server for the site and its API on one origin: what `build.py serve` runs.

Static files come from output/ with the site's own 404 page; hashed image names are served
with a year-long immutable cache, like the CDN will in production. Requests under /api/ go
to the Chalice app (chalice_app/app.py) through Chalice's own `LocalGateway`, the piece
`chalice local` uses, with the real client address as `sourceIp`, as CloudFront routes /api/*
to API Gateway in production. API Gateway caps bodies and `chalice local` does not, so this
server refuses a body over MAX_API_BODY_BYTES before reading it (the studio's file posts, at
UPLOAD_PATH, may carry one image: up to the image size cap plus FORM_OVERHEAD_BYTES). HEAD on
an API route runs its GET view and sends the headers only.

Refused with a 400 that closes the connection: a request line or target that cannot be
parsed, and a static GET or HEAD with a body (left unread, it would be parsed as the next
request on a keep-alive connection). Folders are never listed: one without index.html is the
404 page. Only successful answers under /img/ are cached as immutable.

Also refused with that 400: a static target no file name can hold (an encoded NUL byte, a
lone surrogate), which the standard library would turn into a dropped connection and a
traceback. An API path holding one still goes to the app, which answers its JSON 404.

HTTP/1.1 with keep-alive; one thread per connection, at most MAX_CONNECTIONS at once; an idle
connection is dropped after IDLE_TIMEOUT_S. Bursts are queued, not reset: the listen queue
asks for LISTEN_BACKLOG connections, which Linux caps at net.core.somaxconn
(/proc/sys/net/core/somaxconn, 4096 by default since Linux 5.4; a warning says when it is
lower). A connection beyond MAX_CONNECTIONS gets an immediate 503 with Retry-After, without a
thread, and is closed gracefully by the accept loop. A client that hangs up mid-answer is one
debug line in the log; any other error while serving is logged with its traceback.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import selectors
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from chalice import Chalice
from chalice.config import Config
from chalice.local import LocalChalice, LocalGateway, LocalGatewayException

from nailfolio.errors import ConfigError
from nailfolio.gallery.media_types import media_type
from nailfolio.web.csp import csp_header

if TYPE_CHECKING:
    from nailfolio.config import Settings

logger = logging.getLogger(__name__)

IMMUTABLE_PREFIXES = ("/img/",)
API_PREFIX = "/api/"
MAX_API_BODY_BYTES = 1024 * 1024
UPLOAD_PATH = "/api/studio/files"  # nailfolio.web.studio.LOCAL_UPLOAD_PATH
FORM_OVERHEAD_BYTES = 64 * 1024  # an upload form's fields and boundaries around its file
IDLE_TIMEOUT_S = 30
LINGER_S = 0.5  # how long a closing connection drains what the client is still sending
LINGER_BYTES = 256 * 1024
LISTEN_BACKLOG = 4096  # asked of listen(); the kernel caps it at SOMAXCONN_PATH's value
SOMAXCONN_PATH = Path("/proc/sys/net/core/somaxconn")
MAX_CONNECTIONS = 256  # handler threads at once; a browser opens about six per origin
RETRY_AFTER_S = 1
API_SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_NO_BODY_STATUSES = (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED)
_IMMUTABLE_STATUSES = (HTTPStatus.OK, HTTPStatus.NOT_MODIFIED)


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves output/ (the 404 page on misses, long caching for content-hashed images) and
    hands /api/ to the Chalice app."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK of the headers: 40 ms added to every answer on keep-alive.
    disable_nagle_algorithm = True
    api: ApiBridge | None = None  # set by make_server
    upload_body_bytes = 50 * 1024 * 1024 + FORM_OVERHEAD_BYTES  # set by make_server
    _api_request = False  # decided by parse_request
    _status = 0  # of the answer being sent

    def handle_one_request(self) -> None:
        # A request refused before its target is read (414, a bad request line) has no path;
        # on keep-alive the last request's must not stand in for it.
        self.path, self._api_request, self._status = "", False, 0
        super().handle_one_request()

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        """The site's own type table, as the CDN serves it; never the host's mime.types."""
        return media_type(os.fspath(path))

    def finish(self) -> None:
        """Close gracefully: a request refused before its body was read (411, 413, a static
        GET with a body) leaves bytes unread, and closing on them makes the kernel reset the
        connection, which can destroy the answer before the client reads it. So stop
        writing, drain briefly, then close, as production servers do (lingering close)."""
        super().finish()
        if not self.close_connection:
            return
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_S)
            drained = 0
            while drained < LINGER_BYTES and (chunk := self.connection.recv(65536)):
                drained += len(chunk)
        except OSError:
            pass  # the client went first: nothing left to protect

    def parse_request(self) -> bool:
        """The standard parse, then: a target urlsplit cannot read is a 400; whether the
        request is for the API is decided here, once."""
        if not super().parse_request():
            return False
        try:
            target = urlsplit(self.path).path
        except ValueError:
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request target")
            return False
        self._api_request = self.api is not None and target.startswith(API_PREFIX)
        if not self._api_request and not _can_name_a_file(self.path):
            self.send_error(HTTPStatus.BAD_REQUEST, "No file name can hold this target")
            return False
        return True

    def do_GET(self) -> None:
        self._serve(super().do_GET)

    def do_HEAD(self) -> None:
        self._serve(super().do_HEAD)

    def do_POST(self) -> None:
        self._api_only()

    def __getattr__(self, name: str) -> Any:
        """Any other method (PUT, DELETE, TRACE, QUERY...) goes to the API, which answers 405
        for what it does not serve; static paths answer 501, as before."""
        if name.startswith("do_"):
            return self._api_only
        raise AttributeError(name)

    def send_response_only(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response_only(code, message)

    def end_headers(self) -> None:
        if not self._api_request:
            if self.path.startswith(IMMUTABLE_PREFIXES) and self._status in _IMMUTABLE_STATUSES:
                self.send_header("Cache-Control", "public, max-age=31536000, immutable")
            else:
                self.send_header("Cache-Control", "no-cache")
            self.send_header("X-Content-Type-Options", "nosniff")
            policy = csp_header(self.path)
            if policy:
                self.send_header("Content-Security-Policy", policy)
        self.send_header("Referrer-Policy", "strict-origin-when-cross-origin")
        super().end_headers()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != HTTPStatus.NOT_FOUND or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def list_directory(self, path: str) -> None:
        """Folders are never listed: one without index.html is not found."""
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the CLI prints one line when serving starts

    def _serve(self, static: Callable[[], None]) -> None:
        """GET or HEAD: the API's, else the static file's, unless it carries a body."""
        if self._api_request:
            self._serve_api()
        elif "Transfer-Encoding" in self.headers or any(
            length.strip() != "0" for length in self.headers.get_all("Content-Length", [])
        ):
            self.send_error(HTTPStatus.BAD_REQUEST, "A GET or HEAD request takes no body")
        else:
            static()

    def _api_only(self) -> None:
        if self._api_request:
            self._serve_api()
        else:
            self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")

    def _serve_api(self) -> None:
        """Read the body (refusing what is chunked, malformed or too large before reading it),
        run the request through the Chalice app and send its answer."""
        assert self.api is not None
        lengths = {value.strip() for value in self.headers.get_all("Content-Length", ["0"])}
        length_text = lengths.pop()
        if "Transfer-Encoding" in self.headers:
            self._api_error(411, "length_required", "Send the body with a Content-Length")
            return
        if lengths or not (length_text.isascii() and length_text.isdigit()):
            self._api_error(400, "bad_request", "The Content-Length header is not one number")
            return
        cap = self._body_cap()
        if int(length_text) > cap:
            self._api_error(413, "too_large", f"The body is over {cap} bytes")
            return
        body = self.rfile.read(int(length_text)) if int(length_text) else None
        answer = self.api.handle(
            "GET" if self.command == "HEAD" else self.command,  # _send_api drops HEAD's body
            self.path,
            _joined_headers(self.headers.items()),
            body,
            self.client_address[0],
        )
        self._send_api(*answer)

    def _body_cap(self) -> int:
        target = urlsplit(self.path).path
        return self.upload_body_bytes if target == UPLOAD_PATH else MAX_API_BODY_BYTES

    def _api_error(self, status: int, code: str, message: str) -> None:
        """An error the server gives itself; the connection closes, as the body is unread."""
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        headers = {"Content-Type": "application/json", "Connection": "close"}
        self._send_api(status, headers | API_SECURITY_HEADERS, body)

    def _send_api(self, status: int, headers: dict[str, str | list[str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() in ("content-length", "transfer-encoding"):
                continue
            for one in value if isinstance(value, list) else [value]:
                self.send_header(name, one)
        if status not in _NO_BODY_STATUSES:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in _NO_BODY_STATUSES:
            self.wfile.write(body)


class SiteServer(ThreadingHTTPServer):
    """One thread per connection, at most `max_connections` at once: beyond, an immediate 503
    with Retry-After. The listen queue is as deep as the kernel allows, so a burst of
    browsers waits there instead of being dropped or reset (the default of 5 resets a few
    dozen; 128 still drops hundreds)."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: Callable[..., SiteHandler],
        *,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.request_queue_size = listen_backlog()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._refusals = _Refusals()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread for the connection if one is free, else the 503, from this loop."""
        if not self._slots.acquire(blocking=False):
            self._refusals.refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except RuntimeError:  # the system would not start another thread
            self._slots.release()
            self._refusals.refuse(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def service_actions(self) -> None:
        """Run by serve_forever between accepts: finish closing the refused connections."""
        super().service_actions()
        self._refusals.drain()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is one debug line; anything else is logged with its
        traceback (socketserver would print every one of both to stderr)."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            logger.debug("client %s went away: %s", _peer(client_address), error)
            return
        logger.error("error while serving %s", _peer(client_address), exc_info=True)

    def server_close(self) -> None:
        super().server_close()
        self._refusals.close()


class _Refusals:
    """Connections answered 503 without a thread: the accept loop sends the answer and stops
    writing, then reads what the client still sends until it closes (or LINGER_S passes),
    so closing never resets the answer away; all without blocking."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._pending: deque[tuple[float, socket.socket]] = deque()  # by deadline

    def refuse(self, connection: socket.socket) -> None:
        """Send the 503 and stop writing; the rest happens in drain()."""
        try:
            connection.setblocking(False)
            connection.send(_BUSY_ANSWER)  # small: the new connection's send buffer takes it
            connection.shutdown(socket.SHUT_WR)
        except OSError:  # the client is already gone
            connection.close()
            return
        self._selector.register(connection, selectors.EVENT_READ, connection)
        self._pending.append((time.monotonic() + LINGER_S, connection))

    def drain(self) -> None:
        """Read what refused clients sent; close those that hung up or had their time."""
        for key, _ in self._selector.select(0):
            if not _still_open(key.data):
                self._close(key.data)
        now = time.monotonic()
        pending = self._pending
        while pending and (pending[0][0] <= now or pending[0][1].fileno() < 0):
            self._close(pending.popleft()[1])

    def close(self) -> None:
        while self._pending:
            self._close(self._pending.popleft()[1])
        self._selector.close()

    def _close(self, connection: socket.socket) -> None:
        if connection.fileno() >= 0:
            self._selector.unregister(connection)
            connection.close()


def _still_open(connection: socket.socket) -> bool:
    """Read (and drop) what is waiting; False once the client has closed or reset."""
    try:
        return bool(connection.recv(65536))
    except BlockingIOError:
        return True
    except OSError:
        return False


def _busy_answer() -> bytes:
    body = b"The server is busy: try again in a second.\n"
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Retry-After: {RETRY_AFTER_S}\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


_BUSY_ANSWER = _busy_answer()


def listen_backlog() -> int:
    """LISTEN_BACKLOG as the kernel will grant it: capped by net.core.somaxconn where it can
    be read (a warning says so when the cap is lower)."""
    try:
        cap = int(SOMAXCONN_PATH.read_text())
    except (OSError, ValueError):
        return LISTEN_BACKLOG
    if cap < LISTEN_BACKLOG:
        logger.warning(
            "the kernel caps the listen queue at %d connections (net.core.somaxconn): a "
            "larger burst is delayed or reset; raise it with sysctl -w net.core.somaxconn=%d",
            cap,
            LISTEN_BACKLOG,
        )
    return min(cap, LISTEN_BACKLOG)


class ApiBridge:
    """Runs HTTP requests through a Chalice app the way `chalice local` does, plus the real
    client address. Thread-safe: the app keeps `current_request` per thread."""

    def __init__(self, app: Chalice, config: Config) -> None:
        if not isinstance(app, LocalChalice):
            # What chalice.local.create_local_server does: current_request becomes per thread.
            app.__class__ = type("ThreadLocalChalice", (LocalChalice, type(app)), {})
        self._app = app
        self._config = config

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None, client: str
    ) -> tuple[int, dict[str, str | list[str]], bytes]:
        """(status, headers, body) of the app's answer; unknown routes get a JSON 404."""
        try:
            response = ClientGateway(self._app, self._config, client).handle_request(
                method=method, path=path, headers=headers, body=body
            )
        except LocalGatewayException:  # no route matched: API Gateway's "403 Missing token"
            error = {"code": "not_found", "message": "There is no such API endpoint"}
            missing = json.dumps({"error": error}).encode()
            return 404, {"Content-Type": "application/json"} | API_SECURITY_HEADERS, missing
        headers_out: dict[str, Any] = {**API_SECURITY_HEADERS, **response["headers"]}
        headers_out.update(response.get("multiValueHeaders") or {})
        payload = response.get("body") or b""
        if response.get("isBase64Encoded"):
            payload = base64.b64decode(payload)
        elif isinstance(payload, str):
            payload = payload.encode("utf-8")
        return response["statusCode"], headers_out, payload


class ClientGateway(LocalGateway):
    """Chalice's fake API Gateway for one request, telling the app who the client is (it
    would say 127.0.0.1 for everyone). Cheap to make: one per request."""

    def __init__(self, app: Chalice, config: Config, client: str) -> None:
        super().__init__(app, config)
        self._client = client

    def _generate_lambda_event(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        event = super()._generate_lambda_event(*args, **kwargs)
        event["requestContext"]["identity"]["sourceIp"] = self._client
        return event


def _peer(client_address: Any) -> str:
    """host:port of a client, as logged (the port tells connections from one host apart)."""
    if isinstance(client_address, tuple) and len(client_address) >= 2:
        return f"{client_address[0]}:{client_address[1]}"
    return str(client_address)


def _joined_headers(items: Any) -> dict[str, str]:
    """Headers by lowercased name, repeats joined as one (cookies with "; ", others ", ")."""
    joined: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        if key in joined:
            joined[key] += ("; " if key == "cookie" else ", ") + value
        else:
            joined[key] = value
    return joined


def _can_name_a_file(target: str) -> bool:
    """Whether a static target can name a file once decoded as translate_path decodes it: no
    NUL byte, nothing the file system encoding refuses (open() raises on either)."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    try:
        path = unquote(path, errors="surrogatepass")
    except UnicodeDecodeError:
        path = unquote(path)
    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        return False
    return "\0" not in path


def load_api() -> ApiBridge:
    """The bridge to chalice_app/app.py's `app` (the repository root must be importable)."""
    try:
        from chalice_app.app import app
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"cannot load the API from chalice_app/app.py ({exc}); run from the repository"
        ) from None
    return ApiBridge(app, Config.create(chalice_stage="dev", app_name=app.app_name))


def make_server(
    directory: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: Settings | None = None,
    *,
    api: bool = True,
    max_connections: int = MAX_CONNECTIONS,
) -> SiteServer:
    """Bind the site server; raises ConfigError with a fixable message if the port is taken.

    With `settings`, the API serves that project (nailfolio.web.api.configure); without, it keeps
    whatever was configured, else reads the environment on the first API request.
    `api=False` serves the static site only. Beyond `max_connections` open connections, new
    ones get a 503 with Retry-After.
    """
    bridge = load_api() if api else None
    if settings is not None:
        from nailfolio.web import api as web_api

        web_api.configure(settings)
    attributes: dict[str, Any] = {"api": bridge}
    if settings is not None:
        attributes["upload_body_bytes"] = settings.images.max_file_bytes + FORM_OVERHEAD_BYTES
    handler = functools.partial(
        type("Handler", (SiteHandler,), attributes), directory=str(directory)
    )
    try:
        server = SiteServer((host, port), handler, max_connections=max_connections)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another with --port"
        ) from None
    return server
