"""AWS faults (issue 8, item 3): what the Users, Groups and Bulk handlers, the authorizer and the
events handler do when DynamoDB, Secrets Manager or EventBridge fail.

Faults are injected below botocore's retry handler (`tests.fault_injection`), so the production
retry configuration (`handlers.aws_clients`, `handlers.aws_retries`) runs for real; sleeps are
recorded, not slept. The contract asserted for every scenario:

* a transient fault is retried (counted attempts, jittered backoff) and the request succeeds;
* a persistent one ends in a SCIM 503 with Retry-After (the authorizer fails, so that API Gateway
  answers its 503 gateway response), never a 401 and never a 500;
* nothing is half-written: the table is read afterwards (no item of a failed transaction, the
  counter unchanged, membership and group consistent);
* every event is published exactly once, or the stream batch reports the failed records so that
  Lambda retries them (then the dead-letter queue).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from core.errors import ServiceUnavailable
from core.events.publisher import Retry
from core.store import batch as batch_module
from core.store import resources_table as resources_table_module
from core.store.aws_errors import time_budget
from core.store.keys import Kind, counter_sk, tenant_pk
from core.store.resources_table import ResourceTable
from handlers import authorizer, aws_clients, aws_retries
from handlers import events as events_handler
from scimctl.admin import Admin
from scimctl.local_events import TableStream, stream_event
from tests.conftest import TABLE_NAME, ScimClient, ScimResponse
from tests.fault_injection import (
    FaultInjector,
    connect_timeout,
    endpoint_unreachable,
    json_error,
    json_response,
    put_events_rejecting,
    read_timeout,
    server_error,
    throttling,
    transaction_cancelled,
)
from tests.support import FakeContext, seed_users

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BUS = "scim-test-provisioning"


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[float]]:
    """Every backoff, by who slept: botocore's retry handler, the stores' own loops, the publisher."""
    recorded: dict[str, list[float]] = {"botocore": [], "store": [], "publisher": []}
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=recorded["botocore"].append))
    store_time = SimpleNamespace(sleep=recorded["store"].append)
    monkeypatch.setattr(resources_table_module, "time", store_time)
    monkeypatch.setattr(batch_module, "time", store_time)
    monkeypatch.setattr(events_handler, "RETRY", Retry(sleep=recorded["publisher"].append))
    random.seed(8)  # jitter draws are reproducible; what is asserted holds for any draw
    return recorded


@pytest.fixture
def faults(aws: None, sleeps: dict[str, list[float]]) -> FaultInjector:
    injector = FaultInjector()
    for client in (aws_clients.dynamodb(), aws_clients.secretsmanager(), aws_clients.events()):
        injector.attach(client)
    return injector


@pytest.fixture
def scim_f(scim: ScimClient, faults: FaultInjector, distinct_requests: None) -> ScimClient:
    return scim


def all_items() -> list[dict[str, Any]]:
    """The whole table, read around the faults (tests only; no request path scans)."""
    db = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": TABLE_NAME}
    while True:
        out = db.scan(**kwargs)
        items += out["Items"]
        if "LastEvaluatedKey" not in out:
            return items
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def item_kinds() -> list[str]:
    return sorted(i.get("kind", {}).get("S", "?") for i in all_items())


def user_count(tenant: str = "demo") -> int:
    key = {"PK": {"S": tenant_pk(tenant)}, "SK": {"S": counter_sk(Kind.USER)}}
    item = boto3.client("dynamodb").get_item(TableName=TABLE_NAME, Key=key).get("Item", {})
    return int(item.get("n", {}).get("N", "0"))


def assert_503(response: ScimResponse) -> None:
    """A retryable SCIM error: 503, Retry-After, the RFC 7644 §3.12 body; never 401 or 500."""
    assert response.status == 503, response.body
    assert response.headers["content-type"] == "application/scim+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.body["schemas"] == [ERROR]
    assert response.body["status"] == "503"


def assert_jittered(delays: list[float], cap: Callable[[int], float]) -> None:
    """Full jitter: retry n sleeps a random fraction of its exponential cap, never the cap itself."""
    assert delays
    fractions = [d / cap(n) for n, d in enumerate(delays, start=1)]
    assert all(0 <= f < 1 for f in fractions), fractions
    assert len(set(fractions)) == len(fractions)  # drawn, not fixed


def throttled_cap(n: int) -> float:
    return 1.0 * 2 ** (n - 1)  # botocore's throttling backoff: rand() * 2^(n-1) s


def user_body(name: str) -> dict[str, Any]:
    return {"schemas": [USER], "userName": name, "active": True}


def new_user(scim: ScimClient, name: str) -> dict[str, Any]:
    created = scim("POST", "/Users", user_body(name))
    assert created.status == 201, created.body
    return created.body  # type: ignore[no-any-return]


def new_group(scim: ScimClient, name: str, members: list[str] = []) -> dict[str, Any]:  # noqa: B006
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
    created = scim("POST", "/Groups", body)
    assert created.status == 201, created.body
    return created.body  # type: ignore[no-any-return]


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def member_ids(group_id: str) -> list[str]:
    return sorted(
        i["memberId"]["S"] for i in all_items() if i.get("groupId", {}).get("S") == group_id and "GSI1PK" in i
    )


def group_version(scim: ScimClient, group_id: str) -> str:
    fetched = scim("GET", f"/Groups/{group_id}", query={"excludedAttributes": "members"})
    assert fetched.status == 200, fetched.body
    return str(fetched.body["meta"]["version"])


# -- Users: transient faults are retried, the request succeeds ---------------------------------
@pytest.mark.parametrize("code", ["ThrottlingException", "ProvisionedThroughputExceededException"])
def test_create_user_retries_throttled_transaction_then_201(
    scim_f: ScimClient, faults: FaultInjector, sleeps: dict[str, list[float]], code: str
) -> None:
    faults.fail("TransactWriteItems", throttling(code), times=2)
    created = scim_f("POST", "/Users", user_body("throttled@example.com"))
    assert created.status == 201, created.body
    assert faults.attempts["TransactWriteItems"] == 3  # two throttled, the third written
    assert_jittered(sleeps["botocore"], throttled_cap)
    assert item_kinds().count("USER") == 1
    assert item_kinds().count("guard") == 1
    assert user_count() == 1


@pytest.mark.parametrize("status", [500, 503])
def test_patch_user_retries_5xx_then_200_applied_once(
    scim_f: ScimClient, faults: FaultInjector, sleeps: dict[str, list[float]], status: int
) -> None:
    user = new_user(scim_f, "fivexx@example.com")
    faults.fail("PutItem", server_error(status), times=2)
    patched = scim_f(
        "PATCH", f"/Users/{user['id']}", patch({"op": "replace", "path": "title", "value": "CTO"})
    )
    assert patched.status == 200, patched.body
    assert faults.attempts["PutItem"] == 3
    # At most the throttling cap (newer botocore scales non-throttling errors down to 25 ms).
    assert_jittered(sleeps["botocore"], throttled_cap)
    stored = scim_f("GET", f"/Users/{user['id']}").body
    assert stored["title"] == "CTO"
    assert stored["meta"]["version"].startswith('W/"2')  # one write, not one per attempt


@pytest.mark.parametrize("fault", [read_timeout, connect_timeout, endpoint_unreachable])
def test_get_user_retries_connection_faults_then_200(
    scim_f: ScimClient, faults: FaultInjector, fault: Callable[..., Any]
) -> None:
    user = new_user(scim_f, "slow@example.com")
    # A user's read is one BatchGetItem (the user and the tenant's nested-group counter).
    faults.fail("BatchGetItem", fault, times=1)
    fetched = scim_f("GET", f"/Users/{user['id']}")
    assert fetched.status == 200, fetched.body
    assert faults.injected["BatchGetItem"] == 1
    assert faults.attempts["BatchGetItem"] == 2
    assert fetched.body["userName"] == "slow@example.com"


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_create_user_retries_cancelled_transaction_then_201(
    scim_f: ScimClient, faults: FaultInjector, reason: str
) -> None:
    faults.fail("TransactWriteItems", transaction_cancelled(reason), times=2)
    created = scim_f("POST", "/Users", user_body("contended@example.com"))
    assert created.status == 201, created.body
    assert faults.attempts["TransactWriteItems"] == 3
    assert item_kinds().count("USER") == 1
    assert user_count() == 1


# -- Users: persistent faults are a 503 and write nothing --------------------------------------
@pytest.mark.parametrize(
    "answer",
    [
        throttling(),
        throttling("ProvisionedThroughputExceededException"),
        transaction_cancelled("ThrottlingError"),
        transaction_cancelled("TransactionConflict"),
        server_error(500),
        server_error(503),
        read_timeout,
        endpoint_unreachable,
    ],
    ids=[
        "throttling",
        "throughput",
        "cancelled-throttling",
        "cancelled-conflict",
        "500",
        "503",
        "read-timeout",
        "unreachable",
    ],
)
def test_create_user_persistent_fault_is_503_and_writes_nothing(
    scim_f: ScimClient, faults: FaultInjector, answer: Callable[..., Any]
) -> None:
    before = item_kinds()
    faults.fail("TransactWriteItems", answer)
    response = scim_f("POST", "/Users", user_body("never@example.com"))
    assert_503(response)
    assert faults.attempts["TransactWriteItems"] >= 3  # retried before giving up
    faults.recover()
    assert item_kinds() == sorted([*before, "audit"])  # only the audit record of the failed request
    assert user_count() == 0
    # The IdP's retry, once DynamoDB is back, creates the user exactly once.
    assert scim_f("POST", "/Users", user_body("never@example.com")).status == 201
    assert user_count() == 1


def test_patch_user_persistent_throttling_is_503_and_changes_nothing(
    scim_f: ScimClient, faults: FaultInjector
) -> None:
    user = new_user(scim_f, "unchanged@example.com")
    faults.fail("PutItem", throttling("ProvisionedThroughputExceededException"))
    response = scim_f(
        "PATCH", f"/Users/{user['id']}", patch({"op": "replace", "path": "title", "value": "X"})
    )
    assert_503(response)
    assert faults.attempts["PutItem"] == 3
    faults.recover()
    stored = scim_f("GET", f"/Users/{user['id']}").body
    assert "title" not in stored
    assert stored["meta"]["version"] == user["meta"]["version"]


def test_delete_user_unreachable_is_503_and_keeps_the_user(scim_f: ScimClient, faults: FaultInjector) -> None:
    user = new_user(scim_f, "kept@example.com")
    faults.fail("TransactWriteItems", endpoint_unreachable)
    assert_503(scim_f("DELETE", f"/Users/{user['id']}"))
    faults.recover()
    assert scim_f("GET", f"/Users/{user['id']}").status == 200
    assert "tombstone" not in item_kinds()
    assert user_count() == 1


@pytest.mark.parametrize("answer", [throttling(), read_timeout, connect_timeout])
def test_list_users_persistent_read_fault_is_503(
    scim_f: ScimClient, faults: FaultInjector, answer: Callable[..., Any]
) -> None:
    new_user(scim_f, "listed@example.com")
    faults.fail("Query", answer)
    assert_503(scim_f("GET", "/Users", query={"filter": 'userName eq "listed@example.com"'}))


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ClientError({"Error": {"Code": "ThrottlingException"}}, "GetItem"), 503),
        (ReadTimeoutError(endpoint_url="https://dynamodb"), 503),
        (ClientError({"Error": {"Code": "ValidationException"}}, "GetItem"), 500),  # a bug: 500
    ],
    ids=["throttling", "read-timeout", "validation"],
)
def test_an_untranslated_aws_error_is_mapped_by_kind(
    scim_f: ScimClient, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int
) -> None:
    # Defence in depth: a store call that forgot `unavailable_on_outage` still answers a 503.
    user = new_user(scim_f, "untranslated@example.com")

    def fail(*_: Any, **__: Any) -> None:
        raise error

    monkeypatch.setattr(ResourceTable, "require_with_nested_count", fail)  # a user's read
    response = scim_f("GET", f"/Users/{user['id']}")
    assert response.status == status, response.body
    assert response.body["schemas"] == [ERROR]
    if status == 503:
        assert_503(response)


# -- Groups and membership ---------------------------------------------------------------------
def test_membership_patch_retries_transaction_conflict_then_204(
    scim_f: ScimClient, faults: FaultInjector
) -> None:
    users = [new_user(scim_f, f"member{i}@example.com")["id"] for i in range(2)]
    group = new_group(scim_f, "Contended")
    # Entra's parallel PATCHes all bump the group item: DynamoDB cancels all but one.
    faults.fail("TransactWriteItems", transaction_cancelled("TransactionConflict"), times=2)
    response = scim_f(
        "PATCH",
        f"/Groups/{group['id']}",
        patch({"op": "add", "path": "members", "value": [{"value": users[0]}]}),
    )
    assert response.status == 204, response.body
    assert faults.injected["TransactWriteItems"] == 2
    assert member_ids(group["id"]) == [users[0]]
    assert group_version(scim_f, group["id"]).startswith('W/"2')


@pytest.mark.parametrize(
    "answer",
    [throttling(), transaction_cancelled("ThrottlingError"), server_error(500), read_timeout],
    ids=["throttling", "cancelled-throttling", "500", "read-timeout"],
)
def test_membership_patch_persistent_fault_is_503_and_consistent(
    scim_f: ScimClient, faults: FaultInjector, answer: Callable[..., Any]
) -> None:
    users = [new_user(scim_f, f"m{i}@example.com")["id"] for i in range(3)]
    group = new_group(scim_f, "Stable", users[:2])
    version = group_version(scim_f, group["id"])
    faults.fail("TransactWriteItems", answer)
    ops = patch(
        {"op": "add", "path": "members", "value": [{"value": users[2]}]},
        {"op": "remove", "path": f'members[value eq "{users[0]}"]'},
    )
    assert_503(scim_f("PATCH", f"/Groups/{group['id']}", ops))
    faults.recover()
    assert member_ids(group["id"]) == sorted(users[:2])  # neither the add nor the removal
    assert group_version(scim_f, group["id"]) == version
    assert "membership-tombstone" not in item_kinds()
    groups_of_new = scim_f("GET", f"/Users/{users[2]}").body.get("groups")
    assert not groups_of_new


def test_create_group_with_members_persistent_throttling_writes_nothing(
    scim_f: ScimClient, faults: FaultInjector
) -> None:
    users = [new_user(scim_f, f"g{i}@example.com")["id"] for i in range(2)]
    faults.fail("TransactWriteItems", throttling())
    body = {"schemas": [GROUP], "displayName": "Never", "members": [{"value": u} for u in users]}
    assert_503(scim_f("POST", "/Groups", body))
    faults.recover()
    kinds = item_kinds()
    assert "GROUP" not in kinds
    assert "membership" not in kinds
    assert scim_f("GET", "/Groups").body["totalResults"] == 0


def _adds_members_to_an_existing_group(request: Any) -> bool:
    """The follow-up transactions of a large create: member puts plus the group's version bump."""
    items = json.loads(request.body or b"{}").get("TransactItems", [])
    return any("Update" in i for i in items) and any("Put" in i for i in items)


def test_create_group_failing_after_its_first_transaction_is_undone(
    scim_f: ScimClient, faults: FaultInjector
) -> None:
    users = seed_users(TABLE_NAME, scim_f.tenant, 98)
    # 95 members go in the group's own transaction; the other 3 follow and hit a lasting outage.
    faults.fail("TransactWriteItems", throttling(), when=_adds_members_to_an_existing_group)
    body = {"schemas": [GROUP], "displayName": "Partial", "members": [{"value": u} for u in users]}
    assert_503(scim_f("POST", "/Groups", body))
    assert faults.injected["TransactWriteItems"] > 0
    faults.recover()
    # All or nothing: no group with 95 of its 98 members is left for the IdP's retry to trip on.
    assert scim_f("GET", "/Groups").body["totalResults"] == 0
    assert "membership" not in item_kinds()
    assert not scim_f("GET", f"/Users/{users[0]}").body.get("groups")
    retried = scim_f("POST", "/Groups", body)
    assert retried.status == 201, retried.body
    assert len(member_ids(retried.body["id"])) == 98


def test_delete_group_cleanup_fault_leaves_no_orphan_membership(
    scim_f: ScimClient, faults: FaultInjector
) -> None:
    users = [new_user(scim_f, f"o{i}@example.com")["id"] for i in range(2)]
    group = new_group(scim_f, "Doomed", users)
    faults.fail("BatchWriteItem", throttling())
    response = scim_f("DELETE", f"/Groups/{group['id']}")
    faults.recover()
    # The group's transaction committed, its members' removal did not: a 503, and the IdP's retry
    # (a 404 now) finishes the removal.
    assert_503(response)
    retried = scim_f("DELETE", f"/Groups/{group['id']}")
    assert retried.status == 404, retried.body
    assert member_ids(group["id"]) == [], "a membership item outlived its group"
    for user_id in users:
        assert not scim_f("GET", f"/Users/{user_id}").body.get("groups")


def test_delete_user_cleanup_fault_is_finished_by_the_idps_retry(
    scim_f: ScimClient, faults: FaultInjector
) -> None:
    users = [new_user(scim_f, f"leaver{i}@example.com")["id"] for i in range(2)]
    group = new_group(scim_f, "Stays", users)
    faults.fail("BatchWriteItem", throttling())
    assert_503(scim_f("DELETE", f"/Users/{users[0]}"))  # the user's transaction committed
    faults.recover()
    retried = scim_f("DELETE", f"/Users/{users[0]}")
    assert retried.status == 404, retried.body
    assert member_ids(group["id"]) == [users[1]]
    listed = scim_f("GET", f"/Groups/{group['id']}").body
    assert [m["value"] for m in listed["members"]] == [users[1]]


# -- Bulk ----------------------------------------------------------------------------------------
def bulk(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [BULK], "Operations": list(operations)}


def test_bulk_transient_throttling_every_operation_succeeds(
    scim_f: ScimClient, faults: FaultInjector
) -> None:
    faults.fail("TransactWriteItems", throttling(), times=2)
    ops = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user_body(f"bulk{i}@example.com")}
        for i in range(3)
    ]
    response = scim_f("POST", "/Bulk", bulk(*ops))
    assert response.status == 200, response.body
    assert [op["status"] for op in response.body["Operations"]] == ["201"] * 3
    assert user_count() == 3


def test_bulk_persistent_fault_fails_each_operation_with_503_and_no_partial_item(
    scim_f: ScimClient, faults: FaultInjector
) -> None:
    ok = {"method": "POST", "path": "/Users", "bulkId": "ok", "data": user_body("first@example.com")}
    doomed = {"method": "POST", "path": "/Users", "bulkId": "no", "data": user_body("second@example.com")}
    assert scim_f("POST", "/Bulk", bulk(ok)).body["Operations"][0]["status"] == "201"
    faults.fail("TransactWriteItems", transaction_cancelled("ThrottlingError"))
    response = scim_f("POST", "/Bulk", bulk(doomed))
    assert response.status == 200, response.body
    (result,) = response.body["Operations"]
    assert result["status"] == "503"
    assert result["response"]["status"] == "503"
    faults.recover()
    assert user_count() == 1
    assert item_kinds().count("USER") == 1


# -- Authorizer: an outage is never a 401 ------------------------------------------------------
def authorize(token: str) -> dict[str, Any]:
    event = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/scim/v2/acme/Users",
        "headers": {"Authorization": f"Bearer {token}"},
        "requestContext": {"requestId": "req-1", "stage": "v1"},
    }
    return authorizer.lambda_handler(event, FakeContext("authorizer"))  # type: ignore[no-any-return]


@pytest.fixture
def acme_token(admin: Admin, faults: FaultInjector) -> str:
    admin.create_tenant("acme")
    return admin.issue_token("acme", "okta").token


@pytest.mark.parametrize(
    ("operation", "answer"),
    [
        ("GetSecretValue", throttling()),
        ("GetSecretValue", json_error(500, "InternalServiceError")),
        ("GetSecretValue", read_timeout),
        ("BatchGetItem", throttling("ProvisionedThroughputExceededException")),
        ("BatchGetItem", server_error(503)),
    ],
    ids=["sm-throttling", "sm-500", "sm-read-timeout", "ddb-throughput", "ddb-503"],
)
def test_authorizer_transient_fault_is_retried_and_allows(
    acme_token: str, faults: FaultInjector, operation: str, answer: Callable[..., Any]
) -> None:
    faults.fail(operation, answer, times=2)
    policy = authorize(acme_token)
    assert policy["context"]["tenantId"] == "acme"
    assert faults.attempts[operation] == 3


@pytest.mark.parametrize(
    ("operation", "answer"),
    [
        ("GetSecretValue", throttling()),
        ("GetSecretValue", json_error(503, "ServiceUnavailable")),
        ("GetSecretValue", endpoint_unreachable),
        ("GetSecretValue", connect_timeout),
        ("BatchGetItem", throttling()),
        ("BatchGetItem", read_timeout),
    ],
    ids=["sm-throttling", "sm-503", "sm-unreachable", "sm-connect-timeout", "ddb-throttling", "ddb-timeout"],
)
def test_authorizer_persistent_outage_fails_the_function_never_unauthorized(
    acme_token: str, faults: FaultInjector, operation: str, answer: Callable[..., Any]
) -> None:
    faults.fail(operation, answer)
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the point is which exception it is not
        authorize(acme_token)
    # "Unauthorized" is API Gateway's 401; anything else is its 503 gateway response.
    assert str(raised.value) != "Unauthorized"
    assert not isinstance(raised.value, authorizer.Unauthorized)
    assert faults.attempts[operation] == 3
    faults.recover()
    assert authorize(acme_token)["context"]["tenantId"] == "acme"  # nothing poisoned the cache


@pytest.mark.parametrize("code", ["AccessDeniedException", "DecryptionFailure"])
def test_authorizer_non_transient_secrets_error_is_a_dependency_failure_not_401(
    acme_token: str, faults: FaultInjector, log_output: Any, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    # A broken IAM policy or KMS key: not retried, but still the 503 gateway response, counted
    # and logged as a dependency failure so that the AuthDependencyFailures alarm fires.
    faults.fail("GetSecretValue", json_error(400, code))
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the point is which exception it is not
        authorize(acme_token)
    assert not isinstance(raised.value, authorizer.Unauthorized)
    assert faults.attempts["GetSecretValue"] == 1
    assert "token store unavailable" in log_output.getvalue()
    assert '"AuthDependencyFailures"' in capsys.readouterr().out  # the metric, flushed on the way out


def test_authorizer_unprocessed_keys_under_throttling_is_not_unknown_tenant(
    acme_token: str, faults: FaultInjector
) -> None:
    # Under throttling BatchGetItem succeeds but returns keys it did not read: "not found" must not
    # be concluded from them (that would be a 401 for an unknown tenant).
    def unprocessed(request: Any) -> Any:
        keys = json.loads(request.body)["RequestItems"]
        return json_response(200, {"Responses": {}, "UnprocessedKeys": keys})

    faults.fail("BatchGetItem", unprocessed, times=2)
    assert authorize(acme_token)["context"]["tenantId"] == "acme"  # read on the third call
    assert faults.attempts["BatchGetItem"] == 3
    faults.fail("BatchGetItem", unprocessed)
    authorizer.authenticator.cache_clear()  # a cold container: nothing cached
    with pytest.raises(ServiceUnavailable):
        authorize(acme_token)


# -- Events: stream → EventBridge; nothing dropped ----------------------------------------------
@pytest.fixture
def stream(faults: FaultInjector) -> TableStream:
    boto3.client("events").create_event_bus(Name=BUS)
    return TableStream(boto3.client("dynamodb"), boto3.client("dynamodbstreams"), TABLE_NAME)


@pytest.fixture
def accepted(stream: TableStream) -> list[str]:
    """Every entry EventBridge accepted (its Detail), from each PutEvents call's own response."""
    out: list[str] = []
    client = aws_clients.events()

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["entries"] = [e["Detail"] for e in params["Entries"]]

    def collect(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        results = parsed.get("Entries") or []
        out.extend(d for d, r in zip(context["entries"], results, strict=True) if r.get("EventId"))

    client.meta.events.register("before-parameter-build.events.PutEvents", remember)
    client.meta.events.register("after-call.events.PutEvents", collect)
    return out


def publish(event: dict[str, Any]) -> dict[str, Any]:
    return events_handler.lambda_handler(event, FakeContext("EventsFunction"))  # type: ignore[no-any-return]


def three_changes(scim: ScimClient, stream: TableStream) -> dict[str, Any]:
    for name in ("a", "b", "c"):
        new_user(scim, f"{name}@example.com")
    records = [r for r in stream.read() if r["dynamodb"]["Keys"]["PK"]["S"].endswith("#USER")]
    assert len(records) == 3
    return stream_event(records, stream.arn)


def keys_of(details: list[str]) -> list[str]:
    return [json.loads(d)["idempotencyKey"] for d in details]


@pytest.mark.parametrize(
    "answer",
    [throttling(), server_error(500), json_error(500, "InternalException"), read_timeout],
    ids=["throttling", "500", "internal", "read-timeout"],
)
def test_events_transient_put_events_fault_publishes_each_event_once(
    scim_f: ScimClient, stream: TableStream, faults: FaultInjector, accepted: list[str], answer: Any
) -> None:
    event = three_changes(scim_f, stream)
    faults.fail("PutEvents", answer, times=2)
    assert publish(event) == {"batchItemFailures": []}
    assert faults.attempts["PutEvents"] == 3  # botocore's retries; no duplicate put
    assert len(keys_of(accepted)) == len(set(keys_of(accepted))) == 3


def test_events_partial_failure_retries_only_the_rejected_entry(
    scim_f: ScimClient,
    stream: TableStream,
    faults: FaultInjector,
    accepted: list[str],
    sleeps: dict[str, list[float]],
) -> None:
    event = three_changes(scim_f, stream)
    faults.fail("PutEvents", put_events_rejecting("b@example.com"), times=1)
    assert publish(event) == {"batchItemFailures": []}
    assert faults.attempts["PutEvents"] == 2
    assert len(keys_of(accepted)) == len(set(keys_of(accepted))) == 3
    assert len(sleeps["publisher"]) == 1
    assert 0 <= sleeps["publisher"][0] < 0.2  # jittered share of the first backoff


@pytest.mark.parametrize(
    "answer",
    [throttling(), server_error(503), put_events_rejecting("b@example.com"), endpoint_unreachable],
    ids=["throttling", "503", "partial", "unreachable"],
)
def test_events_persistent_fault_reports_failures_and_the_retry_loses_nothing(
    scim_f: ScimClient, stream: TableStream, faults: FaultInjector, accepted: list[str], answer: Any
) -> None:
    event = three_changes(scim_f, stream)
    sequence = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    faults.fail("PutEvents", answer)
    response = publish(event)
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed, "a batch that was not published must be reported"
    first = sequence.index(failed[0])
    assert failed == sequence[first:]  # the first failed record and every later one, in order
    # Lambda retries from the first failed record once EventBridge is back.
    faults.recover()
    retry = {"Records": event["Records"][first:]}
    assert publish(retry) == {"batchItemFailures": []}
    names = {json.loads(d)["resource"]["userName"] for d in accepted}
    assert names == {"a@example.com", "b@example.com", "c@example.com"}  # no change lost
    # A record put again (accepted before the failure) has the same key: consumers drop it.
    assert len(set(keys_of(accepted))) == 3


def test_events_out_of_time_fails_the_rest_of_the_batch(
    scim_f: ScimClient, stream: TableStream, faults: FaultInjector, accepted: list[str]
) -> None:
    # The function is nearly out of time: what it could not put is reported, not dropped.
    event = three_changes(scim_f, stream)

    class AlmostDone(FakeContext):
        def get_remaining_time_in_millis(self) -> int:
            return 500

    response = events_handler.lambda_handler(event, AlmostDone("EventsFunction"))
    sequence = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == sequence
    assert accepted == []


# -- the retry budget itself -------------------------------------------------------------------
def test_a_retry_that_cannot_finish_within_the_call_budget_is_not_started(
    scim_f: ScimClient, faults: FaultInjector, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = new_user(scim_f, "budget@example.com")
    now = [0.0]  # the retry budget's clock (handlers.aws_retries looks it up on every call)
    monkeypatch.setattr(aws_retries, "time", SimpleNamespace(monotonic=lambda: now[0]))

    def hangs_until_the_read_timeout(request: Any) -> Any:
        now[0] += aws_clients.REQUEST_READ_TIMEOUT
        return read_timeout(request)

    faults.fail("BatchGetItem", hangs_until_the_read_timeout)  # a user's read
    assert_503(scim_f("GET", f"/Users/{user['id']}"))
    # 2 s spent; another attempt could take 3 s (connect + read) and end past the 5 s budget.
    assert faults.attempts["BatchGetItem"] == 1


def test_an_invocation_budget_shortens_every_call(faults: FaultInjector) -> None:
    faults.fail("GetItem", throttling())
    with time_budget(1.0), pytest.raises(ServiceUnavailable):  # less than one more attempt needs
        ResourceTable(aws_clients.dynamodb(), TABLE_NAME).get("demo", Kind.USER, "someone")
    assert faults.attempts["GetItem"] == 1
