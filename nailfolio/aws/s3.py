"""What the S3 adapters share: one way to make a call (through nailfolio.aws.calls).

`request` makes one low-level client call and turns whatever botocore raises into a library
error: a missing key into `NoSuchKey` (caught inside the adapters, never seen by callers),
and any other refusal, throttle, 5xx or network failure into `ServiceUnavailable` naming the
operation and the bucket, with a hint (create the bucket, check the role's policy, try again).

botocore is imported inside the function, never at module top: only the aws backend imports
this module, and the API's import stays free of boto3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nailfolio.aws.calls import call
from nailfolio.errors import ServiceUnavailable

if TYPE_CHECKING:
    from botocore.client import BaseClient

SERVICE = "S3"
_MISSING_KEY = frozenset({"NoSuchKey", "404", "NotFound"})
_HINTS = {
    "NoSuchBucket": "create the bucket or fix the bucket-name setting",
    "AccessDenied": "check the bucket policy and the role's IAM permissions",
    "403": "check the bucket policy and the role's IAM permissions",
}


class NoSuchKey(Exception):
    """The object is not in the bucket (GetObject's NoSuchKey, HeadObject's bare 404)."""


def request(client: BaseClient, operation: str, **params: Any) -> dict[str, Any]:
    """Call `operation` ("GetObject", ...) with `params`; raise only library errors."""
    return call(
        client, SERVICE, operation, params, _translate, where=_on_bucket(params), hints=_HINTS
    )


def _translate(
    code: str, message: str, params: Mapping[str, Any], response: Mapping[str, Any]
) -> Exception | None:
    return NoSuchKey(params.get("Key", "")) if code in _MISSING_KEY else None


def list_objects(client: BaseClient, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every object under prefix, following ListObjectsV2's continuation tokens."""
    objects: list[dict[str, Any]] = []
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = request(client, "ListObjectsV2", **params)
        objects.extend(page.get("Contents", []))
        if not page.get("IsTruncated"):
            return objects
        params["ContinuationToken"] = page["NextContinuationToken"]


def read_body(response: dict[str, Any], where: str, limit: int | None = None) -> bytes:
    """A GetObject response's bytes (at most limit + 1 of them); the stream is closed after,
    so the rest of a too-big object is never downloaded. A broken stream is ServiceUnavailable."""
    from botocore.exceptions import BotoCoreError

    body = response["Body"]
    try:
        return body.read() if limit is None else body.read(limit + 1)
    except (BotoCoreError, OSError) as exc:
        raise ServiceUnavailable(
            f"{SERVICE} GetObject on {where} broke off ({exc}); try again later"
        ) from exc
    finally:
        body.close()


def _on_bucket(params: Mapping[str, Any]) -> str:
    bucket, key = params.get("Bucket"), params.get("Key")
    if not bucket:
        return ""
    return f" on s3://{bucket}/{key}" if key else f" on bucket {bucket!r}"
