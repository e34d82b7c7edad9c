"""RFC 7644 §3.4.2.5 and §3.9 ("attributes", "excludedAttributes"), RFC 7643 §7 ("returned")."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.discovery import ServiceCapabilities
from core.resource import Projection, parse_attribute_list, project, wanted_attributes
from core.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP,
    GROUP_SCHEMA,
    USER_SCHEMA,
    AttributeDef,
    AttributeType,
    Returned,
    Schema,
)
from tests.unit.test_resource_normalize_rfc7643 import (
    RFC7643_S8_2_FULL_USER,
    RFC7643_S8_3_ENTERPRISE_USER,
)

USER_SCHEMAS = ServiceCapabilities().schemas_for("User")
GROUP_SCHEMAS = (GROUP,)
ENTERPRISE = ENTERPRISE_USER_SCHEMA

# The RFC 7643 §8.3 user as stored and as read back: password is in it only to prove it never leaves.
STORED_USER: dict[str, Any] = copy.deepcopy(RFC7643_S8_3_ENTERPRISE_USER)
# §8.3 manager.displayName is readOnly and returned default: present when read back.
FULL_OUTPUT: dict[str, Any] = {k: v for k, v in STORED_USER.items() if k != "password"}

STORED_GROUP: dict[str, Any] = {
    "schemas": [GROUP_SCHEMA],
    "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
    "displayName": "Tour Guides",
    "members": [
        {"value": "2819c223-7f76-453a-919d-413861904646", "$ref": "../Users/2819c223", "display": "Babs"},
        {"value": "902c246b-6245-4190-8e05-00816be7344a", "type": "User"},
    ],
    "meta": {"resourceType": "Group", "version": 'W/"1"'},
}

# A schema with every "returned" value, on attributes and on sub-attributes.
GADGET_SCHEMA = "urn:example:params:scim:schemas:test:2.0:Gadget"
GADGET = Schema(
    id=GADGET_SCHEMA,
    name="Gadget",
    description="Every returned characteristic",
    attributes=(
        AttributeDef(name="serial", returned=Returned.ALWAYS),
        AttributeDef(name="label"),
        AttributeDef(name="secret", returned=Returned.NEVER),
        AttributeDef(name="audit", returned=Returned.REQUEST),
        AttributeDef(
            name="spec",
            type=AttributeType.COMPLEX,
            sub_attributes=(
                AttributeDef(name="model", returned=Returned.ALWAYS),
                AttributeDef(name="colour"),
                AttributeDef(name="pin", returned=Returned.NEVER),
                AttributeDef(name="cost", returned=Returned.REQUEST),
            ),
        ),
        AttributeDef(
            name="core",
            type=AttributeType.COMPLEX,
            returned=Returned.ALWAYS,
            sub_attributes=(AttributeDef(name="a"), AttributeDef(name="b", returned=Returned.REQUEST)),
        ),
    ),
)
GADGET_SCHEMAS = (GADGET,)
GADGET_RESOURCE: dict[str, Any] = {
    "schemas": [GADGET_SCHEMA],
    "id": "g1",
    "serial": "S-1",
    "label": "L",
    "secret": "hidden",
    "audit": "trail",
    "spec": {"model": "M", "colour": "red", "pin": "0000", "cost": 9},
    "core": {"a": 1, "b": 2},
}


# --- parse_attribute_list --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "paths"),
    [
        (None, []),
        ("", []),
        ("userName", ["userName"]),
        (" userName , emails.value ,, ", ["userName", "emails.value"]),
        ("userName,USERNAME,UserName", ["userName"]),
        (["userName", "name.givenName,emails"], ["userName", "name.givenName", "emails"]),
        (
            f"{ENTERPRISE}:manager.value,{USER_SCHEMA}:userName",
            [f"{ENTERPRISE}:manager.value", f"{USER_SCHEMA}:userName"],
        ),
    ],
)
def test_parse_attribute_list(value: Any, paths: list[str]) -> None:
    assert parse_attribute_list(value) == paths


# --- RFC 7643 §7 "returned" with no parameters ---------------------------------------------------


def test_s7_no_parameters_return_the_default_set_without_password() -> None:
    """ "never": "The attribute is never returned." The rest of §8.3 is returned as stored."""
    assert project(STORED_USER, USER_SCHEMAS) == FULL_OUTPUT


def test_s7_projection_does_not_change_its_input() -> None:
    before = copy.deepcopy(STORED_USER)

    out = project(STORED_USER, USER_SCHEMAS, attributes=["name.givenName"])
    out["name"]["givenName"] = "changed"

    assert before == STORED_USER


def test_s7_every_returned_characteristic_by_default() -> None:
    assert project(GADGET_RESOURCE, GADGET_SCHEMAS) == {
        "schemas": [GADGET_SCHEMA],
        "id": "g1",
        "serial": "S-1",
        "label": "L",
        "spec": {"model": "M", "colour": "red"},
        "core": {"a": 1},
    }


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        pytest.param("label", {"label": "L"}, id="default-named"),
        pytest.param("audit", {"audit": "trail"}, id="request-named"),
        pytest.param("secret", {}, id="never-named"),
        pytest.param("spec", {"spec": {"model": "M", "colour": "red"}}, id="parent-named"),
        pytest.param("spec.cost", {"spec": {"model": "M", "cost": 9}}, id="request-sub-named"),
        pytest.param("spec.pin", {"spec": {"model": "M"}}, id="never-sub-named"),
        pytest.param("core.b", {"core": {"b": 2}}, id="always-parent-request-sub"),
        pytest.param("core", {"core": {"a": 1}}, id="always-parent-named"),
    ],
)
def test_s7_returned_characteristics_with_attributes(attributes: str, expected: dict[str, Any]) -> None:
    """ "always" is returned whatever "attributes" says; "request" only when named; "never" never."""
    minimum = {"schemas": [GADGET_SCHEMA], "id": "g1", "serial": "S-1", "core": {"a": 1}}

    assert project(GADGET_RESOURCE, GADGET_SCHEMAS, attributes=attributes) == {**minimum, **expected}


@pytest.mark.parametrize("excluded", ["serial", "id", "spec.model", "core", "schemas"])
def test_s3_4_2_5_excluded_has_no_effect_on_always(excluded: str) -> None:
    """ "This parameter SHALL have no effect on attributes whose schema "returned" setting is "always"."""
    assert project(GADGET_RESOURCE, GADGET_SCHEMAS, excluded=excluded) == project(
        GADGET_RESOURCE, GADGET_SCHEMAS
    )


def test_s7_password_is_never_returned_even_when_asked_for() -> None:
    for options in ({"attributes": "password"}, {"attributes": f"{USER_SCHEMA}:password"}, {}):
        assert "password" not in project(STORED_USER, USER_SCHEMAS, **options)
    assert wanted_attributes(USER_SCHEMAS, attributes="password").needs("password") is False


# --- RFC 7644 §3.4.2.5 "attributes" ------------------------------------------------------------------

MINIMUM = {"schemas": STORED_USER["schemas"], "id": STORED_USER["id"]}


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        pytest.param("userName", {"userName": "bjensen@example.com"}, id="simple"),
        pytest.param("USERNAME", {"userName": "bjensen@example.com"}, id="case-insensitive"),
        pytest.param(f"{USER_SCHEMA}:userName", {"userName": "bjensen@example.com"}, id="core-urn"),
        pytest.param("name.givenName", {"name": {"givenName": "Barbara"}}, id="sub-attribute"),
        pytest.param("Name.GivenName", {"name": {"givenName": "Barbara"}}, id="sub-attribute-case"),
        pytest.param(
            "emails.value",
            {"emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]},
            id="multi-valued-sub-attribute",
        ),
        pytest.param(
            "name.givenName,name", {"name": RFC7643_S8_2_FULL_USER["name"]}, id="whole-attribute-wins"
        ),
        pytest.param(
            "meta.lastModified", {"meta": {"lastModified": "2011-05-13T04:42:34Z"}}, id="meta-sub-attribute"
        ),
        pytest.param(
            f"{ENTERPRISE}:manager.value",
            {ENTERPRISE: {"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}},
            id="extension-sub-attribute",
        ),
        pytest.param(
            f"{ENTERPRISE.upper()}:EMPLOYEENUMBER",
            {ENTERPRISE: {"employeeNumber": "701984"}},
            id="extension-case-insensitive",
        ),
        pytest.param(ENTERPRISE, {ENTERPRISE: STORED_USER[ENTERPRISE]}, id="whole-extension-urn"),
        pytest.param("favouriteColour,userName", {"userName": "bjensen@example.com"}, id="unknown-ignored"),
        pytest.param("favouriteColour", {}, id="only-unknown"),
        pytest.param('emails[type eq "work"].value', {}, id="filter-is-not-a-path"),
        pytest.param(
            ["userName", "displayName"],
            {"userName": "bjensen@example.com", "displayName": "Babs Jensen"},
            id="list",
        ),
    ],
)
def test_s3_4_2_5_attributes(attributes: Any, expected: dict[str, Any]) -> None:
    """ "each resource returned MUST contain the minimum set of resource attributes and any attributes
    or sub-attributes explicitly requested by the "attributes" parameter" (§3.9)."""
    assert project(STORED_USER, USER_SCHEMAS, attributes=attributes) == {**MINIMUM, **expected}


def test_s3_4_2_5_attributes_do_not_return_meta_unless_named() -> None:
    """meta is "returned" default (RFC 7643 §3.1 gives no other value); id is "always"."""
    out = project(STORED_USER, USER_SCHEMAS, attributes="userName")

    assert "meta" not in out
    assert out["id"] == STORED_USER["id"]


def test_s3_4_2_5_schemas_is_kept_unchanged_when_the_extension_is_not_returned() -> None:
    out = project(STORED_USER, USER_SCHEMAS, attributes="userName")

    assert ENTERPRISE not in out
    assert out["schemas"] == [USER_SCHEMA, ENTERPRISE]


def test_s3_4_2_5_attributes_win_over_excluded() -> None:
    both = project(STORED_USER, USER_SCHEMAS, attributes="userName", excluded="userName")

    assert both == project(STORED_USER, USER_SCHEMAS, attributes="userName")


# --- RFC 7644 §3.4.2.5 "excludedAttributes" ------------------------------------------------------------


def without(*keys: str) -> dict[str, Any]:
    return {k: v for k, v in FULL_OUTPUT.items() if k not in keys}


@pytest.mark.parametrize(
    ("excluded", "expected"),
    [
        pytest.param("emails", without("emails"), id="attribute"),
        pytest.param("EMAILS,phoneNumbers", without("emails", "phoneNumbers"), id="case-insensitive"),
        pytest.param("meta", without("meta"), id="meta"),
        pytest.param("groups", without("groups"), id="read-only"),
        pytest.param(
            "name.givenName",
            {**FULL_OUTPUT, "name": {k: v for k, v in FULL_OUTPUT["name"].items() if k != "givenName"}},
            id="sub-attribute",
        ),
        pytest.param(
            "emails.value",
            {**FULL_OUTPUT, "emails": [{"type": "work", "primary": True}, {"type": "home"}]},
            id="multi-valued-sub-attribute",
        ),
        pytest.param(
            "x509Certificates.value", without("x509Certificates"), id="values-left-empty-are-dropped"
        ),
        pytest.param(ENTERPRISE, without(ENTERPRISE), id="whole-extension"),
        pytest.param(
            f"{ENTERPRISE}:manager",
            {**FULL_OUTPUT, ENTERPRISE: {k: v for k, v in FULL_OUTPUT[ENTERPRISE].items() if k != "manager"}},
            id="extension-attribute",
        ),
        pytest.param(
            f"{ENTERPRISE}:manager.displayName",
            {
                **FULL_OUTPUT,
                ENTERPRISE: {
                    **FULL_OUTPUT[ENTERPRISE],
                    "manager": {
                        "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                        "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
                    },
                },
            },
            id="extension-sub-attribute",
        ),
        pytest.param("members,favouriteColour", FULL_OUTPUT, id="unknown-ignored"),
    ],
)
def test_s3_4_2_5_excluded_attributes(excluded: str, expected: dict[str, Any]) -> None:
    """ "the default set of attributes minus those attributes listed in "excludedAttributes" is
    returned" (§3.9)."""
    assert project(STORED_USER, USER_SCHEMAS, excluded=excluded) == expected


def test_s3_4_2_5_excluding_the_whole_extension_keeps_schemas() -> None:
    out = project(STORED_USER, USER_SCHEMAS, excluded=ENTERPRISE)

    assert out["schemas"] == [USER_SCHEMA, ENTERPRISE]


def test_s3_4_2_5_entra_excludes_members_on_groups() -> None:
    """Microsoft Entra ID reads groups with `excludedAttributes=members`."""
    out = project(STORED_GROUP, GROUP_SCHEMAS, excluded="members")

    assert out == {k: v for k, v in STORED_GROUP.items() if k != "members"}


def test_keys_no_schema_defines_are_dropped() -> None:
    resource = {**STORED_GROUP, "tenant": "acme", "urn:example:other:2.0:Group": {"x": 1}}

    assert project(resource, GROUP_SCHEMAS) == STORED_GROUP


# --- idempotence --------------------------------------------------------------------------------------

OPTION_SETS: list[dict[str, Any]] = [
    {},
    {"attributes": "userName,name.givenName,emails.value"},
    {"attributes": f"{ENTERPRISE}:manager.value,meta.version"},
    {"excluded": "emails.value,groups,name.givenName"},
    {"excluded": f"{ENTERPRISE},meta"},
    {"attributes": "x509Certificates", "excluded": "userName"},
]


@pytest.mark.parametrize("options", OPTION_SETS)
def test_projection_is_idempotent(options: dict[str, Any]) -> None:
    once = project(STORED_USER, USER_SCHEMAS, **options)

    assert project(once, USER_SCHEMAS, **options) == once


@pytest.mark.parametrize(
    "options", [{}, {"attributes": "spec.cost,core.b,audit"}, {"excluded": "label,spec.colour"}]
)
def test_projection_is_idempotent_for_every_returned_characteristic(options: dict[str, Any]) -> None:
    once = project(GADGET_RESOURCE, GADGET_SCHEMAS, **options)

    assert project(once, GADGET_SCHEMAS, **options) == once


# --- wanted_attributes: what storage must read ----------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "path", "needed"),
    [
        pytest.param({}, "members", True, id="default"),
        pytest.param({"excluded": "members"}, "members", False, id="entra-excluded-members"),
        pytest.param({"excluded": "MEMBERS"}, "members", False, id="excluded-case-insensitive"),
        pytest.param({"excluded": "members.display"}, "members", True, id="excluded-sub-only"),
        pytest.param({"excluded": "members.display"}, "members.display", False, id="excluded-sub"),
        pytest.param({"attributes": "displayName"}, "members", False, id="not-requested"),
        pytest.param({"attributes": "members.value"}, "members", True, id="sub-requested"),
        pytest.param({"attributes": "members.value"}, "members.value", True, id="sub-requested-sub"),
        pytest.param({"attributes": "members.value"}, "members.display", False, id="other-sub"),
        pytest.param({"attributes": "displayName"}, "id", True, id="always"),
        pytest.param({}, "favouriteColour", False, id="unknown"),
    ],
)
def test_wanted_attributes_needs(options: dict[str, Any], path: str, needed: bool) -> None:
    assert wanted_attributes(GROUP_SCHEMAS, **options).needs(path) is needed


def test_wanted_attributes_for_users_groups_and_extension() -> None:
    projection = wanted_attributes(USER_SCHEMAS, attributes=["userName", f"{ENTERPRISE}:manager"])

    assert isinstance(projection, Projection)
    assert projection.needs("groups") is False
    assert projection.needs("userName") is True
    assert projection.needs(f"{ENTERPRISE}:manager.value") is True
    assert projection.needs(f"{ENTERPRISE}:department") is False
    assert wanted_attributes(USER_SCHEMAS, excluded="groups").needs("groups") is False


def test_a_projection_applies_to_many_resources() -> None:
    projection = wanted_attributes(USER_SCHEMAS, attributes="userName")
    second = {**STORED_USER, "id": "2", "userName": "sven"}

    assert [projection.apply(r)["userName"] for r in (STORED_USER, second)] == ["bjensen@example.com", "sven"]


def test_a_projection_needs_a_schema() -> None:
    with pytest.raises(ValueError, match="core schema"):
        Projection(())
