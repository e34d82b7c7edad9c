"""RFC 7643 §4.1.1 "password" in filters, with RFC 7644 §3.4.2.2 and §3.12.

RFC 7643 §4.1.1: "password [...] This attribute is intended to be used as a means to set, replace,
or compare (i.e., filter for equality) a password." The service keeps only an scrypt hash of it
(docs/scim.md), so comparing a filter operand with it would cost an scrypt derivation per user read:
a filter on ``password`` is refused with 400 ``invalidFilter`` ("the specified attribute and filter
comparison combination is not supported", RFC 7644 §3.12), before any data is read. It used to be
answered 200 with no resource, which claims that no user has that password.
"""

from __future__ import annotations

import pytest

from core.errors import InvalidFilter
from core.filter import parse_filter, validate
from core.query.attribute_info import attribute_info
from core.schema import ENTERPRISE_USER, USER

USER_SCHEMAS = (USER, ENTERPRISE_USER)


@pytest.mark.parametrize(
    "text",
    [
        'password eq "t1meMa$heen"',
        "password pr",
        'PASSWORD ne "x"',
        'urn:ietf:params:scim:schemas:core:2.0:User:password eq "t1meMa$heen"',
        'userName eq "bjensen" and password eq "t1meMa$heen"',
        'not (password sw "t1me")',
    ],
)
def test_s4_1_1_a_filter_on_password_is_invalid_filter(text: str) -> None:
    with pytest.raises(InvalidFilter, match=r"(?i)password.*hash") as caught:
        validate(parse_filter(text), attribute_info(USER_SCHEMAS))
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidFilter"


@pytest.mark.parametrize("text", ['userName eq "bjensen"', "emails pr", 'name.givenName sw "B"'])
def test_s4_1_1_filters_on_other_attributes_stay_valid(text: str) -> None:
    validate(parse_filter(text), attribute_info(USER_SCHEMAS))
