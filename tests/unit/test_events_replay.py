"""`scimctl events replay`: an EventBridge replay of the bus's archive (StartReplay, with moto)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from scimctl import cli
from scimctl.admin import AdminError
from scimctl.events_replay import companion_pattern, parse_time, run_replay
from scimctl.stack import StackTarget

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
STACK = "scim-test"
BUS = f"{STACK}-provisioning"
ARCHIVE = f"{STACK}-archive"
PATTERN = {"source": [f"scim.{STACK}"], "detail-type": [{"prefix": "scim.user."}]}


class Target(StackTarget):
    """A deployed stack's target whose CloudFormation lookup names the archive (moto has no stack)."""

    def client(self, service: str) -> Any:
        if service == "cloudformation":
            return _Cfn()
        return boto3.client(service, region_name=self.region)  # type: ignore[call-overload]


class _Cfn:
    def describe_stack_resource(self, StackName: str, LogicalResourceId: str) -> dict[str, Any]:  # noqa: N803
        assert (StackName, LogicalResourceId) == (STACK, "ProvisioningEventArchive")
        return {"StackResourceDetail": {"PhysicalResourceId": ARCHIVE}}


@pytest.fixture
def bus(aws: None) -> str:
    events = boto3.client("events")
    arn = events.create_event_bus(Name=BUS)["EventBusArn"]
    events.create_archive(ArchiveName=ARCHIVE, EventSourceArn=arn, RetentionDays=90)
    queue = boto3.client("sqs").create_queue(QueueName="consumer")["QueueUrl"]
    queue_arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    events.put_rule(Name="saas-users", EventBusName=BUS, EventPattern=json.dumps(PATTERN))
    events.put_targets(
        Rule="saas-users",
        EventBusName=BUS,
        Targets=[{"Id": "queue", "Arn": queue_arn["Attributes"]["QueueArn"]}],
    )
    return str(arn)


def args(**given: Any) -> argparse.Namespace:
    return argparse.Namespace(
        **({"since": "6h", "until": "0m", "tenant": None, "rule": [], "json": True} | given)
    )


def target() -> Target:
    return Target(region="us-east-1", stack_name=STACK, table_name=STACK, secrets_prefix="scim/x/")


def test_replay_starts_an_eventbridge_replay_of_the_range(
    bus: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_replay(args(since="2026-12-01T00:00:00Z", until="6h"), target(), NOW) == 0

    out = json.loads(capsys.readouterr().out)
    replay = boto3.client("events").describe_replay(ReplayName=out["replay"])
    assert replay["EventSourceArn"].endswith(f":archive/{ARCHIVE}")
    assert replay["Destination"]["Arn"] == bus
    assert replay["EventStartTime"] == datetime(2026, 12, 1, tzinfo=UTC)
    assert replay["EventEndTime"] == NOW - timedelta(hours=6)
    assert "FilterArns" not in replay["Destination"]


def test_replay_of_one_tenant_goes_to_a_companion_rule_with_the_same_targets(
    bus: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_replay(args(tenant="acme", rule=["saas-users"]), target(), NOW) == 0

    out = json.loads(capsys.readouterr().out)
    events = boto3.client("events")
    (rule_arn,) = out["rules"]
    assert events.describe_replay(ReplayName=out["replay"])["Destination"]["FilterArns"] == [rule_arn]
    companion = events.describe_rule(Name=rule_arn.rsplit("/", 1)[-1], EventBusName=BUS)
    pattern = json.loads(companion["EventPattern"])
    # The consumer's pattern, one tenant, and only this replay's events: never a live one twice.
    assert pattern == PATTERN | {"detail": {"tenantId": ["acme"]}, "replay-name": [out["replay"]]}
    original = events.list_targets_by_rule(Rule="saas-users", EventBusName=BUS)["Targets"]
    assert events.list_targets_by_rule(Rule=companion["Name"], EventBusName=BUS)["Targets"] == original


def test_companion_pattern_keeps_the_rules_own_detail_filters() -> None:
    pattern = {"source": ["s"], "detail": {"resourceType": ["User"]}}

    assert companion_pattern(pattern, "acme", "r1") == {
        "source": ["s"],
        "detail": {"resourceType": ["User"], "tenantId": ["acme"]},
        "replay-name": ["r1"],
    }


def test_tenant_without_rule_and_backwards_ranges_are_refused(bus: str) -> None:
    with pytest.raises(AdminError, match="--tenant needs --rule"):
        run_replay(args(tenant="acme"), target(), NOW)
    with pytest.raises(AdminError, match="--until must be after --since"):
        run_replay(args(since="1h", until="2h"), target(), NOW)
    with pytest.raises(AdminError, match="not a time"):
        parse_time("yesterday", NOW)


def test_replay_is_refused_against_the_local_gateway(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    local = StackTarget(
        region="us-east-1",
        stack_name="scim-local",
        table_name="scim-local",
        secrets_prefix="scim/scim-local/",
        endpoint_url="http://127.0.0.1:8001",
    )
    monkeypatch.setattr(cli, "resolve_target", lambda *_: local)

    assert cli.main(["events", "replay", "--since", "1h"]) == 2
    assert "no archive" in capsys.readouterr().err
