"""The discovery function end to end: tenant checks, SCIM errors, base URLs (RFC 7643 §5–7)."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest

from handlers import discovery
from tests.conftest import ROOT
from tests.support import FakeContext, response_headers

EVENT = json.loads((ROOT / "events/DiscoveryFunction/get-service-provider-config.json").read_text())


def call(event: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
    result = discovery.lambda_handler(event, FakeContext("discovery"))
    headers = response_headers(result)
    return result["statusCode"], headers, json.loads(result["body"])


def event_for(path: str, tenant: str = "demo", authorizer_tenant: str | None = "demo") -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    event["path"] = f"/scim/v2/{tenant}{path}"
    event["requestContext"]["path"] = f"/v1/scim/v2/{tenant}{path}"
    event["pathParameters"] = {"tenant": tenant}
    if authorizer_tenant is None:
        event["requestContext"].pop("authorizer")
    else:
        event["requestContext"]["authorizer"]["tenantId"] = authorizer_tenant
    return event


def test_service_provider_config_location_uses_the_tenant_url() -> None:
    status, headers, body = call(event_for("/ServiceProviderConfig"))
    assert status == 200
    assert headers["content-type"] == "application/scim+json"
    assert body["meta"]["location"] == (
        "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/scim/v2/demo/ServiceProviderConfig"
    )
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_discovery_describes_exactly_what_is_deployed() -> None:
    _, _, body = call(event_for("/ServiceProviderConfig"))
    assert body["patch"]["supported"] is True
    assert body["filter"] == {"supported": True, "maxResults": 200}
    assert body["etag"]["supported"] is True
    assert body["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1_048_576}
    _, _, types = call(event_for("/ResourceTypes"))
    assert [t["id"] for t in types["Resources"]] == ["User", "Group"]
    _, _, schemas = call(event_for("/Schemas"))
    assert {s["id"] for s in schemas["Resources"]} == {
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
    }
    status, _, _ = call(event_for("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Nope"))
    assert status == 404


@pytest.mark.parametrize(
    ("path_tenant", "authorizer_tenant"),
    [("other", "demo"), ("demo", "other"), ("demo", None), ("Demo", "Demo"), ("demo", "")],
)
def test_handler_refuses_a_tenant_the_authorizer_did_not_vouch_for(
    path_tenant: str, authorizer_tenant: str | None
) -> None:
    status, headers, body = call(event_for("/ServiceProviderConfig", path_tenant, authorizer_tenant))
    assert status == 401
    assert headers["www-authenticate"].startswith("Bearer")
    assert body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "401",
        "detail": "Authorization failure. The bearer token is missing, invalid, expired or revoked.",
    }


def test_unknown_route_is_scim_404() -> None:
    status, _, body = call(event_for("/Nope"))
    assert status == 404
    assert body["status"] == "404"
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_unexpected_exception_is_scim_500_without_internals(
    monkeypatch: pytest.MonkeyPatch, log_output: io.StringIO
) -> None:
    def boom() -> Any:
        raise RuntimeError("secret internal detail /var/task/core")

    monkeypatch.setattr(discovery, "service_capabilities", boom)
    status, _, body = call(event_for("/ServiceProviderConfig"))
    assert status == 500
    assert body["status"] == "500"
    assert "internal detail" not in json.dumps(body)
    logged = log_output.getvalue()
    # The exception is logged, with the API Gateway request id as correlation id.
    assert "secret internal detail" in logged
    assert EVENT["requestContext"]["requestId"] in logged


def test_custom_domain_base_path_is_kept_in_locations() -> None:
    event = event_for("/ServiceProviderConfig")
    event["requestContext"]["domainName"] = "scim.example.com"
    event["requestContext"]["path"] = "/identity/scim/v2/demo/ServiceProviderConfig"
    _, _, body = call(event)
    assert body["meta"]["location"] == "https://scim.example.com/identity/scim/v2/demo/ServiceProviderConfig"
