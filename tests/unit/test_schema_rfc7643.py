"""RFC 7643 §2, §3.1, §4, §7 and §8.7.1: schema definitions, lookups and attribute-path resolution."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core import errors
from core.schema import (
    ALL_SCHEMAS,
    COMMON_ATTRIBUTES,
    ENTERPRISE_USER,
    ENTERPRISE_USER_SCHEMA,
    GROUP,
    GROUP_SCHEMA,
    USER,
    USER_SCHEMA,
    AttributeDef,
    AttributeType,
    Mutability,
    Returned,
    Schema,
    Uniqueness,
    common_attribute,
    resolve_path,
    schema_by_urn,
    urns,
)

BASE_URL = "https://api.example.com/prod/scim/v2/acme"

# --- RFC 7643 §7: the attribute model -------------------------------------------------------------


def test_s7_enumerations_use_the_rfc_spelling() -> None:
    assert [t.value for t in AttributeType] == [
        "string",
        "boolean",
        "decimal",
        "integer",
        "dateTime",
        "reference",
        "complex",
        "binary",
    ]
    assert [m.value for m in Mutability] == ["readOnly", "readWrite", "immutable", "writeOnly"]
    assert [r.value for r in Returned] == ["always", "never", "default", "request"]
    assert [u.value for u in Uniqueness] == ["none", "server", "global"]


def test_s2_2_unstated_characteristics_take_the_rfc_defaults() -> None:
    """§2.2: string, single-valued, optional, caseExact false, readWrite, default, uniqueness none."""
    attr = AttributeDef(name="nickName")

    assert attr.type is AttributeType.STRING
    assert attr.multi_valued is False
    assert attr.required is False
    assert attr.case_exact is False
    assert attr.mutability is Mutability.READ_WRITE
    assert attr.returned is Returned.DEFAULT
    assert attr.uniqueness is Uniqueness.NONE


def test_s7_definitions_are_immutable() -> None:
    with pytest.raises(AttributeError):
        USER.attributes[0].name = "login"  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "x", "sub_attributes": (AttributeDef(name="y"),)},
        {"name": "x", "reference_types": ("User",)},
        {
            "name": "x",
            "type": AttributeType.COMPLEX,
            "sub_attributes": (AttributeDef(name="y", type=AttributeType.COMPLEX),),
        },
        {
            "name": "x",
            "type": AttributeType.COMPLEX,
            "sub_attributes": (AttributeDef(name="y"), AttributeDef(name="Y")),
        },
    ],
    ids=["subattrs-on-simple", "reftypes-on-string", "nested-complex", "duplicate-subattr"],
)
def test_s2_3_8_and_s7_inconsistent_definitions_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="x"):
        AttributeDef(**kwargs)


def test_s7_schema_rejects_duplicate_attribute_names_ignoring_case() -> None:
    with pytest.raises(ValueError, match="unique"):
        Schema(
            id="urn:x", name="X", description="", attributes=(AttributeDef(name="a"), AttributeDef(name="A"))
        )


def test_s7_string_attribute_representation_has_the_rfc_key_names() -> None:
    doc = USER.attribute("userName").to_scim()  # type: ignore[union-attr]

    assert doc == {
        "name": "userName",
        "type": "string",
        "multiValued": False,
        "description": doc["description"],
        "required": True,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "server",
    }
    assert doc["description"].startswith("Unique identifier for the User")


def test_s7_reference_attribute_representation_carries_reference_types() -> None:
    doc = USER.attribute("profileUrl").to_scim()  # type: ignore[union-attr]

    assert doc["type"] == "reference"
    assert doc["referenceTypes"] == ["external"]


def test_s7_complex_attribute_representation_nests_sub_attributes_and_omits_case_exact() -> None:
    """§8.7.1 writes neither caseExact nor uniqueness for complex and boolean attributes."""
    doc = USER.attribute("emails").to_scim()  # type: ignore[union-attr]

    assert set(doc) == {
        "name",
        "type",
        "multiValued",
        "description",
        "required",
        "subAttributes",
        "mutability",
        "returned",
    }
    assert [sub["name"] for sub in doc["subAttributes"]] == ["value", "display", "type", "primary"]
    type_doc = doc["subAttributes"][2]
    assert type_doc["canonicalValues"] == ["work", "home", "other"]
    primary_doc = doc["subAttributes"][3]
    assert set(primary_doc) == {
        "name",
        "type",
        "multiValued",
        "description",
        "required",
        "mutability",
        "returned",
    }


def test_s7_schema_representation_without_base_url_has_no_meta() -> None:
    doc = GROUP.to_scim()

    assert set(doc) == {"schemas", "id", "name", "description", "attributes"}
    assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]


def test_s7_schema_representation_with_base_url_has_meta_location() -> None:
    doc = ENTERPRISE_USER.to_scim(BASE_URL + "/")

    assert set(doc) == {"schemas", "id", "name", "description", "attributes", "meta"}
    assert doc["id"] == ENTERPRISE_USER_SCHEMA
    assert doc["name"] == "EnterpriseUser"
    assert doc["description"] == "Enterprise User"
    assert doc["meta"] == {
        "resourceType": "Schema",
        "location": f"{BASE_URL}/Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    }


@pytest.mark.parametrize("schema", ALL_SCHEMAS, ids=lambda s: s.name)
def test_s7_schema_representation_is_json_serialisable(schema: Schema) -> None:
    doc = schema.to_scim(BASE_URL)

    assert json.loads(json.dumps(doc)) == doc


# --- RFC 7643 §2.1: case-insensitive lookups --------------------------------------------------------


@pytest.mark.parametrize("name", ["userName", "username", "USERNAME", "UsErNaMe"])
def test_s2_1_attribute_lookup_ignores_case(name: str) -> None:
    attr = USER.attribute(name)

    assert attr is not None
    assert attr.name == "userName"


@pytest.mark.parametrize("name", ["givenName", "GIVENNAME", "givenname"])
def test_s2_1_sub_attribute_lookup_ignores_case(name: str) -> None:
    sub = USER.attribute("name").sub_attribute(name)  # type: ignore[union-attr]

    assert sub is not None
    assert sub.name == "givenName"


def test_s2_1_unknown_names_give_none() -> None:
    assert USER.attribute("shoeSize") is None
    assert USER.attribute("name").sub_attribute("nickname") is None  # type: ignore[union-attr]
    assert USER.attribute("userName").sub_attribute("value") is None  # type: ignore[union-attr]


# --- RFC 7643 §8.7.1: User, Group and Enterprise User, characteristic by characteristic -------------

# (schema, path, type, multiValued, required, caseExact, mutability, returned, uniqueness)
CHARACTERISTICS = [
    (USER, "userName", "string", False, True, False, "readWrite", "default", "server"),
    (USER, "name", "complex", False, False, False, "readWrite", "default", "none"),
    (USER, "name.formatted", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "name.familyName", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "name.givenName", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "name.honorificSuffix", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "displayName", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "nickName", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "profileUrl", "reference", False, False, False, "readWrite", "default", "none"),
    (USER, "title", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "userType", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "preferredLanguage", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "locale", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "timezone", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "active", "boolean", False, False, False, "readWrite", "default", "none"),
    (USER, "password", "string", False, False, False, "writeOnly", "never", "none"),
    (USER, "emails", "complex", True, False, False, "readWrite", "default", "none"),
    (USER, "emails.value", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "emails.display", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "emails.primary", "boolean", False, False, False, "readWrite", "default", "none"),
    (USER, "phoneNumbers", "complex", True, False, False, "readWrite", "default", "none"),
    (USER, "phoneNumbers.value", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "ims.value", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "photos.value", "reference", False, False, False, "readWrite", "default", "none"),
    (USER, "addresses", "complex", True, False, False, "readWrite", "default", "none"),
    (USER, "addresses.streetAddress", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "addresses.postalCode", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "groups", "complex", True, False, False, "readOnly", "default", "none"),
    (USER, "groups.value", "string", False, False, False, "readOnly", "default", "none"),
    (USER, "groups.$ref", "reference", False, False, False, "readOnly", "default", "none"),
    (USER, "groups.display", "string", False, False, False, "readOnly", "default", "none"),
    (USER, "groups.type", "string", False, False, False, "readOnly", "default", "none"),
    (USER, "entitlements.value", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "roles", "complex", True, False, False, "readWrite", "default", "none"),
    (USER, "roles.value", "string", False, False, False, "readWrite", "default", "none"),
    (USER, "x509Certificates.value", "binary", False, False, False, "readWrite", "default", "none"),
    # §4.2 and the description say REQUIRED; §8.7.1's JSON says false. The prose wins (see group.py).
    (GROUP, "displayName", "string", False, True, False, "readWrite", "default", "none"),
    (GROUP, "members", "complex", True, False, False, "readWrite", "default", "none"),
    (GROUP, "members.value", "string", False, False, False, "immutable", "default", "none"),
    (GROUP, "members.$ref", "reference", False, False, False, "immutable", "default", "none"),
    (GROUP, "members.type", "string", False, False, False, "immutable", "default", "none"),
    (GROUP, "members.display", "string", False, False, False, "immutable", "default", "none"),
    (ENTERPRISE_USER, "employeeNumber", "string", False, False, False, "readWrite", "default", "none"),
    (ENTERPRISE_USER, "costCenter", "string", False, False, False, "readWrite", "default", "none"),
    (ENTERPRISE_USER, "organization", "string", False, False, False, "readWrite", "default", "none"),
    (ENTERPRISE_USER, "division", "string", False, False, False, "readWrite", "default", "none"),
    (ENTERPRISE_USER, "department", "string", False, False, False, "readWrite", "default", "none"),
    (ENTERPRISE_USER, "manager", "complex", False, False, False, "readWrite", "default", "none"),
    (ENTERPRISE_USER, "manager.value", "string", False, False, False, "readWrite", "default", "none"),
    (ENTERPRISE_USER, "manager.$ref", "reference", False, False, False, "readWrite", "default", "none"),
    (ENTERPRISE_USER, "manager.displayName", "string", False, False, False, "readOnly", "default", "none"),
]


def _definition(schema: Schema, path: str) -> AttributeDef:
    resolved = resolve_path((schema,), path)
    assert resolved is not None, path
    return resolved.definition


@pytest.mark.parametrize("row", CHARACTERISTICS, ids=[f"{row[0].name}:{row[1]}" for row in CHARACTERISTICS])
def test_s8_7_1_attribute_characteristics_match_the_rfc(row: tuple[Any, ...]) -> None:
    schema, path, *expected = row

    attr = _definition(schema, path)

    actual = [attr.type, attr.multi_valued, attr.required, attr.case_exact]
    actual += [attr.mutability, attr.returned, attr.uniqueness]
    assert actual == expected
    assert attr.description


def test_s8_7_1_user_attributes_in_rfc_order() -> None:
    assert [a.name for a in USER.attributes] == [
        "userName",
        "name",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "active",
        "password",
        "emails",
        "phoneNumbers",
        "ims",
        "photos",
        "addresses",
        "groups",
        "entitlements",
        "roles",
        "x509Certificates",
    ]
    assert (USER.id, USER.name, USER.description) == (USER_SCHEMA, "User", "User Account")


@pytest.mark.parametrize(
    ("schema", "name", "sub_names"),
    [
        (
            USER,
            "name",
            ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"],
        ),
        (USER, "emails", ["value", "display", "type", "primary"]),
        (USER, "phoneNumbers", ["value", "display", "type", "primary"]),
        (USER, "ims", ["value", "display", "type", "primary"]),
        (USER, "photos", ["value", "display", "type", "primary"]),
        # "primary" is §2.4's, not §8.7.1's: see core.schema.user.
        (
            USER,
            "addresses",
            ["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type", "primary"],
        ),
        (USER, "groups", ["value", "$ref", "display", "type"]),
        (USER, "entitlements", ["value", "display", "type", "primary"]),
        (USER, "roles", ["value", "display", "type", "primary"]),
        (USER, "x509Certificates", ["value", "display", "type", "primary"]),
        (GROUP, "members", ["value", "$ref", "type", "display"]),
        (ENTERPRISE_USER, "manager", ["value", "$ref", "displayName"]),
    ],
)
def test_s8_7_1_complex_attributes_have_the_rfc_sub_attributes(
    schema: Schema, name: str, sub_names: list[str]
) -> None:
    attr = schema.attribute(name)

    assert attr is not None
    assert attr.is_complex
    assert [sub.name for sub in attr.sub_attributes] == sub_names


@pytest.mark.parametrize(
    ("schema", "path", "canonical_values"),
    [
        (USER, "emails.type", ("work", "home", "other")),
        (USER, "phoneNumbers.type", ("work", "home", "mobile", "fax", "pager", "other")),
        (USER, "ims.type", ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
        (USER, "photos.type", ("photo", "thumbnail")),
        (USER, "addresses.type", ("work", "home", "other")),
        (USER, "groups.type", ("direct", "indirect")),
        (USER, "roles.type", ()),
        (GROUP, "members.type", ("User", "Group")),
    ],
)
def test_s8_7_1_canonical_values(schema: Schema, path: str, canonical_values: tuple[str, ...]) -> None:
    assert _definition(schema, path).canonical_values == canonical_values


@pytest.mark.parametrize(
    ("schema", "path", "reference_types"),
    [
        (USER, "profileUrl", ("external",)),
        (USER, "photos.value", ("external",)),
        # §8.7.1 allows a nested group here, hence "User" and "Group".
        (USER, "groups.$ref", ("User", "Group")),
        (GROUP, "members.$ref", ("User", "Group")),
        (ENTERPRISE_USER, "manager.$ref", ("User",)),
    ],
)
def test_s8_7_1_reference_types(schema: Schema, path: str, reference_types: tuple[str, ...]) -> None:
    assert _definition(schema, path).reference_types == reference_types


def test_s8_7_1_group_and_enterprise_schema_identity() -> None:
    assert (GROUP.id, GROUP.name, GROUP.description) == (GROUP_SCHEMA, "Group", "Group")
    assert [a.name for a in GROUP.attributes] == ["displayName", "members"]
    assert [a.name for a in ENTERPRISE_USER.attributes] == [
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
        "manager",
    ]


def test_s8_7_1_user_schema_document_matches_rfc_excerpt() -> None:
    """The password definition exactly as RFC 7643 §8.7.1 prints it (descriptions aside)."""
    password = next(a for a in USER.to_scim()["attributes"] if a["name"] == "password")

    assert password == {
        "name": "password",
        "type": "string",
        "multiValued": False,
        "description": password["description"],
        "required": False,
        "caseExact": False,
        "mutability": "writeOnly",
        "returned": "never",
        "uniqueness": "none",
    }


# --- RFC 7643 §3.1: common attributes ---------------------------------------------------------------


def test_s3_1_id_is_read_only_always_returned_server_unique_case_exact() -> None:
    attr = common_attribute("ID")

    assert attr is not None
    assert attr.name == "id"
    assert attr.case_exact is True
    assert attr.mutability is Mutability.READ_ONLY
    assert attr.returned is Returned.ALWAYS
    assert attr.uniqueness is Uniqueness.SERVER


def test_s3_1_external_id_is_case_exact_read_write() -> None:
    attr = common_attribute("externalid")

    assert attr is not None
    assert (attr.name, attr.case_exact, attr.mutability) == ("externalId", True, Mutability.READ_WRITE)


def test_s3_1_meta_and_all_its_sub_attributes_are_read_only() -> None:
    meta = common_attribute("meta")

    assert meta is not None
    assert meta.mutability is Mutability.READ_ONLY
    assert [(s.name, s.type, s.mutability) for s in meta.sub_attributes] == [
        ("resourceType", AttributeType.STRING, Mutability.READ_ONLY),
        ("created", AttributeType.DATE_TIME, Mutability.READ_ONLY),
        ("lastModified", AttributeType.DATE_TIME, Mutability.READ_ONLY),
        ("location", AttributeType.REFERENCE, Mutability.READ_ONLY),
        ("version", AttributeType.STRING, Mutability.READ_ONLY),
    ]
    assert [a.name for a in COMMON_ATTRIBUTES] == ["id", "externalId", "meta"]


def test_s3_1_common_attributes_are_not_listed_in_the_schema_documents() -> None:
    """§8.7.1 lists no id, externalId or meta among a schema's attributes."""
    for schema in ALL_SCHEMAS:
        names = {a["name"] for a in schema.to_scim()["attributes"]}
        assert names.isdisjoint({"id", "externalId", "meta"})


# --- URNs and the registry ---------------------------------------------------------------------------


def test_urns_are_the_iana_registered_values() -> None:
    assert urns.USER_SCHEMA == "urn:ietf:params:scim:schemas:core:2.0:User"
    assert urns.GROUP_SCHEMA == "urn:ietf:params:scim:schemas:core:2.0:Group"
    assert urns.ENTERPRISE_USER_SCHEMA == "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert (
        urns.SERVICE_PROVIDER_CONFIG_SCHEMA == "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    )
    assert urns.RESOURCE_TYPE_SCHEMA == "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
    assert urns.SCHEMA_SCHEMA == "urn:ietf:params:scim:schemas:core:2.0:Schema"
    assert urns.LIST_RESPONSE_SCHEMA == "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    assert urns.SEARCH_REQUEST_SCHEMA == "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
    assert urns.PATCH_OP_SCHEMA == "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    assert urns.BULK_REQUEST_SCHEMA == "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
    assert urns.BULK_RESPONSE_SCHEMA == "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    assert urns.ERROR_SCHEMA == errors.ERROR_SCHEMA == "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.mark.parametrize(
    ("urn", "expected"),
    [
        (USER_SCHEMA, USER),
        (USER_SCHEMA.upper(), USER),
        ("urn:ietf:params:scim:schemas:core:2.0:group", GROUP),
        ("URN:IETF:params:scim:schemas:extension:enterprise:2.0:user", ENTERPRISE_USER),
        ("urn:ietf:params:scim:schemas:core:2.0:Device", None),
        ("", None),
    ],
)
def test_schema_by_urn_ignores_case(urn: str, expected: Schema | None) -> None:
    assert schema_by_urn(urn) is expected


# --- RFC 7644 §3.10: attribute paths -----------------------------------------------------------------

USER_SCHEMAS = (USER, ENTERPRISE_USER)
ENTERPRISE = ENTERPRISE_USER_SCHEMA


@pytest.mark.parametrize(
    ("path", "schema", "qualified", "extension"),
    [
        ("userName", USER_SCHEMA, f"{USER_SCHEMA}:userName", False),
        ("USERNAME", USER_SCHEMA, f"{USER_SCHEMA}:userName", False),
        ("name.givenName", USER_SCHEMA, f"{USER_SCHEMA}:name.givenName", False),
        ("Name.GivenName", USER_SCHEMA, f"{USER_SCHEMA}:name.givenName", False),
        ("emails.value", USER_SCHEMA, f"{USER_SCHEMA}:emails.value", False),
        ("emails", USER_SCHEMA, f"{USER_SCHEMA}:emails", False),
        (f"{USER_SCHEMA}:name.givenName", USER_SCHEMA, f"{USER_SCHEMA}:name.givenName", False),
        (f"{USER_SCHEMA.upper()}:userName", USER_SCHEMA, f"{USER_SCHEMA}:userName", False),
        (f"{ENTERPRISE}:employeeNumber", ENTERPRISE, f"{ENTERPRISE}:employeeNumber", True),
        (f"{ENTERPRISE.lower()}:EMPLOYEENUMBER", ENTERPRISE, f"{ENTERPRISE}:employeeNumber", True),
        (f"{ENTERPRISE}:manager.value", ENTERPRISE, f"{ENTERPRISE}:manager.value", True),
        (f"{ENTERPRISE}:manager", ENTERPRISE, f"{ENTERPRISE}:manager", True),
        ("id", USER_SCHEMA, f"{USER_SCHEMA}:id", False),
        ("externalId", USER_SCHEMA, f"{USER_SCHEMA}:externalId", False),
        ("meta.lastModified", USER_SCHEMA, f"{USER_SCHEMA}:meta.lastModified", False),
        ("groups.$ref", USER_SCHEMA, f"{USER_SCHEMA}:groups.$ref", False),
        (f"{USER_SCHEMA}:META.Version", USER_SCHEMA, f"{USER_SCHEMA}:meta.version", False),
    ],
)
def test_s3_10_paths_resolve_to_canonical_names(
    path: str, schema: str, qualified: str, extension: bool
) -> None:
    resolved = resolve_path(USER_SCHEMAS, path)

    assert resolved is not None
    assert resolved.schema == schema
    assert resolved.qualified_path == qualified
    assert resolved.extension is extension


def test_s3_10_resolution_returns_attribute_and_sub_attribute_definitions() -> None:
    resolved = resolve_path(USER_SCHEMAS, f"{ENTERPRISE}:manager.value")

    assert resolved is not None
    assert resolved.attribute is ENTERPRISE_USER.attribute("manager")
    assert resolved.sub_attribute is ENTERPRISE_USER.attribute("manager").sub_attribute("value")  # type: ignore[union-attr]
    assert resolved.definition is resolved.sub_attribute
    assert resolved.path == "manager.value"


def test_s3_10_resolution_without_sub_attribute() -> None:
    resolved = resolve_path(USER_SCHEMAS, "userName")

    assert resolved is not None
    assert resolved.sub_attribute is None
    assert resolved.definition is USER.attribute("userName")
    assert resolved.path == "userName"


def test_s3_10_group_member_paths() -> None:
    resolved = resolve_path((GROUP,), "members.value")

    assert resolved is not None
    assert resolved.qualified_path == f"{GROUP_SCHEMA}:members.value"
    assert resolved.definition.mutability is Mutability.IMMUTABLE


@pytest.mark.parametrize(
    "path",
    [
        "",
        "shoeSize",
        "name.nickName",  # not a sub-attribute of name
        "userName.value",  # simple attribute has no sub-attributes
        "name.givenName.first",  # too deep
        "name.",
        ".givenName",
        "name..givenName",
        "employeeNumber",  # extension attributes need their URN
        f"{USER_SCHEMA}:employeeNumber",  # wrong schema
        f"{ENTERPRISE}:userName",  # wrong schema
        f"{ENTERPRISE}:id",  # common attributes belong to the core schema
        f"{ENTERPRISE}:",
        USER_SCHEMA,  # a URN alone names no attribute
        f"{GROUP_SCHEMA}:displayName",  # not one of this resource's schemas
        "urn:ietf:params:scim:schemas:core:2.0:Device:userName",
        'emails[type eq "work"].value',  # value paths are the filter parser's business
    ],
)
def test_s3_10_invalid_paths_give_none(path: str) -> None:
    assert resolve_path(USER_SCHEMAS, path) is None


def test_s3_10_no_schemas_gives_none() -> None:
    assert resolve_path((), "userName") is None


def test_s3_10_unqualified_paths_resolve_against_the_first_schema_only() -> None:
    """The first schema is the resource's core schema; Group's displayName is not a User's."""
    resolved = resolve_path((GROUP,), "displayName")

    assert resolved is not None
    assert resolved.schema == GROUP_SCHEMA
    assert resolve_path((GROUP,), "userName") is None
