"""Okta's group push replayed over real HTTP against the local gateway.

The Okta requests below are the ones Okta documents sending, with their bodies copied from the
sources named here; a few tests add the error answers around them (unknown member, stale
If-Match, duplicate name):

* OKTA-SCIM2: Okta, "Okta and SCIM Version 2.0"
  (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20), section "SCIM Group
  operations": "Create Groups", "Retrieve specific Groups", "Update a specific Group name",
  "Update specific Group membership", "Retrieve Groups" (import, startIndex=1&count=100),
  "Delete a specific Group". Okta answers its group PATCHes with "HTTP/1.1 204 No Content" in
  that reference.
* OKTA-PUSH: Okta's Group Push "Push now" re-sends a pushed group's whole member list as a
  `replace` of `members`, `[]` when no member is left (the shapes listed in docs/scim.md,
  "Membership PATCH shapes").

The users Okta refers to as members are created first, over HTTP, as Okta would have provisioned
them. Each test uses a tenant of its own, so the totals it asserts are exact.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import (
    LIST_RESPONSE,
    USER_SCHEMA,
    HttpResponse,
    ScimHttp,
    assert_scim_error,
    assert_scim_json,
)

pytestmark = pytest.mark.integration

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

# OKTA-SCIM2, "Create Groups": the request body, exactly.
OKTA_CREATE_GROUP: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "Test SCIMv2",
    "members": [],
}

# Before pushing a group, Okta looks it up by its name (paged as all its list requests are), so
# that an existing group is linked instead of created twice.
OKTA_GROUP_LOOKUP = "/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100"

# OKTA-SCIM2, "Retrieve Groups": the import request; "the query parameters ... are always constant".
OKTA_IMPORT_GROUPS = "/Groups?startIndex=1&count=100"


def okta_rename(group_id: str, display_name: str) -> dict[str, Any]:
    """OKTA-SCIM2, "Update a specific Group name": a path-less replace echoing the group's id."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"id": group_id, "displayName": display_name}}],
    }


def okta_add_members(*members: tuple[str, str]) -> dict[str, Any]:
    """OKTA-SCIM2, "Update specific Group membership": add, each member with its display."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [{"value": user_id, "display": display} for user_id, display in members],
            }
        ],
    }


def okta_remove_member(user_id: str) -> dict[str, Any]:
    """OKTA-SCIM2, "Update specific Group membership": remove one member by a value filter."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": f'members[value eq "{user_id}"]'}],
    }


def okta_push_now(*members: tuple[str, str]) -> dict[str, Any]:
    """OKTA-PUSH, "Push now": the whole member list replaces the group's (possibly empty)."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "replace",
                "path": "members",
                "value": [{"value": user_id, "display": display} for user_id, display in members],
            }
        ],
    }


# ---------------------------------------------------------------------------------------- helpers
def create_user(scim: ScimHttp, user_name: str) -> tuple[str, str]:
    """An Okta-provisioned user (OKTA-SCIM2, "Create Users", trimmed); returns (id, userName)."""
    created = scim.post(
        "/Users",
        {
            "schemas": [USER_SCHEMA],
            "userName": user_name,
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": user_name, "type": "work"}],
            "active": True,
        },
    )
    assert created.status == 201, created.text
    return created.json["id"], user_name


def assert_group(response: HttpResponse, status: int = 200) -> dict[str, Any]:
    """A Group answer: status, SCIM media type, ETag equal to meta.version."""
    assert response.status == status, response.text
    assert_scim_json(response)
    group: dict[str, Any] = response.json
    assert group["schemas"] == [GROUP_SCHEMA]
    assert group["meta"]["resourceType"] == "Group"
    assert response.headers["etag"] == group["meta"]["version"]
    return group


def create_group(scim: ScimHttp) -> dict[str, Any]:
    return assert_group(scim.post("/Groups", OKTA_CREATE_GROUP), 201)


def patch_204(scim: ScimHttp, group_id: str, body: dict[str, Any]) -> str:
    """A group PATCH answered 204 No Content (OKTA-SCIM2) with the new ETag; returns the ETag."""
    response = scim.patch(f"/Groups/{group_id}", body)
    assert response.status == 204, response.text
    assert response.raw == b""
    assert response.headers["etag"].startswith('W/"'), response.headers
    return response.headers["etag"]


def members_of(scim: ScimHttp, group_id: str) -> dict[str, dict[str, Any]]:
    fetched = assert_group(scim.get(f"/Groups/{group_id}"))
    return {m["value"]: m for m in fetched.get("members", [])}


# ---------------------------------------------------------------------------------------- create / read
def test_lookup_then_create_group(fresh_tenant: ScimHttp) -> None:
    absent = fresh_tenant.get(OKTA_GROUP_LOOKUP)
    assert absent.status == 200, absent.text
    assert_scim_json(absent)
    assert absent.json["schemas"] == [LIST_RESPONSE]
    assert absent.json["totalResults"] == 0
    assert absent.json.get("Resources", []) == []

    created = fresh_tenant.post("/Groups", OKTA_CREATE_GROUP)
    group = assert_group(created, 201)
    assert group["id"]
    assert group["displayName"] == "Test SCIMv2"
    assert group.get("members", []) == []  # "members": [] is unassigned (RFC 7643 §2.5)
    # RFC 7644 §3.3: Location is the new resource's URI.
    assert created.headers["location"] == group["meta"]["location"]
    assert group["meta"]["location"] == f"{fresh_tenant.base_url}/Groups/{group['id']}"

    found = fresh_tenant.get(OKTA_GROUP_LOOKUP)
    assert found.status == 200, found.text
    body = found.json
    assert body["totalResults"] == 1
    assert body["startIndex"] == 1
    assert [g["id"] for g in body["Resources"]] == [group["id"]]


def test_create_of_an_existing_display_name_is_409(fresh_tenant: ScimHttp) -> None:
    create_group(fresh_tenant)
    again = fresh_tenant.post("/Groups", {**OKTA_CREATE_GROUP, "displayName": "test scimv2"})
    assert_scim_error(again, 409, "uniqueness")


def test_retrieve_a_specific_group(fresh_tenant: ScimHttp) -> None:
    group = create_group(fresh_tenant)
    fetched = fresh_tenant.get(f"/Groups/{group['id']}")
    assert assert_group(fetched) == group
    assert_scim_error(fresh_tenant.get("/Groups/abf4dd94-a4c0-4f67-89c9-76b03340cb9b"), 404)


# ---------------------------------------------------------------------------------------- update
def test_update_group_name_with_echoed_id(fresh_tenant: ScimHttp) -> None:
    group = create_group(fresh_tenant)
    etag = patch_204(fresh_tenant, group["id"], okta_rename(group["id"], "Test SCIMv2 renamed"))
    renamed = assert_group(fresh_tenant.get(f"/Groups/{group['id']}"))
    assert renamed["id"] == group["id"]  # the echoed id is ignored, not an error
    assert renamed["displayName"] == "Test SCIMv2 renamed"
    assert renamed["meta"]["version"] == etag != group["meta"]["version"]
    assert fresh_tenant.get(OKTA_GROUP_LOOKUP).json["totalResults"] == 0
    found = fresh_tenant.get("/Groups", params={"filter": 'displayName eq "Test SCIMv2 renamed"'}).json
    assert [g["id"] for g in found["Resources"]] == [group["id"]]


def test_add_then_remove_members(fresh_tenant: ScimHttp) -> None:
    alice = create_user(fresh_tenant, "alice@example.com")
    bob = create_user(fresh_tenant, "bob@example.com")
    group = create_group(fresh_tenant)

    added = patch_204(fresh_tenant, group["id"], okta_add_members(alice, bob))
    members = members_of(fresh_tenant, group["id"])
    assert set(members) == {alice[0], bob[0]}
    assert members[alice[0]]["display"] == "alice@example.com"  # Okta's display, kept as sent
    assert members[alice[0]]["type"] == "User"
    assert members[alice[0]]["$ref"] == f"{fresh_tenant.base_url}/Users/{alice[0]}"
    # The member's own groups attribute shows the membership (RFC 7643 §4.1.2).
    user = fresh_tenant.get(f"/Users/{alice[0]}").json
    assert [(g["value"], g["type"]) for g in user["groups"]] == [(group["id"], "direct")]

    removed = patch_204(fresh_tenant, group["id"], okta_remove_member(alice[0]))
    assert removed != added
    assert set(members_of(fresh_tenant, group["id"])) == {bob[0]}
    assert not fresh_tenant.get(f"/Users/{alice[0]}").json.get("groups")
    # Removing a member that is no longer there is a no-op, still 204.
    patch_204(fresh_tenant, group["id"], okta_remove_member(alice[0]))
    assert set(members_of(fresh_tenant, group["id"])) == {bob[0]}


def test_membership_update_with_remove_and_add_in_one_request(fresh_tenant: ScimHttp) -> None:
    # OKTA-SCIM2, "Update specific Group membership": one PATCH carries the removal and the add.
    leaving = create_user(fresh_tenant, "leaving@example.com")
    joining = create_user(fresh_tenant, "test.user@okta.local")
    group = create_group(fresh_tenant)
    patch_204(fresh_tenant, group["id"], okta_add_members(leaving))
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "remove", "path": f'members[value eq "{leaving[0]}"]'},
            {"op": "add", "path": "members", "value": [{"value": joining[0], "display": joining[1]}]},
        ],
    }
    patch_204(fresh_tenant, group["id"], body)
    assert set(members_of(fresh_tenant, group["id"])) == {joining[0]}


def test_push_now_replaces_the_member_list(fresh_tenant: ScimHttp) -> None:
    users = [create_user(fresh_tenant, f"push{i}@example.com") for i in range(3)]
    group = create_group(fresh_tenant)
    patch_204(fresh_tenant, group["id"], okta_add_members(users[0], users[1]))

    patch_204(fresh_tenant, group["id"], okta_push_now(users[1], users[2]))
    assert set(members_of(fresh_tenant, group["id"])) == {users[1][0], users[2][0]}

    # Pushed again with no assigned member: the group is emptied.
    patch_204(fresh_tenant, group["id"], okta_push_now())
    fetched = assert_group(fresh_tenant.get(f"/Groups/{group['id']}"))
    assert fetched.get("members", []) == []
    assert fetched["displayName"] == "Test SCIMv2"
    for user_id, _ in users:
        assert not fresh_tenant.get(f"/Users/{user_id}").json.get("groups")


def test_adding_an_unknown_member_is_400_and_changes_nothing(fresh_tenant: ScimHttp) -> None:
    known = create_user(fresh_tenant, "known@example.com")
    group = create_group(fresh_tenant)
    body = okta_add_members(known, ("23a35c27-23d3-4c03-b4c5-6443c09e7173", "ghost@okta.local"))
    assert_scim_error(fresh_tenant.patch(f"/Groups/{group['id']}", body), 400, "invalidValue")
    fetched = assert_group(fresh_tenant.get(f"/Groups/{group['id']}"))
    assert fetched.get("members", []) == []
    assert fetched["meta"]["version"] == group["meta"]["version"]


def test_patch_with_a_stale_if_match_is_412(fresh_tenant: ScimHttp) -> None:
    member = create_user(fresh_tenant, "etag@example.com")
    group = create_group(fresh_tenant)
    patch_204(fresh_tenant, group["id"], okta_rename(group["id"], "Test SCIMv2 renamed"))
    stale = fresh_tenant.patch(
        f"/Groups/{group['id']}", okta_add_members(member), headers={"If-Match": group["meta"]["version"]}
    )
    assert_scim_error(stale, 412)
    assert members_of(fresh_tenant, group["id"]) == {}


# ---------------------------------------------------------------------------------------- import
def test_import_groups(fresh_tenant: ScimHttp) -> None:
    member = create_user(fresh_tenant, "imported@example.com")
    first = create_group(fresh_tenant)
    second = assert_group(
        fresh_tenant.post("/Groups", {**OKTA_CREATE_GROUP, "displayName": "Second SCIMv2"}), 201
    )
    patch_204(fresh_tenant, second["id"], okta_add_members(member))

    listed = fresh_tenant.get(OKTA_IMPORT_GROUPS)
    assert listed.status == 200, listed.text
    assert_scim_json(listed)
    body = listed.json
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 2
    assert body["startIndex"] == 1
    assert body["itemsPerPage"] == 2
    by_id = {g["id"]: g for g in body["Resources"]}
    assert set(by_id) == {first["id"], second["id"]}
    assert by_id[first["id"]]["displayName"] == "Test SCIMv2"
    assert by_id[first["id"]].get("members", []) == []
    assert [m["value"] for m in by_id[second["id"]]["members"]] == [member[0]]
    assert all(g["schemas"] == [GROUP_SCHEMA] for g in body["Resources"])


# ---------------------------------------------------------------------------------------- delete
def test_delete_group(fresh_tenant: ScimHttp) -> None:
    member = create_user(fresh_tenant, "staying@example.com")
    group = create_group(fresh_tenant)
    patch_204(fresh_tenant, group["id"], okta_add_members(member))

    deleted = fresh_tenant.delete(f"/Groups/{group['id']}")
    assert deleted.status == 204, deleted.text
    assert deleted.raw == b""
    assert_scim_error(fresh_tenant.get(f"/Groups/{group['id']}"), 404)
    assert_scim_error(fresh_tenant.delete(f"/Groups/{group['id']}"), 404)
    assert_scim_error(fresh_tenant.patch(f"/Groups/{group['id']}", okta_remove_member(member[0])), 404)
    assert fresh_tenant.get(OKTA_GROUP_LOOKUP).json["totalResults"] == 0
    # The member user stays, without the membership; the name is free again.
    user = fresh_tenant.get(f"/Users/{member[0]}")
    assert user.status == 200
    assert not user.json.get("groups")
    assert fresh_tenant.post("/Groups", OKTA_CREATE_GROUP).status == 201
