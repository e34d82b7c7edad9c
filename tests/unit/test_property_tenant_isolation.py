"""Tenant isolation as a property (issue 8): whatever a tenant sends, naming another tenant's ids,
$refs, cursors, ETags, bulkIds or member values, no response carries that tenant's data and no
write touches its items.

Each example gets two fresh tenants in the shared moto table: the victim (B) creates a user and a
group with that user in it, and the attacker (A) then runs a random sequence of requests built from
B's artifacts. After every step: (1) no response contains one of B's values that the request did
not itself carry (echoing an id the caller sent in an error is not a leak), and no successful
response returns a resource with one of B's ids; (2) every item in B's partitions is byte-identical
to before.
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

from tests.conftest import TABLE_NAME, ScimClient, ScimResponse

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BASE = "https://api.example.com/v1/scim/v2"

_tenant_numbers = itertools.count(1)


@dataclass
class Victim:
    tenant: str
    user_id: str
    user_name: str
    group_id: str
    group_name: str
    user_etag: str
    group_etag: str
    cursor: str

    @property
    def secrets(self) -> set[str]:
        """What must never appear in the attacker's responses unless the attacker sent it."""
        return {self.user_id, self.user_name, self.group_id, self.group_name}

    @property
    def ids(self) -> set[str]:
        return {self.user_id, self.group_id}


@dataclass
class Attacker:
    scim: ScimClient
    user_id: str
    user_etag: str
    group_id: str


Request = tuple[
    str, str, Any, dict[str, str] | None, dict[str, str] | None
]  # method, path, body, query, headers


def _user(name: str) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": name,
        "name": {"givenName": "G", "familyName": "F"},
        "active": True,
    }


def _member(victim: Victim) -> dict[str, Any]:
    return {"value": victim.user_id, "$ref": f"{BASE}/{victim.tenant}/Users/{victim.user_id}"}


# Each builder turns the victim's artifacts (and the attacker's own resources) into one request.
BUILDERS: dict[str, Callable[[Victim, Attacker], Request]] = {
    "get_user": lambda v, a: ("GET", f"/Users/{v.user_id}", None, None, None),
    "get_group": lambda v, a: ("GET", f"/Groups/{v.group_id}", None, None, None),
    "filter_user_name": lambda v, a: (
        "GET",
        "/Users",
        None,
        {"filter": f'userName eq "{v.user_name}"'},
        None,
    ),
    "filter_id": lambda v, a: ("GET", "/Users", None, {"filter": f'id eq "{v.user_id}"'}, None),
    "filter_display": lambda v, a: (
        "GET",
        "/Groups",
        None,
        {"filter": f'displayName eq "{v.group_name}"'},
        None,
    ),
    "filter_member": lambda v, a: (
        "GET",
        "/Groups",
        None,
        {"filter": f'members[value eq "{v.user_id}"]'},
        None,
    ),
    "filter_groups": lambda v, a: (
        "GET",
        "/Users",
        None,
        {"filter": f'groups.value eq "{v.group_id}"'},
        None,
    ),
    "search_co": lambda v, a: (
        "POST",
        "/Users/.search",
        {"filter": f'userName co "{v.user_name[:6]}"'},
        None,
        None,
    ),
    "cursor": lambda v, a: ("GET", "/Users", None, {"cursor": v.cursor, "count": "5"}, None),
    "cursor_groups": lambda v, a: ("GET", "/Groups", None, {"cursor": v.cursor, "count": "5"}, None),
    "if_none_match": lambda v, a: ("GET", f"/Users/{a.user_id}", None, None, {"If-None-Match": v.user_etag}),
    "if_match_own": lambda v, a: (
        "PUT",
        f"/Users/{a.user_id}",
        _user("own@a.example"),
        None,
        {"If-Match": v.user_etag},
    ),
    "patch_user": lambda v, a: (
        "PATCH",
        f"/Users/{v.user_id}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]},
        None,
        {"If-Match": v.user_etag},
    ),
    "put_user": lambda v, a: ("PUT", f"/Users/{v.user_id}", _user("hijack@a.example"), None, None),
    "delete_user": lambda v, a: ("DELETE", f"/Users/{v.user_id}", None, None, None),
    "delete_group": lambda v, a: ("DELETE", f"/Groups/{v.group_id}", None, None, {"If-Match": v.group_etag}),
    "create_group_with_foreign_member": lambda v, a: (
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": "A group", "members": [_member(v)]},
        None,
        None,
    ),
    "add_foreign_member": lambda v, a: (
        "PATCH",
        f"/Groups/{a.group_id}",
        {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [_member(v)]}]},
        None,
        None,
    ),
    "remove_from_foreign_group": lambda v, a: (
        "PATCH",
        f"/Groups/{v.group_id}",
        {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{v.user_id}"]'}]},
        None,
        None,
    ),
    "bulk": lambda v, a: (
        "POST",
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {
                    "method": "PATCH",
                    "path": f"/Users/{v.user_id}",
                    "bulkId": v.user_id,
                    "version": v.user_etag,
                    "data": {
                        "schemas": [PATCH],
                        "Operations": [{"op": "replace", "path": "active", "value": False}],
                    },
                },
                {"method": "DELETE", "path": f"/Groups/{v.group_id}"},
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g1",
                    "data": {"schemas": [GROUP], "displayName": "Bulk group", "members": [_member(v)]},
                },
                {"method": "PUT", "path": f"/Users/{v.user_id}", "data": _user("bulk@a.example")},
            ],
        },
        None,
        None,
    ),
    "root_search": lambda v, a: (
        "POST",
        "/.search",
        {"filter": f'id eq "{v.user_id}" or id eq "{v.group_id}"'},
        None,
        None,
    ),
}


def _snapshot(tenant: str) -> list[str]:
    """Every item whose key belongs to ``tenant`` (a test-only scan), canonically serialised."""
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
    return sorted(json.dumps(i, sort_keys=True) for i in items)


def _ok(response: ScimResponse, *expected: int) -> ScimResponse:
    assert response.status in expected, (response.status, response.body)
    return response


def _setup() -> tuple[Victim, Attacker]:
    n = next(_tenant_numbers)
    b, a = ScimClient(f"iso-b{n}"), ScimClient(f"iso-a{n}")
    user = _ok(b("POST", "/Users", _user(f"victim{n}@b.example")), 201).body
    group = _ok(
        b(
            "POST",
            "/Groups",
            {"schemas": [GROUP], "displayName": f"Victim Group {n}", "members": [{"value": user["id"]}]},
        ),
        201,
    ).body
    b("POST", "/Users", _user(f"victim{n}-2@b.example"))
    cursor = _ok(b("GET", "/Users", query={"cursor": "", "count": "1"}), 200).body["nextCursor"]
    victim = Victim(
        b.tenant,
        user["id"],
        user["userName"],
        group["id"],
        group["displayName"],
        user["meta"]["version"],
        group["meta"]["version"],
        cursor,
    )
    own = _ok(a("POST", "/Users", _user(f"attacker{n}@a.example")), 201).body
    own_group = _ok(a("POST", "/Groups", {"schemas": [GROUP], "displayName": "Attackers"}), 201).body
    return victim, Attacker(a, own["id"], own["meta"]["version"], own_group["id"])


def _check_response(victim: Victim, request: Request, response: ScimResponse) -> None:
    sent = json.dumps(request)
    text = json.dumps(response.body) + json.dumps(response.headers)
    leaked = {value for value in victim.secrets if value in text and value not in sent}
    assert not leaked, (request, response.status, response.body)
    if response.status < 300 and isinstance(response.body, dict):
        found = [r.get("id") for r in response.body.get("Resources", [])] + [response.body.get("id")]
        assert not victim.ids & set(found), (request, response.body)
        members = {m.get("value") for m in response.body.get("members", []) or []}
        assert victim.user_id not in members, (request, response.body)
    assert response.status < 500, (request, response.status, response.body)


@pytest.mark.usefixtures("aws")
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.sampled_from(sorted(BUILDERS)), min_size=1, max_size=8))
def test_no_request_by_one_tenant_reads_or_writes_another(steps: list[str]) -> None:
    victim, attacker = _setup()
    before = _snapshot(victim.tenant)
    assert len(before) >= 5  # the victim's users, group, membership items and counters are there
    for step in steps:
        request = BUILDERS[step](victim, attacker)
        method, path, body, query, headers = request
        response = attacker.scim(method, path, body, query=query, headers=headers)
        _check_response(victim, request, response)
        assert _snapshot(victim.tenant) == before, step


@pytest.mark.usefixtures("aws")
def test_every_builder_is_refused_or_harmless_once() -> None:
    """Each request kind once, in a fixed order (the property's steps are drawn from these); the
    foreign cursor and ETag are refused with the right errors, not merely ignored."""
    victim, attacker = _setup()
    before = _snapshot(victim.tenant)
    statuses: dict[str, int] = {}
    for name, build in BUILDERS.items():
        request = build(victim, attacker)
        method, path, body, query, headers = request
        response = attacker.scim(method, path, body, query=query, headers=headers)
        _check_response(victim, request, response)
        statuses[name] = response.status
        if name in {"cursor", "cursor_groups"}:
            assert response.body["scimType"] == "invalidCursor"
    assert _snapshot(victim.tenant) == before
    assert statuses["get_user"] == statuses["get_group"] == 404
    assert statuses["cursor"] == statuses["cursor_groups"] == 400
    assert statuses["if_match_own"] == 412  # another tenant's ETag never matches
    assert statuses["if_none_match"] == 200  # …nor yields a 304
    assert statuses["patch_user"] == statuses["put_user"] == statuses["delete_user"] == 404
    assert statuses["create_group_with_foreign_member"] == statuses["add_foreign_member"] == 400
