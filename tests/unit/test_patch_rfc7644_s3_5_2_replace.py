"""RFC 7644 §3.5.2.3: the "replace" operation, with the RFC's examples.

Resources are the RFC 7643 §8 examples (the full User of §8.2, the Group of §8.4), cut down.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.errors import Mutability, NoTarget
from core.patch import PatchResult, apply_patch
from core.schema import ENTERPRISE_USER, ENTERPRISE_USER_SCHEMA, GROUP, GROUP_SCHEMA, USER, USER_SCHEMA

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMAS = (USER, ENTERPRISE_USER)
BABS = "2819c223-7f76-453a-919d-413861904646"
MANDY = "902c246b-6245-4190-8e05-00816be7344a"
JAMES = "08e1d05d-121c-4561-8b96-473d93df9210"
MANAGER = "26118915-6090-4610-87e4-49d8ca9f808d"

BJENSEN: dict[str, Any] = {
    "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
    "id": BABS,
    "userName": "bjensen@example.com",
    "name": {"familyName": "Jensen", "givenName": "Barbara"},
    "displayName": "Babs Jensen",
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "addresses": [
        {
            "type": "work",
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "USA",
            "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
            "primary": True,
        },
        {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"},
    ],
    "active": True,
    "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides", "type": "direct"}],
    ENTERPRISE_USER_SCHEMA: {
        "employeeNumber": "701984",
        "manager": {"value": MANAGER, "$ref": f"../Users/{MANAGER}", "displayName": "John Smith"},
    },
    "meta": {"resourceType": "User", "lastModified": "2011-05-13T04:42:34Z"},
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


def patch_user(*operations: dict[str, Any]) -> PatchResult:
    before = copy.deepcopy(BJENSEN)
    result = apply_patch(BJENSEN, request(*operations), USER_SCHEMAS)
    assert before == BJENSEN
    return result


def patch_group(*operations: dict[str, Any]) -> PatchResult:
    return apply_patch(TOUR_GUIDES, request(*operations), (GROUP,))


# --- §3.5.2.3 examples ----------------------------------------------------------------------------


def test_s3_5_2_3_example_replace_all_members() -> None:
    # "The following example shows how to replace all of the members of a group with a different
    # members list." "If the target location is a multi-valued attribute and no filter is specified,
    # the attribute and all values are replaced."
    members = [
        {"display": "Babs Jensen", "$ref": f"https://example.com/v2/Users/{BABS}", "value": BABS},
        {"display": "James Smith", "$ref": f"https://example.com/v2/Users/{JAMES}", "value": JAMES},
    ]
    result = patch_group({"op": "replace", "path": "members", "value": members})
    assert result.resource["members"] == members
    assert result.changed == {"members"}


def test_s3_5_2_3_example_replace_the_work_address() -> None:
    # "The following example shows how to change a User's entire "work" address, using a "valuePath"
    # filter." "then all matching record values SHALL be replaced."
    address = {
        "type": "work",
        "streetAddress": "911 Universal City Plaza",
        "locality": "Hollywood",
        "region": "CA",
        "postalCode": "91608",
        "country": "US",
        "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
        "primary": True,
    }
    result = patch_user({"op": "replace", "path": 'addresses[type eq "work"]', "value": address})
    assert result.resource["addresses"] == [address, BJENSEN["addresses"][1]]
    assert result.changed == {"addresses"}


def test_s3_5_2_3_example_replace_a_sub_attribute_of_the_work_address() -> None:
    # "The following example shows how to change a specific sub-attribute "streetAddress" of complex
    # attribute "emails" selected by a "valuePath" filter". "the matching sub-attribute of all
    # matching records is replaced."
    result = patch_user(
        {"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "1010 Broadway Ave"}
    )
    work, home = result.resource["addresses"]
    assert work == {**BJENSEN["addresses"][0], "streetAddress": "1010 Broadway Ave"}
    assert home == BJENSEN["addresses"][1]


def test_s3_5_2_3_example_replace_without_path() -> None:
    # "The following example shows how to replace all values of one or more specific attributes of a
    # User resource." "If the "path" parameter is omitted, the target is assumed to be the resource
    # itself. In this case, the "value" attribute SHALL contain a list of one or more attributes that
    # are to be replaced."
    emails = [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ]
    result = patch_user({"op": "replace", "value": {"emails": emails, "nickname": "Babs"}})
    assert result.resource["emails"] == emails
    assert result.resource["nickName"] == "Babs"
    assert result.changed == {"nickName"}


# --- the other targets --------------------------------------------------------------------------


def test_replace_a_single_valued_attribute() -> None:
    # "If the target location is a single-value attribute, the attributes value is replaced."
    result = patch_user({"op": "replace", "path": "userName", "value": "babs@example.com"})
    assert result.resource["userName"] == "babs@example.com"
    assert result.changed == {"userName"}


def test_replace_with_the_current_value_is_no_change() -> None:
    result = patch_user({"op": "replace", "path": "displayName", "value": "Babs Jensen"})
    assert result.resource == BJENSEN
    assert result.changed == frozenset()


def test_replace_an_attribute_without_value_adds_it() -> None:
    # "If the target location path specifies an attribute that does not exist, the service provider
    # SHALL treat the operation as an "add"."
    result = patch_user({"op": "replace", "path": "title", "value": "Tour Guide"})
    assert result.resource["title"] == "Tour Guide"


def test_replace_a_complex_attribute_keeps_unspecified_sub_attributes() -> None:
    # "a set of sub-attributes SHALL be specified in the "value" parameter, which replaces any existing
    # values or adds where an attribute did not previously exist. Sub-attributes that are not specified
    # in the "value" parameter are left unchanged."
    result = patch_user({"op": "replace", "path": "name", "value": {"givenName": "Babs", "middleName": "J"}})
    assert result.resource["name"] == {"familyName": "Jensen", "givenName": "Babs", "middleName": "J"}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "name", "value": {}},
        {"op": "replace", "value": {"name": {}}},
        {"op": "replace", "path": f"{ENTERPRISE_USER_SCHEMA}:manager", "value": {}},
    ],
)
def test_s3_5_2_3_replace_of_a_complex_attribute_with_no_sub_attributes_changes_nothing(
    operation: dict[str, Any],
) -> None:
    # "Sub-attributes that are not specified in the "value" parameter are left unchanged": with none
    # specified, every sub-attribute is left as it is; the attribute is not removed.
    result = patch_user(operation)
    assert result.resource["name"] == BJENSEN["name"]
    assert result.resource[ENTERPRISE_USER_SCHEMA] == BJENSEN[ENTERPRISE_USER_SCHEMA]
    assert result.changed == frozenset()


def test_replace_a_reference_with_another_drops_what_described_the_old_one() -> None:
    # A manager with another "value" is another user: the old "$ref" and "displayName" do not carry over.
    result = patch_user(
        {"op": "replace", "path": f"{ENTERPRISE_USER_SCHEMA}:manager", "value": {"value": JAMES}}
    )
    assert result.resource[ENTERPRISE_USER_SCHEMA]["manager"] == {"value": JAMES}
    assert result.changed == {f"{ENTERPRISE_USER_SCHEMA}:manager"}


@pytest.mark.parametrize(
    "manager",
    [
        {"value": MANAGER, "displayName": "Someone Else"},  # merged into the current manager
        {"value": JAMES, "displayName": "James"},  # replaces it: another reference
    ],
)
def test_s3_5_2_replace_of_a_read_only_sub_attribute_in_a_value_is_refused(manager: dict[str, Any]) -> None:
    # manager.displayName is readOnly (RFC 7643 §8.7.1), and RFC 7644 §3.5.2 says a client "MUST NOT
    # modify" one. It used to be dropped silently; no IdP sends it (docs/scim.md).
    with pytest.raises(Mutability, match=r"manager\.displayName"):
        patch_user({"op": "replace", "path": f"{ENTERPRISE_USER_SCHEMA}:manager", "value": manager})


def test_a_read_only_sub_attribute_given_its_own_value_is_no_change() -> None:
    manager = {"value": MANAGER, "displayName": "John Smith"}
    result = patch_user({"op": "replace", "path": f"{ENTERPRISE_USER_SCHEMA}:manager", "value": manager})
    assert result.changed == frozenset()


def test_replace_the_primary_value_demotes_the_others() -> None:
    # RFC 7644 §3.5.2: "a PATCH operation that sets a value's "primary" sub-attribute to "true" SHALL
    # cause the server to automatically set "primary" to "false" for any other values in the array."
    result = patch_user({"op": "replace", "path": 'emails[type eq "home"].primary', "value": True})
    assert [email.get("primary") for email in result.resource["emails"]] == [False, True]


@pytest.mark.parametrize("value", [None, [], {}])
def test_replace_with_an_empty_value_unassigns(value: Any) -> None:
    # RFC 7644 §3.5.2.3 is silent; RFC 7643 §2.5 makes null and [] "equivalent in "state"" to unassigned.
    result = patch_user({"op": "replace", "path": "emails", "value": value})
    assert "emails" not in result.resource
    assert result.changed == {"emails"}


def test_s3_5_2_3_a_filter_that_selects_nothing_is_no_target() -> None:
    # "If the target location is a multi-valued attribute for which a value selection filter
    # ("valuePath") has been supplied and no record match was made, the service provider SHALL indicate
    # failure by returning HTTP status code 400 and a "scimType" error code of "noTarget"."
    with pytest.raises(NoTarget) as caught:
        patch_user({"op": "replace", "path": 'emails[value eq "nobody@example.com"].type', "value": "other"})
    assert caught.value.scim_type == "noTarget"


# --- mutability -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("id", "another-id"),
        ("meta.lastModified", "2020-01-01T00:00:00Z"),
        ("groups", []),
        ('groups[type eq "direct"].display', "Guides"),
        (f"{ENTERPRISE_USER_SCHEMA}:manager.displayName", "Someone Else"),
    ],
)
def test_replace_of_a_read_only_attribute_is_refused(path: str, value: Any) -> None:
    # RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability "readOnly"".
    with pytest.raises(Mutability) as caught:
        patch_user({"op": "replace", "path": path, "value": value})
    assert caught.value.scim_type == "mutability"


def test_replace_of_a_read_only_attribute_with_its_own_value_is_no_change() -> None:
    result = patch_user({"op": "replace", "path": "id", "value": BABS})
    assert result.changed == frozenset()


@pytest.mark.parametrize(
    "value",
    [{"id": "another-id"}, {"id": "another-id", "displayName": "Babs"}, {"meta": {"resourceType": "Group"}}],
)
def test_s3_5_2_replace_without_path_of_a_read_only_attribute_is_refused(value: dict[str, Any]) -> None:
    # RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability "readOnly"", and the
    # whole request fails ("SHALL be treated as atomic"): displayName is not changed either.
    with pytest.raises(Mutability, match="readOnly") as caught:
        patch_user({"op": "replace", "value": value})
    assert caught.value.scim_type == "mutability"


def test_s3_5_2_replace_without_path_echoing_the_resources_own_id_is_accepted() -> None:
    # Okta's group rename echoes the resource's own id (test_patch_idp_quirks.py): the same value is
    # no modification.
    result = patch_user({"op": "replace", "value": {"id": BABS, "displayName": "Babs"}})
    assert result.resource["id"] == BABS
    assert result.changed == {"displayName"}


def test_replace_of_an_immutable_sub_attribute_is_refused() -> None:
    # RFC 7643 §4.2: "sub-attributes of members are "immutable"."
    with pytest.raises(Mutability, match=r"members\.display"):
        patch_group({"op": "replace", "path": f'members[value eq "{BABS}"].display', "value": "B. Jensen"})
    with pytest.raises(Mutability, match="immutable"):
        patch_group(
            {"op": "replace", "path": f'members[value eq "{BABS}"]', "value": {"value": BABS, "display": "B"}}
        )


def test_replace_of_a_required_attribute_by_null_is_refused() -> None:
    with pytest.raises(Mutability, match="required"):
        patch_user({"op": "replace", "path": "userName", "value": None})


def test_replace_a_sub_attribute_of_every_value() -> None:
    result = patch_user({"op": "replace", "path": "addresses.country", "value": "US"})
    assert [address["country"] for address in result.resource["addresses"]] == ["US", "US"]


def test_replace_a_sub_attribute_of_a_multi_valued_attribute_without_values_adds_one() -> None:
    # "If the target location path specifies an attribute that does not exist, the service provider
    # SHALL treat the operation as an "add"."
    result = patch_user({"op": "replace", "path": "phoneNumbers.value", "value": "tel:+1-201-555-0123"})
    assert result.resource["phoneNumbers"] == [{"value": "tel:+1-201-555-0123"}]
