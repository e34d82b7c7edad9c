"""The local gateway answers as API Gateway REST does: one test per row of the fidelity audit.

Rows (D1-D22) and the short source names in brackets are those of
../shared/research/api-gateway-fidelity.md; docs/architecture.md ("Local gateway vs API Gateway")
lists every row, fixed or left, and why. Tests that need a slow function block it on an event
instead of sleeping, and shorten the timeout, so nothing here depends on the clock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scimctl.gateway import LocalGateway, RunningGateway, _proxy_response
from scimctl.gateway_limits import LAMBDA_REQUEST_BYTES
from tests.conftest import ROOT
from tests.integration.test_local_gateway import call, new_tenant, scim_error

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Dimension 'reason' has already been added"),
]

SPC = "/ServiceProviderConfig"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def proxy_result(body: str = "{}", status: Any = 200, **headers: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": headers, "body": body}


@pytest.fixture
def released() -> Iterator[threading.Event]:
    """Set at the end of the test: lets a blocked fake function finish."""
    gate = threading.Event()
    yield gate
    gate.set()


def _headers(running: RunningGateway, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [("Host", running.base_url.removeprefix("http://")), *extra]


# ---------------------------------------------------------------------------------------- D2: 6 MB
def test_d2_body_over_lambdas_6_mb_is_api_gateways_413_not_a_retryable_503(running: RunningGateway) -> None:
    """Between 6 and 10 MB Lambda refuses the invoke ("Request must be smaller than 6291456 bytes",
    zaccharles) and API Gateway answers 413 {"message": "Request Too Long"} with
    x-amzn-ErrorType BadRequestException (captured: koki-develop/lgtm-generator#10): final, so an IdP
    does not retry it. Not the template's SCIM body: REQUEST_TOO_LARGE is not customisable."""
    user = {"schemas": [USER], "userName": "big", "x": "a" * 7_000_000}
    status, headers, body = call(
        f"{running.tenant_url}/Users", running.token, "POST", json.dumps(user).encode()
    )
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert headers["x-amzn-errortype"] == "BadRequestException"
    assert json.loads(body) == {"message": "Request Too Long"}
    assert "retry-after" not in headers


def test_d2_body_under_6_mb_reaches_the_function_and_gets_its_scim_413(running: RunningGateway) -> None:
    # The handlers' own limit (1 MiB, core.limits) answers everything Lambda accepts.
    user = {"schemas": [USER], "userName": "big", "x": "a" * 2_000_000}
    status, headers, body = call(
        f"{running.tenant_url}/Users", running.token, "POST", json.dumps(user).encode()
    )
    assert scim_error(status, headers, body, expected=413)["scimType"] == "tooLarge"


def test_d2_advertised_bulk_max_payload_size_is_the_limit_the_deployed_stack_applies(
    running: RunningGateway,
) -> None:
    """ServiceProviderConfig's bulk.maxPayloadSize must be refused by the function (a SCIM 413
    naming it, RFC 7644 §3.7.4), which needs it to stay well under Lambda's 6 MB invoke limit: past
    that, API Gateway answers with its own body."""
    status, _, body = call(f"{running.tenant_url}{SPC}", running.token)
    assert status == 200
    limit = json.loads(body)["bulk"]["maxPayloadSize"]
    assert limit * 2 < LAMBDA_REQUEST_BYTES  # room for the event around a body of that size
    bulk = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []}
    text = json.dumps(bulk)
    payload = (text[:-1] + "," + '"pad":"' + "p" * (limit - len(text)) + '"}').encode()
    assert len(payload) > limit
    status, headers, body = call(f"{running.tenant_url}/Bulk", running.token, "POST", payload)
    error = scim_error(status, headers, body, expected=413)
    assert error["scimType"] == "tooLarge"
    assert f"maxPayloadSize ({limit})" in error["detail"]


def test_d2_big_body_without_a_token_is_401_as_the_authorizer_runs_before_the_invoke(
    running: RunningGateway,
) -> None:
    status, headers, body = call(f"{running.tenant_url}/Users", None, "POST", b"a" * 7_000_000)
    scim_error(status, headers, body, expected=401)


def test_d2_response_over_6_mb_is_an_integration_failure(
    running: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy result over Lambda's 6 MB response limit: API Gateway answers INTEGRATION_FAILURE
    (captured: DataBiosphere/azul#8258), with this template a 503. The handlers never return one
    (handlers.routing, tests/unit/test_routing.py); this shows what a developer would get."""
    big = proxy_result("a" * 6_300_000)
    monkeypatch.setattr(running.gateway.functions["DiscoveryFunction"], "invoke", lambda event: big)
    status, headers, body = call(f"{running.tenant_url}{SPC}", running.token)
    scim_error(status, headers, body, expected=503)
    assert headers["x-amzn-errortype"] == "InternalServerErrorException"  # rePost-5xx


# ---------------------------------------------------------------------------------------- D3: timeouts
def test_d3_no_answer_within_the_integration_timeout_is_integration_timeout(
    running: RunningGateway, monkeypatch: pytest.MonkeyPatch, released: threading.Event
) -> None:
    """Past API Gateway's 29 s integration timeout: INTEGRATION_TIMEOUT (Quotas, GR-types), which
    the template answers 504 + Retry-After. The 29 s is shortened for the test."""
    monkeypatch.setattr(running.gateway, "integration_timeout", 0.05)
    monkeypatch.setattr(
        running.gateway.functions["DiscoveryFunction"], "invoke", lambda event: released.wait(30)
    )
    status, headers, body = call(f"{running.tenant_url}{SPC}", running.token)
    scim_error(status, headers, body, expected=504)
    assert headers["retry-after"] == "5"


def test_d3_a_function_past_its_own_timeout_is_a_function_error(
    running: RunningGateway, monkeypatch: pytest.MonkeyPatch, released: threading.Event
) -> None:
    """Lambda ends a function at its Timeout; API Gateway sees a function error (Lambda-APIGW),
    INTEGRATION_FAILURE, with this template a 503. Timeout 0 stands for "already past it"."""
    function = running.gateway.functions["DiscoveryFunction"]
    monkeypatch.setattr(function, "function", replace(function.function, timeout_seconds=0))
    monkeypatch.setattr(function, "invoke", lambda event: released.wait(30))
    status, headers, body = call(f"{running.tenant_url}{SPC}", running.token)
    scim_error(status, headers, body, expected=503)


def test_d3_time_spent_queueing_for_the_local_invocation_lock_is_not_counted(
    running: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda would run a concurrent request in another container; locally it waits its turn, and
    that wait is no part of the function's Timeout (or the concurrency tests would time out)."""
    function = running.gateway.functions["DiscoveryFunction"]
    url = f"{running.tenant_url}{SPC}"
    assert call(url, running.token)[0] == 200  # warm: no import inside the measured run
    monkeypatch.setattr(function, "function", replace(function.function, timeout_seconds=2))
    statuses: list[int] = []
    with running.gateway._invoke_lock:  # another invocation is running
        waiting = threading.Thread(target=lambda: statuses.append(call(url, running.token)[0]))
        waiting.start()
        waiting.join(2.5)  # longer than the Timeout; the request is still queued
        assert waiting.is_alive()
    waiting.join(30)
    assert statuses == [200]


def test_d3_every_api_function_times_out_before_api_gateway_does(running: RunningGateway) -> None:
    # A function Timeout of 29 s or more lets API Gateway answer 504 first while the function goes
    # on (Bulk would then be retried whole by the IdP); cold-start init time counts against the
    # 29 s as well, hence the margin.
    template = running.gateway.template
    behind_api = {route.function_id for route in template.routes}
    behind_api |= {a.function_id for a in template.authorizers.values()}
    timeouts = {fid: template.functions[fid].timeout_seconds for fid in behind_api}
    assert timeouts, "no function behind the API"
    assert all(t <= 25 for t in timeouts.values()), timeouts


# ---------------------------------------------------------------------------------------- D7, D16: identity
def test_d7_a_repeated_authorization_header_cannot_poison_the_cache(running: RunningGateway) -> None:
    """The cache key and the authorizer's event use the same (last) value, so a junk value after a
    valid one is refused without leaving the valid token refused for the cache TTL."""
    tenant, token = new_tenant(running)
    path = f"/v1/scim/v2/{tenant}{SPC}"
    good, junk = ("Authorization", f"Bearer {token}"), ("Authorization", "Bearer junk")
    assert running.gateway.handle("GET", path, _headers(running, good, junk), b"").status == 401
    assert running.gateway.handle("GET", path, _headers(running, good), b"").status == 200
    assert running.gateway.handle("GET", path, _headers(running, junk, good), b"").status == 200


def test_d16_with_caching_off_the_authorizer_is_called_without_the_header(
    running: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "missing … → 401 without calling" holds "when caching is enabled" (Auth-ids); with caching
    off identity sources are optional (aws/serverless-application-model#1508)."""
    authorizer = running.gateway.functions["AuthorizerFunction"]
    seen: list[dict[str, Any]] = []
    real = authorizer.invoke
    monkeypatch.setattr(authorizer, "invoke", lambda event: (seen.append(event), real(event))[1])
    monkeypatch.setattr(running.gateway.authorizer_cache, "ttl_seconds", 0)
    status, headers, body = call(f"{running.tenant_url}{SPC}")
    scim_error(status, headers, body, expected=401)
    assert len(seen) == 1
    monkeypatch.setattr(running.gateway.authorizer_cache, "ttl_seconds", 300)
    seen.clear()
    assert call(f"{running.tenant_url}{SPC}")[0] == 401
    assert seen == []  # caching on: refused by API Gateway itself


# ---------------------------------------------------------------------------- D11: remapped headers
def test_d11_a_functions_www_authenticate_is_remapped_and_gateway_401s_keep_it(
    running: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """API Gateway renames WWW-Authenticate (and Authorization, Date, Server, Connection) in a proxy
    result to x-amzn-Remapped-<name> (Notes-2023; the StackExchange report in volcengine 739377).
    A 401 keeps the header only as a gateway response, which is why every 401 is one."""
    result = proxy_result(status=401, **{"WWW-Authenticate": 'Bearer realm="scim"', "Server": "fn"})
    monkeypatch.setattr(running.gateway.functions["DiscoveryFunction"], "invoke", lambda event: result)
    status, headers, _ = call(f"{running.tenant_url}{SPC}", running.token)
    assert status == 401
    assert "www-authenticate" not in headers
    assert headers["x-amzn-remapped-www-authenticate"] == 'Bearer realm="scim"'
    assert headers["x-amzn-remapped-server"] == "fn"
    # The gateway's own 401s (no token, bad token, another tenant's token) carry the header.
    _, other = new_tenant(running)
    for token in (None, "nope", other):
        status, headers, _ = call(f"{running.tenant_url}{SPC}", token)
        assert (status, headers["www-authenticate"]) == (401, 'Bearer realm="scim"')


def test_d11_every_401_gateway_response_of_the_template_sets_www_authenticate(
    running: RunningGateway,
) -> None:
    responses = running.gateway.template.gateway_responses
    four_oh_ones = [r for r in responses.values() if r.status_code == 401]
    assert {r.type for r in four_oh_ones} >= {"UNAUTHORIZED", "ACCESS_DENIED"}
    assert all(r.headers.get("WWW-Authenticate") == 'Bearer realm="scim"' for r in four_oh_ones)


# ---------------------------------------------------------------------------------------- D12: defaults
def test_d12_gateway_response_defaults_and_error_types(running: RunningGateway) -> None:
    """GR-types: INVALID_SIGNATURE, EXPIRED_TOKEN and WAF_FILTERED are 4xx types, so an
    uncustomised one falls back to DEFAULT_4XX (400 here), not DEFAULT_5XX."""
    gateway = running.gateway
    assert gateway.gateway_response("INVALID_SIGNATURE").status == 400
    assert gateway.gateway_response("API_CONFIGURATION_ERROR").status == 503
    failure = gateway.gateway_response("AUTHORIZER_CONFIGURATION_ERROR")
    assert failure.header("x-amzn-ErrorType") == "AuthorizerConfigurationException"  # SO-1376


def test_d12_builtin_defaults_without_customisation(tmp_path: Path) -> None:
    text = (ROOT / "template.yaml").read_text()
    start = text.index("      GatewayResponses:")
    end = text.index("\n  UsersLogGroup:")
    bare = tmp_path / "template.yaml"
    bare.write_text(text[:start] + text[end:])
    gateway = LocalGateway(bare)
    # GR-types defaults; INTEGRATION_FAILURE is 502 as captured (DataBiosphere/azul#8258).
    statuses = {t: gateway.gateway_response(t).status for t in ("EXPIRED_TOKEN", "WAF_FILTERED")}
    assert statuses == {"EXPIRED_TOKEN": 403, "WAF_FILTERED": 403}
    assert gateway.gateway_response("INTEGRATION_FAILURE").status == 502
    assert gateway.gateway_response("REQUEST_TOO_LARGE").json() == {"message": "Request Too Long"}


# ---------------------------------------------------------------------------- D13, D14: proxy result
def test_d13_a_digit_string_status_code_is_accepted() -> None:
    # LS-11199: tested on AWS, "201" is a valid statusCode.
    assert _proxy_response(proxy_result(status="201"), "r").status == 201
    with pytest.raises(ValueError, match="statusCode"):
        _proxy_response(proxy_result(status="Created"), "r")


def test_d14_headers_and_multi_value_headers_merge_and_base64_stays_encoded() -> None:
    """Proxy-fmt: both header maps are merged, an identical name and value once; a base64 body is
    decoded only when Accept matches a binary media type (ministack-767), none in this template."""
    result = {
        "statusCode": 200,
        "headers": {"X-A": "single", "X-B": "same"},
        "multiValueHeaders": {"X-A": ["multi"], "X-B": ["same"]},
        "body": "b2s=",
        "isBase64Encoded": True,
    }
    response = _proxy_response(result, "r")
    assert [v for k, v in response.headers if k == "X-A"] == ["multi", "single"]
    assert [v for k, v in response.headers if k == "X-B"] == ["same"]
    assert response.body == b"b2s="
    assert _proxy_response(result, "r", decode_base64=True).body == b"ok"


# ---------------------------------------------------------------------------------------- D15, D17: events
def test_d15_a_null_context_value_is_passed_as_null(
    running: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DT-69823 (a live test): null stays null; it is not an invalid authorizer result.
    authorizer = running.gateway.functions["AuthorizerFunction"]
    real = authorizer.invoke

    def with_null(event: dict[str, Any]) -> Any:
        result = real(event)
        result["context"]["extra"] = None
        return result

    events: list[dict[str, Any]] = []
    discovery = running.gateway.functions["DiscoveryFunction"]
    real_discovery = discovery.invoke
    monkeypatch.setattr(authorizer, "invoke", with_null)
    monkeypatch.setattr(discovery, "invoke", lambda event: (events.append(event), real_discovery(event))[1])
    tenant, token = new_tenant(running)  # a token not cached yet
    assert call(f"{running.tenant_url_of(tenant)}{SPC}", token)[0] == 200
    (event,) = events
    assert event["requestContext"]["authorizer"]["extra"] is None
    # Live-v1's identity carries these keys (null without an API key or client certificate).
    assert {"apiKey", "apiKeyId", "clientCert"} <= set(event["requestContext"]["identity"])
