"""What the IT admin can do from a setup session: the setup API's one implementation.

Every action takes the tenant from the `Session` (never from a path or a body) and runs the same
`Management` code as the management API, with the session as the actor (``setup-session:<link>``)
in audit records and events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from core.management import Management
from core.setup_links import Session
from core.store.audit_table import AuditTable

LOG_WINDOW = timedelta(days=30)
LOG_RECORDS = 200  # the newest records read for the provisioning log: one Query
_LOG_FIELDS = (
    "at",
    "method",
    "resource_type",
    "resource_id",
    "changed_attributes",
    "status",
    "scim_type",
    "detail",
    "actor",
)


class SetupDesk:
    def __init__(
        self,
        management: Management,
        audit: AuditTable | None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._management = management
        self._audit = audit
        self._now = now

    def overview(self, session: Session) -> dict[str, Any]:
        """The tenant as the page shows it: its Tenant URL and what its profile asks the IdP for."""
        tenant = self._management.require_tenant(session.tenant_id)
        profile = tenant.profile
        return {
            "tenant_id": tenant.tenant_id,
            "tenant_name": tenant.display_name,
            "tenant_url": self._management.scim_url(tenant.tenant_id),
            "preset": profile.preset,
            "groups_enabled": profile.groups_enabled,
            "required_attributes": list(profile.required_attributes),
            "kept_attributes": list(profile.kept_attributes) if profile.kept_attributes is not None else None,
            "username_equals_email": profile.username_equals_email,
            "roles": profile.roles.model_dump(mode="json") if profile.roles is not None else None,
            "session_expires_at": _iso(session.expires_at),
            "return_url": session.return_url,
        }

    def tokens(self, session: Session) -> list[dict[str, Any]]:
        return [self._management.token_view(t) for t in self._management.list_tokens(session.tenant_id)]

    def issue_token(self, session: Session, name: str, request_id: str) -> dict[str, Any]:
        issued = self._management.issue_token(session.tenant_id, name, stamp=session.stamp(request_id))
        return self._management.issued_view(issued)

    def revoke_token(self, session: Session, token_id: str, request_id: str) -> None:
        # The token's key begins with the session's tenant: another tenant's id is not found.
        self._management.revoke_token(session.tenant_id, token_id, session.stamp(request_id))

    def health(self, session: Session) -> dict[str, Any]:
        return self._management.health(session.tenant_id)

    def log(self, session: Session, *, errors_only: bool) -> dict[str, Any]:
        """The last 30 days of the tenant's audit trail, newest first: names and outcomes, never
        bodies or values (an audit record holds none)."""
        self._management.require_tenant(session.tenant_id)
        records = self._audit.latest(session.tenant_id, LOG_RECORDS) if self._audit is not None else []
        since = (self._now() - LOG_WINDOW).astimezone(UTC).isoformat(timespec="milliseconds")
        since = since.replace("+00:00", "Z")
        rows = []
        for record in records:
            if record.at < since or (errors_only and record.status < 400):
                continue
            row = record.model_dump(mode="json", include=set(_LOG_FIELDS))
            row["outcome"] = record.outcome
            rows.append(row)
        return {"data": rows, "window_days": LOG_WINDOW.days, "complete": len(records) < LOG_RECORDS}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
