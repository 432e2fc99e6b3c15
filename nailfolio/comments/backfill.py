"""Scores, in the background, the comments whose scoring never finished (the process was
killed between storing and scoring, or the analyzer failed): the local server runs this
loop, as the aws backend runs the same backfill on a schedule."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from nailfolio.comments.service import CommentService
from nailfolio.errors import NailfolioError

logger = logging.getLogger(__name__)

BACKFILL_INTERVAL_S = 60.0
BACKFILL_BATCH = 100


def run_sentiment_backfill(
    comments: Callable[[], CommentService],
    stop: threading.Event,
    on_scored: Callable[[int], None] = lambda count: None,
    interval: float = BACKFILL_INTERVAL_S,
) -> None:
    """Score pending comments at once and then every `interval` seconds until `stop` is set;
    `on_scored(n)` hears of each round that scored any. A failing round is logged and the
    next one tries again."""
    while True:
        try:
            scored = comments().backfill_all(BACKFILL_BATCH)
        except NailfolioError as exc:  # a known trouble (a damaged store): its message says all
            logger.warning("sentiment backfill failed; trying again later: %s", exc)
        except Exception:  # the loop must outlive an outage; the comments stay pending
            logger.warning("sentiment backfill failed; trying again later", exc_info=True)
        else:
            if scored:
                on_scored(scored)
        if stop.wait(interval):
            return
