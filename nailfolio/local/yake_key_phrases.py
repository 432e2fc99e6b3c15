"""The key-phrase extractor's local adapter: YAKE (pure Python, its stopword lists ship in
the wheel, nothing is downloaded at run time; only its optional lemmatization would fetch
models, and it is not used). Comprehend's DetectKeyPhrases is the aws twin.

YAKE scores a phrase lower the more relevant it is (0 upwards); the port's score is a
confidence in 0..1, so it becomes 1 / (1 + score).
"""

from __future__ import annotations

import threading
from typing import Any

from nailfolio.comments.sentiment import KeyPhrase

MAX_WORDS = 2  # "chrome powder", "jelly base": nail-art phrases are short
TOP = 5


class YakeKeyPhrases:
    """KeyPhraseExtractor port adapter: YAKE, built on first use (importing yake takes about
    0.4 s, with numpy and networkx). One lock: YAKE keeps state while it extracts."""

    name = "yake"

    def __init__(self, language: str = "en") -> None:
        self._language = language
        self._extractor: Any = None
        self._lock = threading.Lock()

    def key_phrases(self, text: str) -> tuple[KeyPhrase, ...]:
        if not text.strip():
            return ()
        with self._lock:
            if self._extractor is None:
                import yake

                self._extractor = yake.KeywordExtractor(lan=self._language, n=MAX_WORDS, top=TOP)
            found = self._extractor.extract_keywords(text)
        return tuple(KeyPhrase(str(phrase), 1.0 / (1.0 + float(score))) for phrase, score in found)
