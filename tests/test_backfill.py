"""Comments whose scoring never finished are scored by the server itself, in the background."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from conftest import Project
from serve_process import serving_until

from nailfolio import config
from nailfolio.comments.backfill import run_sentiment_backfill
from nailfolio.comments.query import new_comment_id
from nailfolio.comments.service import Comment, CommentService, SentimentStatus
from nailfolio.errors import StoreDamaged
from nailfolio.local.sqlite_rate_limiter import SqliteRateLimiter
from nailfolio.local.vader_sentiment import VaderAnalyzer


def store_pending(project: Project, *texts: str) -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC)
    with config.open_comment_store(project.settings) as store:
        for text in texts:
            store.add(Comment(new_comment_id(at), "ana/red", "sub-1", "Ana", text, at))


def pending(project: Project) -> int:
    with config.open_comment_store(project.settings) as store:
        return len(store.pending_sentiment(100))


@pytest.fixture
def service(project: Project) -> Iterator[CommentService]:
    """The project's comment service; its stores are closed after the test."""
    with (
        config.open_comment_store(project.settings) as store,
        SqliteRateLimiter(project.settings.ratelimit_path) as limiter,
    ):
        yield CommentService(store, VaderAnalyzer(), limiter, lambda key: True)


def run_until_heard(comments: Callable[[], CommentService]) -> list[int]:
    """Run the backfill loop (every 50 ms) until it reports a round that scored, then stop it;
    returns what it reported. Fails if the loop does not end when told."""
    stop, heard = threading.Event(), []
    args = (comments, stop, heard.append)
    loop = threading.Thread(target=run_sentiment_backfill, args=args, kwargs={"interval": 0.05})
    loop.start()
    deadline = time.monotonic() + 10
    while not heard and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    loop.join(timeout=5)
    assert not loop.is_alive()
    return heard


def test_the_loop_scores_pending_comments_then_waits_for_stop(
    project: Project, service: CommentService
) -> None:
    store_pending(project, "Gorgeous, I love it!", "Chipped after a day, awful.")
    assert run_until_heard(lambda: service) == [2]
    assert pending(project) == 0


def test_a_failing_round_is_logged_and_the_next_one_tries_again(
    project: Project, service: CommentService, caplog: pytest.LogCaptureFixture
) -> None:
    store_pending(project, "Lovely colours")
    rounds = []

    def comments() -> CommentService:
        rounds.append(1)
        if len(rounds) == 1:
            raise StoreDamaged("var/comments.sqlite3", "database disk image is malformed")
        return service

    with caplog.at_level(logging.WARNING, logger="nailfolio.comments.backfill"):
        assert run_until_heard(comments) == [1]
    assert len(rounds) >= 2
    (record,) = [r for r in caplog.records if r.name == "nailfolio.comments.backfill"]
    assert record.exc_info is None and "database disk image is malformed" in record.getMessage()
    assert "sentiment backfill failed; trying again later" in caplog.text


def test_serve_scores_comments_left_pending_without_being_asked(project: Project) -> None:
    """`build.py serve`, started on a project with a comment whose scoring never ran."""
    store_pending(project, "I adore this chrome finish!")
    project.settings.output_dir.mkdir()
    (project.settings.output_dir / "index.html").write_text("<h1>Gallery</h1>")
    said = "scored 1 comments whose scoring had not finished\n"
    with serving_until(project.root, said):
        assert pending(project) == 0
        with config.open_comment_store(project.settings) as store:
            (scored,) = store.list().comments
        assert scored.sentiment_status == SentimentStatus.SCORED
        assert scored.sentiment and scored.sentiment.label == "POSITIVE"
