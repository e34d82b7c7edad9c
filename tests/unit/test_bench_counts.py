"""The benchmark's counts on a small tenant (issue 7): deterministic, no timings.

The harness drives the real handlers through botocore, so these counts are the service's own:
a `userName eq` lookup is one DynamoDB call, a startIndex walk reads at most 1.1 items per user,
and the in-memory table used for large tenants answers exactly as moto does.
"""

from __future__ import annotations

from typing import Any

import pytest
from bench.capacity import item_size, read_units, write_units
from bench.operations import OPERATIONS, walk_pages
from bench.seed import MemoryBackend, MotoBackend
from bench.tenant import bench_tenant
from bench.workload import cross_check, run_size

USERS = 120


@pytest.fixture(scope="module")
def moto_rows() -> list[dict[str, Any]]:
    return run_size(MotoBackend(), USERS, reps=1)


def row(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for r in rows if r["operation"] == name)


@pytest.mark.parametrize("name", ["userName eq", "userName eq, no match", "displayName eq, no members"])
def test_lookups_are_one_query(moto_rows: list[dict[str, Any]], name: str) -> None:
    found = row(moto_rows, name)
    assert found["calls"] == ["Query"]
    assert found["audit_calls"] == 0


def test_writes_are_one_write_request(moto_rows: list[dict[str, Any]]) -> None:
    assert row(moto_rows, "create user")["calls"] == ["TransactWriteItems"]
    for name in ("PUT user", "PATCH replace", "PATCH active false"):
        writes = [
            c for c in row(moto_rows, name)["calls"] if c in {"PutItem", "UpdateItem", "TransactWriteItems"}
        ]
        assert writes == ["PutItem"], name
    for name in ("group member add", "group member remove"):
        assert row(moto_rows, name)["calls"].count("TransactWriteItems") == 1, name


# Round trips per operation (issue 7, item 5): one read before a write, the write, and for a user
# write the `groups` the response carries (the reverse index); the audit PutItem is counted apart.
SINGLE_RESOURCE_CALLS = {
    "create user": ["TransactWriteItems"],
    "get user": ["BatchGetItem", "Query"],  # the user with the nested-group counter; its groups
    "PUT user": ["BatchGetItem", "PutItem", "Query"],
    "PATCH replace": ["BatchGetItem", "PutItem", "Query"],
    "PATCH active false": ["BatchGetItem", "PutItem", "Query"],
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


def test_in_memory_table_counts_match_moto(moto_rows: list[dict[str, Any]]) -> None:
    memory_rows = run_size(MemoryBackend(), USERS, reps=1)
    assert cross_check(memory_rows, moto_rows) == []
    # Capacity is only computed by the in-memory table: a GSI lookup is half a read unit.
    assert row(memory_rows, "userName eq")["rcu"] == 0.5
    assert row(memory_rows, "create user")["events"] == 1


def test_in_memory_table_refuses_a_duplicate_user_name() -> None:
    create = next(op for op in OPERATIONS if op.name == "create user")
    with bench_tenant(MemoryBackend(), 10, spare=1) as bench:
        assert create.run(bench.driver, bench.seeded, 1).status == 201
        again = create.run(bench.driver, bench.seeded, 1)
        assert again.status == 409
        assert again.body["scimType"] == "uniqueness"
        assert len(walk_pages(bench.driver, bench.seeded)) == 2  # 11 users, then an empty page


def test_capacity_rules() -> None:
    assert item_size({"PK": {"S": "abc"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    assert read_units([4096], consistent=True) == 1
    assert read_units([4097], consistent=True) == 2
    assert read_units([100, 100], consistent=False) == 0.5
    assert read_units([0], consistent=True) == 1  # a miss still costs the minimum
    assert write_units({"a": {"S": "x" * 1100}}, None) == 2
    assert write_units(None, {"a": {"S": "x"}}, transactional=True) == 2
