"""Apply a SCIM PatchOp request to a resource document: RFC 7644 §3.5.2, purely.

RFC 7644 §3.5.2: "The body of each request MUST contain the "schemas" attribute with the URI value of
"urn:ietf:params:scim:api:messages:2.0:PatchOp"." "The body of an HTTP PATCH request MUST contain the
attribute "Operations", whose value is an array of one or more PATCH operations. Each PATCH operation
object MUST have exactly one "op" member, whose value indicates the operation to perform and MAY be
one of "add", "remove", or "replace"." And: "A PATCH request, regardless of the number of operations,
SHALL be treated as atomic. If a single operation encounters an error condition, the original SCIM
resource MUST be restored, and a failure status SHALL be returned."

The resource is never touched: the operations, in order, build new values (copies of the lists and
objects they change) into a working copy that shares everything they leave alone; a container is
copied the first time an operation writes into it. So an error in any operation leaves nothing
changed, and a PATCH of one attribute copies that attribute, not the whole resource. The result
reports which attributes really changed, so a PATCH that changes nothing can leave the resource's
version alone.

Tolerances for what identity providers send, each named where it is implemented:

* ``op`` in any case (Microsoft Entra ID sends ``"Replace"``, ``"Add"``, ``"Remove"``); the member
  names ``Operations``/``op``/``path``/``value`` in any case are RFC 7643 §2.1 ("Attribute names
  are case insensitive");
* path-less values with dotted, URN-qualified and valuePath keys, the resource's own ``id`` echoed
  (:func:`core.patch.paths.expand_value`);
* a ``replace`` through a valuePath that selects nothing creates the value
  (:func:`core.patch.paths.creation_template`);
* the enterprise ``manager`` as a bare id, booleans as strings, ``remove`` with a ``value`` list
  (:mod:`core.patch.operations`).

The complete list, with the request each IdP documents, is docs/scim.md "IdP tolerances"; anything
else RFC 7644 does not allow is refused.

Errors (RFC 7644 §3.12): a malformed body is ``invalidSyntax``; more than `max_operations` operations
is ``invalidValue`` (a 400: ``tooMany`` is reserved for filters that match too much); a remove without
path is ``noTarget``; the path errors are described in :mod:`core.patch.paths`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Literal, TypeAlias

from core.errors import BadRequest, InvalidPath, InvalidSyntax, InvalidValue, NoTarget
from core.filter.parser import excerpt
from core.limits import MAX_PATCH_OPERATIONS
from core.patch.operations import (
    add,
    check_attribute,
    equivalent,
    get_member,
    is_empty,
    member_key,
    remove,
    replace,
    single_primary,
    with_member,
)
from core.patch.paths import Target, expand_value, resolve_target, schema_named, schema_targets
from core.schema import PATCH_OP_SCHEMA, Schema

__all__ = [
    "DEFAULT_MAX_OPERATIONS",
    "PatchOperation",
    "PatchResult",
    "apply_operations",
    "apply_patch",
    "parse_operations",
]

DEFAULT_MAX_OPERATIONS: Final = MAX_PATCH_OPERATIONS

OpName: TypeAlias = Literal["add", "remove", "replace"]
_OPS: Final[dict[str, OpName]] = {"add": "add", "remove": "remove", "replace": "replace"}
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class PatchResult:
    """The patched resource and the attributes whose value changed.

    `changed` holds top-level attribute names as the schema spells them (``displayName``,
    ``members``) and extension attributes qualified by their schema URN
    (``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager``). Empty means the PATCH
    was a no-op: RFC 7644 §3.5.2.1, "no changes SHOULD be made to the resource [...] this operation
    SHALL NOT change the modify timestamp of the resource."
    """

    resource: dict[str, Any]
    changed: frozenset[str]


@dataclass(frozen=True, slots=True)
class PatchOperation:
    """One validated entry of "Operations"; `value` is absent for most removals."""

    op: OpName
    path: str | None = None
    value: Any = None

    def describe(self) -> str:
        return f"{self.op} {excerpt(self.path)}" if self.path is not None else self.op


def apply_patch(
    resource: Mapping[str, Any],
    body: Mapping[str, Any],
    schemas: Sequence[Schema],
    *,
    max_operations: int = DEFAULT_MAX_OPERATIONS,
) -> PatchResult:
    """Apply the PatchOp request `body` to `resource` (RFC 7644 §3.5.2) and return the outcome.

    `resource` is the wire shape: core attributes at the top level, extension attributes under their
    schema URN (RFC 7643 §3.3), and ``schemas``. `schemas` are the resource type's schemas, the core
    schema first. Attribute names are resolved ignoring case and written as the schema spells them.
    Values are not type-checked; validate the result. Raises a `core.errors.BadRequest` subclass
    whose detail names the failing operation; `resource` and `body` are never modified.
    """
    return apply_operations(resource, parse_operations(body, max_operations=max_operations), schemas)


def apply_operations(
    resource: Mapping[str, Any], operations: Sequence[PatchOperation], schemas: Sequence[Schema]
) -> PatchResult:
    """`apply_patch` for operations `parse_operations` returned (parsed once, applied on each retry
    of a write: the operations are never modified)."""
    document = _Document(resource)
    for index, operation in enumerate(operations):
        try:
            _apply(document, schemas, operation)
        except BadRequest as exc:
            raise type(exc)(f"Operations[{index}] ({operation.describe()}): {exc.detail}") from None
    return PatchResult(document.data, document.changed(resource))


def parse_operations(body: Any, *, max_operations: int = DEFAULT_MAX_OPERATIONS) -> list[PatchOperation]:
    """Validate the PatchOp envelope (RFC 7644 §3.5.2) and return its operations, values copied."""
    if not isinstance(body, Mapping):
        raise InvalidSyntax("The PATCH body must be a JSON object (RFC 7644 §3.5.2).")
    declared = get_member(body, "schemas")
    patch_op = PATCH_OP_SCHEMA.lower()
    if not isinstance(declared, list) or not any(
        isinstance(s, str) and s.lower() == patch_op for s in declared
    ):
        raise InvalidSyntax(f'A PATCH body must have "schemas": ["{PATCH_OP_SCHEMA}"] (RFC 7644 §3.5.2).')
    # "operations" in another case than "Operations": RFC 7643 §2.1, "Attribute names are case insensitive".
    raw = get_member(body, "Operations")
    if not isinstance(raw, list) or not raw:
        raise InvalidSyntax('A PATCH body must have "Operations": an array of one or more operations.')
    if len(raw) > max_operations:
        raise InvalidValue(
            f"A PATCH request may hold at most {max_operations} operations; it has {len(raw)}."
        )
    return [_operation(index, item) for index, item in enumerate(raw)]


def _operation(index: int, item: Any) -> PatchOperation:
    where = f"Operations[{index}]"
    if not isinstance(item, Mapping):
        raise InvalidSyntax(f"{where} must be an object with an 'op' member.")
    op = get_member(item, "op")
    # Tolerance (Microsoft Entra ID): "Add", "Replace", "Remove" capitalised.
    name = _OPS.get(op.lower()) if isinstance(op, str) else None
    if name is None:
        shown = excerpt(op) if isinstance(op, str) else "missing"
        raise InvalidSyntax(f'{where}: \'op\' must be "add", "remove" or "replace" (it is {shown}).')
    path = _path(where, get_member(item, "path"))
    value_key = member_key(item, "value")
    if name == "remove" and path is None:
        # RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails with HTTP status code 400
        # and a "scimType" error code of "noTarget"."
        raise NoTarget(f'{where}: "remove" needs a "path" (RFC 7644 §3.5.2.2).')
    if name != "remove" and value_key is None:
        # RFC 7644 §3.5.2.1: "The operation MUST contain a "value" member"; §3.5.2.3 likewise.
        raise InvalidValue(f'{where}: "{name}" needs a "value" member (RFC 7644 §3.5.2.1, §3.5.2.3).')
    value = None if value_key is None else copy.deepcopy(item[value_key])
    return PatchOperation(name, path, value)


def _path(where: str, path: Any) -> str | None:
    """The "path", or None when omitted; null is omitted too (RFC 7643 §2.5: null is no value).

    A blank string is not a path (RFC 7644 §3.5.2, Figure 7) and no IdP sends one: ``invalidPath``.
    """
    if path is None:
        return None
    if not isinstance(path, str):
        raise InvalidPath(f'{where}: "path" must be a string.')
    if not path.strip():
        raise InvalidPath(f'{where}: "path" is blank; omit it to target the resource itself.')
    return path


def _apply(document: _Document, schemas: Sequence[Schema], operation: PatchOperation) -> None:
    if operation.op == "remove":
        assert operation.path is not None
        for target in _remove_targets(schemas, operation.path):
            document.update(target, partial(remove, target, operation.value))
        return
    change = add if operation.op == "add" else replace
    for target, value in _value_targets(schemas, operation):
        document.update(target, partial(change, target, value))


def _value_targets(schemas: Sequence[Schema], operation: PatchOperation) -> list[tuple[Target, Any]]:
    if operation.path is None:
        pairs = expand_value(schemas, operation.value)
        if not pairs:
            # RFC 7644 §3.5.2.1: the value "contains a set of attributes to be added"; §3.5.2.3: it
            # "SHALL contain a list of one or more attributes that are to be replaced".
            raise InvalidValue(
                f'"{operation.op}" without a "path" is given no value: its "value" names no attribute '
                "(RFC 7644 §3.5.2.1, §3.5.2.3)."
            )
        return pairs
    schema = schema_named(schemas, operation.path)
    if schema is not None:
        # The path names an extension's object, the member of the resource keyed by its URN (RFC 7643
        # §3.3); its value is an object of that schema's attributes. Not in the Figure 7 grammar, and
        # no IdP documents it; scim2-tester (tests/integration/test_scim2_tester.py) sends it.
        return expand_value(schemas, {schema.id: operation.value})
    return [(resolve_target(schemas, operation.path), operation.value)]


def _remove_targets(schemas: Sequence[Schema], path: str) -> list[Target]:
    schema = schema_named(schemas, path)
    if schema is not None:
        return schema_targets(schema, extension=schema is not schemas[0])
    return [resolve_target(schemas, path)]


class _Document:
    """The working copy of the resource, and the attributes operations have written."""

    def __init__(self, resource: Mapping[str, Any]) -> None:
        # Copy-on-write: the operations never modify the values they are given (they return new
        # ones), so only the containers written into are copied: this top level now, an extension's
        # object when first written (`_container`).
        self.data: dict[str, Any] = dict(resource)
        # The extension objects copied for this document, by id (held, so no id is reused).
        self._owned: dict[int, dict[str, Any]] = {}
        self._touched: dict[str, Target] = {}

    def update(self, target: Target, change: Callable[[Any], Any]) -> None:
        """Replace the value of `target.attribute` by `change(current value)`."""
        container = self._container(target)
        current = None if container is None else get_member(container, target.attribute.name)
        new = change(current)
        if new is current:
            return
        check_attribute(target, current, new)
        if target.attribute.multi_valued:
            new = single_primary(target.attribute, current, new)
        self._touched.setdefault(target.key, target)
        if is_empty(new):
            self._unassign(target, container)
        elif target.attribute.multi_valued or not equivalent(target.attribute, current, new):
            self._assign(target, container, new)

    def changed(self, original: Mapping[str, Any]) -> frozenset[str]:
        """The attributes whose final value differs from their value in `original`."""
        return frozenset(
            key
            for key, target in self._touched.items()
            if not equivalent(target.attribute, _value_in(original, target), _value_in(self.data, target))
        )

    def _container(self, target: Target) -> dict[str, Any] | None:
        if not target.extension:
            return self.data
        key = member_key(self.data, target.schema)
        extension = None if key is None else self.data[key]
        if key is None or not isinstance(extension, dict):
            return None
        if id(extension) not in self._owned:
            extension = dict(extension)  # the resource's own object is never written into
            self.data[key] = extension
            self._owned[id(extension)] = extension
        return extension

    def _assign(self, target: Target, container: dict[str, Any] | None, value: Any) -> None:
        filled = with_member(container or {}, target.attribute.name, value)
        if container is not None:
            _replace_in_place(container, filled)
            return
        self._replace_member(target.schema, filled)
        # RFC 7643 §3: "schemas" lists the schemas of the resource, extensions included.
        self._declare(target.schema, declared=True)

    def _unassign(self, target: Target, container: dict[str, Any] | None) -> None:
        if container is None:
            return
        _replace_in_place(container, with_member(container, target.attribute.name, None))
        if target.extension and not container:
            self._replace_member(target.schema, None)
            self._declare(target.schema, declared=False)

    def _replace_member(self, name: str, value: Any) -> None:
        _replace_in_place(self.data, with_member(self.data, name, value))

    def _declare(self, urn: str, *, declared: bool) -> None:
        listed = get_member(self.data, "schemas")
        if not isinstance(listed, list):
            return
        others = [s for s in listed if not (isinstance(s, str) and s.lower() == urn.lower())]
        if declared and len(others) == len(listed):
            self._replace_member("schemas", [*listed, urn])
        elif not declared and others:
            self._replace_member("schemas", others)


def _replace_in_place(target: dict[str, Any], source: dict[str, Any]) -> None:
    target.clear()
    target.update(source)


def _value_in(resource: Mapping[str, Any], target: Target) -> Any:
    container: Any = resource
    if target.extension:
        container = get_member(resource, target.schema)
    return get_member(container, target.attribute.name) if isinstance(container, Mapping) else None
