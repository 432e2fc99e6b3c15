"""Unpadded base64url (RFC 4648 §5), as JWKs, password hashes and page cursors use it."""

from __future__ import annotations

import base64


def encode_base64url(data: bytes) -> str:
    """`data` as base64url text without `=` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_base64url(text: str) -> bytes:
    """The bytes of base64url text, padded or not. Like base64.urlsafe_b64decode it skips
    characters outside the alphabet; raises ValueError (binascii.Error) on a bad length."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
