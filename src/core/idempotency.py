"""Idempotency keys of the management API's POSTs: a retried create returns the first answer.

A key is scoped to a tenant (the path's, or for ``POST /tenants`` the body's ``tenant_id``) and
stored as a digest, never as sent. The first answer is kept sealed under a key derived from the
idempotency key itself: a token creation's answer holds the token, which must never be readable
from DynamoDB, and only a caller that knows the idempotency key can open it. Keys must therefore
carry entropy (16-255 characters; a UUID v4 is the intended value).

The seal is HMAC-SHA256 used as a keystream (counter mode) with an HMAC-SHA256 tag over nonce and
ciphertext (encrypt-then-MAC): standard-library primitives only, because the Lambda layer has no
cipher library and the answers sealed are a few hundred bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from core.errors import BadRequest
from core.signing import b64url, b64url_decode

KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{16,255}$")
RETENTION_SECONDS = 24 * 3600  # a retry within a day gets the first answer
_NONCE_BYTES = 16
_TAG_BYTES = 16


class InvalidIdempotencyKey(BadRequest):
    default_detail = "Idempotency-Key must be 16-255 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'."


class IdempotencyMismatch(BadRequest):
    status = 422
    default_detail = "This Idempotency-Key was used with a different request body."


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    value: str

    @classmethod
    def parse(cls, header: str | None) -> IdempotencyKey | None:
        if header is None:
            return None
        if not KEY_PATTERN.fullmatch(header.strip()):
            raise InvalidIdempotencyKey()
        return cls(header.strip())

    def _derive(self, label: str) -> bytes:
        return hmac.digest(self.value.encode(), b"scim-idempotency-v1\x00" + label.encode(), "sha256")

    @property
    def digest(self) -> str:
        """What the store keys the record by: the key itself is never stored."""
        return self._derive("id").hex()

    def fingerprint(self, operation: str, request: Any) -> str:
        """The request the key was first used with (operation and canonical body)."""
        canonical = json.dumps([operation, request], sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def seal(self, answer: Any) -> str:
        plain = json.dumps(answer, separators=(",", ":")).encode()
        nonce = secrets.token_bytes(_NONCE_BYTES)
        cipher = bytes(a ^ b for a, b in zip(plain, self._stream(nonce, len(plain)), strict=True))
        tag = hmac.digest(self._derive("mac"), nonce + cipher, "sha256")[:_TAG_BYTES]
        return b64url(nonce + tag + cipher)

    def open(self, sealed: str) -> Any:
        raw = b64url_decode(sealed)
        nonce, tag, cipher = raw[:_NONCE_BYTES], raw[_NONCE_BYTES : _NONCE_BYTES + _TAG_BYTES], raw[32:]
        expected = hmac.digest(self._derive("mac"), nonce + cipher, "sha256")[:_TAG_BYTES]
        if not hmac.compare_digest(tag, expected):
            raise ValueError("the stored answer does not verify under this key")
        plain = bytes(a ^ b for a, b in zip(cipher, self._stream(nonce, len(cipher)), strict=True))
        return json.loads(plain)

    def _stream(self, nonce: bytes, size: int) -> bytes:
        key = self._derive("enc")
        blocks = (hmac.digest(key, nonce + i.to_bytes(8, "big"), "sha256") for i in range(size // 32 + 1))
        return b"".join(blocks)[:size]
