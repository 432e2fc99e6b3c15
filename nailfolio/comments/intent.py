"""What a comment asks of the studio, read from its words (English): a question, a booking
request, or neither. Classified when the comment is stored, so the insights' "needs attention"
list (questions, bookings and negative comments not yet answered) is kept at write time;
negative comes from the sentiment, when it arrives.

The rules are deliberately small and readable (tests/test_intent.py holds the table):
- QUESTION: a question mark, or a sentence opening with a question word or an auxiliary
  verb ("how long does it last", "do you do gel").
- BOOKING: a booking word ("book", "appointment", "slot", "reserve", "availability"...) or
  "can I get/have this" / "how much": someone who wants the design done.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Intent(StrEnum):
    """Why a comment needs the studio's answer."""

    QUESTION = "question"
    BOOKING = "booking"
    NEGATIVE = "negative"  # from the sentiment label, never from these rules


_QUESTION_OPENERS = (
    "how", "what", "when", "where", "which", "who", "why", "whose",
    "can", "could", "do", "does", "did", "is", "are", "will", "would", "should",
    "have you", "has", "any chance",
)  # fmt: skip
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_GREETING = re.compile(r"^\s*(?:hi|hey|hello)\b[,!\s]*", re.IGNORECASE)
_QUESTION_START = re.compile(
    r"(?:" + "|".join(_QUESTION_OPENERS) + r")\b(?! an? )", re.IGNORECASE
)  # "what a shine!" exclaims
_BOOKING = re.compile(
    r"\b(?:book(?:ed|ing|s)?|appointments?|appt|reserv(?:e|ation)|slots?|availab(?:le|ility)"
    r"|schedule|come in|get (?:this|these|it) done|how much|price|cost)\b"
    r"|\bcan i (?:get|have) (?:this|these|it|one)\b",
    re.IGNORECASE,
)
_NOT_A_BOOKING = re.compile(r"\bfacebook\b|\bbook(?:s)? (?:of|about)\b", re.IGNORECASE)


def classify_intent(text: str) -> frozenset[Intent]:
    """The intents a comment's text shows: QUESTION and/or BOOKING (empty: none)."""
    found: set[Intent] = set()
    if "?" in text or any(_asks(sentence) for sentence in _SENTENCE.findall(text)):
        found.add(Intent.QUESTION)
    if _BOOKING.search(_NOT_A_BOOKING.sub(" ", text)):
        found.add(Intent.BOOKING)
    return frozenset(found)


def _asks(sentence: str) -> bool:
    """A sentence that opens like a question and does not end in an exclamation mark."""
    opening = _GREETING.sub("", sentence.strip())
    return bool(_QUESTION_START.match(opening)) and not sentence.rstrip().endswith("!")
