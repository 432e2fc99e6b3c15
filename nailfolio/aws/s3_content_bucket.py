"""The content bucket as `content sync` writes it: listing with ETags, uploads that keep a
SHA-256 in the object's metadata, and batched deletions (nailfolio.gallery.content_sync).

Uploads are single PutObjects (a designer's file is at most NAILFOLIO_MAX_FILE_MB, far under
PutObject's 5 GB) with Content-MD5, so S3 refuses bytes damaged on the way, and their ETag is
the MD5 the next sync compares without a request of its own.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nailfolio.aws.clients import SharedClient
from nailfolio.aws.s3 import NoSuchKey, list_objects, request
from nailfolio.errors import ServiceUnavailable
from nailfolio.gallery.content_store import DESIGNS_PREFIX
from nailfolio.gallery.content_sync import SHA256_METADATA, RemoteFile

if TYPE_CHECKING:
    from botocore.client import BaseClient

DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys


class S3ContentBucket(SharedClient):
    """ContentBucket port adapter over the content bucket."""

    def __init__(self, client: BaseClient, bucket: str) -> None:
        self._client = client  # a boto3 "s3" client
        self._bucket = bucket

    def list_files(self) -> tuple[RemoteFile, ...]:
        return tuple(
            RemoteFile(item["Key"], int(item["Size"]), item["ETag"].strip('"'))
            for item in list_objects(self._client, self._bucket, f"{DESIGNS_PREFIX}/")
            if not item["Key"].endswith("/")  # a console's folder marker
        )

    def stored_sha256(self, key: str) -> str:
        try:
            head = request(self._client, "HeadObject", Bucket=self._bucket, Key=key)
        except NoSuchKey:
            return ""
        return head.get("Metadata", {}).get(SHA256_METADATA, "")

    def upload(self, key: str, data: bytes, sha256: str) -> None:
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        request(
            self._client,
            "PutObject",
            Bucket=self._bucket,
            Key=key,
            Body=data,
            ContentMD5=md5,
            Metadata={SHA256_METADATA: sha256},
        )

    def delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
            response = request(
                self._client,
                "DeleteObjects",
                Bucket=self._bucket,
                Delete={"Objects": batch, "Quiet": True},
            )
            if errors := response.get("Errors"):
                first = errors[0]
                raise ServiceUnavailable(
                    f"S3 DeleteObjects on bucket {self._bucket!r} left {len(errors)} objects "
                    f"({first.get('Key')}: {first.get('Code')}); check the role's "
                    "s3:DeleteObject permission and run the sync again"
                )
