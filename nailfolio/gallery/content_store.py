"""The content store port: the designers' files (images, sidecars, designer.md) by key.

Keys are POSIX paths relative to the content root, the same on every backend:
"designs/<designer>/<name>.<ext>" (locally under content/, on AWS in the private content
bucket). Adapters: nailfolio.local.folder_content_store (the content/ folder) and
nailfolio.aws.s3_content_store (an S3 bucket). Semantics every adapter keeps:

- `list_designs` lists designs/ and each designer folder in it, one level deep: a folder
  deeper down is listed as the sub-folder that holds it, never entered. Nothing is
  filtered: hidden files and misplaced ones are listed too, and nailfolio.gallery.content
  decides what to skip and what to report.
- Symbolic links are listed as links and never followed, nor read through.
- `version` changes whenever the bytes may have (mtime_ns locally; ETag and LastModified
  on S3), so (key, size, version) may stand for the bytes in a cache.
- `read` with a limit returns at most limit + 1 bytes, so a caller can tell a file is too
  big without holding it all. A key that is gone raises ContentNotFound; any other failure
  ContentUnreadable with a reason for the designer, or ServiceUnavailable for a cloud fault.
- `write` (the studio's uploads and sidecars) is atomic: a scan sees the old bytes or the
  new, never part of a file (a hidden temporary file renamed into place, locally; one
  PutObject on S3). It never writes through a link, and the designer folder must exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

DESIGNS_PREFIX = "designs"


class EntryKind(StrEnum):
    FILE = "file"
    FOLDER = "folder"
    LINK = "link"  # a symbolic link, never followed; `to_folder` says what it points at
    SPECIAL = "special"  # neither file nor folder: a pipe, a socket, a device
    UNREADABLE = "unreadable"  # a folder whose listing was refused


@dataclass(frozen=True)
class ContentEntry:
    """One thing found under designs/ by a content store's listing."""

    key: str  # "designs/ana/red.jpg"
    kind: EntryKind
    size: int = 0
    version: str = ""  # changes whenever the bytes may have
    modified: float = 0.0  # seconds since the epoch
    to_folder: bool = False  # a LINK to a folder
    local: str = ""  # the file on this machine, for the local store only

    @property
    def path(self) -> Path | None:
        """`local` as a Path (made on demand: a scan lists 10,000 entries and needs none)."""
        return Path(self.local) if self.local else None

    @property
    def stem(self) -> str:
        """The name without its last extension, as PurePosixPath.stem gives it."""
        name = self.name
        dot = name.rfind(".")
        return name[:dot] if 0 < dot < len(name) - 1 else name

    @property
    def name(self) -> str:
        return self.key.rpartition("/")[2]  # not PurePosixPath: a scan asks 45,000 times


class ContentStore(Protocol):
    """Where designers' images, sidecars and designer.md files are kept."""

    def list_designs(self) -> tuple[ContentEntry, ...]:
        """designs/ and each designer folder in it, one level deep (see the module docstring)."""
        ...

    def read(self, key: str, limit: int | None = None) -> bytes:
        """The file's bytes; with a limit, at most limit + 1 of them."""
        ...

    def write(self, key: str, data: bytes) -> None:
        """Store `data` at `key` atomically (see the module docstring)."""
        ...


def check_key(key: str) -> str:
    """`key` if it is a plain relative key under designs/; ValueError otherwise."""
    parts = key.split("/")
    if parts[0] != DESIGNS_PREFIX or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"{key!r} is not a content key like 'designs/<designer>/<file>'")
    return key


def version_stamp(version: str) -> int:
    """The version as the integer the catalog's file-hash cache keys on: mtime_ns itself
    for the folder store (so caches from before the port stay valid), else 63 bits of a
    digest of the token (an S3 ETag and LastModified)."""
    if version.isdigit():
        return int(version)
    return int.from_bytes(hashlib.sha256(version.encode()).digest()[:8], "big") >> 1
