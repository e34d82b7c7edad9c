"""Okta's user lifecycle replayed over real HTTP against the local gateway.

Every request below is one that Okta documents sending, with its body copied from:

* OKTA-SCIM2: Okta, "Okta and SCIM Version 2.0"
  (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20):
  "Create users" (the existence check, then the create), "Retrieve specific users",
  "Update a specific user (PUT)", "Update a specific user (PATCH)" (deactivate, reactivate),
  "Retrieve users" (import, paged by two).
* OKTA-PREPARE: Okta, "Prepare your SCIM API service"
  (developer.okta.com/docs/guides/build-provisioning-integration/review-scim-docs/, formerly
  scim-provisioning-integration-prepare): the RFC 7644 URL structure, bearer authentication.

Each test uses a tenant of its own, so the totals it asserts are exact.
"""

from __future__ import annotations

import copy
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

# OKTA-SCIM2, "Create users": "Okta runs a query against the userName values stored on the SCIM
# server", sent exactly so (percent-encoded, with startIndex and count).
OKTA_EXISTENCE_QUERY = "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"

# OKTA-SCIM2, "Create users": "If the user isn't found on the SCIM server, create the user".
OKTA_CREATE_USER: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
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

# OKTA-SCIM2, "Update a specific user (PUT)": the profile Okta sends back after its GET; "id" is
# the one the SCIM server returned (filled in by the test).
OKTA_PUT_USER: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
    "userName": "test.user@okta.local",
    "name": {"givenName": "Another", "middleName": "Test", "familyName": "User"},
    "active": True,
    "emails": [
        {"primary": True, "value": "test.user@okta.local", "type": "work", "display": "test.user@okta.local"}
    ],
    "groups": [],
    "meta": {"resourceType": "User"},
}

# OKTA-SCIM2, "Update a specific user (PATCH)": "When a user is deactivated, Okta sends this request".
OKTA_DEACTIVATE: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "value": {"active": False}}],
}

# OKTA-SCIM2, "Update a specific user (PATCH)": reactivation is the same request with true.
OKTA_REACTIVATE: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "value": {"active": True}}],
}


def user_url(scim: ScimHttp, user: dict[str, Any]) -> str:
    return f"{scim.base_url}/Users/{user['id']}"


def assert_user_response(response: HttpResponse, status: int = 200) -> dict[str, Any]:
    """A User answer: status, SCIM media type, ETag equal to meta.version, no password."""
    assert response.status == status, response.text
    assert_scim_json(response)
    user: dict[str, Any] = response.json
    assert USER_SCHEMA in user["schemas"]
    assert response.headers["etag"] == user["meta"]["version"]
    assert user["meta"]["resourceType"] == "User"
    assert "password" not in user  # RFC 7643 §4.1.1: returned "never"
    return user


def create_okta_user(scim: ScimHttp, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(OKTA_CREATE_USER)
    body.update(changes)
    created = scim.post("/Users", body)
    return assert_user_response(created, 201)


# ---------------------------------------------------------------------------------------- create
def test_existence_check_of_an_unknown_user_is_an_empty_list(fresh_tenant: ScimHttp) -> None:
    # OKTA-SCIM2: "If the User isn't found", the response is a ListResponse with no resources.
    found = fresh_tenant.get(OKTA_EXISTENCE_QUERY)
    assert found.status == 200, found.text
    assert_scim_json(found)
    body = found.json
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 0
    assert body["startIndex"] == 1
    assert body.get("Resources", []) == []


def test_create_user_as_okta_sends_it(fresh_tenant: ScimHttp) -> None:
    created = fresh_tenant.post("/Users", OKTA_CREATE_USER)
    user = assert_user_response(created, 201)
    # RFC 7644 §3.3: Location is the new resource's URI, the same as meta.location.
    assert created.headers["location"] == user["meta"]["location"] == user_url(fresh_tenant, user)
    assert user["meta"]["version"] == created.headers["etag"]
    assert user["meta"]["created"] == user["meta"]["lastModified"]
    assert user["id"]
    assert user["userName"] == "test.user@okta.local"
    assert user["name"] == {"givenName": "Test", "familyName": "User"}
    assert user["emails"] == [{"primary": True, "value": "test.user@okta.local", "type": "work"}]
    assert user["displayName"] == "Test User"
    assert user["locale"] == "en-US"
    assert user["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert user["active"] is True
    assert not user.get("groups")  # readOnly: the empty "groups" Okta sends is ignored
    # The existence check now finds it, and Okta stores its id.
    found = fresh_tenant.get(OKTA_EXISTENCE_QUERY).json
    assert found["totalResults"] == 1
    assert [u["id"] for u in found["Resources"]] == [user["id"]]


def test_create_of_an_existing_username_is_409_uniqueness(fresh_tenant: ScimHttp) -> None:
    create_okta_user(fresh_tenant)
    again = fresh_tenant.post("/Users", {**OKTA_CREATE_USER, "userName": "TEST.USER@okta.local"})
    assert_scim_error(again, 409, "uniqueness")


# ---------------------------------------------------------------------------------------- read
def test_retrieve_a_specific_user(fresh_tenant: ScimHttp) -> None:
    user = create_okta_user(fresh_tenant)
    fetched = fresh_tenant.get(f"/Users/{user['id']}")
    assert assert_user_response(fetched) == user
    assert fetched.headers["etag"] == user["meta"]["version"]


def test_retrieve_an_unknown_user_is_a_scim_404(fresh_tenant: ScimHttp) -> None:
    assert_scim_error(fresh_tenant.get("/Users/23a35c27-23d3-4c03-b4c5-6443c09e7173"), 404)


# ---------------------------------------------------------------------------------------- update
def test_profile_update_is_get_then_put(fresh_tenant: ScimHttp) -> None:
    user = create_okta_user(fresh_tenant)
    # OKTA-SCIM2, "Update a specific user (PUT)": Okta first reads the user, then PUTs the profile.
    current = fresh_tenant.get(f"/Users/{user['id']}")
    assert current.status == 200
    body = {**copy.deepcopy(OKTA_PUT_USER), "id": user["id"]}
    replaced = fresh_tenant.put(f"/Users/{user['id']}", body)
    updated = assert_user_response(replaced)
    assert updated["id"] == user["id"]
    assert updated["name"] == {"givenName": "Another", "middleName": "Test", "familyName": "User"}
    assert updated["emails"] == [
        {"primary": True, "value": "test.user@okta.local", "type": "work", "display": "test.user@okta.local"}
    ]
    assert updated["active"] is True
    # PUT replaces: what Okta's profile no longer carries is gone; readOnly values are kept.
    assert "displayName" not in updated
    assert "locale" not in updated
    assert updated["meta"]["created"] == user["meta"]["created"]
    assert updated["meta"]["version"] != user["meta"]["version"]
    assert replaced.headers["etag"] == updated["meta"]["version"]
    assert assert_user_response(fresh_tenant.get(f"/Users/{user['id']}")) == updated


def test_put_with_a_stale_if_match_is_412(fresh_tenant: ScimHttp) -> None:
    user = create_okta_user(fresh_tenant)
    body = {**copy.deepcopy(OKTA_PUT_USER), "id": user["id"]}
    current = fresh_tenant.put(f"/Users/{user['id']}", body, headers={"If-Match": user["meta"]["version"]})
    assert current.status == 200, current.text
    stale = fresh_tenant.put(f"/Users/{user['id']}", body, headers={"If-Match": user["meta"]["version"]})
    assert_scim_error(stale, 412)


def test_deactivate_then_reactivate_with_path_less_patch(fresh_tenant: ScimHttp) -> None:
    user = create_okta_user(fresh_tenant)
    deactivated = fresh_tenant.patch(f"/Users/{user['id']}", OKTA_DEACTIVATE)
    after = assert_user_response(deactivated)
    assert after["active"] is False
    assert after["userName"] == user["userName"]  # nothing else changed
    assert after["name"] == user["name"]
    # A deactivated user stays readable and findable (Okta reactivates by id or userName).
    assert fresh_tenant.get(f"/Users/{user['id']}").json["active"] is False
    found = fresh_tenant.get(OKTA_EXISTENCE_QUERY).json
    assert [u["active"] for u in found["Resources"]] == [False]

    reactivated = fresh_tenant.patch(f"/Users/{user['id']}", OKTA_REACTIVATE)
    again = assert_user_response(reactivated)
    assert again["active"] is True
    assert again["meta"]["version"] not in (user["meta"]["version"], after["meta"]["version"])
    assert fresh_tenant.get(f"/Users/{user['id']}").json["active"] is True


def test_patch_body_without_the_patchop_schema_is_400(fresh_tenant: ScimHttp) -> None:
    user = create_okta_user(fresh_tenant)
    response = fresh_tenant.patch(f"/Users/{user['id']}", {"Operations": OKTA_DEACTIVATE["Operations"]})
    assert_scim_error(response, 400)
    assert fresh_tenant.get(f"/Users/{user['id']}").json["active"] is True


# ---------------------------------------------------------------------------------------- import
def test_import_walks_every_page_of_two(fresh_tenant: ScimHttp) -> None:
    created = {
        create_okta_user(
            fresh_tenant,
            userName=f"user{i}@okta.local",
            externalId=f"00u{i:04d}",
            emails=[{"primary": True, "value": f"user{i}@okta.local", "type": "work"}],
        )["id"]
        for i in range(5)
    }
    # OKTA-SCIM2, "Retrieve users": GET /Users?startIndex=1&count=2, then the next pages.
    seen: list[str] = []
    start = 1
    pages = 0
    while True:
        page = fresh_tenant.get(f"/Users?startIndex={start}&count=2")
        assert page.status == 200, page.text
        assert_scim_json(page)
        body = page.json
        assert body["schemas"] == [LIST_RESPONSE]
        assert body["totalResults"] == 5
        assert body["startIndex"] == start
        resources = body.get("Resources", [])
        assert body["itemsPerPage"] == len(resources) <= 2
        seen.extend(u["id"] for u in resources)
        pages += 1
        start += len(resources)
        if not resources or start > body["totalResults"]:
            break
        assert pages < 10, "paging does not end"
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == created


# ---------------------------------------------------------------------------------------- delete
def test_delete_user(fresh_tenant: ScimHttp) -> None:
    # OKTA-SCIM2 deprovisions users by deactivating them (the PATCH above), not with DELETE; the
    # DELETE here ends the lifecycle as any other client would (RFC 7644 §3.6).
    user = create_okta_user(fresh_tenant)
    deleted = fresh_tenant.delete(f"/Users/{user['id']}")
    assert deleted.status == 204, deleted.text
    assert deleted.raw == b""
    assert_scim_error(fresh_tenant.get(f"/Users/{user['id']}"), 404)
    assert_scim_error(fresh_tenant.delete(f"/Users/{user['id']}"), 404)
    assert fresh_tenant.get(OKTA_EXISTENCE_QUERY).json["totalResults"] == 0
    # The userName is free again: Okta can re-create the user.
    assert fresh_tenant.post("/Users", OKTA_CREATE_USER).status == 201
