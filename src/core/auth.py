"""Bearer-token authentication: the authorizer's whole decision, independent of HTTP.

The decision depends on the Authorization header alone (the token names its tenant), which
is what lets API Gateway cache it by that header: the caller scopes the resulting policy to
the token's tenant, so a cached "allow" can never open another tenant's URL.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from core.cache import TtlCache
from core.errors import ServiceUnavailable
from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from core.tenants import Tenant
from core.tokens import TokenMetadata, parse_authorization_header, verify_token


class AuthFailure(StrEnum):
    """Why a token was refused: for metrics and logs only; every one of them is the same 401."""

    MISSING = "missing"
    MALFORMED = "malformed"
    UNKNOWN_TENANT = "unknown_tenant"
    TENANT_DISABLED = "tenant_disabled"
    UNKNOWN_TOKEN = "unknown_token"  # noqa: S105 - a reason label  # nosec B105
    WRONG_SECRET = "wrong_secret"  # noqa: S105 - a reason label  # nosec B105
    REVOKED = "revoked"
    EXPIRED = "expired"


class AuthenticationFailed(Exception):
    def __init__(
        self, reason: AuthFailure, tenant_id: str | None = None, token_id: str | None = None
    ) -> None:
        self.reason = reason
        self.tenant_id = tenant_id
        self.token_id = token_id  # the id the token named (never the token)
        super().__init__(reason.value)


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: str
    token_id: str
    profile_json: str = ""  # the tenant's profile, passed to the handlers in the authorizer context
    api_key: str | None = None  # the tenant's usage plan key: its own throttling bucket


# A token that the warm container has never seen may be newer than the cached secret: refetch,
# but no more often than this, so a flood of bad tokens cannot hammer Secrets Manager.
MISS_REFRESH_SECONDS = 5.0
LAST_USED_RESOLUTION = timedelta(minutes=15)
REFUSAL_RESOLUTION = timedelta(minutes=1)
# Refusals of an existing tenant are recorded on it; unknown tenants have nowhere to record them.
_RECORDED = frozenset(
    {
        AuthFailure.TENANT_DISABLED,
        AuthFailure.UNKNOWN_TOKEN,
        AuthFailure.WRONG_SECRET,
        AuthFailure.REVOKED,
        AuthFailure.EXPIRED,
    }
)


class Authenticator:
    def __init__(
        self,
        table: TenantTable,
        hashes: TokenHashStore,
        hash_cache: TtlCache[dict[str, str]],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._table = table
        self._hashes = hashes
        self._cache = hash_cache
        self._now = now
        self._refusals_noted: dict[str, datetime] = {}

    def authenticate(self, authorization: str | None) -> Principal:
        try:
            return self._authenticate(authorization)
        except AuthenticationFailed as failure:
            if failure.token_id is not None and failure.reason in _RECORDED:
                self._note_refusal(failure)
            raise

    def _note_refusal(self, failure: AuthenticationFailed) -> None:
        """The tenant's last refused token, for its health (`GET /tenants/{t}/health`): at most one
        write per tenant per REFUSAL_RESOLUTION from this container, and the table keeps the newest."""
        assert failure.tenant_id is not None
        assert failure.token_id is not None
        now = self._now()
        last = self._refusals_noted.get(failure.tenant_id)
        if last is not None and now - last < REFUSAL_RESOLUTION:
            return
        self._refusals_noted[failure.tenant_id] = now
        if len(self._refusals_noted) > 10_000:  # bounded: a flood of tenants cannot grow it forever
            self._refusals_noted.clear()
        with suppress(ServiceUnavailable):  # best effort: never turns a 401 into a 503
            self._table.record_refusal(
                failure.tenant_id, failure.reason.value, failure.token_id, now, now - REFUSAL_RESOLUTION
            )

    def _authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise AuthenticationFailed(AuthFailure.MISSING)
        token = parse_authorization_header(authorization)
        if token is None:
            raise AuthenticationFailed(AuthFailure.MALFORMED)
        tenant_id = token.tenant_id
        tenant, meta = self._table.get_tenant_and_token(tenant_id, token.token_id)
        if tenant is None:
            raise AuthenticationFailed(AuthFailure.UNKNOWN_TENANT, tenant_id)
        if meta is None:
            raise AuthenticationFailed(AuthFailure.UNKNOWN_TOKEN, tenant_id, token.token_id)
        if not verify_token(token, self._stored_hashes(tenant_id, token.token_id)):
            raise AuthenticationFailed(AuthFailure.WRONG_SECRET, tenant_id, token.token_id)
        # Checked after the secret so that these reasons are only reported for genuine tokens.
        now = self._now()
        try:
            self._check_standing(tenant, meta, now)
        except AuthenticationFailed as failure:
            raise AuthenticationFailed(failure.reason, tenant_id, token.token_id) from None
        if tenant.connected_at is None:
            # The tenant's first successful IdP request (its stream record: scim.tenant.connected).
            with suppress(ServiceUnavailable):
                self._table.mark_connected(tenant_id, now)
        if meta.last_used_at is None or now - meta.last_used_at >= LAST_USED_RESOLUTION:
            with suppress(ServiceUnavailable):  # best effort: "last used" must never refuse a request
                # An expiring token issued before the expiry registry existed joins it here.
                expires = meta.expires_at if meta.revoked_at is None else None
                self._table.touch_token(tenant_id, token.token_id, now, now - LAST_USED_RESOLUTION, expires)
        return Principal(
            tenant_id=tenant_id,
            token_id=token.token_id,
            profile_json=tenant.profile.to_json(),
            api_key=tenant.api_key,
        )

    def _stored_hashes(self, tenant_id: str, token_id: str) -> dict[str, str]:
        def load() -> dict[str, str]:
            return self._hashes.get_hashes(tenant_id)

        stored = self._cache.get(tenant_id, load)
        if token_id not in stored:
            stored = self._cache.get(tenant_id, load, max_age=MISS_REFRESH_SECONDS)
        return stored

    @staticmethod
    def _check_standing(tenant: Tenant, meta: TokenMetadata, now: datetime) -> None:
        if not tenant.active:
            raise AuthenticationFailed(AuthFailure.TENANT_DISABLED, tenant.tenant_id)
        state = meta.state(now)
        if state == "revoked":
            raise AuthenticationFailed(AuthFailure.REVOKED, tenant.tenant_id)
        if state == "expired":
            raise AuthenticationFailed(AuthFailure.EXPIRED, tenant.tenant_id)
