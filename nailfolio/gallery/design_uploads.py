"""The designers' studio: whose folder is whose, upload forms, sidecars and each design's status.

- A user in the `designers` role owns the one folder whose designer.md says
  `Account: <their email>` (admins write that file; `designers assign` does it). The mapping
  lives in the content store, so it is the same on both backends and needs no identity
  schema. Admins may act on any folder, naming its designer slug.
- An upload is asked for first: the studio picks the key (a slug of the file name, never
  clashing with a design of the folder, never designer.md) and an `UploadForms` adapter
  returns a form the browser posts the file with: a presigned S3 POST on aws (limited to that
  key, the size cap and the declared type), a signed form for the local API otherwise.
- A design's metadata is written as its sidecar `<stem>.md`; designer.md is never written.
- Each design's status comes from the catalog: "processing" until the current bytes have a
  decision, then approved / needs_review / rejected, or not_usable with the decoder's reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Protocol

from nailfolio.errors import NailfolioError
from nailfolio.gallery.catalog import Catalog
from nailfolio.gallery.content import (
    DESIGNER_FILE,
    SIDECAR_SUFFIX,
    DesignerFolder,
    designer_folders,
    folder_designs,
    parse_metadata,
)
from nailfolio.gallery.content_store import ContentStore, version_stamp
from nailfolio.gallery.images import UPLOAD_TYPES, megabytes
from nailfolio.gallery.models import DesignSource
from nailfolio.gallery.settings import ImageSettings
from nailfolio.gallery.slugs import slugify

UPLOAD_TTL_S = 1800  # a phone on a slow network has half an hour to start posting
MAX_STEM = 60
TEXT_LIMITS = {"title": 120, "technique": 60, "description": 5000}
MAX_TERMS, MAX_TERM = 20, 40  # tags and colours: how many, how long each
METADATA_FIELDS = ("title", "tags", "colours", "technique", "description")
_FIELD_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*:")  # as nailfolio.gallery.content reads them
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class StudioError(NailfolioError):
    """A studio request that cannot be done; `field` names the input at fault, if one is."""

    field: str | None = None


class NotADesigner(StudioError):
    """The caller is neither a designer nor an admin."""


class NoFolder(StudioError):
    """A designer whose account no designer folder names."""


class NotYourFolder(StudioError):
    """A designer asking for someone else's folder."""


class FolderNotFound(StudioError):
    """No designer folder has that slug."""


class StudioDesignNotFound(StudioError):
    """No design with that slug in the folder."""


class InvalidUpload(StudioError):
    """A malformed upload request or metadata; the message says what to change."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UploadTooLarge(InvalidUpload):
    """A file over the size cap."""


class UploadRefused(StudioError):
    """A posted file whose form is forged, expired or not for it (S3's AccessDenied)."""


@dataclass(frozen=True)
class UploadForm:
    """Where and how the browser posts one file: a multipart POST of `fields`, then `file`."""

    url: str
    fields: Mapping[str, str]
    key: str  # the content key the file will have ("designs/ana/red-chrome.jpg")
    expires_at: datetime


class UploadForms(Protocol):
    """Makes upload forms (a presigned S3 POST, or the local API's signed form)."""

    def form(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> UploadForm: ...


@dataclass(frozen=True)
class DesignStatus:
    """One design of a folder as its designer sees it."""

    design: str  # "ana/red-chrome": the catalog's key, and the design page's path
    file: str  # its content key
    title: str
    tags: tuple[str, ...]
    colours: tuple[str, ...]
    technique: str
    description: str  # the sidecar's Markdown body, as written
    status: str  # processing, approved, needs_review, rejected, not_usable
    reason: str = ""
    decided_at: datetime | None = None


class DesignerStudio:
    """What the studio's API does, on the content store, the catalog and an UploadForms."""

    def __init__(
        self,
        content: ContentStore,
        catalog: Catalog,
        forms: UploadForms,
        images: ImageSettings,
    ) -> None:
        self._content = content
        self._catalog = catalog
        self._forms = forms
        self._images = images

    def folder_for(self, email: str, role: str, designer: str | None = None) -> DesignerFolder:
        """The folder the caller works in: a designer's own (naming another is refused), or
        for an admin the one named by its designer slug (else their own, if they have one)."""
        if role not in ("designers", "admins"):
            raise NotADesigner("Only the studio's designers and admins can upload designs")
        folders = designer_folders(self._content)
        own = next((f for f in folders if email and f.designer.account == email.lower()), None)
        if role == "admins" and designer:
            named = next((f for f in folders if f.designer.slug == designer), None)
            if named is None:
                raise FolderNotFound(f"No designer folder has the slug {designer!r}")
            return named
        if own is None:
            if role == "admins":
                raise InvalidUpload("Name the designer whose folder this is", "designer")
            raise NoFolder(
                f"No designer folder belongs to {email} yet; ask the studio's admin to give "
                f"you one (designers assign {email} <folder>)"
            )
        if designer and designer != own.designer.slug:
            raise NotYourFolder("You can only work in your own folder")
        return own

    def ask_upload(
        self, folder: DesignerFolder, filename: Any, content_type: Any, size: Any
    ) -> UploadForm:
        """An upload form for one new file in `folder`; raises InvalidUpload, UploadTooLarge."""
        if not isinstance(filename, str) or not filename.strip() or len(filename) > 255:
            raise InvalidUpload("Give the file's name (at most 255 characters)", "filename")
        media = upload_type(filename, content_type)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidUpload("Give the file's size in bytes", "size")
        if size > self._images.max_file_bytes:
            limit = megabytes(self._images.max_file_bytes)
            raise UploadTooLarge(f"The file is over the {limit} limit", "size")
        key = self._new_key(folder, filename, media)
        return self._forms.form(key, media, self._images.max_file_bytes, UPLOAD_TTL_S)

    def _new_key(self, folder: DesignerFolder, filename: str, media: str) -> str:
        """A key in the folder whose stem is its own slug and clashes with no design there."""
        stem = slugify(PurePosixPath(filename.replace("\\", "/")).stem, fallback="design")
        stem = stem[:MAX_STEM].strip("-") or "design"
        if stem == PurePosixPath(DESIGNER_FILE).stem:
            stem = "design"  # designer.jpg's sidecar would be designer.md
        taken = {entry.stem.casefold() for entry in self._folder_entries(folder)}
        taken |= {design.slug for design in folder_designs(self._content, folder.key)}
        candidate, number = stem, 1
        while candidate in taken:
            number += 1
            candidate = f"{stem}-{number}"
        return f"{folder.key}/{candidate}{UPLOAD_TYPES[media][1]}"

    def _folder_entries(self, folder: DesignerFolder) -> list[Any]:
        prefix = f"{folder.key}/"
        return [e for e in self._content.list_designs() if e.key.startswith(prefix)]

    def save_metadata(self, folder: DesignerFolder, slug: str, fields: Mapping[str, Any]) -> str:
        """Write the design's sidecar from `fields` (METADATA_FIELDS); returns its key."""
        design = self._design(folder, slug)
        text = sidecar_text(fields)
        stem = PurePosixPath(design.rel_path).stem
        if f"{stem}{SIDECAR_SUFFIX}".lower() == DESIGNER_FILE:  # designer.jpg: never designer.md
            raise InvalidUpload(
                "This photo's sidecar would be designer.md; ask an admin to rename it"
            )
        key = f"{folder.key}/{stem}{SIDECAR_SUFFIX}"
        self._content.write(key, text.encode("utf-8"))
        return key

    def _design(self, folder: DesignerFolder, slug: str) -> DesignSource:
        for design in folder_designs(self._content, folder.key):
            if design.slug == slug:
                return design
        raise StudioDesignNotFound(f"No design {slug!r} in {folder.designer.name}'s folder")

    def list_designs(self, folder: DesignerFolder) -> list[DesignStatus]:
        """Every design of the folder with its status, newest file first."""
        designs = sorted(folder_designs(self._content, folder.key), key=lambda d: (-d.mtime, d.key))
        return [self._status(design) for design in designs]

    def _status(self, design: DesignSource) -> DesignStatus:
        status, reason, decided_at = self._decision(design)
        return DesignStatus(
            design=design.key,
            file=design.rel_path,
            title="" if design.untitled else design.title,
            tags=design.tags,
            colours=design.colours,
            technique=design.technique,
            description=self._description(design),
            status=status,
            reason=reason,
            decided_at=decided_at,
        )

    def _decision(self, design: DesignSource) -> tuple[str, str, datetime | None]:
        """The status of the design's current bytes, as far as the catalog knows them."""
        known = self._catalog.get_file_hash(
            design.rel_path, design.size, version_stamp(design.version)
        )
        if known is not None:
            refusal = self._catalog.get_refusal(known, self._images.input_fingerprint())
            if refusal is not None:
                return "not_usable", refusal, None
        decision = self._catalog.latest_decision(design.key)
        if decision is None or (known is not None and decision.content_hash != known):
            return "processing", "", None
        return decision.status.value, decision.reason, decision.decided_at

    def _description(self, design: DesignSource) -> str:
        """The sidecar's Markdown body as written (the scan keeps only its HTML)."""
        key = str(PurePosixPath(design.rel_path).with_suffix(SIDECAR_SUFFIX))
        try:
            text = self._content.read(key, 64 * 1024).decode("utf-8", "replace")
        except NailfolioError:
            return ""
        return parse_metadata(text)[1]


def upload_type(filename: str, content_type: Any) -> str:
    """The accepted media type of an upload: the declared one, else (a browser that knows
    no type for HEIC sends none) the one its extension names; raises InvalidUpload."""
    declared = content_type.strip().lower() if isinstance(content_type, str) else None
    if declared is None:
        raise InvalidUpload("Give the file's content_type", "content_type")
    if declared in ("", "application/octet-stream"):
        suffix = PurePosixPath(filename).suffix.lower()
        by_suffix = {ext: media for media, (_, ext) in UPLOAD_TYPES.items()} | {
            ".jpeg": "image/jpeg"
        }
        declared = by_suffix.get(suffix, declared)
    if declared not in UPLOAD_TYPES:
        accepted = ", ".join(UPLOAD_TYPES)
        raise InvalidUpload(
            f"{declared or 'That'} is not accepted; send {accepted}", "content_type"
        )
    return declared


def sidecar_text(fields: Mapping[str, Any]) -> str:
    """A sidecar's text from the metadata fields; raises InvalidUpload naming a bad field."""
    unknown = sorted(set(fields) - set(METADATA_FIELDS))
    if unknown:
        raise InvalidUpload(f"Unknown field {unknown[0]!r}", unknown[0])
    title = _line(fields, "title")
    technique = _line(fields, "technique")
    tags, colours = _terms(fields, "tags"), _terms(fields, "colours")
    description = _text(fields, "description", TEXT_LIMITS["description"]).strip()
    lines = [f"Title: {title}"]
    lines += [f"Tags: {', '.join(tags)}"] if tags else []
    lines += [f"Colours: {', '.join(colours)}"] if colours else []
    lines += [f"Technique: {technique}"] if technique else []
    body = f"\n\n{description}\n" if description else "\n"
    return "\n".join(lines) + body


def _text(fields: Mapping[str, Any], name: str, limit: int) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise InvalidUpload(f"{name} must be text", name)
    if _CONTROL.search(value) or any("\ud800" <= c <= "\udfff" for c in value):
        raise InvalidUpload(f"{name} contains a character that cannot be used", name)
    if len(value) > limit:
        raise InvalidUpload(f"{name} has at most {limit} characters", name)
    return value


def _line(fields: Mapping[str, Any], name: str) -> str:
    """A one-line value: line breaks would start the sidecar's next field or its body."""
    return " ".join(_text(fields, name, TEXT_LIMITS[name]).split())


def _terms(fields: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """Tags or colours: a list of words, or one comma-separated text."""
    value = fields.get(name, [])
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidUpload(f"{name} must be a list of words", name)
    terms = tuple(dict.fromkeys(" ".join(item.replace(";", " ").split()).lower() for item in value))
    terms = tuple(term for term in terms if term)
    if len(terms) > MAX_TERMS or any(len(term) > MAX_TERM for term in terms):
        raise InvalidUpload(f"{name}: at most {MAX_TERMS}, of {MAX_TERM} characters each", name)
    if any(_CONTROL.search(term) for term in terms):
        raise InvalidUpload(f"{name} contains a character that cannot be used", name)
    return terms


def with_account(text: str, email: str, name: str = "") -> str:
    """designer.md's text with its Account: field set to `email` (the other fields and the
    body kept); a new file gets `Name: name` too."""
    if not text.strip():
        return f"Name: {name}\nAccount: {email}\n" if name else f"Account: {email}\n"
    lines = text.lstrip("\ufeff").splitlines()
    header = 0  # the lines parse_metadata reads as fields
    while header < len(lines) and (
        _FIELD_LINE.match(lines[header])
        or (header and lines[header][:1] in (" ", "\t") and lines[header].strip())
    ):
        header += 1
    for index, line in enumerate(lines[:header]):
        if line.split(":", 1)[0].lower() == "account":
            lines[index] = f"Account: {email}"
            break
    else:
        lines[header:header] = [f"Account: {email}"] + ([] if header else [""])
    return "\n".join(lines) + "\n"
