"""The aws rendition store: variant files in a private S3 assets bucket, under a prefix.

Each variant is one PutObject (atomic on S3) with its Content-Type and a year-long immutable
Cache-Control, so publishing's server-side CopyObject into the site bucket carries both
along; `locate` gives that copy its source, and no bytes pass through the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nailfolio.aws.clients import SharedClient
from nailfolio.aws.s3 import NoSuchKey, list_objects, read_body, request
from nailfolio.errors import RenditionNotFound
from nailfolio.gallery.rendition_store import (
    CACHE_CONTROL,
    RenditionObject,
    check_name,
    content_type,
)

if TYPE_CHECKING:
    from botocore.client import BaseClient

DEFAULT_PREFIX = "renditions/"


class S3RenditionStore(SharedClient):
    """Rendition store port adapter over one S3 bucket."""

    def __init__(self, client: BaseClient, bucket: str, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client  # a boto3 "s3" client
        self._bucket = bucket
        self._prefix = prefix

    def put(self, name: str, data: bytes) -> None:
        request(
            self._client,
            "PutObject",
            Bucket=self._bucket,
            Key=self._key(name),
            Body=data,
            ContentType=content_type(name),
            CacheControl=CACHE_CONTROL,
        )

    def get(self, name: str) -> bytes:
        key = self._key(name)
        try:
            response = request(self._client, "GetObject", Bucket=self._bucket, Key=key)
        except NoSuchKey:
            raise RenditionNotFound(
                f"s3://{self._bucket}/{key}: not in the rendition store; ingest the image again"
            ) from None
        return read_body(response, f"s3://{self._bucket}/{key}")

    def exists(self, name: str) -> bool:
        try:
            request(self._client, "HeadObject", Bucket=self._bucket, Key=self._key(name))
        except NoSuchKey:
            return False
        return True

    def names(self) -> frozenset[str]:
        objects = list_objects(self._client, self._bucket, self._prefix)
        return frozenset(item["Key"][len(self._prefix) :] for item in objects)

    def locate(self, name: str) -> RenditionObject:
        return RenditionObject(self._bucket, self._key(name))

    def _key(self, name: str) -> str:
        return f"{self._prefix}{check_name(name)}"
