"""Every file in events/ invoked against its real handler with moto (what `sam local invoke` runs)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from core.tokens import TokenMetadata, hash_token, parse_authorization_header
from scimctl.admin import Admin
from tests.conftest import ROOT, TEMPLATE
from tests.support import FakeContext, response_headers

EVENTS = ROOT / "events"
EVENT_FILES = sorted(EVENTS.glob("*/*.json"))
SCIM = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def handler_for(function_id: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    module, _, name = TEMPLATE.functions[function_id].handler.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def check_authorizer_allow(result: dict[str, Any]) -> None:
    assert result["context"]["tenantId"] == "demo"
    (statement,) = result["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert all("/scim/v2/demo" in r for r in statement["Resource"])


def scim_body(result: dict[str, Any], status: int) -> dict[str, Any]:
    assert result["statusCode"] == status, result.get("body")
    headers = response_headers(result)
    assert headers["content-type"] == SCIM
    body: dict[str, Any] = json.loads(result["body"])
    return body


EXPECTED: dict[str, Callable[[dict[str, Any]], None]] = {
    "AuthorizerFunction/request.json": check_authorizer_allow,
    "DiscoveryFunction/get-service-provider-config.json": lambda r: (
        scim_body(r, 200)["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
        or pytest.fail("not a ServiceProviderConfig")
    ),
    "DiscoveryFunction/list-resource-types.json": lambda r: (
        scim_body(r, 200)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        or pytest.fail("not a ListResponse")
    ),
    "DiscoveryFunction/list-schemas.json": lambda r: (
        scim_body(r, 200)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        or pytest.fail("not a ListResponse")
    ),
    # No resource endpoint is deployed yet, so discovery truthfully knows no User type or schema.
    "DiscoveryFunction/get-resource-type.json": lambda r: (
        scim_body(r, 404)["schemas"] == [ERROR] or pytest.fail("not a SCIM error")
    ),
    "DiscoveryFunction/get-schema.json": lambda r: (
        scim_body(r, 404)["schemas"] == [ERROR] or pytest.fail("not a SCIM error")
    ),
}
EXPECTED_FAILURE = {"AuthorizerFunction/request-bad-token.json": "Unauthorized"}


@pytest.fixture
def demo_with_event_token(admin: Admin, table: TenantTable, hashes: TokenHashStore) -> None:
    """Seed tenant demo and register the placeholder token the authorizer event carries."""
    admin.create_tenant("demo")
    event = json.loads((EVENTS / "AuthorizerFunction/request.json").read_text())
    token = parse_authorization_header(event["headers"]["Authorization"])
    assert token is not None, "the event's placeholder token must have the real format"
    now = datetime.now(UTC)
    table.put_token(TokenMetadata(tenant_id="demo", token_id=token.token_id, name="events", created_at=now))
    hashes.put_hash("demo", token.token_id, hash_token(token.raw))


def test_every_event_file_has_an_expectation() -> None:
    names = {str(p.relative_to(EVENTS)) for p in EVENT_FILES}
    assert names == set(EXPECTED) | set(EXPECTED_FAILURE)


def test_every_event_folder_is_a_function_in_the_template() -> None:
    assert {p.parent.name for p in EVENT_FILES} <= set(TEMPLATE.functions)


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: str(p.relative_to(EVENTS)))
def test_event_against_real_handler(path: Path, demo_with_event_token: None) -> None:
    name = str(path.relative_to(EVENTS))
    handler = handler_for(path.parent.name)
    event = json.loads(path.read_text())
    if name in EXPECTED_FAILURE:
        with pytest.raises(Exception, match=f"^{EXPECTED_FAILURE[name]}$"):
            handler(event, FakeContext(path.parent.name))
        return
    EXPECTED[name](handler(event, FakeContext(path.parent.name)))
