"""Concurrent membership changes to one group over real HTTP (docs/scim.md "Groups and membership").

Entra sends up to five requests in parallel during an initial sync, a group's members spread
over several "Update Group [Add Members]" PATCHes (the body of Microsoft's "Tutorial: Develop
and plan provisioning for a SCIM endpoint in Microsoft Entra ID"); Okta pushes membership changes
while other requests run. Members are stored one item per (group, member), so no interleaving
may lose or resurrect a member. Threads released together by a barrier send the requests; what is asserted
is what any interleaving must give (every member change kept, the serial result), never timing.

The member users are written straight to the table (`tests.support.seed_users`, the store's own
item shape): moto copies the whole table (with its stream records) for every transaction, so
creating them one POST at a time would make these tests slow without testing anything more; the
user lifecycle over HTTP is covered by the users' integration tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scimctl.gateway import RunningGateway
from tests.integration.conftest import (
    GROUP_SCHEMA,
    PATCH_OP,
    HttpResponse,
    ScimHttp,
    all_at_once,
    assert_scim_error,
    assert_scim_json,
)
from tests.support import etag_of, seed_users

pytestmark = pytest.mark.integration


@pytest.fixture
def seed(running: RunningGateway, fresh_tenant: ScimHttp) -> Callable[[str, int], list[str]]:
    """Seeds n users into the test's own tenant; returns their ids."""

    def users(prefix: str, n: int) -> list[str]:
        ids = seed_users(running.aws.table_name, tenant_of(fresh_tenant), n, prefix)
        # Seeded as the API would have created them: readable over HTTP.
        assert fresh_tenant.get(f"/Users/{ids[0]}").status == 200
        return ids

    return users


def tenant_of(scim: ScimHttp) -> str:
    return scim.base_url.rpartition("/")[2]


def create_group(scim: ScimHttp, name: str, members: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "displayName": name}
    if members:
        body["members"] = [{"value": m} for m in members]
    created = scim.post("/Groups", body)
    assert created.status == 201, created.text
    group: dict[str, Any] = created.json
    return group


def add_members(user_ids: list[str]) -> dict[str, Any]:
    # Entra, "Update Group [Add Members]".
    return {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u} for u in user_ids]}
        ],
    }


def remove_members(user_ids: list[str]) -> dict[str, Any]:
    # Entra, "Update Group [Remove Members]": removes only the listed members.
    return {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": u} for u in user_ids]}
        ],
    }


def remove_member(user_id: str) -> dict[str, Any]:
    # Okta, "Update specific Group membership": the value-filter removal.
    return {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": f'members[value eq "{user_id}"]'}]}


def member_ids(scim: ScimHttp, group_id: str) -> list[str]:
    fetched = scim.get(f"/Groups/{group_id}")
    assert fetched.status == 200, fetched.text
    assert_scim_json(fetched)
    return sorted(m["value"] for m in fetched.json.get("members", []))


def assert_204(response: HttpResponse) -> None:
    assert response.status == 204, response.text
    assert response.raw == b""
    assert response.headers["etag"].startswith('W/"')


def chunks(ids: list[str], size: int) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def test_five_parallel_patches_of_ten_members_keep_all_fifty(
    fresh_tenant: ScimHttp, seed: Callable[[str, int], list[str]]
) -> None:
    users = seed("sync", 50)
    group = create_group(fresh_tenant, "Initial sync")
    url = f"/Groups/{group['id']}"
    responses = all_at_once(
        [lambda part=part: fresh_tenant.patch(url, add_members(part)) for part in chunks(users, 10)]
    )
    for response in responses:
        assert_204(response)
    assert member_ids(fresh_tenant, group["id"]) == sorted(users)
    # One new version per PATCH, each one a change: 1 at create, then 5 writes.
    final = fresh_tenant.get(url)
    assert final.json["meta"]["version"] == final.headers["etag"] == etag_of(6)
    assert len({r.headers["etag"] for r in responses}) == 5
    # The reverse index agrees: every user lists the group.
    found = fresh_tenant.get("/Users", params={"filter": f'groups.value eq "{group["id"]}"', "count": "100"})
    assert found.status == 200, found.text
    assert found.json["totalResults"] == 50


def test_parallel_adds_and_removes_of_disjoint_sets_give_the_serial_result(
    fresh_tenant: ScimHttp, seed: Callable[[str, int], list[str]]
) -> None:
    users = seed("mix", 12)
    leaving, staying, joining = users[:4], users[4:8], users[8:]
    group = create_group(fresh_tenant, "Mixed", leaving + staying)
    url = f"/Groups/{group['id']}"
    tasks: list[Callable[[], HttpResponse]] = []
    for part in chunks(joining, 2):
        tasks.append(lambda part=part: fresh_tenant.patch(url, add_members(part)))
    for part in chunks(leaving[:2], 2):
        tasks.append(lambda part=part: fresh_tenant.patch(url, remove_members(part)))
    for user_id in leaving[2:]:
        tasks.append(lambda user_id=user_id: fresh_tenant.patch(url, remove_member(user_id)))
    responses = all_at_once(tasks)
    for response in responses:
        assert_204(response)
    # The serial result, whatever the order: (leaving + staying + joining) - leaving.
    assert member_ids(fresh_tenant, group["id"]) == sorted(staying + joining)
    for user_id in leaving:
        assert not fresh_tenant.get(f"/Users/{user_id}").json.get("groups")
    for user_id in joining[:1] + staying[:1]:
        assert [g["value"] for g in fresh_tenant.get(f"/Users/{user_id}").json["groups"]] == [group["id"]]


def test_an_unknown_member_fails_only_its_own_request(
    fresh_tenant: ScimHttp, seed: Callable[[str, int], list[str]]
) -> None:
    users = seed("valid", 10)
    group = create_group(fresh_tenant, "Partly invalid")
    url = f"/Groups/{group['id']}"
    valid_parts = chunks(users[:8], 2)
    # The failing request also carries real users: none of them may be added (nothing changes).
    invalid_part = [*users[8:], "f648f8d5ea4e4cd38e9c"]
    bodies = [add_members(part) for part in valid_parts]
    bodies.insert(2, add_members(invalid_part))
    responses = all_at_once([lambda body=body: fresh_tenant.patch(url, body) for body in bodies])
    failed = responses.pop(2)
    assert_scim_error(failed, 400, "invalidValue")
    for response in responses:
        assert_204(response)
    assert member_ids(fresh_tenant, group["id"]) == sorted(users[:8])
    # The refused request wrote nothing: 1 at create, then the 4 accepted writes.
    assert fresh_tenant.get(url).headers["etag"] == etag_of(5)
    for user_id in users[8:]:
        assert not fresh_tenant.get(f"/Users/{user_id}").json.get("groups")
