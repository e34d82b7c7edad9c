"""Tenant reset (issue 18, A): POST /tenants/{t}/reset through the real management handler, its
batches through the real TenantReset function, deletions read back from moto's DynamoDB stream
through the event rules.

Given a tenant with users, groups (one nested) and memberships, when it is reset, then every user
and group is gone, each yields exactly one deletion event and no membership event, the counters are
zero, tokens, profile and audit trail stay, and a DynamoDB fault halfway loses nothing: Lambda's
retry of the failed invocation resumes from the reset record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from core.events.rules import events_for_record
from core.store.resources_table import DELETE_MANY
from handlers import aws_clients, reset_worker, tenant_reset
from scimctl.admin import Admin
from tests.conftest import TABLE_NAME, ScimClient
from tests.fault_injection import FaultInjector, server_error
from tests.support import FakeContext, seed_users
from tests.unit.management_calls import call
from tests.unit.test_authorizer import invoke, request_event

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
BASE = "https://api.example.com/v1/scim/v2"
USERS = 10_000


@pytest.fixture
def handovers() -> Iterator[list[dict[str, str]]]:
    """The worker invocations asked for (Lambda's asynchronous Invoke), run by `drive`."""
    queued: list[dict[str, str]] = []
    reset_worker.set_starter(queued.append)
    yield queued
    reset_worker.set_starter(None)


class Stream:
    """moto's stream records of the table, read in process (GetRecords' serializer takes ~50 ms
    per page, minutes for a 10,000-user reset): the same records Lambda would be handed."""

    def __init__(self) -> None:
        self._after = 0

    def _records(self) -> list[dict[str, Any]]:
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(TABLE_NAME)
        assert table.stream_shard is not None
        return [r.to_json() for r in table.stream_shard.items]

    def skip_to_end(self) -> None:
        records = self._records()
        self._after = int(records[-1]["dynamodb"]["SequenceNumber"]) if records else 0

    def read(self) -> list[dict[str, Any]]:
        return [r for r in self._records() if int(r["dynamodb"]["SequenceNumber"]) > self._after]


@pytest.fixture
def stream(aws: None) -> Stream:
    return Stream()


def drive(queued: list[dict[str, str]], retries: int = 2) -> int:
    """Run the queued invocations as Lambda does (a failed one retried up to `retries` times);
    returns how many invocations ran."""
    ran = 0
    while queued:
        payload = queued.pop(0)
        for attempt in range(retries + 1):
            ran += 1
            try:
                tenant_reset.lambda_handler(dict(payload), FakeContext("TenantResetFunction"))
                break
            except Exception:
                if attempt == retries:
                    raise
    return ran


def events(stream: Stream) -> list[Any]:
    return [e for record in stream.read() for e in events_for_record(_lambda(record), BASE)]


def _lambda(record: dict[str, Any]) -> dict[str, Any]:
    # Lambda's record shape (what the events function is given): moto's, with its own datetime.
    return {
        **record,
        "dynamodb": {k: v for k, v in record["dynamodb"].items() if k != "ApproximateCreationDateTime"},
    }


def seed(admin: Admin, scim: ScimClient, n_users: int) -> tuple[str, list[str], list[str]]:
    admin.create_tenant("acme")
    admin.create_tenant("globex")
    token = admin.issue_token("acme", "okta").token
    ids = seed_users(TABLE_NAME, "acme", n_users)
    inner = scim(
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": "inner", "members": [{"value": i} for i in ids[:150]]},
    )
    assert inner.status == 201, inner.body
    outer = scim(
        "POST",
        "/Groups",
        {
            "schemas": [GROUP],
            "displayName": "outer",
            "members": [{"value": inner.body["id"]}, *({"value": i} for i in ids[-30:])],
        },
    )
    empty = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "empty"})
    assert {inner.status, outer.status, empty.status} == {201}
    return token, ids, [inner.body["id"], outer.body["id"], empty.body["id"]]


def test_reset_of_a_10000_user_tenant_survives_a_fault_and_keeps_tokens(
    admin: Admin, stream: Stream, handovers: list[dict[str, str]]
) -> None:
    scim = ScimClient("acme")
    token, user_ids, group_ids = seed(admin, scim, USERS)
    other = ScimClient("globex")("POST", "/Users", {"schemas": [USER], "userName": "stays@globex.example"})
    assert other.status == 201
    stream.skip_to_end()  # only what the reset writes
    profile_before = call("GET", "/tenants/acme").body["profile"]

    started = call("POST", "/tenants/acme/reset")
    assert started.status == 202
    assert started.body["status"] == "running"
    again = call("POST", "/tenants/acme/reset")  # idempotent while it runs: the same reset
    assert (again.status, again.body["reset_id"]) == (202, started.body["reset_id"])
    health = call("GET", "/tenants/acme/health").body
    assert health["reset"]["status"] == "running"

    # A DynamoDB outage halfway: three attempts in a row of a transaction fail (botocore's three
    # attempts of one call), so one invocation fails; Lambda's retry resumes from the record.
    injector = FaultInjector().attach(aws_clients.dynamodb())
    halfway_at = 3 + USERS // DELETE_MANY // 2  # the groups' deletions, then half the users' ones
    seen = Counter[str]()

    def halfway(request: Any) -> bool:
        seen["TransactWriteItems"] += 1
        return halfway_at <= seen["TransactWriteItems"] < halfway_at + 3

    injector.fail("TransactWriteItems", server_error(500), when=halfway)
    handovers.pop(0)  # the second POST's start of the same reset: one worker chain is enough
    invocations = drive(handovers)
    assert injector.injected["TransactWriteItems"] == 3, "the fault happened"
    assert invocations >= 2

    done = call("GET", "/tenants/acme/health").body
    assert done["reset"]["status"] == "completed"
    assert done["reset"]["reset_id"] == started.body["reset_id"]
    assert (done["users"], done["groups"]) == (0, 0)

    published = events(stream)
    kinds = Counter(e.detail_type for e in published)
    assert kinds == {"scim.user.deleted": USERS, "scim.group.deleted": 3}, kinds
    deleted = Counter(e.resource_id for e in published)
    assert set(deleted) == set(user_ids) | set(group_ids)
    assert set(deleted.values()) == {1}, "exactly one deletion event per resource"
    assert all(e.request_id == f"reset:{started.body['reset_id']}" for e in published)

    # Tokens, profile and the other tenant stay; the IdP starts over with the same URL and token.
    policy = invoke(request_event(f"Bearer {token}", "acme"))
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert call("GET", "/tenants/acme").body["profile"] == profile_before
    assert scim("GET", "/Users").body["totalResults"] == 0
    assert ScimClient("globex")("GET", "/Users").body["totalResults"] == 1
    recreated = scim("POST", "/Users", {"schemas": [USER], "userName": "seeded000000@example.com"})
    assert recreated.status == 201, "userName guards went with the users"
    audit = call("GET", "/tenants/acme/audit").body["data"]
    assert any("reset" in r.get("changed_attributes", []) for r in audit)


def test_a_group_larger_than_a_batch_is_drained_over_several_batches(
    admin: Admin, stream: Stream, handovers: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    scim = ScimClient("acme")
    seed(admin, scim, 300)
    monkeypatch.setenv("RESET_BATCHES_PER_INVOCATION", "1")
    from handlers import settings  # noqa: PLC0415

    settings.reset()
    reset_worker.tenant_reset.cache_clear()
    reset = reset_worker.tenant_reset(TABLE_NAME)
    monkeypatch.setattr(reset, "_drain_size", 40)
    stream.skip_to_end()
    call("POST", "/tenants/acme/reset")
    invocations = drive(handovers)
    record = call("GET", "/tenants/acme/health").body["reset"]
    assert record["status"] == "completed"
    assert record["memberships_deleted"] == 150 + 31
    assert invocations == record["batches"] > 5, "one bounded batch per invocation"
    assert Counter(e.detail_type for e in events(stream)) == {
        "scim.user.deleted": 300,
        "scim.group.deleted": 3,
    }


def test_reset_of_an_unknown_tenant_is_404_and_a_completed_reset_can_be_repeated(
    admin: Admin, handovers: list[dict[str, str]]
) -> None:
    assert call("POST", "/tenants/nope/reset").status == 404
    admin.create_tenant("acme")
    first = call("POST", "/tenants/acme/reset").body
    drive(handovers)
    second = call("POST", "/tenants/acme/reset")
    assert second.status == 202
    assert second.body["reset_id"] != first["reset_id"]
    drive(handovers)
    assert call("GET", "/tenants/acme/health").body["reset"]["status"] == "completed"
