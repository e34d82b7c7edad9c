"""Races the other concurrency tests leave out (issue 8, item 2), over real HTTP.

The local gateway runs one function invocation at a time (`LocalFunction`, serialize on): requests
sent in parallel are accepted in parallel but their handlers never interleave, so a parallel test
proves the outcome of *some* serial order, not that a conditional write survives a real race. Each
race is therefore also forced deterministically: a hook on the store lets a competing write commit
between a request's read and its conditional write, exactly where another Lambda container would.
What is asserted is what any interleaving must give: one winner per name, no lost or resurrected
resource or member, a final state equal to a serial order, never a 5xx.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from core.store.keys import Kind
from core.store.memberships_table import Member, MembershipTable
from core.store.resources_table import Actor, ResourceTable, StoredResource
from scimctl.gateway import RunningGateway
from tests.integration.conftest import (
    GROUP_SCHEMA,
    PATCH_OP,
    USER_SCHEMA,
    ScimHttp,
    all_at_once,
    assert_scim_error,
    competing_write_first,
)
from tests.support import seed_users

pytestmark = pytest.mark.integration


def tenant_of(scim: ScimHttp) -> str:
    return scim.base_url.rpartition("/")[2]


def new_group(scim: ScimHttp, name: str, members: Sequence[str] = ()) -> dict[str, Any]:
    body = {"schemas": [GROUP_SCHEMA], "displayName": name, "members": [{"value": m} for m in members]}
    created = scim.post("/Groups", body)
    assert created.status == 201, created.text
    group: dict[str, Any] = created.json
    return group


def member_ops(op: str, user_id: str) -> dict[str, Any]:
    if op == "add":
        return {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
        }
    return {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": f'members[value eq "{user_id}"]'}]}


def members_of(scim: ScimHttp, group_id: str) -> list[str]:
    fetched = scim.get(f"/Groups/{group_id}")
    assert fetched.status == 200, fetched.text
    return sorted(m["value"] for m in fetched.json.get("members", []))


def groups_of(scim: ScimHttp, user_id: str) -> list[str]:
    fetched = scim.get(f"/Users/{user_id}")
    assert fetched.status == 200, fetched.text
    return [g["value"] for g in fetched.json.get("groups", [])]


@pytest.fixture
def seeded(running: RunningGateway, fresh_tenant: ScimHttp) -> Callable[[str, int], list[str]]:
    def users(prefix: str, n: int) -> list[str]:
        return seed_users(running.aws.table_name, tenant_of(fresh_tenant), n, prefix)

    return users


# -- names ---------------------------------------------------------------------------------------
def test_parallel_creates_of_one_group_display_name_in_any_case_give_one_201(fresh_tenant: ScimHttp) -> None:
    # Entra compares group names case-insensitively; so does the displayName guard.
    names = ["Engineering", "engineering", "ENGINEERING", "EngineerING"] * 3
    body = lambda n: {"schemas": [GROUP_SCHEMA], "displayName": n}  # noqa: E731
    responses = all_at_once([lambda n=n: fresh_tenant.post("/Groups", body(n)) for n in names])
    assert sorted(r.status for r in responses) == [201] + [409] * 11, [r.text for r in responses]
    for conflict in (r for r in responses if r.status == 409):
        assert_scim_error(conflict, 409, "uniqueness")
    listed = fresh_tenant.get("/Groups", params={"filter": 'displayName eq "engineering"'})
    assert listed.json["totalResults"] == 1
    assert fresh_tenant.get("/Groups").json["totalResults"] == 1


# -- one member added and removed at once ---------------------------------------------------------
def test_parallel_adds_and_removes_of_the_same_member_end_in_a_serial_state(
    fresh_tenant: ScimHttp, seeded: Callable[[str, int], list[str]]
) -> None:
    (user,) = seeded("same", 1)
    group = new_group(fresh_tenant, "Flapping", [user])
    url = f"/Groups/{group['id']}"
    ops = ["remove", "add"] * 4
    responses = all_at_once([lambda op=op: fresh_tenant.patch(url, member_ops(op, user)) for op in ops])
    assert [r.status for r in responses] == [204] * len(ops), [r.text for r in responses]
    members = members_of(fresh_tenant, group["id"])
    assert members in ([], [user])  # the last writer's state, whichever it was
    # The group and the member's reverse index agree: one item answers both.
    assert groups_of(fresh_tenant, user) == ([group["id"]] if members else [])


def test_a_remove_committed_between_an_adds_read_and_write_gives_the_serial_result(
    fresh_tenant: ScimHttp, seeded: Callable[[str, int], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    (user,) = seeded("between", 1)
    group = new_group(fresh_tenant, "Interleaved", [user])
    real_change_at_version = MembershipTable.change_at_version  # what a group PATCH calls
    raced: list[str] = []

    def change_after_a_competing_remove(
        self: MembershipTable, tenant_id: str, group_id: str, *a: Any, **k: Any
    ) -> int | None:
        if group_id == group["id"] and not raced:
            raced.append("remove")  # another container's "remove member" commits first
            actor = Actor(request_id="competitor", token_id="t", at="2026-01-01T00:00:00.000Z")
            # It read the same version as the add did, and commits first.
            version = ResourceTable(self._db, self._table).require(tenant_id, Kind.GROUP, group_id).version
            real_change_at_version(
                self, tenant_id, group_id, "Interleaved", actor, version, remove=[Member(user, "User")]
            )
        return real_change_at_version(self, tenant_id, group_id, *a, **k)

    monkeypatch.setattr(MembershipTable, "change_at_version", change_after_a_competing_remove)
    added = fresh_tenant.patch(f"/Groups/{group['id']}", member_ops("add", user))
    monkeypatch.undo()
    assert raced == ["remove"]
    assert added.status == 204, added.text
    # Serial order: remove, then add. The add was not lost to the remove it raced.
    assert members_of(fresh_tenant, group["id"]) == [user]
    assert groups_of(fresh_tenant, user) == [group["id"]]
    assert fresh_tenant.get(f"/Groups/{group['id']}").json["meta"]["version"].startswith('W/"3')


def test_a_member_added_to_a_group_deleted_meanwhile_is_404_and_leaves_no_member(
    fresh_tenant: ScimHttp, seeded: Callable[[str, int], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    (user,) = seeded("orphan", 1)
    group = new_group(fresh_tenant, "Vanishing")
    real_change_at_version = MembershipTable.change_at_version  # what a group PATCH calls

    def change_after_the_group_is_deleted(
        self: MembershipTable, tenant_id: str, group_id: str, *a: Any, **k: Any
    ) -> int | None:
        table = ResourceTable(self._db, self._table)
        doomed = table.get(tenant_id, Kind.GROUP, group_id)
        if doomed is not None:
            table.delete(doomed, Actor(request_id="competitor", token_id="t", at="2026-01-01T00:00:00.000Z"))
        return real_change_at_version(self, tenant_id, group_id, *a, **k)

    monkeypatch.setattr(MembershipTable, "change_at_version", change_after_the_group_is_deleted)
    added = fresh_tenant.patch(f"/Groups/{group['id']}", member_ops("add", user))
    monkeypatch.undo()
    assert_scim_error(added, 404)
    assert_scim_error(fresh_tenant.get(f"/Groups/{group['id']}"), 404)
    assert groups_of(fresh_tenant, user) == []  # the membership transaction wrote nothing


# -- replace racing patch, update racing delete ----------------------------------------------------
def create_user(scim: ScimHttp, name: str) -> dict[str, Any]:
    created = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": name, "active": True})
    assert created.status == 201, created.text
    user: dict[str, Any] = created.json
    return user


def test_a_put_that_loses_to_a_patch_is_reapplied_on_the_new_version(
    fresh_tenant: ScimHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = create_user(fresh_tenant, "put.vs.patch@example.com")
    raced = competing_write_first(monkeypatch, user["id"], lambda doc: {**doc, "title": "Set by the PATCH"})
    body = {
        "schemas": [USER_SCHEMA],
        "userName": "put.vs.patch@example.com",
        "displayName": "Put",
        "active": True,
    }
    put = fresh_tenant.put(f"/Users/{user['id']}", body)
    monkeypatch.undo()
    assert raced == [2]
    assert put.status == 200, put.text
    final = fresh_tenant.get(f"/Users/{user['id']}").json
    # Serial order: the PATCH, then the PUT (a full replacement): the PUT's document, version 3.
    assert final["displayName"] == "Put"
    assert "title" not in final
    assert final["meta"]["version"].startswith('W/"3')


def test_a_patch_racing_a_delete_is_404_and_never_resurrects_the_user(
    fresh_tenant: ScimHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = create_user(fresh_tenant, "deleted.meanwhile@example.com")
    real_replace = ResourceTable.replace

    def replace_after_a_competing_delete(
        self: ResourceTable, old: StoredResource, new: StoredResource
    ) -> None:
        current = self.get(old.tenant_id, old.kind, old.id)
        if current is not None:
            self.delete(current, Actor(request_id="competitor", token_id="t", at="2026-01-01T00:00:00.000Z"))
        real_replace(self, old, new)

    monkeypatch.setattr(ResourceTable, "replace", replace_after_a_competing_delete)
    patched = fresh_tenant.patch(
        f"/Users/{user['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Too late"}]},
    )
    monkeypatch.undo()
    assert_scim_error(patched, 404)
    assert_scim_error(fresh_tenant.get(f"/Users/{user['id']}"), 404)
    found = fresh_tenant.get("/Users", params={"filter": 'userName eq "deleted.meanwhile@example.com"'})
    assert found.json["totalResults"] == 0
    assert fresh_tenant.get("/Users").json["totalResults"] == 0
