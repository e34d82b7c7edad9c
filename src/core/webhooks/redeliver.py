"""Redelivery from the feed: a tenant's journaled events sent as webhooks again, page by page.

`POST /tenants/{t}/webhook/redeliver {"after", "limit", "types"}` reads one page of the tenant's
journal (`core.events.journal`, the same pages as `GET /tenants/{t}/events`) and queues each event
for the webhooks function as the EventBridge event it was (`enqueue`: SQS in AWS), so it is
signed and retried like any other delivery, with its original `webhook-id` (the idempotencyKey):
receivers that saw it drop it as a duplicate. The answer's `next_cursor` continues. Use it to
back-fill a receiver that was down longer than the retry schedule, or a target set after the
events happened. One page costs one journal Query and one SendMessageBatch per 10 events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core.events.journal import FeedEvent, Journal, TypeFilter

REPLAY_NAME = "webhook-redeliver"  # EventBridge marks replayed events with `replay-name`, so do we


def envelope(event: FeedEvent, source: str) -> dict[str, Any]:
    """The EventBridge event (docs/events.md#the-envelope) the webhooks function reads."""
    return {
        "version": "0",
        "id": f"redeliver-{event.id}",
        "detail-type": event.type,
        "source": source,
        "time": event.time,
        "resources": [],
        "replay-name": REPLAY_NAME,
        "detail": event.data,
    }


class Redelivery:
    def __init__(
        self,
        journal: Journal,
        enqueue: Callable[[Sequence[dict[str, Any]]], None],
        source: str,
        require_tenant: Callable[[str], object],
    ) -> None:
        self._journal = journal
        self._enqueue = enqueue
        self._source = source
        self._require_tenant = require_tenant

    def page(
        self, tenant_id: str, *, after: str | None, limit: int, types: str | None = None
    ) -> dict[str, Any]:
        self._require_tenant(tenant_id)
        page = self._journal.tenant_page(tenant_id, after=after, limit=limit, types=TypeFilter.parse(types))
        self._enqueue([envelope(event, self._source) for event in page.data])
        return {
            "redelivered": len(page.data),
            "ids": [event.id for event in page.data],
            "next_cursor": page.next_cursor,
        }
