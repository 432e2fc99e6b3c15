"""The RSA key that signs local ID tokens, and its public half as a JWK.

The key is made on first use (RSA-2048, PKCS#8 PEM, mode 0600 in a 0700 folder) and refused
if others can read it; its kid is the RFC 7638 thumbprint, as Cognito's JWKS has one. A key
that cannot be read or parsed raises ConfigError naming the file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nailfolio.errors import ConfigError, StoreDamaged
from nailfolio.gallery.scratch import claim_fd
from nailfolio.identity.base64url import encode_base64url

RSA_BITS = 2048


def load_signing_key(path: Path) -> rsa.RSAPrivateKey:
    """The RSA key at `path`, made (mode 0600, in a 0700 folder) if there is none yet."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        pem = _create_key_file(path)
    except OSError as exc:
        raise StoreDamaged(
            path,
            f"the signing key cannot be read: {exc.strerror}; make it a file this user can "
            f"read (chmod 600), or delete it to make a new one",
        ) from None
    else:
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise ConfigError(f"{path}: the signing key is readable by others; chmod 600 {path}")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError:
        # A new key (made when the file is gone) signs everyone out; that is all it costs.
        raise StoreDamaged(path, "not a PEM private key; removing it makes a new one") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < RSA_BITS:
        raise ConfigError(f"{path}: not an RSA key of {RSA_BITS} bits or more")
    return key


def _create_key_file(path: Path) -> bytes:
    """Write a new key without ever exposing a partial or world-readable file; if another
    process got there first, use its key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        claim_fd(fd)  # a build tidying var/ leaves a temporary file being written alone
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, path)  # fails rather than replace a key another process just made
    except FileExistsError:
        pem = path.read_bytes()
    finally:
        temp.unlink(missing_ok=True)
    return pem


def derived_secret(path: Path, purpose: str) -> bytes:
    """An HMAC key for `purpose` ("upload forms") derived from the signing key at `path`:
    nothing new to keep safe, and a new signing key voids what the old one signed."""
    der = load_signing_key(path).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return hmac.new(der, purpose.encode("utf-8"), hashlib.sha256).digest()


def public_jwk(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> dict[str, str]:
    """The public half as a JWK shaped like Cognito's, with the RFC 7638 thumbprint as kid."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    numbers = public.public_numbers()
    n = encode_base64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"))
    e = encode_base64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big"))
    canonical = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"))
    kid = encode_base64url(hashlib.sha256(canonical.encode()).digest())
    return {"alg": "RS256", "e": e, "kid": kid, "kty": "RSA", "n": n, "use": "sig"}
