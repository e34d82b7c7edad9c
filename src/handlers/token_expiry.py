"""The TokenExpiry function: the daily token expiry check (`core.token_expiry`).

Invoked by an EventBridge Scheduler schedule (template.yaml, `DailyTokenExpiryCheck`). The
warnings become ``scim.token.expiring`` events through the table's stream; this publishes one
CloudWatch metric per tenant with tokens expiring within 30 days (EMF, so no PutMetricData call):
``TokensExpiringWithin30Days`` with the dimension ``tenant_id``, for an alarm or a dashboard.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.store.tenants_table import Stamp, TenantTable
from core.token_expiry import TokenExpiryCheck
from handlers import aws_clients
from handlers.observability import lambda_entry, logger
from handlers.settings import common_settings

ACTOR = "token-expiry-schedule"
METRIC = "TokensExpiringWithin30Days"


@cache
def expiry_check() -> TokenExpiryCheck:
    return TokenExpiryCheck(TenantTable(aws_clients.dynamodb(), common_settings().table_name))


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = expiry_check().run(Stamp(actor=ACTOR, request_id=context.aws_request_id))
    for tenant_id, count in sorted(report.expiring_per_tenant.items()):
        # One metric per tenant: a dimension of its own, so single_metric (not the shared set).
        with single_metric(name=METRIC, unit=MetricUnit.Count, value=count) as metric:
            metric.add_dimension(name="tenant_id", value=tenant_id)
    logger.info(
        "token expiry check",
        extra={"tenants": len(report.expiring_per_tenant), "warnings": len(report.warnings)},
    )
    return {
        "expiring_per_tenant": dict(report.expiring_per_tenant),
        "warnings": [
            {"tenant_id": w.tenant_id, "token_id": w.token_id, "threshold_days": w.threshold_days}
            for w in report.warnings
        ],
    }
