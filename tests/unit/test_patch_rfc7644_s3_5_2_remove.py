"""RFC 7644 §3.5.2.2: the "remove" operation, with the RFC's examples.

Resources are the RFC 7643 §8 examples (the full User of §8.2, the Group of §8.4), cut down.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.errors import InvalidValue, Mutability, NoTarget
from core.patch import PatchResult, apply_patch
from core.schema import ENTERPRISE_USER, ENTERPRISE_USER_SCHEMA, GROUP, GROUP_SCHEMA, USER, USER_SCHEMA

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMAS = (USER, ENTERPRISE_USER)
BABS = "2819c223-7f76-453a-919d-413861904646"
MANDY = "902c246b-6245-4190-8e05-00816be7344a"
JAMES = "08e1d05d-121c-4561-8b96-473d93df9210"

BJENSEN: dict[str, Any] = {
    "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
    "id": BABS,
    "userName": "bjensen@example.com",
    "name": {"familyName": "Jensen", "givenName": "Barbara", "middleName": "Jane"},
    "nickName": "Babs",
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
        {"value": "babs@example.com", "type": "work"},
    ],
    "addresses": [
        {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"},
        {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"},
    ],
    ENTERPRISE_USER_SCHEMA: {"employeeNumber": "701984"},
    "meta": {"resourceType": "User", "version": 'W/"3694e05e9dff591"'},
}

TOUR_GUIDES: dict[str, Any] = {
    "schemas": [GROUP_SCHEMA],
    "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
    "displayName": "Tour Guides",
    "members": [
        {"value": BABS, "$ref": f"https://example.com/v2/Users/{BABS}", "display": "Babs Jensen"},
        {"value": MANDY, "$ref": f"https://example.com/v2/Users/{MANDY}", "display": "Mandy Pepperidge"},
    ],
}


def request(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def patch_user(*operations: dict[str, Any], user: dict[str, Any] = BJENSEN) -> PatchResult:
    before = copy.deepcopy(user)
    result = apply_patch(user, request(*operations), USER_SCHEMAS)
    assert user == before
    return result


def patch_group(*operations: dict[str, Any]) -> PatchResult:
    before = copy.deepcopy(TOUR_GUIDES)
    result = apply_patch(TOUR_GUIDES, request(*operations), (GROUP,))
    assert before == TOUR_GUIDES
    return result


def member_ids(result: PatchResult) -> list[str]:
    return [member["value"] for member in result.resource.get("members", [])]


# --- §3.5.2.2 examples ----------------------------------------------------------------------------


def test_s3_5_2_2_example_remove_all_members_of_a_group() -> None:
    # "The following example shows how remove all members of a group": {"op":"remove","path":"members"}.
    # "If the target location is a multi-valued attribute and no filter is specified, the attribute and
    # all values are removed, and the attribute SHALL be considered unassigned."
    result = patch_group({"op": "remove", "path": "members"})
    assert "members" not in result.resource
    assert result.changed == {"members"}


def test_s3_5_2_2_example_remove_a_single_member() -> None:
    # "The following example shows how to remove a single member from a group."
    result = patch_group({"op": "remove", "path": f'members[value eq "{BABS}"]'})
    assert member_ids(result) == [MANDY]
    assert result.changed == {"members"}


def test_s3_5_2_2_example_remove_with_a_complex_filter() -> None:
    # "If the target location is a complex multi-valued attribute and a complex filter is specified
    # based on the attribute's sub-attributes, the matching records are removed."
    result = patch_user({"op": "remove", "path": 'emails[type eq "work" and value ew "example.com"]'})
    assert result.resource["emails"] == [{"value": "babs@jensen.org", "type": "home"}]


def test_s3_5_2_2_example_remove_several_members_one_by_one() -> None:
    result = patch_group(
        {"op": "remove", "path": f'members[value eq "{BABS}"]'},
        {"op": "remove", "path": f'members[value eq "{MANDY}"]'},
    )
    # "If no other values remain after removal of the selected values, the multi-valued attribute SHALL
    # be considered unassigned."
    assert "members" not in result.resource


def test_s3_5_2_2_example_replace_all_members_with_remove_then_add() -> None:
    # "The following example shows how to replace all of the members of a group with a different
    # members list": a "remove" of "members" followed by an "add".
    result = patch_group(
        {"op": "remove", "path": "members"},
        {
            "op": "add",
            "path": "members",
            "value": [
                {"display": "Babs Jensen", "$ref": f"https://example.com/v2/Users/{BABS}", "value": BABS},
                {"display": "James Smith", "$ref": f"https://example.com/v2/Users/{JAMES}", "value": JAMES},
            ],
        },
    )
    assert member_ids(result) == [BABS, JAMES]
    assert result.changed == {"members"}


# --- the other targets --------------------------------------------------------------------------


def test_remove_a_single_valued_attribute() -> None:
    # "If the target location is a single-value attribute, the attribute and its associated value is
    # removed, and the attribute SHALL be considered unassigned."
    result = patch_user({"op": "remove", "path": "nickName"})
    assert "nickName" not in result.resource
    assert result.changed == {"nickName"}


def test_remove_a_sub_attribute() -> None:
    result = patch_user({"op": "remove", "path": "name.middleName"})
    assert result.resource["name"] == {"familyName": "Jensen", "givenName": "Barbara"}
    assert result.changed == {"name"}


def test_removing_the_last_sub_attribute_unassigns_the_attribute() -> None:
    result = patch_user(
        {"op": "remove", "path": "name.givenName"},
        {"op": "remove", "path": "name.familyName"},
        {"op": "remove", "path": "NAME.middlename"},
    )
    assert "name" not in result.resource


def test_remove_a_sub_attribute_of_the_selected_values() -> None:
    result = patch_user({"op": "remove", "path": 'addresses[type eq "work"].streetAddress'})
    assert result.resource["addresses"] == [
        {"type": "work", "locality": "Hollywood"},
        {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"},
    ]


def test_remove_the_last_extension_attribute_removes_the_extension() -> None:
    result = patch_user({"op": "remove", "path": f"{ENTERPRISE_USER_SCHEMA}:employeeNumber"})
    assert ENTERPRISE_USER_SCHEMA not in result.resource
    assert result.resource["schemas"] == [USER_SCHEMA]
    assert result.changed == {f"{ENTERPRISE_USER_SCHEMA}:employeeNumber"}


def test_remove_an_extension_by_its_urn() -> None:
    result = patch_user({"op": "remove", "path": ENTERPRISE_USER_SCHEMA.lower()})
    assert ENTERPRISE_USER_SCHEMA not in result.resource
    assert result.changed == {f"{ENTERPRISE_USER_SCHEMA}:employeeNumber"}


@pytest.mark.parametrize(
    "path",
    ["title", 'emails[type eq "other"]', f'members[value eq "{JAMES}"]', "name.honorificPrefix"],
)
def test_removing_what_is_not_there_is_a_successful_no_op(path: str) -> None:
    # The RFC names no error for it; IdPs retry removals, so remove is idempotent.
    resource, schemas = (TOUR_GUIDES, (GROUP,)) if path.startswith("members") else (BJENSEN, USER_SCHEMAS)
    result = apply_patch(resource, request({"op": "remove", "path": path}), schemas)
    assert result.resource == resource
    assert result.changed == frozenset()


def test_a_member_filter_follows_the_case_exactness_of_the_schema() -> None:
    # RFC 7643 §8.7.1 declares members.value with "caseExact": false.
    result = patch_group({"op": "remove", "path": f'members[value eq "{BABS.upper()}"]'})
    assert member_ids(result) == [MANDY]


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", [{"op": "remove"}, {"op": "remove", "path": None}])
def test_s3_5_2_2_remove_without_path_is_no_target(operation: dict[str, Any]) -> None:
    # "If "path" is unspecified, the operation fails with HTTP status code 400 and a "scimType" error
    # code of "noTarget"."
    with pytest.raises(NoTarget) as caught:
        patch_user(operation)
    assert caught.value.status == 400
    assert caught.value.scim_type == "noTarget"


def test_s3_5_2_2_removing_a_required_attribute_is_refused() -> None:
    # "If an attribute is removed or becomes unassigned and is defined as a required attribute or a
    # read-only attribute, the server SHALL return [...] a "scimType" error code of "mutability"."
    with pytest.raises(Mutability, match="userName"):
        patch_user({"op": "remove", "path": "userName"})


@pytest.mark.parametrize("path", ["id", "meta", "meta.version"])
def test_s3_5_2_2_removing_a_read_only_attribute_is_refused(path: str) -> None:
    with pytest.raises(Mutability, match="readOnly"):
        patch_user({"op": "remove", "path": path})


def test_removing_an_immutable_sub_attribute_is_refused() -> None:
    # RFC 7643 §4.2: "While values MAY be added or removed, sub-attributes of members are "immutable"."
    with pytest.raises(Mutability, match="immutable"):
        patch_group({"op": "remove", "path": f'members[value eq "{BABS}"].display'})


def test_s3_5_2_2_remove_with_a_value_removes_the_listed_values() -> None:
    # §3.5.2.2 gives "remove" no "value"; Entra's remove of group members lists the values to remove
    # (test_patch_idp_quirks.py), and the rule is the same for every multi-valued attribute: the
    # values whose "value" sub-attribute is listed go (caseExact honoured), the others stay.
    result = patch_user({"op": "remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]})
    assert result.resource["emails"] == [BJENSEN["emails"][0], BJENSEN["emails"][2]]
    assert result.changed == {"emails"}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("emails", [{"type": "work"}]),  # selects by a sub-attribute other than "value"
        ("emails", [{"value": "bjensen@example.com"}, {"type": "home"}]),
        ("emails", [{}]),
        ("emails", [None]),
        ("addresses", [BJENSEN["addresses"][1]]),  # addresses have no "value" sub-attribute
    ],
)
def test_s3_5_2_2_remove_with_a_value_that_names_no_value_is_refused(path: str, value: Any) -> None:
    # Such a remove used to answer 200 and remove nothing. A value filter says what it means:
    # 'emails[type eq "work"]'.
    with pytest.raises(InvalidValue, match="filter") as caught:
        patch_user({"op": "remove", "path": path, "value": value})
    assert caught.value.scim_type == "invalidValue"
    assert patch_user({"op": "remove", "path": 'emails[type eq "work"]'}).resource["emails"] == [
        BJENSEN["emails"][1]
    ]


@pytest.mark.parametrize("value", [[], {}])
def test_s3_5_2_2_remove_whose_value_lists_nothing_is_refused(value: Any) -> None:
    # Neither "remove these none" (a silent no-op) nor "remove all" (the opposite of a list).
    with pytest.raises(InvalidValue, match="lists no value"):
        patch_user({"op": "remove", "path": "emails", "value": value})
    assert "emails" not in patch_user({"op": "remove", "path": "emails", "value": None}).resource


@pytest.mark.parametrize(
    "path",
    ["title", "displayName", "name.givenName", 'emails[type eq "work"]', 'emails[type eq "work"].value'],
)
def test_s3_5_2_2_remove_with_a_value_on_anything_but_a_multi_valued_attribute_is_refused(path: str) -> None:
    # Only a whole multi-valued attribute has values to list; elsewhere the "value" would be ignored.
    with pytest.raises(InvalidValue, match="value"):
        patch_user({"op": "remove", "path": path, "value": "Babs"})


@pytest.mark.parametrize("path", ["id", "meta", "groups", 'groups[type eq "direct"]'])
def test_s3_5_2_2_removing_a_read_only_attribute_the_document_lacks_is_refused(path: str) -> None:
    # "If an attribute is removed [...] and is defined as [...] a read-only attribute, the server SHALL
    # return [...] "mutability"": whether or not the document given to the engine holds it (the store
    # keeps id and meta outside the document, and groups come from the membership index).
    user = {key: value for key, value in BJENSEN.items() if key not in ("id", "meta", "groups")}
    with pytest.raises(Mutability, match="readOnly"):
        patch_user({"op": "remove", "path": path}, user=user)


def test_remove_a_sub_attribute_from_every_value() -> None:
    result = patch_user({"op": "remove", "path": "addresses.locality"})
    assert [address.get("locality") for address in result.resource["addresses"]] == [None, None]
