"""The tenant's role recompute job (``T#<t>`` / ``ROLES``): one item, the progress of recomputing
every user's effective roles after the tenant's role mappings changed (`core.role_recompute`).

A new job replaces the running one (the mappings changed again: start over with the new ones);
each batch advances the cursor under the condition that its job is still the current one, so a
replaced job's worker stops at its next batch. The item's kind matches no event rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from core.store.aws_errors import error_code, unavailable_on_outage
from core.store.keys import tenant_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROLES_JOB_SK = "ROLES"


@dataclass(frozen=True, slots=True)
class RoleJob:
    tenant_id: str
    job_id: str
    status: str  # running, completed
    started_at: str
    updated_at: str
    cursor: str | None = None  # the last user id recomputed
    users_checked: int = 0
    users_changed: int = 0

    def view(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.status,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "users_checked": self.users_checked,
            "users_changed": self.users_changed,
        }


def _key(tenant_id: str) -> dict[str, Any]:
    return {"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": ROLES_JOB_SK}}


class RoleJobs:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def get(self, tenant_id: str) -> RoleJob | None:
        with unavailable_on_outage("DynamoDB"):
            out = self._db.get_item(TableName=self._table, Key=_key(tenant_id), ConsistentRead=True)
        item = out.get("Item")
        if not item:
            return None
        return RoleJob(
            tenant_id=tenant_id,
            job_id=item["jobId"]["S"],
            status=item["status"]["S"],
            started_at=item["startedAt"]["S"],
            updated_at=item["updatedAt"]["S"],
            cursor=item.get("afterUser", {}).get("S"),
            users_checked=int(item.get("usersChecked", {}).get("N", "0")),
            users_changed=int(item.get("usersChanged", {}).get("N", "0")),
        )

    def start(self, job: RoleJob) -> None:
        with unavailable_on_outage("DynamoDB"):
            self._db.put_item(
                TableName=self._table,
                Item={
                    **_key(job.tenant_id),
                    "kind": {"S": "roles-job"},
                    "jobId": {"S": job.job_id},
                    "status": {"S": "running"},
                    "startedAt": {"S": job.started_at},
                    "updatedAt": {"S": job.started_at},
                },
            )

    def advance(
        self, tenant_id: str, job_id: str, cursor: str | None, *, checked: int, changed: int, at: str
    ) -> bool:
        """Record one batch (cursor None: the last one, the job completes); False if the job was
        replaced meanwhile."""
        sets = ["updatedAt = :at", "#s = :next"]
        values: dict[str, Any] = {
            ":at": {"S": at},
            ":next": {"S": "running" if cursor else "completed"},
            ":c": {"N": str(checked)},
            ":x": {"N": str(changed)},
            ":id": {"S": job_id},
            ":running": {"S": "running"},
        }
        if cursor:
            sets.append("afterUser = :cur")
            values[":cur"] = {"S": cursor}
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key=_key(tenant_id),
                    UpdateExpression="SET " + ", ".join(sets) + " ADD usersChecked :c, usersChanged :x",
                    ConditionExpression="jobId = :id AND #s = :running",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues=values,
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True
