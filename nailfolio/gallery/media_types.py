"""The one table of media types every file of the site is stored and served with.

Explicit, never the host's: without /etc/mime.types Python's `mimetypes` guesses nothing for
.webp or .woff2, and what it says for .js differs between Python versions and hosts. Text
types carry charset=utf-8 (the render writes UTF-8 only). Anything not in the table is
application/octet-stream, which a browser downloads rather than runs or renders. Used by the
rendition stores, the site targets (nailfolio.gallery.publish) and the local server.
"""

from __future__ import annotations

from pathlib import PurePosixPath

DEFAULT = "application/octet-stream"
_UTF8 = "; charset=utf-8"

MEDIA_TYPES = {
    # pages and text
    ".html": f"text/html{_UTF8}",
    ".htm": f"text/html{_UTF8}",
    ".css": f"text/css{_UTF8}",
    ".js": f"text/javascript{_UTF8}",  # RFC 9239; application/javascript is obsolete
    ".mjs": f"text/javascript{_UTF8}",
    ".txt": f"text/plain{_UTF8}",
    ".md": f"text/markdown{_UTF8}",
    ".csv": f"text/csv{_UTF8}",
    ".xml": f"application/xml{_UTF8}",
    ".atom.xml": f"application/atom+xml{_UTF8}",  # Pelican's feeds: feeds/designs.atom.xml
    ".rss.xml": f"application/rss+xml{_UTF8}",
    ".atom": f"application/atom+xml{_UTF8}",
    ".rss": f"application/rss+xml{_UTF8}",
    ".json": "application/json",  # UTF-8 by definition (RFC 8259): no charset parameter
    ".map": "application/json",  # source maps
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    # images
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    # fonts
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    # other
    ".pdf": "application/pdf",
    ".wasm": "application/wasm",
}


def media_type(path: str) -> str:
    """The Content-Type of a site path or file name ("img/ab-480w.webp" -> "image/webp")."""
    name = PurePosixPath(path).name.lower()
    suffixes = PurePosixPath(name).suffixes
    if len(suffixes) >= 2 and "".join(suffixes[-2:]) in MEDIA_TYPES:
        return MEDIA_TYPES["".join(suffixes[-2:])]
    return MEDIA_TYPES.get(suffixes[-1] if suffixes else "", DEFAULT)
