"""Provisioning events and the audit trail over real HTTP against the local gateway (issue 6).

Given `scimctl serve --events-file F` (the session gateway writes one), when an IdP creates a user,
deactivates and reactivates it, adds it to a group and deletes it, then F holds exactly those
events for that user, in order, each line the PutEvents entry the events handler would have put
on the bus; and `scimctl audit` tells when the user was deactivated and by which token.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scimctl import cli
from scimctl.gateway import RunningGateway
from tests.integration.conftest import PATCH_OP, USER_SCHEMA, ScimHttp, new_tenant

pytestmark = pytest.mark.integration

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


MANAGEMENT_TYPES = ("scim.tenant.", "scim.token.")


def events_of(running: RunningGateway, tenant: str) -> list[dict[str, Any]]:
    """The tenant's provisioning events (its tenant and token events: test_management_http)."""
    assert running.events_file is not None
    lines = Path(running.events_file).read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    return [
        e
        for e in entries
        if json.loads(e["Detail"])["tenantId"] == tenant and not e["DetailType"].startswith(MANAGEMENT_TYPES)
    ]


def about(entry: dict[str, Any], user_id: str) -> bool:
    detail = json.loads(entry["Detail"])
    return bool(detail["resourceId"] == user_id or detail.get("member", {}).get("value") == user_id)


def active(value: bool) -> dict[str, Any]:
    # Okta's deactivation: PATCH replace without a path.
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": value}}]}


def test_user_lifecycle_over_http_writes_the_expected_events_in_order(running: RunningGateway) -> None:
    tenant, token = new_tenant(running, "ev")
    client = ScimHttp(running.tenant_url_of(tenant), token)

    user = client.post(
        "/Users", {"schemas": [USER_SCHEMA], "userName": "ev@example.com", "password": "pw-1!x"}
    )
    assert user.status == 201, user.text
    uid = user.json["id"]
    assert client.patch(f"/Users/{uid}", active(False)).status == 200
    assert client.patch(f"/Users/{uid}", active(True)).status == 200
    group = client.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Everyone"})
    assert group.status == 201
    add = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]}
    assert client.patch(f"/Groups/{group.json['id']}", add).status == 204
    assert client.delete(f"/Users/{uid}").status == 204

    # The events are in the file before each response is sent: no waiting.
    entries = events_of(running, tenant)
    mine = [e for e in entries if about(e, uid)]
    assert [e["DetailType"] for e in mine] == [
        "scim.user.created",
        "scim.user.deactivated",
        "scim.user.reactivated",
        "scim.group.member_added",
        "scim.user.deleted",
    ]
    assert [e["DetailType"] for e in entries if not about(e, uid)] == ["scim.group.created"]
    for entry in entries:  # exactly a PutEvents entry
        assert set(entry) == {"Source", "DetailType", "Detail", "EventBusName", "Resources"}
        assert (entry["Source"], entry["EventBusName"]) == ("scim.scim-local", "scim-local-provisioning")
    created = json.loads(mine[0]["Detail"])
    # meta.location is the Tenant URL the IdP uses: the local gateway's.
    assert created["resource"]["meta"]["location"] == f"{client.base_url}/Users/{uid}"
    assert created["tokenId"] == token.split("_")[1]
    assert running.events_file is not None
    assert "pw-1!x" not in running.events_file.read_text()


def test_scimctl_audit_against_the_local_gateway(
    running: RunningGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant, token = new_tenant(running, "au")
    client = ScimHttp(running.tenant_url_of(tenant), token)
    uid = client.post("/Users", {"schemas": [USER_SCHEMA], "userName": "au@example.com"}).json["id"]
    client.patch(f"/Users/{uid}", active(False))
    assert client.post("/Users", {"schemas": [USER_SCHEMA], "userName": "AU@example.com"}).status == 409
    state = ["--state-file", str(running.state_file)]
    capsys.readouterr()

    assert cli.main([*state, "audit", tenant, "--user", uid, "--json"]) == 0
    by_user = json.loads(capsys.readouterr().out)
    assert cli.main([*state, "audit", tenant, "--since", "1h"]) == 0
    table = capsys.readouterr().out

    deactivation = by_user[-1]
    assert (deactivation["method"], deactivation["changedAttributes"]) == ("PATCH", ["active"])
    assert deactivation["tokenId"] == token.split("_")[1]
    assert table.splitlines()[-1] == "3 record(s), 1 failed"
    assert "uniqueness" in table
