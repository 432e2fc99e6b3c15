"""The rendition store port: the content-hashed variant files an image is published as.

Names are plain file names carrying the content hash and the settings fingerprint
("<hash16>-<fp8>-480w.webp"), so the same name always holds the same bytes. Adapters:
nailfolio.local.folder_rendition_store (var/renditions/) and
nailfolio.aws.s3_rendition_store (a private S3 assets bucket). Semantics every adapter keeps:

- `put` is atomic: a reader sees the whole file or none. Putting a name again replaces it.
- `get` of a missing name raises RenditionNotFound; cloud faults ServiceUnavailable.
- The store is private: variants reach a site only through publishing, which asks `locate`
  where a variant is and brings it over without its bytes passing through the caller (a
  hard link from a RenditionFile, a server-side copy from a RenditionObject).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from nailfolio.gallery.media_types import media_type

# The kinds of file a variant is, with the types they are served with (the site's one table).
CONTENT_TYPES = {suffix: media_type(f"variant{suffix}") for suffix in (".webp", ".jpg")}
CACHE_CONTROL = "public, max-age=31536000, immutable"  # the name changes with the bytes


@dataclass(frozen=True)
class RenditionFile:
    """A variant on this machine: publish hard-links (or copies) it into the site."""

    path: Path


@dataclass(frozen=True)
class RenditionObject:
    """A variant in an S3 bucket: publish copies it server-side into the site bucket."""

    bucket: str
    key: str


RenditionLocation = RenditionFile | RenditionObject


class RenditionStore(Protocol):
    """Where rendered variants are kept, by name, until publishing brings them to a site."""

    def put(self, name: str, data: bytes) -> None: ...

    def get(self, name: str) -> bytes: ...

    def exists(self, name: str) -> bool: ...

    def names(self) -> frozenset[str]:
        """Every variant name the store holds, in one listing (a build's planning asks this
        once rather than checking each variant)."""
        ...

    def locate(self, name: str) -> RenditionLocation: ...


def check_name(name: str) -> str:
    """`name` if it is a variant's plain file name of a known type; ValueError otherwise."""
    plain = PurePosixPath(name)
    if plain.name != name or name.startswith(".") or plain.suffix not in CONTENT_TYPES:
        raise ValueError(f"{name!r} is not a variant file name like '<hash>-480w.webp'")
    return name


def content_type(name: str) -> str:
    """The Content-Type a variant is stored and served with."""
    return media_type(check_name(name))
