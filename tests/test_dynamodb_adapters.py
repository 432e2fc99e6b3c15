"""What only the DynamoDB adapters can show: their calls, their keys, and AWS failures."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto_dynamodb import REGION, atomic_dynamodb, dynamodb_client

from nailfolio.aws import dynamodb_catalog
from nailfolio.aws.dynamodb import (
    STATUS_INDEX,
    TTL_ATTRIBUTE,
    catalog_table,
    rate_limit_table,
    rate_limit_time_to_live,
)
from nailfolio.aws.dynamodb_catalog import DynamoCatalog
from nailfolio.aws.dynamodb_rate_limiter import DynamoRateLimiter
from nailfolio.errors import ServiceUnavailable
from nailfolio.gallery.models import Decision, Label, Status
from nailfolio.ratelimit import Decision as RateDecision

CATALOG = "nailfolio-catalog"
COUNTERS = "nailfolio-ratelimit"
NOW = 1_000_040.25
REPO = Path(__file__).resolve().parent.parent


def _decision(key: str = "ana/red-tips", content_hash: str = "h1", **changes: Any) -> Decision:
    base = Decision(
        key,
        content_hash,
        Status.NEEDS_REVIEW,
        model="fake 1",
        labels=(Label("Explicit", "", 61.5),),
        decided_at=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
    )
    return replace(base, **changes)


def _calls(client: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every operation the client makes from now on, with its parameters, in order."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        seen.append((model.name, params))

    client.meta.events.register("provide-client-params.dynamodb.*", record)
    return seen


@pytest.fixture
def aws() -> Iterator[Any]:
    """A moto DynamoDB with the catalog's and the rate limiter's tables; yields a client."""
    with atomic_dynamodb():
        client = dynamodb_client()
        client.create_table(**catalog_table(CATALOG))
        client.create_table(**rate_limit_table(COUNTERS))
        client.update_time_to_live(**rate_limit_time_to_live(COUNTERS))
        yield client


# --- the rate limiter ---------------------------------------------------------------------


def test_a_hit_in_an_open_window_is_one_update_and_so_is_a_refusal(aws: Any) -> None:
    limiter = DynamoRateLimiter(aws, COUNTERS, clock=lambda: NOW)
    limiter.hit("a", 2, 60)  # opens the window: a failed count, then an open
    calls = _calls(aws)
    assert limiter.hit("a", 2, 60).allowed
    assert limiter.hit("a", 2, 60) == RateDecision(False, 60)
    assert [name for name, _ in calls] == ["UpdateItem", "UpdateItem"]  # no reads


def test_counters_carry_a_ttl_at_the_window_end(aws: Any) -> None:
    DynamoRateLimiter(aws, COUNTERS, clock=lambda: NOW).hit("comment-net:203.0.113.0/24", 5, 60)
    item = aws.get_item(
        TableName=COUNTERS,
        Key={"bucket": {"S": "comment-net:203.0.113.0/24"}, "window_seconds": {"N": "60"}},
    )["Item"]
    assert item["hits"] == {"N": "1"}
    assert item["window_ends"] == {"N": "1000100.25"}  # exact, as SQLite keeps it
    assert item[TTL_ATTRIBUTE] == {"N": str(math.ceil(NOW + 60))}  # whole seconds, not before
    ttl = aws.describe_time_to_live(TableName=COUNTERS)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", TTL_ATTRIBUTE)


def test_an_ended_window_still_in_the_table_is_reopened(aws: Any) -> None:
    """TTL deletes items days late, if at all: the window's end is what counts."""
    clock = [NOW]
    limiter = DynamoRateLimiter(aws, COUNTERS, clock=lambda: clock[0])
    assert limiter.hit("a", 1, 60).allowed
    clock[0] += 3600  # long past expires_at, yet the item is still there (moto never expires)
    assert limiter.hit("a", 1, 60).allowed
    assert not limiter.hit("a", 1, 60).allowed


def test_a_throttled_hit_is_service_unavailable_naming_the_operation() -> None:
    client = dynamodb_client()
    with Stubber(client) as stub:
        stub.add_client_error(
            "update_item",
            "ProvisionedThroughputExceededException",
            "Rate of requests exceeds the allowed throughput.",
            http_status_code=400,
        )
        with pytest.raises(
            ServiceUnavailable,
            match=r"DynamoDB UpdateItem on table 'nailfolio-ratelimit' failed "
            r"\(ProvisionedThroughputExceededException: Rate of requests",
        ):
            DynamoRateLimiter(client, COUNTERS, clock=lambda: NOW).hit("a", 1, 60)


# --- the catalog --------------------------------------------------------------------------


def test_latest_decisions_query_the_status_index_and_never_scan(aws: Any) -> None:
    catalog = DynamoCatalog(aws, CATALOG)
    for i in range(5):
        catalog.record_decision(_decision(f"ana/d{i}", f"h{i}"))
        catalog.record_decision(_decision(f"ana/d{i}", f"h{i}", status=Status.APPROVED))
    calls = _calls(aws)
    assert catalog.latest_decisions(Status.NEEDS_REVIEW) == []
    assert len(catalog.latest_decisions(Status.APPROVED)) == 5
    assert len(catalog.latest_decisions()) == 5  # one Query per status
    assert [name for name, _ in calls] == ["Query"] * 5
    assert all(params["IndexName"] == STATUS_INDEX for _, params in calls)


def test_a_design_s_latest_decision_is_one_query_newest_first(aws: Any) -> None:
    catalog = DynamoCatalog(aws, CATALOG)
    for status in (Status.NEEDS_REVIEW, Status.APPROVED, Status.REJECTED):
        catalog.record_decision(_decision(status=status))
    calls = _calls(aws)
    latest = catalog.latest_decision("ana/red-tips")
    assert latest is not None and latest.status == Status.REJECTED
    [(name, params)] = calls
    assert (name, params["ScanIndexForward"], params["Limit"]) == ("Query", False, 1)
    assert params["ConsistentRead"] is True


def test_reads_follow_every_page(aws: Any) -> None:
    """DynamoDB returns at most 1 MB per Query; pages of two items show the same path."""

    def two_per_page(params: dict[str, Any], **_: Any) -> None:
        params.setdefault("Limit", 2)

    catalog = DynamoCatalog(aws, CATALOG)
    for i in range(5):
        catalog.record_decision(_decision(f"ana/d{i}", f"h{i}"))
        catalog.record_decision(_decision("bea/blue", f"b{i}"))
    calls = _calls(aws)
    aws.meta.events.register("provide-client-params.dynamodb.Query", two_per_page)
    assert [d.key for d in catalog.latest_decisions()] == [
        *(f"ana/d{i}" for i in range(5)),
        "bea/blue",
    ]
    assert [d.content_hash for d in catalog.decision_history("bea/blue")] == [
        f"b{i}" for i in reversed(range(5))
    ]
    assert len(calls) > 5  # more than one Query per status and for the history


def test_the_log_is_numbered_in_recording_order(aws: Any) -> None:
    catalog = DynamoCatalog(aws, CATALOG)
    for _ in range(3):
        catalog.record_decision(_decision())  # the same decided_at three times
    items = aws.query(
        TableName=CATALOG,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "DESIGN#ana/red-tips"}},
    )["Items"]
    assert [item["sk"]["S"] for item in items] == [
        "DECISION#000000000001",
        "DECISION#000000000002",
        "DECISION#000000000003",
        "LATEST",
        "VERSION#h1",
    ]


def test_concurrent_writers_on_one_design_lose_no_decision(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Four writers recording flat out on one design is far beyond any real load (a design
    # gets a decision or two a day), so a writer may lose many races in a row: this checks
    # that nothing is lost or misordered, not the retry budget.
    monkeypatch.setattr(dynamodb_catalog, "MAX_RECORD_TRIES", 100)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        catalog = DynamoCatalog(dynamodb_client(), CATALOG)  # another Lambda, as it were
        try:
            start.wait()
            for i in range(10):
                catalog.record_decision(_decision(content_hash=f"h{i}", reason=f"w{writer}-{i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    catalog = DynamoCatalog(aws, CATALOG)
    history = catalog.decision_history("ana/red-tips")
    assert errors == []
    assert sorted(d.reason for d in history) == sorted(
        f"w{w}-{i}" for w in range(4) for i in range(10)
    )
    assert catalog.latest_decision("ana/red-tips") == history[0]
    assert catalog.latest_decisions() == [history[0]]
    for i in range(10):  # each version's item holds that version's newest decision
        newest = next(d for d in history if d.content_hash == f"h{i}")
        assert catalog.get_decision("ana/red-tips", f"h{i}") == newest


def test_a_lost_race_reads_the_new_number_and_tries_again(aws: Any) -> None:
    first, second = DynamoCatalog(aws, CATALOG), DynamoCatalog(dynamodb_client(), CATALOG)
    real_get = second._get
    raced = []

    def get_then_lose(pk: str, sk: str) -> Any:
        found = real_get(pk, sk)
        if not raced:  # another writer records between this read and the transaction
            raced.append(True)
            first.record_decision(_decision(reason="first"))
        return found

    second._get = get_then_lose  # type: ignore[method-assign]
    second.record_decision(_decision(reason="second"))
    assert [d.reason for d in first.decision_history("ana/red-tips")] == ["second", "first"]


def test_a_missing_table_is_service_unavailable_saying_what_to_do(aws: Any) -> None:
    catalog = DynamoCatalog(aws, "no-such-table")
    with pytest.raises(
        ServiceUnavailable,
        match=r"DynamoDB GetItem on table 'no-such-table' failed \(ResourceNotFoundException"
        r".*create the table",
    ):
        catalog.get_refusal("h1", "caps")


def test_an_unreachable_endpoint_is_service_unavailable() -> None:
    client = dynamodb_client_at("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(ServiceUnavailable, match=r"DynamoDB GetItem on table 'nailfolio-catalog'"):
        DynamoCatalog(client, CATALOG).get_file_hash("designs/ana/red.jpg", 1, 1)


def dynamodb_client_at(endpoint: str) -> Any:
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1)
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint, config=config)


def test_a_non_finite_confidence_is_refused_before_any_call(aws: Any) -> None:
    catalog = DynamoCatalog(aws, CATALOG)
    with pytest.raises(ValueError, match="numbers must be finite"):
        catalog.record_decision(_decision(labels=(Label("Explicit", "", math.nan),)))
    assert catalog.decision_history("ana/red-tips") == []


def test_the_adapters_do_not_import_boto3() -> None:
    """Only config imports them, for the aws backend; even then, boto3 waits for a client."""
    code = (
        "import sys, nailfolio.aws.dynamodb_catalog, nailfolio.aws.dynamodb_rate_limiter;"
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]"
