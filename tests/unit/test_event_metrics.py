"""The provisioning counters of the events function: entries accepted per detail-type
(core.events.publisher.Delivery.by_type), named by handlers.events.event_metric_name and added
as one metric per type once per batch.

Stream records are hand-built the way tests/unit/test_event_rules.py builds them (a stored
resource's item as the image); the sinks are in-memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest

from core.events import Delivery, Destination, deliver
from core.events.models import EVENT_TYPES
from core.events.publisher import EarlierRecordFailed, PublishFailed, Retry
from core.store.keys import Kind
from core.store.resources_table import StoredResource, resource_item
from handlers import events as events_handler
from handlers.observability import metrics
from tests.support import FakeContext

API = "https://api.example.com/v1/scim/v2"
DESTINATION = Destination("bus", "scim.test", API)
NO_SLEEP = Retry(sleep=lambda _: None)
CREATED, DEACTIVATED = "scim.user.created", "scim.user.deactivated"


@pytest.fixture(autouse=True)
def clean_metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(events_handler, "RETRY", NO_SLEEP)
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


# -- stream records -----------------------------------------------------------------------------
def user_item(user_id: str, *, active: bool) -> dict[str, Any]:
    res = StoredResource(
        tenant_id="acme",
        kind=Kind.USER,
        id=user_id,
        version=1,
        created="2026-01-01T00:00:00.000Z",
        last_modified="2026-01-02T00:00:00.000Z",
        name=f"{user_id}@example.com",
        document={"userName": f"{user_id}@example.com", "active": active},
        request_id="r1",
        token_id="acme.0123456789abcdef",
    )
    return resource_item(res)


def stream_record(
    name: str, sequence: int, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None
) -> dict[str, Any]:
    image = new or old or {}
    change: dict[str, Any] = {
        "Keys": {"PK": image["PK"], "SK": image["SK"]},
        "SequenceNumber": str(sequence),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = new
    if old is not None:
        change["OldImage"] = old
    return {"eventID": f"e{sequence}", "eventName": name, "eventSource": "aws:dynamodb", "dynamodb": change}


def created(user_id: str, sequence: int) -> dict[str, Any]:
    return stream_record("INSERT", sequence, new=user_item(user_id, active=True))


def deactivated(user_id: str, sequence: int) -> dict[str, Any]:
    item = user_item(user_id, active=False)
    item["version"] = {"N": "2"}
    return stream_record("MODIFY", sequence, new=item, old=user_item(user_id, active=True))


def two_creations_and_a_deactivation() -> list[dict[str, Any]]:
    return [created("u1", 1), created("u2", 2), deactivated("u3", 3)]


# -- sinks --------------------------------------------------------------------------------------
class RecordingSink:
    """Accepts every entry except those `rejects` says no to (on every attempt)."""

    def __init__(self, rejects: Callable[[Mapping[str, Any]], bool] = lambda _: False) -> None:
        self.rejects = rejects
        self.calls: list[list[str]] = []  # the DetailType of each entry, per call

    def put(self, entries: Sequence[Mapping[str, Any]]) -> list[str | None]:
        self.calls.append([entry["DetailType"] for entry in entries])
        return ["InternalFailure" if self.rejects(entry) else None for entry in entries]


def resource_id(entry: Mapping[str, Any]) -> str:
    return str(json.loads(entry["Detail"])["resourceId"])


# -- Delivery.by_type ---------------------------------------------------------------------------
def test_by_type_counts_the_accepted_entries_per_detail_type() -> None:
    sink = RecordingSink()

    delivery = deliver(two_creations_and_a_deactivation(), sink, DESTINATION, NO_SLEEP)

    assert delivery.by_type == {CREATED: 2, DEACTIVATED: 1}
    assert delivery.published == sum(delivery.by_type.values()) == 3
    assert sink.calls == [[CREATED, CREATED, DEACTIVATED]]


def test_a_retried_entry_that_is_accepted_later_is_counted_once() -> None:
    attempts: list[str] = []

    def rejects_once(entry: Mapping[str, Any]) -> bool:
        attempts.append(resource_id(entry))
        return attempts.count("u2") == 1 and resource_id(entry) == "u2"

    delivery = deliver(two_creations_and_a_deactivation(), RecordingSink(rejects_once), DESTINATION, NO_SLEEP)

    assert (delivery.failed_at, delivery.retried) == (None, 1)
    assert delivery.by_type == {CREATED: 2, DEACTIVATED: 1}


def test_a_permanent_rejection_counts_only_the_entries_before_the_failed_record() -> None:
    records = [*two_creations_and_a_deactivation(), created("u4", 4)]
    sink = RecordingSink(lambda entry: resource_id(entry) == "u3")  # the deactivation

    delivery = deliver(records, sink, DESTINATION, NO_SLEEP)

    assert delivery.failed_at == 2
    assert isinstance(delivery.error_for(2), PublishFailed)
    assert isinstance(delivery.error_for(3), EarlierRecordFailed)
    # u4's entry was accepted by the first call, but its record fails (it is put again on the
    # retry), so it is not counted: the counters count each change once.
    assert sink.calls[0] == [CREATED, CREATED, DEACTIVATED, CREATED]
    assert delivery.by_type == {CREATED: 2}
    assert delivery.published == 2


def test_a_rejection_in_a_later_call_keeps_the_counts_of_the_earlier_calls() -> None:
    records = [created(f"u{i}", i) for i in range(11)] + [deactivated("u99", 99)]
    sink = RecordingSink(lambda entry: resource_id(entry) == "u10")  # the 11th entry, second call

    delivery = deliver(records, sink, DESTINATION, NO_SLEEP)

    assert [len(call) for call in sink.calls][:2] == [10, 2]
    assert delivery.failed_at == 10
    assert delivery.by_type == {CREATED: 10}


def test_an_unpublishable_record_counts_the_entries_before_it() -> None:
    broken = created("u2", 2)
    broken["dynamodb"]["NewImage"]["doc"] = {"S": "{not json"}

    delivery = deliver([created("u1", 1), broken, created("u3", 3)], RecordingSink(), DESTINATION, NO_SLEEP)

    assert delivery.failed_at == 1
    assert delivery.by_type == {CREATED: 1}


def test_nothing_published_is_no_counts() -> None:
    rejected = deliver([created("u1", 1)], RecordingSink(lambda _: True), DESTINATION, NO_SLEEP)
    empty = deliver([], RecordingSink(), DESTINATION, NO_SLEEP)

    assert (rejected.failed_at, dict(rejected.by_type)) == (0, {})
    assert dict(empty.by_type) == {}


# -- metric names -------------------------------------------------------------------------------
def test_the_documented_examples() -> None:
    assert events_handler.event_metric_name("scim.user.created") == "UserCreated"
    assert events_handler.event_metric_name("scim.group.member_added") == "GroupMemberAdded"


@pytest.mark.parametrize("detail_type", [model.detail_type for model in EVENT_TYPES])
def test_every_detail_type_has_a_camel_case_metric_name(detail_type: str) -> None:
    name = events_handler.event_metric_name(detail_type)

    assert re.fullmatch(r"(?:[A-Z][a-z]+)+", name), name
    # Every word of the detail type, in order: 'scim.user.member_added' → User, Member, Added.
    words = re.split(r"[._]", detail_type.removeprefix("scim."))
    assert name == "".join(word.title() for word in words)


def test_metric_names_are_distinct_per_detail_type() -> None:
    names = {events_handler.event_metric_name(model.detail_type) for model in EVENT_TYPES}

    assert len(names) == len(EVENT_TYPES)


# -- the metrics ----------------------------------------------------------------------------------
def metric_values() -> dict[str, list[float]]:
    return {name: list(metric["Value"]) for name, metric in metrics.metric_set.items()}


def test_report_adds_one_metric_per_detail_type() -> None:
    delivery = Delivery(records=3, published=3, retried=0, by_type={CREATED: 2, DEACTIVATED: 1})

    events_handler._report(delivery)

    assert metric_values() == {"EventsPublished": [3.0], "UserCreated": [2.0], "UserDeactivated": [1.0]}
    assert metrics.metric_set["UserCreated"]["Unit"] == "Count"


def test_report_of_a_partial_failure_counts_what_was_accepted() -> None:
    delivery = Delivery(
        records=4, published=2, retried=3, failed_at=2, error=PublishFailed("x"), by_type={CREATED: 2}
    )

    events_handler._report(delivery)

    assert metric_values() == {
        "EventsPublished": [2.0],
        "UserCreated": [2.0],
        "EventEntriesRetried": [3.0],
        "EventRecordsFailed": [2.0],
    }


@pytest.mark.usefixtures("aws")  # the batch is journaled in the table before it is published
def test_process_batch_counts_the_batch() -> None:
    sink = RecordingSink()
    records = two_creations_and_a_deactivation()

    response = events_handler.process_batch({"Records": records}, sink)

    assert response == {"batchItemFailures": []}
    assert metric_values()["UserCreated"] == [2.0]
    assert metric_values()["UserDeactivated"] == [1.0]
    assert "UserReactivated" not in metric_values()


@pytest.mark.usefixtures("aws")  # the batch is journaled in the table before it is published
def test_the_events_function_prints_the_counters_as_emf(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sink = RecordingSink(lambda entry: resource_id(entry) == "u3")
    monkeypatch.setattr(events_handler, "EventBridgeSink", lambda: sink)
    records = [*two_creations_and_a_deactivation(), created("u4", 4)]
    capsys.readouterr()
    context: Any = FakeContext("EventsFunction")

    response = events_handler.lambda_handler({"Records": records}, context)

    assert response["batchItemFailures"] == [{"itemIdentifier": "3"}, {"itemIdentifier": "4"}]
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (document,) = documents
    assert document["UserCreated"] == [2.0]
    assert "UserDeactivated" not in document
    names = {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"EventsPublished", "UserCreated", "EventRecordsFailed"} <= names
    assert metrics.metric_set == {}
