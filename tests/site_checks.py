"""Checks of a published site shared by the S3 site target's tests and the pipeline's: the
files a page references, and an S3 client whose writes fail after a number of them."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from botocore.exceptions import EndpointConnectionError

REF = re.compile(r'(?:src|href)="([^"]*)"|srcset="([^"]*)"')
WRITE_METHODS = ("put_object", "copy_object", "delete_objects")


def page_references(key: str, text: str) -> Iterator[str]:
    """The site paths the page at `key` references by src, href or srcset on its own origin
    (a folder as its index.html; other hosts, mailto: and data: left out)."""
    for plain, srcset in REF.findall(text):
        refs = [plain] if plain else [part.split()[0] for part in srcset.split(",") if part.strip()]
        for ref in refs:
            parts = urlsplit(urljoin(f"/{key}", html.unescape(ref)))
            if parts.scheme or parts.netloc:
                continue
            path = parts.path.lstrip("/")
            yield f"{path}index.html" if path.endswith("/") or not path else path


class FailingAfter:
    """An S3 client whose writes fail, as an unreachable endpoint does, after `limit`."""

    def __init__(self, client: Any, limit: int) -> None:
        self._client, self._limit, self._lock = client, limit, threading.Lock()
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in WRITE_METHODS:
            return method

        def write(**params: Any) -> Any:
            with self._lock:
                if self.writes >= self._limit:
                    raise EndpointConnectionError(endpoint_url="https://s3.eu-west-1")
                self.writes += 1
            return method(**params)

        return write
