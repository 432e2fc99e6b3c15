"""Upload forms on the local backend: the same shape as S3's presigned POST, received by the
local API (POST /api/studio/files), which checks them as S3 would and writes the file into
content/designs/<folder>/ through the content store, atomically.

A form's policy (key, content type, size cap, expiry) travels base64url-encoded JSON in the
`policy` field and is signed with HMAC-SHA256 under a key derived from the local signing key
(nailfolio.local.signing_key.derived_secret): nothing new to keep, and a new signing key voids
every form. `receive` refuses a forged, expired or mismatched form (UploadRefused), an empty
or too large file (UploadTooLarge) and bytes that do not sniff as the declared type
(InvalidUpload): the type comes from the bytes, never the name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from nailfolio.gallery.content_store import ContentStore
from nailfolio.gallery.design_uploads import (
    InvalidUpload,
    UploadForm,
    UploadRefused,
    UploadTooLarge,
)
from nailfolio.gallery.events import is_content_key
from nailfolio.gallery.images import HEAD_BYTES, UPLOAD_TYPES, megabytes, sniff_type
from nailfolio.identity.base64url import decode_base64url, encode_base64url
from nailfolio.local.signing_key import derived_secret

PURPOSE = "nailfolio upload forms v1"
_REFUSED = "This upload form is not valid (expired, or not for this file); ask for a new one"


class SignedUploadForms:
    """UploadForms port adapter for the local API, and the receiving end of its forms."""

    def __init__(
        self,
        signing_key_path: Path,
        url: str,
        content: ContentStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key_path = signing_key_path
        self._url = url
        self._content = content
        self._clock = clock

    def form(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> UploadForm:
        expires = int(self._clock()) + expires_in
        policy = {"key": key, "content_type": content_type, "max_bytes": max_bytes}
        encoded = encode_base64url(json.dumps(policy | {"expires": expires}).encode())
        fields = {
            "key": key,
            "Content-Type": content_type,
            "policy": encoded,
            "signature": self._sign(encoded),
        }
        return UploadForm(self._url, fields, key, datetime.fromtimestamp(expires, UTC))

    def receive(self, fields: Mapping[str, str], data: bytes) -> str:
        """Check a posted form and its file as S3 checks a presigned POST, then store the
        file at the form's key; returns the key."""
        policy = self._policy(fields)
        if (
            fields.get("key") != policy["key"]
            or fields.get("Content-Type") != policy["content_type"]
        ):
            raise UploadRefused(_REFUSED)
        if not data:
            raise UploadTooLarge("The file is empty", "file")
        if len(data) > policy["max_bytes"]:
            raise UploadTooLarge(
                f"The file is over the {megabytes(policy['max_bytes'])} limit", "file"
            )
        wanted, _ = UPLOAD_TYPES[policy["content_type"]]
        found = sniff_type(data[:HEAD_BYTES])
        if found != wanted:
            seen = f"looks like {found.upper()}" if found else "not an image"
            raise InvalidUpload(f"The file is not a {wanted.upper()} image ({seen})", "file")
        self._content.write(policy["key"], data)
        return policy["key"]

    def _policy(self, fields: Mapping[str, str]) -> dict:
        encoded, signature = fields.get("policy", ""), fields.get("signature", "")
        if not hmac.compare_digest(self._sign(encoded).encode(), signature.encode()):
            raise UploadRefused(_REFUSED)
        try:
            policy = json.loads(decode_base64url(encoded))
        except ValueError:
            raise UploadRefused(_REFUSED) from None
        valid = (
            isinstance(policy, dict)
            and isinstance(policy.get("key"), str)
            and is_content_key(policy["key"])
            and policy.get("content_type") in UPLOAD_TYPES
            and isinstance(policy.get("max_bytes"), int)
            and isinstance(policy.get("expires"), int)
        )
        if not valid or policy["expires"] < self._clock():
            raise UploadRefused(_REFUSED)
        return policy

    def _sign(self, encoded: str) -> str:
        secret = derived_secret(self._key_path, PURPOSE)
        return hmac.new(secret, encoded.encode(), hashlib.sha256).hexdigest()
