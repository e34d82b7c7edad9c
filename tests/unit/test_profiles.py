"""Tenant profiles applied by the real handlers: each seed vendor's rules (issue 5).

The acceptance flows per preset over HTTP live in tests/integration; these check each rule in
process, with the profile in the authorizer context exactly as the authorizer puts it there.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.capabilities import service_capabilities
from core.profiles import PRESETS, Profile, RolesRule, capabilities_for, preset
from handlers import discovery
from tests.conftest import ScimClient
from tests.support import FakeContext, proxy_event

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def client(aws: None, name: str, **changes: Any) -> ScimClient:
    profile = preset(name).model_copy(update=changes) if changes else preset(name)
    return ScimClient("demo", profile)


def discovery_doc(profile: Profile, path: str) -> dict[str, Any]:
    event = proxy_event("GET", f"/scim/v2/{{tenant}}{path}", {"tenant": "demo"})
    event["requestContext"]["authorizer"]["profile"] = profile.to_json()
    return json.loads(discovery.lambda_handler(event, FakeContext())["body"])  # type: ignore[no-any-return]


def test_poggio_keeps_only_username_and_display_name_and_refuses_groups(aws: None) -> None:
    scim = client(aws, "poggio")
    body = {
        "schemas": [USER],
        "userName": "ann@example.com",
        "name": {"formatted": "Ann Example", "givenName": "Ann"},
        "title": "CTO",
        "phoneNumbers": [{"value": "+1 555", "type": "work"}],
        "active": True,
    }
    user = scim("POST", "/Users", body).body
    assert user["displayName"] == "Ann Example"  # name.formatted stands in for displayName
    assert "title" not in user
    assert "phoneNumbers" not in user
    assert user["name"] == {"formatted": "Ann Example"}
    groups = scim("GET", "/Groups")
    assert (groups.status, groups.body["status"]) == (501, "501")
    types = discovery_doc(preset("poggio"), "/ResourceTypes")
    assert [t["id"] for t in types["Resources"]] == ["User"]
    schema = discovery_doc(preset("poggio"), "/Schemas/" + USER)
    assert {a["name"] for a in schema["attributes"]} == {"userName", "name", "displayName", "active"}


def test_oktopost_requires_username_equal_to_work_email(aws: None) -> None:
    scim = client(aws, "oktopost")
    good = {
        "schemas": [USER],
        "userName": "bob@example.com",
        "name": {"givenName": "Bob", "familyName": "Smith"},
        "emails": [{"value": "bob@example.com", "type": "work", "primary": True}],
        "active": True,
    }
    assert scim("POST", "/Users", good).status == 201
    bad = {**good, "userName": "bsmith", "emails": [{"value": "bob2@example.com", "type": "work"}]}
    response = scim("POST", "/Users", bad)
    assert (response.status, response.body["scimType"]) == (400, "invalidValue")
    assert "must equal the work email 'bob2@example.com'" in response.body["detail"]
    missing = {k: v for k, v in good.items() if k != "name"} | {"userName": "c@example.com"}
    missing["emails"] = [{"value": "c@example.com", "type": "work"}]
    assert scim("POST", "/Users", missing).status == 400  # name.givenName / familyName required


def test_oktopost_delete_deactivates_and_reassignment_reactivates(aws: None) -> None:
    scim = client(aws, "oktopost")
    body = {
        "schemas": [USER],
        "userName": "d@example.com",
        "name": {"givenName": "D", "familyName": "E"},
        "emails": [{"value": "d@example.com", "type": "work"}],
        "active": True,
    }
    uid = scim("POST", "/Users", body).body["id"]
    assert scim("DELETE", f"/Users/{uid}").status == 204
    kept = scim("GET", f"/Users/{uid}")
    assert (kept.status, kept.body["active"]) == (200, False)
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]}
    assert scim("PATCH", f"/Users/{uid}", patch).body["active"] is True


@pytest.mark.parametrize(
    ("roles", "expected"),
    [(["Admin"], ["Admin"]), (["admin", "Viewer"], ["Admin", "Viewer"]), (None, ["Member"])],
)
def test_loopio_roles_string_array(aws: None, roles: list[str] | None, expected: list[str]) -> None:
    scim = client(aws, "loopio")
    body: dict[str, Any] = {"schemas": [USER], "userName": "r@example.com", "active": True}
    if roles is not None:
        body["roles"] = roles  # Okta sends roles as a string array in the core User schema
    user = scim("POST", "/Users", body).body
    assert user["roles"] == expected


def test_loopio_rejects_unknown_role_with_actionable_detail(aws: None) -> None:
    scim = client(aws, "loopio")
    body = {"schemas": [USER], "userName": "r@example.com", "roles": ["Admn"]}
    response = scim("POST", "/Users", body)
    assert (response.status, response.body["scimType"]) == (400, "invalidValue")
    assert response.body["detail"] == "roles value 'Admn' is not one of: Admin, Manager, Member, Viewer."
    schema = discovery_doc(preset("loopio"), "/Schemas/" + USER)
    roles = next(a for a in schema["attributes"] if a["name"] == "roles")
    assert (roles["type"], roles["multiValued"]) == ("string", True)


def test_poppulo_keeps_job_title_and_employee_id(aws: None) -> None:
    scim = client(aws, "poppulo")
    body = {
        "schemas": [USER, ENTERPRISE],
        "userName": "p@example.com",
        "name": {"givenName": "P", "familyName": "Q"},
        "title": "Editor",
        "nickName": "dropped",
        ENTERPRISE: {"employeeNumber": "42", "department": "dropped"},
    }
    user = scim("POST", "/Users", body).body
    assert (user["title"], user[ENTERPRISE]) == ("Editor", {"employeeNumber": "42"})
    assert "nickName" not in user
    group = scim(
        "POST",
        "/Groups",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Editors"},
    )
    assert group.status == 201


def test_popl_groups_on_and_unknown_attributes_ignored(aws: None) -> None:
    scim = client(aws, "popl")
    user = scim("POST", "/Users", {"schemas": [USER], "userName": "x@example.com", "title": "ignored"}).body
    assert "title" not in user
    assert scim("GET", "/Groups").status == 200


def test_reject_policy_refuses_unkept_attributes(aws: None) -> None:
    scim = client(aws, "poggio", unknown_attributes="reject")
    response = scim("POST", "/Users", {"schemas": [USER], "userName": "x@example.com", "title": "CTO"})
    assert (response.status, response.body["scimType"]) == (400, "invalidValue")


def test_default_profile_advertises_everything() -> None:
    caps = capabilities_for(PRESETS["default"], service_capabilities())
    assert [t.name for t in caps.resource_types] == ["User", "Group"]
    assert {s.id for s in caps.used_schemas()} >= {USER, ENTERPRISE}


def test_profile_validation() -> None:
    with pytest.raises(ValueError, match="not one of the allowed roles"):
        RolesRule(allowed=("Admin",), default="Owner")
    with pytest.raises(ValueError, match="not an attribute"):
        Profile(kept_attributes=("shoeSize",))
    with pytest.raises(ValueError, match="unknown preset"):
        preset("nope")


def test_root_search_of_groups_off_tenant_returns_users_only(aws: None) -> None:
    scim = client(aws, "poggio")
    scim("POST", "/Users", {"schemas": [USER], "userName": "s@example.com"})
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'userName sw "s"'}
    found = scim("POST", "/.search", body)
    assert (found.status, found.body["totalResults"]) == (200, 1)


def test_patch_of_attributes_the_profile_drops_is_ignored(aws: None) -> None:
    """Entra updates by PATCH and names every mapped attribute; unkept ones are ignored, as on POST."""
    scim = client(aws, "poggio")
    uid = scim("POST", "/Users", {"schemas": [USER], "userName": "i@example.com", "displayName": "I"}).body[
        "id"
    ]
    body = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Replace", "path": "title", "value": "CTO"},
            {
                "op": "Add",
                "value": {"nickName": "Ike", "displayName": "Ike E.", "urn:example:custom:shoeSize": "9"},
            },
        ],
    }
    patched = scim("PATCH", f"/Users/{uid}", body)
    assert (patched.status, patched.body["displayName"]) == (200, "Ike E.")
    assert "title" not in patched.body
    assert "nickName" not in patched.body
    only_dropped = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "title", "value": "CEO"}]}
    unchanged = scim("PATCH", f"/Users/{uid}", only_dropped)
    assert (unchanged.status, unchanged.body["meta"]["version"]) == (200, patched.body["meta"]["version"])
    unknown = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "shoeSize", "value": "9"}]}
    assert scim("PATCH", f"/Users/{uid}", unknown).body["scimType"] == "invalidPath"
