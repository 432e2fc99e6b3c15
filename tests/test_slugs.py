"""Slugs: URL-safe for any text, never empty, and stable when other files come and go."""

from __future__ import annotations

import re
import unicodedata

import pytest

from nailfolio.gallery.slugs import MAX_SLUG_LENGTH, short_hash, slugify, unique_slugs

SLUG_SHAPE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
LONG = "the quick brown fox jumps over the lazy dog and keeps on running far away"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("red", "red"),
        ("Ruby French_Tips 02", "ruby-french-tips-02"),
        ("  spaced   out  ", "spaced-out"),
        ("RED", "red"),
        ("v1.2.final", "v1-2-final"),
        ("IMG_2034.JPG", "img-2034-jpg"),
        ("Crème Brûlée", "creme-brulee"),
        ("Straße", "strasse"),
        ("Æsir Ørsted Łódź", "aesir-orsted-lodz"),
        ("ﬁne ²", "fine-2"),
        ("Ana's & Bea’s", "anas-and-beas"),
        ("💅 Red glitter ✨", "red-glitter"),
        ("--Hello--", "hello"),
        ("東京", f"design-{short_hash('東京')}"),
        ("Привет", f"design-{short_hash('Привет')}"),
        ("💅", f"design-{short_hash('💅')}"),
        ("...", f"design-{short_hash('...')}"),
        ("", f"design-{short_hash('')}"),
        ("ネイル red", f"red-{short_hash('ネイル red')}"),
        (LONG, f"the-quick-brown-fox-jumps-over-the-lazy-dog-and-keeps-{short_hash(LONG)}"),
        ("a" * 100, f"{'a' * 53}-{short_hash('a' * 100)}"),
    ],
)
def test_slugify(text: str, expected: str) -> None:
    assert slugify(text) == expected


@pytest.mark.parametrize("text", ["", "東京", "x" * 500, "a-" * 80, "💅🔥", "Crème " * 30])
def test_slugify_is_url_safe_short_and_never_empty(text: str) -> None:
    slug = slugify(text)
    assert SLUG_SHAPE.match(slug)
    assert len(slug) <= MAX_SLUG_LENGTH


def test_slugify_fallback_prefix_is_configurable() -> None:
    assert slugify("東京", fallback="designer") == f"designer-{short_hash('東京')}"


def test_slugify_treats_macos_decomposed_names_like_composed_ones() -> None:
    composed = "東京 Crème"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert slugify(decomposed) == slugify(composed)


def test_unique_slugs_without_clashes_are_plain() -> None:
    assert unique_slugs({"red.jpg": "red", "Blue Sky.png": "Blue Sky"}) == {
        "red.jpg": "red",
        "Blue Sky.png": "blue-sky",
    }


def test_unique_slugs_give_the_clean_name_the_plain_slug_and_hash_the_rest() -> None:
    slugs = unique_slugs({"Red.jpg": "Red", "red.PNG": "red", "red.jpg": "red"})
    assert slugs == {
        "red.jpg": "red",  # stem already a slug, all lowercase
        "red.PNG": f"red-{short_hash('red.PNG')}",
        "Red.jpg": f"red-{short_hash('Red.jpg')}",
    }


def test_unique_slugs_keep_every_slug_when_a_file_is_added_or_removed() -> None:
    before = {"red.jpg": "red", "Red.PNG": "Red", "blue.jpg": "blue"}
    after = {**before, "RED.webp": "RED", "green.jpg": "green"}
    slugs_before, slugs_after = unique_slugs(before), unique_slugs(after)
    assert {name: slugs_after[name] for name in before} == slugs_before
    assert len(set(slugs_after.values())) == len(after)


def test_unique_slugs_do_not_depend_on_order() -> None:
    texts = {"b.jpg": "b", "B.jpg": "B", "b.png": "b", "a.jpg": "a"}
    assert unique_slugs(dict(reversed(texts.items()))) == unique_slugs(texts)


def test_unique_slugs_lengthen_the_hash_when_it_meets_another_slug() -> None:
    hashed = f"red-{short_hash('Red.jpg')}"
    slugs = unique_slugs({"red.jpg": "red", "Red.jpg": "Red", f"{hashed}.jpg": hashed})
    assert slugs[f"{hashed}.jpg"] == hashed
    assert slugs["Red.jpg"] == f"red-{short_hash('Red.jpg', 12)}"
