"""The insights' counters in the comments table (see nailfolio.comments.insights), written in
the same TransactWriteItems as the comment they count, so they never drift from a recount.

Items, beside the comments (DynamoCommentStore):
- a counter per design and week, `pk="N", sk="W#<Monday>#<design>"`: numbers comments,
  scored, positive, negative, neutral, mixed and score_units changed with ADD (atomic), and a
  map `phrases` of key phrase -> count. One partition: a year of a 200-design studio is
  about 10,000 items, read by one paged Query of a key range (a week range), no Scan.
- an attention entry per comment needing an answer, `pk="A", sk=<comment's time_id>`, so
  one Query reads them oldest first: comment_id, design, author_name, text, created_at and
  a string set `reasons` (question, booking at add; negative when scored). Dismissing deletes
  it and marks the comment `attention_dismissed`, so a later scoring does not bring it back.
A comment item keeps its counted phrases (string set `phrases`), so a delete or a new score
takes exactly those back out, and `counted`: a comment stored before the insights existed
has none, and its delete or scoring leaves the counters alone (they never held it). Spam
writes no counter and no entry.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from nailfolio.comments.insights import (
    AttentionEntry,
    GroupCounts,
    Grouping,
    PhraseCount,
    PhraseTops,
    Tally,
    WeekCounts,
    group_counts,
    score_units,
    week_of,
)
from nailfolio.comments.intent import Intent, classify_intent
from nailfolio.comments.sentiment import Sentiment, SentimentLabel

COUNTER_PK, ATTENTION_PK = "N", "A"
PHRASE_PREFIX = "p#"  # a counter's phrase counts: one number attribute per phrase
COUNTED = "counted"  # on a comment whose counters include it (older ones are not)
COUNTERS = ("comments", "scored", "positive", "negative", "neutral", "mixed", "score_units")
Item = dict[str, dict[str, Any]]


def contribution(sentiment: Sentiment | None) -> dict[str, int]:
    """What one comment with this sentiment adds to its counters."""
    found = dict.fromkeys(COUNTERS, 0)
    found["comments"] = 1
    if sentiment is not None:
        found["scored"] = 1
        found[str(sentiment.label).lower()] = 1
        found["score_units"] = score_units(sentiment)
    return found


def counter_update(
    table: str,
    design: str,
    created_at: datetime,
    deltas: dict[str, int],
    phrases_added: Sequence[str] = (),
    phrases_removed: Sequence[str] = (),
) -> dict[str, Any]:
    """The transaction item that ADDs `deltas` to a design's week counter (creating it) and
    moves its phrase counts."""
    week = week_of(created_at).isoformat()
    names = {"#design": "design", "#week": "week"}
    values: Item = {":design": {"S": design}, ":week": {"S": week}}
    sets = ["#design = :design", "#week = :week"]
    moves = [(phrase, 1) for phrase in phrases_added] + [(p, -1) for p in phrases_removed]
    adds = []
    for n, (phrase, delta) in enumerate(moves):  # ADD makes a missing attribute: no map
        names[f"#p{n}"] = PHRASE_PREFIX + phrase
        values[f":p{n}"] = {"N": str(delta)}
        adds.append(f"#p{n} :p{n}")
    for name, delta in deltas.items():
        if delta:
            names[f"#{name}"] = name
            values[f":{name}"] = {"N": str(delta)}
            adds.append(f"#{name} :{name}")
    expression = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
    return {
        "Update": {
            "TableName": table,
            "Key": counter_key(week, design),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def counter_key(week: str, design: str) -> Item:
    return {"pk": {"S": COUNTER_PK}, "sk": {"S": f"W#{week}#{design}"}}


def attention_key(time_id: str) -> Item:
    return {"pk": {"S": ATTENTION_PK}, "sk": {"S": time_id}}


def attention_update(
    table: str,
    item: Item,
    add: frozenset[Intent] = frozenset(),
    drop: frozenset[Intent] = frozenset(),
) -> dict[str, Any] | None:
    """The transaction item that adds (or drops) reasons of a comment's attention entry."""
    if not add and not drop:
        return None
    names = {
        f"#{name}": name for name in ("comment_id", "design", "author_name", "text", "created_at")
    }
    names["#author_email"] = "author_email"
    names["#reasons"] = "reasons"
    source = {"author_email": {"S": ""}, **item, "comment_id": item["id"]}
    values: Item = {f":{name[1:]}": source[name[1:]] for name in names if name != "#reasons"}
    sets = ", ".join(f"{name} = :{name[1:]}" for name in names if name != "#reasons")
    expression = f"SET {sets}"
    if add:
        values[":add"] = {"SS": sorted(add)}
        expression += " ADD #reasons :add"
    if drop:
        values[":drop"] = {"SS": sorted(drop)}
        expression += " DELETE #reasons :drop"
    return {
        "Update": {
            "TableName": table,
            "Key": attention_key(item["time_id"]["S"]),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def added_items(
    table: str, item: Item, design: str, created_at: datetime, spam: bool
) -> list[dict[str, Any]]:
    """The insight writes that go with storing a new comment (its `item`, which they mark
    `counted`)."""
    if spam:
        return []
    item[COUNTED] = {"BOOL": True}
    sentiment = _sentiment(item)
    writes = [counter_update(table, design, created_at, contribution(sentiment))]
    attention = attention_update(table, item, add=reasons(item))
    return writes + ([attention] if attention else [])


def rescored_items(
    table: str, item: Item, sentiment: Sentiment | None, phrases: Sequence[str]
) -> list[dict[str, Any]]:
    """The insight writes that go with a new scoring of a stored comment (`item` as it was)."""
    if COUNTED not in item:  # spam, or stored before the insights: no counter holds it
        return []
    old = _sentiment(item)
    before, after = contribution(old), contribution(sentiment)
    deltas = {name: after[name] - before[name] for name in COUNTERS}
    old_phrases = set(item.get("phrases", {}).get("SS", []))
    new_phrases = set(phrases)
    writes = [
        counter_update(
            table,
            item["design"]["S"],
            datetime.fromisoformat(item["created_at"]["S"]),
            deltas,
            sorted(new_phrases - old_phrases),
            sorted(old_phrases - new_phrases),
        )
    ]
    was_negative = old is not None and old.label is SentimentLabel.NEGATIVE
    is_negative = sentiment is not None and sentiment.label is SentimentLabel.NEGATIVE
    negative = frozenset({Intent.NEGATIVE})
    if is_negative and not was_negative and "attention_dismissed" not in item:
        writes.append(attention_update(table, item, add=negative))  # type: ignore[arg-type]
    elif was_negative and not is_negative and "attention_dismissed" not in item:
        writes.append(attention_update(table, item, drop=negative))  # type: ignore[arg-type]
    return writes


def removed_items(table: str, item: Item) -> list[dict[str, Any]]:
    """The insight writes that go with deleting a stored comment (`item`)."""
    if COUNTED not in item:
        return []
    deltas = {name: -count for name, count in contribution(_sentiment(item)).items()}
    phrases = sorted(item.get("phrases", {}).get("SS", []))
    created_at = datetime.fromisoformat(item["created_at"]["S"])
    return [
        counter_update(table, item["design"]["S"], created_at, deltas, (), phrases),
        {"Delete": {"TableName": table, "Key": attention_key(item["time_id"]["S"])}},
    ]


def earlier_items(table: str, item: Item) -> list[dict[str, Any]]:
    """The writes that count a comment stored before the insights (`item`, not `counted`):
    marking it counted (refused if another run did) and adding it to its counters."""
    mark = {
        "Update": {
            "TableName": table,
            "Key": {"pk": item["pk"], "sk": item["sk"]},
            "UpdateExpression": "SET #counted = :yes",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#counted)",
            "ExpressionAttributeNames": {"#counted": COUNTED},
            "ExpressionAttributeValues": {":yes": {"BOOL": True}},
        }
    }
    sentiment = _sentiment(item)
    phrases = sorted(item.get("phrases", {}).get("SS", []))
    created_at = datetime.fromisoformat(item["created_at"]["S"])
    writes = [
        mark,
        counter_update(table, item["design"]["S"], created_at, contribution(sentiment), phrases),
    ]
    attention = (
        None if "attention_dismissed" in item else attention_update(table, item, add=reasons(item))
    )
    return writes + ([attention] if attention else [])


def reasons(item: Item) -> frozenset[Intent]:
    """Why a stored comment (`item`) needs an answer: its intents, and negative if scored so."""
    sentiment = _sentiment(item)
    negative = sentiment is not None and sentiment.label is SentimentLabel.NEGATIVE
    return classify_intent(item["text"]["S"]) | ({Intent.NEGATIVE} if negative else set())


def restored_items(table: str, item: Item) -> list[dict[str, Any]]:
    """The writes that put a dismissed comment (`item`) back on the attention list."""
    unmark = {
        "Update": {
            "TableName": table,
            "Key": {"pk": item["pk"], "sk": item["sk"]},
            "UpdateExpression": "REMOVE attention_dismissed",
            "ConditionExpression": "attribute_exists(pk)",
        }
    }
    attention = attention_update(table, item, add=reasons(item))
    return [unmark, *([attention] if attention else [])]


def _sentiment(item: Item) -> Sentiment | None:
    if "label" not in item:
        return None
    scores = (
        float(Decimal(item[name]["N"])) for name in ("positive", "negative", "neutral", "mixed")
    )
    return Sentiment(SentimentLabel(item["label"]["S"]), *scores)


class DynamoInsights:
    """InsightsStore reads of the comments table (DynamoCommentStore's base)."""

    # DynamoCommentStore's: its table, and its Query pager (one list of items a page)
    _table: str
    _pages: Callable[[dict[str, Any]], Iterator[builtins.list[Item]]]

    def _counter_items(
        self, start: date | None, end: date | None, designer: str | None, with_phrases: bool
    ) -> Iterator[Item]:
        low = f"W#{start.isoformat()}" if start else "W#"
        high = f"W#{end.isoformat()}" if end else "W#~"  # "W#<end>#..." sorts above it
        names = {"#pk": "pk", "#sk": "sk"}
        values: Item = {":pk": {"S": COUNTER_PK}, ":low": {"S": low}, ":high": {"S": high}}
        query: dict[str, Any] = {
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if designer is not None or not with_phrases:
            names["#design"] = "design"
        if not with_phrases:  # else every attribute: the phrases' names are not known ahead
            names.update({f"#{name}": name for name in ("week", *COUNTERS)})
            query["ProjectionExpression"] = ", ".join(n for n in names if n not in ("#pk", "#sk"))
        if designer is not None:
            query["FilterExpression"] = "begins_with(#design, :designer)"
            values[":designer"] = {"S": f"{designer}/"}
        for items in self._pages(query):
            yield from items

    def week_counts(
        self, start: date | None, end: date | None, designer: str | None
    ) -> builtins.list[WeekCounts]:
        found = []
        for item in self._counter_items(start, end, designer, with_phrases=False):
            tally = Tally(*(int(item.get(name, {"N": "0"})["N"]) for name in COUNTERS))
            if tally.comments:
                found.append(
                    WeekCounts(item["design"]["S"], date.fromisoformat(item["week"]["S"]), tally)
                )
        return found

    def counts(
        self,
        start: date | None,
        end: date | None,
        designer: str | None,
        by: Grouping,
        designs: Sequence[str] | None = None,
    ) -> builtins.list[GroupCounts]:
        return group_counts(self.week_counts(start, end, designer), by, designs)

    def top_phrases(
        self,
        start: date | None,
        end: date | None,
        designer: str | None,
        overall: int,
        each: int,
        designs: Sequence[str] = (),
    ) -> PhraseTops:
        total: Counter[str] = Counter()
        per_design: dict[str, Counter[str]] = {}
        wanted = set(designs)
        for item in self._counter_items(start, end, designer, with_phrases=True):
            counts = {
                name.removeprefix(PHRASE_PREFIX): int(value["N"])
                for name, value in item.items()
                if name.startswith(PHRASE_PREFIX) and int(value["N"]) > 0
            }
            total.update(counts)
            per_design.setdefault(item["design"]["S"], Counter()).update(counts)
        return PhraseTops(
            _most(total, overall),
            {
                design: _most(per_design[design], each)
                for design in sorted(wanted)
                if per_design.get(design)
            },
        )

    def attention(self, designer: str | None, limit: int) -> builtins.list[AttentionEntry]:
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "FilterExpression": "attribute_exists(reasons)",
            "ExpressionAttributeValues": {":pk": {"S": ATTENTION_PK}},
            "ScanIndexForward": True,
        }
        if designer is not None:
            query["FilterExpression"] += " AND begins_with(design, :designer)"
            query["ExpressionAttributeValues"][":designer"] = {"S": f"{designer}/"}
        found: builtins.list[AttentionEntry] = []
        for items in self._pages(query):
            found += (_entry(item) for item in items)
            if len(found) >= limit:
                break
        return found[:limit]


def _most(counts: Counter[str], limit: int) -> tuple[PhraseCount, ...]:
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]
    return tuple(PhraseCount(phrase, n) for phrase, n in ranked)


def _entry(item: Item) -> AttentionEntry:
    return AttentionEntry(
        item["comment_id"]["S"],
        item["design"]["S"],
        item["author_name"]["S"],
        item["text"]["S"],
        datetime.fromisoformat(item["created_at"]["S"]).astimezone(UTC),
        frozenset(Intent(reason) for reason in item["reasons"]["SS"]),
        item.get("author_email", {"S": ""})["S"],
    )
