"""Tokenizer and recursive-descent parser for SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2).

"The filter parameter MUST contain at least one valid expression (see Table 3). Each
expression MUST contain an attribute name followed by an attribute operator and optional
value. Multiple expressions MAY be combined using the logical operators (see Table 4).
Furthermore, expressions can be grouped together using round brackets "( )"."

Grammar, with the precedence of RFC 7644 §3.4.2.2 Table 5 ("not" over "and" over "or")::

    filter    = or-expr
    or-expr   = and-expr *("or" and-expr)
    and-expr  = unary *("and" unary)
    unary     = "not" "(" or-expr ")" / "(" or-expr ")" / term
    term      = attrPath "pr" / attrPath compareOp compValue / attrPath "[" or-expr "]"

Keywords and operators are case-insensitive ("The attribute name and attribute operator
are case insensitive"). Tolerances, each harmless because the text stays unambiguous:
extra spaces, tabs and line breaks between tokens; no space next to a parenthesis, bracket
or quote (``not(title pr)``, ``userName eq"x"``); ``True``/``FALSE``/``Null`` in any case;
control characters inside a string literal.

Rejected, with ``InvalidFilter``: ``not`` without parentheses (the ABNF requires them),
brackets inside brackets ("Grouping ... not nested"), a sub-attribute after ``]`` (only a
PATCH path may have one), URN prefixes or dotted names inside brackets, ``pr``-less or
value-less expressions, unquoted strings, numbers that are not JSON numbers, ``null`` with
any operator but ``eq``/``ne``, ``co``/``sw``/``ew`` with a non-string value, and
``gt``/``ge``/``lt``/``le`` with a boolean ("Boolean and Binary attributes SHALL cause a
failed response (HTTP status code 400) with "scimType" of "invalidFilter"").

No input string makes ``parse_filter`` raise anything but ``InvalidFilter`` (nor
``parse_patch_path`` anything but ``InvalidPath``); the detail gives the 1-based character
position and what was expected, and quotes at most :data:`EXCERPT_CHARS` characters of
the input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Final, Literal, TypeAlias, TypeVar

from core.errors import InvalidFilter, InvalidPath
from core.filter.ast import (
    And,
    AttrPath,
    Compare,
    CompareOp,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    Value,
    ValuePath,
)
from core.limits import MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, MAX_FILTER_TERMS

# The defaults come from core.limits, where every input limit is listed.
MAX_LENGTH: Final = MAX_FILTER_LENGTH
MAX_DEPTH: Final = MAX_FILTER_DEPTH
MAX_TERMS: Final = MAX_FILTER_TERMS
EXCERPT_CHARS: Final = 24

_OPS: Final[dict[str, CompareOp]] = {
    "eq": "eq",
    "ne": "ne",
    "co": "co",
    "sw": "sw",
    "ew": "ew",
    "gt": "gt",
    "ge": "ge",
    "lt": "lt",
    "le": "le",
}
_STRING_OPS: Final = frozenset({"co", "sw", "ew"})
_ORDER_OPS: Final = frozenset({"gt", "ge", "lt", "le"})
_LITERALS: Final[dict[str, Value]] = {"true": True, "false": False, "null": None}
_EXPECT_OP: Final = "a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le) or 'pr'"
_EXPECT_TERM: Final = "an attribute path, '(' or 'not ('"
_EXPECT_VALUE: Final = "a value (a string in double quotes, a number, true, false or null)"

_WHITESPACE: Final = frozenset(" \t\r\n")
_DELIMITERS: Final = frozenset('()[]"') | _WHITESPACE
# ATTRNAME = ALPHA *(nameChar); nameChar = "-" / "_" / DIGIT / ALPHA (ASCII only); plus "$ref".
# ``ATTRNAME SP "eq" SP string``: whitespace as the tokenizer skips it, an escape skipping any
# character as `_string_end` does.
_SIMPLE_EQ: Final = re.compile(
    r'[ \t\r\n]*([A-Za-z][A-Za-z0-9_-]*)[ \t\r\n]+(?:[eE][qQ])[ \t\r\n]+("(?:[^"\\]|\\.)*")[ \t\r\n]*',
    re.DOTALL,
)
_CACHED_PATH_CHARS: Final = 256
_LENIENT_JSON: Final = json.JSONDecoder(strict=False)
_ATTRNAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*|\$ref")
# A URI (in practice a schema URN): scheme ":" then URN characters, not ending in ":".
_URI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~!$&'*+,;=:@/%-]*[A-Za-z0-9._~!$&'*+,;=@/%-]")
# A JSON number (RFC 8259 §6); ASCII digits only.
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")

_T = TypeVar("_T")
_Kind: TypeAlias = Literal["word", "string", "(", ")", "[", "]", "end"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    text: str
    pos: int  # 0-based offset into the input
    value: str = ""  # the decoded literal, for strings


def parse_filter(
    text: str,
    *,
    max_length: int = MAX_LENGTH,
    max_depth: int = MAX_DEPTH,
    max_terms: int = MAX_TERMS,
) -> Filter:
    """Parse a ``filter`` parameter (RFC 7644 §3.4.2.2) into an AST.

    ``max_depth`` counts every ``(``, ``not`` and ``[`` that encloses a term; ``max_terms``
    counts ``attrExp``s (``pr`` and comparisons), including those inside brackets. Raises
    ``InvalidFilter`` ("The specified filter syntax was invalid", RFC 7644 §3.12) and
    nothing else.
    """
    if len(text) <= max_length and max_terms >= 1:
        simple = _SIMPLE_EQ.fullmatch(text)
        if simple is not None:
            # The filter IdPs send before every create (`userName eq "…"`): one match instead of
            # the tokenizer and the parser, for the AST they would build (tests/unit/
            # test_filter_fast_path.py proves the two agree).
            name, literal = simple.group(1, 2)
            return Compare(AttrPath(None, name, None), "eq", _decode_string(literal, simple.start(2)))
    return parse_filter_fully(text, max_length=max_length, max_depth=max_depth, max_terms=max_terms)


def parse_filter_fully(
    text: str,
    *,
    max_length: int = MAX_LENGTH,
    max_depth: int = MAX_DEPTH,
    max_terms: int = MAX_TERMS,
) -> Filter:
    """`parse_filter` without its shortcut for ``attr eq "value"``."""
    parser = _Parser(text, max_length=max_length, max_depth=max_depth, max_terms=max_terms)
    return parser.run(parser.filter)


def parse_patch_path(
    text: str,
    *,
    max_length: int = MAX_LENGTH,
    max_depth: int = MAX_DEPTH,
    max_terms: int = MAX_TERMS,
) -> PatchPath:
    """Parse a PATCH ``path`` (RFC 7644 §3.5.2): ``PATH = attrPath / valuePath [subAttr]``.

    E.g. ``name.familyName``, ``members[value eq "2819c223…"]``,
    ``addresses[type eq "work"].streetAddress``,
    ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber``.

    Raises ``InvalidPath``: "invalidPath: The "path" attribute was invalid or malformed"
    (RFC 7644 §3.12), with the same details as :func:`parse_filter`.
    """
    if len(text) <= _CACHED_PATH_CHARS:  # IdPs send the same few paths on every PATCH
        return _parse_patch_path_cached(text, max_length, max_depth, max_terms)
    return _parse_patch_path(text, max_length, max_depth, max_terms)


@lru_cache(maxsize=1024)
def _parse_patch_path_cached(text: str, max_length: int, max_depth: int, max_terms: int) -> PatchPath:
    return _parse_patch_path(text, max_length, max_depth, max_terms)  # failures are not cached


def _parse_patch_path(text: str, max_length: int, max_depth: int, max_terms: int) -> PatchPath:
    parser = _Parser(text, max_length=max_length, max_depth=max_depth, max_terms=max_terms)
    try:
        return parser.run(parser.patch_path)
    except InvalidFilter as exc:
        raise InvalidPath(exc.detail.replace("Invalid filter", "Invalid path", 1)) from None


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Quote at most ``limit`` characters of client input, non-printables escaped."""
    shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text[:limit])
    return f"'{shown}…'" if len(text) > limit else f"'{shown}'"


def _error(pos: int, message: str) -> InvalidFilter:
    return InvalidFilter(f"Invalid filter at character {pos + 1}: {message}.")


def _describe(token: _Token) -> str:
    return "the end of the input" if token.kind == "end" else excerpt(token.text)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _WHITESPACE:
            i += 1
        elif c == '"':
            end = _string_end(text, i)
            tokens.append(_Token("string", text[i:end], i, _decode_string(text[i:end], i)))
            i = end
        elif c in "()[]":
            tokens.append(_Token(_bracket_kind(c), c, i))
            i += 1
        else:
            start = i
            while i < n and text[i] not in _DELIMITERS:
                i += 1
            tokens.append(_Token("word", text[start:i], start))
    tokens.append(_Token("end", "", n))
    return tokens


def _bracket_kind(c: str) -> _Kind:
    return "(" if c == "(" else ")" if c == ")" else "[" if c == "[" else "]"


def _string_end(text: str, start: int) -> int:
    """Offset just past the closing quote of the string literal opening at ``start``."""
    i, n = start + 1, len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    raise _error(start, "the string that starts here has no closing double quote")


def _decode_string(literal: str, pos: int) -> str:
    """Decode a literal: "String literals MUST be valid JSON strings" (RFC 7644 §3.4.2.2)."""
    if "\\" not in literal:
        return literal[1:-1]  # no escape: the text between the quotes is the value
    try:
        # strict=False tolerates raw control characters (tabs) inside the quotes.
        value = _LENIENT_JSON.decode(literal)
    except ValueError:
        raise _error(pos, "the string has an invalid escape sequence (use JSON escapes)") from None
    if not isinstance(value, str):  # pragma: no cover - a quoted literal always decodes to str
        raise _error(pos, "expected a string")
    return value


def _number(token: _Token) -> int | Decimal:
    match = _NUMBER.fullmatch(token.text)
    if match is None:
        raise _error(token.pos, f"expected {_EXPECT_VALUE}, found {excerpt(token.text)}")
    try:
        if match.group(1) is None and match.group(2) is None:
            return int(token.text)
        return Decimal(token.text)
    except (ValueError, InvalidOperation):  # more digits than int() converts
        raise _error(token.pos, "the number is too long") from None


def attr_path_at(text: str, pos: int) -> AttrPath:
    """Parse ``attrPath = [URI ":"] ATTRNAME *1subAttr``; ``pos`` locates errors."""
    schema: str | None = None
    rest = text
    if ":" in text:
        schema, _, rest = text.rpartition(":")
        if not _URI.fullmatch(schema):
            raise _error(pos, f"{excerpt(text)} does not start with a valid schema URN")
    name, dot, sub_attr = rest.partition(".")
    if not _ATTRNAME.fullmatch(name):
        hint = " (send the expression without 'filter=')" if text.lower().startswith("filter=") else ""
        raise _error(
            pos,
            f"{excerpt(text)} is not an attribute path; an attribute name is a letter "
            f"followed by letters, digits, '-' or '_'{hint}",
        )
    if dot and not _ATTRNAME.fullmatch(sub_attr):
        raise _error(pos, f"{excerpt(text)} has an invalid sub-attribute; a path has at most one '.'")
    return AttrPath(schema, name, sub_attr or None)


class _Parser:
    """One parse of one input; ``run`` maps every failure to ``InvalidFilter``."""

    def __init__(self, text: str, *, max_length: int, max_depth: int, max_terms: int) -> None:
        self._text = text
        self._max_length = max_length
        self._max_depth = max_depth
        self._max_terms = max_terms
        self._tokens: list[_Token] = []
        self._i = 0
        self._depth = 0
        self._terms = 0
        self._in_brackets = False

    def run(self, production: Callable[[], _T]) -> _T:
        if len(self._text) > self._max_length:
            raise InvalidFilter(f"Invalid filter: longer than {self._max_length} characters.")
        if not self._text.strip():
            raise InvalidFilter("Invalid filter: it is empty.")
        self._tokens = _tokenize(self._text)
        try:
            return production()
        except RecursionError:  # only reachable if max_depth is raised far above the default
            raise InvalidFilter("Invalid filter: nested too deeply.") from None

    # -- productions ------------------------------------------------------------------------

    def filter(self) -> Filter:
        expr = self._or()
        end = self._peek()
        if end.kind != "end":
            raise self._unexpected(end, "'and', 'or' or the end of the filter")
        return expr

    def patch_path(self) -> PatchPath:
        token = self._next()
        if token.kind != "word":
            raise self._unexpected(token, "an attribute path")
        path = attr_path_at(token.text, token.pos)
        if self._peek().kind != "[":
            self._expect_end("the end of the path (a PATCH path is one attribute path)")
            return PatchPath(path)
        if path.sub_attr is not None:
            raise _error(token.pos, "'[' must follow an attribute without a sub-attribute")
        value_filter = self._value_filter()
        close = self._tokens[self._i - 1]
        after = self._peek()
        sub_attr: str | None = None
        if after.kind == "word" and after.text.startswith("."):
            if after.pos != close.pos + 1:
                raise _error(after.pos, "no space is allowed between ']' and '.'")
            sub_attr = after.text[1:]
            if not _ATTRNAME.fullmatch(sub_attr):
                raise _error(after.pos + 1, f"expected a sub-attribute name, found {excerpt(sub_attr)}")
            self._i += 1
        self._expect_end("'.' and a sub-attribute, or the end of the path")
        return PatchPath(path, value_filter, sub_attr)

    def _or(self) -> Filter:
        expr = self._and()
        while self._keyword("or"):
            expr = Or(expr, self._and())
        return expr

    def _and(self) -> Filter:
        expr = self._unary()
        while self._keyword("and"):
            expr = And(expr, self._unary())
        return expr

    def _unary(self) -> Filter:
        token = self._peek()
        if token.kind == "(":
            return self._group()
        if token.kind == "word" and token.text.lower() == "not":
            self._i += 1
            if self._peek().kind != "(":
                raise self._unexpected(self._peek(), "'(' after 'not' (write 'not (…)')")
            self._enter(token)
            expr = Not(self._group())
            self._depth -= 1
            return expr
        if token.kind != "word":
            raise self._unexpected(token, _EXPECT_TERM)
        return self._term()

    def _group(self) -> Filter:
        opening = self._next()
        self._enter(opening)
        expr = self._or()
        close = self._next()
        if close.kind != ")":
            raise self._unexpected(
                close, f"'and', 'or' or ')' to close the '(' at character {opening.pos + 1}"
            )
        self._depth -= 1
        return expr

    def _term(self) -> Filter:
        token = self._next()
        path = attr_path_at(token.text, token.pos)
        if self._in_brackets and (path.schema is not None or path.sub_attr is not None):
            raise _error(token.pos, "inside '[…]' name a sub-attribute only, without URN prefix or '.'")
        if self._peek().kind == "[":
            if self._in_brackets:
                raise _error(self._peek().pos, "value filters cannot be nested ('[' inside '[…]')")
            if path.sub_attr is not None:
                raise _error(token.pos, "'[' must follow an attribute without a sub-attribute")
            expr: Filter = ValuePath(path, self._value_filter())
            after = self._peek()
            if after.kind == "word" and after.text.startswith("."):
                raise _error(after.pos, "a sub-attribute after ']' is only allowed in a PATCH path")
            return expr
        operator = self._next()
        if operator.kind != "word":
            raise self._unexpected(operator, _EXPECT_OP)
        self._terms += 1
        if self._terms > self._max_terms:
            raise _error(token.pos, f"more than {self._max_terms} expressions")
        name = operator.text.lower()
        if name == "pr":
            return Present(path)
        op = _OPS.get(name)
        if op is None:
            raise self._unexpected(operator, _EXPECT_OP)
        return Compare(path, op, self._value(op))

    def _value_filter(self) -> Filter:
        opening = self._next()
        self._enter(opening)
        self._in_brackets = True
        inner = self._or()
        close = self._next()
        if close.kind != "]":
            raise self._unexpected(
                close, f"'and', 'or' or ']' to close the '[' at character {opening.pos + 1}"
            )
        self._in_brackets = False
        self._depth -= 1
        return inner

    def _value(self, op: CompareOp) -> Value:
        token = self._next()
        value: Value
        if token.kind == "string":
            value = token.value
        elif token.kind == "word" and token.text.lower() in _LITERALS:
            value = _LITERALS[token.text.lower()]
        elif token.kind == "word" and token.text[:1] in "-0123456789":
            value = _number(token)
        elif token.kind == "word":
            raise _error(token.pos, f"expected {_EXPECT_VALUE}, found {excerpt(token.text)}")
        else:
            raise self._unexpected(token, _EXPECT_VALUE)
        if value is None and op not in ("eq", "ne"):
            raise _error(token.pos, f"null can only be compared with 'eq' or 'ne', not '{op}'")
        if op in _STRING_OPS and not isinstance(value, str):
            raise _error(token.pos, f"'{op}' needs a string value in double quotes")
        if op in _ORDER_OPS and isinstance(value, bool):
            raise _error(token.pos, f"'{op}' is not supported for boolean values")
        return value

    # -- token helpers ----------------------------------------------------------------------

    def _peek(self) -> _Token:
        return self._tokens[self._i]

    def _next(self) -> _Token:
        token = self._tokens[self._i]
        if token.kind != "end":
            self._i += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token.kind == "word" and token.text.lower() == word:
            self._i += 1
            return True
        return False

    def _expect_end(self, expected: str) -> None:
        token = self._peek()
        if token.kind != "end":
            raise self._unexpected(token, expected)

    def _enter(self, token: _Token) -> None:
        self._depth += 1
        if self._depth > self._max_depth:
            raise _error(token.pos, f"nested more than {self._max_depth} levels deep")

    def _unexpected(self, token: _Token, expected: str) -> InvalidFilter:
        return _error(token.pos, f"expected {expected}, found {_describe(token)}")
