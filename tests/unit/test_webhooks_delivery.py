"""Webhook delivery end to end with moto: the bus's rule → SQS → the real webhooks handler → a
real loopback HTTP receiver that verifies each signature with the `standardwebhooks` library.

Lambda's SQS event source is played by `poll`: receive (with the receive count), invoke, delete
what the partial batch response does not name. Time is fast-forwarded by making a backed-off
message visible again; the delays the handler asked for are recorded and checked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from core.webhooks.delivery import RETRY_SCHEDULE
from core.webhooks.signature import new_secret
from core.webhooks.targets import WebhookTargets
from handlers import aws_clients, settings, webhooks
from tests.conftest import SECRETS_PREFIX
from tests.support import FakeContext
from tests.webhook_receiver import Receiver, webhook_receiver

BUS, SOURCE = "scim-test-provisioning", "scim.scim-test"


class RecordingSqs:
    """The handler's SQS client, noting each ChangeMessageVisibility it makes."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.visibility: list[int] = []

    def change_message_visibility(self, **kwargs: Any) -> Any:
        self.visibility.append(kwargs["VisibilityTimeout"])
        return self._client.change_message_visibility(**kwargs)


@pytest.fixture
def queues(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    sqs, events = boto3.client("sqs"), boto3.client("events")
    dlq = sqs.create_queue(QueueName="webhooks-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(RETRY_SCHEDULE.max_attempts)}
    queue = sqs.create_queue(
        QueueName="webhooks",
        Attributes={"VisibilityTimeout": "360", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name=BUS)
    events.put_rule(Name="webhooks", EventBusName=BUS, EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule="webhooks", EventBusName=BUS, Targets=[{"Id": "webhooks", "Arn": arn}])
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue)
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
    monkeypatch.setenv("WEBHOOK_TARGET_CACHE_SECONDS", "0")
    settings.reset()
    webhooks.reset()
    yield {"queue": queue, "arn": arn, "dlq": dlq}
    settings.reset()
    webhooks.reset()


@pytest.fixture
def recorded(queues: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> RecordingSqs:
    spy = RecordingSqs(boto3.client("sqs"))
    monkeypatch.setattr(aws_clients, "sqs", lambda: spy)
    return spy


def put_event(detail_type: str, tenant: str, key: str) -> None:
    detail = {
        "version": 1,
        "idempotencyKey": key,
        "tenantId": tenant,
        "resourceType": "User",
        "resourceId": "u1",
        "occurredAt": "2026-11-22T07:23:53.235Z",
        "changedAttributes": ["active"],
    }
    entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": BUS}
    out = boto3.client("events").put_events(Entries=[entry])  # type: ignore[list-item]
    assert out["FailedEntryCount"] == 0


def poll(queues: dict[str, str]) -> tuple[int, int]:
    """One receive + invoke, as Lambda's event source does: (messages received, failed)."""
    sqs = boto3.client("sqs")
    got = sqs.receive_message(QueueUrl=queues["queue"], MaxNumberOfMessages=10, AttributeNames=["All"])
    messages = got.get("Messages", [])
    if not messages:
        return 0, 0
    event = {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queues["arn"],
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }
    response = webhooks.lambda_handler(event, FakeContext("WebhooksFunction"))
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for m in messages:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queues["queue"], ReceiptHandle=m["ReceiptHandle"])
        else:
            # Fast-forward: the back-off has passed.
            sqs.change_message_visibility(
                QueueUrl=queues["queue"], ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )
    return len(messages), len(failed)


def target(tenant: str | None, receiver: Receiver) -> None:
    WebhookTargets(boto3.client("secretsmanager"), SECRETS_PREFIX).put(tenant, receiver.url, receiver.secret)


def test_500_three_times_then_delivered_on_the_fourth_attempt_with_the_same_id(
    queues: dict[str, str], recorded: RecordingSqs
) -> None:
    with webhook_receiver(new_secret(), statuses=[500, 500, 500]) as receiver:
        target("acme", receiver)
        put_event("scim.user.deactivated", "acme", "ab" * 32)
        outcomes = [poll(queues) for _ in range(5)]
        deliveries = receiver.wait_for(4)
    assert outcomes == [(1, 1), (1, 1), (1, 1), (1, 0), (0, 0)]
    assert [d.answered for d in deliveries] == [500, 500, 500, 200]
    assert all(d.verified for d in deliveries)  # every attempt is signed afresh and verifies
    assert {d.headers["webhook-id"] for d in deliveries} == {"ab" * 32}
    assert len({d.body for d in deliveries}) == 1  # the same bytes every time
    assert recorded.visibility == [5, 300, 1800]  # the documented schedule's first delays
    assert deliveries[-1].payload["type"] == "scim.user.deactivated"
    assert deliveries[-1].payload["data"]["tenantId"] == "acme"
    assert deliveries[0].path == "/hooks/scim"


def test_a_backed_off_message_is_not_retried_before_its_delay(queues: dict[str, str]) -> None:
    with webhook_receiver(new_secret(), statuses=[503]) as receiver:
        target(None, receiver)  # the stack-wide target
        put_event("scim.user.created", "acme", "cd" * 32)
        sqs = boto3.client("sqs")
        got = sqs.receive_message(QueueUrl=queues["queue"], AttributeNames=["All"])["Messages"]
        record = {"messageId": got[0]["MessageId"], "receiptHandle": got[0]["ReceiptHandle"],
                  "body": got[0]["Body"], "attributes": got[0]["Attributes"]}  # fmt: skip
        assert webhooks.process_batch({"Records": [record]})["batchItemFailures"]
        # Still in the queue, invisible for the schedule's 5 s: nothing to receive now.
        assert sqs.receive_message(QueueUrl=queues["queue"]).get("Messages", []) == []
        assert receiver.wait_for(1)[0].verified


def test_every_attempt_failing_parks_the_event_in_the_dead_letter_queue(
    queues: dict[str, str], recorded: RecordingSqs
) -> None:
    with webhook_receiver(new_secret(), statuses=[500] * 20) as receiver:
        target("acme", receiver)
        put_event("scim.user.deleted", "acme", "ef" * 32)
        outcomes = [poll(queues) for _ in range(RETRY_SCHEDULE.max_attempts + 1)]
        deliveries = receiver.wait_for(RETRY_SCHEDULE.max_attempts)
    assert outcomes == [(1, 1)] * RETRY_SCHEDULE.max_attempts + [(0, 0)]
    assert len(deliveries) == RETRY_SCHEDULE.max_attempts  # no ninth attempt
    assert recorded.visibility == [5, 300, 1800, 7200, 18000, 36000, 36000, 0]
    parked = boto3.client("sqs").receive_message(QueueUrl=queues["dlq"]).get("Messages", [])
    assert len(parked) == 1
    assert json.loads(parked[0]["Body"])["detail"]["idempotencyKey"] == "ef" * 32


def test_no_target_drops_the_event_and_a_tenant_target_wins_over_the_stack(
    queues: dict[str, str], recorded: RecordingSqs
) -> None:
    put_event("scim.user.created", "globex", "01" * 32)
    assert poll(queues) == (1, 0)  # nobody to deliver to: done with, not retried
    with webhook_receiver(new_secret()) as stack, webhook_receiver(new_secret()) as acme:
        target(None, stack)
        target("acme", acme)
        put_event("scim.user.created", "acme", "02" * 32)
        put_event("scim.user.created", "globex", "03" * 32)
        assert poll(queues) == (2, 0)
        assert [d.headers["webhook-id"] for d in acme.wait_for(1)] == ["02" * 32]
        assert [d.headers["webhook-id"] for d in stack.wait_for(1)] == ["03" * 32]
        assert all(d.verified for d in acme.deliveries + stack.deliveries)
    assert recorded.visibility == []


def test_a_refused_address_is_a_failed_attempt_and_nothing_secret_is_logged(
    queues: dict[str, str], recorded: RecordingSqs, monkeypatch: pytest.MonkeyPatch, log_output: Any
) -> None:
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "false")  # as deployed
    settings.reset()
    webhooks.reset()
    secret = new_secret()
    # Stored directly (the management API would refuse it): a name that resolves to loopback.
    store = WebhookTargets(boto3.client("secretsmanager"), SECRETS_PREFIX)
    store.put("acme", "https://localhost/x?token=t0p", secret)
    put_event("scim.user.created", "acme", "04" * 32)
    assert poll(queues) == (1, 1)
    assert recorded.visibility == [5]
    logged = log_output.getvalue()
    assert "webhook attempt failed" in logged
    assert "04" * 32 in logged
    assert secret not in logged
    assert "t0p" not in logged
    assert "changedAttributes" not in logged


def test_a_delivery_costs_no_dynamodb_call_and_one_cached_secret_read(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_TARGET_CACHE_SECONDS", "60")
    settings.reset()
    webhooks.reset()
    calls: list[str] = []
    for client in (aws_clients.dynamodb(), aws_clients.secretsmanager(), aws_clients.sqs()):
        client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    with webhook_receiver(new_secret()) as receiver:
        target("acme", receiver)
        for n in range(5):
            put_event("scim.user.updated", "acme", f"{n:02d}" * 32)
        while poll(queues) != (0, 0):
            pass
        assert len(receiver.wait_for(5)) == 5
    # The tenant's own target, read once and kept warm: five deliveries, one GetSecretValue.
    assert calls == ["GetSecretValue"]
