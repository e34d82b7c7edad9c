"""Property-based tests of the PATCH engine (RFC 7644 §3.5.2) and of what follows it in a PATCH.

Invariants, on random PatchOp bodies (random op names, paths from the schema and from noise, random
JSON values) against the RFC 7643 §8 examples:

* `apply_patch` returns a `PatchResult` or raises a `ScimError` with a 4xx status and a scimType:
  never another exception, never a 5xx;
* it never modifies the resource or the body it was given (the atomicity of RFC 7644 §3.5.2);
* the patched document then either normalises, within the value limits of `core.limits`, or
  fails with a `ScimError`: what the users and groups services do after the engine.

Hypothesis runs derandomized with a fixed number of examples, so CI sees the same inputs each run.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.errors import InvalidValue, ScimError
from core.limits import MAX_PATCH_OPERATIONS, MAX_STRING_LENGTH, MAX_VALUES
from core.patch import PatchResult, apply_patch
from core.resource.normalize import normalize_resource
from core.schema import ENTERPRISE_USER, GROUP, PATCH_OP_SCHEMA, USER, Schema
from tests.unit.test_patch_rfc7644_s3_5_2_add import BJENSEN, TOUR_GUIDES

PROPERTY = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
USER_SCHEMAS: tuple[Schema, ...] = (USER, ENTERPRISE_USER)
GROUP_SCHEMAS: tuple[Schema, ...] = (GROUP,)

PATHS = (
    "userName", "displayName", "nickName", "active", "title", "name", "name.givenName", "name.familyName",
    "emails", "emails.value", 'emails[type eq "work"]', 'emails[type eq "work"].value',
    'emails[type eq "home" and primary eq true].value', "emails[value co \"@\"]", "emails[primary pr]",
    'addresses[type eq "work"].streetAddress', "phoneNumbers", "roles", "x509Certificates", "password",
    "id", "meta", "meta.created", "groups", "members", 'members[value eq "x"]', "members.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
    "", " ", "emails[", "emails[type eq]", 'emails[type eq "a"]].value', "a.b.c", "[", "unknownAttr",
    "emails[display[value pr]]", 'emails[type eq "\\ud800"]', "name.", ".name",
)  # fmt: skip
STRING_PATHS = (
    "userName", "displayName", "title", "name.givenName", 'emails[type eq "work"].value',
    'addresses[type eq "work"].streetAddress',
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
)  # fmt: skip
OP_NAMES = ("add", "remove", "replace", "Add", "Replace", "REMOVE", "delete", "", None, 1)
KEYS = ("value", "type", "primary", "display", "givenName", "familyName", "userName", "active", "$ref")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=16),
    st.sampled_from(["True", "False", "work", "home", "2010-01-23T04:56:22Z", "bjensen@example.com"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS + PATHS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=10,
)
paths = st.one_of(st.sampled_from(PATHS), st.text(max_size=24), st.none(), st.integers())
USER_PATHS = (*PATHS[:21], *PATHS[27:32], None)
GROUP_PATHS = ("displayName", "externalId", "members", 'members[value eq "x"]', "id", None)


@st.composite
def operations(draw: st.DrawFn, valid_paths: tuple[str, ...] = USER_PATHS) -> Any:
    """One entry of "Operations": mostly well-shaped (so that many bodies get applied), some not."""
    if draw(st.integers(0, 49)) == 0:
        return draw(json_values)
    op = draw(st.sampled_from(OP_NAMES[:3] * 12 + OP_NAMES))
    operation: dict[str, Any] = {} if op is None else {"op": op}
    path = draw(paths) if draw(st.integers(0, 9)) == 0 else draw(st.sampled_from(valid_paths))
    if path is not None or op in ("remove", "REMOVE"):
        operation[draw(st.sampled_from(["path", "path", "Path"]))] = path
    if op not in ("remove", "REMOVE") or draw(st.integers(0, 3)) == 0:
        operation["value"] = draw(json_values)
    return operation


@st.composite
def patch_bodies(draw: st.DrawFn, valid_paths: tuple[str, ...] = USER_PATHS) -> Any:
    if draw(st.integers(0, 49)) == 0:
        return draw(json_values)
    schemas = draw(st.sampled_from([[PATCH_OP_SCHEMA]] * 14 + [[PATCH_OP_SCHEMA.upper()], [], "x"]))
    key = draw(st.sampled_from(["Operations", "Operations", "operations"]))
    return {"schemas": schemas, key: draw(st.lists(operations(valid_paths), min_size=1, max_size=4))}


def _apply(resource: dict[str, Any], body: Any, schemas: tuple[Schema, ...]) -> PatchResult | None:
    """The engine's result, or None when it refused the body with a 4xx ScimError (anything else fails)."""
    resource_before, body_before = copy.deepcopy(resource), copy.deepcopy(body)
    refused: ScimError | None = None
    try:
        result: PatchResult | None = apply_patch(resource, body, schemas)
    except ScimError as exc:
        refused, result = exc, None
    # --hypothesis-show-statistics shows the mix of outcomes
    event("applied" if refused is None else f"refused: {refused.scim_type}")
    if refused is not None:
        assert 400 <= refused.status < 500, refused
        assert refused.scim_type is not None, refused
    assert resource == resource_before, "apply_patch modified the resource"
    assert body == body_before, "apply_patch modified the request body"
    return result


def _normalize(result: PatchResult, schemas: tuple[Schema, ...], existing: dict[str, Any]) -> None:
    try:
        doc = normalize_resource(result.resource, schemas, mode="replace", existing=existing)
    except ScimError as exc:
        refused = exc
    else:
        refused = None
    if refused is not None:
        assert 400 <= refused.status < 500, refused
        return
    for value in _strings(doc):
        assert len(value) <= MAX_STRING_LENGTH
    for values in _lists(doc):
        assert len(values) <= MAX_VALUES


@PROPERTY
@given(patch_bodies())
def test_user_patch_returns_a_result_or_a_scim_error(body: Any) -> None:
    result = _apply(BJENSEN, body, USER_SCHEMAS)
    if result is not None:
        assert isinstance(result.resource, dict)
        _normalize(result, USER_SCHEMAS, BJENSEN)


@PROPERTY
@given(patch_bodies(GROUP_PATHS))
def test_group_patch_returns_a_result_or_a_scim_error(body: Any) -> None:
    result = _apply(TOUR_GUIDES, body, GROUP_SCHEMAS)
    if result is not None:
        _normalize(result, GROUP_SCHEMAS, TOUR_GUIDES)


@PROPERTY
@given(st.lists(operations(), min_size=1, max_size=4))
def test_a_failing_operation_leaves_nothing_changed(ops: list[Any]) -> None:
    # The last operation always fails; whatever the earlier ones did must not show.
    failing = {"op": "replace", "path": "id", "value": "another-id"}
    body = {"schemas": [PATCH_OP_SCHEMA], "Operations": [*ops, failing]}
    assert _apply(BJENSEN, body, USER_SCHEMAS) is None


@PROPERTY
@given(st.integers(MAX_PATCH_OPERATIONS - 2, MAX_PATCH_OPERATIONS + 2))
def test_more_operations_than_the_limit_is_invalid_value(count: int) -> None:
    operation = {"op": "replace", "path": "nickName", "value": "Babs"}
    body = {"schemas": [PATCH_OP_SCHEMA], "Operations": [operation] * count}
    if count <= MAX_PATCH_OPERATIONS:
        assert apply_patch(BJENSEN, body, USER_SCHEMAS).resource["nickName"] == "Babs"
        return
    with pytest.raises(InvalidValue, match=f"at most {MAX_PATCH_OPERATIONS} operations"):
        apply_patch(BJENSEN, body, USER_SCHEMAS)


@PROPERTY
@given(st.integers(MAX_STRING_LENGTH - 1, MAX_STRING_LENGTH + 1), st.sampled_from(STRING_PATHS))
def test_value_length_limit_holds_after_patch(length: int, path: str) -> None:
    body = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "add", "path": path, "value": "x" * length}]}
    result = apply_patch(BJENSEN, body, USER_SCHEMAS)
    if length <= MAX_STRING_LENGTH:
        _normalize(result, USER_SCHEMAS, BJENSEN)
        return
    with pytest.raises(InvalidValue, match=f"longer than {MAX_STRING_LENGTH} characters"):
        normalize_resource(result.resource, USER_SCHEMAS, mode="replace", existing=BJENSEN)


@settings(PROPERTY, max_examples=60)
@given(st.integers(1, 2 * MAX_VALUES), st.sampled_from(["emails", "phoneNumbers", "roles"]), st.booleans())
def test_multi_valued_size_limit_holds_after_patch(count: int, attribute: str, one_op_each: bool) -> None:
    values = [{"value": f"v{i}@example.com"} for i in range(count)]
    if one_op_each:  # many operations adding one value each, rather than one long list
        ops = [{"op": "add", "path": attribute, "value": [value]} for value in values]
    else:
        ops = [{"op": "add", "path": attribute, "value": values}]
    result = apply_patch(BJENSEN, {"schemas": [PATCH_OP_SCHEMA], "Operations": ops}, USER_SCHEMAS)
    total = len(result.resource[attribute])
    if total <= MAX_VALUES:
        assert len(normalize_resource(result.resource, USER_SCHEMAS, mode="replace")[attribute]) == total
        return
    with pytest.raises(InvalidValue, match=f"at most {MAX_VALUES} are accepted"):
        normalize_resource(result.resource, USER_SCHEMAS, mode="replace", existing=BJENSEN)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _lists(value: Any) -> list[list[Any]]:
    if isinstance(value, dict):
        return [found for item in value.values() for found in _lists(item)]
    if isinstance(value, list):
        return [value, *(found for item in value for found in _lists(item))]
    return []


def _normalized(result: PatchResult, existing: dict[str, Any], *, reuse: bool) -> object:
    try:
        return normalize_resource(
            result.resource, USER_SCHEMAS, mode="replace", existing=existing, reuse_existing=reuse
        )
    except ScimError as exc:
        return (exc.status, exc.scim_type, exc.detail)


@PROPERTY
@given(patch_bodies())
def test_reusing_the_stored_values_normalizes_to_the_same_resource(body: Any) -> None:
    """`reuse_existing` (PATCH keeps untouched values as the stored objects, already canonical)
    skips walking them again: the outcome is exactly the full walk's, document or error."""
    stored = normalize_resource(BJENSEN, USER_SCHEMAS, mode="create")
    result = _apply(stored, body, USER_SCHEMAS)
    if result is not None:
        assert _normalized(result, stored, reuse=True) == _normalized(result, stored, reuse=False)
