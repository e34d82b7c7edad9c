"""The stream → event rules as a pure function over hand-built records (core.events.rules).

Given a stream record of each item kind the table holds, then only user, group, tombstone and
membership changes become events, and the rest (guards, counters, bookmarks, tenants, tokens,
audit records, cascaded membership removals) produce nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from core.events import Destination, deliver, events_for_record
from core.events.publisher import EarlierRecordFailed, PublishFailed, Retry
from core.resource.diff import changed_attributes
from core.store.keys import Kind
from core.store.resources_table import StoredResource, resource_item

API = "https://api.example.com/v1/scim/v2"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def user(**doc: Any) -> dict[str, Any]:
    res = StoredResource(
        tenant_id="acme",
        kind=Kind.USER,
        id="u1",
        version=1,
        created="2026-01-01T00:00:00.000Z",
        last_modified="2026-01-02T00:00:00.000Z",
        name="u@example.com",
        document={"userName": "u@example.com", **doc},
        secret="scrypt$do-not-leak",
        request_id="r1",
        token_id="acme.0123456789abcdef",
    )
    return resource_item(res)


def record(name: str, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    image = new or old or {}
    change: dict[str, Any] = {
        "Keys": {"PK": image.get("PK", {"S": "T#acme"}), "SK": image.get("SK", {"S": "x"})},
        "SequenceNumber": "100",
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = new
    if old is not None:
        change["OldImage"] = old
    return {"eventID": "e1", "eventName": name, "eventSource": "aws:dynamodb", "dynamodb": change}


def item(**attributes: str) -> dict[str, Any]:
    return {k: {"S": v} for k, v in attributes.items()}


INTERNAL = {
    "userName guard": item(PK="T#acme#USER#NAME#u", SK="UNIQUE", kind="guard", owner="u1"),
    "counter": {**item(PK="T#acme", SK="COUNT#USER"), "n": {"N": "3"}},
    "nested counter": {**item(PK="T#acme", SK="COUNT#NESTED", kind="counter"), "n": {"N": "1"}},
    "bookmark": item(PK="T#acme#PAGE", SK="abc", key="{}"),
    "tenant": item(PK="T#acme", SK="TENANT", GSI1PK="TENANTS", GSI1SK="acme", status="active"),
    "token metadata": item(PK="T#acme", SK="TOKEN#acme.0123456789abcdef", name="okta"),
    "audit record": item(PK="T#acme#AUDIT", SK="2026#r#0000", kind="audit", method="POST"),
}


@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY", "REMOVE"])
@pytest.mark.parametrize("label", sorted(INTERNAL))
def test_internal_items_produce_no_events(label: str, event_name: str) -> None:
    image = INTERNAL[label]
    new = None if event_name == "REMOVE" else image
    old = None if event_name == "INSERT" else image
    assert events_for_record(record(event_name, new, old), API) == []


def membership() -> dict[str, Any]:
    return item(
        PK="T#acme#GROUP#g1#M",
        SK="u1",
        kind="membership",
        tenantId="acme",
        groupId="g1",
        groupDisplay="Eng",
        memberId="u1",
        memberType="User",
        requestId="r2",
        tokenId="acme.0123456789abcdef",
        at="2026-01-03T00:00:00.000Z",
    )


def test_membership_removed_by_a_cascade_or_rewritten_by_a_rename_is_no_event() -> None:
    renamed = {**membership(), "groupDisplay": {"S": "Engineering"}}
    assert events_for_record(record("REMOVE", old=membership()), API) == []
    assert events_for_record(record("MODIFY", renamed, membership()), API) == []


def test_membership_insert_is_member_added_with_references() -> None:
    (event,) = events_for_record(record("INSERT", membership()), API)
    assert event.detail_type == "scim.group.member_added"
    detail = json.loads(event.model_dump_json(by_alias=True, exclude_none=True))
    assert detail["member"] == {"value": "u1", "type": "User", "$ref": f"{API}/acme/Users/u1"}
    assert detail["group"]["$ref"] == f"{API}/acme/Groups/g1"
    assert (detail["requestId"], detail["occurredAt"]) == ("r2", "2026-01-03T00:00:00.000Z")


def test_user_and_group_removals_are_no_events_their_tombstones_are() -> None:
    assert events_for_record(record("REMOVE", old=user(active=True)), API) == []
    tombstone = {
        **user(active=False),
        "PK": {"S": "T#acme#TOMB"},
        "SK": {"S": "USER#u1"},
        "kind": {"S": "tombstone"},
        "resourceKind": {"S": "USER"},
        "requestId": {"S": "r9"},
        "tokenId": {"S": "acme.fedcba9876543210"},
        "deletedAt": {"S": "2026-02-01T00:00:00.000Z"},
    }
    for name in ("INSERT", "MODIFY"):  # MODIFY: deleted twice under one id within 7 days
        (event,) = events_for_record(record(name, tombstone, tombstone if name == "MODIFY" else None), API)
        assert event.detail_type == "scim.user.deleted"
        assert (event.request_id, event.token_id, event.occurred_at) == (
            "r9",
            "acme.fedcba9876543210",
            "2026-02-01T00:00:00.000Z",
        )
    assert events_for_record(record("REMOVE", old=tombstone), API) == []  # its TTL expiring


@pytest.mark.parametrize(
    ("before", "after", "detail_type"),
    [
        ({"active": True}, {"active": False}, "scim.user.deactivated"),
        ({"active": False}, {"active": True}, "scim.user.reactivated"),
        ({}, {"active": False}, "scim.user.deactivated"),  # no `active` counts as active
        ({"active": True}, {"active": True, "title": "CTO"}, "scim.user.updated"),
        ({"active": False}, {"active": False, "title": "CTO"}, "scim.user.updated"),
    ],
)
def test_user_modifications(before: dict[str, Any], after: dict[str, Any], detail_type: str) -> None:
    (event,) = events_for_record(record("MODIFY", user(**after), user(**before)), API)
    assert event.detail_type == detail_type


def test_a_modify_that_leaves_the_document_alone_is_no_event() -> None:
    bumped = {**user(active=True), "version": {"N": "2"}, "secret": {"S": "scrypt$new"}}
    assert events_for_record(record("MODIFY", bumped, user(active=True)), API) == []


def test_secrets_never_reach_the_event_even_if_a_document_held_one() -> None:
    (event,) = events_for_record(record("INSERT", user(password="hunter2", active=True)), API)
    text = event.model_dump_json(by_alias=True)
    assert "hunter2" not in text
    assert "scrypt" not in text
    assert "password" not in text


def test_malformed_records_raise() -> None:
    broken = {**user(), "doc": {"S": "{"}}
    with pytest.raises(ValueError, match="Expecting"):
        events_for_record(record("INSERT", broken), API)
    with pytest.raises(ValueError, match="eventName"):
        events_for_record({"eventName": "UPSERT", "dynamodb": {}}, API)


def test_changed_attributes_qualify_extension_attributes() -> None:
    before = {"schemas": ["a"], "title": "x", ENTERPRISE: {"employeeNumber": "1", "department": "R&D"}}
    after = {"schemas": ["a", "b"], "title": "x", ENTERPRISE: {"employeeNumber": "2", "department": "R&D"}}
    assert changed_attributes(before, after) == [f"{ENTERPRISE}:employeeNumber"]
    assert changed_attributes(None, {"userName": "u", ENTERPRISE: {"costCenter": "1"}}) == [
        f"{ENTERPRISE}:costCenter",
        "userName",
    ]
    assert changed_attributes({"name": {"givenName": "A"}}, {"name": {"givenName": "B"}}) == ["name"]


# -- publishing a batch (core.events.publisher) ------------------------------------------------
class FlakySink:
    """Fails its first `failures` calls outright (as a throttled PutEvents would), then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[int] = []

    def put(self, entries: Sequence[Mapping[str, Any]]) -> list[str | None]:
        self.calls.append(len(entries))
        if len(self.calls) <= self.failures:
            raise ConnectionError("throttled")
        return [None] * len(entries)


def user_records(n: int) -> list[dict[str, Any]]:
    records = []
    for i in range(n):
        item = {**user(active=True), "SK": {"S": f"u{i}"}, "id": {"S": f"u{i}"}}
        built = record("INSERT", item)
        built["dynamodb"]["SequenceNumber"] = str(i + 1)
        records.append(built)
    return records


DESTINATION = Destination("bus", "scim.test", API)


def test_entries_are_put_ten_at_a_time_in_record_order() -> None:
    sink = FlakySink(0)
    delivery = deliver(user_records(12), sink, DESTINATION, Retry(sleep=lambda _: None))
    assert sink.calls == [10, 2]
    assert (delivery.published, delivery.failed_at, delivery.error_for(11)) == (12, None, None)


def test_a_failed_call_is_retried_with_backoff_then_the_record_fails() -> None:
    sleeps: list[float] = []
    recovered = deliver(user_records(2), FlakySink(1), DESTINATION, Retry(sleep=sleeps.append))
    assert (recovered.failed_at, recovered.retried, len(sleeps)) == (None, 2, 1)

    given_up = deliver(user_records(2), FlakySink(99), DESTINATION, Retry(attempts=3, sleep=sleeps.append))
    assert given_up.failed_at == 0
    assert isinstance(given_up.error_for(0), PublishFailed)
    assert isinstance(given_up.error_for(1), EarlierRecordFailed)
    assert all(0 <= s <= 0.2 * 2**i for i, s in enumerate(sleeps[1:]))


class RecordingSink:
    """Accepts everything and keeps each call's entries."""

    def __init__(self) -> None:
        self.calls: list[list[Mapping[str, Any]]] = []

    def put(self, entries: Sequence[Mapping[str, Any]]) -> list[str | None]:
        self.calls.append(list(entries))
        return [None] * len(entries)


def test_a_batch_that_cannot_be_journaled_is_not_published_and_fails_from_its_first_event() -> None:
    """The feed first: nothing reaches the bus that the feed lacks (core.events.publisher)."""
    sink = RecordingSink()
    journaled: list[int] = []

    def failing_journal(events: Any) -> None:
        journaled.append(len(events))
        raise RuntimeError("DynamoDB is down")

    delivery = deliver(
        user_records(3), sink, DESTINATION, Retry(sleep=lambda _: None), journal=failing_journal
    )

    assert journaled == [3]
    assert sink.calls == []
    assert (delivery.published, delivery.failed_at) == (0, 0)
    assert type(delivery.error_for(0)).__name__ == "JournalFailed"
    assert type(delivery.error_for(2)).__name__ == "EarlierRecordFailed"


def test_a_journaled_batch_is_published_with_the_same_events() -> None:
    sink = RecordingSink()
    keys: list[str] = []

    delivery = deliver(
        user_records(2),
        sink,
        DESTINATION,
        journal=lambda events: keys.extend(e.idempotency_key for e in events),
    )

    assert delivery.published == 2
    published = [json.loads(entry["Detail"])["idempotencyKey"] for call in sink.calls for entry in call]
    assert published == keys
