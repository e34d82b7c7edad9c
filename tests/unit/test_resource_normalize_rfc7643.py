"""RFC 7643 §2, §3, §7 and RFC 7644 §3.3, §3.5.1: client JSON → the canonical resource (normalize)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core import errors
from core.discovery import ServiceCapabilities
from core.resource import Limits, normalize_resource
from core.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP,
    GROUP_SCHEMA,
    USER_SCHEMA,
    AttributeDef,
    AttributeType,
    Mutability,
    Schema,
)
from tests.rfc_samples import RFC7643_S8_2_FULL_USER

USER_SCHEMAS = ServiceCapabilities().schemas_for("User")
GROUP_SCHEMAS = (GROUP,)
ENTERPRISE = ENTERPRISE_USER_SCHEMA

# --- RFC 7643 §8.2 and §8.3, verbatim ------------------------------------------------------------


# RFC 7643 §8.3 "Enterprise User Extension Representation": the §8.2 user with the extension.
RFC7643_S8_3_ENTERPRISE_USER: dict[str, Any] = {
    **copy.deepcopy(RFC7643_S8_2_FULL_USER),
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": {
            "value": "26118915-6090-4610-87e4-49d8ca9f808d",
            "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
            "displayName": "John Smith",
        },
    },
    "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
        "version": 'W/"3694e05e9dff591"',
        "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
    },
}

# Microsoft Entra ID's documented "Create User" request (Entra SCIM endpoint tutorial, User operations).
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
}

READ_ONLY_USER_KEYS = ("id", "meta", "groups")

# A core schema with one attribute of every RFC 7643 §2.3 type and an immutable attribute.
THING_SCHEMA = "urn:example:params:scim:schemas:test:2.0:Thing"
THING = Schema(
    id=THING_SCHEMA,
    name="Thing",
    description="Every attribute type",
    attributes=(
        AttributeDef(name="label", required=True),
        AttributeDef(name="enabled", type=AttributeType.BOOLEAN),
        AttributeDef(name="count", type=AttributeType.INTEGER),
        AttributeDef(name="ratio", type=AttributeType.DECIMAL),
        AttributeDef(name="since", type=AttributeType.DATE_TIME),
        AttributeDef(name="link", type=AttributeType.REFERENCE, reference_types=("external",)),
        AttributeDef(name="blob", type=AttributeType.BINARY),
        AttributeDef(name="tags", multi_valued=True),
        AttributeDef(name="badge", mutability=Mutability.IMMUTABLE),
        AttributeDef(name="serials", multi_valued=True, mutability=Mutability.IMMUTABLE),
        AttributeDef(
            name="origin",
            type=AttributeType.COMPLEX,
            sub_attributes=(
                AttributeDef(name="site", mutability=Mutability.IMMUTABLE),
                AttributeDef(name="note"),
            ),
        ),
        AttributeDef(
            name="parts",
            type=AttributeType.COMPLEX,
            multi_valued=True,
            sub_attributes=(
                AttributeDef(name="value", required=True),
                AttributeDef(name="primary", type=AttributeType.BOOLEAN),
            ),
        ),
    ),
)
THING_SCHEMAS = (THING,)


def user(**attributes: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "userName": "bjensen", **attributes}


def thing(**attributes: Any) -> dict[str, Any]:
    return {"schemas": [THING_SCHEMA], "label": "x", **attributes}


def create(doc: Any, schemas: Any = USER_SCHEMAS, **options: Any) -> dict[str, Any]:
    return normalize_resource(doc, schemas, mode="create", **options)


# --- RFC 7643 §8.2, §8.3: the RFC's own examples ---------------------------------------------------


def test_s8_2_full_user_keeps_every_writable_attribute() -> None:
    out = create(RFC7643_S8_2_FULL_USER)

    expected = {k: v for k, v in RFC7643_S8_2_FULL_USER.items() if k not in READ_ONLY_USER_KEYS}
    assert out == expected
    assert next(iter(out)) == "schemas"


def test_s8_3_enterprise_user_keeps_the_extension_under_its_urn() -> None:
    out = create(RFC7643_S8_3_ENTERPRISE_USER)

    assert out["schemas"] == [USER_SCHEMA, ENTERPRISE]
    assert out[ENTERPRISE] == {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        # "displayName" is readOnly (RFC 7643 §4.3, §8.7.1): ignored on input.
        "manager": {
            "value": "26118915-6090-4610-87e4-49d8ca9f808d",
            "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
        },
    }


@pytest.mark.parametrize("example", [RFC7643_S8_2_FULL_USER, RFC7643_S8_3_ENTERPRISE_USER])
def test_normalize_is_idempotent_and_leaves_its_input_alone(example: dict[str, Any]) -> None:
    before = copy.deepcopy(example)
    once = create(example)

    assert create(once) == once
    assert normalize_resource(once, USER_SCHEMAS, mode="replace", existing=once) == once
    assert example == before


# --- RFC 7643 §3: "schemas" ------------------------------------------------------------------------


@pytest.mark.parametrize("body", [[], "user", 42, None])
def test_s2_a_body_that_is_not_an_object_is_invalid_syntax(body: Any) -> None:
    with pytest.raises(errors.InvalidSyntax, match="JSON object"):
        create(body)


@pytest.mark.parametrize(
    "schemas",
    [
        pytest.param(None, id="null"),
        pytest.param([], id="empty"),
        pytest.param([ENTERPRISE], id="no-core"),
        pytest.param([GROUP_SCHEMA], id="other-core"),
        pytest.param([1], id="not-strings"),
        pytest.param({"a": USER_SCHEMA}, id="object"),
    ],
)
def test_s3_schemas_must_name_the_core_schema(schemas: Any) -> None:
    with pytest.raises(errors.InvalidSyntax, match='"schemas"'):
        create({"schemas": schemas, "userName": "bjensen"})


def test_s3_schemas_missing_is_invalid_syntax_even_on_put() -> None:
    with pytest.raises(errors.InvalidSyntax, match="required"):
        normalize_resource({"userName": "bjensen"}, USER_SCHEMAS, mode="replace", existing=user())


def test_s3_schemas_is_rebuilt_from_the_data() -> None:
    """Listed but empty extensions go; extension data whose URN was not listed is kept and listed."""
    listed_but_empty = create({"schemas": [USER_SCHEMA, ENTERPRISE], "userName": "a"})
    unlisted = create({"schemas": USER_SCHEMA, "userName": "a", ENTERPRISE: {"division": "D"}})

    assert listed_but_empty["schemas"] == [USER_SCHEMA]
    assert unlisted["schemas"] == [USER_SCHEMA, ENTERPRISE]
    assert unlisted[ENTERPRISE] == {"division": "D"}


# --- RFC 7643 §2.1: case-insensitive names and URNs ------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(
            {"SCHEMAS": [USER_SCHEMA.upper()], "USERNAME": "bjensen", "Name": {"GivenName": "Barbara"}},
            id="upper-case-names",
        ),
        pytest.param(
            {"schemas": [USER_SCHEMA], "username": "bjensen", "name.givenname": "Barbara"},
            id="dotted-sub-attribute",
        ),
        pytest.param(
            {
                "schemas": [USER_SCHEMA],
                f"{USER_SCHEMA.upper()}:UserName": "bjensen",
                f"{USER_SCHEMA}:Name.GivenName": "Barbara",
            },
            id="core-urn-qualified",
        ),
        pytest.param(
            {
                "schemas": [USER_SCHEMA],
                USER_SCHEMA: {"userName": "bjensen", "name": {"givenName": "Barbara"}},
            },
            id="core-urn-object",
        ),
    ],
)
def test_s2_1_attribute_names_are_case_insensitive(doc: dict[str, Any]) -> None:
    assert create(doc) == {"schemas": [USER_SCHEMA], "userName": "bjensen", "name": {"givenName": "Barbara"}}


def test_s2_1_extension_urn_in_any_case() -> None:
    upper = ENTERPRISE.upper()

    out = create({"schemas": [USER_SCHEMA, upper], "userName": "a", upper: {"EmployeeNumber": "7"}})

    assert out == {"schemas": [USER_SCHEMA, ENTERPRISE], "userName": "a", ENTERPRISE: {"employeeNumber": "7"}}


def test_s3_3_entra_fully_qualified_extension_keys() -> None:
    """Microsoft Entra ID writes extension attributes as top-level keys qualified by the URN."""
    doc = {
        **ENTRA_CREATE_USER,
        f"{ENTERPRISE}:employeeNumber": "123",
        f"{ENTERPRISE}:manager": {"value": "26118915"},
        f"{ENTERPRISE}:manager.displayName": "read-only, ignored",
        f"{ENTERPRISE.lower()}:Department": "Sales",
    }

    out = create(doc)

    assert out[ENTERPRISE] == {
        "employeeNumber": "123",
        "department": "Sales",
        "manager": {"value": "26118915"},
    }
    assert out["schemas"] == [USER_SCHEMA, ENTERPRISE]


def test_s3_3_qualified_key_and_urn_object_merge() -> None:
    doc = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "a",
        ENTERPRISE: {"manager": {"value": "m1"}, "division": "D"},
        f"{ENTERPRISE}:manager.$ref": "../Users/m1",
    }

    assert create(doc)[ENTERPRISE] == {"division": "D", "manager": {"value": "m1", "$ref": "../Users/m1"}}


def test_entra_documented_create_user_request() -> None:
    out = create(ENTRA_CREATE_USER)

    assert out == {
        "schemas": [USER_SCHEMA],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "active": True,
        "emails": [
            {
                "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com",
                "type": "work",
                "primary": True,
            }
        ],
    }


# --- RFC 7643 §2.3: data types ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [(True, True), (False, False), ("False", False), ("True", True), ("false", False), ("TRUE", True)],
)
def test_s2_3_2_boolean_accepts_entra_string_booleans(sent: Any, stored: bool) -> None:
    """Microsoft Entra ID sends {"op": "Replace", "path": "active", "value": "False"}."""
    assert create(user(active=sent))["active"] is stored


def test_s2_3_2_string_booleans_in_sub_attributes() -> None:
    out = create(user(emails=[{"value": "a@example.com", "primary": "True"}]))

    assert out["emails"] == [{"value": "a@example.com", "primary": True}]


@pytest.mark.parametrize(
    ("attribute", "value", "path"),
    [
        pytest.param("label", 5, "label", id="string-number"),
        pytest.param("label", True, "label", id="string-bool"),
        pytest.param("label", {"a": 1}, "label", id="string-object"),
        pytest.param("label", ["x"], "label", id="string-list"),
        pytest.param("enabled", "yes", "enabled", id="boolean-word"),
        pytest.param("enabled", 1, "enabled", id="boolean-number"),
        pytest.param("count", True, "count", id="integer-bool"),
        pytest.param("count", "5", "count", id="integer-string"),
        pytest.param("count", 1.5, "count", id="integer-fraction"),
        pytest.param("count", float("inf"), "count", id="integer-infinite"),
        pytest.param("ratio", False, "ratio", id="decimal-bool"),
        pytest.param("ratio", "0.5", "ratio", id="decimal-string"),
        pytest.param("ratio", float("nan"), "ratio", id="decimal-nan"),
        pytest.param("since", "yesterday", "since", id="datetime-text"),
        pytest.param("since", "2008-01-23", "since", id="datetime-date-only"),
        pytest.param("since", 1200000000, "since", id="datetime-number"),
        pytest.param("link", 7, "link", id="reference-number"),
        pytest.param("blob", "not base64!", "blob", id="binary-invalid"),
        pytest.param("blob", 7, "blob", id="binary-number"),
        pytest.param("origin", "site-a", "origin", id="complex-string"),
        pytest.param("origin", {"note": 3}, "origin.note", id="complex-sub"),
        pytest.param("parts", ["a"], "parts", id="complex-multi-item"),
        pytest.param("tags", [1, 2], "tags", id="multi-string-items"),
    ],
)
def test_s2_3_wrong_types_are_invalid_value_naming_the_path(attribute: str, value: Any, path: str) -> None:
    with pytest.raises(errors.InvalidValue, match=f"'{path}'"):
        create(thing(**{attribute: value}), THING_SCHEMAS)


@pytest.mark.parametrize(
    ("attribute", "sent", "stored"),
    [
        ("count", 3, 3),
        ("count", 3.0, 3),
        ("ratio", 0.5, 0.5),
        ("ratio", 2, 2),
        ("link", "../Things/1", "../Things/1"),
        ("blob", "aGVsbG8=", "aGVsbG8="),
        ("blob", "aGVs\nbG8=", "aGVs\nbG8="),
        ("tags", "one", ["one"]),
        ("tags", ["one", None, "two"], ["one", "two"]),
    ],
)
def test_s2_3_values_of_each_type_are_accepted(attribute: str, sent: Any, stored: Any) -> None:
    assert create(thing(**{attribute: sent}), THING_SCHEMAS)[attribute] == stored


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2008-01-23T04:56:22Z", "2008-01-23T04:56:22Z"),
        ("2008-01-23t04:56:22z", "2008-01-23T04:56:22Z"),
        ("2008-01-23T04:56:22+02:00", "2008-01-23T02:56:22Z"),
        ("2008-01-23T01:00:00-05:00", "2008-01-23T06:00:00Z"),
        ("2008-01-23T04:56:22", "2008-01-23T04:56:22Z"),
        ("2008-01-23T04:56:22.123Z", "2008-01-23T04:56:22.123000Z"),
        # .NET (Microsoft Entra ID) writes seven fractional digits.
        ("2021-03-04T05:06:07.1234567Z", "2021-03-04T05:06:07.123456Z"),
    ],
)
def test_s2_3_5_date_time_is_normalised_to_utc_z(sent: str, stored: str) -> None:
    assert create(thing(since=sent), THING_SCHEMAS)["since"] == stored


def test_s2_3_8_unknown_sub_attributes_follow_the_unknown_policy() -> None:
    doc = user(name={"givenName": "B", "nickname": "x"})

    assert create(doc)["name"] == {"givenName": "B"}
    with pytest.raises(errors.InvalidValue, match=r"'name\.nickname'"):
        create(doc, unknown="reject")


def test_s7_canonical_values_are_not_enforced_for_type() -> None:
    """RFC 7643 §2.4: "service providers MAY allow "type" values other than those listed"."""
    out = create(user(emails=[{"value": "a@example.com", "type": "Work Email"}]))

    assert out["emails"] == [{"value": "a@example.com", "type": "Work Email"}]
    members = create(
        {"schemas": [GROUP_SCHEMA], "displayName": "Team", "members": [{"value": "1", "type": "Team"}]},
        GROUP_SCHEMAS,
    )
    assert members["members"] == [{"value": "1", "type": "Team"}]


# --- RFC 7643 §2.4: multi-valued attributes ------------------------------------------------------------


def test_s2_4_a_single_value_is_wrapped_in_a_list() -> None:
    out = create(user(emails={"value": "a@example.com", "type": "work"}))

    assert out["emails"] == [{"value": "a@example.com", "type": "work"}]


def test_s2_4_primary_true_more_than_once_is_invalid_value() -> None:
    emails = [{"value": "a@example.com", "primary": True}, {"value": "b@example.com", "primary": "true"}]

    with pytest.raises(errors.InvalidValue, match="no more than once"):
        create(user(emails=emails))


def test_s2_4_one_primary_and_explicit_false_are_fine() -> None:
    emails = [{"value": "a@example.com", "primary": True}, {"value": "b@example.com", "primary": False}]

    assert create(user(emails=emails))["emails"] == emails


def test_s2_4_multi_valued_dotted_key_is_invalid_value() -> None:
    with pytest.raises(errors.InvalidValue, match="multi-valued"):
        create({"schemas": [USER_SCHEMA], "userName": "a", "emails.value": "a@example.com"})


def test_s2_2_required_sub_attribute_of_a_present_value() -> None:
    with pytest.raises(errors.InvalidValue, match=r"'parts\.value' is required"):
        create(thing(parts=[{"primary": True}]), THING_SCHEMAS)


# --- RFC 7643 §2.5, RFC 7644 §3.5.1: null and [] are unassigned ---------------------------------------


def test_s2_5_null_empty_list_and_empty_object_are_dropped() -> None:
    doc = user(
        displayName=None,
        emails=[],
        phoneNumbers=[None],
        name={"givenName": None},
        addresses=[{"type": None}],
        **{ENTERPRISE: {"manager": None}},
    )

    assert create(doc) == {"schemas": [USER_SCHEMA], "userName": "bjensen"}


def test_s2_5_null_extension_object_is_dropped() -> None:
    assert create({**user(), ENTERPRISE: None}) == user()


def test_s2_5_empty_string_is_a_value() -> None:
    assert create(user(nickName=""))["nickName"] == ""


# --- RFC 7643 §7, RFC 7644 §3.3 and §3.5.1: mutability -----------------------------------------------


@pytest.mark.parametrize("unknown", ["ignore", "reject"])
def test_s7_read_only_input_is_ignored_silently(unknown: Any) -> None:
    doc = user(
        id="client-chosen",
        meta={"resourceType": "User", "version": 'W/"1"'},
        groups=[{"value": "g1"}],
        **{f"{ENTERPRISE}:manager": {"value": "m", "displayName": "ignored"}},
    )

    out = create(doc, unknown=unknown)

    assert out == {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "bjensen",
        ENTERPRISE: {"manager": {"value": "m"}},
    }


def test_s7_read_only_is_ignored_even_when_the_value_is_the_wrong_type() -> None:
    assert create(user(id=42, meta="x", groups="y")) == user()


def test_s7_write_only_password_is_kept_for_the_caller() -> None:
    assert create(user(password="t1meMa$heen"))["password"] == "t1meMa$heen"


def test_s7_immutable_is_accepted_on_create() -> None:
    out = create(thing(badge="B-1", serials=["s1"], origin={"site": "Lyon"}), THING_SCHEMAS)

    assert (out["badge"], out["serials"], out["origin"]) == ("B-1", ["s1"], {"site": "Lyon"})


STORED_THING = {
    "schemas": [THING_SCHEMA],
    "label": "x",
    "badge": "B-1",
    "serials": ["s1", "s2"],
    "origin": {"site": "Lyon", "note": "old"},
}


def replace(doc: dict[str, Any], existing: dict[str, Any] = STORED_THING) -> dict[str, Any]:
    return normalize_resource(doc, THING_SCHEMAS, mode="replace", existing=existing)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"badge": "B-2"}, id="simple"),
        pytest.param({"serials": ["s1"]}, id="multi-valued-fewer"),
        pytest.param({"serials": ["s1", "s3"]}, id="multi-valued-other"),
        pytest.param({"origin": {"site": "Paris"}}, id="sub-attribute"),
    ],
)
def test_rfc7644_s3_5_1_changing_an_immutable_value_on_replace_is_a_mutability_error(
    changes: dict[str, Any],
) -> None:
    with pytest.raises(errors.Mutability, match="immutable") as caught:
        replace(thing(**changes))

    assert caught.value.status == 400
    assert caught.value.scim_type == "mutability"


def test_rfc7644_s3_5_1_same_immutable_values_are_accepted() -> None:
    """caseExact false: "b-1" is the stored "B-1"; a multi-valued attribute is compared as a set."""
    out = replace(thing(badge="b-1", serials=["s2", "s1"], origin={"site": "Lyon", "note": "new"}))

    assert out["origin"] == {"site": "Lyon", "note": "new"}


def test_rfc7644_s3_5_1_omitted_immutable_values_are_kept() -> None:
    out = replace(thing())

    assert out == {**thing(), "badge": "B-1", "serials": ["s1", "s2"], "origin": {"site": "Lyon"}}


def test_rfc7644_s3_5_1_immutable_without_an_existing_value_is_applied() -> None:
    out = replace(thing(badge="B-9"), existing={"schemas": [THING_SCHEMA], "label": "x"})

    assert out["badge"] == "B-9"


def test_rfc7644_s3_5_1_replace_clears_omitted_read_write_attributes() -> None:
    stored = create(RFC7643_S8_3_ENTERPRISE_USER)

    out = normalize_resource(user(), USER_SCHEMAS, mode="replace", existing=stored)

    assert out == user()


def test_s4_2_group_members_may_be_replaced_although_their_sub_attributes_are_immutable() -> None:
    stored = {"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": "u1"}]}
    doc = {"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": "u2", "display": "Two"}]}

    out = normalize_resource(doc, GROUP_SCHEMAS, mode="replace", existing=stored)

    assert out["members"] == [{"value": "u2", "display": "Two"}]


def test_create_mode_ignores_existing() -> None:
    out = normalize_resource(thing(badge="B-2"), THING_SCHEMAS, mode="create", existing=STORED_THING)

    assert out["badge"] == "B-2"


# --- RFC 7643 §7 "required" ----------------------------------------------------------------------------


@pytest.mark.parametrize("user_name", [None, "", "   "], ids=["null", "empty", "blank"])
def test_s4_1_1_user_name_is_required(user_name: Any) -> None:
    with pytest.raises(errors.InvalidValue, match=r"^Attribute 'userName' is required\.$"):
        create({"schemas": [USER_SCHEMA], "userName": user_name})


def test_s4_1_1_user_name_missing() -> None:
    with pytest.raises(errors.InvalidValue, match="'userName' is required"):
        create({"schemas": [USER_SCHEMA], "displayName": "Babs"})


@pytest.mark.parametrize(
    ("schemas", "doc", "extra", "missing"),
    [
        pytest.param(GROUP_SCHEMAS, {"schemas": [GROUP_SCHEMA]}, ["displayName"], "displayName", id="group"),
        pytest.param(
            USER_SCHEMAS, user(name={"familyName": "J"}), ["name.givenName"], "name.givenName", id="sub"
        ),
        pytest.param(
            USER_SCHEMAS, user(emails=[{"type": "work"}]), ["emails.value"], "emails.value", id="multi"
        ),
        pytest.param(
            USER_SCHEMAS,
            user(),
            [f"{ENTERPRISE.upper()}:employeenumber"],
            f"{ENTERPRISE}:employeeNumber",
            id="extension",
        ),
    ],
)
def test_s7_extra_required_paths(schemas: Any, doc: dict[str, Any], extra: list[str], missing: str) -> None:
    with pytest.raises(errors.InvalidValue, match=f"^Attribute '{missing}' is required"):
        create(doc, schemas, extra_required=extra)


def test_s7_extra_required_satisfied() -> None:
    doc = user(name={"givenName": "B"}, emails=[{"type": "home"}, {"value": "a@example.com"}])

    assert create(doc, extra_required=["name.givenName", "emails.value"]) == doc


def test_s7_extra_required_that_no_schema_defines_is_a_configuration_bug() -> None:
    with pytest.raises(ValueError, match="nickname2"):
        create(user(), extra_required=["nickname2"])


# --- unknown attributes and schemas --------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"favouriteColour": "blue"}, id="attribute"),
        pytest.param({"name.nickname": "x"}, id="sub-attribute"),
        pytest.param({"urn:example:acme:2.0:User": {"costCode": "1"}}, id="urn-object"),
        pytest.param({"urn:example:acme:2.0:User:costCode": "1"}, id="urn-qualified"),
        pytest.param({f"{GROUP_SCHEMA}:displayName": "x"}, id="foreign-schema"),
        pytest.param({f"{ENTERPRISE}:id": "x"}, id="common-attribute-in-extension"),
    ],
)
def test_unknown_attributes_are_dropped_or_rejected(extra: dict[str, Any]) -> None:
    doc = {**user(), **extra}

    assert create(doc) == user()
    with pytest.raises(errors.InvalidValue, match="not defined"):
        create(doc, unknown="reject")


def test_unknown_schema_urn_is_dropped_or_rejected() -> None:
    doc = {"schemas": [USER_SCHEMA, "urn:example:acme:2.0:User"], "userName": "bjensen"}

    assert create(doc) == user()
    with pytest.raises(errors.InvalidValue, match="urn:example:acme"):
        create(doc, unknown="reject")


def test_error_details_never_echo_more_than_100_characters_of_input() -> None:
    long_key = "x" * 5000

    with pytest.raises(errors.InvalidValue) as caught:
        create({**user(), long_key: 1}, unknown="reject")

    assert len(caught.value.detail) < 200
    assert "x" * 101 not in caught.value.detail


def test_wrong_type_details_do_not_echo_values() -> None:
    with pytest.raises(errors.InvalidValue) as caught:
        create(user(displayName={"secret": "s3cr3t"}))

    assert "s3cr3t" not in caught.value.detail
    assert caught.value.detail == "Attribute 'displayName' must be a string, not an object."


def test_extension_value_that_is_not_an_object_is_invalid_value() -> None:
    with pytest.raises(errors.InvalidValue, match=ENTERPRISE):
        create({**user(), ENTERPRISE: "x"})


# --- limits ----------------------------------------------------------------------------------------------


def test_string_length_limit_default_2048() -> None:
    assert create(user(displayName="x" * 2048))["displayName"] == "x" * 2048
    with pytest.raises(errors.InvalidValue, match="'displayName' is longer than 2048"):
        create(user(displayName="x" * 2049))


def test_string_length_limit_applies_to_sub_attributes_and_is_configurable() -> None:
    limits = Limits(max_string_length=10)

    with pytest.raises(errors.InvalidValue, match=r"'emails\.value' is longer than 10"):
        create(user(emails=[{"value": "a" * 11}]), limits=limits)


def test_multi_valued_size_limit_default_100() -> None:
    emails = [{"value": f"u{i}@example.com"} for i in range(101)]

    assert len(create(user(emails=emails[:100]))["emails"]) == 100
    with pytest.raises(errors.InvalidValue, match="'emails' has 101 values; at most 100"):
        create(user(emails=emails))


def test_multi_valued_size_limit_is_configurable() -> None:
    with pytest.raises(errors.InvalidValue, match="at most 2"):
        create(thing(tags=["a", "b", "c"]), THING_SCHEMAS, limits=Limits(max_values=2))


# --- RFC 7643 §4.2: Group ------------------------------------------------------------------------------


def test_s4_2_group_with_members() -> None:
    doc = {
        "schemas": [GROUP_SCHEMA],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "$ref": "../Users/2819c223", "display": "Babs"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "type": "User"},
        ],
    }

    out = create(doc, GROUP_SCHEMAS)

    assert out == {k: v for k, v in doc.items() if k != "id"}
