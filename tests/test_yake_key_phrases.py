"""The local key-phrase extractor (YAKE): offline, confidences in 0..1."""

from __future__ import annotations

import socket

import pytest

from nailfolio.comments.sentiment import KeyPhrase, counted_phrases
from nailfolio.local.yake_key_phrases import YakeKeyPhrases


def test_yake_finds_the_phrases_of_a_comment_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("YAKE must not reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    found = YakeKeyPhrases().key_phrases(
        "Can I book this chrome powder design for my wedding? The chrome powder is stunning."
    )
    assert "chrome powder" in [phrase.text.lower() for phrase in found]
    assert all(0.0 < phrase.score <= 1.0 for phrase in found)


def test_blank_text_has_no_phrases() -> None:
    assert YakeKeyPhrases().key_phrases("  \n") == ()


def test_counted_phrases_are_folded_unique_and_most_confident_first() -> None:
    phrases = (
        KeyPhrase("Jelly  Base.", 0.5),
        KeyPhrase("chrome powder", 0.9),
        KeyPhrase("jelly base", 0.4),
        KeyPhrase("x", 0.99),
        *(KeyPhrase(f"phrase {n}", 0.1) for n in range(9)),
    )
    assert counted_phrases(phrases) == (
        "chrome powder", "jelly base", "phrase 0", "phrase 1", "phrase 2",
    )  # fmt: skip
