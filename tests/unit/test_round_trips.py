"""Fewer DynamoDB round trips (issue 7, item 5) without losing what the extra reads guaranteed.

A group PATCH no longer reads the group after its transaction: the version it answers with comes
from a bump conditional on the version it read, so it must equal what a later GET returns, also
when a concurrent writer moved the version in between. A user's read takes the tenant's
nested-group counter in the same BatchGetItem, so indirect groups must still appear.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.store.memberships_table import GroupChecks, Member, MembershipTable
from core.store.resources_table import Actor
from handlers import aws_clients
from tests.conftest import TABLE_NAME, ScimClient
from tests.support import etag_of
from tests.unit.test_groups_rfc7643_s4_2 import member_ids, new_group, new_users, ops

ACTOR = Actor(request_id="other-request", token_id="other-token", at="2026-01-01T00:00:00.000Z")


def add(*user_ids: str) -> dict[str, Any]:
    return ops({"op": "add", "path": "members", "value": [{"value": u} for u in user_ids]})


def after_the_read(monkeypatch: pytest.MonkeyPatch, meanwhile: Any) -> None:
    """Run `meanwhile(tenant, group_id)` once, right after a group PATCH read the group."""
    original = MembershipTable.group_with_checks
    pending = [meanwhile]

    def read_then_interfere(
        self: MembershipTable, tenant_id: str, group_id: str, **kwargs: Any
    ) -> GroupChecks:
        checks = original(self, tenant_id, group_id, **kwargs)
        while pending:
            pending.pop()(tenant_id, group_id)
        return checks

    monkeypatch.setattr(MembershipTable, "group_with_checks", read_then_interfere)


def test_member_add_answers_with_the_stored_version(scim: ScimClient, dynamodb_calls: list[str]) -> None:
    users = new_users(scim, 2)
    group = new_group(scim)
    dynamodb_calls.clear()
    patched = scim("PATCH", f"/Groups/{group['id']}", add(*users))
    assert patched.status == 204
    assert dynamodb_calls == ["BatchGetItem", "TransactWriteItems"]
    fetched = scim("GET", f"/Groups/{group['id']}")
    assert patched.headers["etag"] == fetched.headers["etag"] == etag_of(2)
    assert fetched.body["meta"]["lastModified"] >= group["meta"]["lastModified"]


def test_a_concurrent_member_change_is_kept_and_the_etag_is_the_final_version(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = new_users(scim, 2)
    group = new_group(scim)
    table = MembershipTable(aws_clients.dynamodb(), TABLE_NAME)

    def other_writer(tenant_id: str, group_id: str) -> None:
        # Another request that read version 1 too, and commits first.
        table.change_at_version(tenant_id, group_id, "Engineering", ACTOR, 1, add=[Member(users[1], "User")])

    after_the_read(monkeypatch, other_writer)
    patched = scim("PATCH", f"/Groups/{group['id']}", add(users[0]))
    assert patched.status == 204
    # Both changes kept; ours is version 3, on top of the other writer's version 2.
    assert member_ids(scim, group["id"]) == sorted(users)
    fetched = scim("GET", f"/Groups/{group['id']}")
    assert patched.headers["etag"] == fetched.headers["etag"] == etag_of(3)


def test_a_group_deleted_after_the_read_is_404_and_leaves_no_member(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = new_users(scim, 1)
    group = new_group(scim)
    after_the_read(monkeypatch, lambda _t, group_id: scim("DELETE", f"/Groups/{group_id}"))
    patched = scim("PATCH", f"/Groups/{group['id']}", add(users[0]))
    assert patched.status == 404
    assert patched.body["status"] == "404"
    assert "groups" not in scim("GET", f"/Users/{users[0]}").body


def test_a_no_op_member_add_keeps_the_version(scim: ScimClient) -> None:
    users = new_users(scim, 1)
    group = new_group(scim, members=users)
    patched = scim("PATCH", f"/Groups/{group['id']}", add(users[0]))
    assert patched.status == 204
    assert patched.headers["etag"] == group["meta"]["version"] == etag_of(1)
    assert scim("GET", f"/Groups/{group['id']}").headers["etag"] == etag_of(1)


def test_patch_of_an_absent_group_is_404(scim: ScimClient) -> None:
    (user,) = new_users(scim, 1)
    patched = scim("PATCH", "/Groups/no-such-group", add(user))
    assert patched.status == 404
    assert patched.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_an_unknown_member_is_400_and_changes_nothing(scim: ScimClient) -> None:
    group = new_group(scim)
    patched = scim("PATCH", f"/Groups/{group['id']}", add("f648f8d5ea4e4cd38e9c"))
    assert patched.status == 400
    assert patched.body["scimType"] == "invalidValue"
    assert scim("GET", f"/Groups/{group['id']}").headers["etag"] == etag_of(1)


def test_get_user_reads_the_nested_counter_with_the_user(scim: ScimClient, dynamodb_calls: list[str]) -> None:
    (user,) = new_users(scim, 1)
    inner = new_group(scim, "Inner", [user])
    outer = new_group(scim, "Outer")
    dynamodb_calls.clear()
    direct_only = scim("GET", f"/Users/{user}").body["groups"]
    assert [(g["value"], g["type"]) for g in direct_only] == [(inner["id"], "direct")]
    assert dynamodb_calls == ["BatchGetItem", "Query"]  # counter 0: no look for indirect groups
    body = ops({"op": "add", "path": "members", "value": [{"value": inner["id"], "type": "Group"}]})
    assert scim("PATCH", f"/Groups/{outer['id']}", body).status == 204
    both = scim("GET", f"/Users/{user}").body["groups"]
    assert [(g["value"], g["type"]) for g in both] == [(inner["id"], "direct"), (outer["id"], "indirect")]


def test_user_write_answers_with_groups_in_three_calls(scim: ScimClient, dynamodb_calls: list[str]) -> None:
    (user,) = new_users(scim, 1)
    group = new_group(scim, "Team", [user])
    dynamodb_calls.clear()
    body = ops({"op": "replace", "path": "displayName", "value": "New Name"})
    patched = scim("PATCH", f"/Users/{user}", body)
    assert patched.status == 200
    assert [g["value"] for g in patched.body["groups"]] == [group["id"]]
    assert patched.headers["etag"] == etag_of(2)
    assert dynamodb_calls == ["BatchGetItem", "PutItem", "Query"]  # (the audit has its own client)


def test_delete_user_does_not_read_the_counter(scim: ScimClient, dynamodb_calls: list[str]) -> None:
    (user,) = new_users(scim, 1)
    dynamodb_calls.clear()
    assert scim("DELETE", f"/Users/{user}").status == 204
    assert dynamodb_calls[0] == "GetItem"
    assert "BatchGetItem" not in dynamodb_calls
