"""Password hashes: salted scrypt in a PHC-style string that carries its parameters.

`hashlib.scrypt` (N=2**14, r=8, p=1, 16-byte salt, 32-byte key), stored as
`$scrypt$ln=14,r=8,p=1$<salt>$<key>` (unpadded base64url). `needs_rehash` tells a hash weaker
than SCRYPT, to be replaced at the next successful sign-in; `dummy_hash` costs the same to
verify and matches no password, so a sign-in for an unknown email takes as long as one with a
wrong password. A stored hash that is unreadable or asks for more than _SCRYPT_LIMITS raises
ConfigError.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from nailfolio.errors import ConfigError
from nailfolio.identity.base64url import decode_base64url, encode_base64url

SALT_BYTES = 16
KEY_BYTES = 32


@dataclass(frozen=True)
class ScryptParams:
    """scrypt's cost: N (CPU and memory, a power of two), r (block size), p (parallelism)."""

    n: int = 2**14
    r: int = 8
    p: int = 1


SCRYPT = ScryptParams()
_SCRYPT_LIMITS = ScryptParams(n=2**20, r=32, p=16)  # refuse stored parameters beyond these


def hash_password(password: str, params: ScryptParams = SCRYPT) -> str:
    """A salted scrypt hash that records its parameters."""
    salt = secrets.token_bytes(SALT_BYTES)
    return _encode_hash(params, salt, _scrypt(password, salt, params, KEY_BYTES))


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`, compared in constant time."""
    params, salt, expected = _decode_hash(stored)
    return hmac.compare_digest(_scrypt(password, salt, params, len(expected)), expected)


def needs_rehash(stored: str, params: ScryptParams = SCRYPT) -> bool:
    found, _salt, _key = _decode_hash(stored)
    return (found.n, found.r, found.p) < (params.n, params.r, params.p)


def dummy_hash(params: ScryptParams = SCRYPT) -> str:
    """Verified against when the email is unknown: same cost, and no password matches it."""
    return _encode_hash(params, bytes(SALT_BYTES), bytes(KEY_BYTES))


def _scrypt(password: str, salt: bytes, params: ScryptParams, length: int) -> bytes:
    secret = password.encode("utf-8", "surrogatepass")
    maxmem = 128 * params.r * (params.n + params.p + 2) + 1024 * 1024
    return hashlib.scrypt(
        secret, salt=salt, n=params.n, r=params.r, p=params.p, maxmem=maxmem, dklen=length
    )


def _encode_hash(params: ScryptParams, salt: bytes, key: bytes) -> str:
    settings = f"ln={params.n.bit_length() - 1},r={params.r},p={params.p}"
    return f"$scrypt${settings}${encode_base64url(salt)}${encode_base64url(key)}"


def _decode_hash(stored: str) -> tuple[ScryptParams, bytes, bytes]:
    try:
        _, scheme, settings, salt, key = stored.split("$")
        values = dict(item.split("=") for item in settings.split(","))
        params = ScryptParams(n=2 ** int(values["ln"]), r=int(values["r"]), p=int(values["p"]))
        decoded = decode_base64url(salt), decode_base64url(key)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"unreadable password hash in the identity store ({exc})") from None
    limits = _SCRYPT_LIMITS
    if scheme != "scrypt" or not (
        1 < params.n <= limits.n and 0 < params.r <= limits.r and 0 < params.p <= limits.p
    ):
        raise ConfigError(f"unsupported password hash {scheme} {params} in the identity store")
    return params, *decoded
