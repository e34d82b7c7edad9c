"""The daily token expiry check: warn before a token stops provisioning silently.

A token that expires unnoticed is the most-reported outage of IdP provisioning. Once a day
(EventBridge Scheduler → the TokenExpiry function) this reads every token expiring within the next
30 days from the sparse expiry registry (GSI1 ``TOKENS#EXPIRY``, ordered by expiry time: no Scan),
and for each records the smallest threshold (30, 7, 1 days) it has crossed, with a conditional
write that only succeeds if no smaller-or-equal threshold was recorded before. That write's stream
record becomes ``scim.token.expiring`` (`core.events.management_rules`), so each threshold is
announced exactly once however often the check runs, and a token first seen 6 days before it
expires gets the 7-day warning only. It also returns how many tokens of each tenant expire within
30 days (the per-tenant metric).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.store.tenants_table import Stamp, TenantTable
from core.tokens import TokenMetadata

THRESHOLDS_DAYS = (1, 7, 30)  # ascending: a token gets the smallest threshold it has crossed
WINDOW = timedelta(days=max(THRESHOLDS_DAYS))


def threshold_for(meta: TokenMetadata, now: datetime) -> int | None:
    """The smallest threshold (days) within which the token expires; None if not within 30 days
    or already expired (the authorizer refuses it then, and health says "expired")."""
    if meta.expires_at is None or meta.expires_at <= now:
        return None
    remaining = meta.expires_at - now
    return next((days for days in THRESHOLDS_DAYS if remaining <= timedelta(days=days)), None)


@dataclass(frozen=True)
class Warning:
    tenant_id: str
    token_id: str
    threshold_days: int


@dataclass
class ExpiryReport:
    expiring_per_tenant: Counter[str] = field(default_factory=Counter)  # within 30 days
    warnings: list[Warning] = field(default_factory=list)  # thresholds recorded by this run


class TokenExpiryCheck:
    def __init__(self, table: TenantTable, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._table = table
        self._now = now

    def run(self, stamp: Stamp) -> ExpiryReport:
        now = self._now()
        report = ExpiryReport()
        for meta in self._table.tokens_expiring(now, now + WINDOW):
            days = threshold_for(meta, now)
            if days is None or meta.revoked_at is not None:
                continue
            report.expiring_per_tenant[meta.tenant_id] += 1
            already = meta.expiry_warned_days
            if (already is None or already > days) and self._table.mark_expiry_warning(
                meta.tenant_id, meta.token_id, days, stamp
            ):
                report.warnings.append(Warning(meta.tenant_id, meta.token_id, days))
        return report


TENANTS_PAGE = 100


def index_legacy_tokens(table: TenantTable) -> int:
    """Put every unrevoked, expiring token missing from the expiry registry in it (tokens issued
    before the registry existed; `scimctl token index-expiry`, run once after the upgrade). Walks
    the tenant registry in pages and Queries each tenant's tokens: no Scan. Safe to run again (a
    token already indexed is left as it is). Returns how many tokens it indexed."""
    indexed, after = 0, None
    while True:
        tenants, after = table.tenants_page(TENANTS_PAGE, after)
        for tenant in tenants:
            for meta in table.list_tokens(tenant.tenant_id):
                if meta.expires_at is not None and meta.revoked_at is None:
                    indexed += table.index_token_expiry(meta.tenant_id, meta.token_id, meta.expires_at)
        if after is None:
            return indexed
