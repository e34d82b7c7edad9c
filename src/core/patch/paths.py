"""What a PATCH operation targets: its "path" (RFC 7644 §3.5.2) or, without one, its "value" object.

RFC 7644 §3.5.2: "The "path" attribute value is a String containing an attribute path describing the
target of the operation. The "path" attribute is OPTIONAL for "add" and "replace" and is REQUIRED for
"remove" operations." Figure 7 gives its grammar::

    PATH = attrPath / valuePath [subAttr]

The text is parsed by :func:`core.filter.parse_patch_path` and the names resolved, ignoring case,
through the resource's schemas (:func:`core.schema.resolve_path`), so every :class:`Target` carries
the canonical definitions. Errors:

* "invalidPath: The "path" attribute was invalid or malformed" (RFC 7644 §3.12), also for a name
  that is not an attribute of the resource;
* "invalidFilter: The specified filter syntax was invalid [...], or the specified attribute and filter
  comparison combination is not supported", which §3.12 lists for "PATCH (Path Filter)": a value
  filter that does not parse, or that names an unknown sub-attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from core.errors import InvalidFilter, InvalidPath, InvalidValue
from core.filter import AttrInfo, AttrType, Compare, Filter, matches, parse_filter, parse_patch_path, validate
from core.filter.ast import PatchPath, referenced_paths
from core.filter.parser import excerpt
from core.schema import AttributeDef, Schema, resolve_path


@dataclass(frozen=True, slots=True)
class Target:
    """One attribute a PATCH operation acts on, with canonical definitions.

    `attribute` is the top-level attribute (its value lives in the resource, or under the extension's
    URN key when `extension` is true). `sub_attribute` is set for ``name.givenName`` and for
    ``emails[type eq "work"].value``; `value_filter` for a valuePath (its paths name sub-attributes
    of `attribute`).
    """

    schema: str
    extension: bool
    attribute: AttributeDef
    sub_attribute: AttributeDef | None = None
    value_filter: Filter | None = None

    @property
    def key(self) -> str:
        """The name reported in `PatchResult.changed`: ``userName``, or ``urn:…:User:employeeNumber``."""
        return f"{self.schema}:{self.attribute.name}" if self.extension else self.attribute.name

    def selector(self) -> Callable[[Any], bool]:
        """A predicate telling which values of the multi-valued attribute the value filter selects."""
        value_filter = self.value_filter
        if value_filter is None:
            return lambda _element: True
        info = SubAttributeInfo(self.attribute)
        return lambda element: isinstance(element, Mapping) and matches(value_filter, element, info)


class SubAttributeInfo:
    """The evaluator's view (`core.filter.AttributeInfo`) of one complex attribute's sub-attributes.

    A value filter is evaluated with each value of the attribute as its scope, so a filter path such
    as ``type`` names a sub-attribute; its declared type and caseExact decide the comparison.
    """

    __slots__ = ("_attribute",)

    def __init__(self, attribute: AttributeDef) -> None:
        self._attribute = attribute

    def info(self, schema: str | None, attr: str, sub_attr: str | None) -> AttrInfo | None:
        sub = self._attribute.sub_attribute(attr) if schema is None and sub_attr is None else None
        if sub is None:
            return None
        return AttrInfo(
            cast(AttrType, str(sub.type)), case_exact=sub.case_exact, multi_valued=sub.multi_valued
        )


def schema_named(schemas: Sequence[Schema], text: str) -> Schema | None:
    """The schema among `schemas` whose URN is `text`, ignoring case (RFC 8141 §3), or None."""
    lowered = text.lower()
    return next((schema for schema in schemas if schema.id.lower() == lowered), None)


def resolve_target(schemas: Sequence[Schema], text: str) -> Target:
    """Parse and resolve a PATCH "path" (RFC 7644 §3.5.2, Figure 7) against the resource's schemas."""
    patch_path = _parse(text)
    resolved = resolve_path(schemas, str(patch_path.path))
    if resolved is None:
        raise InvalidPath(f"The path {excerpt(text)} names no attribute of this resource.")
    if patch_path.value_filter is None:
        return Target(resolved.schema, resolved.extension, resolved.attribute, resolved.sub_attribute)
    attribute = resolved.attribute
    if not (attribute.multi_valued and attribute.is_complex):
        # RFC 7644 §3.4.2.2: "Brackets are used to filter sub-attributes of a multi-valued complex
        # attribute".
        raise InvalidPath(
            f"The path {excerpt(text)} filters '{attribute.name}', which is not a multi-valued complex "
            "attribute."
        )
    _check_filter(attribute, patch_path.value_filter)
    sub_attribute: AttributeDef | None = None
    if patch_path.sub_attr is not None:
        sub_attribute = attribute.sub_attribute(patch_path.sub_attr)
        if sub_attribute is None:
            raise InvalidPath(
                f"The path {excerpt(text)} names no sub-attribute '{patch_path.sub_attr}' of "
                f"'{attribute.name}'."
            )
    return Target(resolved.schema, resolved.extension, attribute, sub_attribute, patch_path.value_filter)


def schema_targets(schema: Schema, *, extension: bool) -> list[Target]:
    """Every attribute of `schema`: what a path naming the schema URN itself covers."""
    return [Target(schema.id, extension, attribute) for attribute in schema.attributes]


def expand_value(schemas: Sequence[Schema], value: Any) -> list[tuple[Target, Any]]:
    """The (target, value) pairs of a path-less "add" or "replace".

    RFC 7644 §3.5.2.1: "If omitted, the target location is assumed to be the resource itself. The
    "value" parameter contains a set of attributes to be added to the resource." Each key is
    resolved like a path, so these all work: ``nickName`` (any case), ``name.givenName`` and
    ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`` (the keys Microsoft
    Entra ID sends), and a schema URN whose value is an object of that schema's attributes (RFC 7643
    §3.3, the shape of a resource).

    ``id`` and ``meta`` are attributes like the others: readOnly (RFC 7643 §3.1), so a value equal to
    the resource's is no change and any other is refused with ``mutability`` by the operation. Okta's
    group rename echoes the group's own id, ``{"op":"replace","value":{"id":"…","displayName":"…"}}``,
    which is therefore accepted. ``schemas`` is skipped: it is not an attribute of any schema (RFC 7643
    §3), and the engine keeps it consistent with the extensions the resource holds.
    """
    if not isinstance(value, Mapping):
        raise InvalidValue(
            'Without a "path", the "value" must be an object whose members are attributes of the '
            "resource (RFC 7644 §3.5.2.1, §3.5.2.3)."
        )
    pairs: list[tuple[Target, Any]] = []
    for key, item in value.items():
        if not isinstance(key, str) or key.lower() == "schemas":
            continue
        schema = schema_named(schemas, key)
        if schema is not None:
            pairs.extend(_expand_schema_object(schemas, schema, item))
        else:
            pairs.append((_value_key_target(schemas, key), item))
    return pairs


def _value_key_target(schemas: Sequence[Schema], key: str) -> Target:
    """A key of a path-less value: an attribute, or (Microsoft Entra ID's keys, see `expand_value`)
    a dotted sub-attribute or a URN-qualified attribute. A value filter is a path, not an attribute
    name, and no IdP sends one as a key: ``invalidPath``."""
    target = resolve_target(schemas, key)
    if target.value_filter is not None:
        raise InvalidPath(
            f'The key {excerpt(key)} of a path-less "value" is a value filter; send it as the "path" of '
            "an operation of its own."
        )
    return target


def creation_template(target: Target) -> dict[str, Any] | None:
    """The value to create when a value filter selects nothing, or None when none can be made.

    Tolerance (Microsoft Entra ID): RFC 7644 §3.5.2.3 says a valuePath that matches no value
    fails with "noTarget", but Entra's documented update of a user sends
    ``{"op":"Replace","path":"emails[type eq \\"work\\"].value","value":"…"}`` to users that have no
    work email yet, and expects one to be created. When the filter is exactly ``type eq "X"`` (the
    form of every valuePath in Entra's attribute mappings), the new value holds that ``type``. An
    ``add`` through such a valuePath creates it too (RFC 7644 §3.5.2.1: "If the target location does
    not exist, the attribute and value are added"). Any other filter that selects nothing is
    ``noTarget``.
    """
    value_filter = target.value_filter
    if value_filter is None:
        return None
    if not (isinstance(value_filter, Compare) and value_filter.op == "eq"):
        return None
    sub = target.attribute.sub_attribute(value_filter.path.attr)
    if sub is None or sub.name != "type" or not isinstance(value_filter.value, str):
        return None
    return {sub.name: value_filter.value}


def _parse(text: str) -> PatchPath:
    try:
        return parse_patch_path(text)
    except InvalidPath:
        # The parser reports every failure as invalidPath; a bracketed filter that does not parse on
        # its own is reported as the RFC 7644 §3.12 "invalidFilter" instead.
        start, end = text.find("["), text.rfind("]")
        if 0 <= start < end:
            parse_filter(text[start + 1 : end])
        raise


def _check_filter(attribute: AttributeDef, value_filter: Filter) -> None:
    for path in referenced_paths(value_filter):
        if attribute.sub_attribute(path.attr) is None:
            raise InvalidFilter(
                f"Invalid filter: {excerpt(path.attr)} is not a sub-attribute of '{attribute.name}'."
            )
    # Type checks once, up front, so the answer never depends on the values the resource holds.
    validate(value_filter, SubAttributeInfo(attribute))


def _expand_schema_object(schemas: Sequence[Schema], schema: Schema, value: Any) -> list[tuple[Target, Any]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise InvalidValue(f"The value of '{schema.id}' must be an object of that schema's attributes.")
    pairs: list[tuple[Target, Any]] = []
    for key, item in value.items():
        # An extension object may repeat its own "schemas" (scim2-tester, some IdPs): not an attribute.
        if isinstance(key, str) and key.lower() != "schemas":
            pairs.append((resolve_target(schemas, f"{schema.id}:{key}"), item))
    return pairs
