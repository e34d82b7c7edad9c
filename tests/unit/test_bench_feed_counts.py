"""The feed bench's counts on a small tenant (issue 16): deterministic, no timings.

`bench.feed` drives the real management handler and the journal against moto patched by
`scimctl.moto_dynamodb`; these are the counts docs/performance.md reports at 1,000 and 100,000
users, here at 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from bench.feed import run_size

from handlers import aws_clients, management


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, Any]]:
    try:
        return {row["what"]: row for row in run_size(500)}
    finally:
        aws_clients.reset()
        management.management.cache_clear()
        management.journal.cache_clear()


@pytest.mark.parametrize(
    ("what", "calls"),
    [
        ("GET /tenants/{t}/events (first page, 100)", ["GetItem", "Query"]),
        ("GET /tenants/{t}/events (middle, cursor, 200)", ["GetItem", "Query"]),
        ("GET /tenants/{t}/events?types=scim.group.* (no match)", ["GetItem", "Query"]),
        ("GET /events (first page, 100)", ["Query", "BatchGetItem"]),
    ],
)
def test_a_feed_page_is_one_query_plus_one_lookup(
    rows: dict[str, dict[str, Any]], what: str, calls: list[str]
) -> None:
    assert rows[what]["calls"] == calls


def test_pages_return_what_they_asked_for(rows: dict[str, dict[str, Any]]) -> None:
    assert rows["GET /tenants/{t}/events (middle, cursor, 200)"]["returned"] == 200
    assert rows["GET /tenants/{t}/events (newest 100, cursor)"]["returned"] == 100
    assert rows["GET /events (first page, 100)"]["returned"] == 100


def test_the_journal_writes_three_items_per_event_and_a_counter_per_tenant(
    rows: dict[str, dict[str, Any]],
) -> None:
    one = rows["journal a batch: 100 events of one tenant"]
    assert (one["events"], one["transactions"], one["items_written"]) == (100, 4, 300 + 4 * 2)
    ten = rows["journal a batch: 100 events of 10 tenants"]
    assert (ten["events"], ten["transactions"], ten["items_written"]) == (100, 4, 300 + 4 * 11)
    assert one["calls"] == ["BatchGetItem", "BatchGetItem"] + ["TransactWriteItems"] * 4
    retried = rows["journal the same batch again (a Lambda retry)"]
    assert (retried["events"], retried["items_written"], retried["calls"]) == (0, 0, ["BatchGetItem"] * 2)
