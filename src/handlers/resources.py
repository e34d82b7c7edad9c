"""What the Users and Groups handlers share: the caller, services, rendering, list responses."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from core.capabilities import service_capabilities
from core.groups.service import GroupService
from core.query.listing import ListResult
from core.query.request import SearchRequest
from core.representation import etag, location, to_wire
from core.resource.projection import Projection, cached_projection
from core.resource_service import Caller, ResourceService
from core.schema.urns import LIST_RESPONSE_SCHEMA
from core.store.memberships_table import MembershipTable
from core.store.resources_table import ResourceTable, StoredResource
from core.users import UserService
from handlers import aws_clients, reset_worker, signing_keys
from handlers.audit import RecordingResourceTable
from handlers.http import request_tenant, scim_response, tenant_base_url
from handlers.profile_context import tenant_profile
from handlers.requests import query_params
from handlers.routing import Response, Router
from handlers.settings import common_settings

# Cursors and ETags are signed with the stack's key, read on first use (handlers.signing_keys).
signing_keys.install()


@cache
def users_service() -> UserService:
    return UserService(*_stores(), service_capabilities())


@cache
def groups_service() -> GroupService:
    settings = common_settings()
    # A group change that can move roles (a mapped group nested, deleted, renamed) starts the
    # tenant's role recompute, as a mapping change does (core.groups.service).
    starter = reset_worker.role_recompute_starter(settings.tenant_reset_function, settings.table_name)
    return GroupService(*_stores(), service_capabilities(), start_role_recompute=starter)


def _stores() -> tuple[ResourceTable, MembershipTable]:
    table = common_settings().table_name
    # Recording stores: each write also tells the request's audit record what it changed.
    db = aws_clients.dynamodb()
    return RecordingResourceTable(db, table), MembershipTable(db, table)


def reset() -> None:
    users_service.cache_clear()
    groups_service.cache_clear()


def caller(app: Router, tenant: str) -> Caller:
    tenant_id = request_tenant(app, tenant)
    authorizer = app.request.authorizer
    return Caller(
        tenant_id=tenant_id,
        token_id=str(authorizer.get("tokenId", "")),
        request_id=app.request.request_id,
        base_url=tenant_base_url(app, tenant_id),
        profile=tenant_profile(str(authorizer.get("profile") or "")),
    )


def projection(app: Router, service: ResourceService, who: Caller) -> Projection:
    params = query_params(app)
    lowered = {k.lower(): v for k, v in params.items()}
    schemas = service.schemas_for(who)
    return cached_projection(schemas, lowered.get("attributes"), lowered.get("excludedattributes"))


def render(
    who: Caller,
    resource: StoredResource,
    shape: Projection,
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> Response:
    """One resource, projected, with ETag (and Location for a 201)."""
    version = etag(resource)  # signed once: the header and meta.version carry the same value
    headers = {"ETag": version}
    if status == 201:
        headers["Location"] = location(who.base_url, resource.kind, resource.id)
    doc = to_wire(resource, who.base_url, version)
    doc.update(extra or {})
    return scim_response(status, shape.apply(doc), headers)


def list_body(
    who: Caller,
    result: ListResult,
    shape: Projection,
    extra: Callable[[StoredResource], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    resources = []
    for resource in result.resources:
        doc = to_wire(resource, who.base_url)
        added = extra(resource) if extra else {}  # nosec B610 # a callback, not Django's QuerySet.extra
        doc.update(added)
        resources.append(shape.apply(doc))
    body: dict[str, Any] = {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": result.total,
        "itemsPerPage": len(resources),
        "startIndex": result.start_index,
        "Resources": resources,
    }
    if result.next_cursor:
        body["nextCursor"] = result.next_cursor
    return body


def request_projection(service: ResourceService, request: SearchRequest, who: Caller) -> Projection:
    schemas = service.schemas_for(who)
    return cached_projection(schemas, tuple(request.attributes), tuple(request.excluded_attributes))
