"""RFC 7644 §3.5.2 (the PatchOp request) and §3.5.2.1 (the "add" operation), with the RFC's examples.

Resources are the RFC 7643 §8 examples (the full User of §8.2, the Group of §8.4), cut down.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.errors import InvalidFilter, InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget
from core.patch import PatchResult, apply_patch
from core.schema import (
    ENTERPRISE_USER,
    ENTERPRISE_USER_SCHEMA,
    GROUP,
    GROUP_SCHEMA,
    USER,
    USER_SCHEMA,
    AttributeDef,
    Schema,
)
from core.schema import Mutability as Mut

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMAS = (USER, ENTERPRISE_USER)
BABS = "2819c223-7f76-453a-919d-413861904646"
MANDY = "902c246b-6245-4190-8e05-00816be7344a"

# RFC 7643 §8.2, without the attributes these tests do not need.
BJENSEN: dict[str, Any] = {
    "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
    "id": BABS,
    "externalId": "701984",
    "userName": "bjensen@example.com",
    "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara"},
    "displayName": "Babs Jensen",
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
    "addresses": [
        {
            "type": "work",
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "USA",
            "primary": True,
        }
    ],
    "active": True,
    ENTERPRISE_USER_SCHEMA: {"employeeNumber": "701984", "department": "Tour Operations"},
    "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
        "version": 'W/"3694e05e9dff591"',
    },
}

# RFC 7643 §8.4, with one member.
TOUR_GUIDES: dict[str, Any] = {
    "schemas": [GROUP_SCHEMA],
    "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
    "displayName": "Tour Guides",
    "members": [
        {
            "value": MANDY,
            "$ref": f"https://example.com/v2/Users/{MANDY}",
            "display": "Mandy Pepperidge",
        }
    ],
}


def request(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def patch_user(*operations: dict[str, Any], user: dict[str, Any] = BJENSEN) -> PatchResult:
    before = copy.deepcopy(user)
    result = apply_patch(user, request(*operations), USER_SCHEMAS)
    assert user == before, "the input resource must never be modified"
    return result


def patch_group(*operations: dict[str, Any]) -> PatchResult:
    return apply_patch(TOUR_GUIDES, request(*operations), (GROUP,))


# --- §3.5.2.1 examples ----------------------------------------------------------------------------


def test_s3_5_2_1_example_add_a_member_to_a_group() -> None:
    # RFC 7644 §3.5.2.1: "The following example shows how to add a member to a group."
    result = patch_group(
        {
            "op": "add",
            "path": "members",
            "value": [
                {
                    "display": "Babs Jensen",
                    "$ref": f"https://example.com/v2/Users/{BABS}",
                    "value": BABS,
                }
            ],
        }
    )
    assert [member["value"] for member in result.resource["members"]] == [MANDY, BABS]
    assert result.changed == {"members"}


def test_s3_5_2_1_example_add_without_path() -> None:
    # RFC 7644 §3.5.2.1: "an additional value is added to the multi-valued attribute "emails". The
    # second attribute, "nickname", is added to the User resource." The RFC spells it "nickname".
    result = patch_user(
        {
            "op": "add",
            "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"},
        }
    )
    assert result.resource["emails"] == [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ]
    assert result.resource["nickName"] == "Babs"
    assert "nickname" not in result.resource
    assert result.changed == {"emails", "nickName"}


def test_add_replaces_an_existing_single_valued_attribute() -> None:
    # "If the target location specifies a single-valued attribute, the existing value is replaced."
    result = patch_user({"op": "add", "path": "displayName", "value": "Barbara Jensen"})
    assert result.resource["displayName"] == "Barbara Jensen"
    assert result.changed == {"displayName"}


def test_add_an_attribute_that_has_no_value() -> None:
    # "If the target location specifies an attribute that does not exist (has no value), the
    # attribute is added with the new value."
    result = patch_user({"op": "add", "path": "title", "value": "Tour Guide"})
    assert result.resource["title"] == "Tour Guide"
    assert result.changed == {"title"}


def test_add_the_value_already_there_changes_nothing() -> None:
    # "If the target location already contains the value specified, no changes SHOULD be made to the
    # resource [...] this operation SHALL NOT change the modify timestamp of the resource."
    result = patch_group({"op": "add", "path": "members", "value": copy.deepcopy(TOUR_GUIDES["members"])})
    assert result.resource == TOUR_GUIDES
    assert result.changed == frozenset()


def test_add_a_complex_value_merges_its_sub_attributes() -> None:
    # "If the target location specifies a complex attribute, a set of sub-attributes SHALL be
    # specified in the "value" parameter."
    result = patch_user({"op": "add", "path": "name", "value": {"middleName": "Jane"}})
    assert result.resource["name"] == {
        "formatted": "Ms. Barbara J Jensen, III",
        "familyName": "Jensen",
        "givenName": "Barbara",
        "middleName": "Jane",
    }


def test_add_a_sub_attribute_creates_the_complex_attribute() -> None:
    user = {key: value for key, value in BJENSEN.items() if key != "name"}
    result = patch_user({"op": "add", "path": "name.givenName", "value": "Barbara"}, user=user)
    assert result.resource["name"] == {"givenName": "Barbara"}
    assert result.changed == {"name"}


@pytest.mark.parametrize(
    "path",
    [
        "urn:ietf:params:scim:schemas:core:2.0:User:name.honorificSuffix",
        "NAME.HONORIFICSUFFIX",
    ],
)
def test_add_with_a_qualified_or_differently_cased_path(path: str) -> None:
    # RFC 7644 §3.10 (fully qualified names) and RFC 7643 §2.1 ("Attribute names are case insensitive").
    result = patch_user({"op": "add", "path": path, "value": "III"})
    assert result.resource["name"]["honorificSuffix"] == "III"


def test_add_an_extension_attribute_creates_the_extension() -> None:
    user = {key: value for key, value in BJENSEN.items() if key != ENTERPRISE_USER_SCHEMA}
    user["schemas"] = [USER_SCHEMA]
    result = patch_user(
        {"op": "add", "path": f"{ENTERPRISE_USER_SCHEMA}:costCenter", "value": "4130"}, user=user
    )
    assert result.resource[ENTERPRISE_USER_SCHEMA] == {"costCenter": "4130"}
    assert result.resource["schemas"] == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]
    assert result.changed == {f"{ENTERPRISE_USER_SCHEMA}:costCenter"}


def test_add_without_path_with_an_extension_object() -> None:
    # RFC 7643 §3.3: extension attributes sit in an object under the extension's URN.
    result = patch_user({"op": "add", "value": {ENTERPRISE_USER_SCHEMA: {"division": "Theme Park"}}})
    assert result.resource[ENTERPRISE_USER_SCHEMA] == {
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "division": "Theme Park",
    }
    assert result.changed == {f"{ENTERPRISE_USER_SCHEMA}:division"}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        *((path, value) for path in ("userName", "emails", "name", "manager") for value in (None, [], {})),
        ("emails", [None]),
        ("emails", [{}]),
        ("name", {"givenName": None}),
    ],
)
def test_s3_5_2_1_add_of_a_null_or_empty_value_is_refused(path: str, value: Any) -> None:
    # RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array [...] SHALL be considered
    # to be equivalent in "state"": null is no value. §3.5.2.1: "The operation MUST contain a "value"
    # member whose content specifies the value to be added." So it is refused as a missing "value" is,
    # never answered 200 with nothing done.
    with pytest.raises(InvalidValue, match="no value") as caught:
        patch_user(
            {
                "op": "add",
                "path": path.replace("manager", f"{ENTERPRISE_USER_SCHEMA}:manager"),
                "value": value,
            }
        )
    assert caught.value.scim_type == "invalidValue"


@pytest.mark.parametrize("value", [{"userName": None}, {"emails": []}, {"name": {}}, {}])
def test_s3_5_2_1_add_without_path_of_a_null_attribute_is_refused(value: dict[str, Any]) -> None:
    # The same rule for each attribute of a path-less "value" ("a set of attributes to be added").
    with pytest.raises(InvalidValue, match="no value"):
        patch_user({"op": "add", "value": value})


@pytest.mark.parametrize("op", ["add", "replace", "remove"])
@pytest.mark.parametrize("path", ["", " ", "\t"])
def test_s3_5_2_a_blank_path_is_invalid_path(op: str, path: str) -> None:
    # Figure 7: a path is attrPath or valuePath; a blank string is neither. It used to be taken as an
    # omitted path (a remove then answered noTarget), a tolerance no IdP needs (docs/scim.md).
    with pytest.raises(InvalidPath, match="blank") as caught:
        patch_user({"op": op, "path": path, "value": {"title": "Guide"}})
    assert caught.value.scim_type == "invalidPath"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("emails", {"value": "babs@example.org"}),  # one object for an array
        ("emails", "babs@example.org"),  # a bare string for a complex value
        ("name", [{"givenName": "Babs"}]),  # an array for one object
        ('addresses[type eq "work"]', [{"locality": "Burbank"}]),
        ("x509Certificates", {"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}),
    ],
)
def test_s3_5_2_a_value_of_the_wrong_shape_is_invalid_value(path: str, value: Any) -> None:
    # RFC 7643 §2.4: a multi-valued attribute's value is an array; §2.3.8: a complex one an object.
    # The wrapping and unwrapping this used to do served no IdP (Oracle IDCS documents the one-element
    # array); only Entra's bare manager id stays (test_patch_idp_quirks.py).
    with pytest.raises(InvalidValue) as caught:
        patch_user({"op": "add", "path": path, "value": value})
    assert caught.value.scim_type == "invalidValue"


@pytest.mark.parametrize("op", ["add", "replace"])
def test_s3_5_2_1_a_value_filter_as_a_key_of_a_path_less_value_is_invalid_path(op: str) -> None:
    # §3.5.2.1: without "path", the "value" "contains a set of attributes". Entra's dotted and
    # URN-qualified keys are attribute names (test_patch_idp_quirks.py); a value filter is not one,
    # and no IdP sends it as a key (Entra sends it as a "path").
    with pytest.raises(InvalidPath, match="value filter"):
        patch_user({"op": op, "value": {'emails[type eq "work"].value': "babs@example.com"}})


def test_s3_5_2_add_of_another_id_is_refused() -> None:
    # RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability "readOnly""; §3.12
    # "mutability": "The attempted modification is not compatible with the target attribute's
    # mutability". "id" is readOnly (RFC 7643 §3.1).
    for operation in (
        {"op": "add", "value": {"id": "another-id"}},
        {"op": "add", "value": {"id": "another-id", "title": "Tour Guide"}},
        {"op": "add", "path": "id", "value": "another-id"},
    ):
        with pytest.raises(Mutability, match="'id' is readOnly") as caught:
            patch_user(operation)
        assert caught.value.scim_type == "mutability"


def test_s3_5_2_add_of_the_resources_own_id_changes_nothing() -> None:
    result = patch_user({"op": "add", "value": {"id": BABS, "title": "Tour Guide"}})
    assert result.resource["id"] == BABS
    assert result.changed == {"title"}


def test_s3_5_2_add_of_meta_is_refused() -> None:
    # "meta" is readOnly (RFC 7643 §3.1); the server keeps it, so a value for it is a modification.
    with pytest.raises(Mutability, match=r"'meta(\.resourceType)?' is readOnly"):
        patch_user({"op": "add", "value": {"meta": {"resourceType": "Group"}}})


def test_add_a_sub_attribute_to_the_values_a_filter_selects() -> None:
    result = patch_user({"op": "add", "path": 'addresses[type eq "work"].formatted', "value": "100 UCP"})
    assert result.resource["addresses"][0]["formatted"] == "100 UCP"
    assert result.resource["addresses"][0]["streetAddress"] == "100 Universal City Plaza"


def test_add_a_primary_value_demotes_the_previous_primary() -> None:
    # RFC 7644 §3.5.2: "a PATCH operation that sets a value's "primary" sub-attribute to "true" SHALL
    # cause the server to automatically set "primary" to "false" for any other values in the array."
    result = patch_user(
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "babs@jensen.org", "type": "home", "primary": True}],
        }
    )
    assert result.resource["emails"] == [
        {"value": "bjensen@example.com", "type": "work", "primary": False},
        {"value": "babs@jensen.org", "type": "home", "primary": True},
    ]


def test_add_to_an_immutable_sub_attribute_without_value_is_allowed() -> None:
    # RFC 7644 §3.5.2: "a client MAY "add" a value to an "immutable" attribute if the attribute had no
    # previous value." RFC 7643 §4.2: sub-attributes of members are immutable.
    group = copy.deepcopy(TOUR_GUIDES)
    del group["members"][0]["display"]
    result = apply_patch(
        group,
        request({"op": "add", "path": f'members[value eq "{MANDY}"].display', "value": "Mandy"}),
        (GROUP,),
    )
    assert result.resource["members"][0]["display"] == "Mandy"


def test_add_cannot_change_an_immutable_sub_attribute() -> None:
    with pytest.raises(Mutability, match=r"members\.display"):
        patch_group({"op": "add", "path": f'members[value eq "{MANDY}"].display', "value": "M. P."})


def test_add_cannot_change_a_read_only_attribute() -> None:
    # RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability "readOnly"".
    with pytest.raises(Mutability) as caught:
        patch_user({"op": "add", "path": "groups", "value": [{"value": "e9e30dba"}]})
    assert caught.value.scim_type == "mutability"


def test_add_needs_a_value_member() -> None:
    # §3.5.2.1: "The operation MUST contain a "value" member whose content specifies the value to be added."
    with pytest.raises(InvalidValue, match='needs a "value"'):
        patch_user({"op": "add", "path": "title"})


def test_add_a_non_object_to_a_complex_attribute_is_refused() -> None:
    with pytest.raises(InvalidValue, match="complex"):
        patch_user({"op": "add", "path": "name", "value": 42})


def test_add_without_path_needs_an_object() -> None:
    with pytest.raises(InvalidValue) as caught:
        patch_user({"op": "add", "value": ["Babs"]})
    assert caught.value.scim_type == "invalidValue"


def test_add_with_a_filter_that_selects_nothing_and_cannot_create() -> None:
    with pytest.raises(NoTarget):
        patch_user({"op": "add", "path": 'emails[value eq "nobody@example.com"].type', "value": "other"})


# --- §3.5.2: the request --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"Operations": [{"op": "add", "path": "title", "value": "x"}]},
        {"schemas": [USER_SCHEMA], "Operations": [{"op": "add", "path": "title", "value": "x"}]},
        {"schemas": PATCH_OP, "Operations": [{"op": "add", "path": "title", "value": "x"}]},
        {"schemas": [PATCH_OP]},
        {"schemas": [PATCH_OP], "Operations": []},
        {"schemas": [PATCH_OP], "Operations": {"op": "add", "path": "title", "value": "x"}},
        {"schemas": [PATCH_OP], "Operations": ["add"]},
        {"schemas": [PATCH_OP], "Operations": [{"path": "title", "value": "x"}]},
        {"schemas": [PATCH_OP], "Operations": [{"op": "merge", "path": "title", "value": "x"}]},
        {"schemas": [PATCH_OP], "Operations": [{"op": ["add"], "path": "title", "value": "x"}]},
    ],
    ids=[
        "no-schemas",
        "wrong-schema",
        "schemas-not-an-array",
        "no-operations",
        "empty-operations",
        "operations-not-an-array",
        "operation-not-an-object",
        "no-op",
        "unknown-op",
        "op-not-a-string",
    ],
)
def test_s3_5_2_malformed_requests_are_invalid_syntax(body: dict[str, Any]) -> None:
    # "The body of each request MUST contain the "schemas" attribute with the URI value of
    # "urn:ietf:params:scim:api:messages:2.0:PatchOp"" and "the attribute "Operations", whose value is
    # an array of one or more PATCH operations. Each PATCH operation object MUST have exactly one "op"
    # member, whose value [...] MAY be one of "add", "remove", or "replace"."
    with pytest.raises(InvalidSyntax) as caught:
        apply_patch(BJENSEN, body, USER_SCHEMAS)
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidSyntax"


def test_s3_5_2_the_schema_urn_is_compared_ignoring_case() -> None:
    body = {"schemas": [PATCH_OP.upper()], "Operations": [{"op": "add", "path": "title", "value": "x"}]}
    assert apply_patch(BJENSEN, body, USER_SCHEMAS).resource["title"] == "x"


def test_s3_5_2_too_many_operations() -> None:
    # A bound of this service, reported as a 400 "invalidValue" ("tooMany" is for filters).
    operations = [{"op": "add", "path": "title", "value": str(i)} for i in range(4)]
    with pytest.raises(InvalidValue, match="at most 3 operations"):
        apply_patch(BJENSEN, request(*operations), USER_SCHEMAS, max_operations=3)
    assert (
        apply_patch(BJENSEN, request(*operations[:3]), USER_SCHEMAS, max_operations=3).resource["title"]
        == "2"
    )


def test_s3_5_2_operations_apply_in_order() -> None:
    result = patch_user(
        {"op": "add", "path": "title", "value": "first"},
        {"op": "replace", "path": "title", "value": "second"},
    )
    assert result.resource["title"] == "second"


def test_s3_5_2_a_patch_is_atomic() -> None:
    # "A PATCH request, regardless of the number of operations, SHALL be treated as atomic. If a
    # single operation encounters an error condition, the original SCIM resource MUST be restored".
    with pytest.raises(Mutability, match=r"^Operations\[2\] \(replace 'id'\)"):
        patch_user(
            {"op": "add", "path": "title", "value": "Guide"},
            {"op": "remove", "path": "emails"},
            {"op": "replace", "path": "id", "value": "another-id"},
        )


def test_s3_5_2_the_request_body_is_not_modified_or_shared() -> None:
    body = request({"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home"}]})
    before = copy.deepcopy(body)
    result = apply_patch(BJENSEN, body, USER_SCHEMAS)
    result.resource["emails"][1]["value"] = "changed@example.com"
    assert body == before


def test_s3_5_2_changes_that_cancel_out_are_no_change() -> None:
    result = patch_user(
        {"op": "replace", "path": "displayName", "value": "Someone Else"},
        {"op": "replace", "path": "displayName", "value": "Babs Jensen"},
    )
    assert result.changed == frozenset()


@pytest.mark.parametrize(
    "path",
    [
        "nickname.first",
        "bogus",
        f"{ENTERPRISE_USER_SCHEMA}:bogus",
        "urn:example:unknown:1.0:User:title",
        'emails[type eq "work"]value',
    ],
)
def test_s3_5_2_an_unknown_or_malformed_path_is_invalid_path(path: str) -> None:
    # RFC 7644 §3.12: "invalidPath: The "path" attribute was invalid or malformed (see Figure 7)."
    with pytest.raises(InvalidPath) as caught:
        patch_user({"op": "add", "path": path, "value": "x"})
    assert caught.value.scim_type == "invalidPath"


def test_s3_5_2_an_unknown_attribute_in_a_path_less_value_is_invalid_path() -> None:
    with pytest.raises(InvalidPath, match="bogus"):
        patch_user({"op": "add", "value": {"title": "x", "bogus": "y"}})


@pytest.mark.parametrize(
    "path",
    [
        "emails[]",
        "emails[type eq]",
        'emails[type eq "work" and].value',
        'emails[bogus eq "x"].value',
        "emails[primary gt 1]",
    ],
)
def test_s3_5_2_a_bad_value_filter_is_invalid_filter(path: str) -> None:
    # RFC 7644 §3.12 lists "invalidFilter" for "PATCH (Path Filter)".
    with pytest.raises(InvalidFilter) as caught:
        patch_user({"op": "add", "path": path, "value": "x"})
    assert caught.value.scim_type == "invalidFilter"


def test_s3_5_2_a_filter_on_a_single_valued_attribute_is_invalid_path() -> None:
    with pytest.raises(InvalidPath, match="not a multi-valued complex attribute"):
        patch_user({"op": "add", "path": 'name[givenName eq "Barbara"].familyName', "value": "x"})


def test_s3_5_2_an_immutable_attribute_can_be_added_but_not_changed() -> None:
    # "a client MAY "add" a value to an "immutable" attribute if the attribute had no previous value."
    badge = Schema(
        id="urn:example:params:scim:schemas:core:2.0:Badge",
        name="Badge",
        description="A test resource with an immutable attribute",
        attributes=(AttributeDef(name="serial", mutability=Mut.IMMUTABLE), AttributeDef(name="label")),
    )
    added = apply_patch(
        {"schemas": [badge.id]}, request({"op": "add", "path": "serial", "value": "A1"}), (badge,)
    )
    assert added.resource["serial"] == "A1"
    same = apply_patch(added.resource, request({"op": "add", "path": "serial", "value": "A1"}), (badge,))
    assert same.changed == frozenset()
    with pytest.raises(Mutability, match="immutable"):
        apply_patch(added.resource, request({"op": "add", "path": "serial", "value": "B2"}), (badge,))


def test_add_an_object_to_the_values_a_filter_selects_merges_it() -> None:
    result = patch_user({"op": "add", "path": 'addresses[type eq "work"]', "value": {"formatted": "100 UCP"}})
    assert result.resource["addresses"] == [{**BJENSEN["addresses"][0], "formatted": "100 UCP"}]


def test_add_an_object_through_a_filter_that_selects_nothing_creates_it() -> None:
    # Tolerance for Microsoft Entra ID and Okta (see test_patch_idp_quirks.py).
    result = patch_user(
        {"op": "add", "path": 'emails[type eq "home"]', "value": {"value": "babs@jensen.org"}}
    )
    assert result.resource["emails"][1] == {"type": "home", "value": "babs@jensen.org"}


def test_add_keeps_unknown_sub_attributes_for_the_normaliser() -> None:
    # The engine does not validate values; the normaliser that runs on the result refuses them.
    result = patch_user({"op": "add", "path": "name", "value": {"nickname": "Babs"}})
    assert result.resource["name"]["nickname"] == "Babs"


def test_s3_5_2_a_body_that_is_not_an_object_is_invalid_syntax() -> None:
    with pytest.raises(InvalidSyntax):
        apply_patch(BJENSEN, [{"op": "add", "path": "title", "value": "x"}], USER_SCHEMAS)  # type: ignore[arg-type]


def test_s3_5_2_a_path_that_is_not_a_string_is_invalid_path() -> None:
    with pytest.raises(InvalidPath, match='"path" must be a string'):
        patch_user({"op": "add", "path": ["title"], "value": "x"})


@pytest.mark.parametrize("path", ["name.bogus", 'emails[type eq "work"].bogus'])
def test_s3_5_2_an_unknown_sub_attribute_is_invalid_path(path: str) -> None:
    with pytest.raises(InvalidPath, match="bogus"):
        patch_user({"op": "add", "path": path, "value": "x"})


def test_s3_5_2_an_extension_key_needs_an_object() -> None:
    with pytest.raises(InvalidValue, match=ENTERPRISE_USER_SCHEMA):
        patch_user({"op": "add", "value": {ENTERPRISE_USER_SCHEMA: "701984"}})
