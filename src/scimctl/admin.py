"""Tenant and token administration, shared by the CLI and the local gateway's demo seeding."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.errors import NotFound
from core.profiles import PRESETS, Profile
from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from core.tenants import Tenant, TenantStatus, is_valid_tenant_id
from core.tokens import TokenMetadata, generate_token, hash_token
from scimctl.usage_plan import UsagePlanKeys


class AdminError(Exception):
    """A refusal an operator can act on; the CLI prints it and exits non-zero."""


@dataclass(frozen=True)
class IssuedToken:
    token: str  # plaintext: shown once by the caller, never stored
    metadata: TokenMetadata


class Admin:
    def __init__(
        self,
        table: TenantTable,
        hashes: TokenHashStore,
        flush_authorizer_cache: Callable[[], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        usage_plan: UsagePlanKeys | None = None,
    ) -> None:
        self._table = table
        self._hashes = hashes
        self._flush = flush_authorizer_cache
        self._now = now
        self._usage_plan = usage_plan

    def create_tenant(
        self, tenant_id: str, display_name: str | None = None, profile: Profile | None = None
    ) -> Tenant:
        if not is_valid_tenant_id(tenant_id):
            raise AdminError(
                f"invalid tenant id {tenant_id!r}: use 2-32 lowercase letters, digits and single inner "
                "hyphens (e.g. 'acme' or 'acme-eu')"
            )
        tenant = Tenant(
            tenant_id=tenant_id,
            display_name=display_name or tenant_id,
            created_at=self._now(),
            profile=profile or PRESETS["default"],
        )
        # Secret first: a tenant row without its secret could never authenticate anyone.
        self._hashes.create_secret(tenant_id, tags={"scim:tenant": tenant_id})
        self._table.create_tenant(tenant)
        return self.ensure_api_key(tenant_id) if self._usage_plan is not None else tenant

    def ensure_api_key(self, tenant_id: str) -> Tenant:
        """Give the tenant its own usage plan key (its own throttling bucket) unless it has one.

        Tenants created before per-tenant keys share the stack's bucket (the authorizer logs a
        warning for each) until this runs: `scimctl tenant api-key TENANT`."""
        tenant = self.require_tenant(tenant_id)
        if tenant.api_key is not None:
            return tenant
        if self._usage_plan is None:
            raise AdminError("this stack has no tenant usage plan (TenantUsagePlanId output)")
        self._table.set_api_key(tenant_id, self._usage_plan.create(tenant_id))
        self._flush_cache()  # cached authorizer answers still name the shared bucket
        return self.require_tenant(tenant_id)

    def require_tenant(self, tenant_id: str) -> Tenant:
        tenant = self._table.get_tenant(tenant_id) if is_valid_tenant_id(tenant_id) else None
        if tenant is None:
            raise AdminError(f"tenant {tenant_id!r} does not exist")
        return tenant

    def list_tenants(self) -> list[Tenant]:
        return sorted(self._table.list_tenants(), key=lambda t: t.tenant_id)

    def set_tenant_status(self, tenant_id: str, status: TenantStatus) -> Tenant:
        self.require_tenant(tenant_id)
        self._table.set_tenant_status(tenant_id, status)
        if status is TenantStatus.DISABLED:
            self._flush_cache()
        return self.require_tenant(tenant_id)

    def set_profile(self, tenant_id: str, profile: Profile) -> Tenant:
        """Replace a tenant's profile; effective at once (the authorizer cache is flushed)."""
        tenant = self.require_tenant(tenant_id)
        self._table.set_profile(tenant_id, profile, tenant.profile_version)
        self._flush_cache()
        return self.require_tenant(tenant_id)

    def issue_token(self, tenant_id: str, name: str, expires_in: timedelta | None = None) -> IssuedToken:
        tenant = self.require_tenant(tenant_id)
        if not tenant.active:
            raise AdminError(f"tenant {tenant_id!r} is disabled; enable it before issuing tokens")
        token_id, token = generate_token(tenant_id)
        now = self._now()
        meta = TokenMetadata(
            tenant_id=tenant_id,
            token_id=token_id,
            name=name,
            created_at=now,
            expires_at=now + expires_in if expires_in else None,
        )
        # Metadata first, then the hash: a token is only usable once both exist.
        self._table.put_token(meta)
        self._hashes.put_hash(tenant_id, token_id, hash_token(token))
        return IssuedToken(token=token, metadata=meta)

    def list_tokens(self, tenant_id: str) -> list[TokenMetadata]:
        self.require_tenant(tenant_id)
        return sorted(self._table.list_tokens(tenant_id), key=lambda t: t.created_at)

    def revoke_token(self, tenant_id: str, token_id: str) -> None:
        self.require_tenant(tenant_id)
        try:
            self._table.revoke_token(tenant_id, token_id, self._now())
        except NotFound as exc:
            raise AdminError(str(exc.detail)) from exc
        self._hashes.remove_hash(tenant_id, token_id)
        self._flush_cache()

    def revoke_all_tokens(self, tenant_id: str) -> list[str]:
        """Revoke every token of a tenant (a leaked batch, an offboarded IdP); the tenant stays active.

        Returns the ids that were not revoked before. Hashes are removed even for ids without
        metadata, so a half-issued token cannot survive either.
        """
        self.require_tenant(tenant_id)
        newly_revoked: list[str] = []
        for meta in self.list_tokens(tenant_id):
            if meta.revoked_at is None:
                self._table.revoke_token(tenant_id, meta.token_id, self._now())
                newly_revoked.append(meta.token_id)
        for token_id in self._hashes.get_hashes(tenant_id):
            self._hashes.remove_hash(tenant_id, token_id)
        self._flush_cache()
        return newly_revoked

    def _flush_cache(self) -> None:
        # API Gateway caches authorizer decisions per token for AuthorizerCacheTtl seconds.
        if self._flush is not None:
            self._flush()
