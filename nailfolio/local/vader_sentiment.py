"""The sentiment analyzer's local adapter: VADER, whose lexicon ships inside its wheel (no
download), with labels and scores shaped like Comprehend's.

VADER gives proportions pos/neg/neu (summing to ~1) and a compound score in -1..1. The local
adapter maps them with one rule, checked in this order:

1. MIXED     when pos >= MIXED_MIN and neg >= MIXED_MIN (both sides substantial:
             "Love the colour but the finish is awful")
2. POSITIVE  when compound >= POSITIVE_AT (VADER's own recommended threshold)
3. NEGATIVE  when compound <= NEGATIVE_AT
4. NEUTRAL   otherwise

Scores: the part of the text that is both positive and negative, 2 * min(pos, neg), becomes
`mixed`, taken equally from `positive` and `negative`; `neutral` is VADER's neu; the four are
then normalised to sum to 1 (text with no words at all scores neutral = 1). The label follows
the rule above, so it is not always the highest score (Comprehend's usually is).
"""

from __future__ import annotations

import logging
import math
import threading
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

from nailfolio.comments.sentiment import Sentiment, SentimentLabel

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

logger = logging.getLogger(__name__)

MIXED_MIN = 0.15  # VADER pos and neg both at least this: MIXED


POSITIVE_AT = 0.05  # VADER compound at least this: POSITIVE


NEGATIVE_AT = -0.05  # VADER compound at most this: NEGATIVE


def sentiment_from_vader(scores: Mapping[str, float]) -> Sentiment:
    """Map VADER's polarity scores (pos, neg, neu, compound) onto Comprehend's shape."""
    pos, neg, neu = (max(0.0, float(scores[key])) for key in ("pos", "neg", "neu"))
    compound = float(scores["compound"])
    if pos >= MIXED_MIN and neg >= MIXED_MIN:
        label = SentimentLabel.MIXED
    elif compound >= POSITIVE_AT:
        label = SentimentLabel.POSITIVE
    elif compound <= NEGATIVE_AT:
        label = SentimentLabel.NEGATIVE
    else:
        label = SentimentLabel.NEUTRAL
    shared = min(pos, neg)
    parts = (pos - shared, neg - shared, neu, 2 * shared)
    total = math.fsum(parts)
    if total <= 0.0:  # no scorable words at all (VADER returns zeros)
        return Sentiment(label, 0.0, 0.0, 1.0, 0.0)
    positive, negative, neutral, mixed = (min(1.0, part / total) for part in parts)
    return Sentiment(label, positive, negative, neutral, mixed)


class VaderAnalyzer:
    """Local sentiment with VADER; its lexicon ships inside the vaderSentiment wheel (offline).

    The VADER analyzer (about 0.1 s to read its lexicons) is built on the first `detect`, not
    at construction, so importing or configuring this adapter costs nothing. Thread-safe.
    """

    name = "vader"

    def __init__(self) -> None:
        self._vader: SentimentIntensityAnalyzer | None = None
        self._lock = threading.Lock()

    def detect(self, text: str) -> Sentiment:
        return sentiment_from_vader(self._analyzer().polarity_scores(text))

    def _analyzer(self) -> SentimentIntensityAnalyzer:
        if self._vader is None:
            with self._lock:
                if self._vader is None:
                    self._vader = _build_vader()
        return self._vader


def _build_vader() -> SentimentIntensityAnalyzer:
    # vaderSentiment 3.3.2 reads its lexicons with codecs.open, which Python 3.14 deprecates;
    # silence exactly that warning from exactly that call, so filterwarnings=error keeps
    # guarding everything else. catch_warnings swaps process-wide state: this runs once.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"codecs\.open\(\) is deprecated", category=DeprecationWarning
        )
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()
    logger.debug("VADER lexicon loaded")
    return analyzer
