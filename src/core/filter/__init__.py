"""SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): parse to an AST, evaluate purely.

>>> from core.filter import matches, parse_filter
>>> matches(parse_filter('userName eq "BJENSEN"'), {"userName": "bjensen"})
True
"""

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
    ScalarValue,
    Value,
    ValuePath,
    equality_lookup,
    member_value_lookup,
    referenced_paths,
)
from core.filter.evaluator import (
    DEFAULT_ATTRIBUTE_INFO,
    AttributeInfo,
    AttrInfo,
    AttrType,
    DefaultAttributeInfo,
    matches,
    validate,
)
from core.filter.parser import MAX_DEPTH, MAX_LENGTH, MAX_TERMS, parse_filter, parse_patch_path

__all__ = [
    "DEFAULT_ATTRIBUTE_INFO",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_TERMS",
    "And",
    "AttrInfo",
    "AttrPath",
    "AttrType",
    "AttributeInfo",
    "Compare",
    "CompareOp",
    "DefaultAttributeInfo",
    "Filter",
    "Not",
    "Or",
    "PatchPath",
    "Present",
    "ScalarValue",
    "Value",
    "ValuePath",
    "equality_lookup",
    "matches",
    "member_value_lookup",
    "parse_filter",
    "parse_patch_path",
    "referenced_paths",
    "validate",
]
