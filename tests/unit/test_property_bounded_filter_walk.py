"""The bounded filtered walk (`ListContext.bounded`, the directory reads) as a property: whatever
the filter, page size and read window, following the cursors returns exactly the users the
filter matches, in id order, each once, and no page reads more than its window."""

from __future__ import annotations

import random
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.capabilities import service_capabilities
from core.filter import matches, parse_filter
from core.query import listing
from core.query.attribute_info import attribute_info
from core.query.listing import ListContext, list_resources
from core.query.request import SearchRequest
from core.representation import to_wire
from core.store.keys import Kind
from core.store.resources_table import ResourceTable, StoredResource
from tests.conftest import TABLE_NAME

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
BASE = "https://x/scim/v2/acme"
FILTERS = [
    "active eq true",
    "active eq false",
    'title eq "Engineer"',
    'title sw "Sa" or active eq false',
    'userName ew "7@example.com"',
    "not (title pr)",
    'userName eq "u05@example.com" or userName eq "u31@example.com"',
    'title eq "Nobody"',
]


class CountingTable(ResourceTable):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.pages = 0

    def page(self, *args: Any, **kwargs: Any) -> Any:
        self.pages += 1
        return super().page(*args, **kwargs)


@pytest.fixture(scope="module")
def users() -> Any:
    from moto import mock_aws  # noqa: PLC0415

    from scimctl.template import table_create_kwargs  # noqa: PLC0415
    from tests.conftest import TEMPLATE  # noqa: PLC0415

    with mock_aws():
        db = boto3.client("dynamodb")
        db.create_table(TableName=TABLE_NAME, **table_create_kwargs(TEMPLATE))
        table = CountingTable(db, TABLE_NAME)
        chooser = random.Random(16)  # noqa: S311 - test data  # nosec B311
        stored = []
        for i in range(40):
            doc: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": f"u{i:02d}@example.com"}
            doc["active"] = chooser.random() < 0.6
            title = chooser.choice([None, "Engineer", "Sales", "Sales lead"])
            if title:
                doc["title"] = title
            res = StoredResource(
                "acme", Kind.USER, f"id-{chooser.getrandbits(40):010x}", 1, "t", "t", doc["userName"], doc
            )
            table.create(res)
            stored.append(res)
        yield table, stored


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.sampled_from(FILTERS),
    count=st.integers(1, 7),
    batch=st.integers(1, 9),
    reads=st.integers(1, 3),
)
def test_following_the_cursors_returns_every_match_once_in_id_order(
    users: Any, monkeypatch: pytest.MonkeyPatch, *, text: str, count: int, batch: int, reads: int
) -> None:
    table, stored = users
    monkeypatch.setattr(listing, "READ_BATCH", batch)
    monkeypatch.setattr(listing, "FILTER_PAGE_READS", reads)
    schemas = service_capabilities().schemas_for("User")
    info = attribute_info(schemas)
    expected = sorted(r.id for r in stored if matches(parse_filter(text), to_wire(r, BASE), info))
    ctx = ListContext(table, "acme", Kind.USER, schemas, lambda r: to_wire(r, BASE), bounded=True)
    found: list[str] = []
    cursor = ""
    for _ in range(200):
        before = table.pages
        result = list_resources(ctx, SearchRequest(filter=text, count=count, cursor=cursor))
        assert len(result.resources) <= count
        assert table.pages - before <= reads  # the window: never more Queries than allowed
        found.extend(r.id for r in result.resources)
        if result.next_cursor is None:
            break
        cursor = result.next_cursor
    assert found == expected
