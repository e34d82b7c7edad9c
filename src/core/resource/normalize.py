"""Client JSON → the canonical SCIM resource: RFC 7643 §2, §3, §7 and RFC 7644 §3.3, §3.5.1.

The canonical shape is the wire shape with the RFC's spelling: core and common attributes at the top
level under their schema names ("userName", "name": {"givenName": …}), each extension's attributes in
an object under its exact schema URN (RFC 7643 §3.3), and "schemas" listing the core URN and then the
URN of each extension that holds a value. Pure code over data: no I/O, standard library only.

Tolerances, each because clients send it:

* Names and URNs in any letter case (RFC 7643 §2.1: "Attribute names are case insensitive").
* Attributes written as fully qualified top-level keys, core or extension (RFC 7644 §3.10 notation).
  Microsoft Entra ID sends extension attributes so, e.g.
  `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984"`.
* Dotted keys for a sub-attribute of a single-valued complex attribute (`"name.givenName": "Barbara"`),
  the form Microsoft Entra ID uses in PATCH operations without a "path".
* A single value where a list is expected is wrapped in a list; `null` items in a list are dropped.
* Extension data whose URN is missing from "schemas" is kept; "schemas" is rebuilt from the data.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from core.errors import InvalidSyntax, InvalidValue
from core.errors import Mutability as MutabilityError
from core.limits import MAX_MEMBERS_PER_REQUEST
from core.resource.coerce import Limits, coerce_simple, echo, type_error
from core.schema.common import COMMON_ATTRIBUTES
from core.schema.model import AttributeDef, AttributeType, Mutability, Schema
from core.schema.registry import ResolvedAttribute, resolve_path

Mode = Literal["create", "replace"]
UnknownPolicy = Literal["reject", "ignore"]

DEFAULT_LIMITS: Final = Limits()

_SCHEMAS_KEY: Final = "schemas"
_CASE_INSENSITIVE_TYPES: Final = frozenset({AttributeType.STRING, AttributeType.REFERENCE})


def normalize_resource(
    doc: Mapping[str, Any],
    schemas: Sequence[Schema],
    *,
    mode: Mode,
    existing: Mapping[str, Any] | None = None,
    unknown: UnknownPolicy = "ignore",
    extra_required: Collection[str] = (),
    limits: Limits = DEFAULT_LIMITS,
    reuse_existing: bool = False,
) -> dict[str, Any]:
    """The canonical resource for a POST (`mode="create"`) or PUT (`mode="replace"`) body.

    `schemas` is the resource type's core schema followed by its extensions (what
    `ServiceCapabilities.schemas_for` returns). `existing` is the stored canonical resource, consulted
    on replace only; with `reuse_existing`, the caller vouches that it was normalized with these
    schemas, and values of `doc` that are its very objects are kept as they are. Raises
    `InvalidSyntax` for a body that is not an object or whose "schemas" does not name the core schema
    ("schemas [...] REQUIRED", RFC 7643 §3), `InvalidValue` for a wrong type, a missing required
    attribute, a broken limit or (with `unknown="reject"`) an undefined attribute or schema, and
    `Mutability` when a replace changes an immutable value.

    Mutability (RFC 7643 §7, RFC 7644 §3.3 and §3.5.1):

    * readOnly: "Any values provided SHALL be ignored." They never reach the output; copying id, meta
      and groups from the stored resource is the caller's job.
    * immutable: accepted on create. On replace, "If one or more values are already set for the
      attribute, the input value(s) MUST match" (else `Mutability`); an omitted value keeps the stored
      one, and "If the service provider has no existing values, the new value(s) SHALL be applied."
      Multi-valued complex attributes with immutable sub-attributes (Group "members") are not checked
      per value: their values have no identity, and "values MAY be added or removed" (RFC 7643 §4.2).
    * writeOnly ("password") is kept in the output: the caller hashes or discards it, and must never
      store or return it as is. On replace, an omitted writeOnly value means "unchanged", also the
      caller's decision.
    * readWrite: what a replace omits is cleared (RFC 7644 §3.5.1: the service provider "MAY assume
      that any existing values are to be cleared").

    "Unassigned attributes, the null value, or empty array [...] SHALL be considered to be equivalent
    in "state"" (RFC 7643 §2.5): null, [] and objects left empty are dropped. `extra_required` adds
    required attribute paths (a tenant profile's), in `resolve_path` notation; a path the schemas do
    not define is a configuration bug (`ValueError`).
    """
    if not schemas:
        raise ValueError("normalize_resource needs at least the resource's core schema")
    if not isinstance(doc, Mapping):
        raise InvalidSyntax("The request body must be a JSON object (RFC 7643 §2).")
    walk = _Walk(unknown=unknown, limits=limits, reuse_existing=reuse_existing and mode == "replace")
    _check_declared_schemas(doc, schemas, walk)
    given = _route(doc, schemas, walk)
    previous: Mapping[str, Any] = existing if mode == "replace" and existing is not None else {}
    core = schemas[0]
    out: dict[str, Any] = {_SCHEMAS_KEY: [core.id]}
    out.update(_attributes((*COMMON_ATTRIBUTES, *core.attributes), given[core.id], previous, "", walk))
    for extension in schemas[1:]:
        old = previous.get(extension.id)
        values = _attributes(
            extension.attributes, given[extension.id], _mapping(old), f"{extension.id}:", walk
        )
        if values:
            out[extension.id] = values
            out[_SCHEMAS_KEY].append(extension.id)
    _check_required(out, schemas, extra_required)
    return out


@dataclass(frozen=True, slots=True)
class _Walk:
    """The per-call settings every step of the walk needs."""

    unknown: UnknownPolicy
    limits: Limits
    # A value that *is* the stored one (a PATCH's copy-on-write result keeps untouched values as the
    # same objects) is canonical already when the stored resource was normalized with these same
    # schemas: it is kept without walking it again.
    reuse_existing: bool = False

    def undefined(self, what: str) -> None:
        """An attribute or schema the resource's schemas do not define: dropped, or `InvalidValue`."""
        if self.unknown == "reject":
            raise InvalidValue(f"{what} is not defined for this resource type.")


# --- "schemas" (RFC 7643 §3) ---------------------------------------------------------------------


def _check_declared_schemas(doc: Mapping[str, Any], schemas: Sequence[Schema], walk: _Walk) -> None:
    """RFC 7643 §3: "schemas [...] REQUIRED", and it names the core schema.

    Okta and Microsoft Entra ID always send it, so its absence is a client error, not a dialect. A
    lone string is taken as a one-item list, like any other multi-valued attribute.
    """
    declared = next((value for key, value in doc.items() if key.lower() == _SCHEMAS_KEY), None)
    if isinstance(declared, str):
        declared = [declared]
    if not isinstance(declared, list) or not all(isinstance(urn, str) for urn in declared):
        raise InvalidSyntax('Attribute "schemas" is required: a list of schema URIs (RFC 7643 §3).')
    core = schemas[0].id
    lowered = {urn.lower() for urn in declared}
    if core.lower() not in lowered:
        raise InvalidSyntax(f'Attribute "schemas" must include "{core}" (RFC 7643 §3).')
    known = {schema.id.lower() for schema in schemas}
    for urn in declared:
        if urn.lower() not in known:
            walk.undefined(f"Schema {echo(urn)}")


# --- routing top-level keys to their schema -------------------------------------------------------


def _route(doc: Mapping[str, Any], schemas: Sequence[Schema], walk: _Walk) -> dict[str, dict[str, Any]]:
    """The input's attributes by schema URN, then by canonical attribute name, values untouched.

    A key is a schema URN holding an object of that schema's attributes (RFC 7643 §3.3), or an
    attribute path in RFC 7644 §3.10 notation: "userName", "name.givenName", or either qualified by
    the core or an extension URN.
    """
    given: dict[str, dict[str, Any]] = {schema.id: {} for schema in schemas}
    by_urn = {schema.id.lower(): schema for schema in schemas}
    for key, value in doc.items():
        if key.lower() == _SCHEMAS_KEY:
            continue
        schema = by_urn.get(key.lower())
        if schema is None:
            _route_path(given, schemas, key, value, walk)
        elif isinstance(value, Mapping):
            for inner_key, inner_value in value.items():
                _route_path(given, schemas, f"{schema.id}:{inner_key}", inner_value, walk)
        elif value is not None:
            raise type_error(schema.id, "an object", value)
    return given


def _route_path(
    given: dict[str, dict[str, Any]], schemas: Sequence[Schema], path: str, value: Any, walk: _Walk
) -> None:
    resolved = resolve_path(schemas, path)
    if resolved is None:
        walk.undefined(f"Attribute {echo(path)}")
        return
    bucket = given[resolved.schema]
    name = resolved.attribute.name
    if resolved.sub_attribute is None:
        bucket[name] = _merge(bucket.get(name), value)
    elif resolved.attribute.multi_valued:
        raise InvalidValue(f"Attribute '{name}' is multi-valued: send its values as a list, not '{path}'.")
    else:
        bucket[name] = _merge(bucket.get(name), {resolved.sub_attribute.name: value})


def _merge(earlier: Any, later: Any) -> Any:
    """Two spellings of one attribute: objects are merged, otherwise the later key wins."""
    if isinstance(earlier, Mapping) and isinstance(later, Mapping):
        return {**earlier, **later}
    return later


# --- attribute values (RFC 7643 §2.3, §2.4) ---------------------------------------------------------


def _attributes(
    definitions: Sequence[AttributeDef],
    given: Mapping[str, Any],
    previous: Mapping[str, Any],
    prefix: str,
    walk: _Walk,
) -> dict[str, Any]:
    """The canonical values of `definitions` from `given` (canonical names), in definition order."""
    out: dict[str, Any] = {}
    for definition in definitions:
        if definition.mutability is Mutability.READ_ONLY:
            continue  # RFC 7644 §3.3, §3.5.1: "SHALL be ignored".
        raw = given.get(definition.name)
        old = previous.get(definition.name)
        if raw is None and old is None:
            continue  # unassigned before and after: nothing to walk (most of a schema, per request)
        if raw is old and walk.reuse_existing:
            out[definition.name] = old
            continue
        path = prefix + definition.name
        value = _value(definition, raw, old, path, walk)
        if definition.mutability is Mutability.IMMUTABLE:
            value = _immutable(definition, value, old, path)
        if value is not None:
            out[definition.name] = value
    return out


def _value(definition: AttributeDef, raw: Any, old: Any, path: str, walk: _Walk) -> Any:
    """The canonical value, or None when unassigned."""
    if definition.multi_valued:
        return None if raw is None else _multi(definition, raw, path, walk)
    if definition.is_complex:
        if raw is None and not old:
            return None
        # Walked even when omitted, so that immutable sub-attributes of the stored value are kept.
        return _complex(definition, {} if raw is None else raw, _mapping(old), path, walk)
    return None if raw is None else coerce_simple(definition, raw, path, walk.limits)


def _multi(definition: AttributeDef, raw: Any, path: str, walk: _Walk) -> list[Any] | None:
    """RFC 7643 §2.4 multi-valued attribute: a list; a lone value is wrapped, as many IdPs send it."""
    items = [item for item in (raw if isinstance(raw, list | tuple) else [raw]) if item is not None]
    # A group's members are items of their own (never inline in one DynamoDB item), so IdPs that
    # POST or PUT whole groups (OneLogin, JumpCloud) may send up to the per-request member limit.
    most = MAX_MEMBERS_PER_REQUEST if path == "members" else walk.limits.max_values
    if len(items) > most:
        raise InvalidValue(f"Attribute '{path}' has {len(items)} values; at most {most} are accepted.")
    if not definition.is_complex:
        return [coerce_simple(definition, item, path, walk.limits) for item in items] or None
    values = [value for item in items if (value := _complex(definition, item, {}, path, walk))]
    _check_primary(values, path)
    return values or None


def _complex(
    definition: AttributeDef, raw: Any, previous: Mapping[str, Any], path: str, walk: _Walk
) -> dict[str, Any] | None:
    """RFC 7643 §2.3.8: a complex value, its sub-attributes checked like attributes; None if empty."""
    if not isinstance(raw, Mapping):
        raise type_error(path, "an object", raw)
    given: dict[str, Any] = {}
    for key, value in raw.items():
        sub = definition.sub_attribute(key)
        if sub is None:
            walk.undefined(f"Attribute {echo(f'{path}.{key}')}")
        else:
            given[sub.name] = value
    out = _attributes(definition.sub_attributes, given, previous, f"{path}.", walk)
    if not out:
        return None
    for sub in definition.sub_attributes:
        if sub.required and sub.mutability is not Mutability.READ_ONLY and _blank(out.get(sub.name)):
            raise InvalidValue(f"Attribute '{path}.{sub.name}' is required.")
    return out


def _check_primary(values: Sequence[Mapping[str, Any]], path: str) -> None:
    """RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once."."""
    if sum(1 for value in values if value.get("primary") is True) > 1:
        raise InvalidValue(
            f"Attribute '{path}' has more than one value with \"primary\": true; RFC 7643 §2.4: "
            '"The primary attribute value "true" MUST appear no more than once."'
        )


# --- immutable (RFC 7644 §3.5.1) ---------------------------------------------------------------------


def _immutable(definition: AttributeDef, value: Any, old: Any, path: str) -> Any:
    """An immutable attribute on replace: set once, then kept; a different value is an error."""
    if old is None or old == []:
        return value
    if value is None:
        return copy.deepcopy(old)
    if not _same(definition, value, old):
        raise MutabilityError(f"Attribute '{path}' is immutable: its value cannot be changed once set.")
    return value


def _same(definition: AttributeDef, new: Any, old: Any) -> bool:
    """Equality under the schema: caseExact honoured, multi-valued values compared as a set."""
    if not definition.multi_valued:
        return _same_value(definition, new, old)
    new_values = new if isinstance(new, list) else [new]
    old_values = old if isinstance(old, list) else [old]
    return len(new_values) == len(old_values) and all(
        any(_same_value(definition, value, other) for other in old_values) for value in new_values
    )


def _same_value(definition: AttributeDef, new: Any, old: Any) -> bool:
    if definition.is_complex and isinstance(new, Mapping) and isinstance(old, Mapping):
        return all(
            _same_value(sub, new.get(sub.name), old.get(sub.name))
            for sub in definition.sub_attributes
            if sub.mutability is not Mutability.READ_ONLY
        )
    if isinstance(new, str) and isinstance(old, str) and definition.type in _CASE_INSENSITIVE_TYPES:
        # RFC 7643 §2.2 "caseExact": "whether or not a string attribute is case sensitive".
        return new == old if definition.case_exact else new.casefold() == old.casefold()
    return bool(new == old)


# --- required (RFC 7643 §2.2, §7) --------------------------------------------------------------------


def _check_required(
    out: Mapping[str, Any], schemas: Sequence[Schema], extra_required: Collection[str]
) -> None:
    """RFC 7643 §7 "required": the schema's required attributes, then the caller's `extra_required`.

    An extension's required attributes apply when the resource carries that extension: an optional
    extension (RFC 7643 §6 "schemaExtensions" "required": false) may be left out altogether.
    RFC 7643 §4.1.1: "Each User MUST include a non-empty userName value", so a blank string is missing.
    """
    for index, schema in enumerate(schemas):
        container = out if index == 0 else out.get(schema.id)
        if isinstance(container, Mapping):
            _check_schema_required(container, schema, "" if index == 0 else f"{schema.id}:")
    for path in extra_required:
        resolved = resolve_path(schemas, path)
        if resolved is None:
            raise ValueError(f"required attribute {path!r} is not defined by the resource's schemas")
        if not _present(out, resolved):
            name = resolved.qualified_path if resolved.extension else resolved.path
            raise InvalidValue(f"Attribute '{name}' is required.")


def _check_schema_required(container: Mapping[str, Any], schema: Schema, prefix: str) -> None:
    for definition in schema.attributes:
        writable = definition.mutability is not Mutability.READ_ONLY
        if definition.required and writable and _blank(container.get(definition.name)):
            raise InvalidValue(f"Attribute '{prefix}{definition.name}' is required.")


def _present(out: Mapping[str, Any], resolved: ResolvedAttribute) -> bool:
    container = _mapping(out.get(resolved.schema)) if resolved.extension else out
    value = container.get(resolved.attribute.name)
    if resolved.sub_attribute is None:
        return not _blank(value)
    sub = resolved.sub_attribute.name
    values = value if isinstance(value, list) else [value]
    return any(isinstance(item, Mapping) and not _blank(item.get(sub)) for item in values)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
