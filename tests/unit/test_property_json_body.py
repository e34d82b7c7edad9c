"""Property-based tests of request-body handling, through the real handlers (moto behind them).

Invariant: whatever body arrives at any endpoint that reads one (random bytes, base64-flagged or
not; text with lone surrogates; JSON-like fragments; deeply nested or non-finite JSON; any
Content-Type), the answer is a SCIM error 400, 413 or 415 (RFC 7644 §3.12 body, a scimType for 400
and 413, no traceback), never a 5xx. Random well-formed JSON is answered below 500 as well.

Hypothesis runs derandomized with a fixed number of examples, so CI sees the same inputs each run.
The handlers share one moto backend for the module (Hypothesis reruns the test body, not fixtures).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from core.limits import MAX_JSON_DEPTH
from handlers import bulk, groups, users
from tests.conftest import TABLE_NAME, TEMPLATE, reset_handler_state, table_create_kwargs
from tests.support import FakeContext, proxy_event

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MISSING_ID = "00000000-0000-4000-8000-000000000000"

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# (method, resource, path parameters, handler): every route that reads a body.
ENDPOINTS: tuple[tuple[str, str, dict[str, str], Handler], ...] = (
    ("POST", "/scim/v2/{tenant}/Users", {}, users.lambda_handler),
    ("PUT", "/scim/v2/{tenant}/Users/{id}", {"id": MISSING_ID}, users.lambda_handler),
    ("PATCH", "/scim/v2/{tenant}/Users/{id}", {"id": MISSING_ID}, users.lambda_handler),
    ("POST", "/scim/v2/{tenant}/Users/.search", {}, users.lambda_handler),
    ("POST", "/scim/v2/{tenant}/Groups", {}, groups.lambda_handler),
    ("PATCH", "/scim/v2/{tenant}/Groups/{id}", {"id": MISSING_ID}, groups.lambda_handler),
    ("POST", "/scim/v2/{tenant}/Groups/.search", {}, groups.lambda_handler),
    ("POST", "/scim/v2/{tenant}/Bulk", {}, bulk.lambda_handler),
    ("POST", "/scim/v2/{tenant}/.search", {}, bulk.lambda_handler),
)
CONTENT_TYPES = (
    "application/scim+json", "application/json", "application/scim+json; charset=utf-8", "text/json",
    None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "",
)  # fmt: skip
JSON_TOKENS = (
    "{", "}", "[", "]", ":", ",", '"', '"schemas"', f'"{USER_SCHEMA}"', f'"{PATCH_OP}"', '"Operations"',
    '"userName"', '"op"', '"add"', '"path"', '"value"', '"members"', '"\\ud800"', '"\\udc00\\ud800"',
    '"\\u00e9"', '"\\"', "\\", "null", "true", "false", "NaN", "Infinity", "-Infinity", "1e400", "-0",
    "1" * 5000, "0x1F", "'single'", " ", "\n", "\x00", "\ufeff", "\ud800",
)  # fmt: skip

endpoints = st.sampled_from(ENDPOINTS)
content_types = st.sampled_from(CONTENT_TYPES)
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)  # surrogates too
fragments = st.lists(st.sampled_from(JSON_TOKENS), max_size=40).map("".join)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=16)
)
json_documents = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(["schemas", "userName", "Operations", "op", "path", "value"]), st.text()
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=15,
)


@pytest.fixture(scope="module")
def backend() -> Iterator[None]:
    """One moto table for the module: the same setup as the `aws` fixture, shared by every example."""
    reset_handler_state()
    with mock_aws():
        boto3.client("dynamodb").create_table(TableName=TABLE_NAME, **table_create_kwargs(TEMPLATE))
        yield
    reset_handler_state()


def invoke(
    endpoint: tuple[str, str, dict[str, str], Handler],
    body: str,
    *,
    content_type: str | None = "application/scim+json",
    base64_encoded: bool = False,
) -> tuple[int, dict[str, Any] | None]:
    method, resource, params, handler = endpoint
    headers = {"Content-Type": content_type} if content_type is not None else {}
    request = proxy_event(method, resource, {"tenant": "demo", **params}, headers=headers)
    if content_type is None:
        request["headers"].pop("Content-Type", None)
        request["multiValueHeaders"].pop("Content-Type", None)
    request["body"] = body
    request["isBase64Encoded"] = base64_encoded
    result = handler(request, FakeContext("property"))
    text = result.get("body") or ""
    assert "Traceback" not in text, text
    assert 'File "' not in text, text
    return result["statusCode"], json.loads(text) if text else None


def assert_client_error(status: int, document: dict[str, Any] | None) -> None:
    """A SCIM 400, 413 or 415 (RFC 7644 §3.12), with a scimType where the RFC defines one."""
    event(f"status {status}" + (f" {document.get('scimType')}" if document else ""))
    assert status in (400, 413, 415), (status, document)
    assert document is not None
    assert document["schemas"] == [ERROR_SCHEMA]
    assert document["status"] == str(status)
    if status != 415:
        assert document["scimType"] in {"invalidSyntax", "invalidValue", "invalidPath", "tooLarge"}, document


@PROPERTY
@given(endpoints, st.binary(max_size=300), content_types)
@example(ENDPOINTS[1], b"[]", "application/json")  # found in CI: a PUT of a missing id answered 404
def test_random_bytes_are_a_client_error(
    backend: None, endpoint: tuple[str, str, dict[str, str], Handler], raw: bytes, content_type: str | None
) -> None:
    # A body that is not UTF-8 reaches the function base64-encoded (API Gateway binary passthrough).
    body = base64.b64encode(raw).decode()
    status, document = invoke(endpoint, body, content_type=content_type, base64_encoded=True)
    if status in (400, 413, 415):
        assert_client_error(status, document)
        return
    # Only bytes that happen to be a JSON object (b"{}" to a PUT of a missing id: 404) get past.
    event(f"status {status}")
    assert status < 500, document
    assert isinstance(json.loads(raw), dict)


@PROPERTY
@given(endpoints, st.one_of(any_text, fragments), content_types)
def test_random_text_is_a_client_error_or_a_valid_request(
    backend: None, endpoint: tuple[str, str, dict[str, str], Handler], text: str, content_type: str | None
) -> None:
    status, document = invoke(endpoint, text, content_type=content_type)
    if status in (400, 413, 415):
        assert_client_error(status, document)
        return
    # Anything else (a search, a 404 for a PUT to a missing id) needs a well-formed JSON body.
    event(f"status {status}")
    assert status < 500, document
    assert isinstance(json.loads(text), dict)  # every SCIM request body is an object


@PROPERTY
@given(endpoints, json_documents)
@example(ENDPOINTS[6], {"schemas": True})  # found by this test: a non-list "schemas" in a search was a 500
def test_random_json_is_never_a_server_error(
    backend: None, endpoint: tuple[str, str, dict[str, str], Handler], document: Any
) -> None:
    status, answer = invoke(endpoint, json.dumps(document))
    event(f"status {status}")
    assert status < 500, answer
    if status >= 400:
        assert answer is not None
        assert answer["schemas"] == [ERROR_SCHEMA]


@PROPERTY
@given(endpoints, st.integers(1, 4 * MAX_JSON_DEPTH), st.sampled_from(["[", '{"a":', '{"schemas":[']))
def test_nesting_beyond_the_limit_is_invalid_syntax(
    backend: None, endpoint: tuple[str, str, dict[str, str], Handler], depth: int, opening: str
) -> None:
    closing = {"[": "]", '{"a":': "}", '{"schemas":[': "]}"}[opening]
    levels = depth * (2 if opening == '{"schemas":[' else 1)
    status, document = invoke(endpoint, opening * depth + "1" + closing * depth)
    assert status < 500
    if levels > MAX_JSON_DEPTH:
        assert (status, document and document["scimType"]) == (400, "invalidSyntax")
        assert document is not None
        assert f"at most {MAX_JSON_DEPTH}" in document["detail"]
