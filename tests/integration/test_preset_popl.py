"""Acceptance: the `popl` preset replays the Okta and Entra setups of the seed
`../shared/seeds/000_7d8bd1b16e517cb3.txt`.

The seed (Popl Documentation, "SCIM Provisioning") states:

1. Okta: unique identifier field for users: userName; "Test Connector Configuration" succeeds.
2. Okta provisioning actions: Push New Users, Push Profile Updates, Push Groups; users or groups
   assigned in Okta become profiles in the Popl team.
3. Entra: "Test Connection" succeeds; "At the moment only name and email are supported for Users"
   (other mapped attributes are not stored).
4. Entra: "Groups are not support at the moment so please select no for enabled" (an Entra-side
   setting; the same tenant still takes groups from Okta).

Requests are Okta's (developer.okta.com, "Okta and SCIM Version 2.0": users and "SCIM Group
operations") and Entra's (learn.microsoft.com, "Develop and plan provisioning for a SCIM
endpoint", "User Operations"), as in test_users_okta_http.py, test_groups_okta_http.py and
test_users_entra_http.py. Every tenant is created with `preset("popl")`.
"""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest

from core.profiles import preset
from scimctl.gateway import RunningGateway
from tests.integration.conftest import (
    ENTERPRISE_SCHEMA,
    LIST_RESPONSE,
    PATCH_OP,
    USER_SCHEMA,
    HttpResponse,
    ScimHttp,
    assert_scim_json,
)

pytestmark = pytest.mark.integration

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
FLAG = "aadOptscim062020"

OKTA_EXISTENCE_QUERY = "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"
OKTA_CREATE_USER: dict[str, Any] = {
    "schemas": [USER_SCHEMA],
    "userName": "test.user@okta.local",
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}
OKTA_CREATE_GROUP: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2", "members": []}
OKTA_GROUP_LOOKUP = "/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100"

# Entra "Create User" with Entra's default mappings: Popl takes the name and email rows only.
ENTRA_CREATE_USER: dict[str, Any] = {
    "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "adele.vance@contoso.com",
    "active": True,
    "displayName": "Adele Vance",
    "title": "Retail Manager",
    "emails": [{"primary": True, "type": "work", "value": "adele.vance@contoso.com"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "Adele Vance", "familyName": "Vance", "givenName": "Adele"},
    "roles": [],
    ENTERPRISE_SCHEMA: {"employeeNumber": "701984", "department": "Retail"},
}

_ids = count(1)


@pytest.fixture
def popl(running: RunningGateway) -> ScimHttp:
    """A tenant created with the popl preset (its Tenant URL and token go to Okta or Entra)."""
    tenant = f"popl{next(_ids)}-{running.port}"
    running.admin.create_tenant(tenant, None, preset("popl"))
    return ScimHttp(running.tenant_url_of(tenant), running.admin.issue_token(tenant, "idp").token)


def assert_user(response: HttpResponse, status: int = 200) -> dict[str, Any]:
    assert response.status == status, response.text
    assert_scim_json(response)
    user: dict[str, Any] = response.json
    assert user["schemas"] == [USER_SCHEMA]  # no extension: Popl keeps none of it
    assert response.headers["etag"] == user["meta"]["version"]
    return user


def empty_list(response: HttpResponse) -> None:
    assert response.status == 200, response.text
    assert_scim_json(response)
    assert (response.json["schemas"], response.json["totalResults"]) == ([LIST_RESPONSE], 0)


# ---------------------------------------------------------------------------------------- Okta
def test_okta_test_connector_configuration(popl: ScimHttp) -> None:
    # Okta's connector test: a userName lookup of a user that does not exist, and one page of users.
    empty_list(popl.get("/Users?filter=userName%20eq%20%22okta-check%40example.com%22&startIndex=1&count=1"))
    empty_list(popl.get("/Users?startIndex=1&count=1"))


def test_okta_push_new_users(popl: ScimHttp) -> None:
    empty_list(popl.get(OKTA_EXISTENCE_QUERY))
    user = assert_user(popl.post("/Users", OKTA_CREATE_USER), 201)
    assert user["userName"] == "test.user@okta.local"
    assert user["name"] == {"givenName": "Test", "familyName": "User"}
    assert user["displayName"] == "Test User"
    assert user["emails"] == OKTA_CREATE_USER["emails"]
    assert (user["active"], user["externalId"]) == (True, "00ujl29u0le5T6Aj10h7")
    assert "locale" not in user
    assert [u["id"] for u in popl.get(OKTA_EXISTENCE_QUERY).json["Resources"]] == [user["id"]]


def test_okta_push_profile_updates(popl: ScimHttp) -> None:
    user = assert_user(popl.post("/Users", OKTA_CREATE_USER), 201)
    url = f"/Users/{user['id']}"
    assert popl.get(url).status == 200  # Okta reads, then PUTs the whole profile
    body = {
        "schemas": [USER_SCHEMA],
        "id": user["id"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "middleName": "Test", "familyName": "User"},
        "displayName": "Another Test User",
        "title": "Sales",
        "active": True,
        "emails": [{"primary": True, "value": "another.user@okta.local", "type": "work"}],
        "groups": [],
        "meta": {"resourceType": "User"},
    }
    updated = assert_user(popl.put(url, body))
    assert updated["name"] == {"givenName": "Another", "middleName": "Test", "familyName": "User"}
    assert updated["displayName"] == "Another Test User"
    assert updated["emails"][0]["value"] == "another.user@okta.local"
    assert "title" not in updated
    assert assert_user(popl.get(url)) == updated


def test_okta_push_groups(popl: ScimHttp) -> None:
    user = assert_user(popl.post("/Users", OKTA_CREATE_USER), 201)
    empty_list(popl.get(OKTA_GROUP_LOOKUP))
    created = popl.post("/Groups", OKTA_CREATE_GROUP)
    assert created.status == 201, created.text
    group = created.json
    assert (group["displayName"], group.get("members", [])) == ("Test SCIMv2", [])
    assert [g["id"] for g in popl.get(OKTA_GROUP_LOOKUP).json["Resources"]] == [group["id"]]

    # Okta "Update specific Group membership", then "Update a specific Group name".
    add = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "add", "path": "members", "value": [{"value": user["id"], "display": user["userName"]}]}
        ],
    }
    assert popl.patch(f"/Groups/{group['id']}", add).status == 204
    rename = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"id": group["id"], "displayName": "Popl Sales"}}],
    }
    assert popl.patch(f"/Groups/{group['id']}", rename).status == 204
    fetched = popl.get(f"/Groups/{group['id']}").json
    assert fetched["displayName"] == "Popl Sales"
    assert [(m["value"], m["display"]) for m in fetched["members"]] == [(user["id"], "test.user@okta.local")]


# ---------------------------------------------------------------------------------------- Entra
def test_entra_test_connection(popl: ScimHttp) -> None:
    # Entra's "Test Connection" queries a random userName and expects an empty list.
    found = popl.get(
        f"/Users?{FLAG}", params={"filter": 'userName eq "a0b61b1c-25b6-4d2c-9c4b-0e6f1b6ff1a3"'}
    )
    empty_list(found)


def test_entra_create_user_with_name_and_email_only(popl: ScimHttp) -> None:
    user = assert_user(popl.post(f"/Users?{FLAG}", ENTRA_CREATE_USER), 201)
    assert user["name"] == {"formatted": "Adele Vance", "familyName": "Vance", "givenName": "Adele"}
    assert user["emails"] == ENTRA_CREATE_USER["emails"]
    assert (user["userName"], user["displayName"]) == ("adele.vance@contoso.com", "Adele Vance")
    assert not {"title", "roles", ENTERPRISE_SCHEMA} & set(user)
    found = popl.get(f"/Users?{FLAG}", params={"filter": 'userName eq "adele.vance@contoso.com"'}).json
    assert [u["id"] for u in found["Resources"]] == [user["id"]]


def test_entra_updates_name_and_email(popl: ScimHttp) -> None:
    user = assert_user(popl.post(f"/Users?{FLAG}", ENTRA_CREATE_USER), 201)
    url = f"/Users/{user['id']}?{FLAG}"
    # Entra "Update User [Multi-valued properties]", plus the path-less replace it sends with the flag.
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "adele.v@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Vance-Jones"},
            {"op": "replace", "value": {"name.givenName": "Adela", "title": "Store Lead"}},
        ],
    }
    updated = assert_user(popl.patch(url, body))
    assert updated["name"] == {"formatted": "Adele Vance", "familyName": "Vance-Jones", "givenName": "Adela"}
    assert updated["emails"] == [{"primary": True, "type": "work", "value": "adele.v@contoso.com"}]
    assert "title" not in updated
    assert updated["meta"]["version"] != user["meta"]["version"]
    assert assert_user(popl.get(url)) == updated


# ---------------------------------------------------------------------------------------- discovery
def test_discovery_offers_groups_and_the_name_and_email_attributes(popl: ScimHttp) -> None:
    # Entra's "Provision groups: No" is set in Entra; the tenant itself offers groups (for Okta).
    config = popl.get("/ServiceProviderConfig")
    assert config.status == 200, config.text
    assert (config.json["patch"]["supported"], config.json["filter"]["supported"]) == (True, True)

    types = {t["id"]: t for t in popl.get("/ResourceTypes").json["Resources"]}
    assert set(types) == {"User", "Group"}
    assert types["User"]["schemaExtensions"] == []
    empty_list(popl.get("/Groups?startIndex=1&count=100"))

    schemas = {s["id"]: s for s in popl.get("/Schemas").json["Resources"]}
    assert set(schemas) == {USER_SCHEMA, GROUP_SCHEMA}
    user_attributes = {a["name"]: a for a in schemas[USER_SCHEMA]["attributes"]}
    kept = {"userName", "name", "displayName", "active", "emails"}
    assert kept <= set(user_attributes) <= kept | {"groups"}  # groups: readOnly membership
    assert {s["name"] for s in user_attributes["name"]["subAttributes"]} >= {"givenName", "familyName"}
    assert {s["name"] for s in user_attributes["emails"]["subAttributes"]} >= {"value", "type", "primary"}
    group_attributes = {a["name"] for a in schemas[GROUP_SCHEMA]["attributes"]}
    assert group_attributes == {"displayName", "members"}
