"""Signed webhooks: the bus's rule → SQS queue → this function → each event's target (docs/webhooks.md).

Every SQS message is one EventBridge event (the rule's target gets the whole envelope). For each,
the target is the tenant's own or the stack's (`core.webhooks.targets`, cached per tenant for
`WEBHOOK_TARGET_CACHE_SECONDS`), the POST is signed and sent (`core.webhooks.delivery.attempt`,
`handlers.webhook_http`), and a 2xx deletes the message (it is not named in the partial batch
response). A failed attempt sets the message's visibility to the schedule's next delay
(`ChangeMessageVisibility`; SQS's `ApproximateReceiveCount` is the attempt number) and names it in
``batchItemFailures``; after the last attempt the visibility is 0 and the queue's redrive policy
(``maxReceiveCount`` = the schedule's attempts) moves it to the dead-letter queue at its next
receive (WebhooksDeadLetterQueue, alarmed). Messages for tenants without any target are dropped.

Logged per attempt: the webhook id, tenant, attempt number, status code or failure kind, and the
target's host. Never the secret, the body or the URL's path and query (they may hold a token).
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.webhooks.delivery import RETRY_SCHEDULE, Attempt, RetrySchedule, Sender, WebhookMessage, attempt
from core.webhooks.targets import WebhookTarget, WebhookTargets
from handlers import aws_clients
from handlers.observability import lambda_entry, logger, metrics
from handlers.settings import webhook_settings
from handlers.webhook_http import UrllibSender

MAX_PARALLEL = 10  # the event source mapping's BatchSize: one thread per message of a batch


class CachedTargets:
    """`WebhookTargets.for_tenant` remembered per tenant for a bounded time (absent ones too)."""

    def __init__(
        self, targets: WebhookTargets, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._targets = targets
        self._seconds = seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, WebhookTarget]] = {}
        self._lock = threading.Lock()

    def for_tenant(self, tenant_id: str) -> WebhookTarget:
        # One lock: a batch's threads wanting the same tenant make one Secrets Manager read.
        with self._lock:
            now = self._clock()
            hit = self._cache.get(tenant_id)
            if hit is not None and now - hit[0] < self._seconds:
                return hit[1]
            target = self._targets.for_tenant(tenant_id)
            self._cache[tenant_id] = (now, target)
            return target


@cache
def targets() -> CachedTargets:
    settings = webhook_settings()
    store = WebhookTargets(aws_clients.secretsmanager(), settings.secrets_prefix)
    return CachedTargets(store, settings.webhook_target_cache_seconds)


@cache
def sender() -> Sender:
    return UrllibSender(allow_loopback=webhook_settings().webhook_allow_loopback)


def reset() -> None:
    targets.cache_clear()
    sender.cache_clear()


def deliver_record(record: dict[str, Any], schedule: RetrySchedule = RETRY_SCHEDULE) -> bool:
    """One SQS record: True when it is done with (delivered, or no target), else False after
    setting its back-off."""
    number = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    try:
        message = WebhookMessage.from_eventbridge(json.loads(record["body"]))
    except (KeyError, TypeError, ValueError) as exc:
        logger.error(
            "not an event envelope", extra={"message_id": record.get("messageId"), "error": repr(exc)}
        )
        return _back_off(record, number, schedule, None)
    target: WebhookTarget | None = None
    try:
        target = targets().for_tenant(message.tenant_id)
        result = attempt(message, target, sender(), datetime.now(UTC))
    except Exception as exc:  # a Secrets Manager outage or a bug: retried on the schedule, never lost
        logger.exception(
            "webhook attempt failed", extra={"webhook_id": message.id, "error": type(exc).__name__}
        )
        result = Attempt(delivered=False, reason=type(exc).__name__)
    if result.skipped:
        metrics.add_metric(name="WebhooksSkipped", unit=MetricUnit.Count, value=1)
        return True
    fields = {
        "webhook_id": message.id,
        "tenant_id": message.tenant_id,
        "event_type": message.type,
        "attempt": number,
        "status": result.status,
        "host": urlsplit(target.url or "").hostname if target is not None else None,
    }
    if result.delivered:
        logger.info("webhook delivered", extra=fields)
        metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=1)
        return True
    logger.warning("webhook attempt failed", extra=fields | {"reason": result.reason})
    metrics.add_metric(name="WebhookAttemptsFailed", unit=MetricUnit.Count, value=1)
    return _back_off(record, number, schedule, message.id)


def _back_off(record: dict[str, Any], number: int, schedule: RetrySchedule, webhook_id: str | None) -> bool:
    delay = schedule.delay_after(number)
    if delay is None:
        # The last attempt: visible at once, so the next receive moves it to the dead-letter queue.
        logger.error(
            "webhook parked after its last attempt", extra={"webhook_id": webhook_id, "attempt": number}
        )
        metrics.add_metric(name="WebhooksParked", unit=MetricUnit.Count, value=1)
    aws_clients.sqs().change_message_visibility(
        QueueUrl=webhook_settings().webhook_queue_url,
        ReceiptHandle=record["receiptHandle"],
        VisibilityTimeout=0 if delay is None else math.ceil(delay),
    )
    return False


def process_batch(event: dict[str, Any], schedule: RetrySchedule = RETRY_SCHEDULE) -> dict[str, Any]:
    """The partial batch response: the messages whose attempt failed (ReportBatchItemFailures)."""
    records: list[dict[str, Any]] = event.get("Records") or []
    if len(records) <= 1:
        outcomes = [deliver_record(r, schedule) for r in records]
    else:
        # One slow receiver must not hold the others back: the attempts of a batch run side by side.
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(records))) as pool:
            outcomes = list(pool.map(lambda r: deliver_record(r, schedule), records))
    failed = [{"itemIdentifier": r["messageId"]} for r, ok in zip(records, outcomes, strict=True) if not ok]
    return {"batchItemFailures": failed}


@functools.partial(lambda_entry, correlation_id=False)  # an SQS batch, no API request id
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_batch(event)
