"""Acceptance: the `poppulo` preset replays the Entra setup of `../shared/seeds/001_b234dbe743745426.txt`.

The seed (Poppulo, "SCIM User Provisioning") states:

1. "Automatically create new users" when added to the appropriate group in the IdP (Entra ID).
2. "Keep user details in sync": changes to name, email, job title and Employee ID made in the IdP
   update the user in Poppulo.
3. "Automatically deactivate users": a user who leaves or is disabled in the IdP is deactivated.
4. "Verify that the key identifiers (email or Employee ID) match": Entra matches users by either.
5. Group association: IT configures the groups empty first ("the groups will appear ... initially
   without users"), then provisions users into them.
6. "SCIM does not manage: Roles, Permissions, Sub-account assignments, Group or access controls"
   (roles sent by the IdP are not taken; other attributes are not stored).
7. "Users managed by SCIM cannot be manually edited in Poppulo" (the profile tells the SaaS).
8. "Entra provisions every ~40 minutes by default" (Entra's schedule; nothing to serve).

Requests are Entra's (learn.microsoft.com, "Develop and plan provisioning for a SCIM endpoint",
"User Operations" and "Group Operations"; the path-less replace with URN keys from "Known issues
... SCIM 2.0 protocol compliance"), as in test_users_entra_http.py and test_groups_entra_http.py,
each with the `?aadOptscim062020` flag Entra keeps on the Tenant URL. Every tenant is created with
`preset("poppulo")`.
"""

from __future__ import annotations

import copy
from itertools import count
from typing import Any

import pytest

from core.profiles import preset
from scimctl.gateway import RunningGateway
from tests.integration.conftest import (
    ENTERPRISE_SCHEMA,
    PATCH_OP,
    USER_SCHEMA,
    HttpResponse,
    ScimHttp,
    assert_scim_json,
)

pytestmark = pytest.mark.integration

FLAG = "aadOptscim062020"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

# Entra "Create User" with Entra's default attribute mappings: jobTitle -> title, employeeId ->
# employeeNumber, and the rows Poppulo does not take (department, manager, phone, address, roles).
ENTRA_CREATE_USER: dict[str, Any] = {
    "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "megan.bowen@contoso.com",
    "active": True,
    "displayName": "Megan Bowen",
    "title": "Internal Comms Lead",
    "preferredLanguage": "en-GB",
    "emails": [{"primary": True, "type": "work", "value": "megan.bowen@contoso.com"}],
    "phoneNumbers": [{"type": "work", "value": "+44 20 7946 0000"}],
    "addresses": [{"type": "work", "locality": "Cork", "country": "IE"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "Megan Bowen", "familyName": "Bowen", "givenName": "Megan"},
    "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Editor"}],
    ENTERPRISE_SCHEMA: {
        "employeeNumber": "701984",
        "department": "Communications",
        "manager": {"value": "26118915-6090-4610-87a4-49d0767d2ad4"},
    },
}

# Entra "Create Group": Entra creates groups without members.
ENTRA_CREATE_GROUP: dict[str, Any] = {
    "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "Poppulo Editors",
    "meta": {"resourceType": "Group"},
}

_ids = count(1)


def poppulo_tenant(running: RunningGateway) -> tuple[str, ScimHttp]:
    tenant = f"poppulo{next(_ids)}-{running.port}"
    running.admin.create_tenant(tenant, None, preset("poppulo"))
    return tenant, ScimHttp(running.tenant_url_of(tenant), running.admin.issue_token(tenant, "entra").token)


@pytest.fixture
def poppulo(running: RunningGateway) -> ScimHttp:
    return poppulo_tenant(running)[1]


def flagged(path: str) -> str:
    return f"{path}?{FLAG}"


def entra_patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def assert_user(response: HttpResponse, status: int = 200) -> dict[str, Any]:
    assert response.status == status, response.text
    assert_scim_json(response)
    user: dict[str, Any] = response.json
    assert USER_SCHEMA in user["schemas"]
    assert response.headers["etag"] == user["meta"]["version"]
    return user


def create_user(scim: ScimHttp) -> dict[str, Any]:
    return assert_user(scim.post(flagged("/Users"), ENTRA_CREATE_USER), 201)


def ids(scim: ScimHttp, filter_: str) -> list[str]:
    found = scim.get(flagged("/Users"), params={"filter": filter_})
    assert found.status == 200, found.text
    return [u["id"] for u in found.json["Resources"]]


# ---------------------------------------------------------------------------------------- users
def test_create_keeps_job_title_and_employee_id_and_drops_the_rest(poppulo: ScimHttp) -> None:
    user = create_user(poppulo)
    assert user["schemas"] == [USER_SCHEMA, ENTERPRISE_SCHEMA]
    assert user["title"] == "Internal Comms Lead"
    assert user[ENTERPRISE_SCHEMA] == {"employeeNumber": "701984"}  # department, manager dropped
    assert user["name"] == {"formatted": "Megan Bowen", "familyName": "Bowen", "givenName": "Megan"}
    assert user["emails"] == ENTRA_CREATE_USER["emails"]
    assert (user["userName"], user["displayName"], user["active"]) == (
        "megan.bowen@contoso.com",
        "Megan Bowen",
        True,
    )
    # SCIM does not manage roles (nor anything else Poppulo does not take).
    assert not {"roles", "phoneNumbers", "addresses", "preferredLanguage"} & set(user)
    assert assert_user(poppulo.get(flagged(f"/Users/{user['id']}"))) == user


def test_users_are_matched_by_email_or_employee_id(poppulo: ScimHttp) -> None:
    user = create_user(poppulo)
    assert ids(poppulo, 'userName eq "megan.bowen@contoso.com"') == [user["id"]]
    assert ids(poppulo, f'{ENTERPRISE_SCHEMA}:employeeNumber eq "701984"') == [user["id"]]
    assert ids(poppulo, f'{ENTERPRISE_SCHEMA}:employeeNumber eq "000000"') == []


def test_entra_updates_keep_name_email_title_and_employee_id_in_sync(poppulo: ScimHttp) -> None:
    user = create_user(poppulo)
    url = flagged(f"/Users/{user['id']}")
    body = entra_patch(
        {"op": "Replace", "path": "title", "value": "Head of Internal Comms"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "megan.b@contoso.com"},
        {
            "op": "Replace",
            "value": {
                "name.familyName": "Bowen-Hart",
                f"{ENTERPRISE_SCHEMA}:employeeNumber": "701985",
                f"{ENTERPRISE_SCHEMA}:department": "Marketing",
            },
        },
    )
    updated = assert_user(poppulo.patch(url, body))
    assert updated["title"] == "Head of Internal Comms"
    assert updated["emails"][0]["value"] == "megan.b@contoso.com"
    assert updated["name"]["familyName"] == "Bowen-Hart"
    assert updated[ENTERPRISE_SCHEMA] == {"employeeNumber": "701985"}
    assert assert_user(poppulo.get(url)) == updated
    assert ids(poppulo, f'{ENTERPRISE_SCHEMA}:employeeNumber eq "701985"') == [user["id"]]


def test_put_keeps_job_title_and_employee_id_in_sync(poppulo: ScimHttp) -> None:
    user = create_user(poppulo)
    url = f"/Users/{user['id']}"
    body = copy.deepcopy(ENTRA_CREATE_USER)
    body["id"] = user["id"]
    body["title"] = "Editor in Chief"
    body[ENTERPRISE_SCHEMA] = {"employeeNumber": "802001", "costCenter": "4130"}
    replaced = assert_user(poppulo.put(url, body))
    assert replaced["title"] == "Editor in Chief"
    assert replaced[ENTERPRISE_SCHEMA] == {"employeeNumber": "802001"}
    # The job title removed in the IdP is removed here too (PUT replaces).
    del body["title"]
    assert "title" not in assert_user(poppulo.put(url, body))


def test_disabled_or_deleted_users_are_deactivated_and_kept(poppulo: ScimHttp) -> None:
    user = create_user(poppulo)
    url = flagged(f"/Users/{user['id']}")
    # Entra "Disable User".
    disable = {"Operations": [{"op": "Replace", "path": "active", "value": False}], "schemas": [PATCH_OP]}
    assert assert_user(poppulo.patch(url, disable))["active"] is False
    enable = entra_patch({"op": "Replace", "path": "active", "value": True})
    assert assert_user(poppulo.patch(url, enable))["active"] is True

    # Entra "Delete User" (the user is deleted in Entra): deactivated, not removed.
    deleted = poppulo.delete(url)
    assert deleted.status == 204, deleted.text
    kept = assert_user(poppulo.get(url))
    assert kept["active"] is False
    assert (kept["title"], kept[ENTERPRISE_SCHEMA]) == ("Internal Comms Lead", {"employeeNumber": "701984"})
    assert ids(poppulo, 'userName eq "megan.bowen@contoso.com"') == [user["id"]]


# ---------------------------------------------------------------------------------------- groups
def test_groups_are_created_empty_then_users_are_provisioned_into_them(poppulo: ScimHttp) -> None:
    created = poppulo.post(flagged("/Groups"), ENTRA_CREATE_GROUP)
    assert created.status == 201, created.text
    group = created.json
    assert group["displayName"] == "Poppulo Editors"
    assert group.get("members", []) == []  # appears in User Groups, initially without users
    # Entra "Get Group by displayName".
    lookup = poppulo.get(
        flagged("/Groups"),
        params={"excludedAttributes": "members", "filter": 'displayName eq "Poppulo Editors"'},
    )
    assert [g["id"] for g in lookup.json["Resources"]] == [group["id"]]

    # Then the users: created, and added by Entra "Update Group [Add Members]".
    user = create_user(poppulo)
    add = entra_patch({"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]})
    added = poppulo.patch(flagged(f"/Groups/{group['id']}"), add)
    assert added.status == 204, added.text
    fetched = poppulo.get(flagged(f"/Groups/{group['id']}")).json
    assert [m["value"] for m in fetched["members"]] == [user["id"]]
    assert fetched["displayName"] == "Poppulo Editors"


def test_a_provisioned_user_shows_its_group_membership(poppulo: ScimHttp) -> None:
    # Users get "the correct permissions based on their group membership": a user read back
    # carries its groups (RFC 7643 §4.1.2, docs/scim.md), and /Schemas advertises the attribute.
    group = poppulo.post(flagged("/Groups"), ENTRA_CREATE_GROUP).json
    user = create_user(poppulo)
    add = entra_patch({"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]})
    assert poppulo.patch(flagged(f"/Groups/{group['id']}"), add).status == 204
    member = assert_user(poppulo.get(flagged(f"/Users/{user['id']}")))
    assert [(g["value"], g.get("type")) for g in member.get("groups", [])] == [(group["id"], "direct")]
    attributes = {a["name"] for a in poppulo.get(flagged(f"/Schemas/{USER_SCHEMA}")).json["attributes"]}
    assert "groups" in attributes


def test_scim_managed_users_are_read_only_in_poppulo(running: RunningGateway) -> None:
    tenant, scim = poppulo_tenant(running)
    assert running.admin.require_tenant(tenant).profile.idp_managed_read_only is True
    assert scim.get("/Users").status == 200  # the same tenant the IdP provisions


# ---------------------------------------------------------------------------------------- discovery
def test_discovery_describes_the_kept_attributes_and_groups(poppulo: ScimHttp) -> None:
    config = poppulo.get(flagged("/ServiceProviderConfig"))
    assert config.status == 200, config.text
    assert config.json["patch"]["supported"] is True
    assert config.json["filter"]["supported"] is True

    types = {t["id"]: t for t in poppulo.get(flagged("/ResourceTypes")).json["Resources"]}
    assert set(types) == {"User", "Group"}
    assert types["User"]["schemaExtensions"] == [{"schema": ENTERPRISE_SCHEMA, "required": False}]
    assert poppulo.get(flagged("/Groups")).status == 200

    schemas = {s["id"]: s for s in poppulo.get(flagged("/Schemas")).json["Resources"]}
    assert set(schemas) == {USER_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA}
    user_attributes = {a["name"] for a in schemas[USER_SCHEMA]["attributes"]}
    kept = {"userName", "name", "displayName", "title", "active", "emails"}
    assert kept <= user_attributes <= kept | {"groups"}  # groups: readOnly, see the test above
    assert [a["name"] for a in schemas[ENTERPRISE_SCHEMA]["attributes"]] == ["employeeNumber"]
    assert poppulo.get(flagged("/ResourceTypes/Group")).json["endpoint"] == "/Groups"
