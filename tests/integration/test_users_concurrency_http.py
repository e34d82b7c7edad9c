"""Concurrent writes to one user over real HTTP (DESIGN "Storage rules", RFC 7644 §3.3, §3.5.2, §3.6).

IdPs send requests in parallel: Okta and Entra both retry, and a bulk assignment creates the same
account from several workers. Threads released together by a barrier send the requests; the
outcome asserted is what any interleaving must give: one winner for a userName, no lost update,
no 5xx. The local gateway runs one function invocation at a time (as `LocalFunction` documents), so
the version check itself is also forced to lose once, deterministically, in
`test_a_patch_that_loses_the_version_race_is_reapplied`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import (
    PATCH_OP,
    USER_SCHEMA,
    HttpResponse,
    ScimHttp,
    all_at_once,
    assert_scim_error,
    assert_scim_json,
    competing_write_first,
)
from tests.support import etag_of

pytestmark = pytest.mark.integration


def user_body(user_name: str) -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Race", "familyName": "Condition"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
    }


def add_email(address: str) -> dict[str, Any]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "emails", "value": [{"value": address, "type": "other"}]}],
    }


def create_user(scim: ScimHttp, user_name: str) -> dict[str, Any]:
    created = scim.post("/Users", user_body(user_name))
    assert created.status == 201, created.text
    user: dict[str, Any] = created.json
    return user


def test_twenty_parallel_creates_of_one_username_give_one_201(fresh_tenant: ScimHttp) -> None:
    body = user_body("race.user@example.com")
    responses = all_at_once([lambda: fresh_tenant.post("/Users", body) for _ in range(20)])
    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status not in (201, 409)]
    for conflict in (r for r in responses if r.status == 409):
        assert_scim_error(conflict, 409, "uniqueness")
    (winner,) = (r.json for r in responses if r.status == 201)
    found = fresh_tenant.get("/Users", params={"filter": 'userName eq "race.user@example.com"'})
    assert found.status == 200, found.text
    assert found.json["totalResults"] == 1
    assert [u["id"] for u in found.json["Resources"]] == [winner["id"]]
    # Nothing else was left behind by the losers.
    assert fresh_tenant.get("/Users").json["totalResults"] == 1


def test_ten_parallel_patches_adding_emails_lose_no_update(fresh_tenant: ScimHttp) -> None:
    user = create_user(fresh_tenant, "many.emails@example.com")
    addresses = [f"alias{i}@example.com" for i in range(10)]
    url = f"/Users/{user['id']}"
    responses = all_at_once([lambda a=a: fresh_tenant.patch(url, add_email(a)) for a in addresses])
    assert [r.status for r in responses] == [200] * 10, [r.text for r in responses if r.status != 200]
    for response, address in zip(responses, addresses, strict=True):
        assert_scim_json(response)
        assert address in {e["value"] for e in response.json["emails"]}  # its own change is in it
    final = fresh_tenant.get(url)
    assert final.status == 200
    values = [e["value"] for e in final.json["emails"]]
    assert sorted(values) == sorted(["many.emails@example.com", *addresses])
    # One version per change: 1 at create, then 10 writes.
    assert final.json["meta"]["version"] == etag_of(11)
    assert final.headers["etag"] == etag_of(11)


def test_a_delete_racing_five_patches_ends_deleted_without_5xx(fresh_tenant: ScimHttp) -> None:
    user = create_user(fresh_tenant, "short.lived@example.com")
    url = f"/Users/{user['id']}"
    tasks: list[Callable[[], HttpResponse]] = [
        lambda i=i: fresh_tenant.patch(url, add_email(f"late{i}@example.com")) for i in range(5)
    ]
    tasks.insert(2, lambda: fresh_tenant.delete(url))
    responses = all_at_once(tasks)
    deleted = responses.pop(2)
    assert deleted.status == 204, deleted.text
    for response in responses:
        assert response.status in (200, 404), response.text
        if response.status == 404:
            assert_scim_error(response, 404)
        else:
            assert_scim_json(response)
    assert_scim_error(fresh_tenant.get(url), 404)
    found = fresh_tenant.get("/Users", params={"filter": 'userName eq "short.lived@example.com"'})
    assert found.json["totalResults"] == 0


def test_a_patch_that_loses_the_version_race_is_reapplied(
    fresh_tenant: ScimHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another container's PATCH lands between this request's read and its conditional write: the
    # write fails on the version, and the service re-reads and re-applies instead of overwriting.
    user = create_user(fresh_tenant, "raced@example.com")
    raced = competing_write_first(
        monkeypatch,
        user["id"],
        lambda doc: {**doc, "emails": [*doc["emails"], {"value": "competitor@example.com"}]},
    )
    response = fresh_tenant.patch(f"/Users/{user['id']}", add_email("mine@example.com"))
    monkeypatch.undo()
    assert raced == [2]
    assert response.status == 200, response.text
    values = {e["value"] for e in fresh_tenant.get(f"/Users/{user['id']}").json["emails"]}
    assert values == {"raced@example.com", "competitor@example.com", "mine@example.com"}
    # With If-Match, the loser is not re-applied but refused (RFC 7644 §3.14).
    stale = fresh_tenant.patch(
        f"/Users/{user['id']}", add_email("stale@example.com"), headers={"If-Match": user["meta"]["version"]}
    )
    assert_scim_error(stale, 412)
