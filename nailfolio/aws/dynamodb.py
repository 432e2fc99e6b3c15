"""What the DynamoDB adapters share: one way to make a call, and the tables they need.

`request` makes one low-level client call and turns whatever botocore raises into a library
error: a failed condition into `ConditionFailed`, a cancelled transaction into
`TransactionCancelled` (both caught inside the adapters, never seen by callers), and any
other refusal, throttle or network failure into `ServiceUnavailable` naming the operation.

`catalog_table`, `rate_limit_table` and `revocation_table` give the CreateTable parameters of
each table, so the tests and the deployment create exactly what the adapters expect;
`rate_limit_time_to_live` and `revocation_time_to_live` the UpdateTimeToLive parameters that
let DynamoDB delete ended windows and expired revocations.

The call itself is `nailfolio.aws.calls.call`, which every AWS adapter shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from nailfolio.aws.calls import call

if TYPE_CHECKING:
    from botocore.client import BaseClient

SERVICE = "DynamoDB"
TTL_ATTRIBUTE = "expires_at"  # epoch seconds; DynamoDB deletes the item some time after
STATUS_INDEX = "by_status"  # the catalog's GSI of each design's latest decision
_RETRYABLE_CANCELS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
_HINTS = {
    "ResourceNotFoundException": (
        "create the table (nailfolio.aws.dynamodb) or fix the table-name setting"
    )
}


class ConditionFailed(Exception):
    """A conditional write was refused; `item` is the item as it was, if asked for."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("the conditional request failed")
        self.item = item


class TransactionCancelled(Exception):
    """A transaction was cancelled; `codes` holds one reason code per action ("None": fine)."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(f"transaction cancelled: {codes}")
        self.codes = codes

    @property
    def retryable(self) -> bool:
        """Whether another writer got there first (try again), rather than a bad request."""
        return bool(_RETRYABLE_CANCELS.intersection(self.codes))


def request(client: BaseClient, operation: str, **params: Any) -> dict[str, Any]:
    """Call `operation` ("UpdateItem", ...) with `params`; raise only library errors."""
    return call(
        client, SERVICE, operation, params, _translate, where=_on_table(params), hints=_HINTS
    )


def _translate(
    code: str, message: str, params: Mapping[str, Any], response: Mapping[str, Any]
) -> Exception | None:
    if code == "ConditionalCheckFailedException":
        return ConditionFailed(response.get("Item"))
    if code == "TransactionCanceledException":
        reasons = response.get("CancellationReasons") or []
        return TransactionCancelled([reason.get("Code", "None") for reason in reasons])
    return None


def _on_table(params: Mapping[str, Any]) -> str:
    name = params.get("TableName")
    return f" on table {name!r}" if name else ""


def number(value: float) -> dict[str, str]:
    """A float or int as a DynamoDB number that reads back as the same value.

    repr gives the shortest decimal that round-trips, Decimal keeps it exact and writes it
    without an exponent; DynamoDB has no NaN or infinity, so those are refused here.
    """
    exact = Decimal(repr(value))
    if not exact.is_finite():
        raise ValueError(f"{value!r} cannot be stored in DynamoDB (numbers must be finite)")
    return {"N": format(exact, "f")}


def read_float(attribute: dict[str, str]) -> float:
    """The float a DynamoDB number attribute was written from (see `number`)."""
    return float(Decimal(attribute["N"]))


def catalog_table(name: str) -> dict[str, Any]:
    """CreateTable parameters of the catalog's table (see nailfolio.aws.dynamodb_catalog)."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "latest_status", "AttributeType": "S"},
            {"AttributeName": "design_key", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": STATUS_INDEX,
                "KeySchema": [
                    {"AttributeName": "latest_status", "KeyType": "HASH"},
                    {"AttributeName": "design_key", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def rate_limit_table(name: str) -> dict[str, Any]:
    """CreateTable parameters of the rate limiter's counters (one item per bucket and window)."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "bucket", "AttributeType": "S"},
            {"AttributeName": "window_seconds", "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": "bucket", "KeyType": "HASH"},
            {"AttributeName": "window_seconds", "KeyType": "RANGE"},
        ],
    }


def rate_limit_time_to_live(name: str) -> dict[str, Any]:
    """UpdateTimeToLive parameters: DynamoDB deletes counters whose window has ended."""
    return {
        "TableName": name,
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    }


def revocation_table(name: str) -> dict[str, Any]:
    """CreateTable parameters of the identity's revocation list (nailfolio.aws.cognito_identity):
    one item per revoked token id and per user whose older tokens are refused."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    }


def revocation_time_to_live(name: str) -> dict[str, Any]:
    """UpdateTimeToLive parameters: DynamoDB deletes revocations once the tokens have expired."""
    return rate_limit_time_to_live(name)
