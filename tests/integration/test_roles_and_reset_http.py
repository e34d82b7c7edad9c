"""Issue 18 over real HTTP against `scimctl serve`: roles from groups and a tenant reset.

Given a tenant whose profile maps a group to a role (set through the management API), when an IdP
adds a user to that group (directly, then through a nested group) and removes it, then the events
file holds ``scim.user.roles_changed`` with the roles given and taken away; and when the tenant is
reset through the management API, the local gateway's worker deletes its users and groups (one
deletion event each) while its token keeps working.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from scimctl.gateway import RunningGateway
from tests.integration.conftest import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA, ScimHttp
from tests.integration.sigv4_client import ManagementHttp

_ids = count(1)


@pytest.fixture
def api(running: RunningGateway) -> ManagementHttp:
    return ManagementHttp(running.management_url)


def tenant_with_token(running: RunningGateway, api: ManagementHttp) -> tuple[str, ScimHttp]:
    tenant = f"rl{next(_ids)}-{running.port}"
    assert api.post("/tenants", {"tenant_id": tenant}).status == 201
    issued = api.post(f"/tenants/{tenant}/tokens", {"name": "okta"})
    assert issued.status == 201, issued.text
    return tenant, ScimHttp(running.tenant_url_of(tenant), issued.json["token"])


def events(running: RunningGateway, tenant: str, detail_type: str) -> list[dict[str, Any]]:
    assert running.events_file is not None
    # Complete lines only: another xdist worker's request may be appending one right now.
    text = Path(running.events_file).read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]
    return [
        json.loads(e["Detail"])
        for e in entries
        if e["DetailType"] == detail_type and json.loads(e["Detail"])["tenantId"] == tenant
    ]


def member_patch(op: str, member_id: str) -> dict[str, Any]:
    if op == "add":
        return {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": member_id}]}],
        }
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "remove", "path": f'members[value eq "{member_id}"]'}],
    }


def test_a_user_added_to_a_mapped_group_gets_the_role_and_loses_it_when_removed(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant, scim = tenant_with_token(running, api)
    profile = api.get(f"/tenants/{tenant}").json["profile"]
    profile["role_mappings"] = [{"group": "Admins", "role": "admin", "priority": 1}]
    assert api.patch(f"/tenants/{tenant}", {"profile": profile}).status == 200

    user = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "ada@example.com"}).json["id"]
    admins = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Admins"}).json["id"]
    platform = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Platform"}).json["id"]
    assert scim.patch(f"/Groups/{admins}", member_patch("add", platform)).status in (200, 204)

    def read_roles() -> list[str]:  # the directory read API's effective roles
        return list(api.get(f"/tenants/{tenant}/users/{user}").json["user"]["effectiveRoles"])

    assert read_roles() == []
    assert scim.patch(f"/Groups/{admins}", member_patch("add", user)).status in (200, 204)
    assert read_roles() == ["admin"]
    assert scim.patch(f"/Groups/{admins}", member_patch("remove", user)).status in (200, 204)
    assert read_roles() == []
    assert scim.patch(f"/Groups/{platform}", member_patch("add", user)).status in (200, 204)  # nested
    assert read_roles() == ["admin"]
    by_name = urllib.parse.quote('userName eq "ada@example.com"')
    listed = api.get(f"/tenants/{tenant}/users?filter={by_name}").json
    assert [u["effectiveRoles"] for u in listed["data"]] == [["admin"]]

    changed = [
        (e["previousRoles"], e["effectiveRoles"]) for e in events(running, tenant, "scim.user.roles_changed")
    ]
    assert changed == [([], ["admin"]), (["admin"], []), ([], ["admin"])]
    assert all(e["resourceId"] == user for e in events(running, tenant, "scim.user.roles_changed"))


def test_a_reset_over_http_deletes_users_and_groups_and_keeps_the_token(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant, scim = tenant_with_token(running, api)
    users = [
        scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": f"u{i}@example.com"}).json["id"]
        for i in range(5)
    ]
    group = scim.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "All", "members": [{"value": u} for u in users]}
    )
    assert group.status == 201

    started = api.post(f"/tenants/{tenant}/reset", {})
    assert started.status == 202, started.text
    deadline = time.monotonic() + 60
    while api.get(f"/tenants/{tenant}/health").json["reset"]["status"] != "completed":
        assert time.monotonic() < deadline, "the local reset worker did not finish"
        time.sleep(0.2)
    health = api.get(f"/tenants/{tenant}/health").json
    assert (health["users"], health["groups"]) == (0, 0)
    assert scim.get("/Users").json["totalResults"] == 0, "the token still works"
    scim.get("/ServiceProviderConfig")  # a request: the events pump has run after the last batch
    assert sorted(e["resourceId"] for e in events(running, tenant, "scim.user.deleted")) == sorted(users)
    assert [e["resourceId"] for e in events(running, tenant, "scim.group.deleted")] == [group.json["id"]]
    assert events(running, tenant, "scim.group.member_removed") == []


def eventually(read: Any, expected: Any, what: str) -> None:
    """The local worker runs the recompute in a thread, as Lambda runs it after the Invoke."""
    deadline = time.monotonic() + 30
    while (found := read()) != expected:
        assert time.monotonic() < deadline, f"{what}: {found!r}, not {expected!r}"
        time.sleep(0.2)


def test_nesting_deleting_and_renaming_mapped_groups_move_roles_over_http(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant, scim = tenant_with_token(running, api)
    profile = api.get(f"/tenants/{tenant}").json["profile"]
    profile["role_mappings"] = [{"group": "Engineering", "role": "engineer", "priority": 1}]
    profile["default_role"] = "member"
    assert api.patch(f"/tenants/{tenant}", {"profile": profile}).status == 200

    user = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "ada@example.com"}).json["id"]
    scim.get("/ServiceProviderConfig")  # the events pump has run after the create
    (created,) = events(running, tenant, "scim.user.created")
    assert created["effectiveRoles"] == ["member"], "a new user's create event carries the default role"

    def read_roles() -> list[str]:
        return list(api.get(f"/tenants/{tenant}/users/{user}").json["user"]["effectiveRoles"])

    def changed() -> list[tuple[list[str], list[str]]]:
        scim.get("/ServiceProviderConfig")
        return [
            (e["previousRoles"], e["effectiveRoles"])
            for e in events(running, tenant, "scim.user.roles_changed")
        ]

    engineering = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Engineering"}).json["id"]
    platform = scim.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Platform", "members": [{"value": user}]}
    ).json["id"]
    assert read_roles() == ["member"]

    assert scim.patch(f"/Groups/{engineering}", member_patch("add", platform)).status in (200, 204)
    eventually(read_roles, ["engineer"], "nested in the mapped group")
    assert scim.patch(f"/Groups/{engineering}", member_patch("remove", platform)).status in (200, 204)
    eventually(read_roles, ["member"], "unnested")
    eventually(changed, [(["member"], ["engineer"]), (["engineer"], ["member"])], "events")

    assert scim.patch(f"/Groups/{engineering}", member_patch("add", user)).status in (200, 204)
    assert read_roles() == ["engineer"]
    assert scim.delete(f"/Groups/{engineering}").status == 204
    eventually(read_roles, ["member"], "the mapped group deleted")

    rename = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Engineering"}],
    }
    assert scim.patch(f"/Groups/{platform}", rename).status in (200, 204)
    eventually(read_roles, ["engineer"], "renamed onto the mapping")
    rename["Operations"][0]["value"] = "Platform"
    assert scim.patch(f"/Groups/{platform}", rename).status in (200, 204)
    eventually(read_roles, ["member"], "renamed off the mapping")
    eventually(changed, [(["member"], ["engineer"]), (["engineer"], ["member"])] * 3, "events")
    eventually(
        lambda: api.get(f"/tenants/{tenant}/health").json["roles_recompute"]["status"], "completed", "job"
    )
