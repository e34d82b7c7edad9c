"""Setting, reading and removing webhook targets: the management API's webhook routes call this.

The secret is write-only: a caller may give one (``whsec_…``) or let the stack generate one, which
is then in that one answer only. Reads say whether a secret is set, never which. Giving a new
secret (or ``rotate``) keeps the previous one signing for 24 hours (`targets.ROTATION_OVERLAP`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from core.errors import NotFound
from core.webhooks.signature import check_secret, new_secret
from core.webhooks.targets import WebhookTargets
from core.webhooks.urls import check_url


class WebhookNotFound(NotFound):
    default_detail = "no webhook target is set"


class WebhookConfig:
    def __init__(
        self,
        targets: WebhookTargets,
        require_tenant: Callable[[str], object],
        *,
        allow_loopback: bool = False,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._targets = targets
        self._require_tenant = require_tenant  # raises the 404 of an unknown or deleted tenant
        self._allow_loopback = allow_loopback
        self._now = now

    def get(self, tenant_id: str | None) -> dict[str, Any]:
        target = self._targets.get(self._checked(tenant_id))
        if target.url is None:
            raise WebhookNotFound(_none_set(tenant_id))
        return target.view(self._now())

    def put(
        self, tenant_id: str | None, url: str, secret: str | None = None, *, rotate: bool = False
    ) -> dict[str, Any]:
        """The target's view, plus ``secret`` when the stack generated it (shown once)."""
        tenant_id = self._checked(tenant_id)
        check_url(url, allow_loopback=self._allow_loopback)
        generated: str | None = None
        if secret is not None:
            check_secret(secret)
        elif rotate or not self._targets.get(tenant_id).secrets:
            secret = generated = new_secret()
        view = self._targets.put(tenant_id, url, secret).view(self._now())
        return view | ({"secret": generated} if generated else {})

    def delete(self, tenant_id: str | None) -> None:
        if not self._targets.delete(self._checked(tenant_id)):
            raise WebhookNotFound(_none_set(tenant_id))

    def _checked(self, tenant_id: str | None) -> str | None:
        if tenant_id is not None:
            self._require_tenant(tenant_id)
        return tenant_id


def _none_set(tenant_id: str | None) -> str:
    return f"tenant {tenant_id!r} has no webhook target" if tenant_id else "the stack has no webhook target"
