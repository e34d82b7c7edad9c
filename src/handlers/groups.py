"""The Groups endpoint (RFC 7643 §4.2, RFC 7644 §3.3–3.6): thin routes over `GroupService`."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.utilities.typing import LambdaContext

from core.groups.service import GroupView, member_refs_json
from core.query.request import SearchRequest, from_query, from_search_body
from core.representation import etag, not_modified
from core.resource_service import Caller
from core.store.resources_table import StoredResource
from handlers.audit import audit_writes
from handlers.http import scim_response, scim_router
from handlers.observability import lambda_entry, logger
from handlers.requests import header, json_body, query_params
from handlers.resources import caller, groups_service, list_body, projection, render, request_projection
from handlers.routing import Response

app = scim_router()
app.use(middlewares=[audit_writes])  # every write is recorded in the tenant's audit trail


def render_group(who: Caller, view: GroupView, status: int = 200) -> Response:
    extra = {"members": member_refs_json(who, view.members)} if view.members else {}
    return render(who, view.group, projection(app, groups_service(), who), status, extra)


def with_members(group: StoredResource, who: Caller) -> GroupView:
    # Entra sends excludedAttributes=members on every lookup: then no member item is read.
    wanted = projection(app, groups_service(), who).needs("members")
    return groups_service().view(who, group, wanted)


@app.post("/scim/v2/<tenant>/Groups")
def create_group(tenant: str) -> Response:
    who = caller(app, tenant)
    view = groups_service().create(who, json_body(app))
    logger.debug("group created", extra={"group_id": view.group.id, "members": len(view.members or [])})
    return render_group(who, view, 201)


@app.get("/scim/v2/<tenant>/Groups/<group_id>")
def get_group(tenant: str, group_id: str) -> Response:
    who = caller(app, tenant)
    group = groups_service().get(who, unquote(group_id))
    if not_modified(header(app, "If-None-Match"), group):
        return Response(status_code=304, headers={"ETag": etag(group)})
    return render_group(who, with_members(group, who))


@app.put("/scim/v2/<tenant>/Groups/<group_id>")
def replace_group(tenant: str, group_id: str) -> Response:
    who = caller(app, tenant)
    group = groups_service().replace(who, unquote(group_id), json_body(app), header(app, "If-Match"))
    logger.debug("group replaced", extra={"group_id": group.id, "version": group.version})
    return render_group(who, with_members(group, who))


@app.patch("/scim/v2/<tenant>/Groups/<group_id>")
def patch_group(tenant: str, group_id: str) -> Response:
    who = caller(app, tenant)
    group = groups_service().patch(who, unquote(group_id), json_body(app), header(app, "If-Match"))
    logger.debug("group patched", extra={"group_id": group.id, "version": group.version})
    params = {k.lower() for k in query_params(app)}
    if "attributes" in params or "excludedattributes" in params:
        return render_group(who, with_members(group, who))
    # RFC 7644 §3.5.2 allows 204; Okta documents 204 for group PATCH, Entra accepts both, and it
    # spares reading every member of a large group.
    return Response(status_code=204, headers={"ETag": etag(group)})


@app.delete("/scim/v2/<tenant>/Groups/<group_id>")
def delete_group(tenant: str, group_id: str) -> Response:
    who = caller(app, tenant)
    groups_service().delete(who, unquote(group_id), header(app, "If-Match"))
    logger.debug("group deleted", extra={"group_id": group_id})
    return Response(status_code=204)


def list_groups_response(who: Caller, request: SearchRequest) -> Response:
    result = groups_service().list(who, request)
    shape = request_projection(groups_service(), request, who)
    wants_members = shape.needs("members")

    def members(group: StoredResource) -> dict[str, Any]:
        view = groups_service().view(who, group, wants_members)
        return {"members": member_refs_json(who, view.members)} if view.members else {}

    return scim_response(200, list_body(who, result, shape, members))


@app.get("/scim/v2/<tenant>/Groups")
def list_groups(tenant: str) -> Response:
    return list_groups_response(caller(app, tenant), from_query(query_params(app)))


@app.post("/scim/v2/<tenant>/Groups/.search")
def search_groups(tenant: str) -> Response:
    who = caller(app, tenant)
    return list_groups_response(who, from_search_body(json_body(app)))


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
