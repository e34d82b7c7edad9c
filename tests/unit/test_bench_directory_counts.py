"""The directory bench's counts on a small tenant (issue 16): deterministic, no timings.

`bench.directory` drives the real directory function through botocore against moto patched by
`scimctl.moto_dynamodb`; these counts are the ones docs/performance.md reports at 1,000 and
100,000 users, here at 1,200 users (more than one bounded window of 1,000 items).
"""

from __future__ import annotations

from typing import Any

import pytest
from bench.directory import run_size

USERS = 1_200


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, Any]]:
    return {row["route"]: row for row in run_size(USERS)}


def test_every_page_costs_at_most_three_calls(rows: dict[str, dict[str, Any]]) -> None:
    assert len(rows) == 16
    assert {name: row["dynamodb_calls"] for name, row in rows.items() if row["dynamodb_calls"] > 3} == {}


@pytest.mark.parametrize(
    ("route", "calls"),
    [
        ("GET /users?filter=userName eq", ["GetItem", "Query"]),
        ("GET /users?filter=externalId eq", ["GetItem", "Query"]),
        ("GET /users?filter=id eq", ["GetItem", "GetItem"]),
        ("GET /groups?filter=displayName eq", ["GetItem", "Query"]),
        ("GET /users next page (cursor, 200)", ["GetItem", "GetItem", "Query"]),
        ("GET /users?filter=active eq false (no match)", ["GetItem", "Query", "Query"]),
        ("GET /groups/{id}/members next page (cursor, 200)", ["GetItem", "Query"]),
        ("GET /users/{id} (with its first groups)", ["GetItem", "GetItem", "Query"]),
    ],
)
def test_the_calls_of_each_page(rows: dict[str, dict[str, Any]], route: str, calls: list[str]) -> None:
    assert rows[route]["calls"] == calls


def test_a_page_returns_what_it_read_not_the_tenant(rows: dict[str, dict[str, Any]]) -> None:
    assert rows["GET /users (200)"]["returned"] == 200
    assert rows["GET /users (200)"]["items_read"] == 202  # the tenant, the counter, the page
    assert rows["GET /groups/{id}/members (200)"]["returned"] == 200
    assert rows["GET /groups/{id}/members (200)"]["items_read"] == 203  # + the group, + one lookahead
    # A filter no key answers reads a bounded window: two Queries of 500, not 1,200 users.
    assert rows["GET /users?filter=active eq false (no match)"]["items_read"] == 1_001
    assert rows["GET /users?filter=active eq false (no match)"]["returned"] == 0
