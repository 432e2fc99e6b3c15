"""The rules that put a comment on the needs-attention list (comments.intent)."""

from __future__ import annotations

import pytest

from nailfolio.comments.intent import Intent, classify_intent

Q, B = Intent.QUESTION, Intent.BOOKING


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Can I book this for my wedding?", {Q, B}),
        ("How long does it last", {Q}),
        ("Hi, do you do gel extensions", {Q}),
        ("Is there a slot on Friday", {Q, B}),
        ("I'd love an appointment next week.", {B}),
        ("How much is this one", {Q, B}),
        ("Price?", {Q, B}),
        ("Love it. Would it work on short nails", {Q}),
        ("What a shine!", set()),
        ("How gorgeous!", set()),
        ("Lovely work, thank you", set()),
        ("Saw it on facebook, stunning", set()),
        ("Reminds me of a book of fairy tales", set()),
        ("The colour chipped after two days, awful", set()),  # negative: the sentiment's job
    ],
)
def test_classify_intent(text: str, expected: set[Intent]) -> None:
    assert classify_intent(text) == expected
