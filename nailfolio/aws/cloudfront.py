"""The CDN in front of the site bucket: CloudFront invalidations, one per publish.

The paths come from the plan (nailfolio.gallery.publish.invalidation_paths: the changed and
deleted files as viewers name them, or "/*" above the threshold; 1,000 paths a month are
free, then each costs). The caller reference is made once per invalidation, so botocore's
retries of a timed-out request are the same request to CloudFront, not a second
invalidation. A publish does not wait for an invalidation to complete (minutes, and pages
expire within a minute anyway); `wait` polls for those who want to, accepting the status
in either case ("Completed" on AWS, "COMPLETED" on moto, which breaks botocore's waiter).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from nailfolio.aws.calls import call
from nailfolio.aws.clients import SharedClient
from nailfolio.errors import ServiceUnavailable

if TYPE_CHECKING:
    from botocore.client import BaseClient

SERVICE = "CloudFront"
MAX_PATHS = 3000  # CloudFront's limit per invalidation (15 of them wildcards)
COMPLETED = "completed"
_HINTS = {
    "NoSuchDistribution": "check NAILFOLIO_CLOUDFRONT_DISTRIBUTION",
    "AccessDenied": "the role needs cloudfront:CreateInvalidation on the distribution",
    "TooManyInvalidationsInProgress": "wait for the running invalidations, then publish again",
}


class CloudFrontInvalidator(SharedClient):
    """The Cdn port over one CloudFront distribution."""

    def __init__(self, client: BaseClient, distribution_id: str) -> None:
        self._client = client  # a boto3 "cloudfront" client
        self.distribution_id = distribution_id

    def invalidate(self, paths: Sequence[str]) -> str:
        """One invalidation of these paths; returns its id."""
        if not paths or len(paths) > MAX_PATHS:
            raise ValueError(f"an invalidation takes 1 to {MAX_PATHS} paths, not {len(paths)}")
        batch = {
            "Paths": {"Quantity": len(paths), "Items": list(paths)},
            "CallerReference": f"nailfolio-{uuid.uuid4().hex}",
        }
        answer = self._call(
            "CreateInvalidation", DistributionId=self.distribution_id, InvalidationBatch=batch
        )
        return answer["Invalidation"]["Id"]

    def completed(self, invalidation_id: str) -> bool:
        """Whether CloudFront has finished the invalidation (status in any case)."""
        answer = self._call(
            "GetInvalidation", DistributionId=self.distribution_id, Id=invalidation_id
        )
        return answer["Invalidation"]["Status"].lower() == COMPLETED

    def wait(
        self,
        invalidation_id: str,
        timeout_s: float = 900,
        poll_s: float = 20,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Poll until the invalidation completes; ServiceUnavailable after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while not self.completed(invalidation_id):
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(
                    f"CloudFront invalidation {invalidation_id} on {self.distribution_id} "
                    f"still in progress after {timeout_s:.0f} s; it goes on without us"
                )
            sleep(poll_s)

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        where = f" on distribution {self.distribution_id}"
        return call(self._client, SERVICE, operation, params, where=where, hints=_HINTS)
