"""Users: create, read, replace, delete, preconditions (RFC 7644 §3.3, §3.4.1, §3.5.1, §3.6, §3.14)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ScimClient
from tests.support import etag_of

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def okta_user(user_name: str = "isaac.brock@example.com", **extra: Any) -> dict[str, Any]:
    """Okta's create-user body (developer.okta.com SCIM 2.0 reference, "Create the user")."""
    body: dict[str, Any] = {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Isaac", "familyName": "Brock"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Isaac Brock",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    body.update(extra)
    return body


def test_create_returns_201_with_location_etag_and_meta(scim: ScimClient) -> None:
    created = scim("POST", "/Users", okta_user())
    assert created.status == 201
    assert created.headers["content-type"] == "application/scim+json"
    user = created.body
    assert created.headers["location"] == user["meta"]["location"]
    assert user["meta"]["location"].endswith(f"/v1/scim/v2/demo/Users/{user['id']}")
    assert created.headers["etag"] == user["meta"]["version"] == etag_of(1)
    assert user["meta"]["resourceType"] == "User"
    assert user["meta"]["created"] == user["meta"]["lastModified"]
    assert user["userName"] == "isaac.brock@example.com"
    assert user["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert "password" not in user  # writeOnly, returned never
    fetched = scim("GET", f"/Users/{user['id']}")
    assert fetched.status == 200
    assert fetched.body == user


def test_read_only_input_is_ignored(scim: ScimClient) -> None:
    body = okta_user(id="chosen-by-client", meta={"version": 'W/"99"'}, groups=[{"value": "g1"}])
    user = scim("POST", "/Users", body).body
    assert user["id"] != "chosen-by-client"
    assert user["meta"]["version"] == etag_of(1)
    assert "groups" not in user


@pytest.mark.parametrize("second", ["isaac.brock@example.com", "ISAAC.Brock@Example.com"])
def test_username_is_unique_case_insensitively(scim: ScimClient, second: str) -> None:
    assert scim("POST", "/Users", okta_user()).status == 201
    dup = scim("POST", "/Users", okta_user(second))
    assert dup.status == 409
    assert dup.body["scimType"] == "uniqueness"
    assert dup.body["schemas"] == [ERROR]
    listed = scim("GET", "/Users", query={"filter": 'userName eq "isaac.brock@example.com"'})
    assert listed.body["totalResults"] == 1


def test_missing_username_is_invalid_value(scim: ScimClient) -> None:
    body = okta_user()
    del body["userName"]
    response = scim("POST", "/Users", body)
    assert (response.status, response.body["scimType"]) == (400, "invalidValue")


@pytest.mark.parametrize(
    ("raw", "scim_type"),
    [("{not json", "invalidSyntax"), ("[]", "invalidSyntax"), ('{"userName": "x"}', "invalidSyntax")],
)
def test_malformed_bodies_are_400(scim: ScimClient, raw: str, scim_type: str) -> None:
    response = scim("POST", "/Users", raw)
    assert response.status == 400
    assert response.body["scimType"] == scim_type


def test_deeply_nested_json_is_400_not_500(scim: ScimClient) -> None:
    response = scim("POST", "/Users", "[" * 100_000 + "]" * 100_000)
    assert response.status == 400


def test_put_replaces_and_bumps_version(scim: ScimClient) -> None:
    user = scim("POST", "/Users", okta_user()).body
    body = okta_user(displayName="Isaac B.", name={"givenName": "Isaac", "familyName": "B."})
    del body["locale"]
    replaced = scim("PUT", f"/Users/{user['id']}", body)
    assert replaced.status == 200
    assert replaced.body["displayName"] == "Isaac B."
    assert "locale" not in replaced.body  # replace semantics: omitted readWrite values are cleared
    assert replaced.body["meta"]["version"] == etag_of(2)
    assert replaced.body["meta"]["created"] == user["meta"]["created"]
    assert replaced.headers["etag"] == etag_of(2)


def test_put_without_active_keeps_active(scim: ScimClient) -> None:
    """Okta's GET-then-PUT profile update may omit active; it must not deactivate the user."""
    user = scim("POST", "/Users", okta_user()).body
    body = okta_user(displayName="Renamed")
    del body["active"]
    assert scim("PUT", f"/Users/{user['id']}", body).body["active"] is True


def test_identical_put_does_not_bump_version(scim: ScimClient) -> None:
    body = okta_user()
    del body["password"]
    user = scim("POST", "/Users", body).body
    again = scim("PUT", f"/Users/{user['id']}", body)
    assert again.body["meta"]["version"] == etag_of(1)


def test_put_rename_moves_uniqueness(scim: ScimClient) -> None:
    user = scim("POST", "/Users", okta_user()).body
    other = scim("POST", "/Users", okta_user("other@example.com")).body
    taken = scim("PUT", f"/Users/{other['id']}", okta_user("Isaac.Brock@example.com"))
    assert (taken.status, taken.body["scimType"]) == (409, "uniqueness")
    assert scim("PUT", f"/Users/{user['id']}", okta_user("new@example.com")).status == 200
    # The old name is free again, the new one is taken.
    assert scim("PUT", f"/Users/{other['id']}", okta_user("isaac.brock@example.com")).status == 200
    assert scim("POST", "/Users", okta_user("NEW@example.com")).status == 409


def test_delete_then_404(scim: ScimClient) -> None:
    user = scim("POST", "/Users", okta_user()).body
    deleted = scim("DELETE", f"/Users/{user['id']}")
    assert deleted.status == 204
    assert deleted.body is None
    gone = scim("GET", f"/Users/{user['id']}")
    assert gone.status == 404
    assert gone.body["schemas"] == [ERROR]
    assert scim("DELETE", f"/Users/{user['id']}").status == 404
    # The userName is free again.
    assert scim("POST", "/Users", okta_user()).status == 201


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_unknown_id_is_404(scim: ScimClient, method: str) -> None:
    body = okta_user() if method == "PUT" else None
    if method == "PATCH":
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "title"}],
        }
    assert scim(method, "/Users/does-not-exist", body).status == 404


def test_if_match_and_if_none_match(scim: ScimClient) -> None:
    user = scim("POST", "/Users", okta_user()).body
    uid = user["id"]
    stale = scim("PUT", f"/Users/{uid}", okta_user(displayName="x"), headers={"If-Match": 'W/"7"'})
    assert (stale.status, stale.body["status"]) == (412, "412")
    v1 = user["meta"]["version"]
    ok = scim("PUT", f"/Users/{uid}", okta_user(displayName="x"), headers={"If-Match": v1})
    assert ok.status == 200
    v2 = ok.headers["etag"]
    assert scim("GET", f"/Users/{uid}", headers={"If-None-Match": v2}).status == 304
    assert scim("GET", f"/Users/{uid}", headers={"If-None-Match": v1}).status == 200
    assert scim("DELETE", f"/Users/{uid}", headers={"If-Match": v1}).status == 412
    assert scim("DELETE", f"/Users/{uid}", headers={"If-Match": v2.removeprefix("W/")}).status == 204


def test_attributes_and_excluded_attributes_on_get(scim: ScimClient) -> None:
    uid = scim("POST", "/Users", okta_user()).body["id"]
    only = scim("GET", f"/Users/{uid}", query={"attributes": "userName,name.givenName"}).body
    assert set(only) == {"schemas", "id", "userName", "name"}
    assert only["name"] == {"givenName": "Isaac"}
    without = scim("GET", f"/Users/{uid}", query={"excludedAttributes": "emails,name"}).body
    assert "emails" not in without
    assert "name" not in without
    assert without["userName"] == "isaac.brock@example.com"


def test_enterprise_extension_round_trip(scim: ScimClient) -> None:
    body = okta_user()
    body["schemas"] = [USER, ENTERPRISE]
    body[ENTERPRISE] = {
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "manager": {"value": "m1"},
    }
    user = scim("POST", "/Users", body).body
    assert user[ENTERPRISE]["employeeNumber"] == "701984"
    assert ENTERPRISE in user["schemas"]


def test_tenants_cannot_see_each_other(aws: None) -> None:
    acme, globex = ScimClient("acme"), ScimClient("globex")
    uid = acme("POST", "/Users", okta_user()).body["id"]
    assert globex("GET", f"/Users/{uid}").status == 404
    assert globex("DELETE", f"/Users/{uid}").status == 404
    assert globex("GET", "/Users").body["totalResults"] == 0
    assert globex("GET", "/Users", query={"filter": f'id eq "{uid}"'}).body["totalResults"] == 0
    # The same userName is free in the other tenant.
    assert globex("POST", "/Users", okta_user()).status == 201
    assert acme("GET", "/Users").body["totalResults"] == 1
