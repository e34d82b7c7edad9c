"""Every limit of `core.limits`, at its edge, through the real handlers: one under passes, one over is
the SCIM error (status and scimType) the limit documents; and the limits that discovery advertises
are those enforced.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from core import limits
from core.capabilities import service_capabilities
from core.groups import member_plan
from core.resource.normalize import DEFAULT_LIMITS
from handlers import users
from tests.conftest import ScimClient
from tests.support import FakeContext, proxy_event

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def assert_error(response: Any, status: int, scim_type: str | None, *detail: str) -> None:
    assert response.status == status, response.body
    assert response.body["status"] == str(status)
    assert response.body.get("scimType") == scim_type, response.body
    for text in detail:
        assert text in response.body["detail"], response.body


def user(name: str = "limits@example.com", **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "userName": name, **extra}


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@pytest.fixture
def user_id(scim: ScimClient) -> str:
    created = scim("POST", "/Users", user())
    assert created.status == 201
    return str(created.body["id"])


# -- discovery and the modules that enforce the limits -----------------------------------------------


def test_discovery_advertises_the_enforced_bulk_limits() -> None:
    bulk = service_capabilities().bulk
    assert (bulk.max_operations, bulk.max_payload_size) == (
        limits.BULK_MAX_OPERATIONS,
        limits.BULK_MAX_PAYLOAD_BYTES,
    )


def test_every_enforcing_module_uses_the_limits_module() -> None:
    assert (DEFAULT_LIMITS.max_string_length, DEFAULT_LIMITS.max_values) == (
        limits.MAX_STRING_LENGTH,
        limits.MAX_VALUES,
    )
    assert member_plan.MAX_MEMBERS_PER_REQUEST == limits.MAX_MEMBERS_PER_REQUEST


# -- bodies -------------------------------------------------------------------------------------------


def test_a_body_over_the_size_limit_is_413_too_large(scim: ScimClient) -> None:
    padding = "x" * (limits.MAX_BODY_BYTES - len(json.dumps(user(nickName=""))))
    assert scim("POST", "/Users", user(nickName=padding)).status == 400  # at the limit: parsed
    over = scim("POST", "/Users", user(nickName=padding + "x"))
    assert_error(over, 413, "tooLarge", str(limits.MAX_BODY_BYTES))


def test_a_body_nested_over_the_depth_limit_is_invalid_syntax(scim: ScimClient) -> None:
    def nested(depth: int) -> str:  # the user object is one level, "x" adds depth - 1
        return json.dumps(user())[:-1] + ',"x":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    assert scim("POST", "/Users", nested(limits.MAX_JSON_DEPTH)).status == 201
    over = scim("POST", "/Users", nested(limits.MAX_JSON_DEPTH + 1))
    assert_error(over, 400, "invalidSyntax", f"at most {limits.MAX_JSON_DEPTH}")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ('{"schemas":["' + USER_SCHEMA + '"],"userName":"n","x":NaN}', "not valid JSON"),
        ('{"schemas":["' + USER_SCHEMA + '"],"userName":"n","x":-Infinity}', "not valid JSON"),
        ('{"schemas":["' + USER_SCHEMA + '"],"userName":"n","x":1e400}', "not valid JSON"),
        ('{"schemas":["' + USER_SCHEMA + '"],"userName":"a\\ud800"}', "unpaired UTF-16 surrogate"),
        ('{"schemas":["' + USER_SCHEMA + '"],"userName":"a\ud800"}', "not UTF-8"),
    ],
)
def test_json_that_python_accepts_but_json_does_not_is_invalid_syntax(
    scim: ScimClient, body: str, detail: str
) -> None:
    assert_error(scim("POST", "/Users", body), 400, "invalidSyntax", detail)


def test_a_surrogate_pair_is_accepted(scim: ScimClient) -> None:
    created = scim("POST", "/Users", '{"schemas":["' + USER_SCHEMA + '"],"userName":"smile\\ud83d\\ude00"}')
    assert (created.status, created.body["userName"]) == (201, "smile\U0001f600")


def test_a_body_that_is_not_utf8_is_invalid_syntax(aws: None) -> None:
    event = proxy_event("POST", "/scim/v2/{tenant}/Users", {"tenant": "demo"}, body="{}")
    event.update(body=base64.b64encode(b'{"userName":"\xff"}').decode(), isBase64Encoded=True)
    result = users.lambda_handler(event, FakeContext("limits"))
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["scimType"] == "invalidSyntax"


# -- filters and query parameters ------------------------------------------------------------------


def long_filter(length: int) -> str:
    text = 'userName eq "' + "x" * (length - 14) + '"'
    assert len(text) == length
    return text


def test_a_filter_over_the_length_limit_is_invalid_filter(scim: ScimClient) -> None:
    at_limit = scim("GET", "/Users", query={"filter": long_filter(limits.MAX_FILTER_LENGTH)})
    assert at_limit.status == 200
    over = long_filter(limits.MAX_FILTER_LENGTH + 1)
    assert_error(scim("GET", "/Users", query={"filter": over}), 400, "invalidFilter", "longer than")
    searched = scim("POST", "/Users/.search", {"schemas": [SEARCH], "filter": over})
    assert_error(searched, 400, "invalidFilter", "longer than")


@pytest.mark.parametrize(
    ("depth", "status"), [(limits.MAX_FILTER_DEPTH, 200), (limits.MAX_FILTER_DEPTH + 1, 400)]
)
def test_a_filter_nested_over_the_depth_limit_is_invalid_filter(
    scim: ScimClient, depth: int, status: int
) -> None:
    response = scim("GET", "/Groups", query={"filter": "(" * depth + 'displayName eq "g"' + ")" * depth})
    if status == 200:
        assert response.status == 200
    else:
        assert_error(response, 400, "invalidFilter", f"nested more than {limits.MAX_FILTER_DEPTH}")


@pytest.mark.parametrize(
    ("terms", "status"), [(limits.MAX_FILTER_TERMS, 200), (limits.MAX_FILTER_TERMS + 1, 400)]
)
def test_a_filter_with_too_many_terms_is_invalid_filter(scim: ScimClient, terms: int, status: int) -> None:
    response = scim("GET", "/Users", query={"filter": " or ".join(["title pr"] * terms)})
    if status == 200:
        assert response.status == 200
    else:
        assert_error(response, 400, "invalidFilter", f"more than {limits.MAX_FILTER_TERMS} expressions")


def test_another_parameter_over_the_length_limit_is_invalid_value(scim: ScimClient) -> None:
    attributes = ",".join(["userName"] * (limits.MAX_PARAM_LENGTH // 9 + 1))
    assert len(attributes) > limits.MAX_PARAM_LENGTH
    over = scim("GET", "/Users", query={"attributes": attributes})
    assert_error(over, 400, "invalidValue", "attributes", str(limits.MAX_PARAM_LENGTH))


# -- PATCH ------------------------------------------------------------------------------------------


def test_a_patch_over_the_operation_limit_is_invalid_value(scim: ScimClient, user_id: str) -> None:
    operation = {"op": "replace", "path": "nickName", "value": "n"}
    assert scim("PATCH", f"/Users/{user_id}", patch(*[operation] * limits.MAX_PATCH_OPERATIONS)).status == 200
    over = scim("PATCH", f"/Users/{user_id}", patch(*[operation] * (limits.MAX_PATCH_OPERATIONS + 1)))
    assert_error(over, 400, "invalidValue", f"at most {limits.MAX_PATCH_OPERATIONS} operations")
    group = scim("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "g"}).body["id"]
    rename = {"op": "replace", "path": "displayName", "value": "h"}
    over_group = scim("PATCH", f"/Groups/{group}", patch(*[rename] * (limits.MAX_PATCH_OPERATIONS + 1)))
    assert_error(over_group, 400, "invalidValue", f"at most {limits.MAX_PATCH_OPERATIONS} operations")


@pytest.mark.parametrize(
    "path",
    [
        "nickName",
        "name.givenName",
        'emails[type eq "work"].value',
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    ],
)
def test_a_value_over_the_length_limit_is_invalid_value_on_post_and_patch(
    scim: ScimClient, user_id: str, path: str
) -> None:
    fits = scim(
        "PATCH",
        f"/Users/{user_id}",
        patch({"op": "add", "path": path, "value": "v" * limits.MAX_STRING_LENGTH}),
    )
    assert fits.status == 200
    over = patch({"op": "add", "path": path, "value": "v" * (limits.MAX_STRING_LENGTH + 1)})
    assert_error(
        scim("PATCH", f"/Users/{user_id}", over),
        400,
        "invalidValue",
        f"longer than {limits.MAX_STRING_LENGTH}",
    )
    long_name = "v" * (limits.MAX_STRING_LENGTH + 1)
    assert_error(scim("POST", "/Users", user(nickName=long_name)), 400, "invalidValue", "longer than")


def test_a_multi_valued_attribute_over_the_size_limit_is_invalid_value_on_patch(
    scim: ScimClient, user_id: str
) -> None:
    def email(i: int) -> dict[str, Any]:
        return {"op": "add", "path": "emails", "value": [{"value": f"u{i}@example.com"}]}

    fits = scim("PATCH", f"/Users/{user_id}", patch(*(email(i) for i in range(limits.MAX_VALUES))))
    assert (fits.status, len(fits.body["emails"])) == (200, limits.MAX_VALUES)
    over = scim("PATCH", f"/Users/{user_id}", patch(email(limits.MAX_VALUES)))
    assert_error(over, 400, "invalidValue", f"at most {limits.MAX_VALUES} are accepted")
    assert len(scim("GET", f"/Users/{user_id}").body["emails"]) == limits.MAX_VALUES  # nothing written


def test_a_patch_path_over_the_length_limit_is_invalid_path(scim: ScimClient, user_id: str) -> None:
    path = "n" * (limits.MAX_FILTER_LENGTH + 1)
    over = scim("PATCH", f"/Users/{user_id}", patch({"op": "replace", "path": path, "value": "a"}))
    assert_error(over, 400, "invalidPath", "longer than")
    # RFC 7644 §3.12 lists invalidFilter for "PATCH (Path Filter)": an over-long value filter is one.
    path = 'emails[value eq "' + "x" * limits.MAX_FILTER_LENGTH + '"].value'
    over = scim("PATCH", f"/Users/{user_id}", patch({"op": "replace", "path": path, "value": "a"}))
    assert_error(over, 400, "invalidFilter", "longer than")


def test_group_members_over_the_request_limit_are_invalid_value(scim: ScimClient) -> None:
    group = scim("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "big"}).body["id"]
    members = [{"value": f"m{i}"} for i in range(limits.MAX_MEMBERS_PER_REQUEST + 1)]
    over = scim("PATCH", f"/Groups/{group}", patch({"op": "add", "path": "members", "value": members}))
    assert_error(over, 400, "invalidValue", f"At most {limits.MAX_MEMBERS_PER_REQUEST} members")


# -- Bulk ----------------------------------------------------------------------------------------------


def test_a_bulk_request_over_the_operation_limit_is_413_too_large(scim: ScimClient) -> None:
    operation = {"method": "DELETE", "path": "/Users/missing"}
    body = {"schemas": [BULK], "Operations": [operation] * (limits.BULK_MAX_OPERATIONS + 1)}
    assert_error(
        scim("POST", "/Bulk", body), 413, "tooLarge", f"maxOperations is {limits.BULK_MAX_OPERATIONS}"
    )
