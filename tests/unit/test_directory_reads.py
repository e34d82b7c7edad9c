"""Directory reads on the management API (issue 16, item 1): the real handler and core, with moto.

Users and groups are provisioned through the real SCIM handlers; the reads go through
`handlers.management_directory` as API Gateway sends them after AWS_IAM.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.query import listing
from handlers import management_directory, settings
from scimctl.admin import Admin
from tests.conftest import ScimClient
from tests.unit.directory_calls import read, walk

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PROBLEM = "application/problem+json"


def new_user(scim: ScimClient, user_name: str, **extra: Any) -> dict[str, Any]:
    created = scim("POST", "/Users", {"schemas": [USER_SCHEMA], "userName": user_name, **extra})
    assert created.status == 201, created.body
    body: dict[str, Any] = created.body
    return body


def new_group(scim: ScimClient, name: str, members: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    body = {"schemas": [GROUP_SCHEMA], "displayName": name, "members": [{"value": m} for m in members]}
    created = scim("POST", "/Groups", body)
    assert created.status == 201, created.body
    found: dict[str, Any] = created.body
    return found


def problem(answer: Any, status: int) -> str:
    assert answer.status == status, answer.text
    assert answer.content_type == PROBLEM
    assert set(answer.body) == {"type", "title", "status", "detail"}
    assert answer.body["status"] == status
    detail: str = answer.body["detail"]
    return detail


@pytest.fixture
def demo(admin: Admin) -> ScimClient:
    admin.create_tenant("demo")
    return ScimClient("demo")


# -- resources --------------------------------------------------------------------------------
def test_a_user_is_the_document_a_scim_get_returns_enterprise_extension_included(
    demo: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The directory names resources by the SCIM API's URL; here, the host the SCIM event carries.
    monkeypatch.setenv("SCIM_BASE_URL", "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/scim/v2")
    settings.reset()
    management_directory.reset()
    user = new_user(
        demo,
        "bjensen@example.com",
        schemas=[USER_SCHEMA, ENTERPRISE],
        name={"givenName": "Barbara", "familyName": "Jensen"},
        emails=[{"value": "bjensen@example.com", "type": "work", "primary": True}],
        externalId="crm-1",
        active=True,
        **{ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "boss"}}},
    )
    scim_get = demo("GET", f"/Users/{user['id']}", query={"excludedAttributes": "groups"})
    answer = read(f"/tenants/demo/users/{user['id']}")
    assert answer.status == 200, answer.text
    assert answer.content_type == "application/json"
    user_document = dict(answer.body["user"])
    assert user_document.pop("effectiveRoles") == []  # the management reads' one addition
    assert user_document == scim_get.body
    assert answer.body["user"][ENTERPRISE]["employeeNumber"] == "701984"
    assert answer.body["user"]["meta"]["version"] == scim_get.headers["etag"]
    assert answer.body["groups"] == {"data": [], "next_cursor": None}
    listed = read("/tenants/demo/users")
    assert listed.body == {"data": [answer.body["user"]], "next_cursor": None}


def test_a_group_carries_no_members_in_its_document_and_the_first_page_beside_it(demo: ScimClient) -> None:
    users = [new_user(demo, f"u{i}@example.com")["id"] for i in range(3)]
    group = new_group(demo, "Engineering", users)
    answer = read(f"/tenants/demo/groups/{group['id']}")
    assert answer.status == 200, answer.text
    assert "members" not in answer.body["group"]
    assert answer.body["group"]["displayName"] == "Engineering"
    refs = answer.body["members"]["data"]
    assert sorted(r["value"] for r in refs) == sorted(users)
    assert {r["type"] for r in refs} == {"User"}
    assert all(r["$ref"].endswith(f"/scim/v2/demo/Users/{r['value']}") for r in refs)
    assert answer.body["members"]["next_cursor"] is None


# -- filters: the SCIM API's engine -------------------------------------------------------------
def test_filters_use_the_scim_grammar_and_its_key_lookups(demo: ScimClient) -> None:
    alice = new_user(demo, "Alice@example.com", externalId="ext-a", active=True)
    new_user(demo, "bob@example.com", externalId="ext-b", active=False)
    new_group(demo, "Sales")

    def names(path: str, text: str) -> list[str]:
        answer = read(path, {"filter": text})
        assert answer.status == 200, answer.text
        return [r.get("userName") or r["displayName"] for r in answer.body["data"]]

    assert names("/tenants/demo/users", 'userName eq "alice@EXAMPLE.com"') == ["Alice@example.com"]
    assert names("/tenants/demo/users", 'externalId eq "ext-b"') == ["bob@example.com"]
    assert names("/tenants/demo/users", f'id eq "{alice["id"]}"') == ["Alice@example.com"]
    assert names("/tenants/demo/users", "active eq false") == ["bob@example.com"]
    assert sorted(names("/tenants/demo/users", 'userName sw "b" or userName sw "A"')) == [
        "Alice@example.com",
        "bob@example.com",
    ]
    assert names("/tenants/demo/groups", 'displayName eq "sales"') == ["Sales"]


def test_an_invalid_filter_is_a_400_problem_with_the_reason(demo: ScimClient) -> None:
    # The SCIM API's parser and validator, and their reasons (RFC 7644 §3.4.2.2 grammar).
    unterminated = problem(read("/tenants/demo/users", {"filter": 'userName eq "x'}), 400)
    operator = problem(read("/tenants/demo/users", {"filter": 'userName zz "x"'}), 400)
    ordering = problem(read("/tenants/demo/users", {"filter": "active gt true"}), 400)
    assert "no closing double quote" in unterminated
    assert "found 'zz'" in operator
    assert "'gt' is not supported for boolean values" in ordering


def test_a_membership_filter_names_the_paged_route_instead_of_matching_nothing(demo: ScimClient) -> None:
    detail = problem(read("/tenants/demo/users", {"filter": 'groups.value eq "g1"'}), 400)
    assert "/users/{id}/groups" in detail
    detail = problem(read("/tenants/demo/groups", {"filter": 'members[value eq "u1"]'}), 400)
    assert "/groups/{id}/members" in detail


# -- paging -----------------------------------------------------------------------------------
def test_users_paged_by_one_without_gaps_or_duplicates(demo: ScimClient) -> None:
    ids = sorted(new_user(demo, f"p{i}@example.com")["id"] for i in range(7))
    found, pages = walk("/tenants/demo/users", 1)
    assert [u["id"] for u in found] == ids
    assert pages == 7


def test_a_filter_no_key_answers_reads_a_bounded_window_per_page(
    demo: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two Queries of three items a page: the page cost stays the same however many users exist.
    monkeypatch.setattr(listing, "READ_BATCH", 3)
    users = [new_user(demo, f"f{i:02d}@example.com", active=i % 4 == 0) for i in range(17)]
    wanted = sorted(u["id"] for u in users if u["active"])
    found, pages = walk("/tenants/demo/users", 2, {"filter": "active eq true"})
    assert [u["id"] for u in found] == wanted
    assert len(found) == 5
    assert pages >= 3  # 17 users read 6 a page: some pages are short, none repeats or skips


def test_a_group_of_100_members_paged(demo: ScimClient) -> None:
    users = [new_user(demo, f"m{i:03d}@example.com")["id"] for i in range(100)]
    group = new_group(demo, "Everyone", users)
    found, pages = walk(f"/tenants/demo/groups/{group['id']}/members", 7)
    assert [r["value"] for r in found] == sorted(users)
    assert pages == 15
    first = read(f"/tenants/demo/groups/{group['id']}").body["members"]
    assert len(first["data"]) == 50
    rest, _ = walk(f"/tenants/demo/groups/{group['id']}/members", 200, {"cursor": first["next_cursor"]})
    assert [r["value"] for r in first["data"] + rest] == sorted(users)


def test_a_users_groups_paged(demo: ScimClient) -> None:
    user = new_user(demo, "joiner@example.com")["id"]
    groups = sorted(new_group(demo, f"Team {i}", [user])["id"] for i in range(5))
    new_group(demo, "Not hers")
    found, pages = walk(f"/tenants/demo/users/{user}/groups", 1)
    assert [g["value"] for g in found] == groups
    assert {g["type"] for g in found} == {"direct"}
    assert {g["display"] for g in found} == {f"Team {i}" for i in range(5)}
    assert pages == 5
    inline = read(f"/tenants/demo/users/{user}").body["groups"]
    assert [g["value"] for g in inline["data"]] == groups


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/tenants/nobody/users",
        "/tenants/nobody/groups",
        "/tenants/demo/users/missing",
        "/tenants/demo/groups/missing",
        "/tenants/demo/users/missing/groups",
        "/tenants/demo/groups/missing/members",
        "/tenants/Not_A_Slug/users",
    ],
)
def test_unknown_tenant_user_or_group_is_a_404_problem(demo: ScimClient, path: str) -> None:
    problem(read(path), 404)


def test_a_deleted_tenant_is_a_404(admin: Admin) -> None:
    admin.create_tenant("gone")
    admin.delete_tenant("gone")
    problem(read("/tenants/gone/users"), 404)


@pytest.mark.parametrize("limit", ["0", "201", "ten", "-1"])
def test_limit_outside_1_to_200_is_a_400(demo: ScimClient, limit: str) -> None:
    assert "limit" in problem(read("/tenants/demo/users", {"limit": limit}), 400)


def test_cursors_are_signed_per_tenant_and_list(admin: Admin, demo: ScimClient) -> None:
    admin.create_tenant("other")
    other = ScimClient("other")
    for i in range(2):
        new_user(demo, f"c{i}@example.com")
        new_user(other, f"c{i}@example.com")
    users_cursor = read("/tenants/demo/users", {"limit": "1"}).body["next_cursor"]
    assert users_cursor
    group = new_group(demo, "Two", [u["id"] for u in read("/tenants/demo/users").body["data"]])
    members_cursor = read(f"/tenants/demo/groups/{group['id']}/members", {"limit": "1"}).body["next_cursor"]
    assert members_cursor
    other_group = new_group(demo, "Other")
    refused = [
        read("/tenants/other/users", {"cursor": users_cursor}),  # another tenant's
        read("/tenants/demo/groups", {"cursor": users_cursor}),  # another list's
        read(f"/tenants/demo/groups/{other_group['id']}/members", {"cursor": members_cursor}),
        read("/tenants/demo/users", {"cursor": users_cursor[:-2] + "AA"}),  # edited
        read("/tenants/demo/users", {"cursor": "not-a-cursor"}),
    ]
    for answer in refused:
        problem(answer, 400)
    assert read("/tenants/demo/users", {"cursor": users_cursor}).status == 200


def test_a_scim_name_order_cursor_is_a_400_not_a_500(demo: ScimClient) -> None:
    """A SCIM API cursor of a sortBy=userName walk holds the name index's key; the directory (and
    the SCIM API without sortBy) continue id-order Queries, which DynamoDB would refuse with it."""
    for i in range(3):
        new_user(demo, f"s{i}@example.com")
    sorted_page = demo("GET", "/Users", query={"sortBy": "userName", "cursor": "", "count": "1"})
    cursor = sorted_page.body["nextCursor"]
    assert cursor
    problem(read("/tenants/demo/users", {"cursor": cursor}), 400)
    unsorted = demo("GET", "/Users", query={"cursor": cursor, "count": "1"})
    assert (unsorted.status, unsorted.body["scimType"]) == (400, "invalidCursor")
    following = demo("GET", "/Users", query={"sortBy": "userName", "cursor": cursor, "count": "1"})
    assert [u["userName"] for u in following.body["Resources"]] == ["s1@example.com"]
