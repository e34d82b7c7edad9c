"""Microsoft Entra ID's user requests replayed over real HTTP against the local gateway.

The bodies are copied from:

* ENTRA-SCIM: Microsoft, "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft
  Entra ID"
  (learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups),
  section "User Operations": Create User, Get User, Get User by query, Get User by query - Zero
  results, Update User [Multi-valued properties], Update User [Single-valued properties], Disable
  User, Delete User; the enterprise extension attributes from its table of default user attribute
  mappings (employeeNumber, department, manager).
* ENTRA-KNOWN-ISSUES: Microsoft, "Known issues and resolutions with SCIM 2.0 protocol compliance of
  the Microsoft Entra user provisioning service"
  (learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility):
  "Requests made to disable users" (the string "False" sent without the feature flag), "Requests
  to replace multiple attributes" and "Requests to add a single-value string attribute" (the
  path-less forms sent with it).

Entra is configured with the Tenant URL followed by "?aadOptscim062020" (ENTRA-KNOWN-ISSUES, "Flags
to alter the SCIM behavior") and keeps that query on every request, so every request below
carries it.

Queries are sent as Entra encodes them, raw in the path: a space is "+" and a quote "%22"
(`GET /Users?filter=userName+eq+%22…%22`, the form of the requests in ENTRA-SCIM and
ENTRA-KNOWN-ISSUES). API Gateway REST decodes "+" to a space in queryStringParameters (the Live-v1
capture cited in ../shared/research/api-gateway-fidelity.md, aws/aws-cdk#19827); the local gateway
must do the same or every Entra lookup is a 400 invalidFilter.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

import pytest

from tests.integration.conftest import (
    ENTERPRISE_SCHEMA,
    LIST_RESPONSE,
    USER_SCHEMA,
    HttpResponse,
    ScimHttp,
    assert_scim_error,
    assert_scim_json,
)

pytestmark = pytest.mark.integration

FLAG = "aadOptscim062020"

# ENTRA-SCIM, "Create User" (request), with the enterprise extension attributes Entra maps by
# default (employeeId -> employeeNumber, department, manager) filled in.
ENTRA_CREATE_USER: dict[str, Any] = {
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
    "active": True,
    "emails": [
        {
            "primary": True,
            "type": "work",
            "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com",
        }
    ],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "roles": [],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "manager": {"value": "26118915-6090-4610-87a4-49d0767d2ad4"},
    },
}

# ENTRA-SCIM, "Update User [Multi-valued properties]".
ENTRA_UPDATE_MULTI_VALUED: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    ],
}

# ENTRA-SCIM, "Update User [Single-valued properties]".
ENTRA_UPDATE_SINGLE_VALUED: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}
    ],
}

# ENTRA-SCIM, "Disable User": "Operations" before "schemas", capitalised "Replace".
ENTRA_DISABLE_USER: dict[str, Any] = {
    "Operations": [{"op": "Replace", "path": "active", "value": False}],
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
}

# ENTRA-KNOWN-ISSUES, "Requests made to disable users", without feature flag: a string boolean.
ENTRA_DISABLE_USER_STRING: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
}

# ENTRA-KNOWN-ISSUES, "Requests to replace multiple attributes", with feature flag: one path-less
# "replace" whose value has dotted keys and a URN-qualified extension key.
ENTRA_REPLACE_MULTIPLE: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "TestMhvaes@test.microsoft.com"},
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
            },
        },
    ],
}

# ENTRA-KNOWN-ISSUES, "Requests to add a single-value string attribute", with feature flag (a
# path-less "add"), as Entra sends it for several attributes at once: dotted core keys and
# URN-qualified enterprise keys, the manager as a bare id.
ENTRA_PATH_LESS_ADD: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {
            "op": "Add",
            "value": {
                "nickName": "Babs",
                "name.honorificPrefix": "Ms.",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "4130",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "mgr-0042",
            },
        }
    ],
}


def users(suffix: str = "") -> str:
    """The collection URL as Entra builds it: the flag stays on the Tenant URL's query."""
    return f"/Users{suffix}?{FLAG}"


def entra_filter(filter_text: str) -> str:
    """The collection URL with a filter, encoded as Entra sends it: `filter=userName+eq+%22…%22`."""
    return f"{users()}&filter={quote_plus(filter_text, safe='')}"


def query(scim: ScimHttp, user_name: str) -> HttpResponse:
    # ENTRA-SCIM, "Get User by query": GET /Users?filter=userName+eq+%22…%22 (raw, as sent).
    return scim.get(entra_filter(f'userName eq "{user_name}"'))


def assert_user(response: HttpResponse, status: int = 200) -> dict[str, Any]:
    assert response.status == status, response.text
    assert_scim_json(response)
    user: dict[str, Any] = response.json
    assert USER_SCHEMA in user["schemas"]
    assert response.headers["etag"] == user["meta"]["version"]
    return user


def create_entra_user(scim: ScimHttp) -> dict[str, Any]:
    created = scim.post(users(), ENTRA_CREATE_USER)
    return assert_user(created, 201)


def patch(scim: ScimHttp, user: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    return assert_user(scim.patch(users(f"/{user['id']}"), body))


# ---------------------------------------------------------------------------------------- create / get
def test_create_user(fresh_tenant: ScimHttp) -> None:
    created = fresh_tenant.post(users(), ENTRA_CREATE_USER)
    user = assert_user(created, 201)
    assert created.headers["location"] == user["meta"]["location"]
    assert user["meta"]["location"] == f"{fresh_tenant.base_url}/Users/{user['id']}"  # no flag in it
    assert user["meta"]["resourceType"] == "User"
    assert user["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert user["userName"] == "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
    assert user["active"] is True
    assert user["name"] == ENTRA_CREATE_USER["name"]
    assert user["emails"] == ENTRA_CREATE_USER["emails"]
    assert ENTERPRISE_SCHEMA in user["schemas"]
    enterprise = user[ENTERPRISE_SCHEMA]
    assert enterprise["employeeNumber"] == "701984"
    assert enterprise["department"] == "Tour Operations"
    assert enterprise["manager"]["value"] == "26118915-6090-4610-87a4-49d0767d2ad4"


def test_get_user(fresh_tenant: ScimHttp) -> None:
    user = create_entra_user(fresh_tenant)
    fetched = fresh_tenant.get(users(f"/{user['id']}"))
    assert assert_user(fetched) == user


def test_get_user_by_query(fresh_tenant: ScimHttp) -> None:
    user = create_entra_user(fresh_tenant)
    found = query(fresh_tenant, "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1")
    assert found.status == 200, found.text
    assert_scim_json(found)
    body = found.json
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 1
    assert body["Resources"] == [user]


def test_get_user_by_query_zero_results(fresh_tenant: ScimHttp) -> None:
    create_entra_user(fresh_tenant)
    found = query(fresh_tenant, "non-existent user")
    assert found.status == 200, found.text
    assert_scim_json(found)
    body = found.json
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 0
    assert body["startIndex"] == 1
    assert body.get("Resources", []) == []


def test_get_user_by_external_id_query(fresh_tenant: ScimHttp) -> None:
    # Entra matches on externalId = objectId when that is the matching attribute.
    user = create_entra_user(fresh_tenant)
    found = fresh_tenant.get(f"{users()}&filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22")
    assert found.status == 200, found.text
    assert [u["id"] for u in found.json["Resources"]] == [user["id"]]


def test_entra_encoded_lookup_is_sent_byte_for_byte() -> None:
    # The helper builds exactly the query Entra puts on the wire (ENTRA-SCIM, "Get User by query").
    assert entra_filter('userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"') == (
        f"/Users?{FLAG}&filter=userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%22"
    )


def test_duplicate_check_before_create_then_create(fresh_tenant: ScimHttp) -> None:
    # Entra's create flow: look the user up by its matching attribute (userName), find nothing,
    # then POST; the same lookup then finds the new user (ENTRA-SCIM, "Get User by query" and
    # "Create User").
    raw = f"{users()}&filter=userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%22"
    before = fresh_tenant.get(raw)
    assert before.status == 200, before.text
    assert before.json["totalResults"] == 0
    user = create_entra_user(fresh_tenant)
    after = fresh_tenant.get(raw)
    assert after.status == 200, after.text
    assert after.json["totalResults"] == 1
    assert after.json["Resources"] == [user]


def test_create_of_an_existing_user_is_409(fresh_tenant: ScimHttp) -> None:
    create_entra_user(fresh_tenant)
    again = fresh_tenant.post(users(), ENTRA_CREATE_USER)
    assert_scim_error(again, 409, "uniqueness")


# ---------------------------------------------------------------------------------------- update
def test_update_user_multi_valued_properties(fresh_tenant: ScimHttp) -> None:
    user = create_entra_user(fresh_tenant)
    updated = patch(fresh_tenant, user, ENTRA_UPDATE_MULTI_VALUED)
    assert updated["emails"] == [{"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"}]
    assert updated["name"] == {
        "formatted": "givenName familyName",
        "familyName": "updatedFamilyName",
        "givenName": "givenName",
    }
    assert updated["meta"]["version"] != user["meta"]["version"]
    assert assert_user(fresh_tenant.get(users(f"/{user['id']}"))) == updated


def test_update_user_single_valued_properties(fresh_tenant: ScimHttp) -> None:
    user = create_entra_user(fresh_tenant)
    updated = patch(fresh_tenant, user, ENTRA_UPDATE_SINGLE_VALUED)
    assert updated["userName"] == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    # The lookup follows the rename: the new name is found, the old one is free.
    renamed = query(fresh_tenant, "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com").json
    assert [u["id"] for u in renamed["Resources"]] == [user["id"]]
    assert query(fresh_tenant, user["userName"]).json["totalResults"] == 0


def test_replace_multiple_attributes_path_less_with_dotted_and_urn_keys(fresh_tenant: ScimHttp) -> None:
    user = create_entra_user(fresh_tenant)
    updated = patch(fresh_tenant, user, ENTRA_REPLACE_MULTIPLE)
    assert updated["displayName"] == "Bjfe"
    assert updated["name"] == {"formatted": "givenName familyName", "familyName": "Unua", "givenName": "Kkom"}
    assert updated["emails"][0]["value"] == "TestMhvaes@test.microsoft.com"
    enterprise = updated[ENTERPRISE_SCHEMA]
    assert enterprise["employeeNumber"] == "Aklq"
    assert enterprise["department"] == "Tour Operations"  # untouched
    assert "name.givenName" not in updated  # the dotted key named a sub-attribute, not a new one


def test_path_less_add_with_dotted_and_urn_keys(fresh_tenant: ScimHttp) -> None:
    user = create_entra_user(fresh_tenant)
    updated = patch(fresh_tenant, user, ENTRA_PATH_LESS_ADD)
    assert updated["nickName"] == "Babs"
    assert updated["name"]["honorificPrefix"] == "Ms."
    assert updated["name"]["givenName"] == "givenName"  # add merges into the complex value
    enterprise = updated[ENTERPRISE_SCHEMA]
    assert enterprise["costCenter"] == "4130"
    assert enterprise["manager"]["value"] == "mgr-0042"
    assert enterprise["employeeNumber"] == "701984"
    fetched = assert_user(fresh_tenant.get(users(f"/{user['id']}")))
    assert fetched == updated


def test_stray_id_in_a_path_less_replace_is_ignored(fresh_tenant: ScimHttp) -> None:
    # Entra echoes the resource's "id" in a path-less Replace value; readOnly, so ignored.
    user = create_entra_user(fresh_tenant)
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "value": {"id": user["id"], "displayName": "Barbara Jensen"}}],
    }
    updated = patch(fresh_tenant, user, body)
    assert updated["id"] == user["id"]
    assert updated["displayName"] == "Barbara Jensen"
    assert updated["userName"] == user["userName"]


# ---------------------------------------------------------------------------------------- disable / delete
def test_disable_user(fresh_tenant: ScimHttp) -> None:
    user = create_entra_user(fresh_tenant)
    disabled = patch(fresh_tenant, user, ENTRA_DISABLE_USER)
    assert disabled["active"] is False
    assert fresh_tenant.get(users(f"/{user['id']}")).json["active"] is False


def test_disable_user_with_the_string_false(fresh_tenant: ScimHttp) -> None:
    user = create_entra_user(fresh_tenant)
    disabled = patch(fresh_tenant, user, ENTRA_DISABLE_USER_STRING)
    assert disabled["active"] is False  # stored and returned as a JSON boolean
    # Sent again to a disabled user: no change, so no new version.
    again = patch(fresh_tenant, disabled, ENTRA_DISABLE_USER_STRING)
    assert again["active"] is False
    assert again["meta"]["version"] == disabled["meta"]["version"]
    # The filter Entra may use afterwards sees a boolean.
    found = fresh_tenant.get(entra_filter(f'userName eq "{user["userName"]}" and active eq false'))
    assert found.json["totalResults"] == 1


def test_delete_user(fresh_tenant: ScimHttp) -> None:
    user = create_entra_user(fresh_tenant)
    deleted = fresh_tenant.delete(users(f"/{user['id']}"))
    assert deleted.status == 204, deleted.text
    assert deleted.raw == b""
    assert_scim_error(fresh_tenant.get(users(f"/{user['id']}")), 404)
    assert query(fresh_tenant, user["userName"]).json["totalResults"] == 0


def test_flagged_requests_route_like_plain_ones(fresh_tenant: ScimHttp) -> None:
    # The same user is reached with and without the flag; the flag is not taken for a parameter.
    user = create_entra_user(fresh_tenant)
    plain = fresh_tenant.get(f"/Users/{user['id']}")
    flagged = fresh_tenant.get(f"/Users/{user['id']}?{FLAG}")
    assert plain.status == flagged.status == 200
    assert plain.json == flagged.json
    listed = fresh_tenant.get(users())
    assert listed.status == 200, listed.text
    assert [u["id"] for u in listed.json["Resources"]] == [user["id"]]
