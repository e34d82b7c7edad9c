"""Acceptance: the `loopio` preset replays the Okta setup of `../shared/seeds/004_0cfdcc7b5e359f4b.txt`.

The seed ("User Provisioning with SCIM", Loopio) states:

1. Okta provisioning actions: "Import New Users and Profile Updates", "Push New Users", "Push
   Profile Updates"; "To App": Create Users, optionally Update User Attributes. Unique identifier
   field for users: userName.
2. SCIM deprovisioning manages "the disabling of Users" (Okta deactivates the user).
3. A `roles` attribute of data type "String Array", external namespace exactly
   `urn:ietf:params:scim:schemas:core:2.0:User`: Okta sends `"roles": ["…"]` as plain strings.
4. "The Role Attribute value passed to Loopio should match an existing Role name in Loopio"
   (the preset's roles: Admin, Manager, Member, Viewer); a value that names no role is refused
   with a detail the IT admin can act on; a user without roles gets the default role (Member).
   ("Same value for all users" in Okta is the same request with one role for everyone.)

Requests are Okta's (developer.okta.com, "Okta and SCIM Version 2.0": create, GET then PUT,
deactivate, "Retrieve users" paged with startIndex/count), as in test_users_okta_http.py. Every
tenant is created with `preset("loopio")`.
"""

from __future__ import annotations

import copy
from itertools import count
from typing import Any

import pytest

from core.profiles import preset
from scimctl.gateway import RunningGateway
from tests.integration.conftest import (
    LIST_RESPONSE,
    PATCH_OP,
    USER_SCHEMA,
    HttpResponse,
    ScimHttp,
    assert_scim_error,
    assert_scim_json,
)

pytestmark = pytest.mark.integration

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
UNKNOWN_ROLE = "roles value 'Admn' is not one of: Admin, Manager, Member, Viewer."


def okta_user(user_name: str, roles: list[str] | None) -> dict[str, Any]:
    """Okta "Create users" with the seed's `roles` string array in the core User schema."""
    body: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "externalId": f"00u{user_name.partition('@')[0]}",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    if roles is not None:
        body["roles"] = roles
    return body


def okta_active(value: bool) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": value}}]}


_ids = count(1)


@pytest.fixture
def loopio(running: RunningGateway) -> ScimHttp:
    tenant = f"loopio{next(_ids)}-{running.port}"
    running.admin.create_tenant(tenant, None, preset("loopio"))
    return ScimHttp(running.tenant_url_of(tenant), running.admin.issue_token(tenant, "okta").token)


def assert_user(response: HttpResponse, status: int = 200) -> dict[str, Any]:
    assert response.status == status, response.text
    assert_scim_json(response)
    user: dict[str, Any] = response.json
    assert USER_SCHEMA in user["schemas"]
    assert response.headers["etag"] == user["meta"]["version"]
    return user


def create(scim: ScimHttp, user_name: str, roles: list[str] | None) -> dict[str, Any]:
    return assert_user(scim.post("/Users", okta_user(user_name, roles)), 201)


# ---------------------------------------------------------------------------------------- import
def test_import_new_users_walks_every_page(loopio: ScimHttp) -> None:
    created = {
        create(loopio, "ada@example.com", ["Admin"])["id"]: ["Admin"],
        create(loopio, "ben@example.com", None)["id"]: ["Member"],
        create(loopio, "cy@example.com", ["Viewer", "Manager"])["id"]: ["Viewer", "Manager"],
    }
    # Okta "Retrieve users": GET /Users?startIndex=1&count=…, then the following pages.
    imported: dict[str, list[str]] = {}
    starts = []
    start = 1
    while start <= len(created) and len(starts) < 5:
        page = loopio.get(f"/Users?startIndex={start}&count=2")
        assert page.status == 200, page.text
        assert_scim_json(page)
        body = page.json
        assert (body["schemas"], body["totalResults"], body["startIndex"]) == ([LIST_RESPONSE], 3, start)
        resources = body.get("Resources", [])
        assert 0 < body["itemsPerPage"] == len(resources) <= 2
        imported.update({u["id"]: u["roles"] for u in resources})
        starts.append(start)
        start += len(resources)
    assert starts == [1, 3]
    assert imported == created  # every user once, with the roles Okta imports as profile data


# ---------------------------------------------------------------------------------------- roles
def test_valid_roles_are_stored_as_a_string_array(loopio: ScimHttp) -> None:
    user = create(loopio, "ada@example.com", ["Admin", "viewer"])
    assert user["roles"] == ["Admin", "Viewer"]  # plain strings, spelled as the Loopio role
    assert assert_user(loopio.get(f"/Users/{user['id']}"))["roles"] == ["Admin", "Viewer"]
    found = loopio.get("/Users", params={"filter": 'roles eq "Admin"'}).json
    assert [u["id"] for u in found["Resources"]] == [user["id"]]


def test_unknown_role_is_rejected_with_an_actionable_detail(loopio: ScimHttp) -> None:
    refused = loopio.post("/Users", okta_user("ada@example.com", ["Admn"]))
    assert assert_scim_error(refused, 400, "invalidValue")["detail"] == UNKNOWN_ROLE
    assert loopio.get("/Users", params={"filter": 'userName eq "ada@example.com"'}).json["totalResults"] == 0


def test_no_roles_gets_the_default_role(loopio: ScimHttp) -> None:
    user = create(loopio, "ben@example.com", None)
    assert user["roles"] == ["Member"]
    # An empty array is "unassigned" (RFC 7643 §2.5): also the default role.
    empty = create(loopio, "cy@example.com", [])
    assert empty["roles"] == ["Member"]


# ---------------------------------------------------------------------------------------- updates
def test_push_profile_updates_changes_roles_and_refuses_unknown_ones(loopio: ScimHttp) -> None:
    user = create(loopio, "ada@example.com", ["Member"])
    url = f"/Users/{user['id']}"
    # Okta "Update a specific user (PUT)": GET, then the whole profile.
    assert loopio.get(url).status == 200
    body = {**okta_user("ada@example.com", ["Manager"]), "id": user["id"], "displayName": "Ada L."}
    updated = assert_user(loopio.put(url, body))
    assert (updated["roles"], updated["displayName"]) == (["Manager"], "Ada L.")

    refused = loopio.put(url, {**copy.deepcopy(body), "roles": ["Admn"]})
    assert assert_scim_error(refused, 400, "invalidValue")["detail"] == UNKNOWN_ROLE
    assert assert_user(loopio.get(url)) == updated

    # The role unmapped in Okta: the profile carries no roles, the user falls back to the default.
    unmapped = {k: v for k, v in body.items() if k != "roles"}
    assert assert_user(loopio.put(url, unmapped))["roles"] == ["Member"]


def test_deprovisioning_disables_the_user(loopio: ScimHttp) -> None:
    user = create(loopio, "ada@example.com", ["Admin"])
    url = f"/Users/{user['id']}"
    disabled = assert_user(loopio.patch(url, okta_active(False)))
    assert (disabled["active"], disabled["roles"]) == (False, ["Admin"])
    assert assert_user(loopio.get(url))["active"] is False

    # A DELETE also only disables: the user stays for audit and for the next import.
    assert loopio.patch(url, okta_active(True)).status == 200
    deleted = loopio.delete(url)
    assert deleted.status == 204, deleted.text
    kept = assert_user(loopio.get(url))
    assert (kept["active"], kept["userName"]) == (False, "ada@example.com")
    listed = loopio.get("/Users?startIndex=1&count=100").json
    assert [(u["id"], u["active"]) for u in listed["Resources"]] == [(user["id"], False)]


# ---------------------------------------------------------------------------------------- discovery
def test_discovery_describes_roles_as_strings_and_no_groups(loopio: ScimHttp) -> None:
    config = loopio.get("/ServiceProviderConfig")
    assert config.status == 200, config.text
    assert config.json["filter"]["supported"] is True
    assert config.json["pagination"]["index"] is True  # Okta's import pages by startIndex/count

    types = loopio.get("/ResourceTypes").json
    assert [t["id"] for t in types["Resources"]] == ["User"]
    assert_scim_error(loopio.get("/ResourceTypes/Group"), 404)
    assert_scim_error(loopio.get("/Groups?startIndex=1&count=100"), 501)
    assert GROUP_SCHEMA not in {s["id"] for s in loopio.get("/Schemas").json["Resources"]}

    attributes = {a["name"]: a for a in loopio.get(f"/Schemas/{USER_SCHEMA}").json["attributes"]}
    roles = attributes["roles"]
    assert (roles["type"], roles["multiValued"]) == ("string", True)
    assert not roles.get("subAttributes")


def test_user_schema_offers_no_group_membership_when_groups_are_off(loopio: ScimHttp) -> None:
    # User.groups refers to Group resources ($ref referenceTypes), which this tenant does not have.
    attributes = {a["name"] for a in loopio.get(f"/Schemas/{USER_SCHEMA}").json["attributes"]}
    assert "groups" not in attributes
