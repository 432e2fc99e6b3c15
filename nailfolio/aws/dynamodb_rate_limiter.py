"""The rate limiter on DynamoDB: one counter item per (bucket, window length), with a TTL.

Same semantics as SqliteRateLimiter (nailfolio.ratelimit): a bucket's first hit opens a
window of `window_seconds`, at most `limit` hits count in it, a refused hit is not counted,
and `retry_after` is the whole seconds until the window ends.

Table (`nailfolio.aws.dynamodb.rate_limit_table`): partition key `bucket` (S), sort key
`window_seconds` (N), as the SQLite table's primary key, so the same bucket under two window
lengths is two counters and a bucket name needs no escaping. Attributes: `hits` (N),
`window_start` and `window_ends` (N, the clock's seconds exactly, so a window ends at the
same instant as on SQLite), and `expires_at` (N, whole seconds at or after `window_ends`),
the TTL attribute: DynamoDB deletes ended windows by itself, usually within a few days, and
an ended window left in the table is simply reopened by the next hit.

A hit is one conditional UpdateItem, `ADD hits 1` if the window lasts and has room, atomic on
DynamoDB's side however many Lambdas share the bucket. If that condition fails, the item as
it was comes back with the error (ReturnValuesOnConditionCheckFailure), so no extra read:
a window that still lasts means refused; none, or an ended one, means a second conditional
UpdateItem opens a new window at this hit, provided no other hit has opened one meanwhile
(if one has, the first update is tried again against it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nailfolio.aws.clients import SharedClient
from nailfolio.aws.dynamodb import ConditionFailed, number, read_float, request
from nailfolio.errors import ServiceUnavailable
from nailfolio.ratelimit import Decision, check_hit

if TYPE_CHECKING:
    from botocore.client import BaseClient

# Each round is a count and an open; a round fails only when another hit opened a window
# between the two, so more than a few in a row means something else is wrong.
MAX_ROUNDS = 5

_COUNT = {
    "UpdateExpression": "ADD hits :one",
    "ConditionExpression": "window_ends > :now AND hits < :limit",
}
_OPEN = {
    "UpdateExpression": (
        "SET hits = :one, window_start = :now, window_ends = :ends, expires_at = :expires"
    ),
    "ConditionExpression": "attribute_not_exists(window_ends) OR window_ends <= :now",
}


class DynamoRateLimiter(SharedClient):
    """Fixed-window counters in a DynamoDB table; safe to share between threads and Lambdas."""

    def __init__(
        self, client: BaseClient, table_name: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    def hit(self, bucket: str, limit: int, window_seconds: int) -> Decision:
        check_hit(bucket, limit, window_seconds)
        now = self._clock()
        key = {"bucket": {"S": bucket}, "window_seconds": {"N": str(int(window_seconds))}}
        for _ in range(MAX_ROUNDS):
            found = self._update(key, _COUNT, {":one": {"N": "1"}, ":now": number(now)}, limit)
            if found is None:
                return Decision(True, 0)
            if "window_ends" in found and read_float(found["window_ends"]) > now:
                return Decision(False, max(1, math.ceil(read_float(found["window_ends"]) - now)))
            ends = now + window_seconds
            values = {
                ":one": {"N": "1"},
                ":now": number(now),
                ":ends": number(ends),
                ":expires": {"N": str(math.ceil(ends))},
            }
            if self._update(key, _OPEN, values) is None:
                return Decision(True, 0)
        raise ServiceUnavailable(
            f"DynamoDB UpdateItem on table {self._table!r}: the window of {bucket!r} kept"
            f" changing under {MAX_ROUNDS} tries; try again later"
        )

    def _update(
        self,
        key: dict[str, Any],
        expressions: dict[str, str],
        values: dict[str, Any],
        limit: int | None = None,
    ) -> dict[str, Any] | None:
        """Apply one conditional update: None if applied, else the item as it was ({}: none)."""
        if limit is not None:
            values = {**values, ":limit": {"N": str(int(limit))}}
        try:
            request(
                self._client,
                "UpdateItem",
                TableName=self._table,
                Key=key,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **expressions,
            )
        except ConditionFailed as failed:
            return failed.item or {}
        return None
