"""The TenantReset function: runs a tenant reset's batches (`core.tenant_reset`).

Invoked asynchronously with ``{"tenant_id", "reset_id"}`` by the management function (POST
/tenants/{t}/reset) and by itself. Each invocation runs at most RESET_BATCHES_PER_INVOCATION
batches, and stops early when less than a minute of its time is left; a reset still running then
gets a fresh invocation. A failed invocation (a DynamoDB outage) raises: Lambda retries it, and the
retry starts from the reset record, so a fault loses nothing and deletes nothing twice.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from handlers import reset_worker
from handlers.observability import lambda_entry, logger, metrics
from handlers.settings import tenant_reset_settings

TIME_MARGIN_MS = 60_000  # a batch takes a few seconds; leave ample time to record it and hand over


class ResetRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str = Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])$")
    reset_id: str = Field(min_length=1, max_length=64)
    # The same batching serves role recomputes after a mapping change (core.role_recompute).
    kind: Literal["reset", "roles"] = "reset"


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ResetRequest.model_validate(event)
    settings = tenant_reset_settings()
    allowed = settings.batches_per_invocation
    logger.append_keys(tenant_id=request.tenant_id, reset_id=request.reset_id)

    def keep_going(batches: int) -> bool:
        # The first batch always runs: every invocation makes progress, so hand-overs end.
        return batches == 0 or (batches < allowed and context.get_remaining_time_in_millis() > TIME_MARGIN_MS)

    if request.kind == "roles":
        job = reset_worker.role_recompute(settings.table_name).run(
            request.tenant_id, request.reset_id, keep_going
        )
        if job is not None and job.job_id == request.reset_id and job.status == "running":
            reset_worker.start(context.invoked_function_arn, request.tenant_id, request.reset_id, "roles")
        return job.view() if job is not None else {"status": "unknown"}
    reset = reset_worker.tenant_reset(settings.table_name)
    record = reset.run(request.tenant_id, request.reset_id, keep_going)
    if record is None or record.reset_id != request.reset_id:
        logger.warning("no such reset; nothing to do")
        return {"status": "unknown"}
    if record.status == "running":
        reset_worker.start(context.invoked_function_arn, request.tenant_id, request.reset_id)
    else:
        metrics.add_metric(name="TenantResetsCompleted", unit=MetricUnit.Count, value=1)
        logger.info(
            "tenant reset completed", extra={"users": record.users_deleted, "groups": record.groups_deleted}
        )
    return record.view()
