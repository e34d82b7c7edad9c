"""Evaluate a parsed SCIM filter against one resource, purely (RFC 7644 §3.4.2.2).

The resource is the wire shape: core attributes at the top level, extension attributes
under their schema URN key. Attribute names and URN keys are looked up case-insensitively
("Attribute names and attribute operators used in filters are case insensitive").

What the evaluator needs from a schema comes through :class:`AttributeInfo`, a protocol, so
this module imports no schema module; :class:`DefaultAttributeInfo` knows only the common
attributes of RFC 7643 §3.1 and leaves the rest to the shape of the data.

Semantics, quoting RFC 7644 §3.4.2.2 where it speaks:

* "If the specified attribute in a filter expression is a multi-valued attribute, the filter
  matches if any of the values of the specified attribute match the specified criterion."
  A complex value compared without a sub-attribute (``emails co "x"``) is compared by its
  ``value`` sub-attribute, as SCIM servers commonly do.
* ``pr``: "If the attribute has a non-empty value, or if it contains a non-empty node for
  complex attributes, there is a match." ``null``, ``""``, ``[]`` and ``{}`` (or an object
  whose members are all of these) are empty.
* ``eq null`` / ``ne null``: RFC 7643 §2.5, "Unassigned attributes, the null value, or empty
  array (in the case of a multi-valued attribute) SHALL be considered to be equivalent in
  "state"." So ``x eq null`` matches exactly when ``x pr`` does not, and ``x ne null``
  exactly when it does.
* ``ne`` against a value matches when some value differs, and also when the attribute has
  no value at all (an absent attribute is "not identical" to the operand).
* Strings honour ``caseExact``; ``gt``/``ge``/``lt``/``le`` are "a lexicographical
  comparison" for strings and "a chronological comparison" for dateTime.
* "Boolean and Binary attributes SHALL cause a failed response (HTTP status code 400) with
  "scimType" of "invalidFilter"" when ordered; ``co``/``sw``/``ew`` on a boolean, number or
  complex attribute, a value filter on a simple attribute, and an unparseable dateTime
  operand of a dateTime attribute do too. These checks use the declared schema only and run
  over the whole filter before any data is read, so whether a filter is valid never depends
  on the resource or on short-circuiting.
* Any other type mismatch (``active eq 1``, ``userName gt 5``) is simply no match.
* An attribute the schema declares unfilterable (``AttrInfo.filterable``: ``password``, which RFC
  7643 §4.1.1 says may be compared for equality, but which is stored only as a hash) is
  ``invalidFilter`` in any term, rather than a filter that silently matches nothing.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal, Protocol, TypeAlias

from core.errors import InvalidFilter
from core.filter.ast import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    Value,
    ValuePath,
    chain_operands,
)

AttrType: TypeAlias = Literal[
    "string", "boolean", "decimal", "integer", "dateTime", "reference", "binary", "complex"
]
"""The attribute data types of RFC 7643 §2.3."""


@dataclass(frozen=True, slots=True)
class AttrInfo:
    """What the evaluator needs to know about one attribute (RFC 7643 §2.2, §7)."""

    type: AttrType
    case_exact: bool = False
    multi_valued: bool = False
    # False for a value the service cannot compare (``password``: writeOnly, kept only as a hash).
    filterable: bool = True


class AttributeInfo(Protocol):
    """Schema lookup for the evaluator; the schema registry provides the real one.

    ``info(schema, attr, sub_attr)`` describes ``attr`` (or its sub-attribute) of ``schema``
    (``None`` when the filter gave no URN prefix: the resource's core schema). Names come
    as the client wrote them; compare them case-insensitively. ``None`` means unknown: the
    evaluator then infers the type from the JSON value and compares strings case-insensitively.
    """

    def info(self, schema: str | None, attr: str, sub_attr: str | None) -> AttrInfo | None: ...


_COMMON: Final[dict[tuple[str, str | None], AttrInfo]] = {
    # RFC 7643 §3.1 "Common Attributes", with the characteristics given there.
    ("id", None): AttrInfo("string", case_exact=True),
    ("externalid", None): AttrInfo("string", case_exact=True),
    ("meta", None): AttrInfo("complex"),
    ("meta", "resourcetype"): AttrInfo("string", case_exact=True),
    ("meta", "created"): AttrInfo("dateTime"),
    ("meta", "lastmodified"): AttrInfo("dateTime"),
    ("meta", "location"): AttrInfo("reference", case_exact=True),
    ("meta", "version"): AttrInfo("string", case_exact=True),
}


class DefaultAttributeInfo:
    """Knows the RFC 7643 §3.1 common attributes (``id``, ``externalId``, ``meta.*``).

    Everything else is unknown (``None``): strings then compare case-insensitively, numbers
    numerically and booleans as booleans, whatever the attribute.
    """

    def info(self, schema: str | None, attr: str, sub_attr: str | None) -> AttrInfo | None:
        return _COMMON.get((attr.lower(), sub_attr.lower() if sub_attr else None))


DEFAULT_ATTRIBUTE_INFO: Final = DefaultAttributeInfo()

_ORDERING: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_SUBSTRING: Final[dict[str, Callable[[str, str], bool]]] = {
    "co": lambda actual, wanted: wanted in actual,
    "sw": str.startswith,
    "ew": str.endswith,
}
_NOT_ORDERED: Final = frozenset({"boolean", "binary", "complex"})
_NOT_SUBSTRING: Final = frozenset({"boolean", "binary", "integer", "decimal", "complex"})


def matches(
    expr: Filter,
    resource: Mapping[str, Any],
    attribute_info: AttributeInfo = DEFAULT_ATTRIBUTE_INFO,
) -> bool:
    """Whether ``resource`` matches ``expr`` (RFC 7644 §3.4.2.2).

    Raises ``InvalidFilter`` when the filter compares an attribute in a way its declared
    type does not support (see :func:`validate`), whatever the resource holds.
    """
    validate(expr, attribute_info)
    return _eval(expr, resource, None, attribute_info)


def validate(expr: Filter, attribute_info: AttributeInfo = DEFAULT_ATTRIBUTE_INFO) -> None:
    """Raise ``InvalidFilter`` if an operator does not apply to its attribute's declared type.

    "invalidFilter: The specified filter syntax was invalid ... or the specified attribute
    and filter comparison combination is not supported." (RFC 7644 §3.12)
    """
    stack: list[tuple[Filter, AttrPath | None]] = [(expr, None)]
    while stack:
        node, parent = stack.pop()
        match node:
            case Compare():
                _check_compare(node, _info(attribute_info, node.path, parent))
            case Present():
                _check_filterable(node.path, _info(attribute_info, node.path, parent))
            case And(left=left, right=right) | Or(left=left, right=right):
                stack.extend(((left, parent), (right, parent)))
            case Not(expr=inner):
                stack.append((inner, parent))
            case ValuePath(path=path, filter=inner):
                declared = attribute_info.info(path.schema, path.attr, None)
                if declared is not None and declared.type != "complex":
                    raise _unsupported(path, "'[…]' applies to complex attributes only")
                stack.append((inner, path))


def _check_filterable(path: AttrPath, info: AttrInfo | None) -> None:
    if info is not None and not info.filterable:
        raise _unsupported(path, "the service keeps only a hash of it, so it cannot be compared")


def _check_compare(node: Compare, info: AttrInfo | None) -> None:
    if info is None:
        return
    _check_filterable(node.path, info)
    if node.op in ("gt", "ge", "lt", "le") and info.type in _NOT_ORDERED:
        raise _unsupported(node.path, f"'{node.op}' is not supported for {info.type} attributes")
    if node.op in _SUBSTRING and info.type in _NOT_SUBSTRING:
        raise _unsupported(node.path, f"'{node.op}' is not supported for {info.type} attributes")
    if (
        info.type == "dateTime"
        and node.op in _ORDERING
        and isinstance(node.value, str)
        and _to_datetime(node.value) is None
    ):
        raise _unsupported(node.path, 'the value is not a dateTime such as "2011-05-13T04:42:34Z"')


def _unsupported(path: AttrPath, reason: str) -> InvalidFilter:
    text = str(path)
    shown = text if len(text) <= 48 else f"…{text[-47:]}"
    return InvalidFilter(f"Invalid filter on '{shown}': {reason}.")


# -- evaluation ---------------------------------------------------------------------------


def _eval(expr: Filter, scope: Mapping[str, Any], parent: AttrPath | None, ai: AttributeInfo) -> bool:
    """Evaluate ``expr`` in ``scope``: the resource, or one value of ``parent`` inside ``[…]``."""
    match expr:
        case Compare():
            return _eval_compare(expr, scope, parent, ai)
        case Present(path=path):
            return any(_present(v) for v in _values(scope, path))
        case And() | Or():
            test = all if isinstance(expr, And) else any
            return test(_eval(op, scope, parent, ai) for op in chain_operands(expr))
        case Not(expr=inner):
            return not _eval(inner, scope, parent, ai)
        case ValuePath(path=path, filter=inner):
            return any(
                isinstance(item, Mapping) and _eval(inner, item, path, ai) for item in _values(scope, path)
            )
    return False  # pragma: no cover - the match is exhaustive


def _eval_compare(
    node: Compare, scope: Mapping[str, Any], parent: AttrPath | None, ai: AttributeInfo
) -> bool:
    values = _values(scope, node.path)
    if node.value is None:
        present = any(_present(v) for v in values)
        return present if node.op == "ne" else not present
    # A complex value compared as a whole is compared by its "value" sub-attribute.
    values = [_get(v, "value") if isinstance(v, Mapping) else v for v in values]
    values = [v for v in values if v is not None]
    if not values:
        return node.op == "ne"
    info = _info(ai, node.path, parent)
    return any(_compare(node.op, actual, node.value, info) for actual in values)


def _info(ai: AttributeInfo, path: AttrPath, parent: AttrPath | None) -> AttrInfo | None:
    """The declared type of what a comparison reads (a complex attribute's ``value``)."""
    if parent is not None:
        return ai.info(parent.schema, parent.attr, path.attr)
    info = ai.info(path.schema, path.attr, path.sub_attr)
    if info is not None and info.type == "complex" and path.sub_attr is None:
        return ai.info(path.schema, path.attr, "value")
    return info


def _compare(op: str, actual: Any, wanted: Value, info: AttrInfo | None) -> bool:
    kind = info.type if info is not None and info.type != "complex" else _infer(actual)
    case_exact = info.case_exact if info is not None else False
    if kind in ("string", "reference", "binary"):
        return _compare_strings(op, actual, wanted, case_exact)
    if kind == "boolean":
        return _compare_booleans(op, actual, wanted)
    if kind in ("integer", "decimal"):
        return _compare_numbers(op, actual, wanted)
    if kind == "dateTime":
        return _compare_datetimes(op, actual, wanted, case_exact)
    return False


def _infer(value: Any) -> AttrType | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "decimal"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "dateTime"
    return None


def _compare_strings(op: str, actual: Any, wanted: Value, case_exact: bool) -> bool:
    if not isinstance(actual, str) or not isinstance(wanted, str):
        return False
    if not case_exact:
        actual, wanted = actual.lower(), wanted.lower()
    substring = _SUBSTRING.get(op)
    if substring is not None:
        return substring(actual, wanted)
    return bool(_ORDERING[op](actual, wanted))


def _compare_booleans(op: str, actual: Any, wanted: Value) -> bool:
    # Tolerance (Microsoft Entra ID): booleans sent or stored as the strings "True"/"False".
    actual, wanted = _as_bool(actual), _as_bool(wanted)
    if actual is None or wanted is None or op not in ("eq", "ne"):
        return False
    return (actual is wanted) == (op == "eq")


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _compare_numbers(op: str, actual: Any, wanted: Value) -> bool:
    left, right = _as_decimal(actual), _as_decimal(wanted)
    if left is None or right is None or op not in _ORDERING:
        return False
    return bool(_ORDERING[op](left, right))


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # Via repr, so the JSON number 1.1 equals the filter's 1.1; NaN and inf never match.
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return None if value.is_nan() else value
    return None


def _compare_datetimes(op: str, actual: Any, wanted: Value, case_exact: bool) -> bool:
    if op in _SUBSTRING:
        return _compare_strings(op, actual, wanted, case_exact)
    left, right = _to_datetime(actual), _to_datetime(wanted)
    if left is None or right is None:
        return False
    return bool(_ORDERING[op](left, right))


def _to_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text (``Z`` accepted, no offset means UTC)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value[:-1] + "Z" if value.endswith("z") else value)
        except ValueError:
            return None
    else:
        return None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# -- resource access ----------------------------------------------------------------------


def _values(scope: Mapping[str, Any], path: AttrPath) -> list[Any]:
    """The values a path names in ``scope``, multi-valued attributes flattened."""
    container = _container(scope, path.schema)
    if container is None:
        return []
    items = _as_list(_get(container, path.attr))
    if path.sub_attr is None:
        return items
    found: list[Any] = []
    for item in items:
        if isinstance(item, Mapping):
            found.extend(_as_list(_get(item, path.sub_attr)))
    return found


def _container(scope: Mapping[str, Any], schema: str | None) -> Mapping[str, Any] | None:
    """Where a URN-prefixed attribute lives: its extension object, or the top level for core."""
    if schema is None:
        return scope
    extension = _get(scope, schema)
    if isinstance(extension, Mapping):
        return extension
    wanted = schema.lower()
    schemas = _as_list(_get(scope, "schemas"))
    if wanted.startswith("urn:ietf:params:scim:schemas:core:") or any(
        isinstance(s, str) and s.lower() == wanted for s in schemas
    ):
        return scope
    return None


def _get(mapping: Mapping[str, Any], name: str) -> Any:
    """``mapping[name]`` with a case-insensitive key; ``None`` when absent."""
    if name in mapping:
        return mapping[name]
    lowered = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [v for v in value if v is not None]
    return [value]


def _is_empty(value: Any) -> bool:
    if value is None or (isinstance(value, str) and value == ""):
        return True
    return isinstance(value, list | tuple | Mapping) and len(value) == 0


def _present(value: Any) -> bool:
    """Non-empty; an object counts when one of its members is non-empty."""
    if isinstance(value, Mapping):
        return any(not _is_empty(v) for v in value.values())
    return not _is_empty(value)
