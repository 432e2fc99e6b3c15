"""The one media-type table: every kind of file the site has, whatever the host's
mimetypes database holds, used by the rendition store and the local server alike."""

from __future__ import annotations

import mimetypes
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from nailfolio.gallery.media_types import DEFAULT, MEDIA_TYPES, media_type
from nailfolio.gallery.rendition_store import content_type

EXPECTED = {
    "index.html": "text/html; charset=utf-8",
    "designs/ana/red/index.html": "text/html; charset=utf-8",
    "theme/css/site.css": "text/css; charset=utf-8",
    "theme/js/comments.js": "text/javascript; charset=utf-8",
    "theme/js/module.mjs": "text/javascript; charset=utf-8",
    "data.json": "application/json",
    "sitemap.xml": "application/xml; charset=utf-8",
    "feeds/designs.atom.xml": "application/atom+xml; charset=utf-8",
    "feeds/designs.rss.xml": "application/rss+xml; charset=utf-8",
    "robots.txt": "text/plain; charset=utf-8",
    "theme/favicon.svg": "image/svg+xml",
    "img/ab-480w.webp": "image/webp",
    "img/ab-600w.jpg": "image/jpeg",
    "photo.JPEG": "image/jpeg",
    "logo.png": "image/png",
    "spin.gif": "image/gif",
    "favicon.ico": "image/x-icon",
    "theme/fonts/inter.woff2": "font/woff2",
    "theme/fonts/inter.woff": "font/woff",
    "site.webmanifest": "application/manifest+json",
    "theme/js/comments.js.map": "application/json",
}


@pytest.fixture
def no_host_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host's mimetypes database emptied, as on a slim image without /etc/mime.types."""
    empty = mimetypes.MimeTypes(filenames=())
    empty.types_map = ({}, {})
    empty.types_map_inv = ({}, {})
    monkeypatch.setattr(mimetypes, "_db", empty)
    monkeypatch.setattr(mimetypes, "inited", True)
    monkeypatch.setattr(mimetypes, "types_map", {})
    assert mimetypes.guess_type("a.webp") == (None, None)
    assert mimetypes.guess_type("a.js") == (None, None)


@pytest.mark.parametrize(("path", "expected"), EXPECTED.items())
def test_every_kind_of_site_file_has_its_type(path: str, expected: str) -> None:
    assert media_type(path) == expected


@pytest.mark.usefixtures("no_host_types")
def test_types_hold_with_the_host_database_emptied() -> None:
    assert media_type("img/ab-480w.webp") == "image/webp"
    assert media_type("theme/fonts/a.woff2") == "font/woff2"
    assert media_type("theme/js/comments.js") == "text/javascript; charset=utf-8"
    assert content_type("ab12-480w.webp") == "image/webp"


@pytest.mark.parametrize("path", ["archive.xyz", "README", ".htaccess", "a.tar.gz", "x."])
def test_an_unknown_extension_is_a_download_not_a_guess(path: str) -> None:
    assert media_type(path) == DEFAULT == "application/octet-stream"


def test_every_text_type_says_utf8() -> None:
    text = [t for t in MEDIA_TYPES.values() if t.startswith("text/") or t.endswith("xml")]
    assert text and all(t.endswith("; charset=utf-8") for t in text if t != "image/svg+xml")


def test_variants_get_their_types_from_the_table() -> None:
    assert content_type("ab12-1dc81318-600w.jpg") == MEDIA_TYPES[".jpg"]
    with pytest.raises(ValueError):
        content_type("ab12-480w.exe")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    from nailfolio.web.server import make_server

    for name in ("a.webp", "b.woff2", "c.js", "index.html", "d.unknown"):
        (tmp_path / name).write_bytes(b"x")
    server = make_server(tmp_path, port=0, api=False)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.usefixtures("no_host_types")
def test_the_local_server_serves_the_table_not_the_host(served: str) -> None:
    found = {}
    for name in ("a.webp", "b.woff2", "c.js", "index.html", "d.unknown"):
        with urllib.request.urlopen(f"{served}/{name}", timeout=5) as answer:
            found[name] = answer.headers["Content-Type"]
    assert found == {
        "a.webp": "image/webp",
        "b.woff2": "font/woff2",
        "c.js": "text/javascript; charset=utf-8",
        "index.html": "text/html; charset=utf-8",
        "d.unknown": "application/octet-stream",
    }
