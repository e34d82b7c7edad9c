"""The management API's directory reads (docs/management-api.md#directory-reads): thin routes over
`core.directory.Directory`, in a function of their own (`DirectoryFunction`) whose IAM policy can
only read (docs/architecture.md).

API Gateway has already authenticated the caller (AWS_IAM). Lists are ``{"data": [...],
"next_cursor": ...}``; errors are RFC 9457 problem details (`handlers.problem`).
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.utilities.typing import LambdaContext

from core.capabilities import service_capabilities
from core.directory import DEFAULT_LIMIT, Directory
from core.errors import BadRequest
from core.groups.service import GroupService
from core.store.keys import Kind
from core.store.memberships_table import MembershipTable
from core.store.resources_table import ResourceTable
from core.store.tenants_table import TenantTable
from core.users import UserService
from handlers import aws_clients, signing_keys
from handlers.observability import lambda_entry
from handlers.problem import json_response, problem_router
from handlers.routing import Response
from handlers.settings import directory_settings

app = problem_router()
signing_keys.install()  # cursors and ETags are the SCIM API's, signed with the stack's key


@cache
def directory() -> Directory:
    settings = directory_settings()
    db = aws_clients.dynamodb()
    resources, memberships = ResourceTable(db, settings.table_name), MembershipTable(db, settings.table_name)
    capabilities = service_capabilities()
    return Directory(
        TenantTable(db, settings.table_name),
        resources,
        memberships,
        UserService(resources, memberships, capabilities),
        GroupService(resources, memberships, capabilities),
        scim_base_url=settings.scim_base_url,
    )


def limit() -> int:
    raw = app.request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit():
        raise BadRequest("limit must be an integer between 1 and 200")
    return int(raw)


def cursor() -> str | None:
    return app.request.query.get("cursor") or None


def resources(tenant: str, kind: Kind) -> Response:
    page = directory().resources_page(
        tenant, kind, filter_text=app.request.query.get("filter"), limit=limit(), cursor=cursor()
    )
    return json_response(200, page.to_json())


@app.get("/tenants/<tenant>/users")
def list_users(tenant: str) -> Response:
    return resources(tenant, Kind.USER)


@app.get("/tenants/<tenant>/users/<user_id>")
def get_user(tenant: str, user_id: str) -> Response:
    return json_response(200, directory().user(tenant, unquote(user_id)))


@app.get("/tenants/<tenant>/users/<user_id>/groups")
def user_groups(tenant: str, user_id: str) -> Response:
    page = directory().user_groups(tenant, unquote(user_id), limit=limit(), cursor=cursor())
    return json_response(200, page.to_json())


@app.get("/tenants/<tenant>/groups")
def list_groups(tenant: str) -> Response:
    return resources(tenant, Kind.GROUP)


@app.get("/tenants/<tenant>/groups/<group_id>")
def get_group(tenant: str, group_id: str) -> Response:
    return json_response(200, directory().group(tenant, unquote(group_id)))


@app.get("/tenants/<tenant>/groups/<group_id>/members")
def group_members(tenant: str, group_id: str) -> Response:
    page = directory().group_members(tenant, unquote(group_id), limit=limit(), cursor=cursor())
    return json_response(200, page.to_json())


def reset() -> None:
    directory.cache_clear()


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
