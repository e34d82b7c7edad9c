"""The SCIM filter AST (RFC 7644 §3.4.2.2) and PATCH paths (RFC 7644 §3.5.2).

RFC 7644 §3.4.2.2, Figure 1 (ABNF)::

    FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
    valuePath = attrPath "[" valFilter "]"
    valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
    attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
    logExp    = FILTER SP ("and" / "or") SP FILTER
    compValue = false / null / true / number / string
    compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
    attrPath  = [URI ":"] ATTRNAME *1subAttr

Every node is a frozen dataclass; ``str(node)`` renders filter text that parses back to an
equal node, so nodes can be logged and round-tripped. Attribute names and schema URNs keep
the case the client wrote; compare them through :attr:`AttrPath.key`, because "attribute
names and attribute operators used in filters are case insensitive".

The analysis helpers at the end (:func:`referenced_paths`, :func:`equality_lookup`,
:func:`member_value_lookup`) let a query planner decide how to answer a filter without
evaluating it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

CompareOp: TypeAlias = Literal["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
"""The comparison operators of RFC 7644 §3.4.2.2, Table 3, lowercased (``pr`` is :class:`Present`)."""

ScalarValue: TypeAlias = str | bool | int | Decimal
"""A non-null ``compValue``: a JSON string, ``true``/``false``, or a number.

Integers without fraction or exponent are ``int``; every other number is a ``Decimal``, so
that no precision is lost and the value can go straight into a DynamoDB key condition.
"""

Value: TypeAlias = ScalarValue | None
"""A ``compValue``; ``None`` is the JSON ``null`` literal."""

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


@dataclass(frozen=True, slots=True)
class AttrPath:
    """``attrPath = [URI ":"] ATTRNAME *1subAttr`` (RFC 7644 §3.4.2.2, Figure 1).

    ``urn:ietf:params:scim:schemas:core:2.0:User:name.givenName`` is
    ``AttrPath("urn:ietf:params:scim:schemas:core:2.0:User", "name", "givenName")``.
    The URN prefix is everything before the last ``:`` of the path, so a bare schema URN
    (``urn:…:enterprise:2.0:User``) reads as schema ``urn:…:enterprise:2.0``, attribute
    ``User``: only a schema registry can tell the two apart, and this module has none.
    """

    schema: str | None
    attr: str
    sub_attr: str | None = None

    def __str__(self) -> str:
        text = f"{self.schema}:{self.attr}" if self.schema else self.attr
        return f"{text}.{self.sub_attr}" if self.sub_attr else text

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        """The lowercased ``(schema, attr, sub_attr)``: compare paths through this, never ``==``."""
        return (
            self.schema.lower() if self.schema else None,
            self.attr.lower(),
            self.sub_attr.lower() if self.sub_attr else None,
        )


@dataclass(frozen=True, slots=True)
class Compare:
    """``attrPath SP compareOp SP compValue``, e.g. ``userName eq "bjensen"``."""

    path: AttrPath
    op: CompareOp
    value: Value

    def __str__(self) -> str:
        return f"{self.path} {self.op} {render_value(self.value)}"


@dataclass(frozen=True, slots=True)
class Present:
    """``attrPath SP "pr"``: "If the attribute has a non-empty value, or if it contains a
    non-empty node for complex attributes, there is a match." (RFC 7644 §3.4.2.2)."""

    path: AttrPath

    def __str__(self) -> str:
        return f"{self.path} pr"


@dataclass(frozen=True, slots=True)
class And:
    """``FILTER SP "and" SP FILTER``: "The filter is only a match if both expressions evaluate to true"."""

    left: Filter
    right: Filter

    def __str__(self) -> str:
        parts = chain_operands(self)
        # "and" binds tighter than "or"; a right-hand "and" only exists if it was parenthesised.
        return " and ".join(f"({p})" if isinstance(p, Or | And) else str(p) for p in parts)


@dataclass(frozen=True, slots=True)
class Or:
    """``FILTER SP "or" SP FILTER``: "The filter is a match if either expression evaluates to true"."""

    left: Filter
    right: Filter

    def __str__(self) -> str:
        parts = chain_operands(self)
        return " or ".join(f"({p})" if isinstance(p, Or) else str(p) for p in parts)


@dataclass(frozen=True, slots=True)
class Not:
    """``"not" "(" FILTER ")"``: "The filter is a match if the expression evaluates to false"."""

    expr: Filter

    def __str__(self) -> str:
        return f"not ({self.expr})"


@dataclass(frozen=True, slots=True)
class ValuePath:
    """``valuePath = attrPath "[" valFilter "]"``, e.g. ``emails[type eq "work" and value co "@x.com"]``.

    "Brackets are used to filter sub-attributes of a multi-valued complex attribute": the
    paths inside ``filter`` name sub-attributes of ``path`` (schema ``None``, no
    ``sub_attr``), and all of them must hold for one and the same value of ``path``.
    """

    path: AttrPath
    filter: Filter

    def __str__(self) -> str:
        return f"{self.path}[{self.filter}]"


Filter: TypeAlias = Compare | Present | And | Or | Not | ValuePath
"""Any node of a parsed ``filter`` parameter."""


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH operation's ``path`` (RFC 7644 §3.5.2)::

        PATH = attrPath / valuePath [subAttr]

    ``name.givenName`` is ``PatchPath(AttrPath(None, "name", "givenName"))``;
    ``emails[type eq "work"].value`` is
    ``PatchPath(AttrPath(None, "emails"), <type eq "work">, "value")``. When
    ``value_filter`` is set, ``path.sub_attr`` is ``None`` and ``sub_attr`` names the
    sub-attribute of the selected values.
    """

    path: AttrPath
    value_filter: Filter | None = None
    sub_attr: str | None = None

    def __str__(self) -> str:
        if self.value_filter is None:
            return str(self.path)
        text = f"{self.path}[{self.value_filter}]"
        return f"{text}.{self.sub_attr}" if self.sub_attr else text


def render_value(value: Value) -> str:
    """Render a ``compValue`` as filter text (JSON; strings ASCII-escaped, so safe to log)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def chain_operands(node: And | Or) -> list[Filter]:
    """The operands of a left-nested chain ``((a and b) and c) and d``, found without recursion.

    The parser builds chains left-nested, so a long ``or`` of ``eq`` terms is walked in a loop.
    """
    rights: list[Filter] = []
    current: Filter = node
    while isinstance(current, And | Or) and type(current) is type(node):
        rights.append(current.right)
        current = current.left
    rights.append(current)
    rights.reverse()
    return rights


def referenced_paths(expr: Filter) -> set[AttrPath]:
    """Every attribute a filter reads, as absolute paths.

    Paths inside a value filter are joined to their attribute: ``emails[type eq "work"]``
    references ``emails.type``. Paths keep the client's case; compare via ``AttrPath.key``.
    """
    found: set[AttrPath] = set()
    stack: list[tuple[Filter, AttrPath | None]] = [(expr, None)]
    while stack:
        node, parent = stack.pop()
        match node:
            case Compare(path=path) | Present(path=path):
                found.add(path if parent is None else AttrPath(parent.schema, parent.attr, path.attr))
            case And(left=left, right=right) | Or(left=left, right=right):
                stack.extend(((left, parent), (right, parent)))
            case Not(expr=inner):
                stack.append((inner, parent))
            case ValuePath(path=path, filter=inner):
                stack.append((inner, path))
    return found


def equality_lookup(expr: Filter) -> tuple[AttrPath, ScalarValue] | None:
    """``(path, value)`` when the whole filter is one ``eq`` against a non-null value.

    ``userName eq "bjensen"`` gives ``(userName, "bjensen")``. A value filter holding a
    single ``eq``, ``emails[value eq "x"]``, means the same as ``emails.value eq "x"`` and
    gives ``(emails.value, "x")``. Anything else (``and``, ``or``, ``not``, other
    operators, ``eq null``) gives ``None``: the planner must read and evaluate.
    """
    match expr:
        case Compare(path=path, op="eq", value=value) if value is not None:
            return path, value
        case ValuePath(path=outer, filter=Compare(path=inner, op="eq", value=value)) if (
            value is not None and outer.sub_attr is None
        ):
            return AttrPath(outer.schema, outer.attr, inner.attr), value
    return None


def member_value_lookup(expr: Filter | PatchPath) -> str | None:
    """The member id ``X`` of ``members[value eq "X"]`` or ``members.value eq "X"``, else ``None``.

    Names are case-insensitive and the Group schema URN prefix is allowed. A PATCH path
    ``members[value eq "X"]`` (how Microsoft Entra ID removes one member) is accepted too.
    """
    if isinstance(expr, PatchPath):
        if expr.value_filter is None or expr.sub_attr is not None:
            return None
        expr = ValuePath(expr.path, expr.value_filter)
    hit = equality_lookup(expr)
    if hit is None:
        return None
    path, value = hit
    schema, attr, sub_attr = path.key
    if attr == "members" and sub_attr == "value" and schema in (None, GROUP_SCHEMA.lower()):
        return value if isinstance(value, str) else None
    return None
