"""The benchmark's counts on a small tenant (issue 7): deterministic, no timings.

The harness drives the real handlers through botocore against moto patched by
`scimctl.moto_dynamodb` (the one DynamoDB engine of the project, at every benchmark size), so
these counts are the service's own: a `userName eq` lookup is one DynamoDB call, a startIndex walk
reads at most 1.1 items per user, and capacity units and stream changes are what DynamoDB's rules
give for the items each request read and wrote (`bench.dynamodb_usage`).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from bench.capacity import item_size, read_units, write_units
from bench.operations import OPERATIONS, walk_pages
from bench.tenant import bench_tenant, moto_table
from bench.workload import run_size

USERS = 120


@pytest.fixture(scope="module")
def moto_rows() -> list[dict[str, Any]]:
    return run_size(USERS, reps=1)


def row(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for r in rows if r["operation"] == name)


@pytest.mark.parametrize("name", ["userName eq", "userName eq, no match", "displayName eq, no members"])
def test_lookups_are_one_query(moto_rows: list[dict[str, Any]], name: str) -> None:
    found = row(moto_rows, name)
    assert found["calls"] == ["Query"]
    assert found["audit_calls"] == 0


def test_writes_are_one_write_request(moto_rows: list[dict[str, Any]]) -> None:
    assert row(moto_rows, "create user")["calls"] == ["TransactWriteItems"]
    for name, write in (("PUT user", "PutItem"), ("PATCH replace", "PutItem"),
                        ("PATCH active false", "TransactWriteItems")):  # fmt: skip
        # A deactivation also moves the user to the inactive counter (health), in the same write.
        writes = [
            c for c in row(moto_rows, name)["calls"] if c in {"PutItem", "UpdateItem", "TransactWriteItems"}
        ]
        assert writes == [write], name
    for name in ("group member add", "group member remove"):
        assert row(moto_rows, name)["calls"].count("TransactWriteItems") == 1, name


# Round trips per operation (issue 7, item 5): one read before a write, the write, and for a user
# write the `groups` the response carries (the reverse index); the audit PutItem is counted apart.
SINGLE_RESOURCE_CALLS = {
    "create user": ["TransactWriteItems"],
    "get user": ["BatchGetItem", "Query"],  # the user with the nested-group counter; its groups
    "PUT user": ["BatchGetItem", "PutItem", "Query"],
    "PATCH replace": ["BatchGetItem", "PutItem", "Query"],
    "PATCH active false": ["BatchGetItem", "TransactWriteItems", "Query"],  # user + inactive counter
    "group member add": ["BatchGetItem", "TransactWriteItems"],  # the group with the member check
    "group member remove": ["BatchGetItem", "TransactWriteItems"],
}


@pytest.mark.parametrize(("name", "calls"), SINGLE_RESOURCE_CALLS.items())
def test_single_resource_operations_make_these_calls(
    moto_rows: list[dict[str, Any]], name: str, calls: list[str]
) -> None:
    found = row(moto_rows, name)
    assert found["calls"] == calls
    assert found["audit_calls"] == (0 if name == "get user" else 1)


def test_start_index_walk_reads_about_one_item_per_user(moto_rows: list[dict[str, Any]]) -> None:
    walk = row(moto_rows, "startIndex walk, per page")
    assert walk["users_returned"] == USERS
    assert walk["items_read_per_user"] <= 1.1
    assert walk["walk_dynamodb_calls"] <= 4 * walk["pages"]


def test_uncached_authorizer_reads_secrets_manager_once(moto_rows: list[dict[str, Any]]) -> None:
    assert row(moto_rows, "authorizer, uncached")["secretsmanager_calls"] == 1


# Capacity units per operation (DynamoDB's rules on the items each request touched), split into the
# table's own items and index entries, and the stream records the writes produce. The audit
# record is one PutItem (1 WCU) and one index entry (1 WCU) on every write.
CAPACITY = {
    # operation: (RCU, table WCU, index WCU, stream records, provisioning events)
    "authorizer, uncached": (2, 0, 0, 0, 0),  # tenant and token metadata, one strongly consistent read each
    "userName eq": (0.5, 0, 0, 0, 0),  # one GSI Query: eventually consistent, one 4 KB unit
    "userName eq, no match": (0.5, 0, 0, 0, 0),  # a Query that finds nothing still costs the minimum
    "get user": (2.5, 0, 0, 0, 0),  # user + counter (consistent, 1 each) and the groups Query (0.5)
    "create user": (0, 7, 3, 4, 1),  # user, guard, counter in a transaction (x2), audit; 2 GSI entries
    "PUT user": (2.5, 2, 3, 2, 1),
    "PATCH active false": (2.5, 5, 3, 3, 1),  # user and inactive counter in a transaction (x2), audit
    "group member add": (2, 5, 3, 3, 1),  # membership and group version bump in a transaction (x2)
    "group member remove": (2, 7, 3, 4, 1),  # ... and a tombstone
    "list page of 100": (9, 1, 0, None, 0),  # the bookmark's rewrite is a change only if its expiry moved
}


@pytest.mark.parametrize(("name", "expected"), CAPACITY.items())
def test_capacity_and_stream_changes_per_operation(
    moto_rows: list[dict[str, Any]], name: str, expected: tuple[float, int, int, int | None, int]
) -> None:
    found = row(moto_rows, name)
    rcu, wcu_table, wcu_indexes, records, events = expected
    assert (found["rcu"], found["wcu_table"], found["wcu_indexes"], found["events"]) == (
        rcu,
        wcu_table,
        wcu_indexes,
        events,
    )
    assert found["wcu"] == wcu_table + wcu_indexes
    if records is not None:
        assert found["stream_records"] == records


def test_a_duplicate_user_name_is_refused_and_changes_nothing() -> None:
    create = next(op for op in OPERATIONS if op.name == "create user")
    with bench_tenant(10, spare=1) as bench:
        assert create.run(bench.driver, bench.seeded, 1).status == 201
        again = create.run(bench.driver, bench.seeded, 1)
        assert again.status == 409
        assert again.body["scimType"] == "uniqueness"
        # The cancelled transaction left no stream record: the one change is the failure's audit record.
        assert [c.keys["PK"]["S"] for c in again.consumed.changes] == ["T#bench#AUDIT"]
        assert again.consumed.index_write_units == 0  # no user, so no index entry written
        assert len(walk_pages(bench.driver, bench.seeded)) == 2  # 11 users, then an empty page


def unparsed(table: Any) -> int:
    """Items loaded but not yet read (their attributes still the loaded JSON text)."""
    return sum("_raw" in item.__dict__ for partition in table.items.values() for item in partition.values())


def test_the_seed_goes_straight_into_moto_and_is_parsed_only_where_read() -> None:
    with bench_tenant(50, spare=5) as bench:
        # 50 users and their guards, 21 groups and their guards, 2 counters, 45 memberships
        assert bench.seed.items == 50 * 2 + 21 * 2 + 2 + 45
        table = moto_table(os.environ["TABLE_NAME"])
        before = unparsed(table)
        assert before >= bench.seed.items - 2  # the authorizer's request read no seeded item
        got = bench.driver.call("GET", f"/Users/{bench.seeded.user_ids[7]}")
        assert got.status == 200
        assert got.body["userName"] == "user000007@example.com"
        assert got.body["groups"][0]["display"] == "Everyone"
        # the user and its membership (the nested-group counter it asks for is not seeded): the
        # rest stays as it was loaded
        assert before - unparsed(table) == 2


def test_capacity_rules() -> None:
    assert item_size({"PK": {"S": "abc"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    assert read_units([4096], consistent=True) == 1
    assert read_units([4097], consistent=True) == 2
    assert read_units([100, 100], consistent=False) == 0.5
    assert read_units([0], consistent=True) == 1  # a miss still costs the minimum
    assert write_units({"a": {"S": "x" * 1100}}, None) == 2
    assert write_units(None, {"a": {"S": "x"}}, transactional=True) == 2
