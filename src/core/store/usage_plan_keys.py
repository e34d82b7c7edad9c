"""Per-tenant API Gateway usage plan keys: each tenant's own token bucket (template TenantUsagePlan).

The authorizer returns the tenant's key as ``usageIdentifierKey`` (the API's key source is
AUTHORIZER), so clients never see or send it: it names a throttling bucket, it grants nothing.
"""

from __future__ import annotations

import secrets
from typing import Any

KEY_BYTES = 30  # 40 URL-safe characters; API Gateway wants at least 20


class UsagePlanKeys:
    def __init__(self, client: Any, usage_plan_id: str, stack_name: str) -> None:
        self._apigw = client
        self._plan = usage_plan_id
        self._stack = stack_name

    def create(self, tenant_id: str) -> str:
        """A new API key in the usage plan for this tenant; returns its value."""
        value = secrets.token_urlsafe(KEY_BYTES)
        key = self._apigw.create_api_key(
            name=f"{self._stack}-{tenant_id}",
            description=f"SCIM tenant {tenant_id}: its own request rate (usage plan {self._plan})",
            enabled=True,
            value=value,
            tags={"scim:tenant": tenant_id},
        )
        self._apigw.create_usage_plan_key(usagePlanId=self._plan, keyId=key["id"], keyType="API_KEY")
        return value
