"""Users: filtering, paging, sorting and .search (RFC 7644 §3.4.2, §3.4.3; RFC 9865 cursors).

Counts of DynamoDB calls and items read are deterministic, so these tests check them: lookups
must cost a constant number of calls, and a startIndex walk about one item read per user.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ScimClient
from tests.unit.test_users_crud_rfc7644_s3_3_s3_6 import okta_user

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def seed(scim: ScimClient, n: int) -> list[dict[str, Any]]:
    users = []
    for i in range(n):
        body = okta_user(
            f"user{i:03d}@example.com", externalId=f"ext-{i:03d}", title="Engineer" if i % 2 else "Manager"
        )
        body["active"] = i % 3 != 0
        del body["password"]
        users.append(scim("POST", "/Users", body).body)
    return users


def test_filter_username_eq_is_one_call_and_case_insensitive(
    scim: ScimClient, dynamodb_calls: list[str]
) -> None:
    seed(scim, 5)
    dynamodb_calls.clear()
    found = scim("GET", "/Users", query={"filter": 'userName eq "USER003@example.com"'})
    assert found.body["schemas"] == [LIST]
    assert found.body["totalResults"] == 1
    assert found.body["Resources"][0]["userName"] == "user003@example.com"
    assert dynamodb_calls == ["Query"]


def test_zero_result_lookup_is_200_with_empty_list(scim: ScimClient, dynamodb_calls: list[str]) -> None:
    dynamodb_calls.clear()
    found = scim("GET", "/Users", query={"filter": 'userName eq "nobody@example.com"'})
    assert found.status == 200
    assert found.body == {
        "schemas": [LIST],
        "totalResults": 0,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }
    assert dynamodb_calls == ["Query"]


def test_external_id_and_id_lookups_come_from_keys(scim: ScimClient, dynamodb_calls: list[str]) -> None:
    users = seed(scim, 4)
    dynamodb_calls.clear()
    by_ext = scim("GET", "/Users", query={"filter": 'externalId eq "ext-002"'}).body
    assert [u["id"] for u in by_ext["Resources"]] == [users[2]["id"]]
    assert scim("GET", "/Users", query={"filter": 'externalId eq "EXT-002"'}).body["totalResults"] == 0
    by_id = scim("GET", "/Users", query={"filter": f'id eq "{users[1]["id"]}"'}).body
    assert by_id["totalResults"] == 1
    assert dynamodb_calls == ["Query", "Query", "GetItem"]


def test_deactivated_user_stays_readable_and_filterable(scim: ScimClient) -> None:
    users = seed(scim, 3)
    inactive = users[0]
    assert inactive["active"] is False
    assert scim("GET", f"/Users/{inactive['id']}").status == 200
    found = scim(
        "GET", "/Users", query={"filter": 'userName eq "user000@example.com" and active eq false'}
    ).body
    assert found["totalResults"] == 1


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('title eq "Engineer"', 5),
        ('title eq "engineer"', 5),
        ("active eq true", 6),
        ('userName sw "user00"', 10),
        ('emails[type eq "work" and value co "user001"]', 1),
        ('emails.value ew "1@example.com"', 1),
        ('not (title eq "Engineer")', 5),
        ('title eq "Engineer" or userName eq "user000@example.com"', 6),
        ('(title eq "Engineer" or title eq "Manager") and active eq false', 4),
        ("name.familyName pr", 10),
        ('meta.created gt "2000-01-01T00:00:00Z"', 10),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "user004@example.com"', 1),
    ],
)
def test_partition_filters(scim: ScimClient, filter_text: str, expected: int) -> None:
    seed(scim, 10)
    found = scim("GET", "/Users", query={"filter": filter_text}).body
    assert found["totalResults"] == expected


@pytest.mark.parametrize(
    "filter_text",
    [
        "userName eq",
        'userName eq "x" and',
        "((",
        'userName xx "a"',
        "active gt true",
        'emails[type eq "work"',
        "a" * 5000,
    ],
)
def test_malformed_filter_is_400_invalid_filter(scim: ScimClient, filter_text: str) -> None:
    response = scim("GET", "/Users", query={"filter": filter_text})
    assert response.status == 400
    assert response.body["scimType"] in {"invalidFilter", "invalidValue"}


def test_start_index_walk_reads_about_one_item_per_user(scim: ScimClient, dynamodb_calls: list[str]) -> None:
    users = seed(scim, 25)
    dynamodb_calls.clear()
    seen: list[str] = []
    start = 1
    while True:
        page = scim("GET", "/Users", query={"startIndex": str(start), "count": "10"}).body
        assert page["totalResults"] == 25
        assert page["startIndex"] == start
        seen.extend(u["id"] for u in page["Resources"])
        if not page["Resources"]:
            break
        start += page["itemsPerPage"]
    assert sorted(seen) == sorted(u["id"] for u in users)
    assert len(seen) == len(set(seen))
    # Per page: counter GetItem, bookmark GetItem (after the first), one Query, bookmark PutItem.
    assert dynamodb_calls.count("Query") == 3
    assert len(dynamodb_calls) <= 4 * 3


def test_count_zero_returns_totals_only(scim: ScimClient) -> None:
    seed(scim, 3)
    page = scim("GET", "/Users", query={"count": "0"}).body
    assert (page["totalResults"], page["itemsPerPage"], page["Resources"]) == (3, 0, [])


def test_start_index_beyond_end_and_jump_without_bookmark(scim: ScimClient) -> None:
    users = seed(scim, 7)
    jumped = scim("GET", "/Users", query={"startIndex": "5", "count": "2"}).body
    ordered = sorted(u["id"] for u in users)
    assert [u["id"] for u in jumped["Resources"]] == ordered[4:6]
    beyond = scim("GET", "/Users", query={"startIndex": "50"}).body
    assert (beyond["totalResults"], beyond["Resources"]) == (7, [])


@pytest.mark.parametrize("params", [{"startIndex": "x"}, {"count": "many"}, {"sortOrder": "sideways"}])
def test_bad_paging_parameters_are_400(scim: ScimClient, params: dict[str, str]) -> None:
    assert scim("GET", "/Users", query=params).status == 400


def test_sort_by_username_and_other_attributes(scim: ScimClient) -> None:
    seed(scim, 5)
    desc = scim("GET", "/Users", query={"sortBy": "userName", "sortOrder": "descending"}).body
    names = [u["userName"] for u in desc["Resources"]]
    assert names == sorted(names, reverse=True)
    by_title = scim("GET", "/Users", query={"sortBy": "title"}).body
    titles = [u["title"] for u in by_title["Resources"]]
    assert titles == sorted(titles)


def test_cursor_paging_rfc9865(scim: ScimClient) -> None:
    users = seed(scim, 5)
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        page = scim("GET", "/Users", query={"cursor": cursor, "count": "2"}).body
        seen.extend(u["id"] for u in page["Resources"])
        if "nextCursor" not in page:
            break
        cursor = page["nextCursor"]
    assert sorted(seen) == sorted(u["id"] for u in users)


@pytest.mark.parametrize("cursor", ["garbage!", "eyJ0IjoiZ2xvYmV4IiwiciI6IlVTRVIiLCJpIjo5OTk5OTk5OTk5fQ"])
def test_invalid_or_foreign_cursor_is_400(scim: ScimClient, cursor: str) -> None:
    response = scim("GET", "/Users", query={"cursor": cursor})
    assert response.status == 400
    assert response.body["scimType"] == "invalidCursor"


def test_search_endpoint_rfc7644_s3_4_3(scim: ScimClient) -> None:
    seed(scim, 4)
    body = {
        "schemas": [SEARCH],
        "filter": 'userName sw "user00"',
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 2,
    }
    found = scim("POST", "/Users/.search", body).body
    assert found["totalResults"] == 4
    assert len(found["Resources"]) == 2
    assert set(found["Resources"][0]) == {"schemas", "id", "userName"}
    bad = scim("POST", "/Users/.search", {"filter": "x"})
    assert bad.status == 400
