"""Standard Webhooks signatures (https://www.standardwebhooks.com/, spec "Signature scheme").

The signed content is ``<webhook-id>.<webhook-timestamp>.<body>``; the signature is
``v1,<base64 HMAC-SHA256>`` with the secret's bytes as the key, several separated by spaces
(one per active secret, so a key rotation needs no downtime). The signing itself is the
`standardwebhooks` library's (`Webhook.sign`), the same code receivers verify with
(`Webhook.verify`), rather than a second, hand-rolled HMAC.

Secrets are ``whsec_`` + base64 of 24 to 64 random bytes (the spec's recommended range); we
generate 32.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

from core.errors import BadRequest

PREFIX = "whsec_"
MIN_BYTES, MAX_BYTES, GENERATED_BYTES = 24, 64, 32


class InvalidWebhookSecret(BadRequest):
    default_detail = "invalid webhook secret"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_BYTES)).decode("ascii")


def check_secret(secret: str) -> str:
    """The secret if it is ``whsec_<base64 of 24-64 bytes>``; else `InvalidWebhookSecret`."""
    body = secret.removeprefix(PREFIX) if isinstance(secret, str) else ""
    try:
        raw = base64.b64decode(body, validate=True) if secret.startswith(PREFIX) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if not MIN_BYTES <= len(raw) <= MAX_BYTES:
        # Never echo the value: it is a secret even when malformed.
        raise InvalidWebhookSecret(
            f"secret must be '{PREFIX}' followed by the base64 of {MIN_BYTES} to {MAX_BYTES} random bytes"
        )
    return secret


def sign(secrets_: Sequence[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<sig>`` per secret, space-separated."""
    if not secrets_:
        raise ValueError("at least one secret is needed to sign")
    return " ".join(
        Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=body) for secret in secrets_
    )
