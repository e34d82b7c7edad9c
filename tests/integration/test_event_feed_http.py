"""The event feed over real HTTP against the local gateway (issue 16, "Done means", the feed).

Given `scimctl serve` (the events pump runs the real events handler, which journals every batch),
when an IdP creates, deactivates, reactivates, groups, ungroups and deletes a user, then
`GET /tenants/{t}/events` returns each event once, in order, across pages of one; a second reader
sees the same; and 1,000 events written by concurrent requests read back gap-free, once each.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from scimctl.gateway import RunningGateway
from tests.integration.conftest import (
    GROUP_SCHEMA,
    PATCH_OP,
    USER_SCHEMA,
    ScimHttp,
    all_at_once,
    new_tenant,
)
from tests.integration.sigv4_client import ManagementHttp

PROBLEM_JSON = "application/problem+json"
PROVISIONING = "scim.user.*,scim.group.*"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@pytest.fixture
def api(running: RunningGateway) -> ManagementHttp:
    return ManagementHttp(running.management_url)


def read_feed(
    api: ManagementHttp, path: str, limit: int, types: str | None = None, after: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Follow next_cursor until a page is empty: every event, and the cursor to poll from."""
    events: list[dict[str, Any]] = []
    while True:
        params = (
            {"limit": str(limit)} | ({"types": types} if types else {}) | ({"after": after} if after else {})
        )
        page = api.get(f"{path}?{urlencode(params)}")
        assert page.status == 200, page.text
        assert set(page.json) == {"data", "next_cursor"}
        after = page.json["next_cursor"]
        if not page.json["data"]:
            return events, after
        events.extend(page.json["data"])


def patch(scim: ScimHttp, path: str, *operations: dict[str, Any]) -> None:
    answer = scim.patch(path, {"schemas": [PATCH_OP], "Operations": list(operations)})
    assert answer.status in (200, 204), answer.text


def test_a_users_lifecycle_is_in_the_feed_once_each_in_order_across_pages_of_one(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant, token = new_tenant(running, "feed")
    scim = ScimHttp(running.tenant_url_of(tenant), token)
    user = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "ada@example.com", "active": True}).json
    patch(scim, f"/Users/{user['id']}", {"op": "replace", "path": "active", "value": False})
    patch(scim, f"/Users/{user['id']}", {"op": "replace", "path": "active", "value": True})
    group = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Engineers"}).json
    patch(scim, f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]})
    patch(scim, f"/Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{user["id"]}"]'})
    assert scim.delete(f"/Users/{user['id']}").status == 204

    events, _ = read_feed(api, f"/tenants/{tenant}/events", limit=1, types=PROVISIONING)

    assert [e["type"] for e in events] == [
        "scim.user.created",
        "scim.user.deactivated",
        "scim.user.reactivated",
        "scim.group.created",
        "scim.group.member_added",
        "scim.group.member_removed",
        "scim.user.deleted",
    ]
    assert all(e["tenant_id"] == tenant and e["data"]["tenantId"] == tenant for e in events)
    assert all(e["id"] == e["data"]["idempotencyKey"] for e in events)  # the EventBridge event's key
    assert events[0]["data"]["resource"]["userName"] == "ada@example.com"
    assert events[4]["data"]["member"]["value"] == user["id"]

    # Unfiltered, the tenant's feed (management events too) is numbered 1, 2, 3, … once each, and a
    # second reader from the start with other page sizes sees exactly the same sequence.
    everything, _ = read_feed(api, f"/tenants/{tenant}/events", limit=1)
    assert [e["sequence"] for e in everything] == list(range(1, len(everything) + 1))
    assert len({e["id"] for e in everything}) == len(everything)
    assert [e["id"] for e in events] == [
        e["id"] for e in everything if e["type"].startswith(("scim.user.", "scim.group."))
    ]
    again, _ = read_feed(api, f"/tenants/{tenant}/events", limit=3)
    assert again == everything


def test_a_reader_that_polls_gets_only_the_new_events(running: RunningGateway, api: ManagementHttp) -> None:
    tenant, token = new_tenant(running, "feed")
    scim = ScimHttp(running.tenant_url_of(tenant), token)
    scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "first@example.com"})
    before, cursor = read_feed(api, f"/tenants/{tenant}/events", limit=50)

    scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "second@example.com"})
    after, _ = read_feed(api, f"/tenants/{tenant}/events", limit=50, after=cursor)

    assert [e["data"]["resource"]["userName"] for e in after] == ["second@example.com"]
    assert after[0]["sequence"] == before[-1]["sequence"] + 1


def test_a_thousand_events_of_concurrent_requests_read_back_gap_free_once_each(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant, token = new_tenant(running, "bulkfeed")
    scim = ScimHttp(running.tenant_url_of(tenant), token)

    def create(batch: int) -> list[str]:
        # 50 users per Bulk request; five requests in flight at once, four times.
        operations = [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"u{n}",
                "data": {"schemas": [USER_SCHEMA], "userName": f"user{n:04d}@example.com"},
            }
            for n in range(batch * 50, batch * 50 + 50)
        ]
        answer = scim.post("/Bulk", {"schemas": [BULK_REQUEST], "Operations": operations})
        assert answer.status == 200, answer.text
        results = answer.json["Operations"]
        assert [r["status"] for r in results] == ["201"] * 50
        return [str(r["location"]).rsplit("/", 1)[-1] for r in results]

    created: set[str] = set()
    for start in range(0, 20, 5):
        created.update(
            uid
            for ids in all_at_once([lambda b=b: create(b) for b in range(start, start + 5)])
            for uid in ids
        )
    assert len(created) == 1000

    events, _ = read_feed(api, f"/tenants/{tenant}/events", limit=200)

    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))  # no gap
    assert len({e["id"] for e in events}) == len(events)  # no duplicate
    users = [e["data"]["resourceId"] for e in events if e["type"] == "scim.user.created"]
    assert sorted(users) == sorted(created)
    assert len(users) == 1000


def test_the_stack_feed_holds_each_tenants_events_in_their_order(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant, token = new_tenant(running, "stackfeed")
    scim = ScimHttp(running.tenant_url_of(tenant), token)
    for n in range(3):
        scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": f"s{n}@example.com"})
    own, _ = read_feed(api, f"/tenants/{tenant}/events", limit=200)

    stack, _ = read_feed(api, "/events", limit=200)

    assert [e["stack_sequence"] for e in stack] == list(range(1, len(stack) + 1))
    mine = [e for e in stack if e["tenant_id"] == tenant]
    assert [e["id"] for e in mine] == [e["id"] for e in own]
    assert [e["sequence"] for e in mine] == [e["sequence"] for e in own]


def test_bad_cursors_types_and_tenants_are_problems(running: RunningGateway, api: ManagementHttp) -> None:
    tenant, _ = new_tenant(running, "feed")
    other, _ = new_tenant(running, "feed")
    cursor = api.get(f"/tenants/{other}/events").json["next_cursor"]

    for path, params, status in [
        (f"/tenants/{tenant}/events", {"after": cursor}, 400),  # another tenant's cursor
        (f"/tenants/{tenant}/events", {"after": "not-a-cursor"}, 400),
        (f"/tenants/{tenant}/events", {"types": "scim.user.<b>"}, 400),
        (f"/tenants/{tenant}/events", {"limit": "0"}, 400),
        ("/tenants/nosuchtenant/events", {}, 404),
        ("/events", {"after": cursor}, 400),
    ]:
        answer = api.get(f"{path}?{urlencode(params)}" if params else path)
        assert answer.status == status, (path, params, answer.text)
        assert answer.headers["content-type"].split(";")[0] == PROBLEM_JSON
