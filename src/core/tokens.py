"""Bearer tokens: format, generation, hashing and verification (pure; no I/O).

Format: ``scim_<token_id>_<secret>`` where ``token_id`` is ``<tenant>.<16 hex>`` and the secret
is 43 URL-safe base64 characters (256 bits from `secrets`). The token id names its tenant so
the authorizer's answer depends on the Authorization header alone: API Gateway caches it by
that header, and the returned policy only opens the token's own tenant.

Only ``sha256`` of the whole token is stored. The secret has 256 bits of entropy, so a slow
password hash would add latency without adding safety (the same reasoning GitHub applies to
its tokens); comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from core.tenants import TENANT_ID_PATTERN, is_valid_tenant_id

TOKEN_PREFIX = "scim_"  # noqa: S105 - the public token prefix  # nosec B105
HASH_SCHEME = "sha256"
SECRET_BYTES = 32
_TENANT = TENANT_ID_PATTERN.pattern.strip("^$")
_TOKEN_RE = re.compile(
    rf"^scim_(?P<token_id>(?P<tenant>{_TENANT})\.[0-9a-f]{{16}})_(?P<secret>[A-Za-z0-9_-]{{43}})$"
)
MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True, slots=True)
class ParsedToken:
    tenant_id: str
    token_id: str
    raw: str

    def __repr__(self) -> str:  # never let the secret reach a log through repr()
        return f"ParsedToken(tenant_id={self.tenant_id!r}, token_id={self.token_id!r})"


def new_token_id(tenant_id: str) -> str:
    if not is_valid_tenant_id(tenant_id):
        raise ValueError(f"invalid tenant id: {tenant_id!r}")
    return f"{tenant_id}.{secrets.token_hex(8)}"


def generate_token(tenant_id: str) -> tuple[str, str]:
    """Return (token_id, plaintext token). The plaintext is shown once and never stored."""
    token_id = new_token_id(tenant_id)
    return token_id, f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(SECRET_BYTES)}"


def parse_token(value: str) -> ParsedToken | None:
    if len(value) > MAX_TOKEN_LENGTH:
        return None
    match = _TOKEN_RE.fullmatch(value)
    if match is None or not is_valid_tenant_id(match["tenant"]):
        return None
    return ParsedToken(tenant_id=match["tenant"], token_id=match["token_id"], raw=value)


def parse_authorization_header(header: str | None) -> ParsedToken | None:
    """Accept ``Bearer <token>`` (scheme case-insensitive, as RFC 6750 §2.1 allows)."""
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return parse_token(credentials.strip())


def hash_token(token: str) -> str:
    return f"{HASH_SCHEME}:{hashlib.sha256(token.encode()).hexdigest()}"


# A hash no token produces, compared against when the token id is unknown, so that unknown ids
# and wrong secrets take the same time.
_NO_MATCH = f"{HASH_SCHEME}:{'0' * 64}"


def verify_token(token: ParsedToken, stored_hashes: dict[str, str]) -> bool:
    expected = stored_hashes.get(token.token_id, _NO_MATCH)
    return hmac.compare_digest(hash_token(token.raw).encode(), expected.encode())


class TokenMetadata(BaseModel):
    """What DynamoDB keeps about a token: never the token or its hash."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    token_id: str
    name: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    # The smallest expiry warning threshold (days) already announced (core.token_expiry).
    expiry_warned_days: int | None = None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"
