"""What Users and Groups share: reads, listing, versioned writes with retry, deletes.

Every write is conditional on the version it read, so concurrent writers never lose an
update: without If-Match a losing writer re-reads and re-applies its change; with If-Match it
gets 412.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from core.discovery import ServiceCapabilities
from core.errors import NotFound, PreconditionFailed, ServiceUnavailable
from core.identity_cache import IdentityCache
from core.profiles import PRESETS, Profile, capabilities_for
from core.query.listing import ListContext, ListResult, list_resources
from core.query.request import SearchRequest
from core.representation import check_if_match, to_wire
from core.schema.model import Schema
from core.store.keys import Kind
from core.store.memberships_table import MembershipTable
from core.store.resources_table import Actor, ResourceTable, StoredResource, VersionConflict

WRITE_ATTEMPTS = 5
PROFILE_CACHE_SIZE = 256  # tenant profiles a warm container keeps narrowed schemas for
Change = Callable[[StoredResource], tuple[dict[str, Any], str | None]]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the tenant and token the authorizer vouched for, and where they see us."""

    tenant_id: str
    token_id: str
    request_id: str
    base_url: str
    profile: Profile = PRESETS["default"]

    def actor(self, at: str) -> Actor:
        return Actor(request_id=self.request_id, token_id=self.token_id, at=at)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ResourceService:
    kind: ClassVar[Kind]
    resource_type: ClassVar[str]
    name_attribute: ClassVar[str]

    def __init__(
        self,
        table: ResourceTable,
        memberships: MembershipTable,
        capabilities: ServiceCapabilities,
        *,
        clock: Callable[[], str] = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.table = table
        self.memberships = memberships
        self.capabilities = capabilities
        # The schemas of a tenant on the default profile; `schemas_for` applies a caller's profile.
        self.schemas: tuple[Schema, ...] = capabilities.schemas_for(self.resource_type)
        self.clock = clock
        self.new_id = new_id
        # Per profile object (`core.identity_cache`): capabilities_for's own cache key hashes
        # every schema definition, which cost more than the rest of a lookup request.
        self._by_profile = IdentityCache[tuple[Schema, ...]](PROFILE_CACHE_SIZE)

    def schemas_for(self, caller: Caller) -> tuple[Schema, ...]:
        """The resource type's schemas as the caller's tenant profile narrows them."""
        profile = caller.profile
        if profile is PRESETS["default"]:
            return self.schemas
        # A resource type the profile turns off keeps its default schemas (projections need them);
        # the service itself refuses its operations.
        return self._by_profile.get(
            (profile,),
            None,
            lambda: (
                capabilities_for(profile, self.capabilities).schemas_for(self.resource_type) or self.schemas
            ),
        )

    def get(self, caller: Caller, resource_id: str) -> StoredResource:
        return self.table.require(caller.tenant_id, self.kind, resource_id)

    def current(self, caller: Caller, resource_id: str) -> StoredResource:
        """The resource as a DELETE needs it (a service may read less than `get` does)."""
        return self.get(caller, resource_id)

    def list(self, caller: Caller, request: SearchRequest) -> ListResult:
        ctx = ListContext(
            table=self.table,
            tenant_id=caller.tenant_id,
            kind=self.kind,
            schemas=self.schemas_for(caller),
            to_wire=lambda r: to_wire(r, caller.base_url),
            memberships=self.memberships,
        )
        return list_resources(ctx, request)

    def new_resource(self, caller: Caller, doc: dict[str, Any], secret: str | None = None) -> StoredResource:
        now = self.clock()
        return StoredResource(
            tenant_id=caller.tenant_id,
            kind=self.kind,
            id=self.new_id(),
            version=1,
            created=now,
            last_modified=now,
            name=doc[self.name_attribute],
            document=doc,
            external_id=doc.get("externalId"),
            secret=secret,
            request_id=caller.request_id,
            token_id=caller.token_id,
        )

    def write(
        self,
        caller: Caller,
        resource_id: str,
        if_match: str | None,
        change: Change,
        secret_of: Callable[[str | None, StoredResource], str | None] = lambda _s, old: old.secret,
    ) -> tuple[StoredResource, StoredResource]:
        """Apply `change` under optimistic concurrency; returns (before, after)."""
        for _ in range(WRITE_ATTEMPTS):
            existing = self.get(caller, resource_id)
            check_if_match(if_match, existing)
            doc, secret_input = change(existing)
            secret = secret_of(secret_input, existing)
            if doc == existing.document and secret == existing.secret:
                return existing, existing  # nothing changed: no write, no new version, no event
            updated = replace(
                existing,
                version=existing.version + 1,
                last_modified=self.clock(),
                name=doc[self.name_attribute],
                document=doc,
                external_id=doc.get("externalId"),
                secret=secret,
                request_id=caller.request_id,
                token_id=caller.token_id,
            )
            try:
                self.table.replace(existing, updated)
                return existing, updated
            except VersionConflict:
                if if_match is not None:
                    raise PreconditionFailed() from None
        raise ServiceUnavailable(
            f"The {self.resource_type} is being changed concurrently; retry the request."
        )

    def delete(self, caller: Caller, resource_id: str, if_match: str | None) -> StoredResource:
        for _ in range(WRITE_ATTEMPTS):
            try:
                existing = self.current(caller, resource_id)
            except NotFound:
                self._finish_interrupted_delete(caller, resource_id)
                raise
            check_if_match(if_match, existing)
            actor = caller.actor(self.clock())
            try:
                self.table.delete(existing, actor)
            except VersionConflict:
                if if_match is not None:
                    raise PreconditionFailed() from None
                continue
            # Referential integrity: it leaves every group it belonged to.
            self.memberships.delete_all_of_member(caller.tenant_id, resource_id, actor)
            return existing
        raise ServiceUnavailable(
            f"The {self.resource_type} is being changed concurrently; retry the request."
        )

    def _finish_interrupted_delete(self, caller: Caller, resource_id: str) -> None:
        """Remove memberships a DELETE left behind when it failed (503) after its transaction.

        The resource's own transaction commits first; its memberships go in later calls. If those
        fail, the IdP retries the DELETE (a 503 says so), finds no resource and gets its 404, but
        only after this retry has finished the cleanup, so no membership outlives its resource.
        Costs one Query (two for a group) on a DELETE of an absent id, and nothing otherwise.
        """
        actor = caller.actor(self.clock())
        self.memberships.delete_all_of_member(caller.tenant_id, resource_id, actor)
        if self.kind is Kind.GROUP:
            self.memberships.delete_all_of_group(caller.tenant_id, resource_id)
