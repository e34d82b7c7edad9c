"""Schema lookup and attribute-path resolution: RFC 7643 §2.1, §3.3 and RFC 7644 §3.10.

RFC 7644 §3.10: "Clients MAY use a fully qualified attribute name, "urn:ietf:params:scim:schemas:core:2.0:
User:name.givenName" [...] the attribute name is separated from the schema URI by a colon". RFC 7643
§2.1: "Attribute names are case insensitive". The filter parser, the PATCH engine and projection all
turn a path into a definition here, so they agree on what a path means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from core.identity_cache import IdentityCache
from core.schema.common import COMMON_ATTRIBUTES, common_attribute
from core.schema.enterprise import ENTERPRISE_USER
from core.schema.group import GROUP
from core.schema.model import AttributeDef, Schema
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
    "ENTERPRISE_USER_SCHEMA",
    "ERROR_SCHEMA",
    "GROUP_SCHEMA",
    "LIST_RESPONSE_SCHEMA",
    "PATCH_OP_SCHEMA",
    "RESOURCE_TYPE_SCHEMA",
    "SCHEMA_SCHEMA",
    "SEARCH_REQUEST_SCHEMA",
    "SERVICE_PROVIDER_CONFIG_SCHEMA",
    "USER_SCHEMA",
    "ResolvedAttribute",
    "common_attribute",
    "resolve_path",
    "schema_by_urn",
]

ALL_SCHEMAS: tuple[Schema, ...] = (USER, ENTERPRISE_USER, GROUP)

_BY_URN = {schema.id.lower(): schema for schema in ALL_SCHEMAS}


def schema_by_urn(urn: str) -> Schema | None:
    """The resource schema whose id is `urn`, ignoring case, or None."""
    return _BY_URN.get(urn.lower())


@dataclass(frozen=True, slots=True)
class ResolvedAttribute:
    """What an attribute path names, with the RFC's spelling of every part.

    `schema` is the URN of the schema that holds the attribute: the resource's core schema for its own
    attributes and for the common ones (id, externalId, meta), the extension's URN otherwise.
    `extension` is true when the value lives in the resource under the extension URN key (RFC 7643 §3.3).
    """

    schema: str
    attribute: AttributeDef
    sub_attribute: AttributeDef | None = None
    extension: bool = False

    @property
    def definition(self) -> AttributeDef:
        """The innermost definition: the sub-attribute's when there is one."""
        return self.sub_attribute or self.attribute

    @property
    def path(self) -> str:
        """The canonical path without the schema URN, e.g. "name.givenName" or "manager.value"."""
        if self.sub_attribute is None:
            return self.attribute.name
        return f"{self.attribute.name}.{self.sub_attribute.name}"

    @property
    def qualified_path(self) -> str:
        """The canonical fully qualified path, e.g. "urn:ietf:params:scim:schemas:core:2.0:User:userName"."""
        return f"{self.schema}:{self.path}"


_RESOLVED: Final = IdentityCache[ResolvedAttribute | None](4096)
_CACHED_PATH_CHARS = 256  # longer paths (hostile input) are resolved, not remembered


def resolve_path(resource_schemas: Sequence[Schema], path: str) -> ResolvedAttribute | None:
    """`resolve_path_uncached`, remembered per path and schema objects (`core.identity_cache`):
    normalisation, PATCH and projections resolve the same few paths on every request."""
    if not isinstance(path, str) or len(path) > _CACHED_PATH_CHARS:
        return resolve_path_uncached(resource_schemas, path)
    return _RESOLVED.get(resource_schemas, path, lambda: resolve_path_uncached(resource_schemas, path))


def resolve_path_uncached(resource_schemas: Sequence[Schema], path: str) -> ResolvedAttribute | None:
    """Resolve `path` against a resource's schemas: the core schema first, then its extensions.

    Accepted forms: "attr", "attr.sub", and either one prefixed by a schema URN and ":". A path without
    a URN names an attribute of the core schema or a common attribute; extension attributes need their
    URN (RFC 7644 §3.10). Returns None for anything else: an unknown or foreign URN, an unknown
    attribute or sub-attribute, a sub-attribute of a simple attribute, more than one ".", empty parts.
    """
    if not resource_schemas or not path:
        return None
    core = resource_schemas[0]
    schema: Schema | None = core
    attribute_path = path
    if path[:4].lower() == "urn:":
        # Attribute names cannot contain ":" (RFC 7643 §2.1 ATTRNAME), so the last ":" ends the URN,
        # even though the URN's own "2.0" holds a dot.
        urn, _, attribute_path = path.rpartition(":")
        schema = next((s for s in resource_schemas if s.id.lower() == urn.lower()), None)
    parts = attribute_path.split(".")
    if schema is None or len(parts) > 2 or not all(parts):
        return None
    found = _lookup(schema, parts, with_common=schema is core)
    if found is None:
        return None
    attribute, sub_attribute = found
    return ResolvedAttribute(
        schema=schema.id,
        attribute=attribute,
        sub_attribute=sub_attribute,
        extension=schema is not core,
    )


def _lookup(
    schema: Schema, parts: Sequence[str], *, with_common: bool
) -> tuple[AttributeDef, AttributeDef | None] | None:
    attribute = schema.attribute(parts[0])
    if attribute is None and with_common:
        attribute = common_attribute(parts[0])
    if attribute is None:
        return None
    if len(parts) == 1:
        return attribute, None
    # A simple attribute has no sub-attributes, so "userName.value" ends here too.
    sub_attribute = attribute.sub_attribute(parts[1])
    return None if sub_attribute is None else (attribute, sub_attribute)
