"""A loopback HTTP server for the built site: what `build.py serve` runs.

Static files come from output/ with the site's own 404 page; hashed image names are served
with a year-long immutable cache, like the CDN will in production.
"""

from __future__ import annotations

import functools
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from nailfolio.errors import ConfigError

IMMUTABLE_PREFIXES = ("/img/",)


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves output/: the 404 page on misses, long caching for content-hashed images."""

    def end_headers(self) -> None:
        if self.path.startswith(IMMUTABLE_PREFIXES):
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
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

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the CLI prints one line when serving starts


def make_server(directory: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """Bind the site server; raises ConfigError with a fixable message if the port is taken."""
    handler = functools.partial(SiteHandler, directory=str(directory))
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another with --port"
        ) from None
    server.daemon_threads = True
    return server
