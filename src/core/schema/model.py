"""Attribute and schema definitions: RFC 7643 §2 (attribute characteristics) and §7 (the Schema resource).

RFC 7643 §7: "Each attribute definition has the following characteristics: name, type, multiValued,
description, required, canonicalValues, caseExact, mutability, returned, uniqueness, referenceTypes,
subAttributes." §2.1: "Attribute names are case insensitive". Every definition here is immutable and
built once at import, so lookups at request time are dictionary reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.schema.urns import SCHEMA_SCHEMA

JsonObject = dict[str, Any]


class AttributeType(StrEnum):
    """RFC 7643 §2.3 data types, spelled as the "type" characteristic spells them."""

    STRING = "string"
    BOOLEAN = "boolean"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATE_TIME = "dateTime"
    REFERENCE = "reference"
    COMPLEX = "complex"
    BINARY = "binary"


class Mutability(StrEnum):
    """RFC 7643 §7 "mutability"."""

    READ_ONLY = "readOnly"
    READ_WRITE = "readWrite"
    IMMUTABLE = "immutable"
    WRITE_ONLY = "writeOnly"


class Returned(StrEnum):
    """RFC 7643 §7 "returned"."""

    ALWAYS = "always"
    NEVER = "never"
    DEFAULT = "default"
    REQUEST = "request"


class Uniqueness(StrEnum):
    """RFC 7643 §7 "uniqueness"."""

    NONE = "none"
    SERVER = "server"
    GLOBAL = "global"


# RFC 7643 §8.7.1 writes "caseExact" and "uniqueness" for simple, non-boolean attributes only; it leaves
# them out for booleans and complex attributes, where they carry no meaning. to_scim() does the same.
_NO_CASE_OR_UNIQUENESS = frozenset({AttributeType.BOOLEAN, AttributeType.COMPLEX})


@dataclass(frozen=True, slots=True)
class AttributeDef:
    """One attribute (or sub-attribute) definition with every RFC 7643 §7 characteristic.

    The defaults are those RFC 7643 §2.2 gives an attribute whose characteristics are not stated:
    string, single-valued, not required, caseExact false, readWrite, returned default, uniqueness none.
    """

    name: str
    type: AttributeType = AttributeType.STRING
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    canonical_values: tuple[str, ...] = ()
    case_exact: bool = False
    mutability: Mutability = Mutability.READ_WRITE
    returned: Returned = Returned.DEFAULT
    uniqueness: Uniqueness = Uniqueness.NONE
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[AttributeDef, ...] = ()
    _subs_by_name: dict[str, AttributeDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A definition that breaks these rules is a bug in this package: fail at import, not per request.
        if self.sub_attributes and self.type is not AttributeType.COMPLEX:
            raise ValueError(f"{self.name}: only complex attributes have subAttributes (RFC 7643 §2.3.8)")
        if self.reference_types and self.type is not AttributeType.REFERENCE:
            raise ValueError(f"{self.name}: referenceTypes apply to reference attributes only (RFC 7643 §7)")
        if any(sub.type is AttributeType.COMPLEX for sub in self.sub_attributes):
            raise ValueError(f"{self.name}: sub-attributes must not be complex (RFC 7643 §2.3.8)")
        by_name = {sub.name.lower(): sub for sub in self.sub_attributes}
        if len(by_name) != len(self.sub_attributes):
            raise ValueError(f"{self.name}: sub-attribute names must be unique, ignoring case")
        object.__setattr__(self, "_subs_by_name", by_name)

    @property
    def is_complex(self) -> bool:
        return self.type is AttributeType.COMPLEX

    def sub_attribute(self, name: str) -> AttributeDef | None:
        """The sub-attribute called `name`, ignoring case (RFC 7643 §2.1), or None."""
        return self._subs_by_name.get(name.lower())

    def to_scim(self) -> JsonObject:
        """The RFC 7643 §7 representation, with the key names and order of RFC 7643 §8.7.1."""
        doc: JsonObject = {"name": self.name, "type": str(self.type)}
        if self.type is AttributeType.REFERENCE:
            doc["referenceTypes"] = list(self.reference_types)
        doc["multiValued"] = self.multi_valued
        doc["description"] = self.description
        doc["required"] = self.required
        if self.type is AttributeType.COMPLEX:
            doc["subAttributes"] = [sub.to_scim() for sub in self.sub_attributes]
        if self.type not in _NO_CASE_OR_UNIQUENESS:
            doc["caseExact"] = self.case_exact
        if self.canonical_values:
            doc["canonicalValues"] = list(self.canonical_values)
        doc["mutability"] = str(self.mutability)
        doc["returned"] = str(self.returned)
        if self.type not in _NO_CASE_OR_UNIQUENESS:
            doc["uniqueness"] = str(self.uniqueness)
        return doc


@dataclass(frozen=True, slots=True)
class Schema:
    """RFC 7643 §7: a schema is identified by its URN `id` and lists its top-level attributes."""

    id: str
    name: str
    description: str
    attributes: tuple[AttributeDef, ...]
    _by_name: dict[str, AttributeDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {attr.name.lower(): attr for attr in self.attributes}
        if len(by_name) != len(self.attributes):
            raise ValueError(f"{self.id}: attribute names must be unique, ignoring case")
        object.__setattr__(self, "_by_name", by_name)

    def attribute(self, name: str) -> AttributeDef | None:
        """The top-level attribute called `name`, ignoring case (RFC 7643 §2.1), or None."""
        return self._by_name.get(name.lower())

    def to_scim(self, base_url: str | None = None) -> JsonObject:
        """The RFC 7643 §7 Schema resource; `meta` is added when the service's base URL is known."""
        doc: JsonObject = {
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [attr.to_scim() for attr in self.attributes],
        }
        if base_url is not None:
            doc["meta"] = {"resourceType": "Schema", "location": f"{base_url.rstrip('/')}/Schemas/{self.id}"}
        return doc
