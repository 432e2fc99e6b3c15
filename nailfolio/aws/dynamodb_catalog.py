"""The catalog on DynamoDB: one table, generic keys `pk` and `sk`, one item kind per prefix.

Same semantics as SqliteCatalog (nailfolio.gallery.catalog). Items
(`nailfolio.aws.dynamodb.catalog_table` creates the table):

| item                       | pk                | sk                   |
| -------------------------- | ----------------- | -------------------- |
| a decision (the audit log) | `DESIGN#<key>`    | `DECISION#<number>`  |
| a design's latest decision | `DESIGN#<key>`    | `LATEST`             |
| a version's latest         | `DESIGN#<key>`    | `VERSION#<hash>`     |
| a rendition                | `RENDITION#<hash>`| `FP#<fingerprint>`   |
| a file's hash              | `FILE#<rel path>` | `FILE`               |
| a refusal                  | `REFUSAL#<hash>`  | `CAPS#<fingerprint>` |

One table, not four: every access is by key, so the kinds never meet in a query (their `pk`
prefixes differ), and one table is one thing to create, back up, alarm on and grant.

The log's sort key is the design's decision number (1, 2, ... zero-padded), not its time:
the contract orders decisions by recording, and two decisions may carry the same
`decided_at` (or an override an earlier one), while Lambdas' clocks disagree by milliseconds.
Recording number n puts three items in one TransactWriteItems: the log entry, the design's
LATEST (on condition that it still holds n - 1) and the version's latest. So numbers never
collide, the log is in recording order, and the three items never disagree; a writer that
lost the race reads the new number and tries again. `decision_history` and
`latest_decision` are one Query on the design's partition (newest first, Limit=1 for the
latter), `get_decision` is one GetItem of the version's item.

`latest_decisions(status)` must not read every decision of every design: LATEST items alone
carry `latest_status` and `design_key`, the keys of the sparse GSI `by_status`, so the review
queue is one Query of its status, already sorted by key (and all designs are the three
statuses' queries merged). A GSI is eventually consistent: a decision recorded a moment ago
may be missing from it (DynamoDB usually catches up within a second); every other read here
is strongly consistent.

Datetimes are stored as timestamps.format_datetime writes them (aware ones in UTC, EXIF's naive
ones kept naive); label confidences and palette shares as exact DynamoDB numbers; both read
back as equal dataclasses. An empty `taken_at` is a missing attribute, and so are `palette`
and `palette_version` on a rendition put before palettes were read (it reads as version 0).
"""

from __future__ import annotations

import heapq
import random
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nailfolio import timestamps
from nailfolio.aws.clients import SharedClient
from nailfolio.aws.dynamodb import (
    STATUS_INDEX,
    TransactionCancelled,
    number,
    read_float,
    request,
)
from nailfolio.errors import ServiceUnavailable
from nailfolio.gallery.catalog import CatalogSnapshot
from nailfolio.gallery.models import Decision, Label, Rendition, Status, Swatch, Variant

if TYPE_CHECKING:
    from botocore.client import BaseClient

MAX_RECORD_TRIES = 10  # a lost race costs one GetItem and one transaction more
BACKOFF_S = 0.01  # before try n + 1, a random pause of up to BACKOFF_S * 2**n (at most 0.5 s)
_LATEST = "LATEST"
_LOG = "DECISION#"
_NUMBER_DIGITS = 12


class DynamoCatalog(SharedClient):
    """The catalog in one DynamoDB table; safe to share between threads (boto3 clients are)."""

    def __init__(self, client: BaseClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- decisions --------------------------------------------------------------------

    def get_decision(self, key: str, content_hash: str) -> Decision | None:
        """The newest decision for this exact version of the design, if it was moderated."""
        item = self._get(_design(key), f"VERSION#{content_hash}")
        return _decision(item) if item else None

    def latest_decision(self, key: str) -> Decision | None:
        """The newest decision for the design, whatever version it was about."""
        items = self._query_log(key, limit=1)
        return _decision(items[0]) if items else None

    def latest_decisions(self, status: Status | None = None) -> list[Decision]:
        """The newest decision of every design (only those with `status`), sorted by key."""
        statuses = list(Status) if status is None else [Status(status)]
        per_status = [self._query_status(each) for each in statuses]
        merged = heapq.merge(*per_status, key=lambda item: item["design_key"]["S"])
        return [_decision(item) for item in merged]

    def decision_history(self, key: str) -> list[Decision]:
        """Every decision recorded for the design, newest first: the audit log."""
        return [_decision(item) for item in self._query_log(key)]

    def record_decision(self, decision: Decision) -> None:
        """Append a decision to the history; earlier ones are kept."""
        if decision.decided_at is None:
            decision = replace(decision, decided_at=datetime.now(UTC))
        fields = _decision_fields(decision)
        for attempt in range(MAX_RECORD_TRIES):
            if attempt:  # writers that collided spread out instead of colliding again
                time.sleep(random.uniform(0, min(0.5, BACKOFF_S * 2**attempt)))
            latest = self._get(_design(decision.key), _LATEST)
            previous = int(latest["number"]["N"]) if latest else 0
            try:
                self._append(decision, fields, previous)
                return
            except TransactionCancelled as cancelled:
                if not cancelled.retryable:
                    raise ServiceUnavailable(
                        f"DynamoDB TransactWriteItems on table {self._table!r} was cancelled"
                        f" ({', '.join(cancelled.codes)}); try again later"
                    ) from cancelled
        raise ServiceUnavailable(
            f"DynamoDB TransactWriteItems on table {self._table!r}: decisions for"
            f" {decision.key!r} kept arriving under {MAX_RECORD_TRIES} tries; try again later"
        )

    def _append(self, decision: Decision, fields: dict[str, Any], previous: int) -> None:
        """Record decision number previous + 1, if no one else has recorded it meanwhile."""
        pk = _design(decision.key)
        numbered = {**fields, "number": {"N": str(previous + 1)}}
        log = {"pk": {"S": pk}, "sk": {"S": f"{_LOG}{previous + 1:0{_NUMBER_DIGITS}d}"}}
        latest = {
            "pk": {"S": pk},
            "sk": {"S": _LATEST},
            "latest_status": fields["status"],
            "design_key": fields["key"],
        }
        version = {"pk": {"S": pk}, "sk": {"S": f"VERSION#{decision.content_hash}"}}
        if previous:
            guard = {
                "ConditionExpression": "#number = :previous",
                "ExpressionAttributeNames": {"#number": "number"},
                "ExpressionAttributeValues": {":previous": {"N": str(previous)}},
            }
        else:
            guard = {"ConditionExpression": "attribute_not_exists(pk)"}
        request(
            self._client,
            "TransactWriteItems",
            TransactItems=[
                {"Put": {"TableName": self._table, "Item": {**log, **numbered}}},
                {"Put": {"TableName": self._table, "Item": {**latest, **numbered}, **guard}},
                {"Put": {"TableName": self._table, "Item": {**version, **numbered}}},
            ],
        )

    def _query_log(self, key: str, limit: int | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :log)",
            "ExpressionAttributeValues": {":pk": {"S": _design(key)}, ":log": {"S": _LOG}},
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        return self._query(params, limit=limit)

    def _query_status(self, status: Status) -> list[dict[str, Any]]:
        return self._query(
            {
                "IndexName": STATUS_INDEX,
                "KeyConditionExpression": "latest_status = :status",
                "ExpressionAttributeValues": {":status": {"S": status.value}},
            }
        )

    def _query(self, params: dict[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
        """Every item of a Query (following LastEvaluatedKey), or its first `limit`."""
        items: list[dict[str, Any]] = []
        start: dict[str, Any] = {}
        while True:
            page_limit = {"Limit": limit - len(items)} if limit is not None else {}
            page = request(
                self._client, "Query", TableName=self._table, **params, **page_limit, **start
            )
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page or (limit is not None and len(items) >= limit):
                return items
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    # --- renditions, file hashes, refusals ------------------------------------------------

    def get_rendition(self, content_hash: str, fingerprint: str) -> Rendition | None:
        item = self._get(f"RENDITION#{content_hash}", f"FP#{fingerprint}")
        return _rendition(item) if item else None

    def put_rendition(self, fingerprint: str, rendition: Rendition) -> None:
        """Store (or replace) what the pipeline rendered from one source with these settings."""
        item = {
            "pk": {"S": f"RENDITION#{rendition.content_hash}"},
            "sk": {"S": f"FP#{fingerprint}"},
            **_rendition_fields(rendition),
        }
        self._put(item)

    def get_file_hash(self, rel_path: str, size: int, mtime_ns: int) -> str | None:
        """The content hash recorded for this file, if its size and mtime are unchanged."""
        item = self._get(f"FILE#{rel_path}", "FILE")
        if item is None or int(item["size"]["N"]) != size or int(item["mtime_ns"]["N"]) != mtime_ns:
            return None
        return item["content_hash"]["S"]

    def put_file_hash(self, rel_path: str, size: int, mtime_ns: int, content_hash: str) -> None:
        self._put(
            {
                "pk": {"S": f"FILE#{rel_path}"},
                "sk": {"S": "FILE"},
                "size": {"N": str(int(size))},
                "mtime_ns": {"N": str(int(mtime_ns))},
                "content_hash": {"S": content_hash},
            }
        )

    def get_refusal(self, content_hash: str, input_fingerprint: str) -> str | None:
        """Why these bytes were refused under these caps, if they were."""
        item = self._get(f"REFUSAL#{content_hash}", f"CAPS#{input_fingerprint}")
        return item["reason"]["S"] if item else None

    def put_refusal(self, content_hash: str, input_fingerprint: str, reason: str) -> None:
        """Remember that the pipeline refused these bytes under these caps, and why."""
        self._put(
            {
                "pk": {"S": f"REFUSAL#{content_hash}"},
                "sk": {"S": f"CAPS#{input_fingerprint}"},
                "reason": {"S": reason},
            }
        )

    def snapshot(self, fingerprint: str, caps: str) -> CatalogSnapshot:
        """One consistent Scan of the table (a rebuild reads it all anyway: at 5,000 designs
        some 25 MB, a fraction of a cent), sorted into the kinds planning asks for."""
        hashes: dict[str, tuple[int, int, str]] = {}
        latest: dict[str, Decision] = {}
        renditions: dict[str, Rendition] = {}
        refusals: dict[str, str] = {}
        for item in self._scan():
            pk, sk = item["pk"]["S"], item["sk"]["S"]
            kind, _, name = pk.partition("#")
            if kind == "FILE":
                hashes[name] = (
                    int(item["size"]["N"]),
                    int(item["mtime_ns"]["N"]),
                    item["content_hash"]["S"],
                )
            elif kind == "DESIGN" and sk == "LATEST":
                latest[name] = _decision(item)
            elif kind == "RENDITION" and sk == f"FP#{fingerprint}":
                renditions[name] = _rendition(item)
            elif kind == "REFUSAL" and sk == f"CAPS#{caps}":
                refusals[name] = item["reason"]["S"]
        return CatalogSnapshot(fingerprint, caps, hashes, latest, renditions, refusals)

    def _scan(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        start: dict[str, Any] = {}
        while True:
            page = request(
                self._client, "Scan", TableName=self._table, ConsistentRead=True, **start
            )
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        found = request(
            self._client,
            "GetItem",
            TableName=self._table,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConsistentRead=True,
        )
        return found.get("Item")

    def _put(self, item: dict[str, Any]) -> None:
        request(self._client, "PutItem", TableName=self._table, Item=item)


def _design(key: str) -> str:
    return f"DESIGN#{key}"


def _decision_fields(decision: Decision) -> dict[str, Any]:
    return {
        "key": {"S": decision.key},
        "content_hash": {"S": decision.content_hash},
        "status": {"S": Status(decision.status).value},
        "model": {"S": decision.model},
        "labels": {"L": [_label_fields(label) for label in decision.labels]},
        "decided_at": {"S": timestamps.format_datetime(decision.decided_at)},
        "decided_by": {"S": decision.decided_by},
        "reason": {"S": decision.reason},
    }


def _label_fields(label: Label) -> dict[str, Any]:
    return {
        "M": {
            "name": {"S": label.name},
            "parent_name": {"S": label.parent_name},
            "confidence": number(label.confidence),
        }
    }


def _decision(item: dict[str, Any]) -> Decision:
    return Decision(
        key=item["key"]["S"],
        content_hash=item["content_hash"]["S"],
        status=Status(item["status"]["S"]),
        model=item["model"]["S"],
        labels=tuple(_label(entry["M"]) for entry in item["labels"]["L"]),
        decided_at=timestamps.parse_datetime(item["decided_at"]["S"]),
        decided_by=item["decided_by"]["S"],
        reason=item["reason"]["S"],
    )


def _label(fields: dict[str, Any]) -> Label:
    return Label(
        name=fields["name"]["S"],
        parent_name=fields["parent_name"]["S"],
        confidence=read_float(fields["confidence"]),
    )


def _rendition_fields(rendition: Rendition) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "content_hash": {"S": rendition.content_hash},
        "width": {"N": str(int(rendition.width))},
        "height": {"N": str(int(rendition.height))},
        "variants": {"L": [_variant_fields(variant) for variant in rendition.variants]},
        "placeholder": {"S": rendition.placeholder},
        "dominant_colour": {"S": rendition.dominant_colour},
    }
    if rendition.taken_at is not None:
        fields["taken_at"] = {"S": timestamps.format_datetime(rendition.taken_at)}
    if rendition.palette or rendition.palette_version:
        fields["palette"] = {"L": [_swatch_fields(swatch) for swatch in rendition.palette]}
        fields["palette_version"] = {"N": str(int(rendition.palette_version))}
    return fields


def _swatch_fields(swatch: Swatch) -> dict[str, Any]:
    return {
        "M": {
            "colour": {"S": swatch.colour},
            "share": number(swatch.share),
            "shade": {"S": swatch.shade},
        }
    }


def _swatch(fields: dict[str, Any]) -> Swatch:
    return Swatch(fields["colour"]["S"], read_float(fields["share"]), fields["shade"]["S"])


def _variant_fields(variant: Variant) -> dict[str, Any]:
    return {
        "M": {
            "name": {"S": variant.name},
            "width": {"N": str(int(variant.width))},
            "height": {"N": str(int(variant.height))},
            "format": {"S": variant.format},
            "role": {"S": variant.role},
        }
    }


def _rendition(item: dict[str, Any]) -> Rendition:
    taken_at = item.get("taken_at")
    return Rendition(
        content_hash=item["content_hash"]["S"],
        width=int(item["width"]["N"]),
        height=int(item["height"]["N"]),
        variants=tuple(_variant(entry["M"]) for entry in item["variants"]["L"]),
        placeholder=item["placeholder"]["S"],
        dominant_colour=item["dominant_colour"]["S"],
        taken_at=timestamps.parse_datetime(taken_at["S"]) if taken_at else None,
        palette=tuple(_swatch(entry["M"]) for entry in item.get("palette", {}).get("L", [])),
        palette_version=int(item.get("palette_version", {}).get("N", "0")),
    )


def _variant(fields: dict[str, Any]) -> Variant:
    return Variant(
        name=fields["name"]["S"],
        width=int(fields["width"]["N"]),
        height=int(fields["height"]["N"]),
        format=fields["format"]["S"],
        role=fields["role"]["S"],
    )
