"""Idempotency records of the management API: one item per (tenant, key digest), kept a day.

Contract: `entry` is a TransactWriteItems Put, written in the same transaction as the create it
belongs to (conditional on the record not existing), so a create and its record exist together or
not at all; `get` reads a record with a consistent read. DynamoDB's TTL removes records after
`core.idempotency.RETENTION_SECONDS`. Records have kind "idempotency": no events (core.events.rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.idempotency import RETENTION_SECONDS
from core.store.aws_errors import unavailable_on_outage
from core.store.keys import idempotency_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KIND = "idempotency"


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    fingerprint: str  # the request it was first used with
    status: int
    sealed: str  # the first answer, sealed under the idempotency key


class IdempotencyTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def entry(self, tenant_id: str, digest: str, record: IdempotencyRecord, now: int) -> dict[str, Any]:
        """The record's Put, kept RETENTION_SECONDS from `now` (epoch seconds)."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    "PK": {"S": idempotency_pk(tenant_id)},
                    "SK": {"S": digest},
                    "kind": {"S": KIND},
                    "fingerprint": {"S": record.fingerprint},
                    "status": {"N": str(record.status)},
                    "answer": {"S": record.sealed},
                    "ttl": {"N": str(now + RETENTION_SECONDS)},
                },
                # An expired record that TTL has not removed yet may be replaced.
                "ConditionExpression": "attribute_not_exists(PK) OR #ttl <= :now",
                "ExpressionAttributeNames": {"#ttl": "ttl"},
                "ExpressionAttributeValues": {":now": {"N": str(now)}},
            }
        }

    def get(self, tenant_id: str, digest: str, now_epoch: int) -> IdempotencyRecord | None:
        with unavailable_on_outage("DynamoDB"):
            out = self._db.get_item(
                TableName=self._table,
                Key={"PK": {"S": idempotency_pk(tenant_id)}, "SK": {"S": digest}},
                ConsistentRead=True,
            )
        item = out.get("Item")
        # TTL deletion lags by up to days: an expired record is treated as absent.
        if not item or int(item["ttl"]["N"]) <= now_epoch:
            return None
        return IdempotencyRecord(item["fingerprint"]["S"], int(item["status"]["N"]), item["answer"]["S"])
