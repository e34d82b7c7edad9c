"""Tenant identity and records. A tenant id is a short lowercase slug, validated before any lookup."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from core.profiles import PRESETS, Profile

# 2–32 characters, lowercase letters, digits and inner hyphens; no dots or underscores, because the
# token id embeds the tenant id ("<tenant>.<hex>") and the token uses "_" as its separator.
TENANT_ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])$")


@lru_cache(maxsize=1024)  # every key of a request checks its tenant id: once per id is enough
def is_valid_tenant_id(value: str) -> bool:
    return bool(TENANT_ID_PATTERN.fullmatch(value)) and "--" not in value


class TenantStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    # Deleted through the management API: tokens revoked, the row kept as a tombstone so that the
    # id is never reused (a new tenant with it would inherit audit records and stale cursors).
    DELETED = "deleted"


class Tenant(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str = Field(pattern=TENANT_ID_PATTERN.pattern)
    display_name: str = Field(min_length=1, max_length=200)
    status: TenantStatus = TenantStatus.ACTIVE
    created_at: datetime
    profile: Profile = PRESETS["default"]
    profile_version: int = 1  # bumped by every profile edit
    # The tenant's API Gateway usage plan key (its own throttling bucket); None for tenants created
    # before per-tenant keys, which share the stack's bucket. An identifier, not a credential.
    api_key: str | None = None
    external_id: str | None = Field(None, max_length=200)  # the SaaS's own id for this customer
    # The first request an IdP made with a valid token (set once, by the authorizer).
    connected_at: datetime | None = None
    # The last refused token of this tenant (recorded by the authorizer, rate-limited; never the token).
    refused_at: datetime | None = None
    refused_reason: str | None = None
    refused_token_id: str | None = None

    @property
    def active(self) -> bool:
        return self.status is TenantStatus.ACTIVE
