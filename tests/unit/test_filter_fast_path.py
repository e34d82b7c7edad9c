"""`parse_filter`'s shortcut for ``attr eq "value"`` builds exactly what the full parser builds.

IdPs send ``userName eq "…"`` before every create, so `parse_filter` matches that shape with one
regular expression. The shortcut must be invisible: on any text, `parse_filter` and
`parse_filter_fully` (the tokenizer and parser alone) return equal ASTs, or both raise
`InvalidFilter` with the same detail.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.errors import InvalidFilter
from core.filter import AttrPath, Compare, parse_filter
from core.filter.parser import parse_filter_fully

PROPERTY = settings(
    max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

WHITESPACE = st.text(alphabet=" \t\r\n", max_size=3)
NAMES = st.one_of(
    st.sampled_from(["userName", "externalId", "displayName", "id", "emails", "name.givenName", "$ref"]),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,12}", fullmatch=True),
    st.text(alphabet='aZ09_-.:$[]()"', max_size=6),
)
OPERATORS = st.sampled_from(["eq", "EQ", "Eq", "eQ", "ne", "co", "pr", "e q", ""])
VALUES = st.one_of(
    st.text(max_size=12).map(json.dumps),  # well-formed JSON strings, escapes included
    st.text(max_size=12).map(lambda t: json.dumps(t, ensure_ascii=False)),
    st.sampled_from(['"a\\x"', '"unterminated', '"a\\"', '"\\u12"', '""', "true", "null", "42", '"a" and b']),
)


def outcome(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except InvalidFilter as error:
        return ("InvalidFilter", error.detail)


FILTERS = st.tuples(WHITESPACE, NAMES, WHITESPACE, OPERATORS, WHITESPACE, VALUES, WHITESPACE).map("".join)


@PROPERTY
@given(FILTERS)
@example('userName eq "bjensen@example.com"')
@example('\nuserName\tEQ  "tab\\there \\"quoted\\""\r')
@example('userName eq "a\\x"')  # an invalid escape: the same error
@example('userName eq"no space before"')  # the tokenizer splits at '"'
def test_the_shortcut_agrees_with_the_full_parser(text: str) -> None:
    assert outcome(parse_filter, text) == outcome(parse_filter_fully, text)


def test_the_shortcut_builds_a_plain_comparison() -> None:
    assert parse_filter('userName eq "Ada \\"Countess\\" Lovelace"') == Compare(
        AttrPath(None, "userName", None), "eq", 'Ada "Countess" Lovelace'
    )


@pytest.mark.parametrize(
    ("text", "limit"),
    [('userName eq "x"', 14), ('userName eq "x"', 15)],
)
def test_the_length_limit_holds_for_the_shortcut_too(text: str, limit: int) -> None:
    assert outcome(lambda t: parse_filter(t, max_length=limit), text) == outcome(
        lambda t: parse_filter_fully(t, max_length=limit), text
    )
    if len(text) > limit:
        with pytest.raises(InvalidFilter):
            parse_filter(text, max_length=limit)
