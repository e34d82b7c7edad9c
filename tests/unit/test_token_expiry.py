"""Token expiry warnings (issue 18, B): the daily check through the real TokenExpiry function,
moto's DynamoDB stream through the event rules, health through the management handler.

Given a token that expires in 6 days, when the check runs again and again, then exactly one
``scim.token.expiring`` with the 7-day threshold is sent (the 30-day one is skipped: it is past),
the per-tenant metric counts it, and health lists it; a day before expiry the 1-day warning follows
once; revoked and far-off tokens get nothing; an expired token's refusal shows as "expired".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from core import token_expiry as token_expiry_core
from core.events.rules import events_for_record
from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from handlers import token_expiry
from scimctl import cli
from scimctl.admin import Admin
from scimctl.local_events import TableStream
from tests.conftest import TABLE_NAME
from tests.support import FakeContext
from tests.unit.management_calls import call
from tests.unit.test_authorizer import invoke, request_event
from tests.unit.test_scimctl_cli import TARGET

BASE = "https://api.example.com/v1/scim/v2"


@pytest.fixture
def stream(aws: None) -> TableStream:
    return TableStream(boto3.client("dynamodb"), boto3.client("dynamodbstreams"), TABLE_NAME)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The check's 'now' (the function's cached check reads it), moved by the test."""
    now = [datetime.now(UTC)]
    token_expiry.expiry_check.cache_clear()
    check = token_expiry.expiry_check()
    monkeypatch.setattr(check, "_now", lambda: now[0])
    yield now
    token_expiry.expiry_check.cache_clear()


def run_check(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One scheduled invocation: its answer and the EMF metric documents it printed."""
    capsys.readouterr()
    answer = token_expiry.lambda_handler({}, FakeContext("TokenExpiryFunction"))
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    return answer, emf


def expiring_events(stream: TableStream) -> list[Any]:
    found = [e for r in stream.read() for e in events_for_record(r, BASE)]
    return [e for e in found if e.detail_type == "scim.token.expiring"]


def test_a_token_expiring_in_6_days_gets_exactly_one_7_day_warning(
    admin: Admin, stream: TableStream, clock: list[datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    admin.create_tenant("acme")
    admin.create_tenant("globex")
    soon = admin.issue_token("acme", "okta", timedelta(days=6)).metadata.token_id
    admin.issue_token("acme", "far", timedelta(days=90))
    admin.issue_token("acme", "forever")
    revoked = admin.issue_token("globex", "old", timedelta(days=3)).metadata.token_id
    admin.revoke_token("globex", revoked)
    stream.skip_to_end()

    answer, emf = run_check(capsys)
    assert answer["warnings"] == [{"tenant_id": "acme", "token_id": soon, "threshold_days": 7}]
    assert answer["expiring_per_tenant"] == {"acme": 1}, "revoked and far-off tokens are not counted"
    (metric,) = [m for m in emf if "TokensExpiringWithin30Days" in m]
    assert metric["tenant_id"] == "acme"
    assert metric["TokensExpiringWithin30Days"] == [1.0]
    (definition,) = metric["_aws"]["CloudWatchMetrics"]
    assert definition["Dimensions"] == [["tenant_id", "service"]]
    assert definition["Metrics"] == [{"Name": "TokensExpiringWithin30Days", "Unit": "Count"}]

    for hours in (0, 1, 24, 48):  # repeated runs, the same day and the next ones (3 days left)
        clock[0] += timedelta(hours=hours)
        assert run_check(capsys)[0]["warnings"] == []
    (event,) = expiring_events(stream)
    assert (event.tenant_id, event.token.token_id, event.threshold_days) == ("acme", soon, 7)
    assert event.actor == "token-expiry-schedule"
    health = call("GET", "/tenants/acme/health").body
    assert health["tokens"]["expiring_within_30_days"] == [soon]

    clock[0] = datetime.now(UTC) + timedelta(days=5, hours=12)  # 12 hours before it expires
    assert run_check(capsys)[0]["warnings"] == [{"tenant_id": "acme", "token_id": soon, "threshold_days": 1}]
    assert run_check(capsys)[0]["warnings"] == []
    assert [e.threshold_days for e in expiring_events(stream)] == [1]


def test_a_token_first_seen_within_30_days_gets_the_30_day_warning_then_the_7_day_one(
    admin: Admin, stream: TableStream, clock: list[datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    admin.create_tenant("acme")
    token_id = admin.issue_token("acme", "okta", timedelta(days=20)).metadata.token_id
    stream.skip_to_end()
    assert [w["threshold_days"] for w in run_check(capsys)[0]["warnings"]] == [30]
    clock[0] += timedelta(days=14)
    assert [w["threshold_days"] for w in run_check(capsys)[0]["warnings"]] == [7]
    clock[0] += timedelta(days=7)  # expired now: the authorizer refuses it, no more warnings
    assert run_check(capsys)[0] == {"expiring_per_tenant": {}, "warnings": []}
    assert [(e.token.token_id, e.threshold_days) for e in expiring_events(stream)] == [
        (token_id, 30),
        (token_id, 7),
    ]


def test_an_expired_tokens_refusal_shows_as_expired_in_health(
    admin: Admin, table: TenantTable, hashes: TokenHashStore
) -> None:
    admin.create_tenant("acme")
    past = datetime.now(UTC) - timedelta(days=2)
    issued = Admin(table, hashes, now=lambda: past).issue_token("acme", "old", expires_in=timedelta(days=1))
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke(request_event(f"Bearer {issued.token}"))
    refused = call("GET", "/tenants/acme/health").body["last_refused_token"]
    assert (refused["reason"], refused["token_id"]) == ("expired", issued.metadata.token_id)


def unindex(tenant_id: str, token_id: str) -> None:
    """What a token issued before the expiry registry existed looks like: no GSI1 entry."""
    boto3.client("dynamodb").update_item(
        TableName=TABLE_NAME,
        Key={"PK": {"S": f"T#{tenant_id}"}, "SK": {"S": f"TOKEN#{token_id}"}},
        UpdateExpression="REMOVE GSI1PK, GSI1SK",
        ConditionExpression="attribute_exists(PK)",
    )


def test_a_legacy_token_gets_its_warning_after_the_index_expiry_migration(
    admin: Admin,
    stream: TableStream,
    clock: list[datetime],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin.create_tenant("acme")
    admin.create_tenant("globex")
    legacy = admin.issue_token("acme", "okta", timedelta(days=6)).metadata.token_id
    other = admin.issue_token("globex", "entra", timedelta(days=20)).metadata.token_id
    revoked = admin.issue_token("globex", "old", timedelta(days=3)).metadata.token_id
    admin.issue_token("globex", "forever")
    admin.revoke_token("globex", revoked)
    for tenant_id, token_id in (("acme", legacy), ("globex", other), ("globex", revoked)):
        unindex(tenant_id, token_id)
    stream.skip_to_end()
    assert run_check(capsys)[0]["warnings"] == [], "not in the registry: the check cannot see them"

    monkeypatch.setattr(cli, "resolve_target", lambda *_: TARGET)
    monkeypatch.setattr(token_expiry_core, "TENANTS_PAGE", 1)  # the registry walked page by page
    assert cli.main(["--json", "token", "index-expiry"]) == 0
    assert json.loads(capsys.readouterr().out) == {"indexed": 2}, "the revoked token stays out"
    assert cli.main(["--json", "token", "index-expiry"]) == 0
    assert json.loads(capsys.readouterr().out) == {"indexed": 0}, "a second run changes nothing"

    warnings = run_check(capsys)[0]["warnings"]
    assert sorted((w["token_id"], w["threshold_days"]) for w in warnings) == sorted(
        [(legacy, 7), (other, 30)]
    )
    assert sorted(e.token.token_id for e in expiring_events(stream)) == sorted([legacy, other])


def test_a_legacy_token_joins_the_registry_on_its_next_use(
    admin: Admin, clock: list[datetime], capsys: pytest.CaptureFixture[str], dynamodb_calls: list[str]
) -> None:
    admin.create_tenant("acme")
    issued = admin.issue_token("acme", "okta", timedelta(days=6))
    unindex("acme", issued.metadata.token_id)
    invoke(request_event(f"Bearer {admin.issue_token('acme', 'other').token}"))  # tenant connected
    assert run_check(capsys)[0]["warnings"] == []
    dynamodb_calls.clear()
    invoke(request_event(f"Bearer {issued.token}"))  # the IdP's next request: its last-used write
    assert dynamodb_calls == ["BatchGetItem", "UpdateItem"], "indexed by the last-used write, no extra call"
    assert run_check(capsys)[0]["warnings"] == [
        {"tenant_id": "acme", "token_id": issued.metadata.token_id, "threshold_days": 7}
    ]
