"""The audit trail in DynamoDB: one item per write request (or Bulk operation), per tenant.

Contract:
- `put` writes records with a `ttl` (the retention the stack's AuditRetentionDays sets); one
  PutItem for one record, BatchWriteItem for a Bulk request's operations. Unprocessed items are
  retried a few times; what still fails raises `ServiceUnavailable` (callers treat the audit as
  best effort and never fail a request for it).
- `read` returns a tenant's records in time order from ``since`` on (one Query page after
  another on ``T#<t>#AUDIT``); with ``resource_id`` it reads that resource's records from GSI1
  (``T#<t>#AUDIT#<id>``), so `scimctl audit --user ID` never reads the whole trail.
- `newest_page` is the setup page's provisioning log: one Query per page, newest first, bounded
  to the window by its key condition; errors-only filters on ``status >= 400`` with the Query's
  ``Limit`` bounding the items examined (DynamoDB applies ``Limit`` before the filter), so a page
  may hold fewer rows than asked for and still have a next one.
- Audit items have kind "audit": they produce no provisioning events (`core.events.rules`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.audit import AuditRecord
from core.store.aws_errors import unavailable_on_outage
from core.store.batch import batch_write
from core.store.keys import NAME_INDEX, audit_pk, audit_resource_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

AUDIT_KIND = "audit"
ERRORS_EXAMINED = 1_000  # an errors-only page's Query looks at this many records at most
MAX_INDEXED_ID_BYTES = 256  # ids are UUIDs; a longer path segment (a failed lookup) is not indexed


def audit_item(record: AuditRecord, expires_at: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": {"S": audit_pk(record.tenant_id)},
        "SK": {"S": record.sort_key},
        "kind": {"S": AUDIT_KIND},
        "tenantId": {"S": record.tenant_id},
        "at": {"S": record.at},
        "requestId": {"S": record.request_id},
        "tokenId": {"S": record.token_id},
        "method": {"S": record.method},
        "resourceType": {"S": record.resource_type},
        "changed": {"L": [{"S": name} for name in record.changed_attributes]},
        "status": {"N": str(record.status)},
        "outcome": {"S": record.outcome},
        "ttl": {"N": str(expires_at)},
    }
    optional = {
        "resourceId": record.resource_id,
        "scimType": record.scim_type,
        "detail": record.detail,
        "bulkId": record.bulk_id,
        "actor": record.actor,
    }
    item |= {name: {"S": value} for name, value in optional.items() if value}
    if record.bulk_index is not None:
        item["bulkIndex"] = {"N": str(record.bulk_index)}
    if record.resource_id and len(record.resource_id.encode()) <= MAX_INDEXED_ID_BYTES:
        item["GSI1PK"] = {"S": audit_resource_pk(record.tenant_id, record.resource_id)}
        item["GSI1SK"] = {"S": record.sort_key}
    return item


def _record(item: dict[str, Any]) -> AuditRecord:
    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return str(value) if value is not None else None

    bulk_index = item.get("bulkIndex", {}).get("N")
    return AuditRecord(
        tenant_id=text("tenantId") or "",
        at=text("at") or "",
        request_id=text("requestId") or "",
        token_id=text("tokenId") or "",
        method=text("method") or "",
        resource_type=text("resourceType") or "",
        resource_id=text("resourceId"),
        changed_attributes=tuple(v["S"] for v in item.get("changed", {}).get("L", [])),
        status=int(item["status"]["N"]),
        scim_type=text("scimType"),
        detail=text("detail"),
        bulk_index=int(bulk_index) if bulk_index is not None else None,
        bulk_id=text("bulkId"),
        actor=text("actor"),
    )


@dataclass(frozen=True)
class NewestPage:
    records: list[AuditRecord]  # newest first
    next_key: str | None  # the sort key to go on after (None: the window is exhausted)
    examined: int  # records the Query looked at (before the errors-only filter)


class AuditTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def put(self, records: Sequence[AuditRecord], expires_at: int) -> None:
        items = [audit_item(r, expires_at) for r in records]
        if len(items) == 1:
            with unavailable_on_outage("DynamoDB"):
                self._db.put_item(TableName=self._table, Item=items[0])
            return
        batch_write(self._db, self._table, [{"PutRequest": {"Item": item}} for item in items])

    def read(
        self, tenant_id: str, *, since: str = "", resource_id: str | None = None, limit: int | None = None
    ) -> list[AuditRecord]:
        """Records at or after `since` (an ISO 8601 UTC time; "" for all), oldest first."""
        out: list[AuditRecord] = []
        for page in self._pages(tenant_id, since, resource_id):
            out.extend(_record(item) for item in page)
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out

    def latest(self, tenant_id: str, limit: int) -> list[AuditRecord]:
        """The tenant's newest records, newest first: one Query (health)."""
        with unavailable_on_outage("DynamoDB"):
            out = self._db.query(
                TableName=self._table,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": audit_pk(tenant_id)}},
                ScanIndexForward=False,
                Limit=limit,
            )
        return [_record(item) for item in out.get("Items", [])]

    def newest_page(
        self,
        tenant_id: str,
        *,
        since: str,
        limit: int,
        start_key: str | None,
        errors_only: bool,
        examine: int = ERRORS_EXAMINED,
    ) -> NewestPage:
        """One Query: the tenant's records at or after `since`, newest first, older than the sort
        key `start_key` (the partition is always the tenant's own: a caller passes a sort key only).

        Errors-only: up to `examine` records are examined and those with status >= 400 kept, so the
        page may be short (even empty) with a `next_key`; more than `limit` matches are cut to
        `limit` and the page goes on after the last one kept (a base table's LastEvaluatedKey is
        just the item's key, so that key is as good a start as DynamoDB's own)."""
        pk = audit_pk(tenant_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND SK >= :since",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":since": {"S": since}},
            "ScanIndexForward": False,
            "Limit": examine if errors_only else limit,
        }
        if errors_only:
            kwargs["FilterExpression"] = "#status >= :failed"
            kwargs["ExpressionAttributeNames"] = {"#status": "status"}
            kwargs["ExpressionAttributeValues"][":failed"] = {"N": "400"}
        if start_key is not None:
            kwargs["ExclusiveStartKey"] = {"PK": {"S": pk}, "SK": {"S": start_key}}
        with unavailable_on_outage("DynamoDB"):
            out = self._db.query(**kwargs)
        items = out.get("Items", [])
        if len(items) > limit:
            items = items[:limit]
            next_key: str | None = items[-1]["SK"]["S"]
        else:
            next_key = out.get("LastEvaluatedKey", {}).get("SK", {}).get("S")
        return NewestPage([_record(i) for i in items], next_key, int(out.get("ScannedCount", len(items))))

    def page(
        self, tenant_id: str, *, since: str, resource_id: str | None, limit: int, after: str | None
    ) -> tuple[list[AuditRecord], str | None]:
        """One page in time order from `since` (after the sort key `after`), and the last sort key
        if more may follow (the management API's cursor)."""
        pk, sk = ("PK", "SK") if resource_id is None else ("GSI1PK", "GSI1SK")
        partition = audit_pk(tenant_id) if resource_id is None else audit_resource_pk(tenant_id, resource_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": f"{pk} = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "Limit": limit,
        }
        if resource_id is not None:
            kwargs["IndexName"] = NAME_INDEX
        if since:
            kwargs["KeyConditionExpression"] += f" AND {sk} >= :since"
            kwargs["ExpressionAttributeValues"][":since"] = {"S": since}
        if after is not None:
            start = {pk: {"S": partition}, sk: {"S": after}}
            if resource_id is not None:  # an index's start key also names the table's key
                start |= {"PK": {"S": audit_pk(tenant_id)}, "SK": {"S": after}}
            kwargs["ExclusiveStartKey"] = start
        with unavailable_on_outage("DynamoDB"):
            out = self._db.query(**kwargs)
        records = [_record(item) for item in out.get("Items", [])]
        more = "LastEvaluatedKey" in out and bool(records)
        return records, records[-1].sort_key if more else None

    def _pages(self, tenant_id: str, since: str, resource_id: str | None) -> Iterator[list[dict[str, Any]]]:
        pk, sk = ("PK", "SK") if resource_id is None else ("GSI1PK", "GSI1SK")
        partition = audit_pk(tenant_id) if resource_id is None else audit_resource_pk(tenant_id, resource_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": f"{pk} = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
        }
        if resource_id is not None:
            kwargs["IndexName"] = NAME_INDEX
        if since:  # a key condition cannot compare with an empty string
            kwargs["KeyConditionExpression"] += f" AND {sk} >= :since"
            kwargs["ExpressionAttributeValues"][":since"] = {"S": since}
        while True:
            with unavailable_on_outage("DynamoDB"):
                out = self._db.query(**kwargs)
            yield out.get("Items", [])
            if "LastEvaluatedKey" not in out:
                return
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
