"""Microsoft Entra ID's group requests replayed over real HTTP against the local gateway.

The bodies are copied from ENTRA-SCIM: Microsoft, "Tutorial: Develop and plan provisioning for a
SCIM endpoint in Microsoft Entra ID"
(learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups),
section "Group Operations": Create Group, Get Group, Get Group by displayName, Update Group
[Non-member attributes], Update Group [Add Members], Update Group [Remove Members], Delete Group.
That section also states what the endpoint must do: "Groups shall always be created with an empty
members list", "Groups can be queried by the displayName attribute", and "Update to the group
PATCH request should yield an HTTP 204 No Content in the response".

Entra is configured with the Tenant URL followed by "?aadOptscim062020" (Microsoft, "Known issues
and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra user provisioning
service", "Flags to alter the SCIM behavior"), and keeps that query on every request, so every
request below carries it. Member ids in the documented bodies ("f648f8d5ea4e4cd38e9c") are
replaced by the ids of users created first over HTTP.

Queries are sent raw, as Entra encodes them: a space is "+" and a quote "%22"
(`GET /Groups?excludedAttributes=members&filter=displayName+eq+%22…%22`, the form of ENTRA-SCIM's
"Get Group by displayName"). API Gateway REST decodes the "+" (the Live-v1 capture cited in
../shared/research/api-gateway-fidelity.md, aws/aws-cdk#19827), and so must the local gateway.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

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

FLAG = "aadOptscim062020"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

# ENTRA-SCIM, "Create Group" (request), exactly: Microsoft's own schema URN next to the core one.
ENTRA_CREATE_GROUP: dict[str, Any] = {
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
    ],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {"resourceType": "Group"},
}

# ENTRA-SCIM, "Update Group [Non-member attributes]".
ENTRA_UPDATE_NON_MEMBER: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {
            "op": "Replace",
            "path": "displayName",
            "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName",
        }
    ],
}


def entra_add_members(*user_ids: str) -> dict[str, Any]:
    """ENTRA-SCIM, "Update Group [Add Members]": capitalised "Add", each member with "$ref": null."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u} for u in user_ids]}
        ],
    }


def entra_remove_members(*user_ids: str) -> dict[str, Any]:
    """ENTRA-SCIM, "Update Group [Remove Members]": "Remove" with path "members" and a value list."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": u} for u in user_ids]}
        ],
    }


def entra_remove_member_by_filter(user_id: str) -> dict[str, Any]:
    """The value-filter form of the removal, which Entra also sends (docs/scim.md, shapes table)."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": f'members[value eq "{user_id}"]'}],
    }


# ---------------------------------------------------------------------------------------- helpers
def groups(suffix: str = "") -> str:
    """The Groups URL as Entra builds it: the flag stays on the Tenant URL's query."""
    return f"/Groups{suffix}?{FLAG}"


def create_user(scim: ScimHttp, user_name: str) -> str:
    created = scim.post(
        f"/Users?{FLAG}",
        {
            "schemas": [USER_SCHEMA],
            "externalId": user_name,
            "userName": user_name,
            "active": True,
            "name": {"givenName": "givenName", "familyName": "familyName"},
        },
    )
    assert created.status == 201, created.text
    user_id: str = created.json["id"]
    return user_id


def assert_group(response: HttpResponse, status: int = 200) -> dict[str, Any]:
    assert response.status == status, response.text
    assert_scim_json(response)
    group: dict[str, Any] = response.json
    assert GROUP_SCHEMA in group["schemas"]
    assert group["meta"]["resourceType"] == "Group"
    assert response.headers["etag"] == group["meta"]["version"]
    return group


def create_entra_group(scim: ScimHttp) -> dict[str, Any]:
    return assert_group(scim.post(groups(), ENTRA_CREATE_GROUP), 201)


def patch_204(scim: ScimHttp, group: dict[str, Any], body: dict[str, Any]) -> str:
    """ENTRA-SCIM: every group PATCH is answered "HTTP/1.1 204 No Content"; returns the new ETag."""
    response = scim.patch(groups(f"/{group['id']}"), body)
    assert response.status == 204, response.text
    assert response.raw == b""
    assert response.headers["etag"].startswith('W/"'), response.headers
    return response.headers["etag"]


def member_ids(scim: ScimHttp, group: dict[str, Any]) -> set[str]:
    fetched = assert_group(scim.get(groups(f"/{group['id']}")))
    return {m["value"] for m in fetched.get("members", [])}


def by_display_name(scim: ScimHttp, name: str) -> HttpResponse:
    # ENTRA-SCIM, "Get Group by displayName", raw as Entra sends it:
    # GET /Groups?excludedAttributes=members&filter=displayName+eq+%22…%22
    encoded = quote_plus(f'displayName eq "{name}"', safe="")
    return scim.get(f"{groups()}&excludedAttributes=members&filter={encoded}")


# ---------------------------------------------------------------------------------------- create / get
def test_create_group(fresh_tenant: ScimHttp) -> None:
    created = fresh_tenant.post(groups(), ENTRA_CREATE_GROUP)
    group = assert_group(created, 201)
    assert group["id"]
    assert group["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert group["displayName"] == "displayName"
    assert group.get("members", []) == []  # "created with an empty members list"
    assert created.headers["location"] == group["meta"]["location"]
    assert group["meta"]["location"] == f"{fresh_tenant.base_url}/Groups/{group['id']}"  # no flag in it
    assert group["meta"]["created"] == group["meta"]["lastModified"]


def test_get_group_without_members(fresh_tenant: ScimHttp) -> None:
    user = create_user(fresh_tenant, "member@contoso.com")
    group = create_entra_group(fresh_tenant)
    patch_204(fresh_tenant, group, entra_add_members(user))
    # ENTRA-SCIM, "Get Group": GET /Groups/{id}?excludedAttributes=members.
    fetched = fresh_tenant.get(groups(f"/{group['id']}"), params={"excludedAttributes": "members"})
    body = assert_group(fetched)
    assert "members" not in body
    assert body["id"] == group["id"]
    assert body["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert body["displayName"] == "displayName"
    # Without the parameter, the member is there: the exclusion was the parameter's doing.
    assert member_ids(fresh_tenant, group) == {user}


def test_get_group_by_display_name_excludes_members(fresh_tenant: ScimHttp) -> None:
    user = create_user(fresh_tenant, "member@contoso.com")
    group = create_entra_group(fresh_tenant)
    patch_204(fresh_tenant, group, entra_add_members(user))
    found = by_display_name(fresh_tenant, "displayName")
    assert found.status == 200, found.text
    assert_scim_json(found)
    body = found.json
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 1
    assert body["startIndex"] == 1
    (resource,) = body["Resources"]
    assert resource["id"] == group["id"]
    assert resource["displayName"] == "displayName"
    assert resource["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert "members" not in resource
    # Case-insensitive, as displayName's caseExact is false (RFC 7643 §4.2).
    assert by_display_name(fresh_tenant, "DISPLAYNAME").json["totalResults"] == 1
    assert by_display_name(fresh_tenant, "otherName").json["totalResults"] == 0


def test_group_lookup_byte_for_byte_with_a_space_in_the_name(fresh_tenant: ScimHttp) -> None:
    # A displayName with a space is where "+" matters: Entra sends `Sales+Team`, and API Gateway
    # hands the function "Sales Team" (Live-v1, aws/aws-cdk#19827).
    created = fresh_tenant.post(groups(), {**ENTRA_CREATE_GROUP, "displayName": "Sales Team"})
    group = assert_group(created, 201)
    raw = f"/Groups?{FLAG}&excludedAttributes=members&filter=displayName+eq+%22Sales+Team%22"
    found = fresh_tenant.get(raw)
    assert found.status == 200, found.text
    assert [r["id"] for r in found.json["Resources"]] == [group["id"]]
    assert "members" not in found.json["Resources"][0]
    missing = fresh_tenant.get(f"/Groups?{FLAG}&excludedAttributes=members&filter=displayName+eq+%22Sales%22")
    assert missing.status == 200, missing.text
    assert missing.json["totalResults"] == 0


# ---------------------------------------------------------------------------------------- update
def test_update_group_non_member_attributes(fresh_tenant: ScimHttp) -> None:
    user = create_user(fresh_tenant, "member@contoso.com")
    group = create_entra_group(fresh_tenant)
    patch_204(fresh_tenant, group, entra_add_members(user))
    etag = patch_204(fresh_tenant, group, ENTRA_UPDATE_NON_MEMBER)
    fetched = assert_group(fresh_tenant.get(groups(f"/{group['id']}")))
    assert fetched["displayName"] == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    assert fetched["meta"]["version"] == etag
    assert [m["value"] for m in fetched["members"]] == [user]  # members untouched
    assert by_display_name(fresh_tenant, "displayName").json["totalResults"] == 0
    renamed = by_display_name(fresh_tenant, "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName").json
    assert [g["id"] for g in renamed["Resources"]] == [group["id"]]


def test_update_group_add_members(fresh_tenant: ScimHttp) -> None:
    user = create_user(fresh_tenant, "f648f8d5ea4e4cd38e9c@contoso.com")
    group = create_entra_group(fresh_tenant)
    etag = patch_204(fresh_tenant, group, entra_add_members(user))
    assert etag != group["meta"]["version"]
    fetched = assert_group(fresh_tenant.get(groups(f"/{group['id']}")))
    (member,) = fetched["members"]
    assert member["value"] == user
    assert member["type"] == "User"
    assert member["$ref"] == f"{fresh_tenant.base_url}/Users/{user}"  # the null $ref is filled in
    assert fetched["meta"]["version"] == etag
    # Entra re-sends adds it is unsure about: adding an existing member changes nothing.
    assert patch_204(fresh_tenant, group, entra_add_members(user)) == etag
    assert member_ids(fresh_tenant, group) == {user}


def test_update_group_remove_members_removes_only_the_listed_one(fresh_tenant: ScimHttp) -> None:
    leaving = create_user(fresh_tenant, "leaving@contoso.com")
    staying = create_user(fresh_tenant, "staying@contoso.com")
    group = create_entra_group(fresh_tenant)
    patch_204(fresh_tenant, group, entra_add_members(leaving, staying))
    assert member_ids(fresh_tenant, group) == {leaving, staying}

    patch_204(fresh_tenant, group, entra_remove_members(leaving))
    # Only the listed member goes: emptying the group here is the classic SCIM server bug.
    assert member_ids(fresh_tenant, group) == {staying}
    assert not fresh_tenant.get(f"/Users/{leaving}?{FLAG}").json.get("groups")
    groups_of_staying = fresh_tenant.get(f"/Users/{staying}?{FLAG}").json["groups"]
    assert [g["value"] for g in groups_of_staying] == [group["id"]]


def test_update_group_remove_member_by_value_filter(fresh_tenant: ScimHttp) -> None:
    leaving = create_user(fresh_tenant, "leaving@contoso.com")
    staying = create_user(fresh_tenant, "staying@contoso.com")
    group = create_entra_group(fresh_tenant)
    patch_204(fresh_tenant, group, entra_add_members(leaving, staying))
    patch_204(fresh_tenant, group, entra_remove_member_by_filter(leaving))
    assert member_ids(fresh_tenant, group) == {staying}
    # Removing a member that is not there is a no-op, not an error.
    patch_204(fresh_tenant, group, entra_remove_member_by_filter(leaving))
    patch_204(fresh_tenant, group, entra_remove_members(leaving))
    assert member_ids(fresh_tenant, group) == {staying}


def test_add_of_an_unknown_member_is_400_invalid_value(fresh_tenant: ScimHttp) -> None:
    group = create_entra_group(fresh_tenant)
    response = fresh_tenant.patch(groups(f"/{group['id']}"), entra_add_members("f648f8d5ea4e4cd38e9c"))
    assert_scim_error(response, 400, "invalidValue")
    assert member_ids(fresh_tenant, group) == set()


def test_patch_with_attributes_answers_200_with_the_group(fresh_tenant: ScimHttp) -> None:
    # RFC 7644 §3.5.2: with "attributes" the client asked for a body, so the group is returned.
    user = create_user(fresh_tenant, "member@contoso.com")
    group = create_entra_group(fresh_tenant)
    response = fresh_tenant.patch(
        groups(f"/{group['id']}"), entra_add_members(user), params={"excludedAttributes": "members"}
    )
    body = assert_group(response)
    assert "members" not in body
    assert body["meta"]["version"] != group["meta"]["version"]
    assert member_ids(fresh_tenant, group) == {user}


# ---------------------------------------------------------------------------------------- delete
def test_delete_group(fresh_tenant: ScimHttp) -> None:
    user = create_user(fresh_tenant, "member@contoso.com")
    group = create_entra_group(fresh_tenant)
    patch_204(fresh_tenant, group, entra_add_members(user))
    deleted = fresh_tenant.delete(groups(f"/{group['id']}"))
    assert deleted.status == 204, deleted.text
    assert deleted.raw == b""
    assert_scim_error(fresh_tenant.get(groups(f"/{group['id']}")), 404)
    assert by_display_name(fresh_tenant, "displayName").json["totalResults"] == 0
    member = fresh_tenant.get(f"/Users/{user}?{FLAG}")
    assert member.status == 200, member.text
    assert not member.json.get("groups")
