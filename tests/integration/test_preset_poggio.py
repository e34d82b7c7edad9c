"""Acceptance: the `poggio` preset replays the Okta setup of `../shared/seeds/002_07669b3676eb7ade.txt`.

The seed ("Provision Users with SCIM", Poggio) states:

1. Okta provisioning actions: Push New Users, Push Profile Updates; "To App": Create User, Update
   User Attributes, Deactivate Users. Unique identifier field for users: userName.
2. "Poggio supports two fields (all others are ignored)": `userName` (the user's email) and
   `displayName` (the full name); `name.formatted` is used when `displayName` is not present.
3. "Sync users' names to Poggio" (a profile update changes the name).
4. "Poggio does not support: Group provisioning" (no concept of groups), "Importing users from
   Poggio" (no Okta import is configured: only the existence check Okta makes before a push is
   needed) and "Password syncs".

Each test creates a tenant with `preset("poggio")` and sends the requests Okta sends (bodies from
Okta, "Okta and SCIM Version 2.0", developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20,
as in test_users_okta_http.py), then checks the seed's behaviour and that discovery describes the
profile: a User resource type only, a User schema with only the kept attributes.
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
GROUPS_OFF = "Groups are not enabled for this tenant; turn off group provisioning in the IdP."

# Okta's existence check before "Push New Users" (userName is the unique identifier field).
EXISTENCE_QUERY = "/Users?filter=userName%20eq%20%22ann.lee%40example.com%22&startIndex=1&count=100"

# Okta "Create users": the body Okta sends with its default mappings (Poggio ignores all but two).
OKTA_CREATE_USER: dict[str, Any] = {
    "schemas": [USER_SCHEMA],
    "userName": "ann.lee@example.com",
    "name": {"givenName": "Ann", "familyName": "Lee"},
    "emails": [{"primary": True, "value": "ann.lee@example.com", "type": "work"}],
    "displayName": "Ann Lee",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}

OKTA_DEACTIVATE: dict[str, Any] = {
    "schemas": [PATCH_OP],
    "Operations": [{"op": "replace", "value": {"active": False}}],
}

_ids = count(1)


@pytest.fixture
def poggio(running: RunningGateway) -> ScimHttp:
    """A tenant created with the poggio preset and the token pasted into Okta."""
    tenant = f"poggio{next(_ids)}-{running.port}"
    running.admin.create_tenant(tenant, None, preset("poggio"))
    return ScimHttp(running.tenant_url_of(tenant), running.admin.issue_token(tenant, "okta").token)


def assert_user(response: HttpResponse, status: int = 200) -> dict[str, Any]:
    assert response.status == status, response.text
    assert_scim_json(response)
    user: dict[str, Any] = response.json
    assert user["schemas"] == [USER_SCHEMA]
    assert response.headers["etag"] == user["meta"]["version"]
    return user


def okta_create(scim: ScimHttp, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(OKTA_CREATE_USER)
    body.update(changes)
    for name in [k for k, v in changes.items() if v is None]:
        del body[name]
    return assert_user(scim.post("/Users", body), 201)


# ---------------------------------------------------------------------------------------- users
def test_push_new_user_keeps_only_username_and_display_name(poggio: ScimHttp) -> None:
    absent = poggio.get(EXISTENCE_QUERY)
    assert absent.status == 200, absent.text
    assert (absent.json["schemas"], absent.json["totalResults"]) == ([LIST_RESPONSE], 0)

    user = okta_create(poggio)
    # userName and displayName are kept; name, emails, locale, groups and password are ignored.
    # (id, meta, active and externalId are SCIM's own bookkeeping, which Okta needs.)
    assert set(user) == {"schemas", "id", "externalId", "userName", "displayName", "active", "meta"}
    assert (user["userName"], user["displayName"], user["active"]) == ("ann.lee@example.com", "Ann Lee", True)
    assert user["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert assert_user(poggio.get(f"/Users/{user['id']}")) == user

    # No import is needed: the existence check Okta makes before a push finds the user.
    found = poggio.get(EXISTENCE_QUERY).json
    assert [u["id"] for u in found["Resources"]] == [user["id"]]
    # The ignored attributes are not stored: a filter on them matches nothing.
    assert poggio.get("/Users", params={"filter": 'locale eq "en-US"'}).json["totalResults"] == 0


def test_name_formatted_stands_in_for_a_missing_display_name(poggio: ScimHttp) -> None:
    user = okta_create(poggio, displayName=None, name={"formatted": "Ann Lee", "givenName": "Ann"})
    assert user["displayName"] == "Ann Lee"
    assert user["name"] == {"formatted": "Ann Lee"}  # givenName ignored

    # When displayName is present it wins over name.formatted.
    body = {
        "schemas": [USER_SCHEMA],
        "id": user["id"],
        "userName": "ann.lee@example.com",
        "displayName": "Ann L. Lee",
        "name": {"formatted": "Ann Lee-Smith"},
        "active": True,
    }
    both = assert_user(poggio.put(f"/Users/{user['id']}", body))
    assert (both["displayName"], both["name"]) == ("Ann L. Lee", {"formatted": "Ann Lee-Smith"})

    # Without displayName again, the (new) name.formatted is the display name.
    body.pop("displayName")
    fallback = assert_user(poggio.put(f"/Users/{user['id']}", body))
    assert fallback["displayName"] == "Ann Lee-Smith"


def test_push_profile_updates_syncs_the_name_and_ignores_the_rest(poggio: ScimHttp) -> None:
    user = okta_create(poggio)
    # Okta "Update a specific user (PUT)": GET, then PUT of the whole profile.
    assert poggio.get(f"/Users/{user['id']}").status == 200
    body = {
        "schemas": [USER_SCHEMA],
        "id": user["id"],
        "userName": "ann.lee@example.com",
        "name": {"givenName": "Ann", "middleName": "Marie", "familyName": "Lee"},
        "displayName": "Ann Marie Lee",
        "title": "CTO",
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        "emails": [{"primary": True, "value": "ann.lee@example.com", "type": "work"}],
        "active": True,
        "groups": [],
        "meta": {"resourceType": "User"},
    }
    updated = assert_user(poggio.put(f"/Users/{user['id']}", body))
    assert updated["displayName"] == "Ann Marie Lee"
    assert not {"name", "title", "phoneNumbers", "emails"} & set(updated)
    assert updated["meta"]["version"] != user["meta"]["version"]

    # An update that names only ignored attributes changes nothing (same version).
    only_ignored = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"title": "CEO", "nickName": "Annie"}}],
    }
    same = assert_user(poggio.patch(f"/Users/{user['id']}", only_ignored))
    assert same == updated


def test_deactivate_users(poggio: ScimHttp) -> None:
    user = okta_create(poggio)
    deactivated = assert_user(poggio.patch(f"/Users/{user['id']}", OKTA_DEACTIVATE))
    assert deactivated["active"] is False
    assert (deactivated["userName"], deactivated["displayName"]) == ("ann.lee@example.com", "Ann Lee")
    # Still there for Okta to reactivate: readable and found by the existence check.
    assert assert_user(poggio.get(f"/Users/{user['id']}"))["active"] is False
    assert [u["active"] for u in poggio.get(EXISTENCE_QUERY).json["Resources"]] == [False]


# ---------------------------------------------------------------------------------------- groups
def test_group_provisioning_is_refused(poggio: ScimHttp) -> None:
    pushed = poggio.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": []})
    assert assert_scim_error(pushed, 501)["detail"] == GROUPS_OFF
    lookup = poggio.get("/Groups?filter=displayName%20eq%20%22Engineering%22&startIndex=1&count=100")
    assert assert_scim_error(lookup, 501)["detail"] == GROUPS_OFF
    assert_scim_error(poggio.get("/Groups?startIndex=1&count=100"), 501)


# ---------------------------------------------------------------------------------------- discovery
def test_discovery_describes_users_with_two_fields_and_no_groups(poggio: ScimHttp) -> None:
    config = poggio.get("/ServiceProviderConfig")
    assert config.status == 200, config.text
    assert config.json["patch"]["supported"] is True  # Okta deactivates with PATCH
    assert config.json["filter"]["supported"] is True  # Okta's userName eq existence check
    assert config.json["changePassword"]["supported"] is False  # no password sync

    types = poggio.get("/ResourceTypes").json
    assert [t["id"] for t in types["Resources"]] == ["User"]
    assert types["Resources"][0]["schemaExtensions"] == []
    assert_scim_error(poggio.get("/ResourceTypes/Group"), 404)

    schemas = poggio.get("/Schemas").json
    assert [s["id"] for s in schemas["Resources"]] == [USER_SCHEMA]
    assert_scim_error(poggio.get(f"/Schemas/{GROUP_SCHEMA}"), 404)
    user_schema = poggio.get(f"/Schemas/{USER_SCHEMA}").json
    attributes = {a["name"]: a for a in user_schema["attributes"]}
    assert set(attributes) == {"userName", "name", "displayName", "active"}
    assert attributes["userName"]["required"] is True
    assert [s["name"] for s in attributes["name"]["subAttributes"]] == ["formatted"]
