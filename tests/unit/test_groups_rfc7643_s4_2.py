"""Groups and membership through the real handlers (RFC 7643 §4.2, RFC 7644 §3.3–3.6).

Membership is stored one item per (group, member); these tests check the SCIM behaviour and
the DynamoDB calls that prove reads and writes do not grow with a group's size.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.store import memberships_table
from tests.conftest import TABLE_NAME, ScimClient
from tests.support import etag_of, seed_users
from tests.unit.test_users_crud_rfc7644_s3_3_s3_6 import okta_user

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def new_users(scim: ScimClient, n: int) -> list[str]:
    ids = []
    for i in range(n):
        body = okta_user(f"member{i}@example.com")
        del body["password"]
        ids.append(scim("POST", "/Users", body).body["id"])
    return ids


def new_group(
    scim: ScimClient, name: str = "Engineering", members: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP], "displayName": name}
    if members is not None:
        body["members"] = [{"value": m} for m in members]
    response = scim("POST", "/Groups", body)
    assert response.status == 201, response.body
    return response.body  # type: ignore[no-any-return]


def member_ids(scim: ScimClient, group_id: str) -> list[str]:
    return sorted(m["value"] for m in scim("GET", f"/Groups/{group_id}").body.get("members", []))


def test_create_empty_group_then_push_users_into_it(scim: ScimClient) -> None:
    """Poppulo's flow: groups provisioned empty first, users pushed into them later."""
    group = new_group(scim)
    assert group["meta"]["resourceType"] == "Group"
    assert "members" not in group
    users = new_users(scim, 3)
    added = scim(
        "PATCH",
        f"/Groups/{group['id']}",
        ops({"op": "add", "path": "members", "value": [{"value": u} for u in users]}),
    )
    assert added.status == 204
    assert added.headers["etag"] == etag_of(2)
    assert member_ids(scim, group["id"]) == sorted(users)
    fetched = scim("GET", f"/Groups/{group['id']}").body
    assert fetched["members"][0]["$ref"].endswith(f"/Users/{fetched['members'][0]['value']}")
    assert fetched["members"][0]["type"] == "User"


def test_display_name_unique_case_insensitively(scim: ScimClient) -> None:
    new_group(scim, "Admins")
    dup = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "ADMINS"})
    assert (dup.status, dup.body["scimType"]) == (409, "uniqueness")


def test_create_with_members_and_user_groups_attribute(scim: ScimClient) -> None:
    users = new_users(scim, 2)
    group = new_group(scim, "Sales", users)
    assert sorted(m["value"] for m in group["members"]) == sorted(users)
    user = scim("GET", f"/Users/{users[0]}").body
    assert user["groups"] == [
        {"value": group["id"], "$ref": group["meta"]["location"], "type": "direct", "display": "Sales"}
    ]


def test_nested_groups_give_indirect_membership(scim: ScimClient) -> None:
    (user,) = new_users(scim, 1)
    inner = new_group(scim, "Inner", [user])
    outer = new_group(scim, "Outer", [inner["id"]])
    assert scim("GET", f"/Groups/{outer['id']}").body["members"][0]["type"] == "Group"
    groups = {g["display"]: g["type"] for g in scim("GET", f"/Users/{user}").body["groups"]}
    assert groups == {"Inner": "direct", "Outer": "indirect"}


def test_unknown_member_is_400_and_changes_nothing(scim: ScimClient) -> None:
    users = new_users(scim, 1)
    group = new_group(scim)
    body = ops({"op": "add", "path": "members", "value": [{"value": users[0]}, {"value": "no-such-user"}]})
    response = scim("PATCH", f"/Groups/{group['id']}", body)
    assert (response.status, response.body["scimType"]) == (400, "invalidValue")
    assert member_ids(scim, group["id"]) == []
    assert scim("GET", f"/Groups/{group['id']}").body["meta"]["version"] == etag_of(1)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "members", "value": []},  # no value (RFC 7643 §2.5, RFC 7644 §3.5.2.1)
        {"op": "add", "path": "members", "value": None},
        {"op": "add", "value": {"members": []}},
        {"op": "add", "path": "members", "value": {"value": "{0}"}},  # one object, not an array
        {"op": "remove", "path": "members", "value": []},  # lists nothing: neither all nor none
        {"op": "add", "value": {}},  # names no attribute (RFC 7644 §3.5.2.1)
        {"op": "replace", "value": {}},
        {"op": "Remove", "path": "members", "value": {"value": "{0}"}},
    ],
)
def test_member_patch_with_no_or_a_misshapen_value_is_400(
    scim: ScimClient, operation: dict[str, Any]
) -> None:
    # Issue 14: these answered 200 and changed nothing (a single object was wrapped in a list, a
    # tolerance no IdP needs: Okta and Entra send arrays).
    users = new_users(scim, 1)
    group = new_group(scim, members=users)
    body = ops(_fill(operation, users))
    response = scim("PATCH", f"/Groups/{group['id']}", body)
    assert (response.status, response.body["scimType"]) == (400, "invalidValue"), response.body
    assert member_ids(scim, group["id"]) == users
    assert scim("GET", f"/Groups/{group['id']}").body["meta"]["version"] == etag_of(1)


def test_member_of_other_tenant_is_unknown(aws: None) -> None:
    acme, globex = ScimClient("acme"), ScimClient("globex")
    (foreign,) = new_users(globex, 1)
    group = new_group(acme)
    body = ops({"op": "add", "path": "members", "value": [{"value": foreign}]})
    assert acme("PATCH", f"/Groups/{group['id']}", body).status == 400


def test_adding_existing_member_is_noop(scim: ScimClient) -> None:
    users = new_users(scim, 1)
    group = new_group(scim, members=users)
    body = ops({"op": "add", "path": "members", "value": [{"value": users[0]}]})
    assert scim("PATCH", f"/Groups/{group['id']}", body).status == 204
    assert member_ids(scim, group["id"]) == users


@pytest.mark.parametrize(
    ("operation", "survivors"),
    [
        # Okta and Entra: remove one member by value filter.
        ({"op": "remove", "path": 'members[value eq "{0}"]'}, [1, 2]),
        # Entra's older form: remove with a value list removes ONLY those members.
        ({"op": "Remove", "path": "members", "value": [{"value": "{0}"}]}, [1, 2]),
        # RFC 7644 §3.5.2.2: remove without value empties the attribute.
        ({"op": "remove", "path": "members"}, []),
        # Okta "push now": replace members with [] empties the group.
        ({"op": "replace", "path": "members", "value": []}, []),
        # Okta: replace the whole member list.
        ({"op": "replace", "path": "members", "value": [{"value": "{2}"}]}, [2]),
        # Path-less replace with members.
        ({"op": "replace", "value": {"members": [{"value": "{0}"}, {"value": "{1}"}]}}, [0, 1]),
        # Filter other than value eq: evaluated against the members.
        ({"op": "remove", "path": 'members[type eq "User"]'}, []),
    ],
)
def test_membership_patch_shapes(scim: ScimClient, operation: dict[str, Any], survivors: list[int]) -> None:
    users = new_users(scim, 3)
    group = new_group(scim, members=users)
    rendered = {
        k: (v.format(*users) if isinstance(v, str) else v) for k, v in operation.items() if k != "value"
    }
    if "value" in operation:
        rendered["value"] = _fill(operation["value"], users)
    response = scim("PATCH", f"/Groups/{group['id']}", ops(rendered))
    assert response.status == 204, response.body
    assert member_ids(scim, group["id"]) == sorted(users[i] for i in survivors)


def _fill(value: Any, users: list[str]) -> Any:
    if isinstance(value, str):
        return value.format(*users)
    if isinstance(value, list):
        return [_fill(v, users) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, users) for k, v in value.items()}
    return value


def test_okta_rename_with_echoed_id(scim: ScimClient) -> None:
    users = new_users(scim, 1)
    group = new_group(scim, "Old name", users)
    body = ops({"op": "replace", "value": {"id": group["id"], "displayName": "New name"}})
    assert scim("PATCH", f"/Groups/{group['id']}", body).status == 204
    assert scim("GET", f"/Groups/{group['id']}").body["displayName"] == "New name"
    # The user's groups attribute follows the rename.
    assert scim("GET", f"/Users/{users[0]}").body["groups"][0]["display"] == "New name"
    found = scim("GET", "/Groups", query={"filter": 'displayName eq "new NAME"'}).body
    assert found["totalResults"] == 1


def test_excluded_members_reads_no_member_items(scim: ScimClient, dynamodb_calls: list[str]) -> None:
    users = new_users(scim, 3)
    group = new_group(scim, "Big", users)
    dynamodb_calls.clear()
    query = {"filter": 'displayName eq "Big"', "excludedAttributes": "members"}
    found = scim("GET", "/Groups", query=query).body
    assert found["totalResults"] == 1
    assert "members" not in found["Resources"][0]
    assert dynamodb_calls == ["Query"]  # the displayName index only; no member Query
    dynamodb_calls.clear()
    single = scim("GET", f"/Groups/{group['id']}", query={"excludedAttributes": "members"}).body
    assert "members" not in single
    assert dynamodb_calls == ["GetItem"]


def test_member_filters_come_from_keys(scim: ScimClient, dynamodb_calls: list[str]) -> None:
    users = new_users(scim, 2)
    group = new_group(scim, "G1", users[:1])
    new_group(scim, "G2", users[1:])
    for text in (f'members[value eq "{users[0]}"]', f'members.value eq "{users[0]}"'):
        dynamodb_calls.clear()
        found = scim("GET", "/Groups", query={"filter": text, "excludedAttributes": "members"}).body
        assert [g["id"] for g in found["Resources"]] == [group["id"]]
        assert dynamodb_calls == ["Query", "BatchGetItem"]
    members = scim("GET", "/Users", query={"filter": f'groups.value eq "{group["id"]}"'}).body
    assert [u["id"] for u in members["Resources"]] == users[:1]


def test_delete_user_removes_it_from_groups(scim: ScimClient) -> None:
    users = new_users(scim, 2)
    group = new_group(scim, members=users)
    assert scim("DELETE", f"/Users/{users[0]}").status == 204
    fetched = scim("GET", f"/Groups/{group['id']}").body
    assert [m["value"] for m in fetched["members"]] == [users[1]]
    assert fetched["meta"]["version"] != group["meta"]["version"]


def test_delete_group_removes_memberships(scim: ScimClient) -> None:
    users = new_users(scim, 1)
    group = new_group(scim, members=users)
    assert scim("DELETE", f"/Groups/{group['id']}").status == 204
    assert scim("GET", f"/Groups/{group['id']}").status == 404
    assert "groups" not in scim("GET", f"/Users/{users[0]}").body
    # The name is free again.
    new_group(scim)


def test_put_replaces_members(scim: ScimClient) -> None:
    users = new_users(scim, 3)
    group = new_group(scim, "Team", users[:2])
    body = {"schemas": [GROUP], "displayName": "Team", "members": [{"value": users[2]}]}
    replaced = scim("PUT", f"/Groups/{group['id']}", body)
    assert replaced.status == 200
    assert [m["value"] for m in replaced.body["members"]] == [users[2]]


def test_large_add_is_batched_and_single_member_changes_stay_constant(
    scim: ScimClient, dynamodb_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of 12 items (10 members, the group's version bump, the nested counter) instead of
    # 100: the same code path, without moto copying a big table per transaction (moto deep-copies
    # every table for each TransactWriteItems).
    monkeypatch.setattr(memberships_table, "CHUNK", 12)
    users = seed_users(TABLE_NAME, "demo", 25)
    group = new_group(scim)
    dynamodb_calls.clear()
    body = ops({"op": "add", "path": "members", "value": [{"value": u} for u in users]})
    assert scim("PATCH", f"/Groups/{group['id']}", body).status == 204
    assert dynamodb_calls.count("TransactWriteItems") == 3  # 25 members in chunks of 10
    assert len(member_ids(scim, group["id"])) == 25
    dynamodb_calls.clear()
    one = ops({"op": "remove", "path": f'members[value eq "{users[0]}"]'})
    assert scim("PATCH", f"/Groups/{group['id']}", one).status == 204
    # BatchGetItem (the group and the membership together), TransactWriteItems; the new version
    # comes from the conditional bump, so no read follows.
    assert dynamodb_calls == ["BatchGetItem", "TransactWriteItems"]


def test_group_patch_with_attributes_returns_200(scim: ScimClient) -> None:
    group = new_group(scim)
    body = ops({"op": "replace", "path": "displayName", "value": "Renamed"})
    response = scim("PATCH", f"/Groups/{group['id']}", body, query={"attributes": "displayName"})
    assert response.status == 200
    assert response.body["displayName"] == "Renamed"


def test_rename_with_unknown_member_changes_nothing(scim: ScimClient) -> None:
    group = new_group(scim, "Stable")
    body = ops(
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "add", "path": "members", "value": [{"value": "ghost"}]},
    )
    assert scim("PATCH", f"/Groups/{group['id']}", body).status == 400
    after = scim("GET", f"/Groups/{group['id']}").body
    assert (after["displayName"], after["meta"]["version"]) == ("Stable", etag_of(1))
    put = {"schemas": [GROUP], "displayName": "Changed", "members": [{"value": "ghost"}]}
    assert scim("PUT", f"/Groups/{group['id']}", put).status == 400
    assert scim("GET", f"/Groups/{group['id']}").body["displayName"] == "Stable"


def test_member_display_is_kept_as_sent(scim: ScimClient) -> None:
    """Okta sends each member's display name with membership pushes; it is returned as sent."""
    (user,) = new_users(scim, 1)
    group = new_group(scim)
    body = ops({"op": "add", "path": "members", "value": [{"value": user, "display": "Isaac Brock"}]})
    scim("PATCH", f"/Groups/{group['id']}", body)
    (member,) = scim("GET", f"/Groups/{group['id']}").body["members"]
    assert (member["value"], member["display"], member["type"]) == (user, "Isaac Brock", "User")


def test_adding_an_existing_member_keeps_the_version(scim: ScimClient) -> None:
    """Entra re-sends adds it is unsure about: nothing changes, so no new version (and no event)."""
    (user,) = new_users(scim, 1)
    group = new_group(scim, members=[user])
    again = ops({"op": "Add", "path": "members", "value": [{"$ref": None, "value": user}]})
    response = scim("PATCH", f"/Groups/{group['id']}", again)
    assert (response.status, response.headers["etag"]) == (204, group["meta"]["version"])
