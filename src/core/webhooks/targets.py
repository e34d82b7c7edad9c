"""Webhook targets in Secrets Manager: one secret per tenant, one for the stack.

Names: ``<prefix>webhooks/tenants/<tenant>`` and ``<prefix>webhooks/stack`` (the delivery
function may read ``<prefix>webhooks/*`` only: never the token hashes under ``<prefix>tenants/``).
The URL is kept in the same secret as the signing secret, so one read gives a delivery all it
needs and no DynamoDB item ever holds either.

Value: ``{"version": 1, "url": "https://…" | null, "secrets": [{"secret": "whsec_…",
"expires_at": null | "<ISO 8601>"}], "updated_at": "…"}``. The first secret is the current one;
after a rotation the previous one stays, with an expiry, and deliveries are signed with both until
then (docs/webhooks.md#rotating-the-secret). A removed target is written as ``url: null`` rather
than deleting the secret: Secrets Manager keeps a deleted name reserved for its recovery window,
which would block setting the target again.

Which target an event goes to: the tenant's if it has one, else the stack's, else none
(`WebhookTargets.for_tenant`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError

from core.store.aws_errors import error_code, unavailable_on_outage
from core.tenants import is_valid_tenant_id

FORMAT_VERSION = 1
ROTATION_OVERLAP = timedelta(hours=24)  # how long the previous secret still signs after a rotation
Scope = Literal["tenant", "stack"]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class SigningSecret:
    secret: str = field(repr=False)  # never in a repr, a log line or an answer
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    scope: Scope
    url: str | None
    secrets: tuple[SigningSecret, ...] = ()
    updated_at: datetime | None = None

    @property
    def configured(self) -> bool:
        return self.url is not None and bool(self.secrets)

    def signing_secrets(self, now: datetime) -> list[str]:
        return [s.secret for s in self.secrets if s.active(now)]

    def view(self, now: datetime) -> dict[str, Any]:
        """What the management API answers: never a secret, only whether one is set."""
        previous = [s for s in self.secrets[1:] if s.active(now)]
        return {
            "scope": self.scope,
            "url": self.url,
            "secret_set": bool(self.secrets),
            "previous_secret_expires_at": _iso(previous[0].expires_at)
            if previous and previous[0].expires_at
            else None,
            "updated_at": _iso(self.updated_at) if self.updated_at else None,
        }

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": FORMAT_VERSION,
                "url": self.url,
                "secrets": [
                    {"secret": s.secret, "expires_at": _iso(s.expires_at) if s.expires_at else None}
                    for s in self.secrets
                ],
                "updated_at": _iso(self.updated_at) if self.updated_at else None,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, scope: Scope, text: str) -> WebhookTarget:
        doc = json.loads(text)
        secrets = tuple(
            SigningSecret(str(s["secret"]), _parse(s.get("expires_at"))) for s in doc.get("secrets") or []
        )
        return cls(scope, doc.get("url"), secrets, _parse(doc.get("updated_at")))


def _parse(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value)


class WebhookTargets:
    """Reads and writes targets; `for_tenant` is what a delivery asks."""

    def __init__(
        self, client: Any, prefix: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._sm = client
        self._prefix = prefix
        self._now = now

    def secret_name(self, tenant_id: str | None) -> str:
        if tenant_id is None:
            return f"{self._prefix}webhooks/stack"
        # Validated here as well as at the edge: a name must never be built from an unchecked slug.
        if not is_valid_tenant_id(tenant_id):
            raise ValueError(f"invalid tenant id: {tenant_id!r}")
        return f"{self._prefix}webhooks/tenants/{tenant_id}"

    def get(self, tenant_id: str | None) -> WebhookTarget:
        """The tenant's own target (``None``: the stack's); unconfigured if none was set."""
        scope: Scope = "stack" if tenant_id is None else "tenant"
        try:
            with unavailable_on_outage("Secrets Manager"):
                out = self._sm.get_secret_value(SecretId=self.secret_name(tenant_id))
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return WebhookTarget(scope, None)
            raise
        return WebhookTarget.from_json(scope, out.get("SecretString") or "{}")

    def for_tenant(self, tenant_id: str) -> WebhookTarget:
        own = self.get(tenant_id)
        return own if own.configured else self.get(None)

    def put(
        self, tenant_id: str | None, url: str, new_secret: str | None, *, current: WebhookTarget | None = None
    ) -> WebhookTarget:
        """Set the URL; with `new_secret`, make it the current secret (the previous one keeps
        signing for `ROTATION_OVERLAP`); without, keep the current secret (a URL change).
        `current`: the target as the caller just read it (no second read)."""
        now = self._now()
        old = current if current is not None else self.get(tenant_id)
        if new_secret is None:
            if not old.secrets:
                raise ValueError("a first target needs a secret")
            secrets = old.secrets
        else:
            kept = tuple(
                SigningSecret(s.secret, now + ROTATION_OVERLAP)
                for s in old.secrets[:1]
                if old.url is not None
            )
            secrets = (SigningSecret(new_secret), *kept)
        target = WebhookTarget(old.scope, url, secrets, now)
        self._write(tenant_id, target)
        return target

    def delete(self, tenant_id: str | None) -> bool:
        """Remove the target; False if there was none."""
        old = self.get(tenant_id)
        if old.url is None:
            return False
        self._write(tenant_id, WebhookTarget(old.scope, None, (), self._now()))
        return True

    def _write(self, tenant_id: str | None, target: WebhookTarget) -> None:
        name = self.secret_name(tenant_id)
        try:
            with unavailable_on_outage("Secrets Manager"):
                self._sm.put_secret_value(SecretId=name, SecretString=target.to_json())
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            owner = f"tenant {tenant_id}" if tenant_id else "the stack"
            with unavailable_on_outage("Secrets Manager"):
                self._sm.create_secret(
                    Name=name,
                    Description=f"SCIM webhook target and signing secret of {owner}",
                    SecretString=target.to_json(),
                    Tags=[{"Key": "scim:webhook", "Value": tenant_id or "stack"}],
                )
