"""Content sync: bring the content bucket up to date with the local content/ folder.

`build.py content sync` runs it on the aws backend: the designers' folder is read through the
local content store (links are never followed), and what the scan would refuse is refused
here too, with the scan's own reason. Files are compared by content, never by time:

- a size that differs is a change, without asking more;
- an ETag equal to the file's MD5 is the same bytes (S3 gives a single-part upload an MD5
  ETag under SSE-S3 encryption, and the ETag comes with the listing: no request per file);
- any other ETag (a multipart upload, SSE-KMS) is settled by the SHA-256 this sync keeps in
  the object's metadata at upload (one HeadObject); an object without it is uploaded again.

Uploads go sidecars and designer.md first, then images, so that the hook an image fires
(S3 -> EventBridge -> moderate) finds its sidecar already there. Objects only in the bucket
are deleted only when asked (they may be designers' uploads from /admin/), and never under a
key the local folder holds in a form the sync refuses (a link, a sub-folder).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from nailfolio.errors import ContentUnreadable
from nailfolio.gallery.content import IGNORED_NAMES, SIDECAR_SUFFIX, scan_designs
from nailfolio.gallery.content_store import ContentEntry, ContentStore, EntryKind

SHA256_METADATA = "sha256"  # x-amz-meta-sha256: the object's bytes, as this sync hashed them


@dataclass(frozen=True)
class RemoteFile:
    """One object under designs/ in the content bucket, as its listing gives it."""

    key: str
    size: int
    etag: str  # without its quotes


@dataclass(frozen=True)
class Upload:
    """A file to upload: new to the bucket, or changed since."""

    key: str
    size: int
    new: bool


@dataclass(frozen=True)
class Refusal:
    """A file or folder of content/ that is not uploaded, and why."""

    key: str
    reason: str

    def __str__(self) -> str:
        return f"content/{self.key}: {self.reason}"


@dataclass(frozen=True)
class SyncPlan:
    """What a sync would do: uploads in order, deletions if asked, and what it refuses."""

    uploads: tuple[Upload, ...]
    unchanged: int
    only_in_bucket: tuple[str, ...]
    refused: tuple[Refusal, ...]

    @property
    def upload_bytes(self) -> int:
        return sum(upload.size for upload in self.uploads)


class ContentBucket(Protocol):
    """The content bucket's side of a sync (nailfolio.aws.s3_content_bucket)."""

    def list_files(self) -> tuple[RemoteFile, ...]:
        """Every object under designs/ (folder markers left out)."""
        ...

    def stored_sha256(self, key: str) -> str:
        """The SHA-256 kept in the object's metadata; "" if it has none or is gone."""
        ...

    def upload(self, key: str, data: bytes, sha256: str) -> None:
        """Put the object, its SHA-256 in its metadata."""
        ...

    def delete(self, keys: Sequence[str]) -> None:
        """Delete these objects (a missing one is no error)."""
        ...


def plan_sync(local: ContentStore, bucket: ContentBucket, max_file_bytes: int) -> SyncPlan:
    """Compare the local content store with the bucket, changing nothing; a file is read
    (and hashed) only when the bucket holds an object of its size under its key."""
    candidates, refused = _local_files(local, max_file_bytes)
    remote = {file.key: file for file in bucket.list_files()}
    uploads: list[Upload] = []
    unchanged = 0
    for entry in candidates:
        found = remote.get(entry.key)
        if found is None or found.size != entry.size:  # no need to read it to know
            uploads.append(Upload(entry.key, entry.size, new=found is None))
            continue
        try:
            data = local.read(entry.key)
        except ContentUnreadable as error:
            refused.append(Refusal(entry.key, error.reason))
            continue
        if _same(data, found, bucket):
            unchanged += 1
        else:
            uploads.append(Upload(entry.key, len(data), new=False))
    kept = {entry.key for entry in candidates}
    held = [refusal.key for refusal in refused]
    only = sorted(key for key in remote if key not in kept and not _under(key, held))
    return SyncPlan(
        uploads=tuple(sorted(uploads, key=_upload_order)),
        unchanged=unchanged,
        only_in_bucket=tuple(only),
        refused=tuple(sorted(refused, key=lambda refusal: refusal.key)),
    )


@dataclass(frozen=True)
class SyncResult:
    uploaded: int
    deleted: int
    refused: tuple[Refusal, ...]  # files that could not be read when their turn came


def run_sync(
    plan: SyncPlan,
    local: ContentStore,
    bucket: ContentBucket,
    delete: bool = False,
    on_step: Callable[[str], None] = lambda key: None,
) -> SyncResult:
    """Carry out `plan`, deletions only with `delete`. Each file is read as it is sent and
    hashed then; one that cannot be read is refused and the others go on."""
    uploaded, refused = 0, []
    for upload in plan.uploads:
        try:
            data = local.read(upload.key)
        except ContentUnreadable as error:
            refused.append(Refusal(upload.key, error.reason))
        else:
            bucket.upload(upload.key, data, hashlib.sha256(data).hexdigest())
            uploaded += 1
        on_step(upload.key)
    deletions = plan.only_in_bucket if delete else ()
    if deletions:
        bucket.delete(deletions)
        for key in deletions:
            on_step(key)
    return SyncResult(uploaded, len(deletions), tuple(refused))


def _local_files(
    local: ContentStore, max_file_bytes: int
) -> tuple[list[ContentEntry], list[Refusal]]:
    """The files a sync uploads, and what it refuses: what the scan refuses (links,
    sub-folders, misplaced files, pipes) and files bigger than ingest takes."""
    entries = local.list_designs()
    links = {entry.key for entry in entries if entry.kind is EntryKind.LINK}
    refused = [
        Refusal(problem.path, problem.reason)
        for problem in scan_designs(local).problems
        if not problem.warning or problem.path in links  # a linked sidecar only warns there
    ]
    candidates: list[ContentEntry] = []
    for entry in entries:
        if entry.kind is not EntryKind.FILE or not _designers_file(entry.key):
            continue
        if entry.size > max_file_bytes:
            limit = f"{max_file_bytes / 2**20:.3g} MB"
            reason = f"larger than the {limit} an image may be (NAILFOLIO_MAX_FILE_MB)"
            refused.append(Refusal(entry.key, reason))
        else:
            candidates.append(entry)
    return candidates, refused


def _designers_file(key: str) -> bool:
    """A visible file in a designer folder: designs/<designer>/<file>, nothing hidden on the
    way (the scan skips dotfiles, Thumbs.db and the like silently, and so does the sync)."""
    parts = key.split("/")
    return len(parts) == 3 and not any(
        part.startswith(".") or part.lower() in IGNORED_NAMES for part in parts[1:]
    )


def _same(data: bytes, remote: RemoteFile, bucket: ContentBucket) -> bool:
    """Whether the object holds these bytes: by size, then ETag, then the stored SHA-256."""
    if remote.size != len(data):
        return False
    if remote.etag == hashlib.md5(data, usedforsecurity=False).hexdigest():
        return True
    return bucket.stored_sha256(remote.key) == hashlib.sha256(data).hexdigest()


def _under(key: str, held: Sequence[str]) -> bool:
    """The key is one the sync refused, or inside a refused folder."""
    return any(key == refused or key.startswith(f"{refused}/") for refused in held)


def _upload_order(upload: Upload) -> tuple[bool, str]:
    """Markdown (sidecars, designer.md) before images: an image's hook reads its sidecar."""
    return (not upload.key.lower().endswith(SIDECAR_SUFFIX), upload.key)
