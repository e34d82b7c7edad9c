"""A LambdaContext stand-in for direct handler invocation in tests."""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from core.store.keys import Kind, counter_sk, tenant_pk
from core.store.resources_table import StoredResource, guard_item, resource_item


@dataclass
class FakeContext:
    function_name: str = "test"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def response_headers(result: dict[str, Any]) -> dict[str, str]:
    """Lower-cased headers of a proxy response, whether single- or multi-value."""
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ", ".join(str(v) for v in values)
    return headers


SETUP_BASE_EVENT: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "events/SetupFunction/get-setup-page.json").read_text()
)


def setup_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    cookie_header: str | None = None,
) -> dict[str, Any]:
    """A setup API request as API Gateway sends it (the base is events/SetupFunction); `path` is
    below the stage ("/setup/api/tokens")."""
    event = copy.deepcopy(SETUP_BASE_EVENT)
    resource, params = path, None
    if path.startswith("/setup/api/tokens/"):
        resource, params = "/setup/api/tokens/{token_id}", {"token_id": path.rsplit("/", 1)[1]}
    event.update(resource=resource, path=path, httpMethod=method, pathParameters=params)
    event["requestContext"].update(resourcePath=resource, httpMethod=method, path=f"/v1{path}")
    event["queryStringParameters"] = query or None
    all_headers = dict(event["headers"]) | (headers or {})
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    if cookie_header is not None:
        all_headers["Cookie"] = cookie_header
    event["headers"] = all_headers
    event["multiValueHeaders"] = {k: [v] for k, v in all_headers.items()}
    event["body"] = None if body is None else json.dumps(body)
    return event


def proxy_event(
    method: str,
    resource: str,
    path_params: dict[str, str],
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    authorizer_tenant: str | None = None,
) -> dict[str, Any]:
    """A REST API proxy event shaped like the files in events/ (the same base file)."""
    base = (
        Path(__file__).resolve().parent.parent / "events/DiscoveryFunction/get-service-provider-config.json"
    )
    event: dict[str, Any] = copy.deepcopy(json.loads(base.read_text()))
    tenant = path_params.get("tenant", "demo")
    path = resource
    for name, value in path_params.items():
        path = path.replace("{" + name + "}", value)
    event.update(resource=resource, path=path, httpMethod=method, pathParameters=path_params)
    event["requestContext"].update(resourcePath=resource, httpMethod=method, path=f"/v1{path}")
    auth_tenant = authorizer_tenant or tenant
    event["requestContext"]["authorizer"].update(
        tenantId=auth_tenant, tokenId=f"{auth_tenant}.0123456789abcdef", principalId=f"{auth_tenant}|x"
    )
    all_headers = dict(event["headers"])
    if body is not None:
        all_headers["Content-Type"] = "application/scim+json"
    all_headers.update(headers or {})
    event["headers"] = all_headers
    event["multiValueHeaders"] = {k: [v] for k, v in all_headers.items()}
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    return event


def seed_users(table_name: str, tenant_id: str, n: int, prefix: str = "seeded") -> list[str]:
    """Write n users straight to DynamoDB with BatchWriteItem, exactly as the store maps them.

    moto copies the whole table for every transaction, so creating hundreds of users through the
    API makes a test quadratic; this keeps large-group tests fast without a different item shape.
    """
    now = "2026-01-01T00:00:00.000Z"
    ids: list[str] = []
    requests: list[dict[str, Any]] = []
    for i in range(n):
        name = f"{prefix}{i:06d}@example.com"
        doc = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": True}
        res = StoredResource(tenant_id, Kind.USER, str(uuid.uuid4()), 1, now, now, name, doc)
        ids.append(res.id)
        requests += [{"PutRequest": {"Item": resource_item(res)}}, {"PutRequest": {"Item": guard_item(res)}}]
    db = boto3.client("dynamodb")
    for start in range(0, len(requests), 25):
        db.batch_write_item(RequestItems={table_name: requests[start : start + 25]})
    counter_key = {"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": counter_sk(Kind.USER)}}
    db.update_item(
        TableName=table_name,
        Key=counter_key,
        UpdateExpression="ADD n :n",
        ExpressionAttributeValues={":n": {"N": str(n)}},
    )
    return ids


class etag_of:  # noqa: N801 - reads as a value in assertions: `== etag_of(2)`
    """Equal to any signed ETag (``W/"<version>.<MAC>"``) of this version: tests that check the
    version do not depend on the per-process signing key."""

    def __init__(self, version: int) -> None:
        self.version = version

    def __eq__(self, other: object) -> bool:
        pattern = rf'W/"{self.version}\.[A-Za-z0-9_-]{{12}}"'
        return isinstance(other, str) and re.fullmatch(pattern, other) is not None

    def __hash__(self) -> int:
        return hash(self.version)

    def __repr__(self) -> str:
        return f'W/"{self.version}.<mac>"'
