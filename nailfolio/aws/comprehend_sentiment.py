"""The aws sentiment analyzer: Amazon Comprehend's DetectSentiment, and DetectKeyPhrases for
the insights.

No table: Comprehend keeps nothing, and the comment store keeps each comment's Sentiment.
The port's shape is Comprehend's own (see nailfolio.comments.sentiment), so the label and the four
scores are taken as they come. Comprehend refuses text over 5,000 UTF-8 bytes (key phrases:
100 KB), so the text is cut on a character boundary first: a long comment is judged by its
opening, never refused. The language is a setting (Comprehend does not guess it here).

Errors keep the port's rule: text Comprehend can never score (InvalidRequestException,
TextSizeLimitExceededException) raises SentimentError, so the comment is marked failed; a
throttle, an outage or a timeout raises ServiceUnavailable, so it stays pending and
backfill_sentiment retries it; an unsupported language is a ConfigError (fix the setting,
then backfill).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from nailfolio.aws.calls import call
from nailfolio.comments.sentiment import KeyPhrase, Sentiment, SentimentError, SentimentLabel
from nailfolio.errors import ConfigError

SENTIMENT_MAX_BYTES = 5_000  # DetectSentiment: 5,000 bytes of UTF-8
KEY_PHRASES_MAX_BYTES = 100_000  # DetectKeyPhrases: 100 KB of UTF-8
NEVER_SCORABLE = frozenset({"InvalidRequestException", "TextSizeLimitExceededException"})


class ComprehendAnalyzer:
    """SentimentAnalyzer port adapter: Comprehend's DetectSentiment, plus key phrases."""

    name = "comprehend"

    def __init__(self, client: Any, language: str = "en") -> None:
        self._client = client  # a boto3 "comprehend" client
        self._language = language

    def detect(self, text: str) -> Sentiment:
        cut = cut_utf8(text, SENTIMENT_MAX_BYTES)
        if not cut.strip():  # Comprehend refuses empty text; VADER calls it neutral
            return Sentiment(SentimentLabel.NEUTRAL, 0.0, 0.0, 1.0, 0.0)
        response = self._call("DetectSentiment", cut)
        scores = response["SentimentScore"]
        return Sentiment(
            SentimentLabel(response["Sentiment"]),
            _score(scores, "Positive"),
            _score(scores, "Negative"),
            _score(scores, "Neutral"),
            _score(scores, "Mixed"),
        )

    def key_phrases(self, text: str) -> tuple[KeyPhrase, ...]:
        """The text's key phrases in the order they appear (the first 100 KB of it)."""
        cut = cut_utf8(text, KEY_PHRASES_MAX_BYTES)
        if not cut.strip():
            return ()
        response = self._call("DetectKeyPhrases", cut)
        return tuple(
            KeyPhrase(phrase["Text"], _score(phrase, "Score"))
            for phrase in response.get("KeyPhrases", [])
        )

    def _call(self, operation: str, text: str) -> dict[str, Any]:
        params = {"Text": text, "LanguageCode": self._language}
        translate = functools.partial(self._translate, operation)
        return call(self._client, "Comprehend", operation, params, translate)

    def _translate(
        self, operation: str, code: str, message: str, *_: Mapping[str, Any]
    ) -> Exception | None:
        if code in NEVER_SCORABLE:
            return SentimentError(
                f"Comprehend {operation} cannot score this text ({code}: {message})"
            )
        if code == "UnsupportedLanguageException":
            return ConfigError(
                f"Comprehend {operation} does not support language {self._language!r}: set "
                "NAILFOLIO_COMPREHEND_LANGUAGE to one it supports (en, es, fr, de, it, pt, ...)"
            )
        return None


def cut_utf8(text: str, max_bytes: int) -> str:
    """The longest head of text whose UTF-8 fits max_bytes, never splitting a character.

    A lone surrogate (no UTF-8 form) becomes "?" rather than failing the whole text.
    """
    data = text.encode("utf-8", "replace")
    return data[:max_bytes].decode("utf-8", "ignore")  # drops a character cut in half


def _score(scores: dict[str, Any], key: str) -> float:
    # Clamped: the port refuses a score outside 0..1, and a rounding stray must not fail a
    # comment for good.
    return min(max(float(scores.get(key, 0.0)), 0.0), 1.0)
