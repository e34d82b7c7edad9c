"""Directory reads over real HTTP against the local gateway (issue 16, item 1).

Given a tenant provisioned over SCIM by its IdP, when the SaaS backend reads it through the
management API (SigV4 with the local credential), then it gets the SCIM documents in pages that
follow `next_cursor` without gaps or duplicates, memberships in bounded pages, problem details
for bad filters and unknown ids, and never another tenant's items.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import pytest

from scimctl.gateway import RunningGateway
from tests.integration.conftest import GROUP_SCHEMA, USER_SCHEMA, ScimHttp, new_tenant
from tests.integration.sigv4_client import ManagementHttp

PROBLEM_JSON = "application/problem+json"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def api(running: RunningGateway) -> ManagementHttp:
    return ManagementHttp(running.management_url)


@pytest.fixture
def tenant(running: RunningGateway) -> tuple[str, ScimHttp]:
    tenant_id, token = new_tenant(running, "dir")
    return tenant_id, ScimHttp(running.tenant_url_of(tenant_id), token)


def get(api: ManagementHttp, path: str, **query: str) -> Any:
    # %20, not "+", for spaces: what SigV4's canonical query string expects.
    url = path + ("?" + urlencode(query, quote_via=quote) if query else "")
    return api.get(url)


def ok(response: Any) -> Any:
    assert response.status == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    return response.json


def problem(response: Any, status: int) -> str:
    assert response.status == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    assert set(response.json) == {"type", "title", "status", "detail"}
    detail: str = response.json["detail"]
    return detail


def walk(api: ManagementHttp, path: str, limit: int, **query: str) -> tuple[list[Any], int]:
    items: list[Any] = []
    pages, cursor = 0, None
    while True:
        extra = {"cursor": cursor} if cursor else {}
        page = ok(get(api, path, limit=str(limit), **query, **extra))
        assert len(page["data"]) <= limit
        items.extend(page["data"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages


def create_user(scim: ScimHttp, user_name: str, **extra: Any) -> dict[str, Any]:
    created = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": user_name, **extra})
    assert created.status == 201, created.text
    body: dict[str, Any] = created.json
    return body


def create_group(scim: ScimHttp, name: str, members: list[str]) -> dict[str, Any]:
    body = {"schemas": [GROUP_SCHEMA], "displayName": name, "members": [{"value": m} for m in members]}
    created = scim.post("/Groups", body)
    assert created.status == 201, created.text
    found: dict[str, Any] = created.json
    return found


def test_users_are_the_scim_documents_filtered_and_paged_by_one(
    api: ManagementHttp, tenant: tuple[str, ScimHttp]
) -> None:
    tenant_id, scim = tenant
    ids = []
    for i in range(5):
        user = create_user(
            scim,
            f"person{i}@example.com",
            schemas=[USER_SCHEMA, ENTERPRISE],
            externalId=f"hr-{i}",
            active=i != 3,
            **{ENTERPRISE: {"employeeNumber": f"E{i}"}},
        )
        ids.append(user["id"])
    found, pages = walk(api, f"/tenants/{tenant_id}/users", 1)
    assert [u["id"] for u in found] == sorted(ids)  # every user once, in id order
    assert pages == 5
    # Lossless: each is what the SCIM API answers for that user (without `groups`), plus its
    # effective roles (none: the tenant maps no group to a role).
    for user in found:
        scim_doc = scim.get(f"/Users/{user['id']}", params={"excludedAttributes": "groups"}).json
        assert {**scim_doc, "effectiveRoles": []} == user
    by_name = ok(get(api, f"/tenants/{tenant_id}/users", filter='userName eq "PERSON2@example.com"'))
    assert [u["externalId"] for u in by_name["data"]] == ["hr-2"]
    inactive, _ = walk(api, f"/tenants/{tenant_id}/users", 1, filter="active eq false")
    assert [u["userName"] for u in inactive] == ["person3@example.com"]
    enterprise = ok(get(api, f"/tenants/{tenant_id}/users", filter=f'{ENTERPRISE}:employeeNumber eq "E4"'))
    assert [u["userName"] for u in enterprise["data"]] == ["person4@example.com"]


def test_a_100_member_group_paged_and_a_users_groups_paged(
    api: ManagementHttp, tenant: tuple[str, ScimHttp]
) -> None:
    tenant_id, scim = tenant
    users = [create_user(scim, f"member{i:03d}@example.com")["id"] for i in range(100)]
    everyone = create_group(scim, "Everyone", users)
    teams = sorted(create_group(scim, f"Team {i}", users[:1])["id"] for i in range(3))

    group = ok(get(api, f"/tenants/{tenant_id}/groups/{everyone['id']}"))
    assert "members" not in group["group"]
    assert group["group"]["displayName"] == "Everyone"
    assert len(group["members"]["data"]) == 50
    members, pages = walk(api, f"/tenants/{tenant_id}/groups/{everyone['id']}/members", 9)
    assert [m["value"] for m in members] == sorted(users)
    assert pages == 12
    rest, _ = walk(
        api,
        f"/tenants/{tenant_id}/groups/{everyone['id']}/members",
        200,
        cursor=group["members"]["next_cursor"],
    )
    assert [m["value"] for m in group["members"]["data"] + rest] == sorted(users)

    groups, pages = walk(api, f"/tenants/{tenant_id}/users/{users[0]}/groups", 1)
    assert [g["value"] for g in groups] == sorted([everyone["id"], *teams])
    assert pages == 4
    user = ok(get(api, f"/tenants/{tenant_id}/users/{users[0]}"))
    assert user["user"]["userName"] == "member000@example.com"
    assert [g["value"] for g in user["groups"]["data"]] == sorted([everyone["id"], *teams])
    listed = ok(get(api, f"/tenants/{tenant_id}/groups", filter='displayName eq "everyone"'))
    assert [g["id"] for g in listed["data"]] == [everyone["id"]]


def test_bad_filters_limits_cursors_and_unknown_ids_are_problems(
    api: ManagementHttp, tenant: tuple[str, ScimHttp]
) -> None:
    tenant_id, scim = tenant
    for i in range(2):
        create_user(scim, f"p{i}@example.com")
    reason = problem(get(api, f"/tenants/{tenant_id}/users", filter='userName eq "x'), 400)
    assert "no closing double quote" in reason
    assert "/users/{id}/groups" in problem(
        get(api, f"/tenants/{tenant_id}/users", filter='groups.value eq "g"'), 400
    )
    assert "limit" in problem(get(api, f"/tenants/{tenant_id}/users", limit="201"), 400)
    cursor = ok(get(api, f"/tenants/{tenant_id}/users", limit="1"))["next_cursor"]
    problem(get(api, f"/tenants/{tenant_id}/groups", cursor=cursor), 400)
    problem(get(api, f"/tenants/{tenant_id}/users", cursor=cursor[:-3] + "xyz"), 400)
    problem(get(api, "/tenants/no-such-tenant/users"), 404)
    problem(get(api, f"/tenants/{tenant_id}/users/no-such-user"), 404)
    problem(get(api, f"/tenants/{tenant_id}/groups/no-such-group/members"), 404)


def test_a_tenants_reads_never_see_another_tenants_items(
    api: ManagementHttp, running: RunningGateway, tenant: tuple[str, ScimHttp]
) -> None:
    tenant_id, scim = tenant
    other_id, other_token = new_tenant(running, "dirx")
    other = ScimHttp(running.tenant_url_of(other_id), other_token)
    theirs = create_user(other, "secret-person@example.com", externalId="their-ext")
    create_user(other, "another-of-theirs@example.com")
    their_group = create_group(other, "Their group", [theirs["id"]])
    create_user(scim, "mine@example.com")
    their_cursor = ok(get(api, f"/tenants/{other_id}/users", limit="1"))["next_cursor"]

    mine = ok(get(api, f"/tenants/{tenant_id}/users"))
    assert [u["userName"] for u in mine["data"]] == ["mine@example.com"]
    for query in (
        {"filter": f'id eq "{theirs["id"]}"'},
        {"filter": 'userName eq "secret-person@example.com"'},
        {"filter": 'externalId eq "their-ext"'},
    ):
        assert ok(get(api, f"/tenants/{tenant_id}/users", **query))["data"] == []
    problem(get(api, f"/tenants/{tenant_id}/users/{theirs['id']}"), 404)
    problem(get(api, f"/tenants/{tenant_id}/users/{theirs['id']}/groups"), 404)
    problem(get(api, f"/tenants/{tenant_id}/groups/{their_group['id']}"), 404)
    problem(get(api, f"/tenants/{tenant_id}/groups/{their_group['id']}/members"), 404)
    assert their_cursor
    problem(get(api, f"/tenants/{tenant_id}/users", cursor=their_cursor), 400)
    assert ok(get(api, f"/tenants/{tenant_id}/groups"))["data"] == []
