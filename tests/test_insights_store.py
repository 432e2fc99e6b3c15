"""The InsightsStore contract: both comment stores (SQLite, DynamoDB on moto) keep counters
that always equal a full recount of their comments, and the needs-attention list."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from nailfolio.comments.insights import Grouping, Tally, group_counts, score_units, week_of
from nailfolio.comments.intent import Intent
from nailfolio.comments.query import PAGE_MAX, new_comment_id
from nailfolio.comments.sentiment import Sentiment, SentimentLabel
from nailfolio.comments.service import Comment, SentimentStatus
from nailfolio.local import sqlite, sqlite_insights
from nailfolio.local.sqlite_comment_store import APPLICATION_ID, MIGRATIONS, SqliteCommentStore
from tests.test_comment_store import HAPPY, SAD, make_comment, store  # noqa: F401  (fixture)

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Monday
DESIGNS = ("ana/red", "ana/blue", "bea/gold", "bea/green")
PHRASES = ("chrome powder", "jelly base", "french tips", "glitter", "matte top coat")
TEXTS = ("Lovely", "Can I book this for Friday?", "How long does it last", "Chipped fast")


def random_sentiment(rng: random.Random) -> Sentiment:
    label = rng.choice(list(SentimentLabel))
    positive, negative = rng.random() * 0.5, rng.random() * 0.5
    return Sentiment(label, positive, negative, 1 - positive - negative, 0.0)


def everything(comments_store: object) -> list[Comment]:
    comments, cursor = [], None
    while True:
        page = comments_store.list(limit=PAGE_MAX, cursor=cursor)  # type: ignore[attr-defined]
        comments += page.comments
        if page.next_cursor is None:
            return comments
        cursor = page.next_cursor


def recount(comments: list[Comment]) -> dict[tuple[str, date], Tally]:
    counts: dict[tuple[str, date], Tally] = {}
    for comment in comments:
        sentiment = comment.sentiment
        labels = dict.fromkeys(("positive", "negative", "neutral", "mixed"), 0)
        if sentiment is not None:
            labels[str(sentiment.label).lower()] = 1
        tally = Tally(
            comments=1,
            scored=int(sentiment is not None),
            score_units=score_units(sentiment) if sentiment else 0,
            **labels,
        )
        key = (comment.design, week_of(comment.created_at))
        counts[key] = counts.get(key, Tally()) + tally
    return counts


def test_counters_equal_a_full_recount_after_random_adds_scores_and_deletes(store) -> None:  # noqa: F811
    rng = random.Random(9)
    live: dict[str, tuple[str, ...]] = {}  # comment id -> its counted phrases
    for step in range(120):
        action = rng.random()
        if action < 0.5 or not live:
            at = START + timedelta(hours=rng.randrange(24 * 7 * 8))
            comment = Comment(
                new_comment_id(at), rng.choice(DESIGNS), f"sub-{rng.randrange(4)}", "Ana",
                rng.choice(TEXTS), at, spam=rng.random() < 0.1,
            )  # fmt: skip
            store.add(comment, f"key-{step}" if rng.random() < 0.3 else None)
            if not comment.spam:
                live[comment.id] = ()
        elif action < 0.8:
            comment_id = rng.choice(list(live))
            phrases = tuple(rng.sample(PHRASES, rng.randrange(4)))
            if rng.random() < 0.15:
                store.set_sentiment(comment_id, None, SentimentStatus.FAILED)
                live[comment_id] = ()
            else:
                sentiment = random_sentiment(rng)
                store.set_sentiment(comment_id, sentiment, SentimentStatus.SCORED, phrases)
                live[comment_id] = phrases
        elif action < 0.95:
            comment_id = rng.choice(list(live))
            assert store.delete(comment_id)
            del live[comment_id]
        else:
            author = f"sub-{rng.randrange(4)}"
            store.delete_by_author(author)
            live = {cid: p for cid, p in live.items() if store.get(cid) is not None}
    comments = everything(store)
    assert {c.id for c in comments} == set(live)
    counted = {(row.design, row.week): row.tally for row in store.week_counts(None, None, None)}
    assert counted == recount(comments)
    rows = store.week_counts(None, None, None)
    for by in Grouping:
        chosen = ["ana/red", "bea/gold"] if by is Grouping.DESIGN_WEEK else None
        summed = sorted(store.counts(None, None, None, by, chosen), key=repr)
        assert summed == sorted(group_counts(rows, by, chosen), key=repr), by
    by_design = {c.id: c.design for c in comments}
    phrases = Counter(phrase for cid in live for phrase in live[cid])
    tops = store.top_phrases(None, None, None, overall=50, each=50, designs=DESIGNS)
    assert {p.phrase: p.count for p in tops.overall} == dict(phrases)
    for design in DESIGNS:
        expected = Counter(p for cid, ps in live.items() if by_design[cid] == design for p in ps)
        assert {p.phrase: p.count for p in tops.by_design.get(design, ())} == dict(expected)
    anas = Counter(p for cid, ps in live.items() if by_design[cid].startswith("ana/") for p in ps)
    tops = store.top_phrases(None, None, "ana", overall=50, each=50, designs=["ana/red"])
    assert {p.phrase: p.count for p in tops.overall} == dict(anas)
    assert set(tops.by_design) <= {"ana/red"}


def test_week_counts_take_a_week_range_and_a_designer(store) -> None:  # noqa: F811
    for days, design in ((0, "ana/red"), (8, "ana/red"), (8, "bea/gold"), (15, "ana/blue")):
        at = START + timedelta(days=days)
        store.add(Comment(new_comment_id(at), design, "sub", "Ana", "Nice", at))
    week2 = START.date() + timedelta(days=7)
    rows = store.week_counts(week2, week2 + timedelta(days=7), None)
    assert sorted((r.design, r.week) for r in rows) == [("ana/red", week2), ("bea/gold", week2)]
    rows = store.week_counts(None, None, "ana")
    assert sorted(r.design for r in rows) == ["ana/blue", "ana/red", "ana/red"]
    assert store.week_counts(None, None, "an") == []  # a designer, not a prefix of one


def test_spam_is_never_counted(store) -> None:  # noqa: F811
    spam = make_comment(text="Can I book this?", spam=True)
    store.add(spam)
    store.set_sentiment(spam.id, SAD, SentimentStatus.SCORED, ("glitter",))
    assert store.week_counts(None, None, None) == []
    assert store.top_phrases(None, None, None, 5, 5).overall == ()
    assert store.attention(None, 10) == []


def test_attention_lists_questions_bookings_and_negatives_oldest_first(store) -> None:  # noqa: F811
    question = make_comment(0, text="How long does it last")
    booking = make_comment(1, text="Can I book this for Friday?")
    happy = make_comment(2, text="Lovely work")
    negative = make_comment(3, text="It chipped in a day")
    for comment in (negative, happy, booking, question):
        store.add(comment)
    store.set_sentiment(happy.id, HAPPY, SentimentStatus.SCORED)
    store.set_sentiment(negative.id, SAD, SentimentStatus.SCORED)
    entries = store.attention(None, 10)
    assert [e.comment_id for e in entries] == [question.id, booking.id, negative.id]
    assert [e.reasons for e in entries] == [
        {Intent.QUESTION},
        {Intent.QUESTION, Intent.BOOKING},
        {Intent.NEGATIVE},
    ]
    assert entries[2].text == "It chipped in a day" and entries[2].author_name == "Ana"
    assert store.attention(None, 2) == entries[:2]
    assert store.attention("bea", 10) == []


def test_a_dismissed_or_deleted_comment_leaves_the_attention_list(store) -> None:  # noqa: F811
    first, second = make_comment(0, text="Any slots?"), make_comment(1, text="Price?")
    store.add(first)
    store.add(second)
    assert store.dismiss_attention(first.id) is True
    assert store.dismiss_attention(first.id) is False  # already off it
    store.set_sentiment(first.id, SAD, SentimentStatus.SCORED)  # answered stays answered
    store.delete(second.id)
    assert store.attention(None, 10) == []


def test_a_restored_comment_comes_back_with_its_reasons(store) -> None:  # noqa: F811
    asking, happy = make_comment(0, text="Any slots on Friday?"), make_comment(1, text="Lovely")
    store.add(asking)
    store.add(happy)
    store.set_sentiment(asking.id, SAD, SentimentStatus.SCORED)
    (before,) = store.attention(None, 10)
    assert store.restore_attention(asking.id) is False  # not dismissed: nothing to restore
    assert store.dismiss_attention(asking.id) is True
    assert store.attention(None, 10) == []
    assert store.restore_attention(asking.id) is True
    assert store.attention(None, 10) == [before]
    assert store.dismiss_attention(happy.id) is False  # never needed an answer
    assert store.restore_attention(happy.id) is False
    assert store.attention(None, 10) == [before]


def test_a_rescored_comment_moves_its_counts(store) -> None:  # noqa: F811
    comment = make_comment(text="Chipped")
    store.add(comment)
    store.set_sentiment(comment.id, SAD, SentimentStatus.SCORED, ("chip",))
    store.set_sentiment(comment.id, HAPPY, SentimentStatus.SCORED, ("shine",))
    (row,) = store.week_counts(None, None, None)
    assert (row.tally.scored, row.tally.positive, row.tally.negative) == (1, 1, 0)
    assert [p.phrase for p in store.top_phrases(None, None, None, 5, 5).overall] == ["shine"]
    assert store.attention(None, 5) == []  # no longer negative


def test_a_file_with_counted_phrases_passes_sqlites_own_checks(tmp_path: Path) -> None:
    """SQLite 3.40's checks misread a WITHOUT ROWID table whose key is not its first columns
    (a false "NULL value in comment_phrases.design" made /api/health call the file damaged)."""
    path = tmp_path / "comments.sqlite3"
    with SqliteCommentStore(path) as comments:
        comment = make_comment(text="The chrome shine is lovely")
        comments.add(comment)
        comments.set_sentiment(comment.id, HAPPY, SentimentStatus.SCORED, ("chrome shine",))
        assert [p.phrase for p in comments.top_phrases(None, None, None, 5, 5).overall] == [
            "chrome shine"
        ]
    assert sqlite.check_file(path, full=False) is None
    assert sqlite.check_file(path, full=True) is None


def test_the_migration_counts_comments_stored_before_it(tmp_path: Path) -> None:
    path = tmp_path / "comments.sqlite3"
    before = MIGRATIONS[: MIGRATIONS.index(sqlite_insights.MIGRATION)]
    conn = sqlite.connect(path, before, application_id=APPLICATION_ID)
    rows = [
        (new_comment_id(START), "ana/red", "s", "Ana", "Do you do gel?", START, "SAD"),
        (new_comment_id(START), "ana/red", "s", "Ana", "Lovely", START, "HAPPY"),
        (new_comment_id(START), "ana/red", "s", "Ana", "Pending", START, None),
    ]
    for comment_id, design, sub, name, text, at, mood in rows:
        sentiment = {"SAD": SAD, "HAPPY": HAPPY}.get(mood or "")
        values = (
            (str(sentiment.label), sentiment.positive, sentiment.negative, 0.2, 0.0)
            if sentiment
            else (None,) * 5
        )
        conn.execute(
            "INSERT INTO comments (id, design, author_sub, author_name, text, created_at,"
            " sentiment_status, label, positive, negative, neutral, mixed)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (comment_id, design, sub, name, text, at.isoformat(timespec="microseconds"),
             "scored" if sentiment else "pending", *values),
        )  # fmt: skip
    conn.close()
    with SqliteCommentStore(path) as migrated:
        (row,) = migrated.week_counts(None, None, None)
        assert row.tally == recount(everything(migrated))[("ana/red", START.date())]
        assert row.tally.comments == 3 and row.tally.negative == 1
        (entry,) = migrated.attention(None, 5)
        assert entry.reasons == {Intent.QUESTION, Intent.NEGATIVE}


def test_a_dynamodb_comment_from_before_the_insights_is_counted_only_by_count_earlier() -> None:
    import boto3
    from moto import mock_aws

    from nailfolio.aws.dynamodb_comment_store import DynamoCommentStore, _item, table_definition

    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(**table_definition("comments"))
        store = DynamoCommentStore(client, "comments")
        old = make_comment(text="Stored before the insights")
        client.put_item(TableName="comments", Item=_item(old, None))  # no counter, no mark
        store.add(make_comment(1))
        store.set_sentiment(old.id, SAD, SentimentStatus.SCORED, ("chip",))
        assert store.delete(old.id)
        (row,) = store.week_counts(None, None, None)
        assert (row.tally.comments, row.tally.scored, row.tally.negative) == (1, 0, 0)
        assert store.top_phrases(None, None, None, 5, 5).overall == ()
        earlier = make_comment(2, text="Do you do gel?")
        client.put_item(TableName="comments", Item=_item(earlier, None))
        store.set_sentiment(earlier.id, SAD, SentimentStatus.SCORED, ("gel",))  # not counted yet
        assert store.count_earlier() == 1
        assert store.count_earlier() == 0  # once
        (row,) = store.week_counts(None, None, None)
        assert (row.tally.comments, row.tally.scored, row.tally.negative) == (2, 1, 1)
        assert [p.phrase for p in store.top_phrases(None, None, None, 5, 5).overall] == ["gel"]
        (entry,) = store.attention(None, 5)
        assert entry.reasons == {Intent.QUESTION, Intent.NEGATIVE}
        store.delete(earlier.id)  # counted now: its delete takes it back out
        (row,) = store.week_counts(None, None, None)
        assert row.tally.comments == 1
