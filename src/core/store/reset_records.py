"""The tenant's reset record (``T#<t>`` / ``RESET``): one item, written only conditionally.

It is the reset's lock and its progress: `start` creates it unless a reset is already running (so
two resets never race), each finished batch adds to its counters under the condition that the same
reset is still running, and `complete` ends it. Its stream record matches no event rule (kind
``reset``), so the record itself never becomes an event; the deletions it drives do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from core.store.aws_errors import error_code, unavailable_on_outage
from core.store.batch import batch_write
from core.store.keys import bookmarks_pk, tenant_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RESET_SK = "RESET"
ResetState = Literal["running", "completed"]


@dataclass(frozen=True, slots=True)
class ResetRecord:
    tenant_id: str
    reset_id: str
    status: ResetState
    phase: str  # what the next batch deletes: groups, users, bookmarks, done
    requested_by: str
    started_at: str
    updated_at: str
    completed_at: str | None = None
    users_deleted: int = 0
    groups_deleted: int = 0
    memberships_deleted: int = 0
    batches: int = 0

    def view(self) -> dict[str, Any]:
        return {
            "reset_id": self.reset_id,
            "status": self.status,
            "phase": self.phase,
            "requested_by": self.requested_by,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "completed_at": self.completed_at,
            "users_deleted": self.users_deleted,
            "groups_deleted": self.groups_deleted,
            "memberships_deleted": self.memberships_deleted,
            "batches": self.batches,
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """What one batch did."""

    phase: str
    users: int = 0
    groups: int = 0
    memberships: int = 0


def _key(tenant_id: str) -> dict[str, Any]:
    return {"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": RESET_SK}}


def _record(item: dict[str, Any]) -> ResetRecord:
    def number(name: str) -> int:
        return int(item.get(name, {}).get("N", "0"))

    status: ResetState = "completed" if item["status"]["S"] == "completed" else "running"
    return ResetRecord(
        tenant_id=item["tenantId"]["S"],
        reset_id=item["resetId"]["S"],
        status=status,
        phase=item.get("phase", {}).get("S", "groups"),
        requested_by=item.get("requestedBy", {}).get("S", ""),
        started_at=item["startedAt"]["S"],
        updated_at=item.get("updatedAt", item["startedAt"])["S"],
        completed_at=item.get("completedAt", {}).get("S"),
        users_deleted=number("usersDeleted"),
        groups_deleted=number("groupsDeleted"),
        memberships_deleted=number("membershipsDeleted"),
        batches=number("batches"),
    )


class ResetRecords:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def get(self, tenant_id: str) -> ResetRecord | None:
        with unavailable_on_outage("DynamoDB"):
            out = self._db.get_item(TableName=self._table, Key=_key(tenant_id), ConsistentRead=True)
        item = out.get("Item")
        return _record(item) if item else None

    def start(self, record: ResetRecord) -> ResetRecord | None:
        """Write a new running reset unless one is running; None if this call started it, else the
        running one (whoever started it first)."""
        item = {
            **_key(record.tenant_id),
            "kind": {"S": "reset"},
            "tenantId": {"S": record.tenant_id},
            "resetId": {"S": record.reset_id},
            "status": {"S": "running"},
            "phase": {"S": record.phase},
            "requestedBy": {"S": record.requested_by},
            "startedAt": {"S": record.started_at},
            "updatedAt": {"S": record.started_at},
        }
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(PK) OR #s = :done",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":done": {"S": "completed"}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            response: dict[str, Any] = dict(exc.response)
            old: dict[str, Any] = response.get("Item") or {}
            return _record(old) if old else self.get(record.tenant_id)
        return None

    def advance(self, tenant_id: str, reset_id: str, progress: Progress, at: str, *, done: bool) -> bool:
        """Add one batch's counts (and end the reset if `done`); False if this reset is no longer
        the running one (completed by a concurrent worker): the caller stops."""
        sets = ["phase = :p", "updatedAt = :at"]
        values: dict[str, Any] = {
            ":p": {"S": progress.phase},
            ":at": {"S": at},
            ":u": {"N": str(progress.users)},
            ":g": {"N": str(progress.groups)},
            ":m": {"N": str(progress.memberships)},
            ":one": {"N": "1"},
            ":id": {"S": reset_id},
            ":running": {"S": "running"},
        }
        if done:
            sets += ["#s = :done", "completedAt = :at"]
            values[":done"] = {"S": "completed"}
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key=_key(tenant_id),
                    UpdateExpression="SET "
                    + ", ".join(sets)
                    + " ADD usersDeleted :u, groupsDeleted :g, membershipsDeleted :m, batches :one",
                    ConditionExpression="resetId = :id AND #s = :running",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues=values,
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def clear_bookmarks(self, tenant_id: str, limit: int) -> bool:
        """Delete up to `limit` of the tenant's startIndex page bookmarks; True if more may remain."""
        with unavailable_on_outage("DynamoDB"):
            out = self._db.query(
                TableName=self._table,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": bookmarks_pk(tenant_id)}},
                ProjectionExpression="PK, SK",
                Limit=limit,
            )
        keys = [{"DeleteRequest": {"Key": {"PK": i["PK"], "SK": i["SK"]}}} for i in out.get("Items", [])]
        batch_write(self._db, self._table, keys)
        return "LastEvaluatedKey" in out
