"""The local gateway over real loopback HTTP: API Gateway's behaviour in front of the real handlers.

One gateway per session (`running`, in conftest.py: `start_gateway` on an ephemeral port); tests
that change shared state use their own tenants. Socket-free parts (query parsing, routing, policies,
the proxy event) are tested through the same gateway's `handle` or directly.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from pathlib import Path
from typing import Any

import boto3
import pytest

from core.errors import ServiceUnavailable
from core.store.token_hashes import TokenHashStore
from scimctl.gateway import (
    AuthorizerCache,
    InvalidAuthorizerResult,
    RunningGateway,
    parse_policy,
    parse_query,
)
from scimctl.template import Route
from tests.conftest import ROOT

pytestmark = [
    pytest.mark.integration,
    # The gateway disables metrics locally; powertools then never clears its dimension set and
    # warns when the authorizer adds "reason" again. Nothing is emitted either way.
    pytest.mark.filterwarnings("ignore:Dimension 'reason' has already been added"),
]

SCIM = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
_ids = count(1)


def call(
    url: str, token: str | None = None, method: str = "GET", body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - loopback only
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def scim_error(status: int, headers: dict[str, str], body: bytes, expected: int) -> dict[str, Any]:
    assert status == expected, body
    assert headers["content-type"] == SCIM
    assert headers["x-amzn-requestid"]
    document: dict[str, Any] = json.loads(body)
    assert document["schemas"] == [ERROR]
    assert document["status"] == str(expected)
    return document


def new_tenant(running: RunningGateway) -> tuple[str, str]:
    """A fresh tenant and token, so that no test depends on another's cache entries."""
    tenant = f"t{next(_ids)}-{running.port}"
    running.admin.create_tenant(tenant)
    return tenant, running.admin.issue_token(tenant, "test").token


# ---------------------------------------------------------------------------------------- discovery
def test_service_provider_config_with_the_demo_token(running: RunningGateway) -> None:
    status, headers, body = call(f"{running.tenant_url}/ServiceProviderConfig", running.token)
    assert status == 200, body
    assert headers["content-type"] == SCIM
    assert headers["x-amzn-requestid"]
    document = json.loads(body)
    assert document["schemas"] == [SPC]
    # Built from the event's domainName, stage path and X-Forwarded-Proto: the URL the client used.
    expected = f"{running.tenant_url}/ServiceProviderConfig"
    assert document.get("meta", {}).get("location", expected) == expected


def test_entra_feature_flag_query_does_not_break_routing(running: RunningGateway) -> None:
    # Entra ID: the Tenant URL is configured with "?aadOptscim062020", a key without a value.
    status, _, body = call(f"{running.tenant_url}/ServiceProviderConfig?aadOptscim062020", running.token)
    assert status == 200, body
    scim_error(*call(f"{running.tenant_url}?aadOptscim062020", running.token), expected=404)


# ---------------------------------------------------------------------------------------- authorizer
def test_no_authorization_header_is_a_scim_401_with_www_authenticate(running: RunningGateway) -> None:
    status, headers, body = call(f"{running.tenant_url}/ServiceProviderConfig")
    scim_error(status, headers, body, expected=401)
    assert headers["www-authenticate"] == 'Bearer realm="scim"'


@pytest.mark.parametrize("token", ["nope", "scim_demo.0123456789abcdef_" + "A" * 43])
def test_wrong_token_is_401(running: RunningGateway, token: str) -> None:
    status, headers, body = call(f"{running.tenant_url}/ServiceProviderConfig", token)
    scim_error(status, headers, body, expected=401)
    assert headers["www-authenticate"] == 'Bearer realm="scim"'


def test_token_of_another_tenant_is_401_on_demo_and_200_on_its_own_url(running: RunningGateway) -> None:
    tenant, token = new_tenant(running)
    own = f"{running.tenant_url_of(tenant)}/ServiceProviderConfig"
    demo = f"{running.tenant_url}/ServiceProviderConfig"
    # The decision is cached by the Authorization header alone: whichever URL comes first, the
    # cached policy must open the token's own tenant and nothing else.
    scim_error(*call(demo, token), expected=401)  # ACCESS_DENIED, answered as 401
    assert call(own, token)[0] == 200
    scim_error(*call(demo, token), expected=401)
    assert call(own, token)[0] == 200


def test_revoked_token_is_refused_at_once(running: RunningGateway) -> None:
    tenant, _ = new_tenant(running)
    issued = running.admin.issue_token(tenant, "to-revoke")
    url = f"{running.tenant_url_of(tenant)}/ServiceProviderConfig"
    assert call(url, issued.token)[0] == 200  # now cached as allowed
    running.admin.revoke_token(tenant, issued.metadata.token_id)  # flushes the gateway's cache
    status, headers, body = call(url, issued.token)
    scim_error(status, headers, body, expected=401)


def test_authorizer_outage_is_503_with_retry_after_and_not_cached(
    running: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, token = new_tenant(running)  # never seen: no cached hashes, no cached decision
    url = f"{running.tenant_url_of(tenant)}/ServiceProviderConfig"

    def unavailable(self: TokenHashStore, tenant_id: str) -> dict[str, str]:
        raise ServiceUnavailable("Secrets Manager is temporarily unavailable.")

    with monkeypatch.context() as patch:
        patch.setattr(TokenHashStore, "get_hashes", unavailable)
        status, headers, body = call(url, token)
    scim_error(status, headers, body, expected=503)
    assert int(headers["retry-after"]) > 0
    assert call(url, token)[0] == 200  # an outage is not a cached decision


def test_unauthorized_is_cached_by_header(running: RunningGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    authorizer = running.gateway.functions["AuthorizerFunction"]
    calls: list[str] = []
    real_invoke = authorizer.invoke

    def counting(event: dict[str, Any]) -> Any:
        calls.append(event["methodArn"])
        return real_invoke(event)

    monkeypatch.setattr(authorizer, "invoke", counting)
    url = f"{running.tenant_url}/ServiceProviderConfig"
    token = f"cached-{next(_ids)}"
    assert call(url, token)[0] == 401
    assert call(url, token)[0] == 401
    assert len(calls) == 1  # the second answer came from the cache, as in API Gateway


def test_invalid_authorizer_result_is_a_5xx_scim_error(
    running: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(running.gateway.functions["AuthorizerFunction"], "invoke", lambda event: {"x": 1})
    status, headers, body = call(f"{running.tenant_url}/Schemas", f"invalid-{next(_ids)}")
    scim_error(status, headers, body, expected=503)


# ---------------------------------------------------------------------------------------- gateway limits
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/scim/v2/demo/Nope"),
        ("DELETE", "/v1/scim/v2/demo/Users"),
        ("GET", "/prod/scim/v2/demo/ServiceProviderConfig"),
        ("GET", "/"),
    ],
)
def test_unknown_path_or_method_is_a_scim_404(running: RunningGateway, method: str, path: str) -> None:
    # API Gateway answers MISSING_AUTHENTICATION_TOKEN before any authorizer runs.
    scim_error(*call(f"{running.base_url}{path}", running.token, method=method), expected=404)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_discovery_endpoints_answer_other_methods_with_405(running: RunningGateway, method: str) -> None:
    status, headers, body = call(f"{running.tenant_url}/Schemas/urn:x", running.token, method=method)
    scim_error(status, headers, body, expected=405)
    assert headers["allow"] == "GET"
    # The tenant check still comes first: another tenant's token is a 401, not a 405.
    _, token = new_tenant(running)
    assert call(f"{running.tenant_url}/ServiceProviderConfig", token, method=method)[0] == 401


def test_body_over_10_mb_is_api_gateways_own_413_not_the_templates(running: RunningGateway) -> None:
    # API Gateway does not apply a customised REQUEST_TOO_LARGE (Notes-2023; zenn) and answers a
    # body over 10 MB with its own text (captured in koki-develop/lgtm-generator#10).
    body = b"x" * (11 * 1024 * 1024)
    status, headers, payload = call(f"{running.tenant_url}/Users", running.token, "POST", body)
    assert status == 413
    assert headers["content-type"] == "text; charset=utf-8"
    assert payload == b"HTTP content length exceeded 10485760 bytes."


def test_twenty_concurrent_requests_all_succeed(running: RunningGateway) -> None:
    tenant, token = new_tenant(running)
    urls = [
        (f"{running.tenant_url}/ServiceProviderConfig", running.token),
        (f"{running.tenant_url}/Schemas", running.token),
        (f"{running.tenant_url_of(tenant)}/ResourceTypes", token),
        (f"{running.tenant_url_of(tenant)}/ServiceProviderConfig", token),
    ]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda i: call(*urls[i % len(urls)]), range(20)))
    assert [status for status, _, _ in results] == [200] * 20
    assert all(json.loads(body)["schemas"] for _, _, body in results)


def test_request_log_line_has_no_query_string(
    running: RunningGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    call(f"{running.tenant_url}/Schemas?filter=secret-value", running.token)
    err = capsys.readouterr().err
    assert "GET /v1/scim/v2/demo/Schemas 200" in err
    assert "secret-value" not in err
    assert running.token not in err


# ---------------------------------------------------------------------------------------- proxy event
def test_proxy_event_is_a_rest_api_event(running: RunningGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[dict[str, Any]] = []

    def capture(event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        return {"statusCode": 200, "multiValueHeaders": {"X-Multi": ["a", "b"]}, "body": "ok"}

    monkeypatch.setattr(running.gateway.functions["DiscoveryFunction"], "invoke", capture)
    host = running.base_url.removeprefix("http://")
    response = running.gateway.handle(
        "GET",
        "/v1/scim/v2/demo/Schemas/urn%3Ax?aadOptscim062020&a=1&a=2",
        {"Host": host, "Authorization": f"Bearer {running.token}", "User-Agent": "test"},
        b"\xff\xfe",
    )
    assert response.status == 200
    assert response.body == b"ok"
    assert [v for k, v in response.headers if k == "X-Multi"] == ["a", "b"]
    assert response.header("Content-Type") == "application/json"  # API Gateway's default
    assert response.header("x-amzn-RequestId")
    (event,) = events
    assert event["resource"] == "/scim/v2/{tenant}/Schemas/{urn}"
    assert event["path"] == "/scim/v2/demo/Schemas/urn%3Ax"  # REST APIs keep the path encoded
    assert event["pathParameters"] == {"tenant": "demo", "urn": "urn%3Ax"}
    assert event["queryStringParameters"] == {"aadOptscim062020": "", "a": "2"}
    assert event["multiValueQueryStringParameters"] == {"aadOptscim062020": [""], "a": ["1", "2"]}
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["multiValueHeaders"]["User-Agent"] == ["test"]
    # No BinaryMediaTypes in the template: the body is text, never base64 (ministack-767, checked
    # on AWS); bytes that are not UTF-8 are replaced (undocumented in AWS, see docs/architecture.md).
    assert event["isBase64Encoded"] is False
    assert event["body"] == "\ufffd\ufffd"
    context = event["requestContext"]
    assert context["path"] == "/v1/scim/v2/demo/Schemas/urn%3Ax"
    assert context["stage"] == "v1"
    assert context["domainName"] == host
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "test"
    assert context["authorizer"]["tenantId"] == "demo"
    assert context["authorizer"]["principalId"].startswith("demo|")


@pytest.mark.parametrize(
    "outcome",
    # A digit string statusCode is valid (LS-11199, tested on AWS): see test_gateway_fidelity.py.
    [RuntimeError("boom"), {"statusCode": "OK", "body": "x"}, {"statusCode": 200, "body": {}}, "text"],
)
def test_function_error_or_malformed_result_is_a_scim_5xx(
    running: RunningGateway, monkeypatch: pytest.MonkeyPatch, outcome: object
) -> None:
    def invoke(event: dict[str, Any]) -> object:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(running.gateway.functions["DiscoveryFunction"], "invoke", invoke)
    status, headers, body = call(f"{running.tenant_url}/Schemas", running.token)
    scim_error(status, headers, body, expected=503)
    assert headers["retry-after"]


# ---------------------------------------------------------------------------------------- local AWS
def test_state_file_points_other_clients_at_the_same_data(running: RunningGateway) -> None:
    assert running.state_file is not None
    state = json.loads(running.state_file.read_text())
    assert state["api_url"] == running.api_url
    assert state["table_name"] == "scim-local"
    assert state["secrets_prefix"] == "scim/scim-local/"
    assert state["stack_name"] == "scim-local"
    assert state["event_bus_name"] == "scim-local-provisioning"
    # In this process: a client with endpoint_url goes over loopback to moto's HTTP API.
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=state["endpoint_url"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    item = dynamodb.get_item(
        TableName=state["table_name"], Key={"PK": {"S": "T#demo"}, "SK": {"S": "TENANT"}}
    ).get("Item")
    assert item is not None
    assert item["tenantId"] == {"S": "demo"}


def test_scimctl_in_another_process_sees_the_demo_tenant(running: RunningGateway) -> None:
    assert running.state_file is not None
    out = subprocess.run(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "scimctl.cli",
            "--state-file",
            str(running.state_file),
            "--json",
            "tenant",
            "list",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    tenants = {row["tenant"]: row for row in json.loads(out.stdout)}
    assert tenants["demo"]["tenantUrl"] == running.tenant_url


# ---------------------------------------------------------------------------------------- lifecycle
def _banner(process: subprocess.Popen[str], timeout: float = 60) -> list[str]:
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        lines.extend(process.stdout.readline() for _ in range(6))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return lines


def test_scimctl_serve_prints_the_banner_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    # A separate process: `serve` as `make serve` runs it (one moto per process, signals, exit code).
    state, token_file = tmp_path / "local.json", tmp_path / "token"
    command = [sys.executable, "-m", "scimctl.cli", "--state-file", str(state), "serve", "--port", "0"]
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [*command, "--token-file", str(token_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        lines = _banner(process)
        assert len(lines) == 6, (
            process.stderr.read() if process.poll() is not None and process.stderr else lines
        )
        assert lines[0].startswith("Serverless SCIM local gateway")
        tenant_url, token = lines[1].split()[-1], lines[3].split()[-1]
        assert tenant_url.endswith("/v1/scim/v2/demo")
        # The management API's line follows the Tenant URL (docs/management-api.md): SigV4 only.
        assert lines[2].startswith("Management API: http://127.0.0.1:")
        management_url = lines[2].split()[-1]
        assert management_url.endswith("/v1")
        unsigned_status, _, unsigned_body = call(f"{management_url}/tenants")
        assert (unsigned_status, json.loads(unsigned_body)) == (
            403,
            {"message": "Missing Authentication Token"},
        )
        assert lines[4].startswith("Try:")
        # A one-time setup link for the demo tenant (docs/setup-page.md): the page answers.
        assert lines[5].startswith("Setup link:  http://127.0.0.1:")
        setup_link = lines[5].split()[2]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1/setup#demo\.[0-9a-f]{16}\.[\w-]{43}", setup_link)
        page_status, _, page_body = call(setup_link.partition("#")[0])
        assert page_status == 200
        assert b"Connect your identity provider" in page_body
        assert json.loads(state.read_text())["api_url"] == tenant_url.removesuffix("/demo")
        assert token_file.read_text().strip() == token
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert call(f"{tenant_url}/ServiceProviderConfig", token)[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "GET /v1/scim/v2/demo/ServiceProviderConfig 200" in err
    assert token not in err
    assert not state.exists()
    port = int(tenant_url.split("/")[2].rpartition(":")[2])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


# ---------------------------------------------------------------------------------------- socket-free
@pytest.mark.parametrize(
    ("query", "single", "multi"),
    [
        ("", None, None),
        ("aadOptscim062020", {"aadOptscim062020": ""}, {"aadOptscim062020": [""]}),
        (
            "filter=userName%20eq%20%22a%40b%22&x=1&x=2",
            {"filter": 'userName eq "a@b"', "x": "2"},
            {"filter": ['userName eq "a@b"'], "x": ["1", "2"]},
        ),
        # Live-v1 (hotsock/voker vokerhttp/testdata/apigwv1-request.json, captured from a REST API):
        # `literalPlus=a+b` arrives as "a b", `encodedPlus=a%2Bb` as "a+b", `empty=` as "".
        (
            "empty=&encodedPlus=a%2Bb&literalPlus=a+b&repeat=one&repeat=two",
            {"empty": "", "encodedPlus": "a+b", "literalPlus": "a b", "repeat": "two"},
            {"empty": [""], "encodedPlus": ["a+b"], "literalPlus": ["a b"], "repeat": ["one", "two"]},
        ),
        # Entra ID's encoding of a filter (spaces as "+", quotes as %22), decoded as above.
        (
            "filter=userName+eq+%22a%2Bb%40x%22",
            {"filter": 'userName eq "a+b@x"'},
            {"filter": ['userName eq "a+b@x"']},
        ),
        # Notes-2023: a raw ";" "results in the data being split".
        ("a=1;b=2", {"a": "1", "b": "2"}, {"a": ["1"], "b": ["2"]}),
    ],
)
def test_query_string_as_rest_api_parses_it(
    query: str, single: dict[str, str] | None, multi: dict[str, list[str]] | None
) -> None:
    assert parse_query(query) == (single, multi)


def test_router_prefers_literal_segments_and_does_not_fall_back_on_a_missing_method() -> None:
    from scimctl.gateway import Router  # noqa: PLC0415

    def route(method: str, path: str) -> Route:
        return Route(method, path, "F", "h.lambda_handler")

    router = Router(
        [
            route("GET", "/scim/v2/{tenant}/Users/{id}"),
            route("POST", "/scim/v2/{tenant}/Users/.search"),
            route("ANY", "/files/{proxy+}"),
        ]
    )
    matched = router.match("POST", "/scim/v2/acme/Users/.search")
    assert matched is not None
    assert matched[0].path.endswith(".search")
    assert dict(matched[1]) == {"tenant": "acme"}
    assert router.match("GET", "/scim/v2/acme/Users/.search") is None  # API Gateway: 403/404
    greedy = router.match("PUT", "/files/a/b/c")
    assert greedy is not None
    assert dict(greedy[1]) == {"proxy": "a/b/c"}
    assert router.match("GET", "/files") is None


def test_policy_wildcards_and_explicit_deny() -> None:
    arn = "arn:aws:execute-api:us-east-1:123456789012:api/v1"
    policy = parse_policy(
        {
            "principalId": "p",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "execute-api:Invoke",
                        "Resource": [f"{arn}/*/scim/v2/a?me/*"],
                    },
                    {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": f"{arn}/DELETE/*"},
                ],
            },
            "context": {"n": 1, "b": True},
        }
    )
    assert policy.permits(f"{arn}/GET/scim/v2/acme/Users")
    assert not policy.permits(f"{arn}/GET/scim/v2/acmee/Users")
    assert not policy.permits(f"{arn}/DELETE/scim/v2/acme/Users/1")
    assert policy.context == {"n": "1", "b": "true"}
    for invalid in (
        {},
        {"principalId": "p"},
        {"principalId": "p", "policyDocument": {}, "context": {"x": {}}},
    ):
        with pytest.raises(InvalidAuthorizerResult):
            parse_policy(invalid)


def test_authorizer_cache_expires_after_the_ttl_and_zero_disables_it() -> None:
    now = [0.0]
    cache = AuthorizerCache(300, clock=lambda: now[0])
    cache.put(("Bearer a",), "denied")
    now[0] = 299.0
    assert cache.get(("Bearer a",)) == "denied"
    now[0] = 300.0
    assert cache.get(("Bearer a",)) is None
    disabled = AuthorizerCache(0)
    disabled.put(("Bearer a",), "denied")
    assert disabled.get(("Bearer a",)) is None


def test_a_request_line_the_server_refuses_is_answered_as_a_scim_error(running: RunningGateway) -> None:
    # http.server refuses a request line over 64 KB itself, before the gateway sees the request.
    path = "/v1/scim/v2/demo/Users?filter=" + "a" * 70_000
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        raw = b""
        while chunk := conn.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 "), head
    assert b"content-type: application/scim+json" in head.lower()
    document = json.loads(body)
    assert document["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert document["status"] == "414"
