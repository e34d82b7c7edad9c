"""The stack's alarms reach a person, cover every place work is parked, watch metrics the code
really emits, and each has its runbook section in docs/operations.md."""

from __future__ import annotations

import re
from typing import Any

from scimctl.template import load_document
from tests.conftest import ROOT

TEMPLATE: dict[str, Any] = load_document(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
ALARMS = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
OPERATIONS = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
NOTIFY = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def test_the_stack_has_the_alarms_an_on_call_engineer_needs() -> None:
    assert set(ALARMS) >= {
        "AuthFailuresAlarm",
        "AuthDependencyFailuresAlarm",
        "UnhandledErrorsAlarm",
        "AuditWriteFailuresAlarm",
        "EventsDeadLetterAlarm",
        "WebhooksDeadLetterAlarm",
        "TenantResetDeadLetterAlarm",
        "RoleRecomputeStartFailuresAlarm",
    }


def test_every_alarm_notifies_the_alarm_topic_on_alarm_and_on_recovery() -> None:
    assert TEMPLATE["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }
    pattern = TEMPLATE["Parameters"]["AlarmTopicArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, "arn:aws:sns:eu-west-1:123456789012:scim-eu-oncall")
    assert not re.fullmatch(pattern, "arn:aws:sqs:eu-west-1:123456789012:not-a-topic")
    for name, alarm in ALARMS.items():
        assert alarm.get("AlarmActions") == NOTIFY, name
        assert alarm.get("OKActions") == NOTIFY, name


def test_every_dead_letter_queue_has_an_alarm() -> None:
    queues = {
        name for name, r in RESOURCES.items() if r["Type"] == "AWS::SQS::Queue" and "DeadLetter" in name
    }
    assert queues == {"EventsDeadLetterQueue", "WebhooksDeadLetterQueue", "TenantResetDeadLetterQueue"}
    watched = {
        d["Value"]["Fn::GetAtt"][0]
        for alarm in ALARMS.values()
        if alarm["Namespace"] == "AWS/SQS"
        for d in alarm["Dimensions"]
        if d["Name"] == "QueueName"
    }
    assert queues <= watched


def test_every_alarmed_metric_of_ours_is_emitted_by_the_code() -> None:
    """An alarm on a metric name nothing emits would never fire."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src").rglob("*.py"))
    ours = [a for a in ALARMS.values() if a["Namespace"] == {"Fn::Sub": "Scim/${AWS::StackName}"}]
    assert len(ours) >= 4
    for alarm in ours:
        assert f'name="{alarm["MetricName"]}"' in source, alarm["MetricName"]
        # powertools adds the service dimension to every metric of the shared Metrics object.
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "scim"}], alarm["MetricName"]


def test_every_alarm_has_its_section_in_the_operations_runbook() -> None:
    sections = set(re.findall(r"^### (\w+Alarm)$", OPERATIONS, flags=re.MULTILINE))
    assert sections == set(ALARMS)
    for name, alarm in ALARMS.items():
        assert "docs/" in alarm["AlarmDescription"], f"{name}: the description names where to look"
