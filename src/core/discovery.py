"""Discovery documents: RFC 7643 §5 (ServiceProviderConfig), §6 (ResourceType), §7 (Schema), with the
RFC 9865 §4 "pagination" capability and the RFC 7644 §3.4.2 ListResponse that wraps the lists.

RFC 7644 §4: "SCIM defines three endpoints to facilitate discovery of SCIM service provider features
and schema". A service describes itself truthfully: only the resource types it is configured with are
listed, and only the schemas those resource types use (a tenant without groups advertises no Group).
Pure functions over a frozen `ServiceCapabilities`; the handler supplies the base URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from core.schema.model import JsonObject, Schema
from core.schema.registry import schema_by_urn
from core.schema.urns import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    LIST_RESPONSE_SCHEMA,
    RESOURCE_TYPE_SCHEMA,
    SERVICE_PROVIDER_CONFIG_SCHEMA,
    USER_SCHEMA,
)

# The one scheme the authorizer accepts (RFC 7643 §5 "authenticationSchemes", type from its list).
AUTHENTICATION_SCHEME: JsonObject = {
    "type": "oauthbearertoken",
    "name": "OAuth Bearer Token",
    "description": "Authentication with a per-tenant bearer token issued by the service operator",
    "specUri": "https://www.rfc-editor.org/info/rfc6750",
    "primary": True,
}


@dataclass(frozen=True, slots=True)
class BulkCapability:
    """RFC 7643 §5 "bulk": "supported", "maxOperations", "maxPayloadSize" (bytes)."""

    supported: bool = False
    max_operations: int = 0
    max_payload_size: int = 0


@dataclass(frozen=True, slots=True)
class FilterCapability:
    """RFC 7643 §5 "filter": "supported", "maxResults" (the most resources a response returns)."""

    supported: bool = True
    max_results: int = 200


class PaginationMethod(StrEnum):
    """RFC 9865 §4 "defaultPaginationMethod" values."""

    INDEX = "index"
    CURSOR = "cursor"


@dataclass(frozen=True, slots=True)
class CursorCapability:
    """RFC 9865 §4 "pagination". Advertised only when cursor paging is supported.

    Index paging (startIndex/count) stays on and, by default, stays the default method: RFC 9865 §4
    wants a default named when both methods are offered, and Okta and Microsoft Entra ID page by index.
    """

    supported: bool = False
    default_page_size: int = 100
    max_page_size: int = 200
    cursor_timeout: int = 3600  # seconds a cursor stays valid
    index: bool = True
    default_method: PaginationMethod = PaginationMethod.INDEX


@dataclass(frozen=True, slots=True)
class SchemaExtension:
    """RFC 7643 §6 "schemaExtensions" item."""

    schema: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class ResourceTypeDef:
    """RFC 7643 §6 ResourceType. Its `name` is also its id and the last segment of its location."""

    name: str
    endpoint: str
    schema: str
    description: str = ""
    schema_extensions: tuple[SchemaExtension, ...] = ()

    @property
    def schema_urns(self) -> tuple[str, ...]:
        """The core schema's URN first, then the extensions' (the order `resolve_path` expects)."""
        return (self.schema, *(ext.schema for ext in self.schema_extensions))


USER_RESOURCE_TYPE = ResourceTypeDef(
    name="User",
    endpoint="/Users",
    schema=USER_SCHEMA,
    description="User Account",
    # Optional: IdPs commonly create Users without any enterprise attribute.
    schema_extensions=(SchemaExtension(ENTERPRISE_USER_SCHEMA, required=False),),
)

GROUP_RESOURCE_TYPE = ResourceTypeDef(
    name="Group",
    endpoint="/Groups",
    schema=GROUP_SCHEMA,
    description="Group",
)


@dataclass(frozen=True, slots=True)
class ServiceCapabilities:
    """What one service (or one tenant's profile of it) supports; the input of every document here.

    `schemas` holds schema definitions that replace the registry's for the same URN, so a tenant
    profile that keeps fewer attributes can publish a narrower User schema.
    """

    patch: bool = True
    bulk: BulkCapability = BulkCapability()
    filter: FilterCapability = FilterCapability()
    change_password: bool = False
    sort: bool = False
    etag: bool = True
    cursor_paging: CursorCapability = CursorCapability()
    resource_types: tuple[ResourceTypeDef, ...] = (USER_RESOURCE_TYPE, GROUP_RESOURCE_TYPE)
    documentation_uri: str | None = None
    schemas: tuple[Schema, ...] = ()
    _schemas_by_urn: dict[str, Schema] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        overrides = {schema.id.lower(): schema for schema in self.schemas}
        by_urn: dict[str, Schema] = {}
        for resource_type in self.resource_types:
            for urn in resource_type.schema_urns:
                found = overrides.get(urn.lower()) or schema_by_urn(urn)
                # A resource type naming an unknown schema is a configuration bug: fail at cold start.
                if found is None:
                    raise ValueError(f"resource type {resource_type.name!r} names unknown schema {urn!r}")
                by_urn.setdefault(found.id.lower(), found)
        names = [rt.name.lower() for rt in self.resource_types]
        if len(set(names)) != len(names):
            raise ValueError("resource type names must be unique, ignoring case")
        object.__setattr__(self, "_schemas_by_urn", by_urn)

    def resource_type(self, name: str) -> ResourceTypeDef | None:
        """The configured resource type called `name` (ignoring case), or None."""
        return next((rt for rt in self.resource_types if rt.name.lower() == name.lower()), None)

    def used_schemas(self) -> tuple[Schema, ...]:
        """The schemas the configured resource types use, in resource-type order, each once."""
        return tuple(self._schemas_by_urn.values())

    def schema(self, urn: str) -> Schema | None:
        """A schema that a configured resource type uses, looked up by URN ignoring case, or None."""
        return self._schemas_by_urn.get(urn.lower())

    def schemas_for(self, resource_type_name: str) -> tuple[Schema, ...]:
        """The core schema and then the extension schemas of a resource type; empty if not configured.

        This is the `resource_schemas` argument of `core.schema.registry.resolve_path`.
        """
        resource_type = self.resource_type(resource_type_name)
        if resource_type is None:
            return ()
        return tuple(self._schemas_by_urn[urn.lower()] for urn in resource_type.schema_urns)


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def service_provider_config(caps: ServiceCapabilities, base_url: str) -> JsonObject:
    """RFC 7643 §5 ServiceProviderConfig, plus RFC 9865 §4 "pagination" when cursors are supported."""
    doc: JsonObject = {"schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA]}
    if caps.documentation_uri:
        doc["documentationUri"] = caps.documentation_uri
    doc["patch"] = {"supported": caps.patch}
    doc["bulk"] = {
        "supported": caps.bulk.supported,
        "maxOperations": caps.bulk.max_operations,
        "maxPayloadSize": caps.bulk.max_payload_size,
    }
    doc["filter"] = {"supported": caps.filter.supported, "maxResults": caps.filter.max_results}
    doc["changePassword"] = {"supported": caps.change_password}
    doc["sort"] = {"supported": caps.sort}
    doc["etag"] = {"supported": caps.etag}
    if caps.cursor_paging.supported:
        paging = caps.cursor_paging
        doc["pagination"] = {
            "cursor": True,
            "index": paging.index,
            "defaultPaginationMethod": str(paging.default_method),
            "defaultPageSize": paging.default_page_size,
            "maxPageSize": paging.max_page_size,
            "cursorTimeout": paging.cursor_timeout,
        }
    doc["authenticationSchemes"] = [dict(AUTHENTICATION_SCHEME)]
    doc["meta"] = {
        "resourceType": "ServiceProviderConfig",
        "location": f"{_base(base_url)}/ServiceProviderConfig",
    }
    return doc


def _resource_type_document(resource_type: ResourceTypeDef, base_url: str) -> JsonObject:
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": resource_type.name,
        "name": resource_type.name,
        "endpoint": resource_type.endpoint,
        "description": resource_type.description,
        "schema": resource_type.schema,
        "schemaExtensions": [
            {"schema": ext.schema, "required": ext.required} for ext in resource_type.schema_extensions
        ],
        "meta": {
            "resourceType": "ResourceType",
            "location": f"{_base(base_url)}/ResourceTypes/{resource_type.name}",
        },
    }


def resource_types(caps: ServiceCapabilities, base_url: str) -> list[JsonObject]:
    """RFC 7643 §6: one ResourceType document per configured resource type."""
    return [_resource_type_document(rt, base_url) for rt in caps.resource_types]


def resource_type(caps: ServiceCapabilities, base_url: str, name: str) -> JsonObject | None:
    """RFC 7643 §6: the ResourceType called `name` (ignoring case), or None if not configured."""
    found = caps.resource_type(name)
    return None if found is None else _resource_type_document(found, base_url)


def schemas(caps: ServiceCapabilities, base_url: str) -> list[JsonObject]:
    """RFC 7643 §7: the Schema documents of the schemas that the configured resource types use."""
    return [schema.to_scim(_base(base_url)) for schema in caps.used_schemas()]


def schema(caps: ServiceCapabilities, base_url: str, urn: str) -> JsonObject | None:
    """RFC 7643 §7: one Schema document by URN (ignoring case), or None if no resource type uses it."""
    found = caps.schema(urn)
    return None if found is None else found.to_scim(_base(base_url))


def list_response(resources: Sequence[JsonObject], total: int | None = None) -> JsonObject:
    """RFC 7644 §3.4.2 ListResponse holding every result on one page, as the discovery lists do."""
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": len(resources) if total is None else total,
        "itemsPerPage": len(resources),
        "startIndex": 1,
        "Resources": list(resources),
    }
