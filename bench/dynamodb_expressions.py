"""The part of DynamoDB's expression language the service uses, for the in-memory benchmark table.

Conditions: ``AND``/``OR``/``NOT``, parentheses, ``attribute_exists``, ``attribute_not_exists``,
``begins_with`` and the comparisons ``= <> < <= > >=``. Updates: ``SET a = :v`` (also
``if_not_exists(a, :v)``), ``ADD n :d`` and ``REMOVE a``. Anything else raises `Unsupported`, so a
new expression in the store fails the benchmark loudly instead of being evaluated wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

Item = dict[str, Any]
_TOKEN = re.compile(r"\s*(<>|<=|>=|[=<>(),]|[:#]?[A-Za-z0-9_.]+)")
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class Unsupported(ValueError):
    """An expression outside the subset this table implements."""


def tokens(text: str) -> list[str]:
    found = _TOKEN.findall(text)
    if "".join(found) != re.sub(r"\s+", "", text):
        raise Unsupported(text)
    return found


def comparable(value: Mapping[str, Any] | None) -> Any:
    if value is None:
        return None
    ((kind, raw),) = value.items()
    return Decimal(raw) if kind == "N" else raw


class Condition:
    """A parsed condition expression, evaluated against one item (or None when absent)."""

    def __init__(self, text: str, names: Mapping[str, str], values: Mapping[str, Any]) -> None:
        self._tokens = tokens(text)
        self._names, self._values = names, values
        self._pos = 0
        self._item: Item = {}

    def holds(self, item: Item | None) -> bool:
        self._pos, self._item = 0, item or {}
        result = self._or()
        if self._pos != len(self._tokens):
            raise Unsupported(" ".join(self._tokens))
        return result

    def _peek(self) -> str:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else ""

    def _take(self, expected: str | None = None) -> str:
        token = self._peek()
        if expected is not None and token.upper() != expected:
            raise Unsupported(f"expected {expected} at {token!r}")
        self._pos += 1
        return token

    def _or(self) -> bool:
        result = self._and()
        while self._peek().upper() == "OR":
            self._take()
            right = self._and()
            result = result or right
        return result

    def _and(self) -> bool:
        result = self._factor()
        while self._peek().upper() == "AND":
            self._take()
            right = self._factor()
            result = result and right
        return result

    def _factor(self) -> bool:
        word = self._peek()
        if word.upper() == "NOT":
            self._take()
            return not self._factor()
        if word == "(":
            self._take()
            result = self._or()
            self._take(")")
            return result
        if word in {"attribute_exists", "attribute_not_exists", "begins_with"}:
            return self._function(self._take())
        left = self._operand()
        op = self._take()
        if op not in _COMPARISONS:
            raise Unsupported(op)
        right = self._operand()
        if left is None or right is None or type(left) is not type(right):
            return op == "<>" and not (left is None and right is None)
        return _COMPARISONS[op](left, right)

    def _function(self, name: str) -> bool:
        self._take("(")
        path = self._name(self._take())
        if name == "begins_with":
            self._take(",")
            prefix = self._operand()
            self._take(")")
            value = comparable(self._item.get(path))
            return isinstance(value, str) and isinstance(prefix, str) and value.startswith(prefix)
        self._take(")")
        return (path in self._item) == (name == "attribute_exists")

    def _operand(self) -> Any:
        token = self._take()
        if token.startswith(":"):
            return comparable(self._values[token])
        return comparable(self._item.get(self._name(token)))

    def _name(self, token: str) -> str:
        return self._names[token] if token.startswith("#") else token


def apply_update(item: Item, text: str, names: Mapping[str, str], values: Mapping[str, Any]) -> Item:
    """The item after an update expression (a new dict; `item` is left as it was)."""
    out = dict(item)
    clause = ""
    words = tokens(text)
    i = 0

    def name(token: str) -> str:
        return names[token] if token.startswith("#") else token

    while i < len(words):
        word = words[i]
        if word.upper() in {"SET", "ADD", "REMOVE"}:
            clause, i = word.upper(), i + 1
            continue
        if word == ",":
            i += 1
            continue
        target = name(word)
        if clause == "SET":
            if words[i + 1] != "=":
                raise Unsupported(text)
            if words[i + 2] == "if_not_exists":  # if_not_exists ( path , :v )
                fallback = values[words[i + 6]]
                out[target] = out.get(name(words[i + 4]), fallback)
                i += 8
            else:
                out[target] = values[words[i + 2]]
                i += 3
        elif clause == "ADD":
            delta = Decimal(values[words[i + 1]]["N"])
            current = Decimal(out[target]["N"]) if target in out else Decimal(0)
            out[target] = {"N": str(current + delta)}
            i += 2
        elif clause == "REMOVE":
            out.pop(target, None)
            i += 1
        else:
            raise Unsupported(text)
    return out


def key_condition(
    text: str, names: Mapping[str, str], values: Mapping[str, Any]
) -> tuple[str, str, Callable[[str], bool] | None, str | None]:
    """(hash attribute, hash value, range predicate or None, range attribute or None)."""
    words = tokens(text)

    def name(token: str) -> str:
        return names[token] if token.startswith("#") else token

    def value(token: str) -> Any:
        return comparable(values[token])

    if len(words) < 3 or words[1] != "=":
        raise Unsupported(text)
    hash_name, hash_value = name(words[0]), value(words[2])
    rest = words[3:]
    if not rest:
        return hash_name, hash_value, None, None
    if rest[0].upper() != "AND":
        raise Unsupported(text)
    rest = rest[1:]
    if rest[0] == "begins_with":  # begins_with ( sk , :v )
        prefix = value(rest[4])
        return hash_name, hash_value, lambda v: v.startswith(prefix), name(rest[2])
    if len(rest) == 5 and rest[1].upper() == "BETWEEN":
        low, high = value(rest[2]), value(rest[4])
        return hash_name, hash_value, lambda v: low <= v <= high, name(rest[0])
    if len(rest) == 3 and rest[1] in _COMPARISONS:
        compare, bound = _COMPARISONS[rest[1]], value(rest[2])
        return hash_name, hash_value, lambda v: compare(v, bound), name(rest[0])
    raise Unsupported(text)
