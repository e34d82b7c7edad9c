"""SCIM schema definitions: RFC 7643 §2 (attributes), §3.1 (common attributes), §4 (User, Group,
Enterprise User) and §7 (the Schema resource), with case-insensitive lookup and path resolution.

Standard library only: this package is imported at Lambda cold start by every function.
"""

from __future__ import annotations

from core.schema.common import COMMON_ATTRIBUTES, common_attribute
from core.schema.enterprise import ENTERPRISE_USER
from core.schema.group import GROUP
from core.schema.model import (
    AttributeDef,
    AttributeType,
    JsonObject,
    Mutability,
    Returned,
    Schema,
    Uniqueness,
)
from core.schema.registry import ALL_SCHEMAS, ResolvedAttribute, resolve_path, schema_by_urn
from core.schema.urns import (
    BULK_REQUEST_SCHEMA,
    BULK_RESPONSE_SCHEMA,
    ENTERPRISE_USER_SCHEMA,
    ERROR_SCHEMA,
    GROUP_SCHEMA,
    LIST_RESPONSE_SCHEMA,
    PATCH_OP_SCHEMA,
    RESOURCE_TYPE_SCHEMA,
    SCHEMA_SCHEMA,
    SEARCH_REQUEST_SCHEMA,
    SERVICE_PROVIDER_CONFIG_SCHEMA,
    USER_SCHEMA,
)
from core.schema.user import USER

__all__ = [
    "ALL_SCHEMAS",
    "BULK_REQUEST_SCHEMA",
    "BULK_RESPONSE_SCHEMA",
    "COMMON_ATTRIBUTES",
    "ENTERPRISE_USER",
    "ENTERPRISE_USER_SCHEMA",
    "ERROR_SCHEMA",
    "GROUP",
    "GROUP_SCHEMA",
    "LIST_RESPONSE_SCHEMA",
    "PATCH_OP_SCHEMA",
    "RESOURCE_TYPE_SCHEMA",
    "SCHEMA_SCHEMA",
    "SEARCH_REQUEST_SCHEMA",
    "SERVICE_PROVIDER_CONFIG_SCHEMA",
    "USER",
    "USER_SCHEMA",
    "AttributeDef",
    "AttributeType",
    "JsonObject",
    "Mutability",
    "ResolvedAttribute",
    "Returned",
    "Schema",
    "Uniqueness",
    "common_attribute",
    "resolve_path",
    "schema_by_urn",
]
