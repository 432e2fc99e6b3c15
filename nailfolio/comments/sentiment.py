"""Sentiment of a comment: the SentimentAnalyzer port and the shape of its answers.

Results are shaped like Amazon Comprehend's DetectSentiment (the aws adapter): one label of
POSITIVE, NEGATIVE, NEUTRAL or MIXED, and four scores in 0..1 that sum to 1. The local
adapter, VADER, is nailfolio.local.vader_sentiment.

An analyzer raises SentimentError when it can never score a text (the comment is then marked
"failed"); any other exception is treated as transient and the comment stays "pending".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from nailfolio.errors import NailfolioError


class SentimentLabel(StrEnum):
    """Comprehend's four labels (a StrEnum, so it compares equal to the plain strings)."""

    POSITIVE = "POSITIVE"
    NEGATIVE = "NEGATIVE"
    NEUTRAL = "NEUTRAL"
    MIXED = "MIXED"


class SentimentError(NailfolioError):
    """The analyzer can never score this text (retrying will not help)."""


@dataclass(frozen=True)
class Sentiment:
    """One text's sentiment, shaped like Comprehend's: a label and four scores in 0..1."""

    label: SentimentLabel
    positive: float
    negative: float
    neutral: float
    mixed: float

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "label", SentimentLabel(self.label))
        except ValueError:
            labels = ", ".join(SentimentLabel)
            raise ValueError(f"sentiment label {self.label!r} is not one of {labels}") from None
        for name in ("positive", "negative", "neutral", "mixed"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
                raise ValueError(f"sentiment score {name}={value!r} must be a number in 0..1")
            object.__setattr__(self, name, float(value))


@dataclass(frozen=True)
class KeyPhrase:
    """A noun phrase found in a comment, with the analyzer's confidence in 0..1 (for the
    insights: what customers talk about)."""

    text: str
    score: float


class SentimentAnalyzer(Protocol):
    """Scores one comment's text. Raises SentimentError if the text can never be scored."""

    name: str

    def detect(self, text: str) -> Sentiment: ...


PHRASES_PER_COMMENT = 5  # the insights count at most this many phrases of one comment
PHRASE_MAX_CHARS = 60
_PUNCTUATION = " .,;:!?\"'()[]{}-–—…"  # stripped from a phrase's ends ("day." is "day")


class KeyPhraseExtractor(Protocol):
    """Finds a text's key phrases (Comprehend DetectKeyPhrases on aws, YAKE locally). Raises
    SentimentError if the text can never be read; anything else is transient."""

    name: str

    def key_phrases(self, text: str) -> tuple[KeyPhrase, ...]: ...


def counted_phrases(phrases: tuple[KeyPhrase, ...]) -> tuple[str, ...]:
    """What the insights count of a comment's phrases: lower-cased, spaces folded, each once,
    the most confident first, at most PHRASES_PER_COMMENT of them."""
    ranked = sorted(phrases, key=lambda phrase: -phrase.score)
    seen: dict[str, None] = {}
    for phrase in ranked:
        text = " ".join(phrase.text.lower().split())[:PHRASE_MAX_CHARS].strip(_PUNCTUATION)
        if len(text) > 1:
            seen.setdefault(text)
    return tuple(seen)[:PHRASES_PER_COMMENT]
