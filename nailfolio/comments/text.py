"""What a customer may post as a comment: the payload, its text and its idempotency key.

A posted payload is a JSON object with only these fields:
- `text` (required): a string; "\\r\\n" and lone "\\r" become "\\n"; NFC-normalised, then trimmed;
  1..TEXT_MAX characters, counted as code points after NFC (grapheme clusters would match
  what people see better, but need a third-party library). Refused rather than silently
  stripped, so the customer sees why: unpaired surrogates, NUL and other C0/C1 controls
  except tab and newline, bidirectional embedding/override/isolate controls (U+202A-U+202E,
  U+2066-U+2069: they can disguise text), and the invisible U+200B, U+2060 and U+FEFF.
  Allowed: the joiners U+200C/U+200D (emoji sequences such as 👩‍🎨, Persian and Indic
  scripts need them) and the marks U+200E/U+200F. HTML is kept verbatim: it is text, escaped
  by whoever renders it.
- `website` (optional): the honeypot, hidden from people. If it holds anything but spaces,
  the post is dropped (not stored, not rate-limited) and the result looks exactly like an
  accepted post, so a bot learns nothing.
- `idempotency_key` (optional, or passed separately, e.g. from a header): 8-128 characters of
  [A-Za-z0-9_-]. A retried post with the same key by the same author returns the first
  result instead of storing a second comment.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from nailfolio.errors import NailfolioError

TEXT_MAX = 2000  # code points after NFC
PAYLOAD_FIELDS = ("text", "website", "idempotency_key")
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{8,128}")

_NEWLINES = re.compile(r"\r\n?")
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


class InvalidComment(NailfolioError):
    """A posted comment is malformed; `field` names the payload field at fault, if one is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewComment:
    """A validated payload: what the customer asked to post."""

    text: str
    idempotency_key: str | None = None
    honeypot: bool = False  # the hidden field was filled: a bot, drop it quietly


def parse_comment_payload(payload: object) -> NewComment:
    """Validate a posted JSON body; raises InvalidComment naming the field and the fix."""
    if not isinstance(payload, dict):
        raise InvalidComment('The comment must be a JSON object, like {"text": "Love it!"}')
    unknown = sorted(str(name) for name in payload if name not in PAYLOAD_FIELDS)
    if unknown:
        raise InvalidComment(
            f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}; "
            f"a comment has only {', '.join(PAYLOAD_FIELDS)}",
            unknown[0],
        )
    if "text" not in payload:
        raise InvalidComment("The comment has no text", "text")
    text = clean_text(payload["text"])
    website = payload.get("website")
    if website is not None and not isinstance(website, str):
        raise InvalidComment("website must be a string", "website")
    key = payload.get("idempotency_key")
    return NewComment(text, check_idempotency_key(key), bool(website and website.strip()))


def clean_text(text: object) -> str:
    """A comment's text, validated and normalised (the rules are in the module docstring)."""
    if not isinstance(text, str):
        raise InvalidComment("Comment text must be a string", "text")
    if len(text) > 4 * TEXT_MAX:  # spare NFC a huge input; NFC shrinks text far less than 4x
        raise InvalidComment(f"Comment is {len(text)} characters; the limit is {TEXT_MAX}", "text")
    text = _NEWLINES.sub("\n", text)
    bad = _FORBIDDEN.search(text)
    if bad:
        char = bad.group()
        raise InvalidComment(
            f"Comment contains {_describe(char)} (U+{ord(char):04X}) at character "
            f"{bad.start() + 1}; remove it and try again",
            "text",
        )
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise InvalidComment("Comment is empty; write something before posting", "text")
    if len(text) > TEXT_MAX:
        raise InvalidComment(f"Comment is {len(text)} characters; the limit is {TEXT_MAX}", "text")
    return text


def check_idempotency_key(key: object) -> str | None:
    """The key itself, or None if absent; raises InvalidComment if it is malformed."""
    if key is None:
        return None
    if not isinstance(key, str) or not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidComment(
            "idempotency_key must be 8 to 128 letters, digits, '-' or '_' (a UUID works)",
            "idempotency_key",
        )
    return key


def merge_idempotency_keys(body_key: str | None, other_key: str | None) -> str | None:
    """The one key sent in the body or beside it (e.g. a header); InvalidComment if both
    were sent and differ."""
    if body_key and other_key and body_key != other_key:
        raise InvalidComment(
            "Two different idempotency keys were sent; send one", "idempotency_key"
        )
    return body_key or other_key


def _describe(char: str) -> str:
    code = ord(char)
    if code == 0:
        return "a NUL character"
    if 0xD800 <= code <= 0xDFFF:
        return "a broken character (an unpaired surrogate)"
    if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        return "a text-direction control"
    if code in (0x200B, 0x2060, 0xFEFF):
        return "an invisible zero-width character"
    return "a control character"
