"""RFC 7644 §3.4.2.2 "Filtering": evaluating filters against SCIM resources.

Given a resource in its wire shape (RFC 7643 §8.2's "Barbara Jensen" and variations), when
a filter is evaluated, then it matches as Table 3 (operators) and Table 4 (logic) say, with
the schema's ``caseExact`` and type honoured through an ``AttributeInfo``.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from core.errors import InvalidFilter
from core.filter import (
    AttributeInfo,
    AttrInfo,
    DefaultAttributeInfo,
    matches,
    parse_filter,
    validate,
)
from tests.rfc_samples import RFC7643_S8_2_FULL_USER

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# RFC 7643 §8.2, "Full User Representation".
BARBARA: dict[str, Any] = RFC7643_S8_2_FULL_USER


def _jsmith() -> dict[str, Any]:
    """Barbara's record turned into an intern who differs on every RFC example."""
    user = copy.deepcopy(BARBARA)
    user["schemas"] = [CORE_USER, ENTERPRISE]
    user["userName"] = "JSmith"
    user["name"] = {"familyName": "O'Malley", "givenName": "John"}
    user["userType"] = "Intern"
    del user["title"]
    user["emails"] = [{"value": "john@jsmith.net", "type": "work"}]
    user["ims"] = [{"value": "john@foo.com", "type": "xmpp"}]
    user["meta"]["lastModified"] = "2011-05-13T04:42:35Z"
    user[ENTERPRISE] = {"employeeNumber": "J-1", "manager": {"value": "bjensen", "displayName": "Babs"}}
    return user


JSMITH = _jsmith()

# Each example of RFC 7644 §3.4.2.2, with its result for Barbara and for the intern.
RFC_EXAMPLES: list[tuple[str, bool, bool]] = [
    # Barbara's userName is "bjensen@example.com", which "bjensen" is not identical to.
    ('userName eq "bjensen"', False, False),
    ('name.familyName co "O\'Malley"', False, True),
    # userName is not caseExact: "JSmith" starts with "j"; "bjensen@…" does not.
    ('userName sw "J"', False, True),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', False, True),
    ("title pr", True, False),
    # Barbara was last modified exactly at 2011-05-13T04:42:34Z, the intern one second later.
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', False, True),
    ('meta.lastModified ge "2011-05-13T04:42:34Z"', True, True),
    ('meta.lastModified lt "2011-05-13T04:42:34Z"', False, False),
    ('meta.lastModified le "2011-05-13T04:42:34Z"', True, False),
    ('title pr and userType eq "Employee"', True, False),
    ('title pr or userType eq "Intern"', True, True),
    # §8.2 lists only the core schema; the intern carries the enterprise extension.
    ('schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"', False, True),
    # "emails co" on complex values compares their "value": "bjensen@example.com".
    ('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', True, False),
    (
        'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
        False,
        True,
    ),
    ('userType eq "Employee" and (emails.type eq "work")', True, False),
    ('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', True, False),
    # Barbara's work email is @example.com; the intern has an xmpp handle @foo.com.
    (
        'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
        True,
        True,
    ),
]


class SchemaInfo:
    """A hand-written slice of the RFC 7643 §8.7.1 schemas, as the schema registry would answer."""

    TABLE: dict[tuple[str, str | None], AttrInfo] = {  # noqa: RUF012 - a test fixture
        ("id", None): AttrInfo("string", case_exact=True),
        ("externalid", None): AttrInfo("string", case_exact=True),
        ("username", None): AttrInfo("string", case_exact=False),
        ("title", None): AttrInfo("string"),
        ("usertype", None): AttrInfo("string"),
        ("active", None): AttrInfo("boolean"),
        ("name", None): AttrInfo("complex"),
        ("name", "familyname"): AttrInfo("string"),
        ("emails", None): AttrInfo("complex", multi_valued=True),
        ("emails", "value"): AttrInfo("string"),
        ("emails", "type"): AttrInfo("string"),
        ("emails", "primary"): AttrInfo("boolean"),
        ("ims", None): AttrInfo("complex", multi_valued=True),
        ("ims", "value"): AttrInfo("string"),
        ("ims", "type"): AttrInfo("string"),
        ("groups", None): AttrInfo("complex", multi_valued=True),
        ("groups", "value"): AttrInfo("string", case_exact=True),
        ("groups", "$ref"): AttrInfo("reference", case_exact=True),
        ("x509certificates", None): AttrInfo("complex", multi_valued=True),
        ("x509certificates", "value"): AttrInfo("binary", case_exact=True),
        ("schemas", None): AttrInfo("reference", multi_valued=True),
        ("meta", None): AttrInfo("complex"),
        ("meta", "lastmodified"): AttrInfo("dateTime"),
        ("meta", "created"): AttrInfo("dateTime"),
        ("logincount", None): AttrInfo("integer"),
        ("score", None): AttrInfo("decimal"),
        ("employeenumber", None): AttrInfo("string"),
    }

    def info(self, schema: str | None, attr: str, sub_attr: str | None) -> AttrInfo | None:
        return self.TABLE.get((attr.lower(), sub_attr.lower() if sub_attr else None))


SCHEMA: AttributeInfo = SchemaInfo()
DEFAULT: AttributeInfo = DefaultAttributeInfo()


def check(text: str, resource: dict[str, Any], info: AttributeInfo = SCHEMA) -> bool:
    return matches(parse_filter(text), resource, info)


class TestRfcExamples:
    @pytest.mark.parametrize(("text", "barbara", "_intern"), RFC_EXAMPLES, ids=[t for t, *_ in RFC_EXAMPLES])
    def test_against_rfc7643_s8_2_user(self, text: str, barbara: bool, _intern: bool) -> None:
        assert check(text, BARBARA) is barbara

    @pytest.mark.parametrize(("text", "_barbara", "intern"), RFC_EXAMPLES, ids=[t for t, *_ in RFC_EXAMPLES])
    def test_against_a_variant_user(self, text: str, _barbara: bool, intern: bool) -> None:
        assert check(text, JSMITH) is intern

    @pytest.mark.parametrize(("text", "barbara", "intern"), RFC_EXAMPLES, ids=[t for t, *_ in RFC_EXAMPLES])
    def test_the_default_attribute_info_agrees(self, text: str, barbara: bool, intern: bool) -> None:
        assert check(text, BARBARA, DEFAULT) is barbara
        assert check(text, JSMITH, DEFAULT) is intern


class TestCaseInsensitivity:
    @pytest.mark.parametrize(
        "text",
        [
            'USERNAME eq "bjensen@example.com"',
            'userName EQ "bjensen@example.com"',
            'NAME.FAMILYNAME eq "Jensen"',
            'EMAILS[TYPE eq "work" AND VALUE co "@example.com"]',
            "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:userName pr",
            'Meta.LastModified ge "2011-05-13T04:42:34Z"',
        ],
    )
    def test_attribute_names_and_operators(self, text: str) -> None:
        assert check(text, BARBARA)

    def test_resource_keys_in_another_case(self) -> None:
        resource = {"USERNAME": "x", "Emails": [{"Value": "a@b.c", "TYPE": "work"}]}
        assert check('userName eq "x" and emails[type eq "work" and value eq "a@b.c"]', resource)

    def test_extension_urn_key_in_another_case(self) -> None:
        resource = {"schemas": [CORE_USER, ENTERPRISE], ENTERPRISE.upper(): {"employeeNumber": "701984"}}
        assert check(f'{ENTERPRISE}:employeeNumber eq "701984"', resource)


class TestCaseExact:
    """caseExact (RFC 7643 §2.2): "id" is caseExact, "userName" is not."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('userName eq "BJensen@Example.COM"', True),
            ('userName eq "bjensen@example.com"', True),
            ('id eq "2819c223-7f76-453a-919d-413861904646"', True),
            ('id eq "2819C223-7F76-453A-919D-413861904646"', False),
            ('externalId eq "701984"', True),
            ('groups[$ref co "/groups/"]', False),
            ('groups[$ref co "/Groups/"]', True),
            ('userName co "JENSEN"', True),
            ('id sw "2819C223"', False),
        ],
    )
    def test_declared_case_exactness(self, text: str, expected: bool) -> None:
        assert check(text, BARBARA) is expected

    def test_default_info_knows_id_is_case_exact(self) -> None:
        assert not check('id eq "2819C223-7F76-453A-919D-413861904646"', BARBARA, DEFAULT)
        assert check('displayName eq "BABS JENSEN"', BARBARA, DEFAULT)


class TestOperators:
    """Table 3: eq ne co sw ew pr gt ge lt le."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('displayName eq "Babs Jensen"', True),
            ('displayName ne "Babs Jensen"', False),
            ('displayName ne "Someone"', True),
            ('displayName co "bs Je"', True),
            ('displayName sw "Babs"', True),
            ('displayName sw "Babs Jensen"', True),  # "satisfied if the two strings are identical"
            ('displayName ew "Jensen"', True),
            ('displayName ew "Babs"', False),
            ('displayName co ""', True),
            ('displayName gt "Babs"', True),
            ('displayName lt "Babs"', False),
            ('displayName ge "babs jensen"', True),
            ('displayName le "BABS JENSEN"', True),
            ('displayName gt "C"', False),
        ],
    )
    def test_strings(self, text: str, expected: bool) -> None:
        assert check(text, BARBARA) is expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('emails.type eq "home"', True),  # any of the values
            ('emails.type eq "other"', False),
            ('emails.value ew "jensen.org"', True),
            ('emails co "jensen.org"', True),  # complex values compare their "value"
            ('emails eq "babs@jensen.org"', True),
            ('emails.type ne "work"', True),  # the home email's type is not "work"
            ('phoneNumbers.value sw "555-555-4"', True),
            ('groups.display eq "us employees"', True),
            ('addresses.locality eq "Hollywood"', True),
        ],
    )
    def test_multi_valued_match_if_any_value_matches(self, text: str, expected: bool) -> None:
        assert check(text, BARBARA) is expected

    def test_value_filter_binds_all_criteria_to_one_value(self) -> None:
        # No single email is both "home" and @example.com, though the resource has both.
        assert not check('emails[type eq "home" and value co "example.com"]', BARBARA)
        assert check('emails.type eq "home" and emails.value co "example.com"', BARBARA)
        assert check('emails[type eq "home" and not (value co "example.com")]', BARBARA)
        assert check('emails[primary eq true and type eq "work"]', BARBARA)
        assert not check('emails[primary eq true and type eq "home"]', BARBARA)

    def test_value_filter_on_a_single_complex_attribute(self) -> None:
        assert check('name[givenName eq "Barbara" and familyName sw "J"]', BARBARA)
        assert not check('ims[type eq "aim" and value co "@"]', BARBARA)


class TestPresence:
    """pr: "If the attribute has a non-empty value, or if it contains a non-empty node for
    complex attributes, there is a match." Unassigned, null, "" and [] are equivalent (RFC 7643 §2.5)."""

    @pytest.mark.parametrize(
        ("resource", "expected"),
        [
            ({"title": "Tour Guide"}, True),
            ({"title": ""}, False),
            ({"title": None}, False),
            ({}, False),
            ({"title": []}, False),
            ({"title": [None, ""]}, False),
            ({"title": ["x"]}, True),
            ({"title": False}, True),
            ({"title": 0}, True),
        ],
    )
    def test_simple(self, resource: dict[str, Any], expected: bool) -> None:
        assert check("title pr", resource) is expected
        assert check("title eq null", resource) is not expected
        assert check("title ne null", resource) is expected
        assert check("not (title pr)", resource) is not expected

    @pytest.mark.parametrize(
        ("resource", "expected"),
        [
            ({"name": {"givenName": "Barbara"}}, True),
            ({"name": {}}, False),
            ({"name": {"givenName": None, "familyName": ""}}, False),
            ({"emails": []}, False),
            ({"emails": [{}]}, False),
            ({"emails": [{"value": None}, {"type": "work"}]}, True),
        ],
    )
    def test_complex(self, resource: dict[str, Any], expected: bool) -> None:
        attribute = next(iter(resource))
        assert check(f"{attribute} pr", resource) is expected

    def test_sub_attribute(self) -> None:
        assert check("emails.primary pr", BARBARA)
        assert not check("ims.primary pr", BARBARA)
        assert check("name.middleName pr", BARBARA)


class TestAbsentAttributes:
    """A comparison against an attribute without a value is no match, except "ne"."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('nickName eq "Babs"', False),
            ('nickName co "a"', False),
            ('nickName gt "a"', False),
            ('nickName ne "Babs"', True),
            ('nosuchattribute eq "x"', False),
            ('nosuchattribute ne "x"', True),
            ('name.nosuch eq "x"', False),
            ('emails[nosuch eq "x"]', False),
            (f'{ENTERPRISE}:employeeNumber eq "701984"', False),
        ],
    )
    def test_absent(self, text: str, expected: bool) -> None:
        resource = {key: value for key, value in BARBARA.items() if key != "nickName"}
        assert check(text, resource) is expected


class TestLogic:
    """Table 4 and the precedence of Table 5."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('title pr or userType eq "Intern" and active eq false', True),
            ('(title pr or userType eq "Intern") and active eq false', False),
            ('not (title pr) or userType eq "Employee"', True),
            ('not (title pr or userType eq "Employee")', False),
            ('not (not (userName eq "bjensen@example.com"))', True),
            ('userType eq "Intern" or userType eq "Contractor" or userType eq "Employee"', True),
            ('userType eq "Employee" and title pr and active eq false', False),
            ("active eq false or (title pr and (nickName pr or userType pr))", True),
        ],
    )
    def test_and_or_not(self, text: str, expected: bool) -> None:
        assert check(text, BARBARA) is expected

    def test_long_chains_do_not_recurse(self) -> None:
        text = " or ".join(f'userName eq "user{i}"' for i in range(199)) + ' or userType eq "Employee"'
        assert matches(parse_filter(text, max_length=10_000), BARBARA, SCHEMA)


class TestDateTime:
    """dateTime: "a chronological comparison" (RFC 7644 §3.4.2.2), xsd:dateTime values (RFC 7643 §2.3.5)."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('meta.lastModified gt "2011-05-13T04:42:33Z"', True),
            ('meta.lastModified eq "2011-05-13T04:42:34Z"', True),
            ('meta.lastModified eq "2011-05-13T04:42:34.000Z"', True),
            ('meta.lastModified eq "2011-05-13T06:42:34+02:00"', True),
            ('meta.lastModified gt "2011-05-13T05:00:00+02:00"', True),
            ('meta.lastModified lt "2011-05-13T04:42:34.001Z"', True),
            ('meta.lastModified gt "2011-05-13"', True),
            ('meta.lastModified lt "2011-05-14T00:00:00"', True),
            ('meta.lastModified ne "2011-05-13T04:42:34z"', False),
            ('meta.created lt "2011-05-13T04:42:34Z" and meta.lastModified ge "2011-01-01T00:00:00Z"', True),
            ('meta.lastModified sw "2011-05"', True),
            ("meta.lastModified eq 5", False),
        ],
    )
    def test_chronological(self, text: str, expected: bool) -> None:
        assert check(text, BARBARA) is expected
        assert check(text, BARBARA, DEFAULT) is expected

    def test_datetime_objects_in_the_resource(self) -> None:
        resource = {"meta": {"lastModified": datetime(2011, 5, 13, 4, 42, 34, tzinfo=UTC)}}
        assert check('meta.lastModified eq "2011-05-13T04:42:34Z"', resource)

    def test_unparseable_stored_value_is_no_match(self) -> None:
        resource = {"meta": {"lastModified": "yesterday"}}
        assert not check('meta.lastModified gt "2011-05-13T04:42:34Z"', resource)

    @pytest.mark.parametrize("value", ['"yesterday"', '"2011-13-45T00:00:00Z"', '""'])
    def test_unparseable_operand_is_an_invalid_filter(self, value: str) -> None:
        with pytest.raises(InvalidFilter, match="not a dateTime"):
            check(f"meta.lastModified gt {value}", BARBARA)


class TestTypes:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("active eq true", True),
            ("active eq false", False),
            ("active ne false", True),
            ("active eq 1", False),  # a boolean is not the number 1
            ('active eq "yes"', False),
            ('emails[primary eq true and value ew "example.com"]', True),
        ],
    )
    def test_booleans(self, text: str, expected: bool) -> None:
        assert check(text, BARBARA) is expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            # Tolerance (Microsoft Entra ID): booleans as the strings "True"/"False".
            ('active eq "True"', True),
            ('active eq "true"', True),
            ('active eq "False"', False),
            ('active ne "FALSE"', True),
        ],
    )
    def test_entra_boolean_strings(self, text: str, expected: bool) -> None:
        assert check(text, BARBARA) is expected
        assert check(text, {"active": "True"}) is expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("loginCount eq 7", True),
            ("loginCount eq 7.0", True),
            ("loginCount gt 5", True),
            ("loginCount ge 7", True),
            ("loginCount lt -1", False),
            ("loginCount le 7e0", True),
            ('loginCount eq "7"', False),  # a string is not the number 7
            ("score eq 1.1", True),  # the JSON 1.1 (a float) equals the filter's 1.1
            ("score gt 1.09", True),
            ("score lt 1e999999", True),
            ("big eq 12345678901234567890123", True),
            ("exact eq 0.1", True),
        ],
    )
    def test_numbers(self, text: str, expected: bool) -> None:
        resource = {"loginCount": 7, "score": 1.1, "big": 12345678901234567890123, "exact": Decimal("0.1")}
        assert check(text, resource) is expected
        assert check(text, resource, DEFAULT) is expected

    def test_non_finite_stored_numbers_never_match(self) -> None:
        assert not check("score gt 1", {"score": float("nan")})
        assert not check("score gt 1", {"score": float("inf")})
        assert not check("score lt 1", {"score": Decimal("NaN")})

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("userName eq 5", False),
            ("userName gt 5", False),
            ("userName eq true", False),
            ('name eq "Barbara"', False),  # a complex attribute without a "value" sub-attribute
            ("schemas eq 5", False),
        ],
    )
    def test_other_mismatches_are_no_match(self, text: str, expected: bool) -> None:
        assert check(text, BARBARA) is expected


class TestUnsupportedComparisons:
    """ "Boolean and Binary attributes SHALL cause a failed response (HTTP status code 400)
    with "scimType" of "invalidFilter"" for gt/ge/lt/le; co/sw/ew need strings."""

    @pytest.mark.parametrize(
        "text",
        [
            "active gt 1",
            'active lt "true"',
            'x509Certificates.value gt "MII"',
            'x509Certificates[value ge "MII"]',
            'x509Certificates.value co "MII"',
            'active co "tr"',
            'emails.primary sw "t"',
            'loginCount co "7"',
            'score ew "1"',
            'userName[value eq "x"]',
            # Validation covers the whole filter, not only what short-circuiting reaches.
            "title pr or active gt 1",
            'not (title pr) and loginCount sw "1"',
        ],
    )
    def test_raise_invalid_filter(self, text: str) -> None:
        with pytest.raises(InvalidFilter) as caught:
            check(text, BARBARA)
        assert caught.value.scim_type == "invalidFilter"
        with pytest.raises(InvalidFilter):
            validate(parse_filter(text), SCHEMA)

    def test_unknown_attributes_are_never_an_error(self) -> None:
        assert not check('custom gt "a" or custom co "b"', {"custom": True}, DEFAULT)

    def test_detail_names_the_attribute_briefly(self) -> None:
        long_urn = "urn:example:" + "x" * 200 + ":User"
        with pytest.raises(InvalidFilter) as caught:
            check(f"{long_urn}:active gt 1", BARBARA)
        assert "x" * 100 not in caught.value.detail
        assert "active" in caught.value.detail


class TestExtensionsAndUrns:
    def test_extension_attributes_live_under_their_urn(self) -> None:
        assert check(f'{ENTERPRISE}:employeeNumber eq "J-1"', JSMITH)
        assert check(f'{ENTERPRISE}:manager.value eq "bjensen"', JSMITH)
        assert check(f'{ENTERPRISE}:manager co "bjen"', JSMITH)
        assert not check('employeeNumber eq "J-1"', JSMITH)

    def test_core_urn_prefix_reads_the_top_level(self) -> None:
        assert check(f'{CORE_USER}:name.givenName eq "Barbara"', BARBARA)
        assert check(f'{CORE_USER}:emails[type eq "work"]', BARBARA)

    def test_unknown_schema_prefix_matches_nothing(self) -> None:
        assert not check('urn:example:Other:userName eq "bjensen@example.com"', BARBARA)

    def test_group_membership(self) -> None:
        group = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Tour Guides",
            "members": [
                {
                    "value": "2819c223-7f76-453a-919d-413861904646",
                    "$ref": "../Users/2819c223",
                    "type": "User",
                },
                {"value": "902c246b-6245-4190-8e05-00816be7344a", "type": "User"},
            ],
        }
        assert check('members[value eq "902c246b-6245-4190-8e05-00816be7344a"]', group)
        assert check('members.value eq "2819c223-7f76-453a-919d-413861904646"', group)
        assert not check('members[value eq "nobody"]', group)
        assert check('displayName eq "tour guides"', group)


class TestOddData:
    """Whatever a stored document holds, evaluation answers True or False and never crashes."""

    @pytest.mark.parametrize(
        ("text", "resource", "expected"),
        [
            ('custom eq "x"', {"custom": [["x"]]}, False),
            ('custom eq "x"', {"custom": {"nested": "x"}}, False),
            ('custom.sub eq "x"', {"custom": ["x", {"sub": "x"}]}, True),
            ('custom.sub eq "x"', {"custom": "x"}, False),
            ('custom gt "2011-01-01T00:00:00Z"', {"custom": datetime(2012, 1, 1, tzinfo=UTC)}, True),
            ("loginCount eq 1", {"loginCount": True}, False),
            ('meta.lastModified gt "2011-05-13T04:42:34Z"', {"meta": {"lastModified": 7}}, False),
            (
                'meta.lastModified lt "2011-05-13T04:42:34Z"',
                {"meta": {"lastModified": "0001-01-01T00:00:00+01:00"}},
                False,
            ),
            ('meta.lastModified gt "2011-05-13T04:42:34Z"', {"meta": ["not", "a", "mapping"]}, False),
            ('emails[type eq "work"]', {"emails": ["work", None, 5]}, False),
            ('userName eq "x"', {"userName": None}, False),
            ('userName ne "x"', {"userName": [None]}, True),
        ],
    )
    def test_no_crash(self, text: str, resource: dict[str, Any], expected: bool) -> None:
        assert check(text, resource) is expected
