"""Tenant isolation of the management API as a property (issue 15): a request whose path names
tenant A never reads or writes tenant B's items, whatever else it carries (B's token ids,
cursors, idempotency keys, tenant id in a body or a query, odd path segments).

Each example gets two fresh tenants through the real handler (`handlers.management`, moto): the
victim B holds two tokens, an audit trail, a token-list cursor, an audit cursor and an idempotency
key it used to issue a token; the attacker A then runs a random sequence of requests built from
those. After every step: (1) no response carries one of B's values the request did not itself
carry, and none carries B's token; (2) every item in B's partitions and B's Secrets Manager secret
are byte-identical to before; (3) no request answers a 5xx.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SECRETS_PREFIX, TABLE_NAME, ScimClient
from tests.unit.directory_calls import read
from tests.unit.management_calls import Answer
from tests.unit.management_calls import call as management_call

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

_numbers = itertools.count(1)


@dataclass
class Victim:
    tenant: str
    name: str
    token_ids: list[str]
    tokens: list[str]
    tokens_cursor: str
    audit_cursor: str
    idempotency_key: str
    # Its directory (issue 16): users, a group, and cursors of its users and members lists.
    user_ids: list[str]
    user_name: str
    group_id: str
    users_cursor: str
    members_cursor: str

    @property
    def secrets(self) -> set[str]:
        return {self.name, *self.token_ids, *self.user_ids, self.user_name, self.group_id}


def call(
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """The management API: directory reads go to their own function, as API Gateway routes them."""
    parts = path.strip("/").split("/")
    if method == "GET" and len(parts) >= 3 and parts[0] == "tenants" and parts[2] in {"users", "groups"}:
        return read(path, query)
    return management_call(method, path, body, query, headers)


def _ok(answer: Answer, status: int) -> Answer:
    assert answer.status == status, answer.text
    return answer


def _setup() -> tuple[Victim, str]:
    n = next(_numbers)
    b, a = f"miso-b{n}", f"miso-a{n}"
    _ok(call("POST", "/tenants", {"tenant_id": b, "name": f"Victim {n}"}), 201)
    _ok(call("POST", "/tenants", {"tenant_id": a, "name": f"Attacker {n}"}), 201)
    key = f"victim-key-{n:04d}-0123456789"
    first = _ok(
        call("POST", f"/tenants/{b}/tokens", {"name": "okta"}, headers={"Idempotency-Key": key}), 201
    ).body
    second = _ok(call("POST", f"/tenants/{b}/tokens", {"name": "entra"}), 201).body
    tokens_cursor = _ok(call("GET", f"/tenants/{b}/tokens", query={"limit": "1"}), 200).body["next_cursor"]
    audit_cursor = _ok(call("GET", f"/tenants/{b}/audit", query={"limit": "1"}), 200).body["next_cursor"]
    assert tokens_cursor
    assert audit_cursor
    _ok(call("POST", f"/tenants/{a}/tokens", {"name": "own"}), 201)
    scim_b = ScimClient(b)
    user_name = f"victim-{n}@example.com"
    user_ids = [
        scim_b("POST", "/Users", {"schemas": [USER_SCHEMA], "userName": u, "externalId": f"vx-{n}"}).body[
            "id"
        ]
        for u in (user_name, f"victim-{n}-2@example.com")
    ]
    group = {
        "schemas": [GROUP_SCHEMA],
        "displayName": f"Victims {n}",
        "members": [{"value": u} for u in user_ids],
    }
    group_id = scim_b("POST", "/Groups", group).body["id"]
    ScimClient(a)("POST", "/Users", {"schemas": [USER_SCHEMA], "userName": f"own-{n}@example.com"})
    users_cursor = _ok(call("GET", f"/tenants/{b}/users", query={"limit": "1"}), 200).body["next_cursor"]
    members_cursor = _ok(
        call("GET", f"/tenants/{b}/groups/{group_id}/members", query={"limit": "1"}), 200
    ).body["next_cursor"]
    assert users_cursor
    assert members_cursor
    victim = Victim(
        b,
        f"Victim {n}",
        [first["token_id"], second["token_id"]],
        [first["token"], second["token"]],
        tokens_cursor,
        audit_cursor,
        key,
        user_ids,
        user_name,
        group_id,
        users_cursor,
        members_cursor,
    )
    return victim, a


Request = tuple[str, str, Any, dict[str, str] | None, dict[str, str] | None]
Builder = Callable[[Victim, str], Request]

BUILDERS: dict[str, Builder] = {
    "revoke B's token under A": lambda v, a: (
        "DELETE",
        f"/tenants/{a}/tokens/{v.token_ids[0]}",
        None,
        None,
        None,
    ),
    "list A's tokens with B's cursor": lambda v, a: (
        "GET",
        f"/tenants/{a}/tokens",
        None,
        {"cursor": v.tokens_cursor},
        None,
    ),
    "read A's audit with B's cursor": lambda v, a: (
        "GET",
        f"/tenants/{a}/audit",
        None,
        {"cursor": v.audit_cursor},
        None,
    ),
    "read A's audit of B's token": lambda v, a: (
        "GET",
        f"/tenants/{a}/audit",
        None,
        {"user": v.token_ids[0]},
        None,
    ),
    "issue under A with B's idempotency key": lambda v, a: (
        "POST",
        f"/tenants/{a}/tokens",
        {"name": "okta"},
        None,
        {"Idempotency-Key": v.idempotency_key},
    ),
    "create B again with B's key": lambda v, a: (
        "POST",
        "/tenants",
        {"tenant_id": v.tenant, "name": "taken"},
        None,
        {"Idempotency-Key": v.idempotency_key},
    ),
    "patch A naming B in the body": lambda v, a: (
        "PATCH",
        f"/tenants/{a}",
        {"tenant_id": v.tenant, "name": "x"},
        None,
        None,
    ),
    "patch A's name": lambda v, a: ("PATCH", f"/tenants/{a}", {"name": "Renamed"}, None, None),
    "disable A": lambda v, a: ("PATCH", f"/tenants/{a}", {"status": "disabled"}, None, None),
    "A's health naming B in the query": lambda v, a: (
        "GET",
        f"/tenants/{a}/health",
        None,
        {"tenant": v.tenant},
        None,
    ),
    "A's tokens naming B in the query": lambda v, a: (
        "GET",
        f"/tenants/{a}/tokens",
        None,
        {"tenant_id": v.tenant},
        None,
    ),
    "path tenant with a traversal": lambda v, a: (
        "GET",
        f"/tenants/{a}%2F..%2F{v.tenant}/tokens",
        None,
        None,
        None,
    ),
    "path tenant B with a suffix": lambda v, a: ("GET", f"/tenants/{v.tenant}.x/tokens", None, None, None),
    "revoke A's token id that names B": lambda v, a: (
        "DELETE",
        f"/tenants/{a}/tokens/{v.tenant}.0123456789abcdef",
        None,
        None,
        None,
    ),
    "issue under A": lambda v, a: ("POST", f"/tenants/{a}/tokens", {"name": "again"}, None, None),
    # Directory reads (issue 16): B's ids, names, cursors and filters under A's path.
    "read B's user under A": lambda v, a: ("GET", f"/tenants/{a}/users/{v.user_ids[0]}", None, None, None),
    "read B's user's groups under A": lambda v, a: (
        "GET",
        f"/tenants/{a}/users/{v.user_ids[0]}/groups",
        None,
        None,
        None,
    ),
    "read B's group under A": lambda v, a: ("GET", f"/tenants/{a}/groups/{v.group_id}", None, None, None),
    "read B's group's members under A": lambda v, a: (
        "GET",
        f"/tenants/{a}/groups/{v.group_id}/members",
        None,
        None,
        None,
    ),
    "list A's users with B's cursor": lambda v, a: (
        "GET",
        f"/tenants/{a}/users",
        None,
        {"cursor": v.users_cursor},
        None,
    ),
    "list A's group members with B's members cursor": lambda v, a: (
        "GET",
        f"/tenants/{a}/groups/{v.group_id}/members",
        None,
        {"cursor": v.members_cursor},
        None,
    ),
    "filter A's users by B's id": lambda v, a: (
        "GET",
        f"/tenants/{a}/users",
        None,
        {"filter": f'id eq "{v.user_ids[0]}"'},
        None,
    ),
    "filter A's users by B's userName": lambda v, a: (
        "GET",
        f"/tenants/{a}/users",
        None,
        {"filter": f'userName eq "{v.user_name}"'},
        None,
    ),
    "filter A's users by B's values (no key)": lambda v, a: (
        "GET",
        f"/tenants/{a}/users",
        None,
        {"filter": 'externalId co "vx-" or userName sw "victim"'},
        None,
    ),
    "list A's groups naming B in the query": lambda v, a: (
        "GET",
        f"/tenants/{a}/groups",
        None,
        {"tenant": v.tenant},
        None,
    ),
    # Last, so that `test_every_builder_is_refused_or_harmless_once` reads A before it is gone.
    "delete A": lambda v, a: ("DELETE", f"/tenants/{a}", None, None, None),
}


def _snapshot(tenant: str) -> list[str]:
    """Every item whose key belongs to ``tenant`` and its secret (a test-only scan)."""
    db = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": TABLE_NAME,
        "FilterExpression": "PK = :pk OR begins_with(PK, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": f"T#{tenant}"}, ":prefix": {"S": f"T#{tenant}#"}},
    }
    while True:
        out = db.scan(**kwargs)
        items.extend(out.get("Items", []))
        if "LastEvaluatedKey" not in out:
            break
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=f"{SECRETS_PREFIX}tenants/{tenant}")
    return [*sorted(json.dumps(i, sort_keys=True) for i in items), secret["SecretString"]]


def _check(victim: Victim, request: Request, answer: Answer) -> None:
    sent = json.dumps(request)
    leaked = {value for value in victim.secrets if value in answer.text and value not in sent}
    assert not leaked, (request, answer.status, answer.text)
    assert not any(token in answer.text for token in victim.tokens), (request, answer.text)
    assert answer.status < 500, (request, answer.status, answer.text)


@pytest.mark.usefixtures("aws")
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.sampled_from(sorted(BUILDERS)), min_size=1, max_size=8))
def test_no_management_request_for_one_tenant_reads_or_writes_another(steps: list[str]) -> None:
    victim, attacker = _setup()
    before = _snapshot(victim.tenant)
    assert len(before) >= 5  # tenant row, two tokens, audit records, the idempotency record, secret
    for step in steps:
        request = BUILDERS[step](victim, attacker)
        method, path, body, query, headers = request
        answer = call(method, path, body, query, headers)
        _check(victim, request, answer)
        assert _snapshot(victim.tenant) == before, step


@pytest.mark.usefixtures("aws")
def test_every_builder_is_refused_or_harmless_once() -> None:
    """Each request kind once; the foreign cursor, token id and key are refused, not ignored."""
    victim, attacker = _setup()
    before = _snapshot(victim.tenant)
    statuses: dict[str, int] = {}
    for name, build in BUILDERS.items():
        request = build(victim, attacker)
        answer = call(*request)
        _check(victim, request, answer)
        statuses[name] = answer.status
    assert _snapshot(victim.tenant) == before
    assert statuses["revoke B's token under A"] == 404
    assert statuses["list A's tokens with B's cursor"] == 400
    assert statuses["read A's audit with B's cursor"] == 400
    assert statuses["create B again with B's key"] == 422  # the key was B's token issue, not this
    assert statuses["patch A naming B in the body"] == 400
    assert statuses["path tenant with a traversal"] == 404
    assert statuses["path tenant B with a suffix"] == 404
    assert statuses["issue under A with B's idempotency key"] == 201  # a new token of A's own
    for name in ("read B's user under A", "read B's user's groups under A", "read B's group under A"):
        assert statuses[name] == 404, name
    assert statuses["read B's group's members under A"] == 404
    assert statuses["list A's users with B's cursor"] == 400
    assert statuses["list A's group members with B's members cursor"] == 400
