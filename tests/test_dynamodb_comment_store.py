"""What only the DynamoDB comment store shows: its table design, lost races, failed calls.

The behaviour both stores share is in test_comment_store.py; these run on moto, with
failures injected into the client before a request is sent (botocore's before-call event).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from nailfolio.aws.dynamodb_comment_store import (
    ALL_INDEX,
    AUTHOR_INDEX,
    DESIGN_INDEX,
    PENDING_INDEX,
    DynamoCommentStore,
    table_definition,
)
from nailfolio.comments.sentiment import SentimentLabel
from nailfolio.comments.service import SentimentStatus
from nailfolio.errors import ServiceUnavailable
from nailfolio.identity.base64url import decode_base64url
from tests.test_comment_store import HAPPY, SAD, all_pages, make_comment

TABLE = "comments"


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        dynamodb.create_table(**table_definition(TABLE))
        yield dynamodb


@pytest.fixture
def store(client: Any) -> DynamoCommentStore:
    return DynamoCommentStore(client, TABLE)


def answer(client: Any, operation: str, parsed: Callable[[], dict[str, Any] | None]) -> None:
    """Answer `operation` with parsed() as a 400 error before it is sent (None: send it)."""

    def before_call(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        response = parsed()
        return None if response is None else (AWSResponse("", 400, {}, None), response)

    client.meta.events.register(f"before-call.dynamodb.{operation}", before_call)


def error(code: str, **extra: Any) -> dict[str, Any]:
    return {"Error": {"Code": code, "Message": f"{code} (injected)"}, **extra}


def raw_items(client: Any, prefix: str) -> list[dict[str, Any]]:
    items = client.scan(TableName=TABLE)["Items"]
    return [item for item in items if item["pk"]["S"].startswith(prefix)]


STORE_CALLS: dict[str, tuple[str, Callable[[DynamoCommentStore], object]]] = {
    "add": ("TransactWriteItems", lambda store: store.add(make_comment())),  # with its counter
    "add with a key": ("TransactWriteItems", lambda store: store.add(make_comment(), "key-1234")),
    "find": ("GetItem", lambda store: store.find("sub-ana", "key-1234")),
    "get": ("GetItem", lambda store: store.get("0" * 32)),
    "set_sentiment": (
        "GetItem",  # the comment as it was, for its counters
        lambda store: store.set_sentiment("0" * 32, HAPPY, SentimentStatus.SCORED),
    ),
    "list": ("Query", lambda store: store.list()),
    "pending_sentiment": ("Query", lambda store: store.pending_sentiment(5)),
    "delete": ("GetItem", lambda store: store.delete("0" * 32)),
    "delete_by_author": ("Query", lambda store: store.delete_by_author("sub-ana")),
}


@pytest.mark.parametrize("name", STORE_CALLS)
def test_a_throttled_call_raises_service_unavailable_naming_it(
    client: Any, store: DynamoCommentStore, name: str
) -> None:
    operation, call = STORE_CALLS[name]
    answer(client, operation, lambda: error("ProvisionedThroughputExceededException"))
    with pytest.raises(ServiceUnavailable, match=f"DynamoDB {operation} on table 'comments'"):
        call(store)


def test_an_unreachable_endpoint_raises_service_unavailable() -> None:
    closed_port = boto3.client(
        "dynamodb",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    store = DynamoCommentStore(closed_port, TABLE)
    with pytest.raises(ServiceUnavailable, match=r"GetItem .*EndpointConnectionError"):
        store.get("0" * 32)


def test_a_missing_table_raises_service_unavailable_with_the_reason(client: Any) -> None:
    store = DynamoCommentStore(client, "no-such-table")
    with pytest.raises(ServiceUnavailable, match="ResourceNotFoundException") as caught:
        store.get("0" * 32)
    assert isinstance(caught.value.__cause__, ClientError)  # kept for the log, not raised


def test_a_lost_race_returns_the_winners_comment_and_stores_one(
    client: Any, store: DynamoCommentStore
) -> None:
    winner, loser = make_comment(0, text="winner"), make_comment(1, text="loser")
    rival = DynamoCommentStore(client, TABLE)
    raced = []

    def rival_lands_first() -> None:
        if not raced:  # the rival's own transaction goes through this hook too
            raced.append(True)
            assert rival.add(winner, "key-12345") == (winner, True)

    answer(client, "TransactWriteItems", rival_lands_first)  # type: ignore[arg-type,return-value]
    assert store.add(loser, "key-12345") == (winner, False)
    assert store.list().comments == (winner,)
    assert len(raw_items(client, "I#")) == 1


def test_a_transaction_conflict_is_retried(client: Any, store: DynamoCommentStore) -> None:
    reasons = [{"Code": "TransactionConflict"}, {"Code": "None"}]
    conflicts = [error("TransactionCanceledException", CancellationReasons=reasons)]
    answer(client, "TransactWriteItems", lambda: conflicts.pop() if conflicts else None)
    comment = make_comment()
    assert store.add(comment, "key-12345") == (comment, True)
    assert not conflicts and store.get(comment.id) == comment


def test_endless_transaction_conflicts_raise_service_unavailable(
    client: Any, store: DynamoCommentStore
) -> None:
    reasons = [{"Code": "TransactionConflict"}, {"Code": "None"}]
    answer(
        client,
        "TransactWriteItems",
        lambda: error("TransactionCanceledException", CancellationReasons=reasons),
    )
    with pytest.raises(ServiceUnavailable, match=r"TransactWriteItems .*TransactionConflict"):
        store.add(make_comment(), "key-12345")


def test_a_throttled_transaction_raises_service_unavailable(
    client: Any, store: DynamoCommentStore
) -> None:
    reasons = [{"Code": "ThrottlingError"}, {"Code": "None"}]
    answer(
        client,
        "TransactWriteItems",
        lambda: error("TransactionCanceledException", CancellationReasons=reasons),
    )
    with pytest.raises(ServiceUnavailable, match="ThrottlingError"):
        store.add(make_comment(), "key-12345")


def test_erasing_an_author_removes_their_idempotency_keys(
    client: Any, store: DynamoCommentStore
) -> None:
    store.add(make_comment(0), "key-12345")
    store.add(make_comment(1), "key-67890")
    store.add(make_comment(2), None)
    store.add(make_comment(3, author="sub-bo"), "key-12345")
    orphan = {"pk": {"S": "I#sub-ana"}, "sk": {"S": "K#key-orphan"}, "comment_id": {"S": "0" * 32}}
    client.put_item(TableName=TABLE, Item=orphan)  # its comment went in an interrupted erase
    assert store.delete_by_author("sub-ana") == 3
    assert raw_items(client, "I#sub-ana") == []
    assert len(raw_items(client, "I#sub-bo")) == 1


def test_a_key_whose_comment_the_index_lags_behind_is_still_erased(
    client: Any, store: DynamoCommentStore
) -> None:
    """The author index is eventually consistent; the keys, read from the table, are not."""
    hidden = make_comment(0)
    store.add(hidden, "key-12345")
    original = client.query

    def lagging_query(**params: Any) -> dict[str, Any]:
        if params.get("IndexName") == AUTHOR_INDEX:
            return {"Items": [], "Count": 0, "ScannedCount": 0}
        return original(**params)

    client.query = lagging_query
    assert store.delete_by_author("sub-ana") == 1
    assert store.get(hidden.id) is None
    assert raw_items(client, "I#") == []


def test_an_orphaned_idempotency_key_is_freed_for_a_new_comment(
    client: Any, store: DynamoCommentStore
) -> None:
    client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "I#sub-ana"}, "sk": {"S": "K#key-12345"}, "comment_id": {"S": "0" * 32}},
    )
    assert store.find("sub-ana", "key-12345") is None
    comment = make_comment()
    assert store.add(comment, "key-12345") == (comment, True)
    assert store.find("sub-ana", "key-12345") == comment


def record_calls(client: Any) -> list[tuple[str, str | None]]:
    calls: list[tuple[str, str | None]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, params.get("IndexName")))

    client.meta.events.register("provide-client-params.dynamodb", record)
    return calls


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, ALL_INDEX),
        ({"label": SentimentLabel.NEGATIVE}, ALL_INDEX),
        ({"design": "ana/red"}, DESIGN_INDEX),
        ({"author_sub": "sub-ana"}, AUTHOR_INDEX),
        ({"author_sub": "sub-ana", "design": "ana/red"}, AUTHOR_INDEX),
    ],
)
def test_listing_queries_one_index_and_never_scans(
    client: Any, store: DynamoCommentStore, filters: dict[str, Any], index: str
) -> None:
    for i in range(6):
        store.add(make_comment(i, sentiment=SAD if i % 2 else None))
    calls = record_calls(client)
    pages = all_pages(store, 2, **filters)
    assert sum(len(page) for page in pages) >= 1
    assert set(calls) == {("Query", index)}


def test_pending_sentiment_reads_a_sparse_index(client: Any, store: DynamoCommentStore) -> None:
    pending, scored, spam = make_comment(0), make_comment(1), make_comment(2, spam=True)
    for comment in (pending, scored, spam):
        store.add(comment)
    store.set_sentiment(scored.id, HAPPY, SentimentStatus.SCORED)

    def backlog() -> list[str]:
        items = client.scan(TableName=TABLE, IndexName=PENDING_INDEX)["Items"]
        return sorted(item["id"]["S"] for item in items)

    assert backlog() == [pending.id]
    store.set_sentiment(scored.id, None, SentimentStatus.PENDING)  # back in the backlog
    store.set_sentiment(spam.id, None, SentimentStatus.PENDING)  # spam never is
    assert backlog() == sorted([pending.id, scored.id])
    calls = record_calls(client)
    assert store.pending_sentiment(10) == [pending, store.get(scored.id)]
    assert calls[0] == ("Query", PENDING_INDEX)


def test_scores_are_stored_as_dynamodb_numbers(client: Any, store: DynamoCommentStore) -> None:
    comment = make_comment(sentiment=HAPPY)
    store.add(comment)
    item = client.get_item(
        TableName=TABLE, Key={"pk": {"S": f"C#{comment.id}"}, "sk": {"S": "comment"}}
    )
    assert item["Item"]["positive"] == {"N": "0.9"}
    assert item["Item"]["label"] == {"S": "POSITIVE"}


def test_a_filter_that_reads_past_the_budget_returns_a_short_page_and_resumes(
    client: Any,
) -> None:
    store = DynamoCommentStore(client, TABLE, read_budget=4)
    comments = [make_comment(i, sentiment=SAD if i in (1, 10) else HAPPY) for i in range(12)]
    for comment in comments:
        store.add(comment)
    calls = record_calls(client)
    pages = all_pages(store, 2, label=SentimentLabel.NEGATIVE)
    assert [c.id for page in pages for c in page] == [comments[10].id, comments[1].id]
    assert [len(page) for page in pages][:2] == [1, 1]  # short: the budget ran out first
    assert len(calls) <= 2 * len(pages)  # Limit=3 per Query: past 4 items read, it stops


def test_the_cursor_is_base64url_json_of_a_position_and_position_only(
    store: DynamoCommentStore,
) -> None:
    comments = [make_comment(i) for i in range(3)]
    for comment in comments:
        store.add(comment)
    cursor = store.list(limit=2).next_cursor
    assert cursor is not None
    created_at, comment_id = json.loads(decode_base64url(cursor))
    assert (created_at, comment_id) == (comments[1].created_at.isoformat(), comments[1].id)


def test_the_table_has_its_four_indexes(client: Any) -> None:
    described = client.describe_table(TableName=TABLE)["Table"]
    indexes = {
        index["IndexName"]: index["KeySchema"] for index in described["GlobalSecondaryIndexes"]
    }
    assert set(indexes) == {DESIGN_INDEX, AUTHOR_INDEX, ALL_INDEX, PENDING_INDEX}
    assert all(
        schema[1] == {"AttributeName": "time_id", "KeyType": "RANGE"} for schema in indexes.values()
    )
