"""The aws preview links: short-lived presigned GET URLs to the private content bucket.

The bucket stays private (no policy grants anyone reading it); a URL signed with the API's
role lets its holder, an admin's browser, read one object for `expires_s` seconds (a few
minutes: NAILFOLIO_PREVIEW_TTL_S). The URL asks S3 to answer with the type from
nailfolio.gallery.media_types, `Cache-Control: private, no-store` and an inline disposition,
whatever the object was uploaded with. Signing is local (no call to AWS), through the one
error mapping, so missing credentials are a ConfigError saying what to set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nailfolio.aws.calls import call
from nailfolio.aws.clients import SharedClient

if TYPE_CHECKING:
    from botocore.client import BaseClient

CACHE_CONTROL = "private, no-store"


class S3PreviewLinks(SharedClient):
    """PreviewLinks port adapter: presigned GetObject URLs on one bucket."""

    def __init__(self, client: BaseClient, bucket: str, expires_s: int) -> None:
        self._client = client  # a boto3 "s3" client
        self._bucket = bucket
        self._expires_s = expires_s

    def url(self, key: str, media_type: str) -> str:
        """A URL reading `key` for the next `expires_s` seconds, served as `media_type`."""
        params = {
            "Bucket": self._bucket,
            "Key": key,
            "ResponseContentType": media_type,
            "ResponseCacheControl": CACHE_CONTROL,
            "ResponseContentDisposition": "inline",
        }
        request = {"ClientMethod": "get_object", "Params": params, "ExpiresIn": self._expires_s}
        where = f" for s3://{self._bucket}/{key}"
        return call(self._client, "S3", "GeneratePresignedUrl", request, where=where)  # type: ignore[return-value]
