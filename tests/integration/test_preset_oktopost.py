"""Acceptance: the `oktopost` preset replays the setup of `../shared/seeds/003_44fe94beae695186.txt`.

The seed ("Configure a Custom Provisioning Application", Oktopost) states:

1. Create Users: a user is created when the app is assigned in the IdP (unique identifier field
   for users: userName).
2. Update User Attributes: later attribute changes in the IdP overwrite the value in Oktopost.
3. Deactivate Users: the account is deactivated when unassigned or deactivated in the IdP, and
   "can be reactivated if the app is reassigned".
4. Two tenant URLs: one for Oktopost users, one for advocates (each with its own token).
5. "At minimum, Oktopost requires userName, name.givenName, name.familyName, and emails (work,
   primary)"; "Without these mappings, user creation may fail".
6. "Oktopost requires the Username and Email values to match" (userName <- userPrincipalName or
   mail, emails[type eq "work"].value <- mail).
7. "Assigning user/advocate roles is not possible. System assumes the default role set in
   Oktopost."

The guide covers any IdP with a custom SCIM app; the requests below are Okta's (developer.okta.com,
"Okta and SCIM Version 2.0") and Entra's (learn.microsoft.com, "Develop and plan provisioning for
a SCIM endpoint", "User Operations"), as in test_users_okta_http.py and test_users_entra_http.py.
Every tenant is created with `preset("oktopost", audience)`.
"""

from __future__ import annotations

import copy
from itertools import count
from typing import Any

import pytest

from core.profiles import preset
from scimctl.gateway import RunningGateway
from tests.integration.conftest import (
    PATCH_OP,
    USER_SCHEMA,
    HttpResponse,
    ScimHttp,
    assert_scim_error,
    assert_scim_json,
)

pytestmark = pytest.mark.integration

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
FLAG = "aadOptscim062020"  # Entra keeps it on the Tenant URL's query

# Okta "Create users", with userName and the work email both the user's email (the seed's mapping).
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
OKTA_EXISTENCE_QUERY = "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"


def okta_active(value: bool) -> dict[str, Any]:
    """Okta's deactivation (false) and its reactivation when the app is reassigned (true)."""
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": value}}]}


# Entra "Create User", mapped as the seed recommends: userName <- userPrincipalName, name.givenName
# <- givenName, name.familyName <- surname, emails[type eq "work"].value <- mail.
ENTRA_CREATE_USER: dict[str, Any] = {
    "schemas": [USER_SCHEMA],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "alex.wilber@contoso.com",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "alex.wilber@contoso.com"}],
    "meta": {"resourceType": "User"},
    "name": {"givenName": "Alex", "familyName": "Wilber"},
    "roles": [],
}

MISMATCH_DETAIL = (
    "userName 'alex.wilber@contoso.onmicrosoft.com' must equal the work email 'alex.wilber@contoso.com': "
    'map userName and emails[type eq "work"].value to the same IdP attribute.'
)

_ids = count(1)


def oktopost_tenant(running: RunningGateway, audience: str | None = None) -> tuple[str, ScimHttp]:
    tenant = f"oktopost{next(_ids)}-{running.port}"
    running.admin.create_tenant(tenant, None, preset("oktopost", audience))
    return tenant, ScimHttp(running.tenant_url_of(tenant), running.admin.issue_token(tenant, "idp").token)


@pytest.fixture
def oktopost(running: RunningGateway) -> ScimHttp:
    return oktopost_tenant(running)[1]


def assert_user(response: HttpResponse, status: int = 200) -> dict[str, Any]:
    assert response.status == status, response.text
    assert_scim_json(response)
    user: dict[str, Any] = response.json
    assert USER_SCHEMA in user["schemas"]
    assert response.headers["etag"] == user["meta"]["version"]
    return user


def entra_patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def entra_query(scim: ScimHttp, user_name: str) -> dict[str, Any]:
    found = scim.get(f"/Users?{FLAG}", params={"filter": f'userName eq "{user_name}"'})
    assert found.status == 200, found.text
    body: dict[str, Any] = found.json
    return body


# ---------------------------------------------------------------------------------------- create
def test_create_user_on_assignment(oktopost: ScimHttp) -> None:
    assert oktopost.get(OKTA_EXISTENCE_QUERY).json["totalResults"] == 0
    user = assert_user(oktopost.post("/Users", OKTA_CREATE_USER), 201)
    assert user["userName"] == user["emails"][0]["value"] == "test.user@okta.local"
    assert user["name"] == {"givenName": "Test", "familyName": "User"}
    assert user["active"] is True
    assert [u["id"] for u in oktopost.get(OKTA_EXISTENCE_QUERY).json["Resources"]] == [user["id"]]


def test_username_that_differs_from_the_work_email_is_rejected(oktopost: ScimHttp) -> None:
    # userName mapped to userPrincipalName while mail differs: the seed says it must match.
    body = {**copy.deepcopy(ENTRA_CREATE_USER), "userName": "alex.wilber@contoso.onmicrosoft.com"}
    refused = oktopost.post(f"/Users?{FLAG}", body)
    assert assert_scim_error(refused, 400, "invalidValue")["detail"] == MISMATCH_DETAIL
    assert entra_query(oktopost, "alex.wilber@contoso.onmicrosoft.com")["totalResults"] == 0
    # The same user with userName mapped to mail is created.
    created = assert_user(oktopost.post(f"/Users?{FLAG}", ENTRA_CREATE_USER), 201)
    assert created["userName"] == "alex.wilber@contoso.com"


@pytest.mark.parametrize(
    ("missing", "detail"),
    [
        ("name.givenName", "Attribute 'name.givenName' is required."),
        ("name.familyName", "Attribute 'name.familyName' is required."),
        ("name", "Attribute 'name' is required."),
        ("emails", "Attribute 'emails' is required."),
    ],
)
def test_required_attributes_are_enforced(oktopost: ScimHttp, missing: str, detail: str) -> None:
    body = copy.deepcopy(ENTRA_CREATE_USER)
    if missing.startswith("name."):
        del body["name"][missing.removeprefix("name.")]
    else:
        del body[missing]
    refused = oktopost.post(f"/Users?{FLAG}", body)
    assert assert_scim_error(refused, 400, "invalidValue")["detail"] == detail
    assert entra_query(oktopost, "alex.wilber@contoso.com")["totalResults"] == 0


# ---------------------------------------------------------------------------------------- update
def test_attribute_changes_overwrite_and_username_stays_equal_to_email(oktopost: ScimHttp) -> None:
    user = assert_user(oktopost.post(f"/Users?{FLAG}", ENTRA_CREATE_USER), 201)
    url = f"/Users/{user['id']}?{FLAG}"

    renamed = assert_user(
        oktopost.patch(
            url, entra_patch({"op": "Replace", "path": "name.familyName", "value": "Wilber-Smith"})
        )
    )
    assert renamed["name"] == {"givenName": "Alex", "familyName": "Wilber-Smith"}

    # mail changes in Entra: userName and the work email (both mapped to mail) change together.
    new_mail = "alex.smith@contoso.com"
    both = entra_patch(
        {"op": "Replace", "path": "userName", "value": new_mail},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": new_mail},
    )
    moved = assert_user(oktopost.patch(url, both))
    assert (moved["userName"], moved["emails"][0]["value"]) == (new_mail, new_mail)

    # Only the email changing (userName mapped to something else) would break the rule: refused.
    email_only = entra_patch(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "a.w@contoso.com"}
    )
    refused = oktopost.patch(url, email_only)
    detail = assert_scim_error(refused, 400, "invalidValue")["detail"]
    assert detail.startswith(f"userName '{new_mail}' must equal the work email 'a.w@contoso.com'")
    assert assert_user(oktopost.get(url)) == moved

    # Okta's PUT of the whole profile is held to the same rule.
    put = {**copy.deepcopy(ENTRA_CREATE_USER), "id": user["id"], "userName": "someone.else@contoso.com"}
    assert_scim_error(oktopost.put(url, put), 400, "invalidValue")


# ---------------------------------------------------------------------------------------- deactivate
def test_unassignment_deactivates_and_reassignment_reactivates(oktopost: ScimHttp) -> None:
    user = assert_user(oktopost.post("/Users", OKTA_CREATE_USER), 201)
    url = f"/Users/{user['id']}"
    off = assert_user(oktopost.patch(url, okta_active(False)))
    assert off["active"] is False
    assert (off["userName"], off["name"]) == (user["userName"], user["name"])

    # Reassigned: Okta finds the (inactive) account by userName and reactivates it.
    found = oktopost.get(OKTA_EXISTENCE_QUERY).json
    assert [(u["id"], u["active"]) for u in found["Resources"]] == [(user["id"], False)]
    on = assert_user(oktopost.patch(url, okta_active(True)))
    assert on["active"] is True
    assert assert_user(oktopost.get(url))["active"] is True


def test_delete_deactivates_and_reassignment_reactivates(oktopost: ScimHttp) -> None:
    user = assert_user(oktopost.post(f"/Users?{FLAG}", ENTRA_CREATE_USER), 201)
    url = f"/Users/{user['id']}?{FLAG}"
    deleted = oktopost.delete(url)
    assert deleted.status == 204, deleted.text
    kept = assert_user(oktopost.get(url))
    assert kept["active"] is False
    assert kept["name"] == user["name"]
    assert [u["id"] for u in entra_query(oktopost, "alex.wilber@contoso.com")["Resources"]] == [user["id"]]

    enable = entra_patch({"op": "Replace", "path": "active", "value": True})
    assert assert_user(oktopost.patch(url, enable))["active"] is True


# ---------------------------------------------------------------------------------------- audiences
def test_users_and_advocates_have_their_own_tenant_url_and_token(running: RunningGateway) -> None:
    users_id, users = oktopost_tenant(running, "users")
    advocates_id, advocates = oktopost_tenant(running, "advocates")
    assert running.admin.require_tenant(users_id).profile.audience == "users"
    assert running.admin.require_tenant(advocates_id).profile.audience == "advocates"
    assert users.base_url != advocates.base_url

    # The same person can be an Oktopost user and an advocate: one account in each.
    as_user = assert_user(users.post("/Users", OKTA_CREATE_USER), 201)
    as_advocate = assert_user(advocates.post("/Users", OKTA_CREATE_USER), 201)
    assert as_user["id"] != as_advocate["id"]
    assert [u["id"] for u in users.get(OKTA_EXISTENCE_QUERY).json["Resources"]] == [as_user["id"]]
    assert [u["id"] for u in advocates.get(OKTA_EXISTENCE_QUERY).json["Resources"]] == [as_advocate["id"]]

    # A token pasted with the wrong Tenant URL is refused.
    crossed = (ScimHttp(advocates.base_url, users.token), ScimHttp(users.base_url, advocates.token))
    for client in crossed:
        assert_scim_error(client.get(OKTA_EXISTENCE_QUERY), 401)
        assert_scim_error(client.get("/ServiceProviderConfig"), 401)


# ---------------------------------------------------------------------------------------- roles
def test_roles_cannot_be_assigned_from_the_idp(oktopost: ScimHttp) -> None:
    # "Assigning user/advocate roles is not possible. System assumes the default role": a role the
    # IdP sends is not stored, and /Schemas does not offer one.
    body = {
        **copy.deepcopy(ENTRA_CREATE_USER),
        "roles": [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Advocate"}],
    }
    user = assert_user(oktopost.post(f"/Users?{FLAG}", body), 201)
    assert "roles" not in user
    attributes = {a["name"] for a in oktopost.get(f"/Schemas/{USER_SCHEMA}").json["attributes"]}
    assert "roles" not in attributes


# ---------------------------------------------------------------------------------------- discovery
def test_discovery_describes_required_attributes_and_no_groups(oktopost: ScimHttp) -> None:
    config = oktopost.get("/ServiceProviderConfig")
    assert config.status == 200, config.text
    assert config.json["patch"]["supported"] is True
    assert config.json["filter"]["supported"] is True

    types = oktopost.get("/ResourceTypes").json
    assert [t["id"] for t in types["Resources"]] == ["User"]
    assert_scim_error(oktopost.get("/ResourceTypes/Group"), 404)
    assert_scim_error(oktopost.get("/Groups?startIndex=1&count=100"), 501)
    assert GROUP_SCHEMA not in {s["id"] for s in oktopost.get("/Schemas").json["Resources"]}

    attributes = {a["name"]: a for a in oktopost.get(f"/Schemas/{USER_SCHEMA}").json["attributes"]}
    assert attributes["userName"]["required"] is True
    assert attributes["name"]["required"] is True
    names = {s["name"]: s["required"] for s in attributes["name"]["subAttributes"]}
    assert names["givenName"] is True
    assert names["familyName"] is True
    assert names["middleName"] is False
    assert attributes["emails"]["required"] is True
    assert attributes["displayName"]["required"] is False


def test_user_schema_offers_no_group_membership_when_groups_are_off(oktopost: ScimHttp) -> None:
    # User.groups refers to Group resources ($ref referenceTypes), which this tenant does not have.
    attributes = {a["name"] for a in oktopost.get(f"/Schemas/{USER_SCHEMA}").json["attributes"]}
    assert "groups" not in attributes
