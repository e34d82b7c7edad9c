"""RFC 7643 §5 (ServiceProviderConfig), §6 (ResourceType), §7 (Schemas), RFC 9865 §4 (pagination) and
the RFC 7644 §3.4.2 ListResponse that carries the discovery lists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core import discovery
from core.discovery import (
    GROUP_RESOURCE_TYPE,
    USER_RESOURCE_TYPE,
    BulkCapability,
    CursorCapability,
    FilterCapability,
    PaginationMethod,
    ResourceTypeDef,
    SchemaExtension,
    ServiceCapabilities,
)
from core.schema import (
    ENTERPRISE_USER,
    ENTERPRISE_USER_SCHEMA,
    GROUP,
    GROUP_SCHEMA,
    USER,
    USER_SCHEMA,
    AttributeDef,
    Schema,
    resolve_path,
)

BASE_URL = "https://api.example.com/prod/scim/v2/acme"

FULL = ServiceCapabilities()
USERS_ONLY = ServiceCapabilities(resource_types=(USER_RESOURCE_TYPE,))
GROUPS_ONLY = ServiceCapabilities(resource_types=(GROUP_RESOURCE_TYPE,))
WITH_CURSORS = ServiceCapabilities(
    bulk=BulkCapability(supported=True, max_operations=100, max_payload_size=1_048_576),
    filter=FilterCapability(supported=True, max_results=500),
    change_password=False,
    sort=True,
    etag=True,
    cursor_paging=CursorCapability(
        supported=True, default_page_size=50, max_page_size=500, cursor_timeout=900
    ),
    documentation_uri="https://docs.example.com/scim",
)


def _round_trip(doc: Any) -> Any:
    return json.loads(json.dumps(doc))


# --- RFC 7643 §5 ServiceProviderConfig ---------------------------------------------------------------


def test_s5_service_provider_config_has_the_rfc_keys() -> None:
    doc = discovery.service_provider_config(FULL, BASE_URL)

    assert set(doc) == {
        "schemas",
        "patch",
        "bulk",
        "filter",
        "changePassword",
        "sort",
        "etag",
        "authenticationSchemes",
        "meta",
    }
    assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]


def test_s5_capabilities_are_reported_with_rfc_sub_attribute_names() -> None:
    doc = discovery.service_provider_config(WITH_CURSORS, BASE_URL)

    assert doc["documentationUri"] == "https://docs.example.com/scim"
    assert doc["patch"] == {"supported": True}
    assert doc["bulk"] == {"supported": True, "maxOperations": 100, "maxPayloadSize": 1_048_576}
    assert doc["filter"] == {"supported": True, "maxResults": 500}
    assert doc["changePassword"] == {"supported": False}
    assert doc["sort"] == {"supported": True}
    assert doc["etag"] == {"supported": True}


def test_s5_defaults_describe_this_service() -> None:
    doc = discovery.service_provider_config(FULL, BASE_URL)

    assert doc["patch"] == {"supported": True}
    assert doc["bulk"] == {"supported": False, "maxOperations": 0, "maxPayloadSize": 0}
    assert doc["filter"] == {"supported": True, "maxResults": 200}
    assert doc["etag"] == {"supported": True}
    assert "documentationUri" not in doc


def test_s5_one_bearer_token_authentication_scheme() -> None:
    doc = discovery.service_provider_config(FULL, BASE_URL)

    assert len(doc["authenticationSchemes"]) == 1
    scheme = doc["authenticationSchemes"][0]
    assert scheme["type"] == "oauthbearertoken"
    assert scheme["name"] == "OAuth Bearer Token"
    assert (
        scheme["description"]
        == "Authentication with a per-tenant bearer token issued by the service operator"
    )
    assert scheme["primary"] is True
    assert set(scheme) == {"type", "name", "description", "specUri", "primary"}


def test_s5_scheme_is_a_copy_callers_cannot_corrupt() -> None:
    discovery.service_provider_config(FULL, BASE_URL)["authenticationSchemes"][0]["name"] = "changed"

    assert discovery.service_provider_config(FULL, BASE_URL)["authenticationSchemes"][0]["name"] == (
        "OAuth Bearer Token"
    )


@pytest.mark.parametrize("base_url", [BASE_URL, BASE_URL + "/"])
def test_s5_meta_location(base_url: str) -> None:
    doc = discovery.service_provider_config(FULL, base_url)

    assert doc["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": f"{BASE_URL}/ServiceProviderConfig",
    }


# --- RFC 9865 §4 pagination ----------------------------------------------------------------------------


def test_rfc9865_pagination_is_absent_without_cursor_paging() -> None:
    assert "pagination" not in discovery.service_provider_config(FULL, BASE_URL)


def test_rfc9865_pagination_has_the_rfc_attribute_names() -> None:
    doc = discovery.service_provider_config(WITH_CURSORS, BASE_URL)

    assert doc["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 50,
        "maxPageSize": 500,
        "cursorTimeout": 900,
    }


def test_rfc9865_cursor_can_be_the_default_method() -> None:
    caps = ServiceCapabilities(
        cursor_paging=CursorCapability(supported=True, default_method=PaginationMethod.CURSOR),
    )

    assert (
        discovery.service_provider_config(caps, BASE_URL)["pagination"]["defaultPaginationMethod"] == "cursor"
    )


# --- RFC 7643 §6 ResourceTypes -------------------------------------------------------------------------

RESOURCE_TYPE_KEYS = {
    "schemas",
    "id",
    "name",
    "endpoint",
    "description",
    "schema",
    "schemaExtensions",
    "meta",
}


def test_s6_user_resource_type() -> None:
    doc = discovery.resource_type(FULL, BASE_URL, "User")

    assert doc == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": f"{BASE_URL}/ResourceTypes/User"},
    }


def test_s6_group_resource_type() -> None:
    doc = discovery.resource_type(FULL, BASE_URL + "/", "Group")

    assert doc is not None
    assert set(doc) == RESOURCE_TYPE_KEYS
    assert (doc["id"], doc["endpoint"], doc["schema"]) == ("Group", "/Groups", GROUP_SCHEMA)
    assert doc["schemaExtensions"] == []
    assert doc["meta"]["location"] == f"{BASE_URL}/ResourceTypes/Group"


def test_s6_resource_types_lists_every_configured_type_in_order() -> None:
    docs = discovery.resource_types(FULL, BASE_URL)

    assert [d["name"] for d in docs] == ["User", "Group"]
    assert all(set(d) == RESOURCE_TYPE_KEYS for d in docs)


@pytest.mark.parametrize("name", ["user", "USER", "User"])
def test_s6_resource_type_lookup_ignores_case(name: str) -> None:
    doc = discovery.resource_type(FULL, BASE_URL, name)

    assert doc is not None
    assert doc["name"] == "User"


def test_s6_unconfigured_or_unknown_resource_type_is_none() -> None:
    assert discovery.resource_type(USERS_ONLY, BASE_URL, "Group") is None
    assert discovery.resource_type(FULL, BASE_URL, "Device") is None


def test_s6_users_only_service_lists_only_users() -> None:
    assert [d["name"] for d in discovery.resource_types(USERS_ONLY, BASE_URL)] == ["User"]


def test_s6_required_extension_is_reported() -> None:
    strict_user = ResourceTypeDef(
        name="User",
        endpoint="/Users",
        schema=USER_SCHEMA,
        description="User Account",
        schema_extensions=(SchemaExtension(ENTERPRISE_USER_SCHEMA, required=True),),
    )
    caps = ServiceCapabilities(resource_types=(strict_user,))

    doc = discovery.resource_type(caps, BASE_URL, "User")

    assert doc is not None
    assert doc["schemaExtensions"] == [{"schema": ENTERPRISE_USER_SCHEMA, "required": True}]


# --- RFC 7643 §7 Schemas -------------------------------------------------------------------------------


def test_s7_schemas_lists_the_schemas_of_configured_resource_types() -> None:
    docs = discovery.schemas(FULL, BASE_URL)

    assert [d["id"] for d in docs] == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]
    assert all(set(d) == {"schemas", "id", "name", "description", "attributes", "meta"} for d in docs)
    assert docs[0]["meta"] == {"resourceType": "Schema", "location": f"{BASE_URL}/Schemas/{USER_SCHEMA}"}


def test_s7_users_only_service_does_not_advertise_the_group_schema() -> None:
    ids = [d["id"] for d in discovery.schemas(USERS_ONLY, BASE_URL)]

    assert ids == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]
    assert discovery.schema(USERS_ONLY, BASE_URL, GROUP_SCHEMA) is None


def test_s7_groups_only_service_advertises_only_the_group_schema() -> None:
    assert [d["id"] for d in discovery.schemas(GROUPS_ONLY, BASE_URL)] == [GROUP_SCHEMA]
    assert discovery.schema(GROUPS_ONLY, BASE_URL, USER_SCHEMA) is None
    assert discovery.schema(GROUPS_ONLY, BASE_URL, ENTERPRISE_USER_SCHEMA) is None


@pytest.mark.parametrize("urn", [USER_SCHEMA, USER_SCHEMA.lower(), USER_SCHEMA.upper()])
def test_s7_schema_lookup_ignores_case_and_returns_the_canonical_id(urn: str) -> None:
    doc = discovery.schema(FULL, BASE_URL, urn)

    assert doc is not None
    assert doc == USER.to_scim(BASE_URL)
    assert doc["id"] == USER_SCHEMA


def test_s7_unknown_schema_is_none() -> None:
    assert discovery.schema(FULL, BASE_URL, "urn:ietf:params:scim:schemas:core:2.0:Device") is None


def test_s7_a_profile_schema_replaces_the_registry_definition() -> None:
    """A tenant that keeps only userName and displayName publishes exactly that."""
    narrow_user = Schema(
        id=USER_SCHEMA,
        name="User",
        description="User Account",
        attributes=(USER.attribute("userName"), USER.attribute("displayName")),  # type: ignore[arg-type]
    )
    caps = ServiceCapabilities(resource_types=(USER_RESOURCE_TYPE,), schemas=(narrow_user,))

    doc = discovery.schema(caps, BASE_URL, USER_SCHEMA)

    assert doc is not None
    assert [a["name"] for a in doc["attributes"]] == ["userName", "displayName"]
    assert caps.schemas_for("User") == (narrow_user, ENTERPRISE_USER)


# --- Configuration -------------------------------------------------------------------------------------


def test_resource_type_naming_an_unknown_schema_is_rejected() -> None:
    bad = ResourceTypeDef(name="Device", endpoint="/Devices", schema="urn:example:Device")

    with pytest.raises(ValueError, match="urn:example:Device"):
        ServiceCapabilities(resource_types=(bad,))


def test_duplicate_resource_type_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="unique"):
        ServiceCapabilities(resource_types=(USER_RESOURCE_TYPE, USER_RESOURCE_TYPE))


def test_schemas_for_gives_resolve_path_its_core_schema_first() -> None:
    user_schemas = FULL.schemas_for("user")

    assert user_schemas == (USER, ENTERPRISE_USER)
    assert FULL.schemas_for("Group") == (GROUP,)
    assert USERS_ONLY.schemas_for("Group") == ()
    resolved = resolve_path(user_schemas, f"{ENTERPRISE_USER_SCHEMA}:manager.value")
    assert resolved is not None
    assert resolved.extension is True


def test_capabilities_are_immutable() -> None:
    with pytest.raises(AttributeError):
        FULL.patch = False  # type: ignore[misc]


# --- RFC 7644 §3.4.2 ListResponse ----------------------------------------------------------------------


def test_rfc7644_s3_4_2_list_response_envelope() -> None:
    resources = discovery.resource_types(FULL, BASE_URL)

    doc = discovery.list_response(resources)

    assert doc == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 2,
        "itemsPerPage": 2,
        "startIndex": 1,
        "Resources": resources,
    }


def test_rfc7644_s3_4_2_list_response_with_explicit_total_and_empty_page() -> None:
    assert discovery.list_response([], total=0)["Resources"] == []
    assert discovery.list_response([{"id": "a"}], total=7)["totalResults"] == 7
    assert discovery.list_response([{"id": "a"}], total=7)["itemsPerPage"] == 1


# --- JSON ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("caps", [FULL, USERS_ONLY, GROUPS_ONLY, WITH_CURSORS])
def test_every_discovery_document_is_json_serialisable(caps: ServiceCapabilities) -> None:
    documents: list[Any] = [
        discovery.service_provider_config(caps, BASE_URL),
        discovery.list_response(discovery.resource_types(caps, BASE_URL)),
        discovery.list_response(discovery.schemas(caps, BASE_URL)),
    ]

    for doc in documents:
        assert _round_trip(doc) == doc


def test_attribute_definitions_can_be_shared_between_schemas() -> None:
    """Definitions are immutable values: a profile schema may reuse the registry's objects safely."""
    user_name = USER.attribute("userName")

    assert isinstance(user_name, AttributeDef)
    assert user_name == USER.attribute("USERNAME")
    assert hash(user_name) == hash(USER.attribute("username"))
