"""The infrastructure and supply-chain controls of docs/security.md, checked on the files themselves.

`make security` runs checkov and bandit; these tests pin what those tools cannot see: that every
skipped check says why, that data survives an operator's mistake, that the Lambda layer installs
only hash-locked wheels, and that the lock covers every runtime requirement.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest
from packaging.requirements import Requirement

from scimctl.template import load_document
from tests.conftest import ROOT

LAYER = ROOT / "layer"
RESOURCES: dict[str, Any] = load_document(ROOT / "template.yaml")["Resources"]
_PIN = re.compile(r"^([A-Za-z0-9_.\-\[\],]+)==([^\s;\\]+)")


def checkov_skips() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, skip)
        for name, resource in RESOURCES.items()
        for skip in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip", [])
    ]


def test_every_checkov_skip_names_one_check_and_gives_a_reason() -> None:
    skips = checkov_skips()
    assert skips, "the template skips checks (see docs/security.md); they must be found here"
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip.get("id", "")), (name, skip)
        assert len(str(skip.get("comment", "")).split()) >= 12, f"{name} {skip['id']}: say why"


def test_no_check_is_skipped_for_the_whole_template() -> None:
    assert not (ROOT / ".checkov.yaml").exists()
    assert not (ROOT / ".checkov.yml").exists()


def test_the_table_survives_deletion_and_can_be_restored() -> None:
    table = RESOURCES["ScimTable"]
    props = table["Properties"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert props["DeletionProtectionEnabled"] is True
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True


def test_the_events_dead_letter_queue_is_encrypted_and_alarmed() -> None:
    assert RESOURCES["EventsDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    dimensions = RESOURCES["EventsDeadLetterAlarm"]["Properties"]["Dimensions"]
    assert dimensions[0]["Value"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}


def test_the_access_log_never_holds_a_token_or_a_body() -> None:
    api = next(r for r in RESOURCES.values() if r["Type"] == "AWS::Serverless::Api")
    log_format = api["Properties"]["AccessLogSetting"]["Format"]
    for forbidden in ("Authorization", "requestBody", "$input"):
        assert forbidden not in log_format


@pytest.mark.parametrize(
    ("function", "forbidden"),
    [
        ("DiscoveryFunction", ("dynamodb:", "secretsmanager:")),
        ("AuthorizerFunction", ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query")),
        ("UsersFunction", ("dynamodb:Scan", "secretsmanager:PutSecretValue")),
        # It writes the event journal only (next test), never deletes, scans or queries.
        (
            "EventsFunction",
            ("dynamodb:DeleteItem", "dynamodb:Scan", "dynamodb:Query", "secretsmanager:PutSecretValue"),
        ),
        # Webhook targets only: no table, no token hashes, no writes, no queue deletes of its own.
        ("WebhooksFunction", ("dynamodb:", "/tenants/", "secretsmanager:PutSecretValue", "sqs:Delete")),
    ],
)
def test_functions_get_only_the_actions_they_use(function: str, forbidden: tuple[str, ...]) -> None:
    policies = str(RESOURCES[function]["Properties"].get("Policies", []))
    assert "*" not in re.findall(r"'Action': '([^']*)'", policies)
    for action in forbidden:
        assert action not in policies


def test_webhook_secrets_are_reachable_only_by_the_webhooks_and_management_functions() -> None:
    readers = {
        name
        for name, resource in RESOURCES.items()
        if resource["Type"] == "AWS::Serverless::Function"
        and "/webhooks/*" in str(resource["Properties"].get("Policies", []))
    }
    assert readers == {"WebhooksFunction", "ManagementFunction"}
    # Loopback and http receivers are a local-gateway-only switch: never set in the stack.
    assert "WEBHOOK_ALLOW_LOOPBACK" not in (ROOT / "template.yaml").read_text()


def test_the_events_function_writes_only_the_event_journals_partitions() -> None:
    statements = [
        statement
        for policy in RESOURCES["EventsFunction"]["Properties"]["Policies"]
        for statement in policy.get("Statement", [])
    ]
    dynamodb = [s for s in statements if any(str(a).startswith("dynamodb:") for a in _actions(s))]
    (journal,) = dynamodb
    assert sorted(_actions(journal)) == ["dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert journal["Resource"] == {"Fn::GetAtt": ["ScimTable", "Arn"]}  # no index
    leading = journal["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert leading == ["T#*#EVENTS", "T#*#EVENTS#ID", "STACK#EVENTS", "STACK#EVENTS#ID"]
    # The journal's keys are all of those partitions (core.events.journal).
    from core.events import journal as feed  # noqa: PLC0415

    keys = [
        feed.events_pk("acme"),
        feed.event_ids_pk("acme"),
        feed.STACK_PK,
        feed.STACK_COUNTER_KEY["PK"]["S"],
    ]
    keys.append(feed.tenant_counter_key("acme")["PK"]["S"])
    assert all(any(fnmatch.fnmatchcase(key, pattern) for pattern in leading) for key in keys)
    assert not fnmatch.fnmatchcase("T#acme#USER", leading[0])  # and no resource partition


def _actions(statement: dict[str, object]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else [str(a) for a in actions]  # type: ignore[union-attr]


def locked_pins() -> dict[str, tuple[str, list[str]]]:
    """name → (version, hashes) from layer/requirements.lock."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in (LAYER / "requirements.lock").read_text().splitlines():
        match = _PIN.match(line)
        if match:
            current = Requirement(match[1]).name.lower().replace("_", "-")
            pins[current] = (match[2], [])
        elif current and line.strip().startswith("--hash=sha256:"):
            pins[current][1].append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return pins


def test_the_lock_pins_every_layer_requirement_within_its_range_with_hashes() -> None:
    pins = locked_pins()
    wanted = [
        Requirement(line)
        for line in (LAYER / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert wanted
    for requirement in wanted:
        name = requirement.name.lower()
        assert name in pins, f"{name} is not in layer/requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name][0]), f"{name} {pins[name][0]}: run `make lock`"
    # The [tracer] extra's own dependency is locked too (installs run with --no-deps).
    assert "aws-xray-sdk" in pins
    for name, (_, hashes) in pins.items():
        assert hashes, f"{name} has no hash"
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name


def test_the_layer_installs_only_the_hash_locked_wheels() -> None:
    makefile = (LAYER / "Makefile").read_text()
    build = makefile.split("\nbuild-DependenciesLayer:", 1)[1].split("\n\n")[0]
    for flag in ("--require-hashes", "--no-deps", "--only-binary=:all:", "-r requirements.lock"):
        assert flag in build
    assert "requirements.txt" not in build
