"""``scimctl [target] events replay --since T [--until T] [--rule R …] [--tenant T]``: replay the archive.

The stack archives every event put on its bus (``ProvisioningEventArchive``, kept
``EventArchiveRetentionDays``). This starts an EventBridge replay (``StartReplay``) of the events
put between ``--since`` and ``--until`` back onto the bus: to every rule, or only to the rules
named with ``--rule`` (one consumer's). EventBridge replays a time range, never a subset of its
events, so ``--tenant`` (which needs ``--rule``) puts, next to each named rule, a companion rule
with the same pattern and targets that also requires ``detail.tenantId`` and this replay's
``replay-name`` (a field EventBridge adds to replayed events only), and replays to the companions:
the consumer gets that tenant's replayed events and no live event twice. The companions match
nothing after the replay; the command names them so they can be deleted.

Order and duplicates of a replay: docs/events.md (Replay).
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from core.tenants import is_valid_tenant_id
from scimctl.admin import AdminError
from scimctl.stack import StackTarget

_RELATIVE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_time(text: str, now: datetime) -> datetime:
    """ISO 8601 (UTC when no zone) or a duration before now: 90m, 6h, 2d."""
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise AdminError(f"not a time: {text!r} (ISO 8601, or 90m / 6h / 2d ago)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def replay_name(since: datetime, tenant: str | None) -> str:
    # Replay names are unique per account and region, at most 64 of [.\\-_A-Za-z0-9].
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"scim-{tenant or 'all'}-{since.strftime('%Y%m%dT%H%M')}-{stamp}"[:64]


def start_replay(
    events: Any,
    *,
    archive_arn: str,
    bus_arn: str,
    since: datetime,
    until: datetime,
    rule_arns: list[str] | None = None,
    name: str,
) -> dict[str, Any]:
    """StartReplay of the archive's events between since and until onto the bus."""
    if until <= since:
        raise AdminError("--until must be after --since")
    destination: dict[str, Any] = {"Arn": bus_arn}
    if rule_arns:
        destination["FilterArns"] = rule_arns
    out = events.start_replay(
        ReplayName=name,
        Description="scimctl events replay",
        EventSourceArn=archive_arn,
        EventStartTime=since,
        EventEndTime=until,
        Destination=destination,
    )
    return {"replay": name, "arn": out.get("ReplayArn"), "state": out.get("State")}


def companion_pattern(pattern: dict[str, Any], tenant: str, name: str) -> dict[str, Any]:
    """The rule's pattern, narrowed to one tenant's events of one replay."""
    detail = dict(pattern.get("detail") or {})
    detail["tenantId"] = [tenant]
    return {**pattern, "detail": detail, "replay-name": [name]}


def add_parser(events: Any) -> None:
    replay = events.add_parser("replay", help="replay the bus's archive (EventBridge StartReplay)")
    replay.add_argument("--since", required=True, help="ISO 8601 time or a duration ago (6h, 2d)")
    replay.add_argument("--until", default="0m", help="ISO 8601 time or a duration ago (default: now)")
    replay.add_argument("--rule", action="append", default=[], help="replay to this rule only (repeatable)")
    replay.add_argument("--tenant", help="only this tenant's events, to the --rule rules' targets")


def run_replay(args: argparse.Namespace, target: StackTarget, now: datetime | None = None) -> int:
    if target.endpoint_url:
        raise AdminError(
            "the local gateway has no archive: read the feed again instead (GET /tenants/{t}/events)"
        )
    now = now or datetime.now(UTC)
    since, until = parse_time(args.since, now), parse_time(args.until, now)
    if args.tenant is not None and not is_valid_tenant_id(args.tenant):
        raise AdminError(f"invalid tenant id: {args.tenant!r}")
    if args.tenant is not None and not args.rule:
        raise AdminError("--tenant needs --rule: the rules whose targets get the tenant's replayed events")
    cfn = target.client("cloudformation")
    archive_name = cfn.describe_stack_resource(
        StackName=target.stack_name, LogicalResourceId="ProvisioningEventArchive"
    )["StackResourceDetail"]["PhysicalResourceId"]
    events = target.client("events")
    archive = events.describe_archive(ArchiveName=archive_name)
    bus_arn = str(archive["EventSourceArn"])
    name = replay_name(since, args.tenant)
    if args.tenant is None:
        rules = [_rule_arn(events, bus_arn, rule) for rule in args.rule]
    else:
        rules = [_companion(events, bus_arn, rule, args.tenant, name) for rule in args.rule]
    result = start_replay(
        events,
        archive_arn=str(archive["ArchiveArn"]),
        bus_arn=bus_arn,
        since=since,
        until=until,
        rule_arns=rules or None,
        name=name,
    )
    result["rules"] = rules
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"replay {result['replay']} {result['state']}: {since.isoformat()} .. {until.isoformat()}")
        for rule in rules:
            print(f"  to rule {rule}")
    return 0


def _rule_arn(events: Any, bus_arn: str, rule: str) -> str:
    if rule.startswith("arn:"):
        return rule
    return str(events.describe_rule(Name=rule, EventBusName=bus_arn)["Arn"])


def _companion(events: Any, bus_arn: str, rule: str, tenant: str, name: str) -> str:
    """A copy of `rule` (pattern and targets) that matches only `tenant`'s events of replay `name`."""
    found = events.describe_rule(Name=rule.rsplit("/", 1)[-1], EventBusName=bus_arn)
    pattern = companion_pattern(json.loads(found.get("EventPattern") or "{}"), tenant, name)
    companion = f"{found['Name']}-{tenant}-replay"[:64]
    out = events.put_rule(
        Name=companion,
        EventBusName=bus_arn,
        EventPattern=json.dumps(pattern),
        State="ENABLED",
        Description=f"scimctl events replay --tenant {tenant}: matches replay {name} only",
    )
    targets = events.list_targets_by_rule(Rule=found["Name"], EventBusName=bus_arn).get("Targets", [])
    if targets:
        events.put_targets(Rule=companion, EventBusName=bus_arn, Targets=targets)
    return str(out["RuleArn"])
