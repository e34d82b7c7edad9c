"""DynamoDB stream records of tenant and token items → management events (pure, like `rules`).

Management writes stamp the item with their actor (``changedBy``) and request (``requestId``),
so the stream record is the event's only source, written in the same call as the change:

* INSERT of a tenant → ``scim.tenant.created``.
* MODIFY of a tenant: ``connectedAt`` appears → ``scim.tenant.connected``; status becomes
  ``deleted`` → ``scim.tenant.deleted``; becomes ``disabled`` → ``scim.tenant.disabled``; name,
  profile or status otherwise changed → ``scim.tenant.updated``; anything else (the authorizer's
  last refused token, a usage plan key) → nothing.
* INSERT of token metadata → ``scim.token.created``; MODIFY where ``revokedAt`` appears →
  ``scim.token.revoked``; others (``lastUsedAt``) → nothing.
* INSERT of a setup link → ``scim.setup.link_created``; MODIFY where ``redeemedAt`` appears →
  ``scim.setup.link_redeemed`` (actor: the setup session); others (a session sliding, a
  revocation) → nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from core.events.models import (
    ManagementEvent,
    SetupLinkCreated,
    SetupLinkRedeemed,
    SetupLinkSnapshot,
    TenantConnected,
    TenantCreated,
    TenantDeleted,
    TenantDisabled,
    TenantEvent,
    TenantSnapshot,
    TenantUpdated,
    TokenCreated,
    TokenExpiring,
    TokenRevoked,
    TokenSnapshot,
)

Image = dict[str, Any]
_TENANT_FIELDS = {
    "displayName": "name",
    "profile": "profile",
    "status": "status",
    "externalId": "external_id",
}


class Change(Protocol):
    @property
    def new(self) -> Image: ...

    @property
    def old(self) -> Image: ...

    def idempotency_key(self) -> str: ...


def _text(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    found = value.get("S") if isinstance(value, dict) else None
    return str(found) if found is not None else None


def _envelope(change: Change, occurred_at: str | None, names: list[str]) -> dict[str, Any]:
    new = change.new
    return {
        "idempotency_key": change.idempotency_key(),
        "tenant_id": _text(new, "tenantId") or "",
        "occurred_at": occurred_at or "",
        "request_id": _text(new, "requestId") or "-",
        "actor": _text(new, "changedBy") or "unknown",
        "changed_attributes": names,
    }


def _tenant(image: Image) -> TenantSnapshot:
    profile = json.loads(_text(image, "profile") or "{}")
    return TenantSnapshot(
        tenant_id=_text(image, "tenantId") or "",
        name=_text(image, "displayName") or "",
        status=_text(image, "status") or "active",
        preset=str(profile.get("preset", "default")),
        external_id=_text(image, "externalId"),
        created_at=_text(image, "createdAt") or "",
        connected_at=_text(image, "connectedAt"),
    )


def tenant_created(change: Change) -> ManagementEvent:
    names = sorted(_TENANT_FIELDS[k] for k in _TENANT_FIELDS if k in change.new)
    return TenantCreated(
        **_envelope(change, _text(change.new, "createdAt"), names), tenant=_tenant(change.new)
    )


def tenant_modified(change: Change) -> ManagementEvent | None:
    new, old = change.new, change.old
    if _text(new, "connectedAt") and not _text(old, "connectedAt"):
        envelope = _envelope(change, _text(new, "connectedAt"), ["connected_at"]) | {"actor": "authorizer"}
        return TenantConnected(**envelope, tenant=_tenant(new))
    names = sorted(field for key, field in _TENANT_FIELDS.items() if _text(new, key) != _text(old, key))
    if not names:
        return None
    status, before = _text(new, "status"), _text(old, "status")
    kind: type[TenantEvent] = TenantUpdated
    if status != before and status == "deleted":
        kind = TenantDeleted
    elif status != before and status == "disabled":
        kind = TenantDisabled
    return kind(**_envelope(change, _text(new, "changedAt"), names), tenant=_tenant(new))


def _token(image: Image) -> TokenSnapshot:
    return TokenSnapshot(
        token_id=_text(image, "tokenId") or "",
        name=_text(image, "name") or "",
        created_at=_text(image, "createdAt") or "",
        expires_at=_text(image, "expiresAt"),
        revoked_at=_text(image, "revokedAt"),
    )


def token_created(change: Change) -> ManagementEvent:
    names = ["name", "expires_at"] if _text(change.new, "expiresAt") else ["name"]
    return TokenCreated(**_envelope(change, _text(change.new, "createdAt"), names), token=_token(change.new))


def token_modified(change: Change) -> ManagementEvent | None:
    revoked = _text(change.new, "revokedAt")
    if revoked and not _text(change.old, "revokedAt"):
        return TokenRevoked(**_envelope(change, revoked, ["revoked_at"]), token=_token(change.new))
    # The expiry check's conditional write of a threshold (core.token_expiry): one event per threshold.
    warned = change.new.get("expiryWarnedDays", {}).get("N")
    if warned is not None and warned != change.old.get("expiryWarnedDays", {}).get("N"):
        envelope = _envelope(change, _text(change.new, "changedAt"), ["expiry_warned_days"])
        return TokenExpiring(**envelope, token=_token(change.new), threshold_days=int(warned))
    return None


def _link(image: Image) -> SetupLinkSnapshot:
    return SetupLinkSnapshot(
        link_id=_text(image, "linkId") or "",
        created_at=_text(image, "createdAt") or "",
        expires_at=_text(image, "expiresAt") or "",
        redeemed_at=_text(image, "redeemedAt"),
    )


def setup_link_created(change: Change) -> ManagementEvent:
    names = ["expires_at", "return_url"] if _text(change.new, "returnUrl") else ["expires_at"]
    return SetupLinkCreated(
        **_envelope(change, _text(change.new, "createdAt"), names), link=_link(change.new)
    )


def setup_link_modified(change: Change) -> ManagementEvent | None:
    redeemed = _text(change.new, "redeemedAt")
    if not redeemed or _text(change.old, "redeemedAt"):
        return None
    return SetupLinkRedeemed(**_envelope(change, redeemed, ["redeemed_at"]), link=_link(change.new))
