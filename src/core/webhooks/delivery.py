"""One webhook delivery attempt and the retry schedule (docs/webhooks.md).

The body follows the Standard Webhooks payload structure (spec "Payload structure"):
``{"type": <detail-type>, "timestamp": <detail.occurredAt>, "data": <the EventBridge detail>}``,
so ``data`` is exactly what an EventBridge rule's target gets as ``detail`` (docs/events.md).
``webhook-id`` is the detail's ``idempotencyKey``: the same for every attempt, for a replay and
for the feed, so a receiver drops duplicates with it. ``webhook-timestamp`` is the attempt's
time (integer seconds), and the signature covers id, timestamp and body (`signature.sign`).

Retries: a non-2xx answer, a timeout, a refused or failed connection, a redirect (never
followed) all count as a failed attempt; the next one comes after `RETRY_SCHEDULE`'s delay, the
Standard Webhooks reference schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h:
8 attempts over 27 h 35 min). After the last one the message is parked (the dead-letter queue).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from core.webhooks.signature import sign
from core.webhooks.targets import WebhookTarget

USER_AGENT = "serverless-scim-webhooks/1"


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Seconds to wait after each failed attempt; one more attempt than delays."""

    delays: tuple[float, ...]

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def delay_after(self, attempt: int) -> float | None:
        """The wait after failed attempt number `attempt` (1-based); None: give up."""
        return self.delays[attempt - 1] if 1 <= attempt <= len(self.delays) else None

    @property
    def total_seconds(self) -> float:
        return sum(self.delays)

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """``"5,300,1800"`` → delays (for `scimctl serve --webhook-retry-schedule`)."""
        try:
            delays = tuple(float(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a comma-separated list of seconds") from None
        if not delays or any(d < 0 for d in delays):
            raise ValueError(f"{text!r}: give one or more non-negative delays in seconds")
        return cls(delays)


_MINUTE, _HOUR = 60.0, 3600.0
RETRY_SCHEDULE = RetrySchedule((5.0, 5 * _MINUTE, 30 * _MINUTE, 2 * _HOUR, 5 * _HOUR, 10 * _HOUR, 10 * _HOUR))


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    """What one event becomes: its id, tenant and the exact body every attempt sends."""

    id: str
    tenant_id: str
    type: str
    body: str

    @classmethod
    def of(cls, detail_type: str, detail: Mapping[str, Any]) -> WebhookMessage:
        payload = {"type": detail_type, "timestamp": detail.get("occurredAt"), "data": detail}
        return cls(
            id=str(detail["idempotencyKey"]),
            tenant_id=str(detail["tenantId"]),
            type=detail_type,
            body=json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        )

    @classmethod
    def from_eventbridge(cls, envelope: Mapping[str, Any]) -> WebhookMessage:
        """An EventBridge event as a rule's SQS target receives it (docs/events.md#the-envelope)."""
        return cls.of(str(envelope["detail-type"]), envelope["detail"])

    @classmethod
    def from_put_events_entry(cls, entry: Mapping[str, Any]) -> WebhookMessage:
        """A PutEvents entry (what the local events pump writes): Detail is a JSON string there."""
        return cls.of(str(entry["DetailType"]), json.loads(entry["Detail"]))


class SendFailed(Exception):
    """No HTTP answer (timeout, refused, TLS, a refused address): the reason names the kind only."""


class Sender(Protocol):
    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        """POST and return the status code; raise `SendFailed` when there is no answer."""
        ...


@dataclass(frozen=True, slots=True)
class Attempt:
    delivered: bool
    status: int | None = None  # the receiver's status code, if it answered
    reason: str | None = None  # why it failed, without any body or secret
    skipped: bool = False  # no target configured: nothing to deliver


def signed_headers(message: WebhookMessage, secrets: list[str], now: datetime) -> dict[str, str]:
    moment = now.astimezone(UTC).replace(microsecond=0)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message.id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": sign(secrets, message.id, moment, message.body),
    }


def attempt(message: WebhookMessage, target: WebhookTarget, sender: Sender, now: datetime) -> Attempt:
    """One signed POST of `message` to `target`; 2xx is success, anything else a failure."""
    secrets = target.signing_secrets(now)
    if target.url is None or not secrets:
        return Attempt(delivered=False, skipped=True)
    headers = signed_headers(message, secrets, now)
    try:
        status = sender.post(target.url, headers, message.body.encode("utf-8"))
    except SendFailed as exc:
        return Attempt(delivered=False, reason=str(exc))
    if 200 <= status < 300:
        return Attempt(delivered=True, status=status)
    return Attempt(delivered=False, status=status, reason=f"HTTP {status}")
