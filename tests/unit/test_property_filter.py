"""Property-based tests of the filter parser (RFC 7644 §3.4.2.2) and the PATCH path parser (§3.5.2).

Invariant: on any text, `parse_filter` returns an AST or raises `InvalidFilter` (400 invalidFilter),
and `parse_patch_path` returns a path or raises `InvalidPath`; nothing else, ever. A parsed filter
then validates and evaluates against any JSON document without any other exception. Well-formed
filters (rendered from random ASTs) always parse, and to the same AST. The limits of
`core.limits` hold at their edges.

Hypothesis runs derandomized with a fixed number of examples, so CI sees the same inputs each run.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidFilter, InvalidPath
from core.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    matches,
    parse_filter,
    parse_patch_path,
    validate,
)
from core.limits import MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, MAX_FILTER_TERMS

PROPERTY = settings(
    max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

# Pieces a filter is made of, so that random joins get deep into the grammar.
FRAGMENTS = (
    "userName", "name.givenName", "emails", "emails.value", "members", "value", "type", "meta.created",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName", "urn:x:", "$ref", "a-b_c", "9x", "é",
    "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "Pr",
    "and", "or", "not", "AND", "Not",
    "(", ")", "[", "]", ".", ":", '"', '\\"', "\\u00e9", "\\ud800", "\\", "\t", "\n", " ", "  ",
    '"bjensen"', '""', '"a b"', "true", "False", "null", "NULL",
    "0", "-1", "1.5", "1e9", "-0.0e-1", "01", "1.", "9" * 400, "Infinity", "NaN",
)  # fmt: skip

fragments = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)
spaced = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map(" ".join)
any_text = st.one_of(st.text(max_size=200), fragments, spaced)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["value", "type", "primary"]), inner)
    ),
    max_leaves=12,
)
ATTRIBUTES = ["userName", "name", "emails", "active", "meta", "members", "value", "type", "displayName"]
documents = st.dictionaries(st.sampled_from(ATTRIBUTES), json_values, max_size=6)

# -- random well-formed ASTs, rendered with str() --------------------------------------------------
names = st.sampled_from(["userName", "displayName", "title", "active", "externalId", "nickName"])
subs = st.sampled_from(["value", "type", "display", "primary"])
attr_paths = st.builds(
    AttrPath,
    st.sampled_from([None, "urn:ietf:params:scim:schemas:core:2.0:User"]),
    names,
    st.one_of(st.none(), subs),
)
strings = st.text(max_size=12)
numbers = st.one_of(st.integers(-(10**12), 10**12))
compare = st.one_of(
    st.builds(
        Compare, attr_paths, st.sampled_from(["eq", "ne"]), st.one_of(strings, st.booleans(), st.none())
    ),
    st.builds(Compare, attr_paths, st.sampled_from(["co", "sw", "ew"]), strings),
    st.builds(Compare, attr_paths, st.sampled_from(["gt", "ge", "lt", "le"]), st.one_of(strings, numbers)),
    st.builds(Present, attr_paths),
)
bracket_terms = st.one_of(
    st.builds(Compare, st.builds(AttrPath, st.none(), subs, st.none()), st.just("eq"), strings),
    st.builds(Present, st.builds(AttrPath, st.none(), subs, st.none())),
)
value_paths = st.builds(
    ValuePath, st.builds(AttrPath, st.none(), st.just("emails"), st.none()), bracket_terms
)
well_formed: st.SearchStrategy[Filter] = st.recursive(
    st.one_of(compare, value_paths),
    lambda inner: st.one_of(st.builds(And, inner, inner), st.builds(Or, inner, inner), st.builds(Not, inner)),
    max_leaves=8,
)


def _parse_or_refuse(text: str) -> Filter | None:
    """The AST, or None when the parser refused the text with InvalidFilter (any other error fails)."""
    try:
        return parse_filter(text)
    except InvalidFilter as exc:
        refused = exc
    assert (refused.status, refused.scim_type) == (400, "invalidFilter")
    assert refused.detail.startswith("Invalid filter")
    return None


@PROPERTY
@given(any_text)
def test_any_text_parses_or_is_invalid_filter(text: str) -> None:
    result = _parse_or_refuse(text)
    assert result is None or isinstance(result, And | Or | Not | Compare | Present | ValuePath)


@PROPERTY
@given(any_text, documents)
def test_a_parsed_filter_validates_and_evaluates_without_other_errors(text: str, doc: dict[str, Any]) -> None:
    expr = _parse_or_refuse(text)
    if expr is None:
        return
    try:
        validate(expr)
    except InvalidFilter:
        return
    assert isinstance(matches(expr, doc), bool)


@PROPERTY
@given(any_text)
def test_any_text_is_a_patch_path_or_invalid_path(text: str) -> None:
    try:
        assert isinstance(parse_patch_path(text), PatchPath)
    except InvalidPath as exc:
        refused = exc
    else:
        return
    assert (refused.status, refused.scim_type) == (400, "invalidPath")


@PROPERTY
@given(well_formed)
def test_rendered_filters_parse_back_to_the_same_tree(expr: Filter) -> None:
    text = str(expr)
    assert len(text) <= MAX_FILTER_LENGTH
    assert parse_filter(text) == expr


@PROPERTY
@given(st.integers(1, 3 * MAX_FILTER_DEPTH), st.sampled_from(["(", "not (", "not("]))
def test_nesting_beyond_the_limit_is_invalid_filter(depth: int, opening: str) -> None:
    text = opening * depth + 'userName eq "x"' + ")" * depth
    levels = depth * (2 if "not" in opening else 1)  # "not" and its "(" are a level each
    if levels <= MAX_FILTER_DEPTH:
        assert isinstance(parse_filter(text), Compare | Not)
        return
    with pytest.raises(InvalidFilter, match=f"nested more than {MAX_FILTER_DEPTH} levels"):
        parse_filter(text)


@PROPERTY
@given(st.integers(1, 2 * MAX_FILTER_TERMS), st.sampled_from([" and ", " or ", " AND "]))
def test_more_terms_than_the_limit_is_invalid_filter(terms: int, joiner: str) -> None:
    text = joiner.join(["a pr"] * terms)  # short, so the length limit is never reached first
    if terms <= MAX_FILTER_TERMS:
        assert parse_filter(text) is not None
        return
    with pytest.raises(InvalidFilter, match=f"more than {MAX_FILTER_TERMS} expressions"):
        parse_filter(text)


def test_a_filter_one_character_over_the_length_limit_is_invalid_filter() -> None:
    at_limit = 'userName eq "' + "x" * (MAX_FILTER_LENGTH - 14) + '"'
    assert len(at_limit) == MAX_FILTER_LENGTH
    assert isinstance(parse_filter(at_limit), Compare)
    with pytest.raises(InvalidFilter, match=f"longer than {MAX_FILTER_LENGTH} characters"):
        parse_filter(at_limit + " ")
    with pytest.raises(InvalidPath, match=f"longer than {MAX_FILTER_LENGTH} characters"):
        parse_patch_path(at_limit + " ")
