"""The Users endpoint (RFC 7644 §3.3–3.6, §3.4.3): thin routes over `core.users.UserService`."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.capabilities import service_capabilities
from core.query.request import SearchRequest, from_query, from_search_body
from core.representation import etag, location, not_modified, to_wire
from core.resource.projection import Projection
from core.schema.urns import LIST_RESPONSE_SCHEMA
from core.store.resources_table import ResourceTable, StoredResource
from core.users import Caller, UserService
from handlers import aws_clients
from handlers.http import register_error_handlers, request_tenant, scim_response, tenant_base_url
from handlers.observability import logger, metrics, tracer
from handlers.requests import header, json_body, query_params
from handlers.settings import common_settings

app = APIGatewayRestResolver()
register_error_handlers(app)


@cache
def service() -> UserService:
    table = ResourceTable(aws_clients.dynamodb(), common_settings().table_name)
    return UserService(table, service_capabilities())


def caller(tenant: str) -> Caller:
    tenant_id = request_tenant(app, tenant)
    ctx = app.current_event.request_context
    authorizer: dict[str, Any] = dict(ctx.authorizer or {})
    return Caller(
        tenant_id=tenant_id,
        token_id=str(authorizer.get("tokenId", "")),
        request_id=ctx.request_id,
        base_url=tenant_base_url(app, tenant_id),
    )


def render(who: Caller, user: StoredResource, status: int = 200) -> Response[str]:
    params = query_params(app)
    projection = Projection(service().schemas, params.get("attributes"), params.get("excludedAttributes"))
    headers = {"ETag": etag(user.version)}
    if status == 201:
        headers["Location"] = location(who.base_url, user.kind, user.id)
    return scim_response(status, projection.apply(to_wire(user, who.base_url)), headers)


def write_metric(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@app.post("/scim/v2/<tenant>/Users")
def create_user(tenant: str) -> Response[str]:
    who = caller(tenant)
    user = service().create(who, json_body(app))
    logger.info("user created", extra={"user_id": user.id})
    write_metric("UsersCreated")
    return render(who, user, 201)


@app.get("/scim/v2/<tenant>/Users/<user_id>")
def get_user(tenant: str, user_id: str) -> Response[str]:
    who = caller(tenant)
    user = service().get(who, unquote(user_id))
    if not_modified(header(app, "If-None-Match"), user.version):
        return Response(status_code=304, headers={"ETag": etag(user.version)})
    return render(who, user)


@app.put("/scim/v2/<tenant>/Users/<user_id>")
def replace_user(tenant: str, user_id: str) -> Response[str]:
    who = caller(tenant)
    user = service().replace(who, unquote(user_id), json_body(app), header(app, "If-Match"))
    logger.info("user replaced", extra={"user_id": user.id, "version": user.version})
    return render(who, user)


@app.patch("/scim/v2/<tenant>/Users/<user_id>")
def patch_user(tenant: str, user_id: str) -> Response[str]:
    who = caller(tenant)
    user = service().patch(who, unquote(user_id), json_body(app), header(app, "If-Match"))
    logger.info("user patched", extra={"user_id": user.id, "version": user.version})
    return render(who, user)


@app.delete("/scim/v2/<tenant>/Users/<user_id>")
def delete_user(tenant: str, user_id: str) -> Response[str]:
    who = caller(tenant)
    service().delete(who, unquote(user_id), header(app, "If-Match"))
    logger.info("user deleted", extra={"user_id": user_id})
    write_metric("UsersDeleted")
    return Response(status_code=204)


def list_response(who: Caller, request: SearchRequest) -> Response[str]:
    result = service().list(who, request)
    projection = Projection(service().schemas, list(request.attributes), list(request.excluded_attributes))
    body: dict[str, Any] = {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": result.total,
        "itemsPerPage": len(result.resources),
        "startIndex": result.start_index,
        "Resources": [projection.apply(to_wire(r, who.base_url)) for r in result.resources],
    }
    if result.next_cursor:
        body["nextCursor"] = result.next_cursor
    return scim_response(200, body)


@app.get("/scim/v2/<tenant>/Users")
def list_users(tenant: str) -> Response[str]:
    return list_response(caller(tenant), from_query(query_params(app)))


@app.post("/scim/v2/<tenant>/Users/.search")
def search_users(tenant: str) -> Response[str]:
    who = caller(tenant)
    return list_response(who, from_search_body(json_body(app)))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
