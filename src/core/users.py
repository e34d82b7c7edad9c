"""The User resource service (RFC 7644 §3.3–3.6): create, read, replace, patch, delete, list.

Takes a canonical document in, returns `StoredResource`s; the handler renders them once.
Every write is conditional on the stored version, so concurrent writers never lose an update:
without If-Match a losing writer re-reads and re-applies its change (PATCH) or its replacement
(PUT); with If-Match it gets 412.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from core.discovery import ServiceCapabilities
from core.errors import PreconditionFailed, ServiceUnavailable
from core.passwords import hash_password
from core.patch import apply_patch
from core.query.listing import ListContext, ListResult, list_resources
from core.query.request import SearchRequest
from core.representation import check_if_match, to_wire
from core.resource.normalize import normalize_resource
from core.schema.model import Schema
from core.store.keys import Kind
from core.store.resources_table import ResourceTable, StoredResource, VersionConflict

WRITE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the tenant and token the authorizer vouched for, and where they see us."""

    tenant_id: str
    token_id: str
    request_id: str
    base_url: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UserService:
    kind = Kind.USER

    def __init__(
        self,
        table: ResourceTable,
        capabilities: ServiceCapabilities,
        *,
        clock: Callable[[], str] = _now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._table = table
        self.schemas: tuple[Schema, ...] = capabilities.schemas_for("User")
        self._clock = clock
        self._new_id = new_id

    # -- reads -------------------------------------------------------------------------------
    def get(self, caller: Caller, user_id: str) -> StoredResource:
        return self._table.require(caller.tenant_id, self.kind, user_id)

    def list(self, caller: Caller, request: SearchRequest) -> ListResult:
        ctx = ListContext(
            table=self._table,
            tenant_id=caller.tenant_id,
            kind=self.kind,
            schemas=self.schemas,
            to_wire=lambda r: to_wire(r, caller.base_url),
        )
        return list_resources(ctx, request)

    # -- writes ------------------------------------------------------------------------------
    def create(self, caller: Caller, body: Any) -> StoredResource:
        doc = normalize_resource(body, self.schemas, mode="create")
        password = doc.pop("password", None)
        now = self._clock()
        user = StoredResource(
            tenant_id=caller.tenant_id,
            kind=self.kind,
            id=self._new_id(),
            version=1,
            created=now,
            last_modified=now,
            name=doc["userName"],
            document=doc,
            external_id=doc.get("externalId"),
            secret=hash_password(password) if password else None,
        )
        self._table.create(user)
        return user

    def replace(self, caller: Caller, user_id: str, body: Any, if_match: str | None) -> StoredResource:
        def change(existing: StoredResource) -> tuple[dict[str, Any], str | None]:
            doc = normalize_resource(body, self.schemas, mode="replace", existing=existing.document)
            # Okta updates profiles with GET then a full PUT; a PUT that omits `active` keeps the
            # stored value rather than silently deactivating the user (documented in docs/scim.md).
            if "active" not in doc and "active" in existing.document:
                doc["active"] = existing.document["active"]
            return doc, doc.pop("password", None)

        return self._write(caller, user_id, if_match, change)

    def patch(
        self, caller: Caller, user_id: str, body: Mapping[str, Any], if_match: str | None
    ) -> StoredResource:
        def change(existing: StoredResource) -> tuple[dict[str, Any], str | None]:
            result = apply_patch(existing.document, body, self.schemas)
            doc = normalize_resource(
                result.resource, self.schemas, mode="replace", existing=existing.document
            )
            return doc, doc.pop("password", None)

        return self._write(caller, user_id, if_match, change)

    def delete(self, caller: Caller, user_id: str, if_match: str | None) -> None:
        for _ in range(WRITE_ATTEMPTS):
            existing = self.get(caller, user_id)
            check_if_match(if_match, existing.version)
            try:
                self._table.delete(existing)
                return
            except VersionConflict:
                if if_match is not None:
                    raise PreconditionFailed() from None
        raise ServiceUnavailable("The user is being changed concurrently; retry the request.")

    def _write(
        self,
        caller: Caller,
        user_id: str,
        if_match: str | None,
        change: Callable[[StoredResource], tuple[dict[str, Any], str | None]],
    ) -> StoredResource:
        for _ in range(WRITE_ATTEMPTS):
            existing = self.get(caller, user_id)
            check_if_match(if_match, existing.version)
            doc, password = change(existing)
            secret = hash_password(password) if password else existing.secret
            if doc == existing.document and secret == existing.secret:
                return existing  # nothing changed: no write, no new version, no event
            updated = replace(
                existing,
                version=existing.version + 1,
                last_modified=self._clock(),
                name=doc["userName"],
                document=doc,
                external_id=doc.get("externalId"),
                secret=secret,
            )
            try:
                self._table.replace(existing, updated)
                return updated
            except VersionConflict:
                if if_match is not None:
                    raise PreconditionFailed() from None
        raise ServiceUnavailable("The user is being changed concurrently; retry the request.")
