"""URL-safe slugs for any text: ASCII transliteration, hyphens, and a short hash when needed.

Rules, in order:
  1. NFKD-decompose and drop combining marks ("Crème" -> "creme"); a few letters NFKD leaves
     alone are spelled out ("ß" -> "ss", "Æ" -> "ae", "ø" -> "o", "ł" -> "l"...).
  2. "&" reads "and"; apostrophes vanish ("Ana's" -> "anas"); every other run of
     non-alphanumeric characters becomes one hyphen; no leading or trailing hyphens.
  3. When letters or digits could not be spelled in ASCII (Cyrillic, CJK...), or the slug had
     to be cut to MAX_SLUG_LENGTH, a short hash of the original text is appended, so two
     different names never collapse into one slug ("ネイル red" -> "red-1a2b3c").
     Emoji and symbols are decoration and are dropped without a hash.
  4. A text with nothing left falls back to "<fallback>-<hash>" ("東京" -> "design-3f9a1c").
The hash is the first HASH_LENGTH hex digits of sha256 over the NFC-normalised text, so a
name typed on macOS (NFD file names) and on Linux gives the same slug.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping

MAX_SLUG_LENGTH = 60
HASH_LENGTH = 6

# Letters NFKD does not decompose into ASCII.
_SPELLED_OUT = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
        "ħ": "h",
        "Ħ": "h",
        "&": " and ",
        "'": "",
        "’": "",
        "‘": "",
    }
)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def short_hash(text: str, length: int = HASH_LENGTH) -> str:
    """First `length` hex digits of sha256 over the NFC form of `text`."""
    data = unicodedata.normalize("NFC", text).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:length]


def with_suffix(slug: str, suffix: str, max_length: int = MAX_SLUG_LENGTH) -> str:
    """Append "-suffix" to a slug, trimming the slug so the result fits in max_length."""
    room = max(1, max_length - len(suffix) - 1)
    head = slug[:room]
    if len(slug) > room and slug[room] != "-" and "-" in head[-12:]:
        head = head.rsplit("-", 1)[0]  # cut between words when one ends close enough
    head = head.rstrip("-")
    return f"{head}-{suffix}" if head else suffix


def slugify(text: str, *, fallback: str = "design") -> str:
    """A lowercase ASCII, hyphenated, never-empty slug of at most MAX_SLUG_LENGTH characters."""
    spelled = unicodedata.normalize("NFKD", text.translate(_SPELLED_OUT))
    ascii_text = spelled.encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_SLUG.sub("-", ascii_text).strip("-")
    if not slug:
        return f"{fallback}-{short_hash(text)}"
    lost = any(
        not char.isascii() and unicodedata.category(char)[0] in "LN"
        for char in spelled  # after NFKD, so accented letters are already split off
    )
    if lost or len(slug) > MAX_SLUG_LENGTH:
        return with_suffix(slug, short_hash(text))
    return slug


def unique_slugs(texts: Mapping[str, str], *, fallback: str = "design") -> dict[str, str]:
    """Give each name a slug of its text, unique among them, that does not depend on order.

    `texts` maps a name (a file or folder name, unique) to the text to slugify (its stem).
    Names whose texts share a slug form a clash group. One canonical member keeps the plain
    slug: the one whose text already is that slug ("red" for "red.jpg"), then the one whose
    name is all lowercase, then the first name in code-point order. Every other member gets
    "-<hash of its own name>", which no other file can change. So adding or removing a file
    never changes another file's slug, except that a new file with a better claim takes the
    plain slug (and moves the previous holder to its hashed slug), and removing the holder
    frees the plain slug for the next in line. In the one-in-16-million case of a hashed slug
    equal to another slug, the hash grows to 12 digits.
    """
    bases = {name: slugify(text, fallback=fallback) for name, text in texts.items()}
    groups: defaultdict[str, list[str]] = defaultdict(list)
    for name, base in bases.items():
        groups[base].append(name)
    slugs: dict[str, str] = {}
    others: list[str] = []
    for base, names in groups.items():
        canonical = min(names, key=lambda name: (texts[name] != base, name != name.lower(), name))
        slugs[canonical] = base
        others.extend(name for name in names if name != canonical)
    taken = set(slugs.values())
    for name in sorted(others):
        for length in (HASH_LENGTH, 12, 24):
            slug = with_suffix(bases[name], short_hash(name, length))
            if slug not in taken:
                break
        slugs[name] = slug
        taken.add(slug)
    return slugs
