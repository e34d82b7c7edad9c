"""The PATCH engine copies only what it writes (core.patch.engine, copy-on-write).

The stored resource must never change, whatever the operations do (RFC 7644 §3.5.2: a failed PATCH
leaves the resource as it was), and attributes no operation touched are shared, not copied.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.errors import Mutability
from core.patch import apply_patch
from core.schema import ENTERPRISE_USER, ENTERPRISE_USER_SCHEMA, USER, USER_SCHEMA

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCHEMAS = (USER, ENTERPRISE_USER)


def _user() -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "id": "u1",
        "userName": "bjensen@example.com",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
        ENTERPRISE_USER_SCHEMA: {"department": "Tour Operations", "manager": {"value": "m1"}},
    }


def _body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "name.givenName", "value": "Babs"},
        {"op": "add", "path": "emails", "value": [{"value": "babs@example.org", "type": "home"}]},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "b@example.com"},
        {"op": "remove", "path": "emails"},
        {"op": "replace", "path": f"{ENTERPRISE_USER_SCHEMA}:department", "value": "Sales"},
        {"op": "remove", "path": f"{ENTERPRISE_USER_SCHEMA}:department"},
        {"op": "remove", "path": ENTERPRISE_USER_SCHEMA},
        {"op": "replace", "value": {"active": False, "name.familyName": "J"}},
    ],
)
def test_the_resource_is_never_written_into(operation: dict[str, Any]) -> None:
    user = _user()
    before = copy.deepcopy(user)
    result = apply_patch(user, _body(operation), SCHEMAS)
    assert user == before
    assert result.changed  # each operation above changes something


def test_an_extension_write_leaves_the_stored_extension_object_alone() -> None:
    user = _user()
    extension = user[ENTERPRISE_USER_SCHEMA]
    ops = [
        {"op": "replace", "path": f"{ENTERPRISE_USER_SCHEMA}:department", "value": "Sales"},
        {"op": "add", "path": f"{ENTERPRISE_USER_SCHEMA}:costCenter", "value": "4130"},
    ]
    result = apply_patch(user, _body(*ops), SCHEMAS)
    assert extension == {"department": "Tour Operations", "manager": {"value": "m1"}}
    assert result.resource[ENTERPRISE_USER_SCHEMA] == {
        "department": "Sales",
        "manager": {"value": "m1"},
        "costCenter": "4130",
    }


def test_a_failed_operation_after_a_successful_one_changes_nothing() -> None:
    user = _user()
    before = copy.deepcopy(user)
    ops = [
        {"op": "replace", "path": f"{ENTERPRISE_USER_SCHEMA}:department", "value": "Sales"},
        {"op": "replace", "path": "id", "value": "other"},  # readOnly: the request fails
    ]
    with pytest.raises(Mutability):
        apply_patch(user, _body(*ops), SCHEMAS)
    assert user == before


def test_untouched_attributes_are_shared_not_copied() -> None:
    user = _user()
    result = apply_patch(user, _body({"op": "replace", "path": "name.givenName", "value": "Babs"}), SCHEMAS)
    assert result.resource["emails"] is user["emails"]
    assert result.resource[ENTERPRISE_USER_SCHEMA] is user[ENTERPRISE_USER_SCHEMA]
    assert result.resource["name"] == {"familyName": "Jensen", "givenName": "Babs"}
    assert user["name"]["givenName"] == "Barbara"
