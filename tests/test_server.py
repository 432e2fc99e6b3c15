"""The loopback server: real HTTP against a folder."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from nailfolio.errors import ConfigError
from nailfolio.server import make_server


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "img").mkdir()
    (tmp_path / "index.html").write_text("<h1>Gallery</h1>")
    (tmp_path / "404.html").write_text("<h1>Lost nail</h1>")
    (tmp_path / "img" / "abc-480w.webp").write_bytes(b"RIFF....WEBP")
    server = make_server(tmp_path, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_serves_pages_with_revalidation(site: str) -> None:
    with urllib.request.urlopen(site + "/") as response:
        assert response.read() == b"<h1>Gallery</h1>"
        assert response.headers["Cache-Control"] == "no-cache"


def test_hashed_images_are_cached_forever(site: str) -> None:
    with urllib.request.urlopen(site + "/img/abc-480w.webp") as response:
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_missing_page_gets_the_site_404(site: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(site + "/no/such/page/")
    assert caught.value.code == 404
    assert caught.value.read() == b"<h1>Lost nail</h1>"


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    first = make_server(tmp_path, port=0)
    try:
        with pytest.raises(ConfigError, match="choose another with --port"):
            make_server(tmp_path, port=first.server_address[1])
    finally:
        first.server_close()
