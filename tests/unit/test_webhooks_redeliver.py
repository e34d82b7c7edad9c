"""Redelivery from the feed: POST /tenants/{t}/webhook/redeliver queues journaled events for the
webhooks function, which delivers them signed with their original webhook-ids, page by page."""

from __future__ import annotations

import boto3
import pytest

from core.events.journal import Journal
from core.webhooks.signature import new_secret
from handlers import aws_clients, settings, webhooks
from tests.conftest import TABLE_NAME
from tests.unit.management_calls import call
from tests.unit.test_event_journal import event
from tests.unit.test_webhooks_delivery import poll, queues, target  # noqa: F401 - the fixture
from tests.webhook_receiver import webhook_receiver


@pytest.fixture
def journaled(queues: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[str]:  # noqa: F811
    assert call("POST", "/tenants", {"tenant_id": "acme"}).status == 201
    assert call("POST", "/tenants", {"tenant_id": "globex"}).status == 201
    journal = Journal(boto3.client("dynamodb"), TABLE_NAME)
    details = [event("acme", n) for n in range(5)]
    journal.append([*details, event("globex", 1)])
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queues["queue"])
    settings.reset()
    webhooks.reset()
    return [d.idempotency_key for d in details]


def test_redelivery_sends_the_feed_again_page_by_page_with_the_original_ids(
    queues: dict[str, str],  # noqa: F811
    journaled: list[str],
) -> None:
    # Nothing is queued until asked (the bus's rule feeds the queue in AWS; no PutEvents here).
    assert boto3.client("sqs").receive_message(QueueUrl=queues["queue"]).get("Messages", []) == []
    with webhook_receiver(new_secret()) as receiver:
        target("acme", receiver)
        first = call("POST", "/tenants/acme/webhook/redeliver", {"limit": 3})
        assert first.status == 202, first.text
        assert first.body["redelivered"] == 3
        assert first.body["ids"] == journaled[:3]
        second = call("POST", "/tenants/acme/webhook/redeliver", {"after": first.body["next_cursor"]})
        assert second.body["ids"] == journaled[3:]  # acme's only: globex's event is not in its feed
        while poll(queues) != (0, 0):
            pass
        deliveries = receiver.wait_for(5)
    # Delivered once each (a batch's attempts run side by side: unordered).
    assert sorted(d.headers["webhook-id"] for d in deliveries) == sorted(journaled)
    assert all(d.verified for d in deliveries)
    assert {d.payload["type"] for d in deliveries} == {"scim.group.member_added"}
    assert sorted(d.payload["data"]["member"]["value"] for d in deliveries) == [f"u{n}" for n in range(5)]


def test_redelivery_refuses_unknown_tenants_bad_cursors_and_bodies(journaled: list[str]) -> None:
    assert call("POST", "/tenants/nobody/webhook/redeliver", {}).status == 404
    bad_cursor = call("POST", "/tenants/acme/webhook/redeliver", {"after": "forged.cursor"})
    assert bad_cursor.status == 400
    assert bad_cursor.content_type == "application/problem+json"
    assert call("POST", "/tenants/acme/webhook/redeliver", {"limit": 0}).status == 400
    assert call("POST", "/tenants/acme/webhook/redeliver", {"limit": 201}).status == 400
    assert call("POST", "/tenants/acme/webhook/redeliver", {"types": "bad type!"}).status == 400
    # Another tenant's cursor does not read acme's feed.
    globex = call("POST", "/tenants/globex/webhook/redeliver", {"limit": 1})
    assert globex.status == 202
    assert (
        call("POST", "/tenants/acme/webhook/redeliver", {"after": globex.body["next_cursor"]}).status == 400
    )


@pytest.mark.parametrize("journaled_events", [20, 400])
def test_a_redelivery_page_costs_the_same_calls_whatever_the_feed_size(
    queues: dict[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    journaled_events: int,
) -> None:
    """One journal Query and one SendMessageBatch per 10 events per page (bench-style counts)."""
    assert call("POST", "/tenants", {"tenant_id": "acme"}).status == 201
    Journal(boto3.client("dynamodb"), TABLE_NAME).append([event("acme", n) for n in range(journaled_events)])
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queues["queue"])
    settings.reset()
    call("GET", "/tenants/acme")  # warm: the tenant check's client exists before counting
    calls: list[str] = []
    for client in (aws_clients.dynamodb(), aws_clients.sqs()):
        client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    answer = call("POST", "/tenants/acme/webhook/redeliver", {"limit": 20})
    assert answer.body["redelivered"] == 20
    assert calls == ["GetItem", "Query", "SendMessageBatch", "SendMessageBatch"]
