"""Issue 14 over real HTTP: PATCH is strict where no IdP needs leniency, and never a silent no-op.

Each request below used to be answered 200 while doing nothing, or something RFC 7644 forbids. The
rules live in the PATCH engine (src/core/patch) and the filter validation (src/core/filter); the unit
tests named in each docstring test them without HTTP. The IdP tolerances that stay are replayed in
test_users_okta_http.py, test_users_entra_http.py and the group modules.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import (
    GROUP_SCHEMA,
    PATCH_OP,
    USER_SCHEMA,
    ScimHttp,
    assert_scim_error,
    assert_scim_json,
)

pytestmark = pytest.mark.integration

PASSWORD = "t1meMa$heen"


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def create_user(scim: ScimHttp, user_name: str = "bjensen@example.com") -> dict[str, Any]:
    created = scim.post(
        "/Users",
        {
            "schemas": [USER_SCHEMA],
            "userName": user_name,
            "password": PASSWORD,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": True},
                {"value": "babs@jensen.org", "type": "home"},
            ],
        },
    )
    assert created.status == 201, created.text
    user: dict[str, Any] = created.json
    return user


def patch_user(scim: ScimHttp, user: dict[str, Any], *operations: dict[str, Any]) -> Any:
    return scim.patch(f"/Users/{user['id']}", ops(*operations))


def assert_unchanged(scim: ScimHttp, user: dict[str, Any]) -> None:
    """The stored user is the one created: same version, same attributes."""
    now = scim.get(f"/Users/{user['id']}")
    assert now.status == 200, now.text
    assert now.json["meta"]["version"] == user["meta"]["version"]
    assert {k: v for k, v in now.json.items() if k != "meta"} == {
        k: v for k, v in user.items() if k != "meta"
    }


def test_replace_of_name_with_an_empty_object_leaves_it(fresh_tenant: ScimHttp) -> None:
    # RFC 7644 §3.5.2.3 (unit: test_s3_5_2_3_replace_of_a_complex_attribute_with_no_sub_attributes_…).
    user = create_user(fresh_tenant)
    for operation in (
        {"op": "replace", "path": "name", "value": {}},
        {"op": "replace", "value": {"name": {}}},
    ):
        response = patch_user(fresh_tenant, user, operation)
        assert response.status == 200, response.text
        assert_scim_json(response)
        assert response.json["name"] == {"givenName": "Barbara", "familyName": "Jensen"}
    assert_unchanged(fresh_tenant, user)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "userName", "value": None},
        {"op": "add", "path": "emails", "value": []},
        {"op": "add", "path": "name", "value": {}},
        {"op": "add", "value": {"userName": None}},
        {"op": "add", "value": {}},
    ],
)
def test_add_of_no_value_is_invalid_value(fresh_tenant: ScimHttp, operation: dict[str, Any]) -> None:
    # RFC 7643 §2.5, RFC 7644 §3.5.2.1 (unit: test_s3_5_2_1_add_of_a_null_or_empty_value_is_refused).
    user = create_user(fresh_tenant)
    error = assert_scim_error(patch_user(fresh_tenant, user, operation), 400, "invalidValue")
    assert "no value" in error["detail"]
    assert_unchanged(fresh_tenant, user)


def test_remove_with_a_value_removes_the_listed_emails(fresh_tenant: ScimHttp) -> None:
    # Entra's remove-with-value, applied to emails (unit: test_s3_5_2_2_remove_with_a_value_removes_…).
    user = create_user(fresh_tenant)
    response = patch_user(
        fresh_tenant, user, {"op": "remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}
    )
    assert response.status == 200, response.text
    assert response.json["emails"] == [{"value": "bjensen@example.com", "type": "work", "primary": True}]
    assert response.json["meta"]["version"] != user["meta"]["version"]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": "emails", "value": [{"type": "work"}]},
        {"op": "remove", "path": "addresses", "value": [{"type": "work"}]},
        {"op": "remove", "path": "displayName", "value": "Babs"},
        {"op": "remove", "path": 'emails[type eq "home"]', "value": [{"value": "babs@jensen.org"}]},
    ],
)
def test_remove_with_a_value_that_selects_nothing_is_invalid_value(
    fresh_tenant: ScimHttp, operation: dict[str, Any]
) -> None:
    # Used to be 200 with nothing removed (unit: test_s3_5_2_2_remove_with_a_value_that_names_no_value_…).
    user = create_user(fresh_tenant)
    assert_scim_error(patch_user(fresh_tenant, user, operation), 400, "invalidValue")
    assert_unchanged(fresh_tenant, user)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "value": {"id": "another-id", "displayName": "Babs"}},
        {"op": "add", "value": {"id": "another-id"}},
        {"op": "replace", "value": {"meta": {"resourceType": "User"}}},
        {"op": "remove", "path": "id"},
        {"op": "remove", "path": "meta"},
        {"op": "remove", "path": "groups"},
    ],
)
def test_a_change_of_a_read_only_attribute_is_mutability(
    fresh_tenant: ScimHttp, operation: dict[str, Any]
) -> None:
    # RFC 7644 §3.5.2, §3.5.2.2. Unit: test_s3_5_2_replace_without_path_of_a_read_only_attribute_…,
    # test_s3_5_2_add_of_another_id_is_refused, test_s3_5_2_2_removing_a_read_only_attribute_the_…
    user = create_user(fresh_tenant)
    error = assert_scim_error(patch_user(fresh_tenant, user, operation), 400, "mutability")
    assert "readOnly" in error["detail"]
    assert_unchanged(fresh_tenant, user)


def test_the_users_own_id_echoed_is_accepted(fresh_tenant: ScimHttp) -> None:
    user = create_user(fresh_tenant)
    response = patch_user(
        fresh_tenant, user, {"op": "replace", "value": {"id": user["id"], "displayName": "Babs"}}
    )
    assert response.status == 200, response.text
    assert (response.json["id"], response.json["displayName"]) == (user["id"], "Babs")


def test_a_group_rename_with_another_id_is_mutability(fresh_tenant: ScimHttp) -> None:
    # Okta's rename echoes the group's own id (test_groups_okta_http.py); another id is not an echo.
    created = fresh_tenant.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Tour Guides"})
    assert created.status == 201, created.text
    group = created.json
    body = ops({"op": "replace", "value": {"id": "another-id", "displayName": "Guides"}})
    assert_scim_error(fresh_tenant.patch(f"/Groups/{group['id']}", body), 400, "mutability")
    assert fresh_tenant.get(f"/Groups/{group['id']}").json["displayName"] == "Tour Guides"
    own = ops({"op": "replace", "value": {"id": group["id"], "displayName": "Guides"}})
    assert fresh_tenant.patch(f"/Groups/{group['id']}", own).status == 204
    assert fresh_tenant.get(f"/Groups/{group['id']}").json["displayName"] == "Guides"


def test_removing_a_required_attribute_is_mutability(fresh_tenant: ScimHttp) -> None:
    # RFC 7644 §3.5.2.2 names the error for this case: "If an attribute is removed or becomes
    # unassigned and is defined as a required attribute [...] "mutability"" (issue 14 proposed
    # invalidValue; see docs/scim.md).
    user = create_user(fresh_tenant)
    assert_scim_error(patch_user(fresh_tenant, user, {"op": "remove", "path": "userName"}), 400, "mutability")
    assert_unchanged(fresh_tenant, user)


@pytest.mark.parametrize(
    "text", [f'password eq "{PASSWORD}"', "password pr", 'userName pr and password ne "x"']
)
def test_a_filter_on_password_is_invalid_filter(fresh_tenant: ScimHttp, text: str) -> None:
    # RFC 7643 §4.1.1, RFC 7644 §3.12 (unit: test_s4_1_1_a_filter_on_password_is_invalid_filter).
    create_user(fresh_tenant)
    error = assert_scim_error(fresh_tenant.get("/Users", params={"filter": text}), 400, "invalidFilter")
    assert "password" in error["detail"]
    searched = fresh_tenant.post(
        "/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": text}
    )
    assert_scim_error(searched, 400, "invalidFilter")
