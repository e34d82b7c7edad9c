"""Queue EventBridge events for the webhooks function (redelivery from the feed): SQS
SendMessageBatch, 10 messages a call. An entry SQS refuses makes the request a 503: the caller
retries the page, and the events already queued arrive twice with the same webhook-id (receivers
drop duplicates)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from core.errors import ServiceUnavailable
from core.store.aws_errors import unavailable_on_outage
from handlers import aws_clients

BATCH = 10  # SendMessageBatch's maximum


def enqueue(queue_url: str, envelopes: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(envelopes), BATCH):
        chunk = envelopes[start : start + BATCH]
        entries = [
            {"Id": str(n), "MessageBody": json.dumps(e, separators=(",", ":"), ensure_ascii=False)}
            for n, e in enumerate(chunk)
        ]
        with unavailable_on_outage("SQS"):
            out = aws_clients.sqs().send_message_batch(QueueUrl=queue_url, Entries=entries)
        if out.get("Failed"):
            raise ServiceUnavailable("Some events could not be queued for redelivery; retry the request.")
