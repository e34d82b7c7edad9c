"""Starting a tenant reset's worker: an asynchronous Invoke of the TenantReset function.

The management function starts it when a reset is requested; the worker starts a fresh invocation
of itself when its batch allowance is used up (`handlers.tenant_reset`). An asynchronous Invoke
answers at once, and Lambda retries a failed invocation twice: each retry resumes from the reset
record. Locally (`scimctl serve`) the gateway installs a starter that runs the same function in a
thread (`set_starter`), as there is no Lambda service.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from core.role_recompute import start_job
from core.store.role_jobs import RoleJob, RoleJobs
from handlers import aws_clients
from handlers.observability import logger, metrics

if TYPE_CHECKING:
    from core.role_recompute import RoleRecompute
    from core.tenant_reset import TenantReset

# The Groups and Bulk functions import this module to start role recomputes: the stores only the
# worker needs (tenants and tokens, reset records) are imported by the factories below, not here.

Starter = Callable[[dict[str, str]], None]
_starter: list[Starter] = []


def set_starter(starter: Starter | None) -> None:
    """Replace the asynchronous Invoke (the local gateway, tests); None restores it."""
    _starter.clear()
    if starter is not None:
        _starter.append(starter)


def start(function_name: str, tenant_id: str, reset_id: str, kind: str = "reset") -> None:
    """`kind` "roles": the job is a role recompute (`core.role_recompute`), `reset_id` its job id."""
    payload = {"tenant_id": tenant_id, "reset_id": reset_id}
    if kind != "reset":
        payload["kind"] = kind
    if _starter:
        _starter[0](payload)
        return
    aws_clients.lambda_().invoke(
        FunctionName=function_name, InvocationType="Event", Payload=json.dumps(payload).encode()
    )


def _utc_now() -> str:
    # core.resource_service's clock, without importing the SCIM services into the management function.
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@cache
def tenant_reset(table_name: str) -> TenantReset:
    from core.store.memberships_table import MembershipTable  # noqa: PLC0415 - see the imports
    from core.store.reset_records import ResetRecords  # noqa: PLC0415
    from core.store.resources_table import ResourceTable  # noqa: PLC0415
    from core.tenant_reset import TenantReset  # noqa: PLC0415

    db = aws_clients.dynamodb()
    return TenantReset(
        ResourceTable(db, table_name), MembershipTable(db, table_name), ResetRecords(db, table_name), _utc_now
    )


def role_recompute_starter(function_name: str, table_name: str) -> Callable[[str], RoleJob]:
    """Start a tenant's role recompute and its worker: what a SCIM group change that can move roles
    calls (core.groups.service), as the management function does after a mapping change."""

    def start_recompute(tenant_id: str) -> RoleJob:
        jobs = RoleJobs(aws_clients.dynamodb(), table_name)
        return start_job(jobs, tenant_id, _utc_now(), str(uuid.uuid4()), roles_worker(function_name))

    return start_recompute


def roles_worker(function_name: str) -> Callable[[str, str], None]:
    """Start a recorded role recompute's worker. The change that asked for it is already written,
    and an IdP's retry of it (or the same mappings written again) is a no-op that would not start
    the job again: so a failed Invoke does not fail the request; it is logged and counted
    (`RoleRecomputeStartFailures`, alarmed), and docs/operations.md says how to start the job."""

    def start_roles(tenant_id: str, job_id: str) -> None:
        try:
            start(function_name, tenant_id, job_id, "roles")
        except Exception as exc:
            # Only the error's class: its message may name the function's ARN, never user data.
            logger.error(
                "role recompute worker not started",
                extra={"tenant_id": tenant_id, "job_id": job_id, "error": type(exc).__name__},
            )
            metrics.add_metric(name="RoleRecomputeStartFailures", unit=MetricUnit.Count, value=1)

    return start_roles


@cache
def role_recompute(table_name: str) -> RoleRecompute:
    from core.role_recompute import RoleRecompute  # noqa: PLC0415 - see the imports

    return RoleRecompute.on_table(aws_clients.dynamodb(), table_name, _utc_now)
