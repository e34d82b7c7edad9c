"""Provisioning events (issue 6): real writes through the handlers, moto's DynamoDB stream, the real
events handler, and the PutEvents calls it makes.

Given a write through the Users or Groups handler, when the stream records it left are handed to
`handlers.events.lambda_handler` as Lambda's event source mapping would, then exactly the expected
events are put on the bus, in order, with the actor, the representation and a stable idempotency
key; failures are retried or reported so that Lambda retries them in order.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from botocore.awsrequest import AWSResponse

from core.events import json_schemas, parse_detail
from core.events.publisher import Retry
from handlers import aws_clients
from handlers import events as events_handler
from scimctl import cli
from scimctl.local_events import TableStream, stream_event
from tests.conftest import ROOT, TABLE_NAME, TEMPLATE, ScimClient
from tests.support import FakeContext, etag_of

BUS = "scim-test-provisioning"
API = "https://api.example.com/v1/scim/v2/demo"
TOKEN_ID = "demo.0123456789abcdef"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PASSWORD = "Tr0ub4dor&3-correct-horse"


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def stream(aws: None) -> TableStream:
    boto3.client("events").create_event_bus(Name=BUS)
    return TableStream(boto3.client("dynamodb"), boto3.client("dynamodbstreams"), TABLE_NAME)


@pytest.fixture
def put_calls(stream: TableStream) -> list[list[dict[str, Any]]]:
    """The Entries of every PutEvents call the handler makes (retries included), in order."""
    calls: list[list[dict[str, Any]]] = []
    aws_clients.events().meta.events.register(
        "before-parameter-build.events.PutEvents",
        lambda params, **_: calls.append(copy.deepcopy(params["Entries"])),
    )
    return calls


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    sleeps: list[float] = []
    monkeypatch.setattr(events_handler, "RETRY", Retry(sleep=sleeps.append))
    return sleeps


@pytest.fixture
def scim_w(scim: ScimClient, distinct_requests: None) -> ScimClient:
    return scim


def publish(event: dict[str, Any]) -> dict[str, Any]:
    return events_handler.lambda_handler(event, FakeContext("EventsFunction"))  # type: ignore[no-any-return]


def drain(stream: TableStream) -> dict[str, Any]:
    """The stream records written since the last drain, as one Lambda event."""
    return stream_event(list(stream.read()), stream.arn)


def published(calls: list[list[dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    entries = [entry for call in calls for entry in call]
    return [(e["DetailType"], json.loads(e["Detail"])) for e in entries]


def new_user(scim: ScimClient, user_name: str, **extra: Any) -> dict[str, Any]:
    created = scim("POST", "/Users", {"schemas": [USER], "userName": user_name, "active": True, **extra})
    assert created.status == 201, created.body
    return created.body  # type: ignore[no-any-return]


def patch(scim: ScimClient, path: str, *operations: dict[str, Any]) -> None:
    result = scim("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)})
    assert result.status in (200, 204), result.body


# -- every detail-type from real writes -------------------------------------------------------
def test_user_lifecycle_events_in_order_with_actor_and_representation(
    scim_w: ScimClient, stream: TableStream, put_calls: list[list[dict[str, Any]]]
) -> None:
    user = new_user(scim_w, "bjensen@example.com", password=PASSWORD, name={"givenName": "Barbara"})
    uid = user["id"]
    patch(scim_w, f"/Users/{uid}", {"op": "replace", "value": {"active": False}})  # Okta
    patch(scim_w, f"/Users/{uid}", {"op": "Replace", "path": "active", "value": "True"})  # Entra
    patch(scim_w, f"/Users/{uid}", {"op": "replace", "path": "displayName", "value": "Babs"})
    assert scim_w("DELETE", f"/Users/{uid}").status == 204

    response = publish(drain(stream))

    assert response == {"batchItemFailures": []}
    events = published(put_calls)
    assert [t for t, _ in events] == [
        "scim.user.created",
        "scim.user.deactivated",
        "scim.user.reactivated",
        "scim.user.updated",
        "scim.user.deleted",
    ]
    created, deactivated, reactivated, updated, deleted = (d for _, d in events)
    assert {d["resourceId"] for _, d in events} == {uid}
    assert {(d["tenantId"], d["tokenId"], d["resourceType"], d["version"]) for _, d in events} == {
        ("demo", TOKEN_ID, "User", 1)
    }
    # Each event names the request that caused it (request-0001 created the user, and so on).
    assert [d["requestId"] for _, d in events] == [f"request-{n:04d}" for n in range(1, 6)]
    assert created["changedAttributes"] == ["active", "name", "userName"]
    assert created["resource"]["meta"]["location"] == f"{API}/Users/{uid}"
    assert created["resource"]["meta"]["version"] == etag_of(1)
    assert (deactivated["changedAttributes"], deactivated["resource"]["active"]) == (["active"], False)
    assert (reactivated["changedAttributes"], reactivated["resource"]["active"]) == (["active"], True)
    assert updated["changedAttributes"] == ["displayName"]
    assert deleted["resource"]["displayName"] == "Babs"  # the final representation
    assert deleted["resource"]["meta"]["version"] == etag_of(4)
    entry = put_calls[0][0]
    assert (entry["Source"], entry["EventBusName"], entry["Resources"]) == ("scim.scim-test", BUS, [])


def test_password_never_reaches_an_event(
    scim_w: ScimClient, stream: TableStream, put_calls: list[list[dict[str, Any]]]
) -> None:
    user = new_user(scim_w, "secretive@example.com", password=PASSWORD)
    patch(scim_w, f"/Users/{user['id']}", {"op": "replace", "path": "password", "value": PASSWORD + "!"})
    scim_w("DELETE", f"/Users/{user['id']}")

    publish(drain(stream))

    text = json.dumps(put_calls)
    assert [t for t, _ in published(put_calls)] == ["scim.user.created", "scim.user.deleted"]
    for secret in (PASSWORD, "password", "scrypt", '"secret"'):
        assert secret not in text


def test_group_lifecycle_and_membership_events(
    scim_w: ScimClient, stream: TableStream, put_calls: list[list[dict[str, Any]]]
) -> None:
    alice = new_user(scim_w, "alice@example.com")["id"]
    bob = new_user(scim_w, "bob@example.com")["id"]
    drain(stream)  # only the group's events below
    body = {"schemas": [GROUP], "displayName": "Eng", "members": [{"value": alice}]}
    group = scim_w("POST", "/Groups", body)
    gid = group.body["id"]
    patch(scim_w, f"/Groups/{gid}", {"op": "add", "path": "members", "value": [{"value": bob}]})
    patch(scim_w, f"/Groups/{gid}", {"op": "replace", "path": "displayName", "value": "Engineering"})
    patch(scim_w, f"/Groups/{gid}", {"op": "remove", "path": f'members[value eq "{alice}"]'})
    assert scim_w("DELETE", f"/Groups/{gid}").status == 204

    assert publish(drain(stream)) == {"batchItemFailures": []}

    events = published(put_calls)
    assert [t for t, _ in events] == [
        "scim.group.created",
        "scim.group.member_added",
        "scim.group.member_added",
        "scim.group.updated",  # the rename; refreshing member items' display name is no event
        "scim.group.member_removed",
        "scim.group.deleted",  # bob's membership ends with the group: no member_removed for it
    ]
    _, added_alice, added_bob, renamed, removed, deleted = (d for _, d in events)
    assert added_alice["member"] == {"value": alice, "type": "User", "$ref": f"{API}/Users/{alice}"}
    assert added_alice["group"] == {"value": gid, "display": "Eng", "$ref": f"{API}/Groups/{gid}"}
    assert added_bob["member"]["value"] == bob
    assert renamed["changedAttributes"] == ["displayName"]
    assert renamed["resource"]["displayName"] == "Engineering"
    assert (removed["member"]["value"], removed["changedAttributes"]) == (alice, ["members"])
    assert removed["requestId"] == "request-0006"
    assert deleted["resource"]["displayName"] == "Engineering"
    assert "members" not in deleted["resource"]


def test_deleting_a_member_user_is_one_user_deleted_event(
    scim_w: ScimClient, stream: TableStream, put_calls: list[list[dict[str, Any]]]
) -> None:
    uid = new_user(scim_w, "leaver@example.com")["id"]
    scim_w("POST", "/Groups", {"schemas": [GROUP], "displayName": "Staff", "members": [{"value": uid}]})
    drain(stream)

    scim_w("DELETE", f"/Users/{uid}")
    publish(drain(stream))

    # The membership item's REMOVE and the group's version bump produce nothing.
    assert [t for t, _ in published(put_calls)] == ["scim.user.deleted"]


def test_failed_requests_and_audit_records_produce_no_events(
    scim_w: ScimClient, stream: TableStream, put_calls: list[list[dict[str, Any]]]
) -> None:
    new_user(scim_w, "dup@example.com")
    drain(stream)

    assert scim_w("POST", "/Users", {"schemas": [USER], "userName": "DUP@example.com"}).status == 409
    assert scim_w("PATCH", "/Users/missing", {"schemas": [PATCH_OP], "Operations": []}).status in (400, 404)
    event = drain(stream)

    assert event["Records"], "the audit records of the failures are in the stream"
    assert publish(event) == {"batchItemFailures": []}
    assert put_calls == []


# -- nothing lost ------------------------------------------------------------------------------
def partial_failure(failures: Callable[[int], set[int]]) -> Callable[..., Any]:
    """A before-call hook answering PutEvents itself: entry i of call n fails when i in failures(n)."""
    calls = itertools.count()

    def hook(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        failing = failures(next(calls))
        if not failing:
            return None  # to moto
        entries = json.loads(params["body"])["Entries"]
        results = [
            {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
            if i in failing
            else {"EventId": f"event-{i}"}
            for i in range(len(entries))
        ]
        body = {"FailedEntryCount": len(failing), "Entries": results}
        return AWSResponse("https://events.us-east-1.amazonaws.com/", 200, {}, None), body

    return hook


def test_put_events_partial_failure_retries_only_the_rejected_entry(
    scim_w: ScimClient,
    stream: TableStream,
    put_calls: list[list[dict[str, Any]]],
    no_backoff: list[float],
) -> None:
    new_user(scim_w, "one@example.com")
    new_user(scim_w, "two@example.com")
    hook = partial_failure(lambda n: {1} if n == 0 else set())
    aws_clients.events().meta.events.register_first("before-call.events.PutEvents", hook)

    response = publish(drain(stream))

    assert response == {"batchItemFailures": []}
    first, retry = put_calls
    assert [json.loads(e["Detail"])["resource"]["userName"] for e in first] == [
        "one@example.com",
        "two@example.com",
    ]
    assert retry == [first[1]]  # only the rejected entry, identical (same idempotency key)
    assert len(no_backoff) == 1


def test_entry_rejected_on_every_attempt_fails_its_record_and_every_later_one(
    scim_w: ScimClient,
    stream: TableStream,
    put_calls: list[list[dict[str, Any]]],
    no_backoff: list[float],
) -> None:
    for name in ("a", "b", "c"):
        new_user(scim_w, f"{name}@example.com")
    event = drain(stream)
    aws_clients.events().meta.events.register_first(
        "before-call.events.PutEvents", partial_failure(lambda n: {1} if n == 0 else {0})
    )

    response = publish(event)

    sequence = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    users = [i for i, r in enumerate(event["Records"]) if _is_user(r)]
    user_b = users[1]  # a, b, c were created in that order
    # b's record and everything after it (c's included, although c's entry was accepted): Lambda
    # retries from b, so c is never published before b.
    assert response["batchItemFailures"] == [{"itemIdentifier": s} for s in sequence[user_b:]]
    assert len(put_calls) == Retry().attempts
    assert len(no_backoff) == Retry().attempts - 1


def _is_user(record: dict[str, Any]) -> bool:
    return record["dynamodb"].get("NewImage", {}).get("kind", {}).get("S") == "USER"


def test_poison_record_fails_with_every_later_record_and_earlier_ones_are_published(
    scim_w: ScimClient, stream: TableStream, put_calls: list[list[dict[str, Any]]]
) -> None:
    new_user(scim_w, "first@example.com")
    new_user(scim_w, "last@example.com")
    event = drain(stream)
    records = event["Records"]
    users = [i for i, r in enumerate(records) if _is_user(r)]
    poison = copy.deepcopy(records[users[0]])
    poison["dynamodb"]["NewImage"]["doc"] = {"S": "{not json"}
    poison["dynamodb"]["SequenceNumber"] = "1" + records[users[0]]["dynamodb"]["SequenceNumber"]
    batch = [*records[: users[0] + 1], poison, *records[users[0] + 1 :]]

    response = publish({"Records": batch})

    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [r["dynamodb"]["SequenceNumber"] for r in batch[users[0] + 1 :]]
    assert [d["resource"]["userName"] for _, d in published(put_calls)] == ["first@example.com"]


def test_a_batch_of_one_poison_record_is_a_partial_response_not_an_error(stream: TableStream) -> None:
    record = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"PK": {"S": "T#demo#USER"}, "SK": {"S": "x"}},
            "NewImage": {"PK": {"S": "T#demo#USER"}, "SK": {"S": "x"}, "kind": {"S": "USER"}},
            "SequenceNumber": "42",
        },
    }
    assert publish({"Records": [record]}) == {"batchItemFailures": [{"itemIdentifier": "42"}]}


def test_replayed_batch_gives_the_same_idempotency_keys(
    scim_w: ScimClient, stream: TableStream, put_calls: list[list[dict[str, Any]]]
) -> None:
    uid = new_user(scim_w, "replay@example.com")["id"]
    patch(scim_w, f"/Users/{uid}", {"op": "replace", "path": "active", "value": False})
    event = drain(stream)

    publish(event)
    first = [d["idempotencyKey"] for _, d in published(put_calls)]
    put_calls.clear()
    publish(copy.deepcopy(event))  # Lambda retrying the batch, or an operator replaying it
    second = [d["idempotencyKey"] for _, d in published(put_calls)]

    assert first == second
    assert len(set(first)) == len(first) == 2


def test_the_template_wires_the_stream_the_dead_letter_queue_and_its_alarm() -> None:
    resources = TEMPLATE.document["Resources"]
    function = resources["EventsFunction"]["Properties"]
    source = function["Events"]["TableStream"]
    assert source["Type"] == "DynamoDB"
    props = source["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["ScimTable", "StreamArn"]}
    assert props["StartingPosition"] == "LATEST"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 < props["MaximumRetryAttempts"] <= 10
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]
    }
    queue = resources["EventsDeadLetterQueue"]["Properties"]
    assert (queue["MessageRetentionPeriod"], queue["SqsManagedSseEnabled"]) == (1209600, True)
    alarm = resources["EventsDeadLetterAlarm"]["Properties"]
    assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible",
        0,
        "GreaterThanThreshold",
    )
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}
    statements = {s["Sid"]: s for s in function["Policies"][0]["Statement"]}
    assert statements["PutProvisioningEvents"]["Action"] == "events:PutEvents"
    assert statements["PutProvisioningEvents"]["Resource"] == {"Fn::GetAtt": ["ProvisioningEventBus", "Arn"]}
    assert statements["SendFailedBatchesToDeadLetterQueue"]["Resource"] == {
        "Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]
    }
    assert "EventsFunction" in (ROOT / "src/Makefile").read_text()


# -- schemas -----------------------------------------------------------------------------------
def committed_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((ROOT / "docs/events").glob("*.json")):
        yield path.stem, json.loads(path.read_text())


def test_committed_json_schemas_are_the_generated_ones() -> None:
    # Regenerate with `make event-schemas` after changing core/events/models.py.
    assert dict(committed_schemas()) == json_schemas()


def test_every_published_detail_validates_against_its_schema(
    scim_w: ScimClient, stream: TableStream, put_calls: list[list[dict[str, Any]]]
) -> None:
    uid = new_user(scim_w, "schema@example.com")["id"]
    group = scim_w("POST", "/Groups", {"schemas": [GROUP], "displayName": "S", "members": [{"value": uid}]})
    patch(scim_w, f"/Groups/{group.body['id']}", {"op": "remove", "path": "members"})
    patch(scim_w, f"/Users/{uid}", {"op": "replace", "path": "active", "value": False})
    publish(drain(stream))
    schemas = json_schemas()

    for detail_type, detail in published(put_calls):
        jsonschema.validate(detail, schemas[detail_type])
        assert parse_detail(detail_type, detail).idempotency_key == detail["idempotencyKey"]


def test_scimctl_serve_takes_an_events_file() -> None:
    args = cli.build_parser().parse_args(["serve", "--events-file", "events.jsonl"])
    assert args.events_file == Path("events.jsonl")
