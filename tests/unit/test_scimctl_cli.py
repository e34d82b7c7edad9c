"""scimctl tenant and token commands against moto (issue 2, "Tenants and tokens")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from scimctl import cli
from scimctl.admin import Admin
from scimctl.stack import StackError, StackTarget, from_state_file, samconfig_environment
from tests.conftest import ROOT, SECRETS_PREFIX, TABLE_NAME

TARGET = StackTarget(
    region="us-east-1",
    stack_name="scim-test",
    table_name=TABLE_NAME,
    secrets_prefix=SECRETS_PREFIX,
    api_base_url="https://api.example.com/v1/scim/v2",
)


@pytest.fixture
def run(aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setattr(cli, "resolve_target", lambda *_: TARGET)

    def invoke(*argv: str) -> tuple[int, Any, str]:
        code = cli.main(["--json", *argv])
        out = capsys.readouterr()
        return code, json.loads(out.out) if out.out.strip() else None, out.err

    return invoke


def test_tenant_lifecycle(run: Any) -> None:
    code, created, _ = run("tenant", "create", "acme", "--name", "Acme Corp")
    assert code == 0
    assert created == {
        "tenant": "acme",
        "name": "Acme Corp",
        "status": "active",
        "preset": "default",
        "created": created["created"],
        "tenantUrl": "https://api.example.com/v1/scim/v2/acme",
    }
    run("tenant", "create", "globex")
    assert [t["tenant"] for t in run("tenant", "list")[1]] == ["acme", "globex"]
    assert run("tenant", "disable", "acme")[1]["status"] == "disabled"
    assert run("tenant", "show", "acme")[1]["status"] == "disabled"
    assert run("tenant", "enable", "acme")[1]["status"] == "active"


@pytest.mark.parametrize("bad", ["A", "acme_corp", "-acme", "acme-", "a--b", "x" * 33, "ac.me"])
def test_invalid_tenant_ids_are_refused_with_a_clear_error(run: Any, bad: str) -> None:
    code, _, err = run("tenant", "create", "--", bad)
    assert code == 2
    assert "invalid tenant id" in err


def test_duplicate_tenant_is_refused(run: Any) -> None:
    run("tenant", "create", "acme")
    code, _, err = run("tenant", "create", "acme")
    assert code == 1
    assert "already exists" in err


def test_token_issue_prints_token_once_and_never_again(run: Any) -> None:
    run("tenant", "create", "acme")
    code, issued, _ = run("token", "issue", "acme", "--name", "okta", "--expires-in", "30d")
    assert code == 0
    token = issued["token"]
    assert token.startswith(f"scim_{issued['tokenId']}_")
    assert issued["expires"] is not None
    assert issued["tenantUrl"] == "https://api.example.com/v1/scim/v2/acme"
    _, listed, _ = run("token", "list", "acme")
    assert [t["tokenId"] for t in listed] == [issued["tokenId"]]
    assert token not in json.dumps(listed)
    assert listed[0]["state"] == "active"
    # The table and the secret hold metadata and a hash only.
    items = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=f"{SECRETS_PREFIX}tenants/acme")
    assert token not in json.dumps(items) + secret["SecretString"]
    assert issued["tokenId"] in secret["SecretString"]


def test_token_revoke(run: Any) -> None:
    run("tenant", "create", "acme")
    _, issued, _ = run("token", "issue", "acme")
    assert run("token", "revoke", "acme", issued["tokenId"])[0] == 0
    _, listed, _ = run("token", "list", "acme")
    assert listed[0]["state"] == "revoked"
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=f"{SECRETS_PREFIX}tenants/acme")
    assert issued["tokenId"] not in secret["SecretString"]
    code, _, err = run("token", "revoke", "acme", "acme.ffffffffffffffff")
    assert code == 2
    assert "does not exist" in err


def test_tokens_of_unknown_or_disabled_tenants(run: Any) -> None:
    code, _, err = run("token", "issue", "nobody")
    assert (code, "does not exist" in err) == (2, True)
    run("tenant", "create", "acme")
    run("tenant", "disable", "acme")
    code, _, err = run("token", "issue", "acme")
    assert (code, "disabled" in err) == (2, True)


def test_bad_duration_is_an_argument_error(run: Any) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["token", "issue", "acme", "--expires-in", "soon"])
    assert exc.value.code == 2


def test_samconfig_environments_are_independent_regional_stacks() -> None:
    assert samconfig_environment("us", ROOT / "samconfig.toml") == ("scim-us", "us-east-1")
    assert samconfig_environment("eu", ROOT / "samconfig.toml") == ("scim-eu", "eu-west-1")
    with pytest.raises(StackError):
        samconfig_environment("apac", ROOT / "samconfig.toml")


def test_local_state_file_is_required_for_local_target(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="make serve"):
        from_state_file(tmp_path / "missing.json")
    state = tmp_path / "local.json"
    state.write_text(
        json.dumps(
            {
                "endpoint_url": "http://127.0.0.1:8001",
                "region": "us-east-1",
                "table_name": "scim-local",
                "secrets_prefix": "scim/scim-local/",
                "stack_name": "scim-local",
                "api_url": "http://127.0.0.1:8000/v1/scim/v2",
            }
        )
    )
    target = from_state_file(state)
    assert target.endpoint_url == "http://127.0.0.1:8001"
    assert target.tenant_url("demo") == "http://127.0.0.1:8000/v1/scim/v2/demo"


def test_tenant_create_with_preset_and_profile_show_edit(
    run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, created, _ = run("tenant", "create", "okto", "--preset", "oktopost", "--audience", "advocates")
    assert (code, created["preset"]) == (0, "oktopost")
    assert cli.main(["tenant", "profile", "okto"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["username_equals_email"], shown["audience"], shown["groups_enabled"]) == (
        True,
        "advocates",
        False,
    )
    edited = tmp_path / "profile.yaml"
    edited.write_text(
        "preset: custom\ngroups_enabled: true\nroles:\n  allowed: [Admin, Member]\n  default: Member\n"
    )
    assert cli.main(["tenant", "profile", "okto", "--set", str(edited), "--format", "yaml"]) == 0
    assert "groups_enabled: true" in capsys.readouterr().out
    assert cli.main(["tenant", "profile", "okto", "--preset", "poggio"]) == 0
    assert json.loads(capsys.readouterr().out)["preset"] == "poggio"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tenant", "create", "x1", "--preset", "nope"], "unknown preset"),
        (["tenant", "create", "x2", "--preset", "loopio", "--audience", "users"], "oktopost preset only"),
    ],
)
def test_bad_presets_are_refused_clearly(run: Any, argv: list[str], message: str) -> None:
    code, _, err = run(*argv)
    assert code == 2
    assert message in err


def test_invalid_profile_file_is_refused_clearly(run: Any, tmp_path: Path) -> None:
    run("tenant", "create", "acme")
    bad = tmp_path / "bad.json"
    bad.write_text('{"roles": {"allowed": ["Admin"], "default": "Owner"}}')
    code, _, err = run("tenant", "profile", "acme", "--set", str(bad))
    assert code == 2
    assert "default role 'Owner' is not one of the allowed roles" in err


def test_serve_accepts_a_preset_for_the_demo_tenant() -> None:
    args = cli.build_parser().parse_args(["serve", "--preset", "poggio", "--port", "9000"])
    assert (args.preset, args.port) == ("poggio", 9000)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["serve", "--preset", "nope"])


def test_token_revoke_all_revokes_every_token_of_one_tenant_only(run: Any) -> None:
    run("tenant", "create", "acme")
    run("tenant", "create", "globex")
    first = run("token", "issue", "acme", "--name", "okta")[1]["tokenId"]
    second = run("token", "issue", "acme", "--name", "entra")[1]["tokenId"]
    earlier = run("token", "issue", "acme", "--name", "old")[1]["tokenId"]
    run("token", "revoke", "acme", earlier)
    other = run("token", "issue", "globex")[1]["tokenId"]

    code, out, _ = run("token", "revoke-all", "acme")

    assert (code, out["tenant"], sorted(out["revoked"])) == (0, "acme", sorted([first, second]))
    assert {t["state"] for t in run("token", "list", "acme")[1]} == {"revoked"}
    assert run("token", "list", "acme")[1][0]["revoked"] is not None
    sm = boto3.client("secretsmanager")
    assert (
        json.loads(sm.get_secret_value(SecretId=f"{SECRETS_PREFIX}tenants/acme")["SecretString"])["hashes"]
        == {}
    )
    # The tenant stays enabled (new tokens can be issued) and other tenants are untouched.
    assert run("tenant", "show", "acme")[1]["status"] == "active"
    assert [t["state"] for t in run("token", "list", "globex")[1]] == ["active"]
    assert other in sm.get_secret_value(SecretId=f"{SECRETS_PREFIX}tenants/globex")["SecretString"]
    assert run("token", "revoke-all", "acme")[1]["revoked"] == []
    code, _, err = run("token", "revoke-all", "nobody")
    assert (code, "does not exist" in err) == (2, True)


def test_token_revoke_all_flushes_the_authorizer_cache_once(
    table: TenantTable, hashes: TokenHashStore
) -> None:
    flushes: list[int] = []
    admin = Admin(table, hashes, flush_authorizer_cache=lambda: flushes.append(1))
    admin.create_tenant("acme")
    issued = [admin.issue_token("acme", f"idp{i}").metadata.token_id for i in range(3)]
    assert sorted(admin.revoke_all_tokens("acme")) == sorted(issued)
    assert len(flushes) == 1


def test_a_mapping_change_through_the_cli_recomputes_every_users_roles(run: Any, tmp_path: Path) -> None:
    """`scimctl tenant profile T --set FILE` is a documented way to change role mappings: it must
    move users' roles as the management API's PATCH does, not only store the new profile."""
    from core.profiles import Profile  # noqa: PLC0415
    from tests.conftest import ScimClient  # noqa: PLC0415
    from tests.support import seed_users  # noqa: PLC0415

    assert run("tenant", "create", "acme")[0] == 0
    ids = seed_users(TABLE_NAME, "acme", 150)  # more than one batch of the job
    scim = ScimClient("acme", Profile())
    group = scim(
        "POST",
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Sales",
            "members": [{"value": i} for i in ids[:120]],
        },
    )
    assert group.status == 201, group.body
    mapped = tmp_path / "profile.json"
    mapped.write_text(
        json.dumps({"role_mappings": [{"group": "sales", "role": "seller"}], "default_role": "guest"})
    )
    assert run("tenant", "profile", "acme", "--set", str(mapped))[0] == 0

    def roles(user_id: str) -> list[str]:
        item = boto3.client("dynamodb").get_item(
            TableName=TABLE_NAME, Key={"PK": {"S": "T#acme#USER"}, "SK": {"S": user_id}}
        )["Item"]
        return json.loads(item.get("effectiveRoles", {}).get("S", "null") or "null")

    assert {tuple(roles(i)) for i in ids[:120]} == {("seller",)}
    assert {tuple(roles(i)) for i in ids[120:]} == {("guest",)}
    job = boto3.client("dynamodb").get_item(
        TableName=TABLE_NAME, Key={"PK": {"S": "T#acme"}, "SK": {"S": "ROLES"}}
    )
    assert (job["Item"]["status"]["S"], job["Item"]["usersChecked"]["N"]) == ("completed", "150")
