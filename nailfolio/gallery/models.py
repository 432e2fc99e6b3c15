"""Frozen dataclasses that cross module boundaries: content, renditions, moderation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path


@dataclass(frozen=True)
class Designer:
    """A designer: one folder under content/designs/, optionally described by designer.md."""

    slug: str
    name: str
    bio: str = ""  # HTML rendered from designer.md's body
    account: str = ""  # designer.md's "Account:" email: the designers-role user owning it


@dataclass(frozen=True)
class Price:
    """A design's price from its sidecar ("Price: 45 EUR")."""

    amount: Decimal
    currency: str  # ISO 4217 code, "EUR"


@dataclass(frozen=True)
class DesignSource:
    """One image found in the content folder, with its metadata (sidecar or derived)."""

    key: str  # "<designer-slug>/<design-slug>": stable id used by the catalog and the CLI
    path: Path  # absolute path of the image file (on S3, its key as a relative path)
    rel_path: str  # its key in the content store, POSIX style ("designs/ana/red.jpg")
    designer: Designer
    slug: str  # URL-safe, unique within the designer
    title: str
    tags: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    technique: str = ""
    date: datetime | None = None  # from the sidecar; None means "use EXIF, else file time"
    description: str = ""  # HTML rendered from the sidecar's body
    alt: str = ""  # alt text; derived from title and description when the sidecar has none
    mtime: float = 0.0
    # No sidecar title and a camera's file name (IMG_2041): `title` is a stand-in until
    # publishing, where it becomes "Design by <designer>, <date>" (nailfolio.gallery.content).
    untitled: bool = False
    size: int = 0  # bytes, as the content store listed them
    version: str = ""  # the content store's version token (mtime_ns locally, ETag on S3)
    price: Price | None = None  # sidecar "Price:"
    duration: int = 0  # minutes, sidecar "Duration:"; 0 when not given


@dataclass(frozen=True)
class Variant:
    """One published file derived from a source image."""

    name: str  # file name under the site's image folder; carries the content hash
    width: int
    height: int
    format: str  # "webp" or "jpeg"
    role: str  # "responsive", "fallback" or "thumb"


@dataclass(frozen=True)
class Swatch:
    """One dominant colour of a design, read from its pixels (nailfolio.gallery.palette)."""

    colour: str  # "#rrggbb", as measured
    share: float  # of the design's pixels (background and hands left out), 0-1
    shade: str  # the nearest named polish shade (nailfolio.gallery.shades.SHADES)


@dataclass(frozen=True)
class Rendition:
    """Everything the pipeline derived from one source image."""

    content_hash: str  # sha256 hex of the source bytes
    width: int  # of the auto-oriented source
    height: int
    variants: tuple[Variant, ...]
    placeholder: str  # tiny data: URI painted before the real image arrives
    dominant_colour: str  # "#rrggbb"
    taken_at: datetime | None = None  # EXIF DateTimeOriginal, if any
    palette: tuple[Swatch, ...] = ()  # dominant colours, largest share first
    palette_version: int = 0  # palette.PALETTE_VERSION it was read with; 0: never read


@dataclass(frozen=True)
class Label:
    """A moderation label, shaped like Rekognition's DetectModerationLabels output."""

    name: str
    parent_name: str
    confidence: float  # 0-100, as Rekognition reports it


class Status(StrEnum):
    APPROVED = "approved"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Decision:
    """A moderation decision recorded in the catalog for one version of a design."""

    key: str
    content_hash: str
    status: Status
    model: str  # which moderator decided, or "admin" for an override
    labels: tuple[Label, ...] = ()
    decided_at: datetime | None = None
    decided_by: str = "auto"  # "auto" or the admin who overrode it
    reason: str = ""


@dataclass(frozen=True)
class PublishedDesign:
    """An approved design with its rendition: what the Pelican plugin renders."""

    source: DesignSource
    rendition: Rendition
    date: datetime  # sidecar date, else EXIF DateTimeOriginal, else file time


@dataclass(frozen=True)
class Notification:
    """An entry in the admins' outbox."""

    id: int
    subject: str
    body: str
    created_at: datetime
    tags: tuple[str, ...] = field(default=())
