"""Roles from groups (issue 18, C): membership changes through the real Groups handler recompute
the effective roles of the users they add or remove; the stream records become events.

Given a profile that maps groups (by displayName and by externalId) to roles with priorities and a
default role, when a user joins a mapped group, directly or through a nested group, then its
effective roles change, are stored on the user (kept by a PUT) and announced as
``scim.user.roles_changed`` with the previous and new roles; leaving takes them away; every later
user event carries them; and a membership change costs the same DynamoDB calls in a group of
400 members as in a group of 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from core.events.rules import events_for_record
from core.profiles import Profile, RoleMapping
from core.roles import GroupFacts, effective_roles
from handlers import reset_worker, settings
from scimctl.admin import Admin
from tests.conftest import TABLE_NAME, ScimClient
from tests.support import seed_users
from tests.unit.directory_calls import read
from tests.unit.management_calls import call
from tests.unit.test_tenant_reset import BASE, GROUP, USER, Stream, _lambda, drive

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PROFILE = Profile(
    role_mappings=(
        RoleMapping(group="Engineering", role="engineer", priority=10),
        RoleMapping(group="ext-admins", match="externalId", role="admin", priority=1),
    ),
    default_role="member",
)


@pytest.fixture
def stream(aws: None) -> Stream:
    return Stream()


@pytest.fixture
def queued(aws: None) -> Iterator[list[dict[str, str]]]:
    """The role recompute worker's invocations (an asynchronous Invoke in AWS), run by `drive`."""
    invocations: list[dict[str, str]] = []
    reset_worker.set_starter(invocations.append)
    yield invocations
    reset_worker.set_starter(None)


@pytest.fixture
def acme(admin: Admin, queued: list[dict[str, str]], distinct_requests: None) -> ScimClient:
    admin.create_tenant("acme", profile=PROFILE)
    return ScimClient("acme", PROFILE)


def changes(stream: Stream) -> list[tuple[list[str], list[str]]]:
    found = [e for r in stream.read() for e in events_for_record(_lambda(r), BASE)]
    stream.skip_to_end()
    return [
        (e.previous_roles, e.effective_roles) for e in found if e.detail_type == "scim.user.roles_changed"
    ]


def members(acme: ScimClient, group_id: str, op: str, *ids: str) -> None:
    body = {
        "schemas": [PATCH],
        "Operations": [{"op": op, "path": "members", "value": [{"value": i} for i in ids]}],
    }
    if op == "remove":
        body = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{ids[0]}"]'}]}
    response = acme("PATCH", f"/Groups/{group_id}", body)
    assert response.status in (200, 204), response.body


def stored_roles(user_id: str) -> str | None:
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE_NAME, Key={"PK": {"S": "T#acme#USER"}, "SK": {"S": user_id}}
    )["Item"]
    return item.get("effectiveRoles", {}).get("S")


def new_group(acme: ScimClient, name: str, **extra: Any) -> str:
    created = acme("POST", "/Groups", {"schemas": [GROUP], "displayName": name, **extra})
    assert created.status == 201, created.body
    return str(created.body["id"])


def test_joining_and_leaving_mapped_groups_directly_and_nested(
    acme: ScimClient, stream: Stream, queued: list[dict[str, str]]
) -> None:
    user = acme("POST", "/Users", {"schemas": [USER], "userName": "ada@example.com"}).body["id"]
    engineering = new_group(acme, "engineering")  # displayName matches case-insensitively
    admins = new_group(acme, "Admins", externalId="ext-admins")
    inner = new_group(acme, "Platform")
    members(acme, admins, "add", inner)  # Platform is nested in the mapped Admins
    assert [p["kind"] for p in queued] == ["roles"], "nesting under a mapped group starts a recompute"
    assert drive(queued) == 1
    stream.skip_to_end()

    members(acme, engineering, "add", user)
    assert changes(stream) == [(["member"], ["engineer"])], "a new user starts with the default role"
    assert stored_roles(user) == '["engineer"]'

    members(acme, inner, "add", user)  # nested groups count; admin has the lower priority
    assert changes(stream) == [(["engineer"], ["admin", "engineer"])]

    put = acme(
        "PUT", f"/Users/{user}", {"schemas": [USER], "userName": "ada@example.com", "displayName": "Ada"}
    )
    assert put.status == 200
    assert stored_roles(user) == '["admin","engineer"]', "a PUT keeps the effective roles"
    updated = [e for r in stream.read() for e in events_for_record(_lambda(r), BASE)]
    assert [(e.detail_type, e.effective_roles) for e in updated] == [
        ("scim.user.updated", ["admin", "engineer"])
    ]
    stream.skip_to_end()

    members(acme, engineering, "remove", user)
    assert changes(stream) == [(["admin", "engineer"], ["admin"])]
    members(acme, inner, "remove", user)
    assert changes(stream) == [(["admin"], ["member"])], "no mapping left: the default role"
    members(acme, inner, "remove", user)  # not a member: nothing written, nothing announced
    assert changes(stream) == []


def test_a_membership_change_costs_the_same_calls_in_a_large_group(
    acme: ScimClient, dynamodb_calls: list[str]
) -> None:
    ids = seed_users(TABLE_NAME, "acme", 402)
    big = new_group(acme, "Engineering", members=[{"value": i} for i in ids[:400]])
    small = new_group(acme, "engineering-small", members=[{"value": ids[0]}, {"value": ids[1]}])
    counts = []
    for group in (small, big):
        dynamodb_calls.clear()
        members(acme, group, "add", ids[401])
        counts.append(list(dynamodb_calls))
        members(acme, group, "remove", ids[401])
    assert counts[0] == counts[1], counts
    assert counts[0].count("UpdateItem") == 1, "one roles write for the one user added"


def test_the_rule_orders_by_priority_and_falls_back_to_the_default() -> None:
    eng = GroupFacts("g1", "Engineering", None)
    adm = GroupFacts("g2", "Admins", "ext-admins")
    other = GroupFacts("g3", "Sales", "ext-sales")
    assert effective_roles(PROFILE, [eng, adm]) == ["admin", "engineer"]
    assert effective_roles(PROFILE, [other]) == ["member"]
    assert effective_roles(Profile(), [eng]) == []
    by_id = Profile(role_mappings=(RoleMapping(group="g3", match="id", role="seller"),))
    assert effective_roles(by_id, [other, eng]) == ["seller"]


def test_a_mapping_change_recomputes_the_members_roles_in_bounded_batches(
    admin: Admin, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin.create_tenant("acme", profile=Profile())
    plain = ScimClient("acme", Profile())
    ids = seed_users(TABLE_NAME, "acme", 255)
    sales = new_group(plain, "Sales", members=[{"value": i} for i in ids[:250]])
    assert sales
    monkeypatch.setenv("RESET_BATCHES_PER_INVOCATION", "1")
    settings.reset()
    queued: list[dict[str, str]] = []
    reset_worker.set_starter(queued.append)
    try:
        stream.skip_to_end()
        mapped = {"role_mappings": [{"group": "sales", "role": "seller"}]}
        answer = call("PATCH", "/tenants/acme", {"profile": mapped})
        assert answer.status == 200, answer.body
        assert call("GET", "/tenants/acme/health").body["roles_recompute"]["status"] == "running"
        invocations = drive(queued)
    finally:
        reset_worker.set_starter(None)
    job = call("GET", "/tenants/acme/health").body["roles_recompute"]
    assert (job["status"], job["users_checked"], job["users_changed"]) == ("completed", 255, 250)
    assert invocations == 3, "100 users per batch, one batch per invocation here"
    found = changes(stream)
    assert len(found) == 250
    assert set(map(str, found)) == {str(([], ["seller"]))}


def roles_of(user_id: str) -> list[str]:
    return json.loads(stored_roles(user_id) or "[]")


def test_nesting_a_group_in_a_mapped_group_moves_its_users_roles_through_the_job(
    acme: ScimClient, stream: Stream, queued: list[dict[str, str]]
) -> None:
    ada, bob = (
        acme("POST", "/Users", {"schemas": [USER], "userName": n}).body["id"] for n in ("ada@x", "bob@x")
    )
    engineering = new_group(acme, "Engineering")
    platform = new_group(acme, "Platform", members=[{"value": ada}])
    leaf = new_group(acme, "Leaf", members=[{"value": bob}])
    members(acme, platform, "add", leaf)  # Leaf in Platform: neither is mapped, no job
    assert queued == []
    stream.skip_to_end()

    members(acme, engineering, "add", platform)  # everyone under Platform, transitively
    assert len(queued) == 1
    drive(queued)
    assert sorted(changes(stream)) == [(["member"], ["engineer"])] * 2
    assert (roles_of(ada), roles_of(bob)) == (["engineer"], ["engineer"])

    members(acme, engineering, "remove", platform)
    drive(queued)
    assert sorted(changes(stream)) == [(["engineer"], ["member"])] * 2
    assert (roles_of(ada), roles_of(bob)) == (["member"], ["member"])


def test_deleting_a_mapped_group_takes_its_role_from_direct_and_nested_members(
    acme: ScimClient, stream: Stream, queued: list[dict[str, str]]
) -> None:
    ada, bob = (
        acme("POST", "/Users", {"schemas": [USER], "userName": n}).body["id"] for n in ("ada@x", "bob@x")
    )
    inner = new_group(acme, "Platform", members=[{"value": bob}])
    engineering = new_group(acme, "Engineering", members=[{"value": ada}, {"value": inner}])
    drive(queued)
    assert (roles_of(ada), roles_of(bob)) == (["engineer"], ["engineer"])
    stream.skip_to_end()

    assert acme("DELETE", f"/Groups/{inner}").status == 204  # Platform was under the mapped group
    drive(queued)
    assert changes(stream) == [(["engineer"], ["member"])]
    assert (roles_of(ada), roles_of(bob)) == (["engineer"], ["member"])

    assert acme("DELETE", f"/Groups/{engineering}").status == 204
    assert len(queued) == 1
    drive(queued)
    assert changes(stream) == [(["engineer"], ["member"])]
    assert roles_of(ada) == ["member"]

    unmapped = new_group(acme, "Sales", members=[{"value": ada}])
    assert acme("DELETE", f"/Groups/{unmapped}").status == 204
    assert queued == [], "an unmapped group's deletion moves no roles: no job"


def test_renaming_a_group_off_or_onto_a_display_name_mapping_moves_its_members_roles(
    acme: ScimClient, stream: Stream, queued: list[dict[str, str]]
) -> None:
    ada = acme("POST", "/Users", {"schemas": [USER], "userName": "ada@x"}).body["id"]
    group = new_group(acme, "Engineering", members=[{"value": ada}])
    assert roles_of(ada) == ["engineer"]
    stream.skip_to_end()

    rename = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "R&D"}]}
    assert acme("PATCH", f"/Groups/{group}", rename).status in (200, 204)
    drive(queued)
    assert changes(stream) == [(["engineer"], ["member"])]
    assert roles_of(ada) == ["member"]

    back = {"schemas": [GROUP], "displayName": "ENGINEERING", "members": [{"value": ada}]}
    assert acme("PUT", f"/Groups/{group}", back).status == 200
    drive(queued)
    assert changes(stream) == [(["member"], ["engineer"])]

    same_mapping = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "displayName", "value": "engineering"}],
    }
    assert acme("PATCH", f"/Groups/{group}", same_mapping).status in (200, 204)
    assert queued == [], "a rename that matches the same mappings moves no roles"


def test_a_created_users_event_and_reads_carry_the_default_role(
    acme: ScimClient, stream: Stream, dynamodb_calls: list[str]
) -> None:
    stream.skip_to_end()
    dynamodb_calls.clear()
    created = acme("POST", "/Users", {"schemas": [USER], "userName": "new@x"})
    assert created.status == 201
    assert dynamodb_calls == ["TransactWriteItems"], "the roles ride on the create: no extra call"
    found = [e for r in stream.read() for e in events_for_record(_lambda(r), BASE)]
    assert [(e.detail_type, e.effective_roles) for e in found] == [("scim.user.created", ["member"])]
    assert stored_roles(created.body["id"]) == '["member"]', "stored with the user"
    user = read(f"/tenants/acme/users/{created.body['id']}").body["user"]
    assert user["effectiveRoles"] == ["member"]


def test_a_group_created_with_more_members_than_its_first_transaction_gives_all_of_them_the_role(
    acme: ScimClient,
) -> None:
    ids = seed_users(TABLE_NAME, "acme", 120)  # 95 in the create transaction, 25 after it
    new_group(acme, "Engineering", members=[{"value": i} for i in ids])
    assert {i: stored_roles(i) for i in ids} == {i: '["engineer"]' for i in ids}


def test_a_bulk_delete_of_a_mapped_group_takes_its_members_roles_away(
    acme: ScimClient, queued: list[dict[str, str]]
) -> None:
    ada = acme("POST", "/Users", {"schemas": [USER], "userName": "ada@x"}).body["id"]
    group = new_group(acme, "Engineering", members=[{"value": ada}])
    assert roles_of(ada) == ["engineer"]
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "DELETE", "path": f"/Groups/{group}"}],
    }
    answer = acme("POST", "/Bulk", bulk)
    assert answer.body["Operations"][0]["status"] == "204", answer.body
    assert [p["kind"] for p in queued] == ["roles"], "Bulk starts the recompute as Groups does"
    drive(queued)
    assert roles_of(ada) == ["member"]


class LaggingIndex:
    """The reverse index as DynamoDB may serve it for up to a second after a write: a user's
    groups as they were before the latest membership changes (GSIs are eventually consistent)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from core.store.memberships_table import MembershipTable  # noqa: PLC0415 - patched here only

        self.frozen: dict[str, list[Any]] = {}
        real = MembershipTable.groups_of

        def groups_of(table: MembershipTable, tenant_id: str, member_id: str) -> list[Any]:
            if member_id in self.frozen:
                return self.frozen[member_id]
            return real(table, tenant_id, member_id)

        self.real = real
        monkeypatch.setattr(MembershipTable, "groups_of", groups_of)

    def freeze(self, member_id: str, groups: list[Any]) -> None:
        self.frozen[member_id] = groups


def test_roles_are_right_while_the_reverse_index_lags_a_join_a_second_join_and_a_leave(
    acme: ScimClient, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entra and Okta send one PATCH per group, back to back: each recompute may read an index that
    shows none of the joins yet, or a removed membership still. Roles must come out exact anyway
    (a removed membership must never leave its role behind)."""
    user = acme("POST", "/Users", {"schemas": [USER], "userName": "grace@example.com"}).body["id"]
    engineering = new_group(acme, "Engineering")
    admins = new_group(acme, "Admins", externalId="ext-admins")
    stream.skip_to_end()
    index = LaggingIndex(monkeypatch)
    index.freeze(user, [])  # the index shows no group at all, through both joins

    members(acme, engineering, "add", user)
    assert stored_roles(user) == '["engineer"]', "the group just joined counts though unindexed"
    members(acme, admins, "add", user)
    assert stored_roles(user) == '["admin","engineer"]', "the earlier join is not lost"
    assert changes(stream) == [(["member"], ["engineer"]), (["engineer"], ["admin", "engineer"])]

    # The index catches up with both joins, then lags the leave: it still lists Admins.
    monkeypatch.undo()
    index = LaggingIndex(monkeypatch)
    index.freeze(user, index.real(_table(), "acme", user))
    members(acme, admins, "remove", user)
    assert stored_roles(user) == '["engineer"]', "a membership just removed keeps no role"
    assert changes(stream) == [(["admin", "engineer"], ["engineer"])]


def test_a_recompute_that_read_before_another_wrote_tries_again_and_keeps_both_groups(
    acme: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two recomputes of one user at once (two groups' PATCHes in parallel): the one that read
    first and writes last must not write back roles that miss the other's group."""
    from core.store.resources_table import ResourceTable  # noqa: PLC0415 - patched here only

    user = acme("POST", "/Users", {"schemas": [USER], "userName": "linus@example.com"}).body["id"]
    engineering = new_group(acme, "Engineering")
    admins = new_group(acme, "Admins", externalId="ext-admins")
    index = LaggingIndex(monkeypatch)
    index.freeze(user, [])
    real_set_roles = ResourceTable.set_roles
    attempts: list[bool] = []

    def set_roles(table: ResourceTable, *args: Any, **kwargs: Any) -> bool:
        if not attempts:  # between this recompute's read and its write, the other one lands
            attempts.append(False)
            members(acme, admins, "add", user)
        written = real_set_roles(table, *args, **kwargs)
        attempts.append(written)
        return written

    monkeypatch.setattr(ResourceTable, "set_roles", set_roles)
    members(acme, engineering, "add", user)
    assert stored_roles(user) == '["admin","engineer"]'
    # the inner (Admins) write, then the outer's first write refused as stale, then its retry
    assert attempts == [False, True, False, True]


def _table() -> Any:
    from core.store.memberships_table import MembershipTable  # noqa: PLC0415

    return MembershipTable(boto3.client("dynamodb"), TABLE_NAME)


def test_a_worker_that_cannot_be_started_does_not_fail_the_written_change_and_is_alarmed(
    acme: ScimClient, log_output: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The nesting is written before the job's worker is invoked; failing the request then would
    only make the IdP retry a no-op that starts nothing. The failure is logged and counted instead
    (RoleRecomputeStartFailuresAlarm), and the job waits, recorded, for docs/operations.md's step."""
    from botocore.exceptions import EndpointConnectionError  # noqa: PLC0415

    def unreachable(payload: dict[str, str]) -> None:
        raise EndpointConnectionError(endpoint_url="https://lambda.us-east-1.amazonaws.com")

    admins = new_group(acme, "Admins", externalId="ext-admins")
    inner = new_group(acme, "Platform")
    capsys.readouterr()
    reset_worker.set_starter(unreachable)
    try:
        members(acme, admins, "add", inner)  # asserts the PATCH succeeded
    finally:
        reset_worker.set_starter(None)
    assert "role recompute worker not started" in log_output.getvalue()
    assert '"RoleRecomputeStartFailures":[1.0]' in capsys.readouterr().out
    job = boto3.client("dynamodb").get_item(
        TableName=TABLE_NAME, Key={"PK": {"S": "T#acme"}, "SK": {"S": "ROLES"}}
    )["Item"]
    assert job["status"]["S"] == "running", "recorded, to be started by hand"


def test_removing_every_mapping_takes_away_the_roles_they_gave(
    acme: ScimClient, stream: Stream, queued: list[dict[str, str]]
) -> None:
    """A SaaS that stops mapping roles must not leave users holding the last roles computed."""
    user = acme("POST", "/Users", {"schemas": [USER], "userName": "edsger@example.com"}).body["id"]
    bystander = acme("POST", "/Users", {"schemas": [USER], "userName": "barbara@example.com"}).body["id"]
    engineering = new_group(acme, "Engineering")
    members(acme, engineering, "add", user)
    assert roles_of(user) == ["engineer"]
    stream.skip_to_end()

    answer = call("PATCH", "/tenants/acme", {"profile": {"role_mappings": [], "default_role": None}})
    assert answer.status == 200, answer.body
    drive(queued)
    assert roles_of(user) == []
    assert roles_of(bystander) == [], "the default role it had is gone too"
    assert sorted(map(str, changes(stream))) == sorted([str((["engineer"], [])), str((["member"], []))])
    job = call("GET", "/tenants/acme/health").body["roles_recompute"]
    assert (job["status"], job["users_changed"]) == ("completed", 2)
