"""Tenant and token management: the one implementation behind the management API and `scimctl`.

No HTTP and no environment: the caller passes the stores, the clock, the SCIM API's base URL and
who is acting (`Stamp`). Every write is conditional (a tenant id is never reused; a token is
revoked once), is stamped with its actor on the item (its stream record becomes the event, see
`core.events.rules`) and is recorded in the tenant's audit trail with that actor.

Creates may carry an `IdempotencyKey` (`create_tenant_once`, `issue_token_once`): the record of
the first answer is written in the same DynamoDB transaction as the tenant or token metadata, so a
retry replays that answer and never creates a second one (`core.idempotency`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from core import signing
from core.audit import AuditRecord
from core.errors import BadRequest, Conflict, NotFound
from core.idempotency import IdempotencyKey, IdempotencyMismatch
from core.profiles import PRESETS, Profile
from core.role_recompute import RoleRecompute
from core.store.audit_table import AuditTable
from core.store.idempotency_table import IdempotencyRecord, IdempotencyTable
from core.store.tenants_table import Stamp, TenantTable, TransactionConflict
from core.store.token_hashes import TokenHashStore
from core.tenant_reset import TenantReset
from core.tenants import Tenant, TenantStatus, is_valid_tenant_id
from core.tokens import TokenMetadata, generate_token, hash_token

__all__ = ["IssuedToken", "Management", "ManagementError", "Page", "Stamp"]

T = TypeVar("T")
MAX_PAGE = 200
EXPIRING_WITHIN = timedelta(days=30)
HEALTH_AUDIT_WINDOW = 100  # newest audit records read for the last request and the last error
_CURSOR_MAC_BYTES = 16
_MAX_CURSOR_LENGTH = 1024
_DAY_SECONDS = 86_400


class ManagementError(BadRequest):
    """A refusal a caller can act on (400 unless a subclass says otherwise); `scimctl` exits 2."""


class InvalidTenantId(ManagementError):
    default_detail = "invalid tenant id"


class TenantNotFound(ManagementError):
    status = 404


class TokenNotFound(ManagementError):
    status = 404


class TenantDisabled(ManagementError):
    status = 409


class InvalidCursor(ManagementError):
    default_detail = "The cursor is not valid."


class ApiKeyIssuer(Protocol):
    def create(self, tenant_id: str) -> str: ...


@dataclass(frozen=True)
class IssuedToken:
    token: str  # plaintext: shown once by the caller, never stored
    metadata: TokenMetadata


@dataclass(frozen=True, slots=True)
class Page:
    data: list[dict[str, Any]]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"data": self.data, "next_cursor": self.next_cursor}


def _iso(value: datetime | None) -> str | None:
    return (
        None if value is None else value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def days_to_expiry(meta: TokenMetadata, now: datetime) -> int | None:
    """Whole days (rounded up) until an active token expires, if it expires within 30 days: the
    one rule behind health's ``expiring_within_30_days`` and the setup page's warning."""
    if meta.state(now) != "active" or meta.expires_at is None or meta.expires_at - now > EXPIRING_WITHIN:
        return None
    return math.ceil((meta.expires_at - now) / timedelta(days=1))


def invalid_tenant_id(tenant_id: str) -> InvalidTenantId:
    return InvalidTenantId(
        f"invalid tenant id {tenant_id!r}: use 2-32 lowercase letters, digits and single inner "
        "hyphens (e.g. 'acme' or 'acme-eu')"
    )


def require_tenant(table: TenantTable, tenant_id: str) -> Tenant:
    """The tenant, or 404 for an invalid, unknown or deleted id (one GetItem; the directory reads
    use it too)."""
    tenant = table.get_tenant(tenant_id) if is_valid_tenant_id(tenant_id) else None
    if tenant is None or tenant.status is TenantStatus.DELETED:
        raise TenantNotFound(f"tenant {tenant_id!r} does not exist")
    return tenant


class Management:
    def __init__(
        self,
        table: TenantTable,
        hashes: TokenHashStore,
        flush_authorizer_cache: Callable[[], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        usage_plan: ApiKeyIssuer | None = None,
        *,
        audit: AuditTable | None = None,
        idempotency: IdempotencyTable | None = None,
        audit_retention_days: int = 90,
        scim_base_url: str = "",
        default_stamp: Callable[[], Stamp] | None = None,
        resets: TenantReset | None = None,
        start_reset_worker: Callable[[str, str], None] | None = None,
        role_recompute: RoleRecompute | None = None,
        start_roles_worker: Callable[[str, str], None] | None = None,
    ) -> None:
        self._table = table
        self._hashes = hashes
        self._flush = flush_authorizer_cache
        self._now = now
        self._usage_plan = usage_plan
        self._audit = audit
        self._idempotency = idempotency
        self._retention_days = audit_retention_days
        self._scim_base_url = scim_base_url.rstrip("/")
        self._default_stamp = default_stamp
        self._resets = resets
        # Runs the reset's batches elsewhere (the TenantReset function; a thread locally).
        self._start_reset_worker = start_reset_worker
        self._role_recompute = role_recompute
        self._start_roles_worker = start_roles_worker

    # -- tenants ---------------------------------------------------------------------------------
    def create_tenant(
        self,
        tenant_id: str,
        display_name: str | None = None,
        profile: Profile | None = None,
        *,
        external_id: str | None = None,
        stamp: Stamp | None = None,
        also_write: Callable[[Tenant], list[Any]] | None = None,
    ) -> Tenant:
        """`also_write` gives more items for the tenant row's transaction (its idempotency record)."""
        if not is_valid_tenant_id(tenant_id):
            raise invalid_tenant_id(tenant_id)
        stamp = self._stamped(stamp)
        tenant = Tenant(
            tenant_id=tenant_id,
            display_name=display_name or tenant_id,
            created_at=self._now(),
            profile=profile or PRESETS["default"],
            external_id=external_id,
        )
        # Secret first: a tenant row without its secret could never authenticate anyone.
        self._hashes.create_secret(tenant_id, tags={"scim:tenant": tenant_id})
        self._table.create_tenant(tenant, stamp, also_write(tenant) if also_write else ())
        self._record(stamp, tenant_id, "POST", "Tenant", tenant_id, ("name", "profile", "status"), 201)
        return self.ensure_api_key(tenant_id) if self._usage_plan is not None else tenant

    def ensure_api_key(self, tenant_id: str) -> Tenant:
        """Give the tenant its own usage plan key (its own throttling bucket) unless it has one.

        Tenants created before per-tenant keys share the stack's bucket (the authorizer logs a
        warning for each) until this runs: `scimctl tenant api-key TENANT`."""
        tenant = self.require_tenant(tenant_id)
        if tenant.api_key is not None:
            return tenant
        if self._usage_plan is None:
            raise ManagementError("this stack has no tenant usage plan (TenantUsagePlanId output)")
        self._table.set_api_key(tenant_id, self._usage_plan.create(tenant_id))
        self._flush_cache()  # cached authorizer answers still name the shared bucket
        return self.require_tenant(tenant_id)

    def require_tenant(self, tenant_id: str) -> Tenant:
        return require_tenant(self._table, tenant_id)

    def list_tenants(self) -> list[Tenant]:
        tenants = self._table.list_tenants()
        return sorted((t for t in tenants if t.status is not TenantStatus.DELETED), key=lambda t: t.tenant_id)

    def tenants_page(self, limit: int, cursor: str | None) -> Page:
        """Tenants in id order; deleted tenants are skipped (a page may hold fewer than `limit`)."""
        after = self._decode_cursor("#tenants", "tenants", cursor)
        tenants, last = self._table.tenants_page(_check_limit(limit), after.get("after"))
        data = [self.tenant_view(t) for t in tenants if t.status is not TenantStatus.DELETED]
        return Page(data, self._encode_cursor("#tenants", "tenants", {"after": last}) if last else None)

    def set_tenant_status(self, tenant_id: str, status: TenantStatus, stamp: Stamp | None = None) -> Tenant:
        return self.update_tenant(tenant_id, status=status, stamp=stamp)

    def update_tenant(
        self,
        tenant_id: str,
        *,
        display_name: str | None = None,
        status: TenantStatus | None = None,
        profile: Profile | None = None,
        stamp: Stamp | None = None,
    ) -> Tenant:
        """Change name, status and/or profile; a disabled tenant's tokens stop working at once
        (the authorizer cache is flushed) or, if the flush fails, within AuthorizerCacheTtl."""
        if status is TenantStatus.DELETED:
            raise ManagementError("use DELETE to delete a tenant")
        stamp = self._stamped(stamp)
        before = self.require_tenant(tenant_id)
        changed = [
            name
            for name, new, old in (
                ("name", display_name, before.display_name),
                ("status", status, before.status),
            )
            if new is not None and new != old
        ]
        if profile is not None:
            changed.append("profile")
        # One conditional write: name, status and profile change together or not at all.
        after = self._table.update_tenant(
            tenant_id,
            display_name=display_name,
            status=status,
            profile=profile,
            profile_version=before.profile_version,
            stamp=stamp,
        )
        if "profile" in changed or status is TenantStatus.DISABLED:
            self._flush_cache()
        if profile is not None and _roles_changed(before.profile, profile):
            self._recompute_roles(tenant_id)
        self._record(stamp, tenant_id, "PATCH", "Tenant", tenant_id, tuple(sorted(changed)), 200)
        return after if after is not None else self.require_tenant(tenant_id)

    def set_profile(self, tenant_id: str, profile: Profile, stamp: Stamp | None = None) -> Tenant:
        """Replace a tenant's profile; effective at once (the authorizer cache is flushed)."""
        return self.update_tenant(tenant_id, profile=profile, stamp=stamp)

    def delete_tenant(self, tenant_id: str, stamp: Stamp | None = None) -> None:
        """Revoke every token and keep the tenant row as a tombstone (status "deleted"), so the
        id is never reused. Its users, groups and audit trail stay in the table, unreachable
        (no token authenticates a deleted tenant), until purged: docs/management-api.md."""
        stamp = self._stamped(stamp)
        self.require_tenant(tenant_id)
        self._table.update_tenant(tenant_id, status=TenantStatus.DELETED, stamp=stamp)
        self._revoke_all(tenant_id, stamp)
        self._record(stamp, tenant_id, "DELETE", "Tenant", tenant_id, ("status",), 204)

    def reset_tenant(self, tenant_id: str, stamp: Stamp | None = None) -> dict[str, Any]:
        """Start deleting the tenant's users, groups and memberships (`core.tenant_reset`), or
        answer the reset already running (and start its worker again: a stalled one resumes).
        Tokens, profile and audit trail stay."""
        stamp = self._stamped(stamp)
        self.require_tenant(tenant_id)
        if self._resets is None:
            raise ManagementError("tenant reset is not configured on this stack")
        record, started = self._resets.start(tenant_id, stamp.actor if stamp else "unknown")
        if started:
            self._record(stamp, tenant_id, "POST", "Tenant", tenant_id, ("reset",), 202)
        if self._start_reset_worker is not None:
            self._start_reset_worker(tenant_id, record.reset_id)
        return record.view()

    # -- tokens ----------------------------------------------------------------------------------
    def issue_token(
        self,
        tenant_id: str,
        name: str,
        expires_in: timedelta | None = None,
        *,
        stamp: Stamp | None = None,
        also_write: Callable[[IssuedToken], list[Any]] | None = None,
    ) -> IssuedToken:
        """A new token; `also_write` gives more items for its metadata's transaction (idempotency)."""
        return self._issue(self.require_tenant(tenant_id), name, expires_in, self._stamped(stamp), also_write)

    def _issue(
        self,
        tenant: Tenant,
        name: str,
        expires_in: timedelta | None,
        stamp: Stamp | None,
        also_write: Callable[[IssuedToken], list[Any]] | None,
    ) -> IssuedToken:
        tenant_id = tenant.tenant_id
        if not tenant.active:
            raise TenantDisabled(f"tenant {tenant_id!r} is disabled; enable it before issuing tokens")
        token_id, token = generate_token(tenant_id)
        now = self._now()
        meta = TokenMetadata(
            tenant_id=tenant_id,
            token_id=token_id,
            name=name,
            created_at=now,
            expires_at=now + expires_in if expires_in else None,
        )
        issued = IssuedToken(token=token, metadata=meta)
        # Metadata first, then the hash: a token is only usable once both exist.
        self._table.put_token(meta, stamp, also_write(issued) if also_write else ())
        self._hashes.put_hash(tenant_id, token_id, hash_token(token))
        self._record(stamp, tenant_id, "POST", "Token", token_id, ("name", "expires_at"), 201)
        return issued

    def list_tokens(self, tenant_id: str) -> list[TokenMetadata]:
        self.require_tenant(tenant_id)
        return sorted(self._table.list_tokens(tenant_id), key=lambda t: t.created_at)

    def tokens_page(self, tenant_id: str, limit: int, cursor: str | None) -> Page:
        """A tenant's tokens, oldest first (a tenant holds a handful: read whole, served in pages)."""
        state = self._decode_cursor(tenant_id, "tokens", cursor)
        tokens = self.list_tokens(tenant_id)
        start = int(state.get("offset", 0))
        chunk = tokens[start : start + _check_limit(limit)]
        more = start + len(chunk) < len(tokens)
        cursor_out = (
            self._encode_cursor(tenant_id, "tokens", {"offset": start + len(chunk)}) if more else None
        )
        return Page([self.token_view(t) for t in chunk], cursor_out)

    def revoke_token(self, tenant_id: str, token_id: str, stamp: Stamp | None = None) -> None:
        stamp = self._stamped(stamp)
        self.require_tenant(tenant_id)
        try:
            self._table.revoke_token(tenant_id, token_id, self._now(), stamp)
        except NotFound as exc:
            raise TokenNotFound(str(exc.detail)) from exc
        self._hashes.remove_hash(tenant_id, token_id)
        self._flush_cache()
        self._record(stamp, tenant_id, "DELETE", "Token", token_id, ("revoked_at",), 204)

    def revoke_all_tokens(self, tenant_id: str, stamp: Stamp | None = None) -> list[str]:
        """Revoke every token of a tenant (a leaked batch, an offboarded IdP); the tenant stays active.

        Returns the ids that were not revoked before. Hashes are removed even for ids without
        metadata, so a half-issued token cannot survive either.
        """
        stamp = self._stamped(stamp)
        self.require_tenant(tenant_id)
        return self._revoke_all(tenant_id, stamp)

    def _revoke_all(self, tenant_id: str, stamp: Stamp | None) -> list[str]:
        newly_revoked: list[str] = []
        for meta in sorted(self._table.list_tokens(tenant_id), key=lambda t: t.created_at):
            if meta.revoked_at is None:
                self._table.revoke_token(tenant_id, meta.token_id, self._now(), stamp)
                newly_revoked.append(meta.token_id)
        self._hashes.remove_all(tenant_id)  # one read and one write, whatever the count
        self._flush_cache()
        self._record_all(
            stamp,
            [(tenant_id, "DELETE", "Token", token_id, ("revoked_at",), 204) for token_id in newly_revoked],
        )
        return newly_revoked

    # -- idempotent creates (the management API's POSTs) -------------------------------------------
    def create_tenant_once(
        self,
        key: IdempotencyKey | None,
        request: Mapping[str, Any],
        *,
        tenant_id: str,
        display_name: str | None,
        profile: Profile | None,
        external_id: str | None,
        stamp: Stamp | None,
    ) -> tuple[int, dict[str, Any]]:
        """(status, answer) of `POST /tenants`; a retry with the same key replays the first answer.
        The key is scoped to the tenant being created."""
        if not is_valid_tenant_id(tenant_id):
            raise invalid_tenant_id(tenant_id)
        fingerprint, replay = self._replay(key, tenant_id, "create_tenant", request)
        if replay is not None:
            return replay
        record = self._record_items(key, tenant_id, fingerprint, self.tenant_view)
        try:
            tenant = self.create_tenant(
                tenant_id, display_name, profile, external_id=external_id, stamp=stamp, also_write=record
            )
        except TransactionConflict:
            return self._raced(key, tenant_id, "create_tenant", request)
        return 201, self.tenant_view(tenant)

    def issue_token_once(
        self,
        key: IdempotencyKey | None,
        request: Mapping[str, Any],
        *,
        tenant_id: str,
        name: str,
        expires_in: timedelta | None,
        stamp: Stamp | None,
    ) -> tuple[int, dict[str, Any]]:
        """(status, answer) of `POST /tenants/{t}/tokens`: the only answer that holds the token.
        A retry with the same key gets the same token (its record is sealed under the key)."""
        tenant = self.require_tenant(tenant_id)
        fingerprint, replay = self._replay(key, tenant_id, "issue_token", request)
        if replay is not None:
            # The first attempt may have failed between the metadata and the hash: complete it.
            answer = replay[1]
            hashes = self._hashes.get_hashes(tenant_id)
            if answer["token_id"] not in hashes:
                self._hashes.put_hash(tenant_id, answer["token_id"], hash_token(answer["token"]))
            return replay
        record = self._record_items(key, tenant_id, fingerprint, self.issued_view)
        try:
            issued = self._issue(tenant, name, expires_in, self._stamped(stamp), record)
        except TransactionConflict:
            return self._raced(key, tenant_id, "issue_token", request)
        return 201, self.issued_view(issued)

    def create_once(
        self,
        key: IdempotencyKey | None,
        request: Mapping[str, Any],
        *,
        tenant_id: str,
        operation: str,
        create: Callable[[Callable[[T], list[Any]] | None], T],
        view: Callable[[T], dict[str, Any]],
    ) -> tuple[int, dict[str, Any]]:
        """(201, view) of a create that takes `also_write` items (e.g. a setup link); a retry with
        the same key replays the first answer, as `issue_token_once` does. `create` checks the
        tenant (one read); only its id is checked here, before it names any key."""
        if not is_valid_tenant_id(tenant_id):
            raise TenantNotFound(f"tenant {tenant_id!r} does not exist")
        fingerprint, replay = self._replay(key, tenant_id, operation, request)
        if replay is not None:
            return replay
        try:
            created = create(self._record_items(key, tenant_id, fingerprint, view))
        except TransactionConflict:
            return self._raced(key, tenant_id, operation, request)
        return 201, view(created)

    def _replay(
        self, key: IdempotencyKey | None, tenant_id: str, operation: str, request: Mapping[str, Any]
    ) -> tuple[str, tuple[int, dict[str, Any]] | None]:
        """(fingerprint, the first answer if this key was used before for this tenant)."""
        if key is None or self._idempotency is None:
            return "", None
        fingerprint = key.fingerprint(operation, dict(request))
        found = self._idempotency.get(tenant_id, key.digest, int(time.time()))
        if found is None:
            return fingerprint, None
        if found.fingerprint != fingerprint:
            raise IdempotencyMismatch()
        answer: dict[str, Any] = key.open(found.sealed)
        return fingerprint, (found.status, answer)

    def _record_items(
        self,
        key: IdempotencyKey | None,
        tenant_id: str,
        fingerprint: str,
        view: Callable[[T], dict[str, Any]],
    ) -> Callable[[T], list[Any]] | None:
        """The idempotency record as a transaction item, built from the object about to be written."""
        table = self._idempotency
        if key is None or table is None:
            return None

        def items(created: T) -> list[Any]:
            sealed = key.seal(view(created))
            return [
                table.entry(
                    tenant_id, key.digest, IdempotencyRecord(fingerprint, 201, sealed), int(time.time())
                )
            ]

        return items

    def _raced(
        self, key: IdempotencyKey | None, tenant_id: str, operation: str, request: Mapping[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        # A concurrent request with the same key committed first: answer what it answered.
        _, replay = self._replay(key, tenant_id, operation, request)
        if replay is None:
            raise Conflict("a request with this Idempotency-Key is in progress; retry it")
        return replay

    # -- reads: views, health, audit ---------------------------------------------------------------
    def scim_url(self, tenant_id: str) -> str:
        return f"{self._scim_base_url}/{tenant_id}"

    def tenant_view(self, tenant: Tenant) -> dict[str, Any]:
        return {
            "tenant_id": tenant.tenant_id,
            "name": tenant.display_name,
            "status": tenant.status.value,
            "preset": tenant.profile.preset,
            "external_id": tenant.external_id,
            "scim_base_url": self.scim_url(tenant.tenant_id),
            "created_at": _iso(tenant.created_at),
            "connected_at": _iso(tenant.connected_at),
            "profile": tenant.profile.model_dump(mode="json"),
        }

    def token_view(self, meta: TokenMetadata) -> dict[str, Any]:
        return {
            "token_id": meta.token_id,
            "name": meta.name,
            "created_at": _iso(meta.created_at),
            "expires_at": _iso(meta.expires_at),
            "last_used_at": _iso(meta.last_used_at),
            "revoked_at": _iso(meta.revoked_at),
            "state": meta.state(self._now()),
            # The token id's last four characters: what a support conversation can quote.
            "last_four": meta.token_id[-4:],
        }

    def issued_view(self, issued: IssuedToken) -> dict[str, Any]:
        meta = issued.metadata
        return {
            "token_id": meta.token_id,
            "token": issued.token,
            "name": meta.name,
            "created_at": _iso(meta.created_at),
            "expires_at": _iso(meta.expires_at),
            "scim_base_url": self.scim_url(meta.tenant_id),
        }

    def health(self, tenant_id: str) -> dict[str, Any]:
        """What an operator asks first when an IdP "stopped syncing" (docs/management-api.md)."""
        tenant = self.require_tenant(tenant_id)
        counts = self._table.resource_counts(tenant_id)
        now = self._now()
        tokens = self._table.list_tokens(tenant_id)
        used = [t.last_used_at for t in tokens if t.last_used_at is not None]
        recent = self._audit.latest(tenant_id, HEALTH_AUDIT_WINDOW) if self._audit is not None else []
        idp = [r for r in recent if r.actor is None]  # SCIM requests, not management writes
        error = next((r for r in idp if r.status >= 400), None)
        return {
            "tenant_id": tenant_id,
            "status": tenant.status.value,
            "connected_at": _iso(tenant.connected_at),
            "last_authenticated_at": _iso(max(used)) if used else None,
            "last_request": (
                {"at": idp[0].at, "method": idp[0].method, "status": idp[0].status} if idp else None
            ),
            "last_error": (
                {"at": error.at, "status": error.status, "scimType": error.scim_type, "detail": error.detail}
                if error
                else None
            ),
            "last_refused_token": (
                {
                    "at": _iso(tenant.refused_at),
                    "reason": tenant.refused_reason,
                    "token_id": tenant.refused_token_id,
                }
                if tenant.refused_at
                else None
            ),
            "reset": self._reset_view(tenant_id),
            "roles_recompute": self._roles_job_view(tenant_id),
            "users": counts["users"],
            "users_active": counts["users_active"],
            "users_inactive": counts["users_inactive"],
            "groups": counts["groups"],
            "tokens": {
                "active": sum(1 for t in tokens if t.state(now) == "active"),
                "expiring_within_30_days": [t.token_id for t in tokens if days_to_expiry(t, now) is not None],
            },
        }

    def _recompute_roles(self, tenant_id: str) -> None:
        """The mappings changed: every user's effective roles, in bounded batches elsewhere."""
        if self._role_recompute is None:
            return
        self._role_recompute.start(tenant_id, self._start_roles_worker)

    def _roles_job_view(self, tenant_id: str) -> dict[str, Any] | None:
        job = self._role_recompute.status(tenant_id) if self._role_recompute is not None else None
        return job.view() if job is not None else None

    def _reset_view(self, tenant_id: str) -> dict[str, Any] | None:
        record = self._resets.status(tenant_id) if self._resets is not None else None
        return record.view() if record is not None else None

    def audit_page(
        self, tenant_id: str, *, since: str, resource_id: str | None, limit: int, cursor: str | None
    ) -> Page:
        self.require_tenant(tenant_id)
        if self._audit is None:
            return Page([], None)
        scope = f"audit|{since}|{resource_id or ''}"
        state = self._decode_cursor(tenant_id, scope, cursor)
        records, last = self._audit.page(
            tenant_id,
            since=since,
            resource_id=resource_id,
            limit=_check_limit(limit),
            after=state.get("after"),
        )
        data = [r.model_dump(mode="json", exclude_none=True) | {"outcome": r.outcome} for r in records]
        return Page(data, self._encode_cursor(tenant_id, scope, {"after": last}) if last else None)

    # -- plumbing --------------------------------------------------------------------------------
    def _stamped(self, stamp: Stamp | None) -> Stamp | None:
        if stamp is None and self._default_stamp is not None:
            return self._default_stamp()
        return stamp

    def record_write(
        self,
        stamp: Stamp | None,
        tenant_id: str,
        *,
        method: str,
        resource_type: str,
        resource_id: str,
        changed: tuple[str, ...],
        status: int,
    ) -> None:
        """A management write made by another core module (a setup link) in the audit trail."""
        self._record(self._stamped(stamp), tenant_id, method, resource_type, resource_id, changed, status)

    def _record(  # noqa: PLR0917 - one audit record's fields, in their order
        self,
        stamp: Stamp | None,
        tenant_id: str,
        method: str,
        resource_type: str,
        resource_id: str,
        changed: tuple[str, ...],
        status: int,
    ) -> None:
        """The write in the tenant's audit trail, with its actor (skipped without an audit store)."""
        self._record_all(stamp, [(tenant_id, method, resource_type, resource_id, changed, status)])

    def _record_all(
        self, stamp: Stamp | None, writes: list[tuple[str, str, str, str, tuple[str, ...], int]]
    ) -> None:
        if self._audit is None or stamp is None or not writes:
            return
        at = self._now().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        records = [
            AuditRecord(
                tenant_id=tenant_id,
                at=at,
                request_id=stamp.request_id or "-",
                # A management write has no token: `actor` names the caller.
                token_id="",  # nosec B106
                method=method,
                resource_type=resource_type,
                resource_id=resource_id,
                changed_attributes=changed,
                status=status,
                actor=stamp.actor,
            )
            for tenant_id, method, resource_type, resource_id, changed, status in writes
        ]
        self._audit.put(records, int(time.time()) + self._retention_days * _DAY_SECONDS)

    def _flush_cache(self) -> None:
        # API Gateway caches authorizer decisions per token for AuthorizerCacheTtl seconds.
        if self._flush is not None:
            self._flush()

    def _encode_cursor(self, scope: str, purpose: str, state: dict[str, Any]) -> str:
        raw = json.dumps({"s": scope, "p": purpose, **state}, separators=(",", ":")).encode()
        mac = signing.keyring().mac(scope, "management-cursor", [purpose, raw], _CURSOR_MAC_BYTES)
        return f"{signing.b64url(raw)}.{signing.b64url(mac)}"

    def _decode_cursor(self, scope: str, purpose: str, cursor: str | None) -> dict[str, Any]:
        """A cursor this API issued for this scope (tenant) and list, or 400: signed, so an edited
        cursor or another tenant's never reads anything."""
        if not cursor:
            return {}
        body, _, tag = cursor.partition(".")
        try:
            if len(cursor) > _MAX_CURSOR_LENGTH:
                raise ValueError("too long")
            raw, mac = signing.b64url_decode(body), signing.b64url_decode(tag)
            valid = len(mac) == _CURSOR_MAC_BYTES and signing.keyring().verify(
                scope, "management-cursor", [purpose, raw], mac
            )
            state = json.loads(raw) if valid else None
        except ValueError:
            raise InvalidCursor() from None
        if not isinstance(state, dict) or state.get("s") != scope or state.get("p") != purpose:
            raise InvalidCursor()
        return state


def _roles_changed(before: Profile, after: Profile) -> bool:
    return (before.role_mappings, before.default_role) != (after.role_mappings, after.default_role)


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ManagementError(f"limit must be between 1 and {MAX_PAGE}")
    return limit
