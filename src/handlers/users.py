"""The Users endpoint (RFC 7644 §3.3–3.6, §3.4.3): thin routes over `core.users.UserService`."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.utilities.typing import LambdaContext

from core.query.request import SearchRequest, from_query, from_search_body
from core.representation import etag, not_modified
from core.resource.projection import Projection
from core.resource_service import Caller
from core.store.resources_table import StoredResource
from handlers.audit import audit_writes
from handlers.http import scim_response, scim_router
from handlers.observability import lambda_entry, logger
from handlers.requests import header, json_body, query_params
from handlers.resources import caller, list_body, projection, render, request_projection, users_service
from handlers.routing import Response

app = scim_router()
app.use(middlewares=[audit_writes])  # every write is recorded in the tenant's audit trail


def render_user(who: Caller, user: StoredResource, status: int = 200) -> Response:
    shape = projection(app, users_service(), who)
    # groups (RFC 7643 §4.1.2) come from the reverse membership index, only when returned.
    extra = {"groups": users_service().groups(who, user)} if shape.needs("groups") else {}
    return render(who, user, shape, status, {k: v for k, v in extra.items() if v})


@app.post("/scim/v2/<tenant>/Users")
def create_user(tenant: str) -> Response:
    who = caller(app, tenant)
    user = users_service().create(who, json_body(app))
    logger.debug("user created", extra={"user_id": user.id})
    return render(who, user, projection(app, users_service(), who), 201)


@app.get("/scim/v2/<tenant>/Users/<user_id>")
def get_user(tenant: str, user_id: str) -> Response:
    who = caller(app, tenant)
    user = users_service().get(who, unquote(user_id))
    if not_modified(header(app, "If-None-Match"), user):
        return Response(status_code=304, headers={"ETag": etag(user)})
    return render_user(who, user)


@app.put("/scim/v2/<tenant>/Users/<user_id>")
def replace_user(tenant: str, user_id: str) -> Response:
    who = caller(app, tenant)
    user = users_service().replace(who, unquote(user_id), json_body(app), header(app, "If-Match"))
    logger.debug("user replaced", extra={"user_id": user.id, "version": user.version})
    return render_user(who, user)


@app.patch("/scim/v2/<tenant>/Users/<user_id>")
def patch_user(tenant: str, user_id: str) -> Response:
    who = caller(app, tenant)
    user = users_service().patch(who, unquote(user_id), json_body(app), header(app, "If-Match"))
    logger.debug("user patched", extra={"user_id": user.id, "version": user.version})
    return render_user(who, user)


@app.delete("/scim/v2/<tenant>/Users/<user_id>")
def delete_user(tenant: str, user_id: str) -> Response:
    who = caller(app, tenant)
    users_service().delete(who, unquote(user_id), header(app, "If-Match"))
    logger.debug("user deleted", extra={"user_id": user_id})
    return Response(status_code=204)


def list_users_response(who: Caller, request: SearchRequest) -> Response:
    result = users_service().list(who, request)
    shape: Projection = request_projection(users_service(), request, who)
    # In lists, `groups` costs one Query per user: returned only when asked for by name.
    wants_groups = any(a.lower().split(".")[0].endswith("groups") for a in request.attributes)

    def groups(user: StoredResource) -> dict[str, Any]:
        found = users_service().groups(who, user.id) if wants_groups else []
        return {"groups": found} if found else {}

    return scim_response(200, list_body(who, result, shape, groups))


@app.get("/scim/v2/<tenant>/Users")
def list_users(tenant: str) -> Response:
    return list_users_response(caller(app, tenant), from_query(query_params(app)))


@app.post("/scim/v2/<tenant>/Users/.search")
def search_users(tenant: str) -> Response:
    who = caller(app, tenant)
    return list_users_response(who, from_search_body(json_body(app)))


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
