"""An AWS outage seen from the IdP (issue 8, item 3), over real HTTP through the local gateway.

The authorizer fails on purpose when Secrets Manager or DynamoDB is down; the gateway answers its
AUTHORIZER_* gateway response, a SCIM 503 with Retry-After, never a 401 (which would make Entra
quarantine the app). A handler's own outage is its SCIM 503. Faults are injected below botocore's
retry handler on the in-process clients (`tests.fault_injection`); sleeps are recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import botocore.endpoint
import pytest

from handlers import aws_clients
from scimctl.gateway import RunningGateway
from tests.fault_injection import FaultInjector, endpoint_unreachable, throttling
from tests.integration.conftest import ScimHttp, assert_scim_error, new_tenant

pytestmark = pytest.mark.integration


@pytest.fixture
def faults(running: RunningGateway, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultInjector]:
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=lambda _s: None))
    injector = FaultInjector()
    for client in (aws_clients.dynamodb(), aws_clients.secretsmanager()):
        injector.attach(client)
    yield injector
    injector.recover()  # the hook stays registered on the session's clients, answering nothing


@pytest.fixture
def uncached(running: RunningGateway) -> ScimHttp:
    """A new tenant and token: the authorizer has no cached decision or hashes for it."""
    tenant, token = new_tenant(running, "outage")
    return ScimHttp(running.tenant_url_of(tenant), token)


def assert_retryable(response: object) -> None:
    document = assert_scim_error(response, 503)  # type: ignore[arg-type]
    assert int(response.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    assert "Authorization" not in document["detail"]


@pytest.mark.parametrize(
    ("operation", "answer"),
    [
        ("GetSecretValue", throttling()),
        ("GetSecretValue", endpoint_unreachable),
        ("BatchGetItem", throttling()),
    ],
    ids=["secrets-throttled", "secrets-unreachable", "dynamodb-throttled"],
)
def test_token_store_outage_is_503_with_retry_after_not_401(
    uncached: ScimHttp, faults: FaultInjector, operation: str, answer: object
) -> None:
    faults.fail(operation, answer)  # type: ignore[arg-type]
    response = uncached.get("/Users")
    assert_retryable(response)
    assert faults.attempts[operation] == 3  # retried by botocore first
    faults.recover()
    # The failure was not cached as a denial: the same token works as soon as AWS is back.
    assert uncached.get("/Users").status == 200


def test_table_outage_in_a_handler_is_its_own_scim_503(uncached: ScimHttp, faults: FaultInjector) -> None:
    assert uncached.get("/Users").status == 200  # authorizer decision cached
    faults.fail("TransactWriteItems", throttling("ProvisionedThroughputExceededException"))
    created = uncached.post(
        "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "o@x.io"}
    )
    assert_retryable(created)
    faults.recover()
    assert uncached.get("/Users").json["totalResults"] == 0
