"""The aws content store: designers' files in a private S3 bucket, under the same keys.

The listing follows every ListObjectsV2 page. S3 has folders only as key prefixes: a key two
levels under designs/ ("designs/ana/red.jpg") is a designer's file; a deeper one is listed as
the sub-folder holding it, once; a console's folder marker ("designs/ana/") is its folder.
Keys with an empty, "." or ".." segment cannot be a file anywhere and are left out. There
are no links on S3. Versions are the ETag and LastModified together (a multipart ETag is no
MD5, and an overwrite with the same bytes changes LastModified: a new hash, same answer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nailfolio.aws.clients import SharedClient
from nailfolio.aws.s3 import NoSuchKey, list_objects, read_body, request
from nailfolio.errors import ContentNotFound
from nailfolio.gallery.content_store import (
    DESIGNS_PREFIX,
    ContentEntry,
    EntryKind,
    check_key,
)
from nailfolio.gallery.media_types import media_type

if TYPE_CHECKING:
    from botocore.client import BaseClient


class S3ContentStore(SharedClient):
    """Content store port adapter over one S3 bucket."""

    def __init__(self, client: BaseClient, bucket: str) -> None:
        self._client = client  # a boto3 "s3" client
        self._bucket = bucket

    def list_designs(self) -> tuple[ContentEntry, ...]:
        entries: list[ContentEntry] = []
        folders: set[str] = set()
        for item in list_objects(self._client, self._bucket, f"{DESIGNS_PREFIX}/"):
            parts = item["Key"].split("/")
            marker = parts[-1] == ""  # "designs/ana/": a folder made in the console
            if marker:
                parts.pop()
            if len(parts) < 2 or any(part in ("", ".", "..") for part in parts):
                continue
            for depth in range(2, min(len(parts) - (not marker), 3) + 1):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    folders.add(folder)
                    entries.append(ContentEntry(folder, EntryKind.FOLDER))
            if not marker and len(parts) <= 3:
                entries.append(_file(item))
        return tuple(entries)

    def read(self, key: str, limit: int | None = None) -> bytes:
        check_key(key)
        try:
            response = request(self._client, "GetObject", Bucket=self._bucket, Key=key)
        except NoSuchKey:
            raise ContentNotFound(key, "no such object; it was removed or renamed") from None
        return read_body(response, f"s3://{self._bucket}/{key}", limit)

    def write(self, key: str, data: bytes) -> None:
        check_key(key)
        request(
            self._client,
            "PutObject",
            Bucket=self._bucket,
            Key=key,
            Body=data,
            ContentType=media_type(key),
        )


def _file(item: dict[str, Any]) -> ContentEntry:
    modified = item["LastModified"]
    return ContentEntry(
        item["Key"],
        EntryKind.FILE,
        size=int(item["Size"]),
        version=f"{item['ETag']}@{modified.isoformat()}",
        modified=modified.timestamp(),
    )
