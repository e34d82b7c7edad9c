"""Adapter from the schema registry to the filter evaluator's `AttributeInfo` protocol."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Final

from core.filter.evaluator import AttrInfo, AttrType
from core.identity_cache import IdentityCache
from core.schema.model import AttributeDef, Mutability, Schema
from core.schema.registry import resolve_path


class SchemaAttributeInfo:
    """Types and caseExact of a resource type's attributes, for filters (RFC 7644 §3.4.2.2)."""

    def __init__(self, schemas: Sequence[Schema]) -> None:
        self._schemas = tuple(schemas)
        self._lookup = lru_cache(maxsize=512)(self._resolve)

    def info(self, schema: str | None, attr: str, sub_attr: str | None) -> AttrInfo | None:
        return self._lookup(
            schema.lower() if schema else None, attr.lower(), sub_attr.lower() if sub_attr else None
        )

    def _resolve(self, schema: str | None, attr: str, sub_attr: str | None) -> AttrInfo | None:
        path = attr if sub_attr is None else f"{attr}.{sub_attr}"
        resolved = resolve_path(self._schemas, f"{schema}:{path}" if schema else path)
        if resolved is None:
            return None
        return _info(resolved.definition, multi_valued=resolved.attribute.multi_valued)


_INFOS: Final = IdentityCache[SchemaAttributeInfo](64)


def attribute_info(schemas: Sequence[Schema]) -> SchemaAttributeInfo:
    """`SchemaAttributeInfo(schemas)`, one per schema tuple for a warm container, so that its
    lookups are remembered across requests (keyed by the schemas' identity)."""
    return _INFOS.get(schemas, None, lambda: SchemaAttributeInfo(schemas))


def _info(definition: AttributeDef, *, multi_valued: bool) -> AttrInfo:
    attr_type: AttrType = definition.type.value
    # RFC 7643 §7 writeOnly: "Attribute values SHALL NOT be returned (e.g., because the value is a
    # stored hash)". Our only one, password, is kept as an scrypt hash: comparing a filter operand with
    # it would cost a key derivation per user read, so a filter on it is invalidFilter (400), never an
    # empty 200 claiming that no user matches.
    filterable = definition.mutability is not Mutability.WRITE_ONLY
    return AttrInfo(
        attr_type, case_exact=definition.case_exact, multi_valued=multi_valued, filterable=filterable
    )
