"""Discovery endpoints (RFC 7643 §5–7): ServiceProviderConfig, ResourceTypes, Schemas."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.utilities.typing import LambdaContext

from core import discovery
from core.capabilities import service_capabilities
from core.discovery import ServiceCapabilities
from core.errors import MethodNotAllowed, NotFound
from core.profiles import capabilities_for
from handlers.http import request_tenant, scim_response, scim_router, tenant_base_url
from handlers.observability import lambda_entry
from handlers.profile_context import request_profile
from handlers.routing import Response

app = scim_router()


def _base(tenant: str) -> str:
    return tenant_base_url(app, request_tenant(app, tenant))


def _capabilities() -> ServiceCapabilities:
    """What this tenant's profile offers: discovery describes exactly that (RFC 7643 §5)."""
    return capabilities_for(request_profile(app), service_capabilities())


@app.get("/scim/v2/<tenant>/ServiceProviderConfig")
def get_service_provider_config(tenant: str) -> Response:
    return scim_response(200, discovery.service_provider_config(_capabilities(), _base(tenant)))


@app.get("/scim/v2/<tenant>/ResourceTypes")
def list_resource_types(tenant: str) -> Response:
    docs = discovery.resource_types(_capabilities(), _base(tenant))
    return scim_response(200, discovery.list_response(docs))


@app.get("/scim/v2/<tenant>/ResourceTypes/<name>")
def get_resource_type(tenant: str, name: str) -> Response:
    doc = discovery.resource_type(_capabilities(), _base(tenant), unquote(name))
    if doc is None:
        raise NotFound(f"Resource type {unquote(name)[:64]!r} is not supported.")
    return scim_response(200, doc)


@app.get("/scim/v2/<tenant>/Schemas")
def list_schemas(tenant: str) -> Response:
    docs = discovery.schemas(_capabilities(), _base(tenant))
    return scim_response(200, discovery.list_response(docs))


@app.get("/scim/v2/<tenant>/Schemas/<urn>")
def get_schema(tenant: str, urn: str) -> Response:
    doc = discovery.schema(_capabilities(), _base(tenant), unquote(urn))
    if doc is None:
        raise NotFound(f"Schema {unquote(urn)[:128]!r} is not supported.")
    return scim_response(200, doc)


READ_ONLY_PATHS = (
    "/scim/v2/<tenant>/ServiceProviderConfig",
    "/scim/v2/<tenant>/ResourceTypes",
    "/scim/v2/<tenant>/ResourceTypes/<name>",
    "/scim/v2/<tenant>/Schemas",
    "/scim/v2/<tenant>/Schemas/<urn>",
)


def method_not_allowed(tenant: str, **_: str) -> Response:
    request_tenant(app, tenant)  # a wrong tenant is still a 401 first
    raise MethodNotAllowed("Discovery endpoints only answer GET (RFC 7644 §4).", headers={"Allow": "GET"})


for _path in READ_ONLY_PATHS:
    app.route(_path, method=["POST", "PUT", "PATCH", "DELETE"])(method_not_allowed)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
