"""Which attributes a response carries: RFC 7644 §3.4.2.5 and §3.9, RFC 7643 §7 "returned".

RFC 7644 §3.9: "attributes [...] When specified, the default list of attributes SHALL be overridden,
and each resource returned MUST contain the minimum set of resource attributes and any attributes or
sub-attributes explicitly requested by the "attributes" parameter." "excludedAttributes [...] the
default set of attributes minus those attributes listed in "excludedAttributes" is returned."
§3.4.2.5: excludedAttributes "SHALL have no effect on attributes whose schema "returned" setting is
"always"".

RFC 7643 §7 "returned":

* always: "The attribute is always returned, regardless of the contents of the "attributes" parameter."
* never: "The attribute is never returned." (password)
* default: "The attribute is returned by default in all SCIM operation responses where attribute values
  are returned. If the GET request "attributes" parameter is specified, attribute values are only
  returned if the attribute is named in the "attributes" parameter."
* request: "The attribute is returned in response to any PUT, POST, or PATCH operations if specified in
  the "attributes" parameter."

Resolutions where the RFC is silent or strict:

* Paths the schemas do not define are ignored, not an `invalidPath` error: Microsoft Entra ID asks for
  `excludedAttributes=members` and some clients ask for custom attributes a tenant does not keep.
* "attributes" and "excludedAttributes" together (the RFC has no rule for it): "attributes" wins.
* A schema URN on its own names every attribute of that schema (`attributes=urn:…:enterprise:2.0:User`).
* "schemas" is always returned and never changed: it frames the resource. "id" is returned always and
  "meta" by default, as their schema definitions (RFC 7643 §3.1) say.
* Naming a complex attribute names its default sub-attributes; a "request" sub-attribute must be
  named itself. Objects and lists left empty by projection are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from core.identity_cache import IdentityCache
from core.schema.common import common_attribute
from core.schema.model import AttributeDef, Returned, Schema
from core.schema.registry import resolve_path

_SCHEMAS_KEY: Final = "schemas"
_MEMO_LIMIT: Final = 512  # entries per memo of one projection


def parse_attribute_list(value: str | Sequence[str] | None) -> list[str]:
    """The paths of an "attributes" or "excludedAttributes" value, in order, each once.

    RFC 7644 §3.4.2.5: "A multi-valued list of strings" — on a query string, comma-separated
    ("attributes=userName,emails"); in a SearchRequest body (§3.4.3), a JSON array. Both are accepted,
    and array items may hold commas too. Spaces around names are trimmed, empty names dropped, and
    duplicates that differ only in letter case kept once (attribute names are case insensitive).
    """
    if value is None:
        return []
    parts = [value] if isinstance(value, str) else list(value)
    seen: set[str] = set()
    paths: list[str] = []
    for part in parts:
        for name in (piece.strip() for piece in part.split(",")):
            if name and name.lower() not in seen:
                seen.add(name.lower())
                paths.append(name)
    return paths


@dataclass(frozen=True, slots=True)
class _Names:
    """A resolved attribute list: whole schemas, whole attributes and single sub-attributes.

    Keys use the canonical spelling: the schema URN as `resolve_path` reports it (the core schema's
    for common attributes), then the attribute's and the sub-attribute's names.
    """

    schemas: frozenset[str] = frozenset()
    attributes: frozenset[tuple[str, str]] = frozenset()
    sub_attributes: frozenset[tuple[str, str, str]] = frozenset()

    @classmethod
    def resolve(cls, schemas: Sequence[Schema], paths: Iterable[str]) -> _Names:
        by_urn = {schema.id.lower(): schema.id for schema in schemas}
        whole_schemas: set[str] = set()
        attributes: set[tuple[str, str]] = set()
        sub_attributes: set[tuple[str, str, str]] = set()
        for path in paths:
            if path.lower() in by_urn:
                whole_schemas.add(by_urn[path.lower()])
                continue
            resolved = resolve_path(schemas, path)
            if resolved is None:
                continue  # Lenient: see the module docstring.
            if resolved.sub_attribute is None:
                attributes.add((resolved.schema, resolved.attribute.name))
            else:
                sub_attributes.add((resolved.schema, resolved.attribute.name, resolved.sub_attribute.name))
        return cls(frozenset(whole_schemas), frozenset(attributes), frozenset(sub_attributes))

    def names_whole(self, schema: str, attribute: str) -> bool:
        return schema in self.schemas or (schema, attribute) in self.attributes

    def names_sub(self, schema: str, attribute: str, sub_attribute: str) -> bool:
        return (schema, attribute, sub_attribute) in self.sub_attributes

    def touches(self, schema: str, attribute: str) -> bool:
        """Whether the list names the attribute, the whole of it or any of its sub-attributes."""
        return self.names_whole(schema, attribute) or any(
            (s, a) == (schema, attribute) for s, a, _ in self.sub_attributes
        )


_NOTHING: Final = _Names()


class Projection:
    """An "attributes"/"excludedAttributes" pair compiled against a resource type's schemas.

    Build it once per request with `wanted_attributes` and apply it to every resource of a list
    response; `needs` tells storage whether an attribute must be read at all.
    """

    # The _plan/_keep/_sub memos make a projection cheap to reuse (`cached_projection`): its
    # decisions depend only on the projection and the schemas, never on the resource.
    __slots__ = ("_excluded", "_extensions", "_keep", "_plan", "_requested", "_schemas", "_sub")

    def __init__(
        self,
        schemas: Sequence[Schema],
        attributes: str | Sequence[str] | None = None,
        excluded: str | Sequence[str] | None = None,
    ) -> None:
        if not schemas:
            raise ValueError("a projection needs at least the resource's core schema")
        self._schemas = tuple(schemas)
        requested = parse_attribute_list(attributes)
        # RFC 7644 §3.4.2.5 makes the two parameters exclusive; when both come, "attributes" wins.
        self._requested: _Names | None = _Names.resolve(schemas, requested) if requested else None
        excluded_paths = [] if requested else parse_attribute_list(excluded)
        self._excluded = _Names.resolve(schemas, excluded_paths) if excluded_paths else _NOTHING
        self._extensions = {schema.id.lower(): schema for schema in self._schemas[1:]}
        self._plan: dict[str, tuple[Schema | None, AttributeDef | None]] = {}
        self._keep: dict[tuple[str, str], bool] = {}
        self._sub: dict[tuple[str, str, str], AttributeDef | None] = {}

    def needs(self, path: str) -> bool:
        """Whether a projected resource can hold any value of the attribute or sub-attribute `path`.

        `path` is in `resolve_path` notation ("members", "emails.value", "urn:…:User:manager");
        a path the schemas do not define is never needed. For example, with
        `excludedAttributes=members` on Groups, `needs("members")` is False and storage may skip
        reading the member items.
        """
        resolved = resolve_path(self._schemas, path)
        if resolved is None or not self._keeps(resolved.schema, resolved.attribute):
            return False
        sub = resolved.sub_attribute
        return sub is None or self._keeps_sub(resolved.schema, resolved.attribute, sub)

    def apply(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        """The resource with only the attributes this projection returns (a new dict).

        `resource` is canonical (the output of `normalize_resource` plus id, meta and groups). Keys
        that no schema defines are dropped; "schemas" is copied unchanged.
        """
        out: dict[str, Any] = {}
        plan = self._plan
        for key, value in resource.items():
            if key == _SCHEMAS_KEY:
                out[key] = list(value) if isinstance(value, list) else value
                continue
            step = plan.get(key)
            if step is None:
                step = self._step(key)
                if len(plan) < _MEMO_LIMIT:  # keys come from our own documents; bounded anyway
                    plan[key] = step
            extension, definition = step
            if extension is not None:
                projected = self._extension(extension, value)
                if projected:
                    out[extension.id] = projected
            elif definition is not None:
                self._put(out, self._schemas[0].id, definition, value)
        return out

    def _step(self, key: str) -> tuple[Schema | None, AttributeDef | None]:
        """What a top-level key is: an extension's schema, a core or common attribute, or neither."""
        extension = self._extensions.get(key.lower())
        if extension is not None:
            return extension, None
        return None, self._schemas[0].attribute(key) or common_attribute(key)

    def _extension(self, schema: Schema, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if isinstance(value, Mapping):
            for key, inner in value.items():
                definition = schema.attribute(key)
                if definition is not None:
                    self._put(out, schema.id, definition, inner)
        return out

    def _put(self, out: dict[str, Any], schema: str, definition: AttributeDef, value: Any) -> None:
        if not self._keeps(schema, definition):
            return
        projected = self._project_value(schema, definition, value)
        if projected not in (None, [], {}):
            out[definition.name] = projected

    def _project_value(self, schema: str, definition: AttributeDef, value: Any) -> Any:
        if not definition.is_complex:
            return list(value) if isinstance(value, list) else value
        if isinstance(value, list):
            items = (self._project_complex(schema, definition, item) for item in value)
            return [item for item in items if item]
        return self._project_complex(schema, definition, value)

    def _project_complex(self, schema: str, definition: AttributeDef, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if isinstance(value, Mapping):
            memo = self._sub
            for key, inner in value.items():
                if inner is None:
                    continue
                memo_key = (schema, definition.name, key)
                if memo_key in memo:
                    sub = memo[memo_key]
                else:
                    sub = definition.sub_attribute(key)
                    if sub is not None and not self._keeps_sub(schema, definition, sub):
                        sub = None
                    if len(memo) < _MEMO_LIMIT:
                        memo[memo_key] = sub
                if sub is not None:
                    out[sub.name] = inner
        return out

    def _keeps(self, schema: str, definition: AttributeDef) -> bool:
        """RFC 7643 §7 "returned" for a top-level attribute, given the two parameters (memoized)."""
        key = (schema, definition.name)
        kept = self._keep.get(key)
        if kept is None:
            kept = self._decide(schema, definition)
            if len(self._keep) < _MEMO_LIMIT:
                self._keep[key] = kept
        return kept

    def _decide(self, schema: str, definition: AttributeDef) -> bool:
        if definition.returned is Returned.NEVER:
            return False
        if definition.returned is Returned.ALWAYS:
            return True
        if self._requested is not None:
            return self._requested.touches(schema, definition.name)
        if definition.returned is Returned.REQUEST:
            return False
        return not self._excluded.names_whole(schema, definition.name)

    def _keeps_sub(self, schema: str, parent: AttributeDef, sub: AttributeDef) -> bool:
        """The "returned" rule for a sub-attribute of a kept attribute; named sub-attributes narrow it."""
        if sub.returned in (Returned.NEVER, Returned.ALWAYS):
            return sub.returned is Returned.ALWAYS
        requested = self._requested
        if requested is not None and requested.touches(schema, parent.name):
            if requested.names_sub(schema, parent.name, sub.name):
                return True
            return sub.returned is Returned.DEFAULT and requested.names_whole(schema, parent.name)
        if sub.returned is Returned.REQUEST:
            return False
        return not self._excluded.names_sub(schema, parent.name, sub.name)


def wanted_attributes(
    schemas: Sequence[Schema],
    *,
    attributes: str | Sequence[str] | None = None,
    excluded: str | Sequence[str] | None = None,
) -> Projection:
    """The projection for one request; ask it `needs("members")` before reading, `apply` after.

    `attributes` and `excluded` are the raw parameter values (comma-separated strings or lists).
    """
    return Projection(schemas, attributes, excluded)


def project(
    resource: Mapping[str, Any],
    schemas: Sequence[Schema],
    *,
    attributes: str | Sequence[str] | None = None,
    excluded: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    """RFC 7644 §3.4.2.5: `resource` with the attributes the parameters and "returned" select.

    Idempotent: `project(project(r, s, **p), s, **p) == project(r, s, **p)`.
    """
    return Projection(schemas, attributes, excluded).apply(resource)


_PROJECTIONS: Final = IdentityCache[Projection](256)  # a handful of parameter pairs per schema set


def _list_key(value: str | Sequence[str] | None) -> str | tuple[str, ...] | None:
    return value if value is None or isinstance(value, str) else tuple(value)


def cached_projection(
    schemas: Sequence[Schema],
    attributes: str | Sequence[str] | None = None,
    excluded: str | Sequence[str] | None = None,
) -> Projection:
    """`Projection(schemas, attributes, excluded)`, reused across requests of a warm container.

    Keyed by the schema objects' identity (`core.identity_cache`)."""
    key = (_list_key(attributes), _list_key(excluded))
    return _PROJECTIONS.get(schemas, key, lambda: Projection(schemas, attributes, excluded))
