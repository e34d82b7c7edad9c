"""Shared fixtures: moto for every AWS call, a table built from template.yaml, fresh caches.

The environment is set before any handler module is imported, as Lambda would set it.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent
TABLE_NAME = "scim-test"
SECRETS_PREFIX = "scim/scim-test/"

for key, value in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "TABLE_NAME": TABLE_NAME,
    "SECRETS_PREFIX": SECRETS_PREFIX,
    "POWERTOOLS_SERVICE_NAME": "scim",
    "POWERTOOLS_METRICS_NAMESPACE": "ScimTest",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_DEV": "0",
    "EVENT_BUS_NAME": "scim-test-provisioning",
    "EVENT_SOURCE": "scim.scim-test",
    "SCIM_BASE_URL": "https://api.example.com/v1/scim/v2",
    "SCIM_API_ID": "a1b2c3d4e5",
    "SCIM_STAGE_NAME": "v1",
    "STACK_NAME": "scim-test",
    "SETUP_PAGE_URL": "https://setup.example.com/v1/setup",
    "SAAS_NAME": "Example SaaS",
}.items():
    os.environ[key] = value
os.environ.pop("AWS_PROFILE", None)

from core.profiles import Profile  # noqa: E402
from core.store.tenants_table import TenantTable  # noqa: E402
from core.store.token_hashes import TokenHashStore  # noqa: E402
from handlers import (  # noqa: E402
    authorizer,
    aws_clients,
    bulk,
    groups,
    management,
    management_directory,
    reset_worker,
    resources,
    settings,
    setup,
    users,
    webhooks,
)
from handlers import events as events_handler  # noqa: E402
from handlers.observability import logger  # noqa: E402
from scimctl import moto_dynamodb  # noqa: E402
from scimctl.admin import Admin  # noqa: E402
from scimctl.template import load_template, table_create_kwargs  # noqa: E402
from tests.support import FakeContext, proxy_event, response_headers  # noqa: E402

TEMPLATE = load_template(ROOT / "template.yaml")
moto_dynamodb.install()  # the same DynamoDB engine as the local gateway and the benchmarks


def reset_handler_state() -> None:
    """Forget every per-container cache, as a cold start would."""
    aws_clients.reset()
    settings.reset()
    authorizer.authenticator.cache_clear()
    management.management.cache_clear()
    reset_worker.tenant_reset.cache_clear()
    reset_worker.role_recompute.cache_clear()
    management.setup_links.cache_clear()
    setup.desk.cache_clear()
    management.webhooks.cache_clear()
    management.redelivery.cache_clear()
    webhooks.reset()
    management.journal.cache_clear()
    events_handler.journal.cache_clear()
    management_directory.reset()
    resources.reset()


@pytest.fixture
def aws() -> Iterator[None]:
    reset_handler_state()
    with mock_aws():
        boto3.client("dynamodb").create_table(TableName=TABLE_NAME, **table_create_kwargs(TEMPLATE))
        yield
    reset_handler_state()


@pytest.fixture
def table(aws: None) -> TenantTable:
    return TenantTable(boto3.client("dynamodb"), TABLE_NAME)


@pytest.fixture
def hashes(aws: None) -> TokenHashStore:
    return TokenHashStore(boto3.client("secretsmanager"), SECRETS_PREFIX)


@pytest.fixture
def admin(table: TenantTable, hashes: TokenHashStore) -> Admin:
    return Admin(table, hashes)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Everything the powertools Logger writes during the test (its handler binds stdout at import)."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


class ScimClient:
    """Calls a resource handler in process with proxy events, as API Gateway would after auth."""

    ROUTES = (
        ("/Users/.search", "/scim/v2/{tenant}/Users/.search"),
        ("/Users/", "/scim/v2/{tenant}/Users/{id}"),
        ("/Users", "/scim/v2/{tenant}/Users"),
        ("/Groups/.search", "/scim/v2/{tenant}/Groups/.search"),
        ("/Groups/", "/scim/v2/{tenant}/Groups/{id}"),
        ("/Groups", "/scim/v2/{tenant}/Groups"),
        ("/Bulk", "/scim/v2/{tenant}/Bulk"),
        ("/.search", "/scim/v2/{tenant}/.search"),
    )

    def __init__(self, tenant: str = "demo", profile: Profile | None = None) -> None:
        self.tenant = tenant
        self.profile = profile  # what the authorizer would put in the context for this tenant

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ScimResponse:
        resource, params = self._route(path)
        event = proxy_event(method, resource, params, body=body, query=query, headers=headers)
        if self.profile is not None:
            event["requestContext"]["authorizer"]["profile"] = self.profile.to_json()
        handler = self._handler(resource)
        result = handler(event, FakeContext("resources"))
        text = result.get("body") or ""
        return ScimResponse(
            result["statusCode"], response_headers(result), json.loads(text) if text else None
        )

    @staticmethod
    def _handler(resource: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        if resource.endswith(("/Bulk", "}/.search")):
            return bulk.lambda_handler
        return groups.lambda_handler if "/Groups" in resource else users.lambda_handler

    def _route(self, path: str) -> tuple[str, dict[str, str]]:
        params = {"tenant": self.tenant}
        for prefix, resource in self.ROUTES:
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                if "{id}" in resource:
                    params["id"] = path[len(prefix) :]
                return resource, params
        raise AssertionError(f"no route for {path}")


@dataclass
class ScimResponse:
    status: int
    headers: dict[str, str]
    body: Any


@pytest.fixture
def scim(aws: None) -> ScimClient:
    return ScimClient("demo")


@pytest.fixture
def distinct_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give each ScimClient request its own request id and time, as API Gateway does (the base
    event has one of each); audit records and events name the request that caused them."""
    counter = itertools.count(1)
    original = proxy_event

    def event(*args: Any, **kwargs: Any) -> dict[str, Any]:
        built = original(*args, **kwargs)
        n = next(counter)
        built["requestContext"]["requestId"] = f"request-{n:04d}"
        built["requestContext"]["requestTimeEpoch"] += n * 1000
        return built

    monkeypatch.setattr(sys.modules[__name__], "proxy_event", event)


@pytest.fixture
def dynamodb_calls(aws: None) -> list[str]:
    """The DynamoDB operations the handlers make, in order (counts are deterministic)."""
    calls: list[str] = []
    aws_clients.dynamodb().meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    return calls
