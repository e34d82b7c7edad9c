"""Signed webhooks on a laptop: `scimctl serve --webhook-url URL --webhook-secret S`.

The local events pump (`scimctl.local_events`) hands every PutEvents entry it publishes to
`LocalWebhooks.submit`, which only queues it: a background thread does the deliveries, so a
request never waits for a receiver. Each delivery runs the production code: the target is the
tenant's or the stack's (`core.webhooks.targets`, in moto's Secrets Manager; the flags set the
stack-wide one, the local management API sets either), the body, headers and signature come from
`core.webhooks.delivery.attempt`, and the POST from `handlers.webhook_http` (loopback and http
allowed, as only the local gateway allows). A failed attempt is tried again after the same
schedule as in AWS (`--webhook-retry-schedule` shortens it for demos and tests); after the last
one the delivery is parked: logged and appended to ``parked`` (in AWS: the dead-letter queue).

Deliveries are not ordered across retries (as in AWS): a receiver orders by `occurredAt` and
`meta.version` and drops duplicates by `webhook-id`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.webhooks.delivery import RETRY_SCHEDULE, RetrySchedule, Sender, WebhookMessage, attempt
from core.webhooks.targets import WebhookTarget

log = logging.getLogger("scimctl.webhooks")

TARGET_CACHE_SECONDS = 1.0  # a target set through the local management API is used within a second
INBOX_POLL_SECONDS = 0.5  # how often the local webhooks queue (redeliveries) is read


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    message: WebhookMessage = field(compare=False)
    number: int = field(compare=False, default=1)  # the attempt this will be


class LocalWebhooks:
    """Delivers submitted events in a background thread, with the schedule's retries."""

    def __init__(
        self,
        targets_for: Callable[[str], WebhookTarget],
        sender: Sender,
        schedule: RetrySchedule = RETRY_SCHEDULE,
        clock: Callable[[], float] = time.monotonic,
        inbox: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        self._targets_for = targets_for
        # EventBridge events queued for delivery by others (POST /tenants/{t}/webhook/redeliver
        # sends them to the local webhooks queue in moto, as to WebhooksQueue in AWS).
        self._inbox = inbox
        self._last_poll = float("-inf")
        self._sender = sender
        self._schedule = schedule
        self._clock = clock
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._cache: dict[str, tuple[float, WebhookTarget]] = {}
        self.delivered = 0
        self.parked: list[WebhookMessage] = []

    def start(self) -> LocalWebhooks:
        self._thread = threading.Thread(target=self._run, name="local-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(10)

    def submit(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Queue each published entry for delivery; never blocks on the network."""
        self._push(entries, WebhookMessage.from_put_events_entry)

    def _push(
        self, items: Sequence[Mapping[str, Any]], parse: Callable[[Mapping[str, Any]], WebhookMessage]
    ) -> None:
        messages = []
        for item in items:
            try:
                messages.append(parse(item))
            except (KeyError, TypeError, ValueError):
                log.warning("an event without idempotencyKey or tenantId is not delivered as a webhook")
        with self._wake:
            for message in messages:
                heapq.heappush(self._due, _Due(self._clock(), next(self._seq), message))
            self._wake.notify_all()

    def pending(self) -> int:
        with self._wake:
            return len(self._due)

    def _run(self) -> None:
        while True:
            with self._wake:
                wait = self._next_wait()
                if wait is None or wait > 0:
                    self._wake.wait(wait)
                if self._stopping:
                    return
                ready = bool(self._due) and self._due[0].at <= self._clock()
                due = heapq.heappop(self._due) if ready else None
            if due is not None:
                self._deliver(due)
            self._poll_inbox()

    def _next_wait(self) -> float | None:
        """Seconds until the next delivery or inbox read is due; None: until something arrives."""
        now = self._clock()
        waits = [self._due[0].at - now] if self._due else []
        if self._inbox is not None:
            waits.append(self._last_poll + INBOX_POLL_SECONDS - now)
        return max(min(waits), 0.0) if waits else None

    def _poll_inbox(self) -> None:
        if self._inbox is None or self._clock() - self._last_poll < INBOX_POLL_SECONDS:
            return
        self._last_poll = self._clock()
        try:
            envelopes = self._inbox()
        except Exception:  # moto stopping, say: the next poll tries again
            log.exception("the local webhooks queue could not be read")
            return
        if envelopes:
            self._push(envelopes, WebhookMessage.from_eventbridge)

    def _target(self, tenant_id: str) -> WebhookTarget:
        now = self._clock()
        hit = self._cache.get(tenant_id)
        if hit is not None and now - hit[0] < TARGET_CACHE_SECONDS:
            return hit[1]
        target = self._targets_for(tenant_id)
        self._cache[tenant_id] = (now, target)
        return target

    def _deliver(self, due: _Due) -> None:
        message = due.message
        try:
            result = attempt(message, self._target(message.tenant_id), self._sender, datetime.now(UTC))
        except Exception:  # never kill the thread: the attempt counts as failed
            log.exception("webhook %s: attempt %d failed", message.id, due.number)
            result = None
        if result is not None and (result.delivered or result.skipped):
            if result.delivered:
                self.delivered += 1
                log.info("webhook %s (%s) delivered: %s", message.id, message.type, result.status)
            return
        reason = result.reason if result is not None else "error"
        delay = self._schedule.delay_after(due.number)
        if delay is None:
            log.warning("webhook %s parked after %d attempts (%s)", message.id, due.number, reason)
            self.parked.append(message)
            return
        log.warning(
            "webhook %s attempt %d failed (%s); next in %.1f s", message.id, due.number, reason, delay
        )
        with self._wake:
            heapq.heappush(self._due, _Due(self._clock() + delay, next(self._seq), message, due.number + 1))
            self._wake.notify_all()
