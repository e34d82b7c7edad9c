"""``scimctl [target] tenant restore TENANT --from-table RESTORED [--dry-run]``.

DynamoDB's point-in-time recovery restores into a *new* table, which this stack does not use (its
functions, stream and IAM policies name the stack's own table). This copies one tenant's SCIM
data back from such a restored table into the live one: the tenant's users, groups, memberships,
uniqueness guards, counters and tombstones become exactly those of the restore point. Kept as
they are: the tenant item and its token metadata (tokens are managed by scimctl; their hashes
live in Secrets Manager, which a table restore does not touch) and the audit trail (it records
the incident too).

The tenant must be disabled while this runs, so that no IdP write interleaves with the copy.
Both tables are scanned (an admin operation on a restore, never a request path). Each write goes
through the table's stream: restored users and groups are published as created or updated; items
that did not exist at the restore point are removed without a ``deleted`` event.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.store.batch import batch_write
from core.store.keys import TENANT_SK, TOKEN_SK_PREFIX, tenant_pk
from core.tenants import TenantStatus
from scimctl.admin import Admin, AdminError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class RestoreResult:
    tenant: str
    restored: int  # items written from the restored table
    removed: int  # live items that did not exist at the restore point
    dry_run: bool


def _is_restorable(item: dict[str, Any], tenant_id: str) -> bool:
    """One of the tenant's SCIM data items (not its tenant row, tokens or audit trail)."""
    pk, sk = str(item["PK"]["S"]), str(item["SK"]["S"])
    base = tenant_pk(tenant_id)
    if pk == base:
        return sk != TENANT_SK and not sk.startswith(TOKEN_SK_PREFIX)
    return pk.startswith(f"{base}#") and pk != f"{base}#AUDIT"


def _tenant_items(db: DynamoDBClient, table: str, tenant_id: str) -> Iterator[dict[str, Any]]:
    base = tenant_pk(tenant_id)
    pages = db.get_paginator("scan").paginate(
        TableName=table,
        ConsistentRead=True,
        FilterExpression="PK = :pk OR begins_with(PK, :prefix)",
        ExpressionAttributeValues={":pk": {"S": base}, ":prefix": {"S": f"{base}#"}},
    )
    for page in pages:
        for item in page.get("Items", []):
            if _is_restorable(dict(item), tenant_id):
                yield dict(item)


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["PK"]["S"], item["SK"]["S"]


def restore_tenant(
    admin: Admin, db: DynamoDBClient, *, tenant_id: str, live_table: str, restored_table: str, dry_run: bool
) -> RestoreResult:
    tenant = admin.require_tenant(tenant_id)
    if tenant.status is not TenantStatus.DISABLED:
        raise AdminError(
            f"tenant {tenant_id!r} is active: `scimctl tenant disable {tenant_id}` first, so that no IdP "
            "write interleaves with the restore"
        )
    if restored_table == live_table:
        raise AdminError("--from-table names the live table: give the table the restore created")
    snapshot = {_key(item): item for item in _tenant_items(db, restored_table, tenant_id)}
    live = (_key(item) for item in _tenant_items(db, live_table, tenant_id))
    stale = [key for key in live if key not in snapshot]
    if not dry_run:
        puts = [{"PutRequest": {"Item": item}} for item in snapshot.values()]
        deletes = [{"DeleteRequest": {"Key": {"PK": {"S": pk}, "SK": {"S": sk}}}} for pk, sk in stale]
        batch_write(db, live_table, puts)
        batch_write(db, live_table, deletes)
    return RestoreResult(tenant_id, len(snapshot), len(stale), dry_run)
