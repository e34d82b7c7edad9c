"""BatchGetItem / BatchWriteItem with DynamoDB's own limits and its unprocessed-items retries.

Unprocessed keys or items only come back under throttling; they are retried a bounded number
of times with a short backoff, then the request is a 503 (retryable) rather than a spin.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.errors import ServiceUnavailable
from core.store.aws_errors import unavailable_on_outage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

GET_LIMIT = 100  # keys per BatchGetItem
WRITE_LIMIT = 25  # requests per BatchWriteItem
ATTEMPTS = 3


def batch_get(
    db: DynamoDBClient, table: str, keys: Sequence[Any], projection: str | None = None
) -> list[dict[str, Any]]:
    """Every item found among `keys` (strongly consistent), in no particular order."""
    items: list[dict[str, Any]] = []
    for start in range(0, len(keys), GET_LIMIT):
        request: Any = {table: {"Keys": list(keys[start : start + GET_LIMIT]), "ConsistentRead": True}}
        if projection:
            request[table]["ProjectionExpression"] = projection
        for attempt in range(ATTEMPTS):
            with unavailable_on_outage("DynamoDB"):
                out = db.batch_get_item(RequestItems=request)
            items.extend(out.get("Responses", {}).get(table, []))
            request = out.get("UnprocessedKeys") or None
            if request is None:
                break
            time.sleep(0.02 * 2**attempt)
        else:
            raise ServiceUnavailable("DynamoDB is throttling reads; retry the request.")
    return items


def batch_write(db: DynamoDBClient, table: str, requests: Sequence[Any]) -> None:
    """Put/Delete requests in chunks of 25 (not atomic: callers write idempotent items only)."""
    for start in range(0, len(requests), WRITE_LIMIT):
        pending: Any = {table: list(requests[start : start + WRITE_LIMIT])}
        for attempt in range(ATTEMPTS):
            with unavailable_on_outage("DynamoDB"):
                out = db.batch_write_item(RequestItems=pending)
            pending = out.get("UnprocessedItems") or None
            if pending is None:
                break
            time.sleep(0.02 * 2**attempt)
        else:
            raise ServiceUnavailable("DynamoDB is throttling writes; retry the request.")
