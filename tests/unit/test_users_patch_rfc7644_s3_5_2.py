"""PATCH /Users/{id} through the real handler (RFC 7644 §3.5.2), with the requests IdPs document.

The PATCH engine's own semantics are tested without HTTP in tests/unit/test_patch_*.py; this
module proves the handler applies them, validates the result, versions it and persists it.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.store.resources_table import ResourceTable
from tests.conftest import ScimClient
from tests.support import etag_of
from tests.unit.test_users_crud_rfc7644_s3_3_s3_6 import ENTERPRISE, okta_user

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


@pytest.fixture
def user(scim: ScimClient) -> dict[str, Any]:
    body = okta_user()
    body["schemas"].append(ENTERPRISE)
    body[ENTERPRISE] = {"employeeNumber": "1"}
    return scim("POST", "/Users", body).body  # type: ignore[no-any-return]


def patch(scim: ScimClient, user: dict[str, Any], body: dict[str, Any]) -> Any:
    return scim("PATCH", f"/Users/{user['id']}", body)


def test_okta_deactivate_and_reactivate(scim: ScimClient, user: dict[str, Any]) -> None:
    # Okta: {"op":"replace","value":{"active":false}} without a path.
    off = patch(scim, user, ops({"op": "replace", "value": {"active": False}}))
    assert (off.status, off.body["active"], off.body["meta"]["version"]) == (200, False, etag_of(2))
    assert scim("GET", f"/Users/{user['id']}").body["active"] is False
    on = patch(scim, user, ops({"op": "replace", "value": {"active": True}}))
    assert on.body["active"] is True


@pytest.mark.parametrize("value", ["False", "false", False])
def test_entra_disable_user_with_string_boolean(scim: ScimClient, user: dict[str, Any], value: Any) -> None:
    # Entra "Disable User": {"op":"Replace","path":"active","value":"False"}
    response = patch(scim, user, ops({"op": "Replace", "path": "active", "value": value}))
    assert response.status == 200
    assert response.body["active"] is False


def test_entra_multi_valued_and_single_valued_updates(scim: ScimClient, user: dict[str, Any]) -> None:
    body = ops(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    )
    updated = patch(scim, user, body).body
    assert updated["emails"] == [{"primary": True, "value": "updatedEmail@microsoft.com", "type": "work"}]
    assert updated["name"]["familyName"] == "updatedFamilyName"
    renamed = patch(scim, user, ops({"op": "Replace", "path": "userName", "value": "new.name@example.com"}))
    assert renamed.body["userName"] == "new.name@example.com"
    found = scim("GET", "/Users", query={"filter": 'userName eq "new.name@example.com"'}).body
    assert found["totalResults"] == 1


def test_entra_pathless_dotted_and_urn_keys(scim: ScimClient, user: dict[str, Any]) -> None:
    body = ops(
        {
            "op": "Add",
            "value": {
                "name.givenName": "Barbara",
                f"{ENTERPRISE}:employeeNumber": "701984",
                f"{ENTERPRISE}:department": "Tour Operations",
            },
        }
    )
    updated = patch(scim, user, body).body
    assert updated["name"]["givenName"] == "Barbara"
    assert updated[ENTERPRISE]["employeeNumber"] == "701984"
    assert updated[ENTERPRISE]["department"] == "Tour Operations"


def test_entra_urn_path_and_bare_manager_string(scim: ScimClient, user: dict[str, Any]) -> None:
    body = ops(
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "42"},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "mgr-1"},
    )
    updated = patch(scim, user, body).body
    assert updated[ENTERPRISE]["employeeNumber"] == "42"
    assert updated[ENTERPRISE]["manager"]["value"] == "mgr-1"


def test_an_echoed_id_is_accepted_and_another_id_refused(scim: ScimClient, user: dict[str, Any]) -> None:
    # The user's own id echoed in a path-less value is no change (Okta echoes it on groups); another id
    # is a change of a readOnly attribute: 400 mutability (RFC 7644 §3.5.2), no longer ignored (issue 14).
    body = ops({"op": "Replace", "value": {"id": user["id"], "displayName": "Babs"}})
    updated = patch(scim, user, body).body
    assert (updated["id"], updated["displayName"]) == (user["id"], "Babs")
    refused = patch(scim, user, ops({"op": "Replace", "value": {"id": "something-else", "displayName": "B"}}))
    assert (refused.status, refused.body["scimType"]) == (400, "mutability")
    assert scim("GET", f"/Users/{user['id']}").body["displayName"] == "Babs"


def test_add_on_single_valued_attribute_replaces(scim: ScimClient, user: dict[str, Any]) -> None:
    assert (
        patch(scim, user, ops({"op": "add", "path": "displayName", "value": "New"})).body["displayName"]
        == "New"
    )


def test_add_and_remove_multi_valued_with_primary_uniqueness(scim: ScimClient, user: dict[str, Any]) -> None:
    added = patch(
        scim,
        user,
        ops(
            {
                "op": "add",
                "path": "emails",
                "value": [{"value": "b@example.com", "type": "home", "primary": True}],
            }
        ),
    ).body
    primaries = [e["value"] for e in added["emails"] if e.get("primary")]
    assert primaries == ["b@example.com"]  # RFC 7644 §3.5.2: the new primary wins
    removed = patch(scim, user, ops({"op": "remove", "path": 'emails[type eq "home"]'})).body
    assert [e["value"] for e in removed["emails"]] == ["isaac.brock@example.com"]


def test_noop_patch_keeps_version(scim: ScimClient, user: dict[str, Any]) -> None:
    same = patch(scim, user, ops({"op": "replace", "path": "displayName", "value": user["displayName"]}))
    assert same.body["meta"]["version"] == etag_of(1)


@pytest.mark.parametrize(
    ("body", "status", "scim_type"),
    [
        (ops({"op": "remove"}), 400, "noTarget"),
        (ops({"op": "replace", "path": "noSuchAttribute", "value": "x"}), 400, "invalidPath"),
        (ops({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}), 400, "invalidPath"),
        (ops({"op": "jump", "path": "title", "value": "x"}), 400, "invalidSyntax"),
        ({"Operations": [{"op": "add", "path": "title", "value": "x"}]}, 400, "invalidSyntax"),
        (ops(), 400, "invalidSyntax"),
        (ops({"op": "replace", "path": "active", "value": "maybe"}), 400, "invalidValue"),
        # Clearing a required attribute (RFC 7644 §3.5.2.2: required attributes cannot be removed).
        (ops({"op": "replace", "path": "userName", "value": None}), 400, "mutability"),
    ],
)
def test_bad_patches_change_nothing(
    scim: ScimClient, user: dict[str, Any], body: dict[str, Any], status: int, scim_type: str
) -> None:
    response = patch(scim, user, body)
    assert (response.status, response.body["scimType"]) == (status, scim_type)
    assert scim("GET", f"/Users/{user['id']}").body == user


def test_patch_rename_to_taken_username_is_409(scim: ScimClient, user: dict[str, Any]) -> None:
    scim("POST", "/Users", okta_user("taken@example.com"))
    response = patch(scim, user, ops({"op": "replace", "path": "userName", "value": "TAKEN@example.com"}))
    assert (response.status, response.body["scimType"]) == (409, "uniqueness")


def test_patch_with_stale_if_match_is_412(scim: ScimClient, user: dict[str, Any]) -> None:
    body = ops({"op": "replace", "path": "title", "value": "x"})
    response = scim("PATCH", f"/Users/{user['id']}", body, headers={"If-Match": 'W/"9"'})
    assert response.status == 412


def test_lost_update_is_prevented_by_version_check(
    scim: ScimClient, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that loses the race re-reads and re-applies its change instead of overwriting."""
    original = ResourceTable.replace
    raced = {"done": False}

    def racing_replace(self: ResourceTable, old: Any, new: Any) -> None:
        if not raced["done"]:
            raced["done"] = True  # another PATCH lands between our read and our write
            scim("PATCH", f"/Users/{user['id']}", ops({"op": "replace", "path": "title", "value": "Other"}))
        original(self, old, new)

    monkeypatch.setattr(ResourceTable, "replace", racing_replace)
    result = patch(scim, user, ops({"op": "replace", "path": "nickName", "value": "Ike"})).body
    assert (result["title"], result["nickName"]) == ("Other", "Ike")
    assert result["meta"]["version"] == etag_of(3)


@pytest.mark.parametrize("pathless", [False, True])
def test_extension_object_may_repeat_its_schemas(
    scim: ScimClient, user: dict[str, Any], pathless: bool
) -> None:
    """scim2-tester (and some IdPs) send the extension object with its own "schemas" inside."""
    value = {"schemas": [ENTERPRISE], "employeeNumber": "99", "department": "R&D"}
    operation = (
        {"op": "add", "value": {ENTERPRISE: value}}
        if pathless
        else {"op": "add", "path": ENTERPRISE, "value": value}
    )
    updated = patch(scim, user, ops(operation))
    assert updated.status == 200, updated.body
    assert updated.body[ENTERPRISE] == {"employeeNumber": "99", "department": "R&D"}
