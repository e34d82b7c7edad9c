"""`scimctl tenant restore`: one tenant's data copied back from a point-in-time restored table (moto)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from core.tenants import TenantStatus
from scimctl import cli
from scimctl.admin import Admin
from scimctl.stack import StackTarget
from scimctl.template import table_create_kwargs
from tests.conftest import SECRETS_PREFIX, TABLE_NAME, TEMPLATE, ScimClient

RESTORED = "scim-test-restored"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
TARGET = StackTarget(
    region="us-east-1", stack_name="scim-test", table_name=TABLE_NAME, secrets_prefix=SECRETS_PREFIX
)


def user(name: str, given: str = "A") -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": given, "familyName": "Z"},
    }


def point_in_time_restore() -> None:
    """What RestoreTableToPointInTime gives: a new table holding the live table's items as of now."""
    db = boto3.client("dynamodb")
    db.create_table(TableName=RESTORED, **table_create_kwargs(TEMPLATE))
    for page in db.get_paginator("scan").paginate(TableName=TABLE_NAME):
        for item in page["Items"]:
            db.put_item(TableName=RESTORED, Item=item)


def items_under(prefix: str) -> int:
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=TABLE_NAME)
    return sum(1 for page in pages for item in page["Items"] if item["PK"]["S"].startswith(prefix))


def user_names(client: ScimClient) -> tuple[int, dict[str, str]]:
    listed = client("GET", "/Users").body
    return listed["totalResults"], {u["userName"]: u["name"]["givenName"] for u in listed["Resources"]}


@pytest.fixture
def run(aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setattr(cli, "resolve_target", lambda *_: TARGET)

    def invoke(*argv: str) -> tuple[int, Any, str]:
        capsys.readouterr()  # the handlers' own log lines
        code = cli.main(["--json", *argv])
        out = capsys.readouterr()
        return code, json.loads(out.out) if out.out.strip() else None, out.err

    return invoke


def test_restore_brings_one_tenant_back_to_the_restore_point(run: Any, admin: Admin) -> None:
    admin.create_tenant("demo")
    admin.create_tenant("demo-eu")  # its keys share the prefix "T#demo": it must stay untouched
    demo, sibling = ScimClient("demo"), ScimClient("demo-eu")
    alice = demo("POST", "/Users", user("alice")).body["id"]
    bob = demo("POST", "/Users", user("bob")).body["id"]
    group = {"schemas": [GROUP], "displayName": "eng", "members": [{"value": alice}]}
    assert demo("POST", "/Groups", group).status == 201
    sibling("POST", "/Users", user("carol"))
    early_token = admin.issue_token("demo", "okta").metadata.token_id
    point_in_time_restore()
    # The incident: the IdP deletes and rewrites users; meanwhile a token is issued.
    assert demo("DELETE", f"/Users/{bob}").status == 204
    demo("POST", "/Users", user("dave"))
    demo(
        "PATCH",
        f"/Users/{alice}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "name.givenName", "value": "Wrong"}],
        },
    )
    sibling("POST", "/Users", user("erin"))
    late_token = admin.issue_token("demo", "entra").metadata.token_id
    audit_items = items_under("T#demo#AUDIT")
    admin.set_tenant_status("demo", TenantStatus.DISABLED)

    code, out, _ = run("tenant", "restore", "demo", "--from-table", RESTORED)

    assert code == 0
    assert (out["tenant"], out["dryRun"]) == ("demo", False)
    assert out["restored"] > 0
    assert out["removed"] > 0  # dave and his name guard at least
    assert user_names(demo) == (2, {"alice": "A", "bob": "A"})
    assert demo("GET", f"/Users/{bob}").status == 200
    group = demo("GET", "/Groups").body["Resources"][0]
    assert [m["value"] for m in group["members"]] == [alice]
    # Created again after the restore: the uniqueness guard of the removed user is gone too.
    assert demo("POST", "/Users", user("dave")).status == 201
    assert user_names(sibling) == (2, {"carol": "A", "erin": "A"})
    tokens = {t["tokenId"] for t in run("token", "list", "demo")[1]}
    assert tokens == {early_token, late_token}
    assert items_under("T#demo#AUDIT") == audit_items
    assert run("tenant", "show", "demo")[1]["status"] == "disabled"


def test_restore_refuses_an_active_tenant_and_the_live_table(run: Any, admin: Admin) -> None:
    admin.create_tenant("demo")
    point_in_time_restore()
    code, _, err = run("tenant", "restore", "demo", "--from-table", RESTORED)
    assert (code, "tenant disable demo" in err) == (2, True)
    admin.set_tenant_status("demo", TenantStatus.DISABLED)
    code, _, err = run("tenant", "restore", "demo", "--from-table", TABLE_NAME)
    assert (code, "live table" in err) == (2, True)
    code, _, err = run("tenant", "restore", "nobody", "--from-table", RESTORED)
    assert (code, "does not exist" in err) == (2, True)


def test_dry_run_counts_and_writes_nothing(run: Any, admin: Admin) -> None:
    admin.create_tenant("demo")
    demo = ScimClient("demo")
    point_in_time_restore()
    demo("POST", "/Users", user("dave"))
    admin.set_tenant_status("demo", TenantStatus.DISABLED)

    code, out, _ = run("tenant", "restore", "demo", "--from-table", RESTORED, "--dry-run")

    assert (code, out["dryRun"]) == (0, True)
    assert out["removed"] > 0
    assert user_names(demo) == (1, {"dave": "A"})
