"""Upload forms on aws: presigned S3 POSTs straight into the content bucket.

Each form is limited by its policy to one key (the studio picks it, under the designer's
own folder), the declared image type (Content-Type, exactly) and 1 byte to the size cap
(content-length-range); S3 refuses anything else with 403 or 400, and the form expires.
The policy is signed with SigV4 by the API's role, so the role needs s3:PutObject on
designs/*. Forms go to the bucket's regional virtual-hosted address (the global one
redirects new buckets for a while, which a browser's CORS POST cannot follow): the policy's
signature does not cover the host, so the address is ours to choose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from nailfolio.aws.calls import call
from nailfolio.aws.clients import SharedClient
from nailfolio.gallery.design_uploads import UploadForm

if TYPE_CHECKING:
    from botocore.client import BaseClient


def upload_url(bucket: str, region: str, endpoint_url: str = "") -> str:
    """Where a browser posts a form: the bucket's regional address (path-style under a
    custom endpoint such as moto's server)."""
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{bucket}/"
    return f"https://{bucket}.s3.{region}.amazonaws.com/"


class S3UploadForms(SharedClient):
    """UploadForms port adapter: presigned POSTs to one bucket (a SigV4 "s3" client)."""

    def __init__(self, client: BaseClient, bucket: str, url: str) -> None:
        self._client = client
        self._bucket = bucket
        self._url = url

    def form(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> UploadForm:
        params = {
            "Bucket": self._bucket,
            "Key": key,  # the key's own condition is added by boto3: {"key": key}
            "Fields": {"Content-Type": content_type},
            "Conditions": [
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            "ExpiresIn": expires_in,
        }
        where = f" on s3://{self._bucket}/{key}"
        signed = call(self._client, "S3", "GeneratePresignedPost", params, where=where)
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        return UploadForm(self._url, dict(signed["fields"]), key, expires_at)
