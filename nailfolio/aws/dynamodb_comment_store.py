"""DynamoCommentStore: the comment store's AWS adapter, one DynamoDB table (on-demand).

It keeps every semantic of SqliteCommentStore (tests/test_comment_store.py runs both).

Table design (`table_definition` gives the CreateTable arguments):
- Key `pk` + `sk`. A comment is `pk="C#<id>", sk="comment"`: get, set_sentiment and delete
  are single-item, strongly consistent calls by id.
- An idempotency item `pk="I#<author_sub>", sk="K#<key>"` holds the comment id. `add` puts
  it and the comment in one TransactWriteItems, each with attribute_not_exists(pk), so two
  concurrent retries store one comment: the loser's transaction is cancelled and it returns
  the winner's comment with created=False. All of an author's keys are one partition, so
  erasing an author finds them with one strongly consistent Query.
- Every comment carries `time_id = "<created_at ISO UTC, microseconds>#<id>"` (fixed width,
  so text order is (created_at, id) order) as the sort key of three GSIs, queried newest
  first (ScanIndexForward=False): `design-time` (hash `design`), `author-time` (hash
  `author_sub`) and `all-time` (hash `feed`, the constant "all") for the admins' list of
  everything. A constant partition key is one GSI partition, which takes about 1,000 writes
  a second: far beyond what the posting rate limits let a gallery's customers send, and the
  table has no LSI, so no 10 GB item-collection cap applies. It buys newest-first pages of
  all comments with one Query each, no Scan and no sort. Should writes ever near that
  ceiling, make `feed` a month ("2025-05") and walk the months back, the cursor naming one.
- `pending-time` is sparse: only a pending, non-spam comment has the `pending` attribute,
  so pending_sentiment reads exactly the backlog, oldest first; scoring removes it.
- All GSIs project ALL attributes, so a page is one Query, not a Query plus a BatchGetItem.
- label, spam and (with an author) design are FilterExpressions: a page is filled by
  further Queries until `limit` + 1 match (the extra one says whether there is a next page),
  but one call reads at most `read_budget` items; past that it returns a short page with a
  cursor at LastEvaluatedKey, so a rare label never reads the whole table in one request.
- The page cursor wraps LastEvaluatedKey: its position, (created_at, id) of the index sort
  key, as the same opaque base64url JSON the SQLite store makes (comment_query); the rest of
  the key (pk, sk, the index's hash key) comes back from the query itself, so a cursor can
  never point a Query into another partition, and a tampered one raises InvalidCursor.
- `status` (new, answered, closed; "new" when absent, as in items stored before it) and
  `status_changed_at` are set by set_status in one conditional UpdateItem; the status filter
  is a FilterExpression like label's. `author_email` is a plain attribute.
- The digest's mark is one item, `pk="M#digest", sk="mark"`: in no index, so never listed.
- Scores are DynamoDB numbers: a float goes in as Decimal(repr(x)) and comes back as
  float(Decimal), the exact round trip, so a stored Comment compares equal to the read one.

Cost, roughly (items about 0.5 KB; eventually consistent reads cost 0.5 RCU per 4 KB a Query
reads, summed over its items): a page of 50 reads 51 items, about 26 KB, so about 3.5 RCU;
a page of 200 about 13 RCU; filters add the items they skip, capped by read_budget
(1,000 items, about 63 RCU). get is 1 RCU (strong), find 2. add writes the comment to the
table and 4 GSIs (about 5 WCU), with a key in a transaction (2 WCU per item: about 8 WCU);
set_sentiment and set_status about 5 WCU each; the digest's mark 1 RCU to read (strong)
and 1 WCU to write. GSIs are eventually consistent: a comment may take a moment to appear
in a list (the digest waits comments.digest.SETTLE for it), and delete_by_author also reads
the author's idempotency keys from the table itself, so a keyed comment is never missed.

Every failed, refused or throttled call (after botocore's own retries) raises
ServiceUnavailable naming DynamoDB, the operation and the error code.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from nailfolio.aws import dynamodb_insights as insights
from nailfolio.aws.clients import SharedClient
from nailfolio.comments.digest import DigestMark
from nailfolio.comments.query import (
    PAGE_SIZE,
    CommentFilter,
    check_page_limit,
    decode_cursor,
    encode_cursor,
)
from nailfolio.comments.sentiment import Sentiment, SentimentLabel
from nailfolio.comments.service import Comment, Page, SentimentStatus
from nailfolio.comments.status import CommentStatus, parse_status
from nailfolio.errors import ServiceUnavailable

if TYPE_CHECKING:
    from botocore.client import BaseClient

COMMENT_SK = "comment"
DIGEST_KEY = {"pk": {"S": "M#digest"}, "sk": {"S": "mark"}}
FEED = "all"  # the constant partition key of the all-time index
PENDING = "pending"  # the `pending` attribute's one value, on the backlog only
DESIGN_INDEX, AUTHOR_INDEX, ALL_INDEX, PENDING_INDEX = (
    "design-time", "author-time", "all-time", "pending-time",
)  # fmt: skip
READ_BUDGET = 1_000  # items one list call may read before it returns a short page
TRANSACT_ATTEMPTS = 5  # a TransactionConflict means a concurrent add or delete: retry
SCORES = ("positive", "negative", "neutral", "mixed")
_CONDITION_FAILED = "ConditionalCheckFailed"
_REFUSALS = ("ConditionalCheckFailedException", "TransactionCanceledException")
Item = dict[str, dict[str, Any]]


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments for the comments table (on-demand); deploy mirrors them."""

    def index(name: str, hash_key: str) -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": hash_key, "KeyType": "HASH"},
                {"AttributeName": "time_id", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }

    keys = ("pk", "sk", "design", "author_sub", "feed", PENDING, "time_id")
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"} for key in keys],
        "GlobalSecondaryIndexes": [
            index(DESIGN_INDEX, "design"),
            index(AUTHOR_INDEX, "author_sub"),
            index(ALL_INDEX, "feed"),
            index(PENDING_INDEX, PENDING),
        ],
    }


class _Refused(Exception):
    """A condition or transaction was refused; `reasons` has one code per transaction item."""

    def __init__(self, reasons: builtins.list[str]) -> None:
        super().__init__(reasons)
        self.reasons = reasons


class DynamoCommentStore(insights.DynamoInsights, SharedClient):
    """Comments in one DynamoDB table, and their insights' counters (aws.dynamodb_insights);
    the low-level client is thread-safe, so one store serves a threaded server."""

    def __init__(self, client: BaseClient, table_name: str, read_budget: int = READ_BUDGET) -> None:
        from botocore import xform_name
        from botocore.exceptions import BotoCoreError, ClientError

        self._client = client
        self._table = table_name
        self._read_budget = read_budget
        self._xform = xform_name
        self._client_error = ClientError
        self._botocore_error = BotoCoreError

    def add(self, comment: Comment, idempotency_key: str | None = None) -> tuple[Comment, bool]:
        item = _item(comment, idempotency_key)
        counted = insights.added_items(
            self._table, item, comment.design, comment.created_at, comment.spam
        )
        if idempotency_key is None:
            try:
                self._transact([_put_new(self._table, item), *counted])
            except _Refused:
                raise ValueError(f"comment {comment.id} is already stored") from None
            return comment, True
        key_item = {
            **_key_of(comment.author_sub, idempotency_key),
            "comment_id": {"S": comment.id},
        }
        for _ in range(TRANSACT_ATTEMPTS):
            try:
                puts = [_put_new(self._table, item), _put_new(self._table, key_item)]
                self._transact([*puts, *counted])
                return comment, True
            except _Refused as refused:
                if refused.reasons[1] != _CONDITION_FAILED:
                    raise ValueError(f"comment {comment.id} is already stored") from None
            first = self._first_for_key(comment.author_sub, idempotency_key)
            if first is not None:
                return first, False  # lost the race, or a plain retry: never a duplicate
            # The key's comment was deleted meanwhile (or the key was left orphaned): retry.
        raise self._unavailable("TransactWriteItems", "the idempotency key kept changing")

    def find(self, author_sub: str, idempotency_key: str) -> Comment | None:
        key = self._get(_key_of(author_sub, idempotency_key))
        return self.get(key["comment_id"]["S"]) if key else None

    def set_sentiment(
        self,
        comment_id: str,
        sentiment: Sentiment | None,
        status: SentimentStatus,
        phrases: Sequence[str] = (),
    ) -> bool:
        status = SentimentStatus(status)
        if (sentiment is not None) != (status is SentimentStatus.SCORED):
            raise ValueError(f"status {status} with sentiment {sentiment}: scored needs one")
        phrases = builtins.list(dict.fromkeys(phrases))
        for _ in range(TRANSACT_ATTEMPTS):
            item = self._get(_comment_key(comment_id))
            if item is None:
                return False
            update = _scoring_update(self._table, item, sentiment, status, phrases)
            counted = insights.rescored_items(self._table, item, sentiment, phrases)
            try:
                self._transact([update, *counted])
                return True
            except _Refused:
                continue  # deleted or scored meanwhile: look again
        raise self._unavailable("TransactWriteItems", "the comment kept changing")

    def get(self, comment_id: str) -> Comment | None:
        item = self._get(_comment_key(comment_id))
        return _comment(item) if item else None

    def set_status(
        self, comment_id: str, status: CommentStatus, changed_at: datetime
    ) -> Comment | None:
        try:
            response = self._call(
                "UpdateItem",
                Key=_comment_key(comment_id),
                UpdateExpression="SET #status = :status, #changed = :changed",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#status": "status", "#changed": "status_changed_at"},
                ExpressionAttributeValues={
                    ":status": _s(str(parse_status(status))),
                    ":changed": _s(_timestamp(changed_at)),
                },
                ReturnValues="ALL_NEW",
            )
        except _Refused:
            return None
        return _comment(response["Attributes"])

    def digest_mark(self) -> DigestMark | None:
        item = self._get(DIGEST_KEY)
        if item is None:
            return None
        return DigestMark(
            datetime.fromisoformat(item["created_at"]["S"]),
            item["comment_id"]["S"],
            datetime.fromisoformat(item["sent_at"]["S"]),
        )

    def set_digest_mark(self, mark: DigestMark) -> None:
        item = {
            **DIGEST_KEY,
            "created_at": _s(_timestamp(mark.created_at)),
            "comment_id": _s(mark.comment_id),
            "sent_at": _s(_timestamp(mark.sent_at)),
        }
        self._call("PutItem", Item=item)

    def list(
        self,
        design: str | None = None,
        label: SentimentLabel | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        author_sub: str | None = None,
        limit: int = PAGE_SIZE,
        cursor: str | None = None,
        include_spam: bool = False,
        status: CommentStatus | None = None,
    ) -> Page:
        limit = check_page_limit(limit)
        filters = CommentFilter(design, label, since, until, author_sub, status)  # validates
        position = None if cursor is None else _time_id(*decode_cursor(cursor))
        low = filters.since and _timestamp(filters.since)
        high = filters.until and _timestamp(filters.until)
        if position is not None and low is not None and position < low:
            return Page(())  # the cursor is past the oldest comment in range
        if position is not None and high is not None and position >= high:
            position = None  # the cursor is above the range: its first page comes next
        query = _list_query(filters, include_spam, low, high)
        query.update(TableName=self._table, ScanIndexForward=False, Limit=limit + 1)
        if position is not None:
            query["ExclusiveStartKey"] = _start_key(query, position)
        return self._page(query, limit)

    def pending_sentiment(self, limit: int) -> builtins.list[Comment]:
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, not {limit}")
        query = {
            "TableName": self._table,
            "IndexName": PENDING_INDEX,
            "KeyConditionExpression": "#pending = :pending",
            "ExpressionAttributeNames": {"#pending": PENDING},
            "ExpressionAttributeValues": {":pending": {"S": PENDING}},
            "ScanIndexForward": True,
            "Limit": limit,
        }
        pending: builtins.list[Comment] = []
        for items in self._pages(query):
            pending += (_comment(item) for item in items)
            if len(pending) >= limit:
                break
        return pending[:limit]

    def delete(self, comment_id: str) -> bool:
        item = self._get(_comment_key(comment_id))
        if item is None:
            return False
        deletes = [
            _delete_existing(self._table, _comment_key(comment_id)),
            *insights.removed_items(self._table, item),
        ]
        if "idempotency_key" in item:
            key = _key_of(item["author_sub"]["S"], item["idempotency_key"]["S"])
            deletes.append({"Delete": {"TableName": self._table, "Key": key}})
        try:
            self._transact(deletes)
        except _Refused:
            return False  # deleted meanwhile
        return True

    def delete_by_author(self, author_sub: str) -> int:
        ids = {item["id"]["S"] for item in self._items(_author_query(self._table, author_sub))}
        keys = builtins.list(self._items(_keys_query(self._table, author_sub)))
        ids |= {key["comment_id"]["S"] for key in keys}  # keyed comments the GSI lags behind
        deleted = {comment_id for comment_id in sorted(ids) if self.delete(comment_id)}
        for key in keys:  # delete() took its comment's key along; these were orphaned
            if key["comment_id"]["S"] not in deleted:
                self._call("DeleteItem", Key={"pk": key["pk"], "sk": key["sk"]})
        return len(deleted)

    def dismiss_attention(self, comment_id: str) -> bool:
        item = self._get(_comment_key(comment_id))
        if item is None:
            return False
        entry = self._get(insights.attention_key(item["time_id"]["S"]))
        mark = {
            "Update": {
                "TableName": self._table,
                "Key": _comment_key(comment_id),
                "UpdateExpression": "SET attention_dismissed = :yes",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":yes": {"BOOL": True}},
            }
        }
        drop = {
            "Delete": {
                "TableName": self._table,
                "Key": insights.attention_key(item["time_id"]["S"]),
            }
        }
        try:
            self._transact([mark, drop])
        except _Refused:
            return False  # deleted meanwhile
        return entry is not None and "reasons" in entry

    def restore_attention(self, comment_id: str) -> bool:
        item = self._get(_comment_key(comment_id))
        if item is None or "attention_dismissed" not in item or insights.COUNTED not in item:
            return False
        writes = insights.restored_items(self._table, item)
        try:
            self._transact(writes)
        except _Refused:
            return False  # deleted meanwhile
        return len(writes) > 1

    def count_earlier(self) -> int:
        """Count into the insights every comment stored before they existed (not spam, not
        yet `counted`); returns how many. Safe to repeat, and beside live writes."""
        query = {
            "IndexName": ALL_INDEX,
            "KeyConditionExpression": "feed = :feed",
            "FilterExpression": "attribute_not_exists(#counted) AND spam = :no",
            "ExpressionAttributeNames": {"#counted": insights.COUNTED},
            "ExpressionAttributeValues": {":feed": _s(FEED), ":no": {"BOOL": False}},
        }
        counted = 0
        for listed in builtins.list(self._items(query)):
            item = self._get({"pk": listed["pk"], "sk": listed["sk"]})  # the index lags
            if item is None or insights.COUNTED in item:
                continue
            try:
                self._transact(insights.earlier_items(self._table, item))
                counted += 1
            except _Refused:
                continue  # deleted, or counted by another run, meanwhile
        return counted

    def _first_for_key(self, author_sub: str, idempotency_key: str) -> Comment | None:
        """The comment an idempotency key names; drops the key if its comment is gone."""
        key = _key_of(author_sub, idempotency_key)
        found = self._get(key)
        if found is None:
            return None
        first = self.get(found["comment_id"]["S"])
        if first is None:  # orphaned by an interrupted erase: free it, if still so
            with suppress(_Refused):  # someone else freed or reused it: the retry sees which
                self._call(
                    "DeleteItem",
                    Key=key,
                    ConditionExpression="comment_id = :id",
                    ExpressionAttributeValues={":id": found["comment_id"]},
                )
        return first

    def _page(self, query: dict[str, Any], limit: int) -> Page:
        items: builtins.list[Item] = []
        read = 0
        while True:
            response = self._call("Query", **query)
            items += response["Items"]
            read += response["ScannedCount"]
            last = response.get("LastEvaluatedKey")
            if len(items) > limit or last is None:
                break
            if read >= self._read_budget:  # a short page, resumed where the reading stopped
                return Page(tuple(map(_comment, items)), _cursor_at(last))
            query["ExclusiveStartKey"] = last
        comments = tuple(_comment(item) for item in items[:limit])
        if len(items) <= limit:
            return Page(comments)
        return Page(comments, encode_cursor(comments[-1].created_at, comments[-1].id))

    def _items(self, query: dict[str, Any]) -> Iterator[Item]:
        for items in self._pages(query):
            yield from items

    def _pages(self, query: dict[str, Any]) -> Iterator[builtins.list[Item]]:
        while True:
            response = self._call("Query", **query)
            yield response["Items"]
            if "LastEvaluatedKey" not in response:
                return
            query = {**query, "ExclusiveStartKey": response["LastEvaluatedKey"]}

    def _get(self, key: Item) -> Item | None:
        response = self._call("GetItem", Key=key, ConsistentRead=True)
        return response.get("Item")

    def _transact(self, items: builtins.list[dict[str, Any]]) -> None:
        """TransactWriteItems, retried on a TransactionConflict; raises _Refused when a
        condition fails, ServiceUnavailable when it keeps conflicting or is throttled."""
        for attempt in range(TRANSACT_ATTEMPTS):
            try:
                self._call("TransactWriteItems", TransactItems=items)
                return
            except _Refused as refused:
                if _CONDITION_FAILED in refused.reasons:
                    raise
                if "TransactionConflict" not in refused.reasons:
                    raise self._unavailable(
                        "TransactWriteItems", ", ".join(refused.reasons)
                    ) from None
            time.sleep(0.02 * 2**attempt)
        raise self._unavailable("TransactWriteItems", "TransactionConflict, repeatedly")

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One DynamoDB call; a refused condition raises _Refused, any other failure
        (throttled, unreachable, denied, invalid) raises ServiceUnavailable."""
        if operation != "TransactWriteItems":
            params["TableName"] = self._table
        try:
            return getattr(self._client, self._xform(operation))(**params)  # type: ignore[no-any-return]
        except self._client_error as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            if code in _REFUSALS:
                reasons = exc.response.get("CancellationReasons", [{"Code": _CONDITION_FAILED}])
                raise _Refused([reason.get("Code", "None") for reason in reasons]) from None
            detail = f"{code}: {error.get('Message', '')}"[:300]
            raise self._unavailable(operation, detail) from exc
        except self._botocore_error as exc:
            raise self._unavailable(operation, type(exc).__name__) from exc

    def _unavailable(self, operation: str, detail: str) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"DynamoDB {operation} on table {self._table!r} failed ({detail}); "
            "try again in a moment, and check the table exists and the role may use it "
            "if it persists"
        )


def _scoring_update(
    table: str,
    item: Item,
    sentiment: Sentiment | None,
    status: SentimentStatus,
    phrases: builtins.list[str],
) -> dict[str, Any]:
    """The transaction item that records a scoring on a comment as read (`item`): refused if
    another write changed it since (its `rev` moved on)."""
    names = {"#status": "sentiment_status", "#label": "label", "#pending": PENDING}
    names.update({f"#{name}": name for name in (*SCORES, "phrases", "rev")})
    rev = int(item.get("rev", {"N": "0"})["N"])
    values: Item = {":status": {"S": str(status)}, ":rev": {"N": str(rev)}}
    values[":next"] = {"N": str(rev + 1)}
    sets = ["#status = :status", "#rev = :next"]
    removes = ["#pending"]
    if sentiment is None:
        removes += ["#label", *(f"#{name}" for name in SCORES)]
    else:
        sets.append("#label = :label")
        values[":label"] = {"S": str(sentiment.label)}
        for name in SCORES:
            sets.append(f"#{name} = :{name}")
            values[f":{name}"] = _number(getattr(sentiment, name))
    if phrases and not item["spam"]["BOOL"]:
        sets.append("#phrases = :phrases")
        values[":phrases"] = {"SS": phrases}
    else:
        removes.append("#phrases")
    if status is SentimentStatus.PENDING and not item["spam"]["BOOL"]:
        removes.remove("#pending")
        sets.append("#pending = :pending")
        values[":pending"] = {"S": PENDING}
    return {
        "Update": {
            "TableName": table,
            "Key": _comment_key(item["id"]["S"]),
            "UpdateExpression": f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            "ConditionExpression": "attribute_exists(pk) AND"
            " (attribute_not_exists(#rev) OR #rev = :rev)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _list_query(
    filters: CommentFilter, include_spam: bool, low: str | None, high: str | None
) -> dict[str, Any]:
    """The index, key condition and filter that list these comments (no Scan)."""
    names = {"#hash": "feed"}
    values: Item = {":hash": {"S": FEED}}
    index = ALL_INDEX
    wanted = []
    if filters.author_sub is not None:  # usually the smallest partition
        index, names["#hash"], values[":hash"] = AUTHOR_INDEX, "author_sub", _s(filters.author_sub)
        if filters.design is not None:
            wanted.append(("design", _s(filters.design)))
    elif filters.design is not None:
        index, names["#hash"], values[":hash"] = DESIGN_INDEX, "design", _s(filters.design)
    if filters.label is not None:
        wanted.append(("label", _s(str(filters.label))))
    if not include_spam:
        wanted.append(("spam", {"BOOL": False}))
    condition = "#hash = :hash"
    status_filter = []
    if filters.status is CommentStatus.NEW:  # items from before statuses have none: new
        status_filter.append("(attribute_not_exists(#status) OR #status = :status)")
    elif filters.status is not None:
        status_filter.append("#status = :status")
    if low is not None and high is not None:
        condition += " AND #time BETWEEN :low AND :high"  # time_ids never equal a bare time
    elif low is not None:
        condition += " AND #time >= :low"
    elif high is not None:
        condition += " AND #time < :high"
    if low is not None or high is not None:
        names["#time"] = "time_id"
    values.update({":low": _s(low)} if low else {})
    values.update({":high": _s(high)} if high else {})
    query: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": condition}
    if filters.status is not None:
        names["#status"], values[":status"] = "status", _s(str(filters.status))
    if wanted or status_filter:
        names.update({f"#{name}": name for name, _ in wanted})
        values.update({f":{name}": value for name, value in wanted})
        clauses = [f"#{name} = :{name}" for name, _ in wanted] + status_filter
        query["FilterExpression"] = " AND ".join(clauses)
    query.update(ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    return query


def _start_key(query: dict[str, Any], position: str) -> Item:
    """The ExclusiveStartKey (LastEvaluatedKey) of a position in this query's index."""
    comment_id = position.rpartition("#")[2]
    hash_name = query["ExpressionAttributeNames"]["#hash"]
    return {
        **_comment_key(comment_id),
        hash_name: query["ExpressionAttributeValues"][":hash"],
        "time_id": _s(position),
    }


def _cursor_at(last_key: Item) -> str:
    """The opaque cursor for a LastEvaluatedKey: the (created_at, id) of its sort key."""
    created, _, comment_id = last_key["time_id"]["S"].rpartition("#")
    return encode_cursor(datetime.fromisoformat(created), comment_id)


def _author_query(table: str, author_sub: str) -> dict[str, Any]:
    return {
        "TableName": table,
        "IndexName": AUTHOR_INDEX,
        "KeyConditionExpression": "author_sub = :author",
        "ExpressionAttributeValues": {":author": _s(author_sub)},
        "ProjectionExpression": "#id",
        "ExpressionAttributeNames": {"#id": "id"},
    }


def _keys_query(table: str, author_sub: str) -> dict[str, Any]:
    return {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": _s(f"I#{author_sub}")},
        "ConsistentRead": True,
    }


def _put_new(table: str, item: Item) -> dict[str, Any]:
    return {
        "Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
    }


def _delete_existing(table: str, key: Item) -> dict[str, Any]:
    return {
        "Delete": {"TableName": table, "Key": key, "ConditionExpression": "attribute_exists(pk)"}
    }


def _s(text: str) -> dict[str, str]:
    return {"S": text}


def _comment_key(comment_id: str) -> Item:
    return {"pk": _s(f"C#{comment_id}"), "sk": _s(COMMENT_SK)}


def _key_of(author_sub: str, idempotency_key: str) -> Item:
    return {"pk": _s(f"I#{author_sub}"), "sk": _s(f"K#{idempotency_key}")}


def _timestamp(value: datetime) -> str:
    """Fixed-width UTC text, so text order is time order."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _time_id(created_at: datetime, comment_id: str) -> str:
    return f"{_timestamp(created_at)}#{comment_id}"


def _number(value: float) -> dict[str, str]:
    """A float as a DynamoDB number, exactly: Decimal(repr) reads back as the same float."""
    return {"N": str(Decimal(repr(value)))}


def _item(comment: Comment, idempotency_key: str | None) -> Item:
    item: Item = {
        **_comment_key(comment.id),
        "id": _s(comment.id),
        "design": _s(comment.design),
        "author_sub": _s(comment.author_sub),
        "author_name": _s(comment.author_name),
        "text": _s(comment.text),
        "created_at": _s(_timestamp(comment.created_at)),
        "time_id": _s(_time_id(comment.created_at, comment.id)),
        "feed": _s(FEED),
        "sentiment_status": _s(str(comment.sentiment_status)),
        "spam": {"BOOL": comment.spam},
        "author_email": _s(comment.author_email),
        "status": _s(str(comment.status)),
        "status_changed_at": _s(_timestamp(comment.status_changed_at or comment.created_at)),
    }
    if idempotency_key is not None:
        item["idempotency_key"] = _s(idempotency_key)
    if comment.sentiment is not None:
        item["label"] = _s(str(comment.sentiment.label))
        item.update({name: _number(getattr(comment.sentiment, name)) for name in SCORES})
    if comment.sentiment_status is SentimentStatus.PENDING and not comment.spam:
        item[PENDING] = _s(PENDING)  # joins the sparse backlog index
    return item


def _comment(item: Item) -> Comment:
    sentiment = None
    if "label" in item:
        scores = (float(Decimal(item[name]["N"])) for name in SCORES)
        sentiment = Sentiment(SentimentLabel(item["label"]["S"]), *scores)
    return Comment(
        id=item["id"]["S"],
        design=item["design"]["S"],
        author_sub=item["author_sub"]["S"],
        author_name=item["author_name"]["S"],
        text=item["text"]["S"],
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        sentiment=sentiment,
        sentiment_status=SentimentStatus(item["sentiment_status"]["S"]),
        spam=item["spam"]["BOOL"],
        author_email=item.get("author_email", {"S": ""})["S"],
        status=CommentStatus(item.get("status", {"S": "new"})["S"]),
        status_changed_at=datetime.fromisoformat(
            item.get("status_changed_at", item["created_at"])["S"]
        ),
    )
