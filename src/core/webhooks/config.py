"""Setting, reading and removing webhook targets: the management API's webhook routes call this.

The secret is write-only: a caller may give one (``whsec_…``) or let the stack generate one, which
is then in that one answer only. Reads say whether a secret is set, never which. Giving a new
secret (or ``rotate``) keeps the previous one signing for 24 hours (`targets.ROTATION_OVERLAP`).

A tenant's target decides where all of its directory data is sent, so setting or removing one is a
write in the tenant's audit trail (`Recorder`), with the caller as actor; the stack-wide target
belongs to no tenant and is in the management function's log only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from core.errors import NotFound
from core.store.tenants_table import Stamp
from core.webhooks.signature import check_secret, new_secret
from core.webhooks.targets import WebhookTargets
from core.webhooks.urls import check_url


class WebhookNotFound(NotFound):
    default_detail = "no webhook target is set"


class Recorder(Protocol):
    """Writes one record in a tenant's audit trail (`Management.record_write`'s signature)."""

    def __call__(
        self,
        stamp: Stamp | None,
        tenant_id: str,
        *,
        method: str,
        resource_type: str,
        resource_id: str,
        changed: tuple[str, ...],
        status: int,
    ) -> None: ...


class WebhookConfig:
    def __init__(
        self,
        targets: WebhookTargets,
        require_tenant: Callable[[str], object],
        *,
        record: Recorder | None = None,
        allow_loopback: bool = False,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._targets = targets
        self._require_tenant = require_tenant  # raises the 404 of an unknown or deleted tenant
        self._record = record
        self._allow_loopback = allow_loopback
        self._now = now

    def get(self, tenant_id: str | None) -> dict[str, Any]:
        target = self._targets.get(self._checked(tenant_id))
        if target.url is None:
            raise WebhookNotFound(_none_set(tenant_id))
        return target.view(self._now())

    def put(
        self,
        tenant_id: str | None,
        url: str,
        secret: str | None = None,
        *,
        rotate: bool = False,
        stamp: Stamp | None = None,
    ) -> dict[str, Any]:
        """The target's view, plus ``secret`` when the stack generated it (shown once)."""
        tenant_id = self._checked(tenant_id)
        check_url(url, allow_loopback=self._allow_loopback)
        before = self._targets.get(tenant_id)
        generated: str | None = None
        if secret is not None:
            check_secret(secret)
        elif rotate or not before.secrets:
            secret = generated = new_secret()
        view = self._targets.put(tenant_id, url, secret, current=before).view(self._now())
        changed = (("url",) if before.url != url else ()) + (("secret",) if secret is not None else ())
        self._audit(stamp, tenant_id, "PUT", changed, 200)
        return view | ({"secret": generated} if generated else {})

    def delete(self, tenant_id: str | None, *, stamp: Stamp | None = None) -> None:
        if not self._targets.delete(self._checked(tenant_id)):
            raise WebhookNotFound(_none_set(tenant_id))
        self._audit(stamp, tenant_id, "DELETE", ("url", "secret"), 204)

    def _audit(
        self, stamp: Stamp | None, tenant_id: str | None, method: str, changed: tuple[str, ...], status: int
    ) -> None:
        if self._record is None or tenant_id is None:
            return
        self._record(
            stamp,
            tenant_id,
            method=method,
            resource_type="Webhook",
            resource_id=tenant_id,
            changed=changed,
            status=status,
        )

    def _checked(self, tenant_id: str | None) -> str | None:
        if tenant_id is not None:
            self._require_tenant(tenant_id)
        return tenant_id


def _none_set(tenant_id: str | None) -> str:
    return f"tenant {tenant_id!r} has no webhook target" if tenant_id else "the stack has no webhook target"
