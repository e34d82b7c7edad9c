"""POST /.search at the root (RFC 7644 §3.4.3): one search across Users and Groups.

"When a POST is sent to the root [...] the search is across all resource types". Results are
Users then Groups; startIndex and count page through that concatenation.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.bulk import never_matches
from core.filter import parse_filter
from core.query.attribute_info import SchemaAttributeInfo
from handlers.resources import groups_service, users_service
from tests.conftest import ScimClient

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def search(**params: Any) -> dict[str, Any]:
    return {"schemas": [SEARCH], **params}


def seed(scim: ScimClient) -> dict[str, str]:
    """Three users (one with displayName "Smith Team Lead") and two groups (one "Smith Team")."""
    ids: dict[str, str] = {}
    for name, display in (("ann", "Ann Smith"), ("ben", None), ("cat", "Smith Team Lead")):
        body: dict[str, Any] = {"schemas": [USER], "userName": f"{name}@example.com"}
        if display:
            body["displayName"] = display
        created = scim("POST", "/Users", body)
        assert created.status == 201, created.body
        ids[name] = created.body["id"]
    for display, members in (("Smith Team", [ids["ann"]]), ("Ops", [])):
        created = scim(
            "POST",
            "/Groups",
            {"schemas": [GROUP], "displayName": display, "members": [{"value": m} for m in members]},
        )
        assert created.status == 201, created.body
        ids[display] = created.body["id"]
    return ids


def found(scim: ScimClient, body: dict[str, Any]) -> dict[str, Any]:
    response = scim("POST", "/.search", body)
    assert response.status == 200, response.body
    assert response.headers["content-type"] == "application/scim+json"
    assert response.body["schemas"] == [LIST]
    return response.body  # type: ignore[no-any-return]


def kinds(body: dict[str, Any]) -> list[str]:
    return [r["meta"]["resourceType"] for r in body["Resources"]]


def test_no_filter_returns_users_then_groups(scim: ScimClient) -> None:
    ids = seed(scim)
    body = found(scim, search())
    assert body["totalResults"] == 5
    assert (body["startIndex"], body["itemsPerPage"]) == (1, 5)
    assert kinds(body) == ["User"] * 3 + ["Group"] * 2
    smith_team = next(r for r in body["Resources"] if r["id"] == ids["Smith Team"])
    assert [m["value"] for m in smith_team["members"]] == [ids["ann"]]
    assert all("groups" not in r for r in body["Resources"] if r["meta"]["resourceType"] == "User")


def test_rfc_example_display_name_filter_matches_in_both_types(scim: ScimClient) -> None:
    """RFC 7644 §3.4.3's example: displayName is an attribute of both User and Group."""
    ids = seed(scim)
    body = found(
        scim,
        search(
            attributes=["displayName", "userName"], filter='displayName sw "smith"', startIndex=1, count=10
        ),
    )
    assert body["totalResults"] == 2
    assert [r["id"] for r in body["Resources"]] == [ids["cat"], ids["Smith Team"]]
    assert body["Resources"][0] == {
        "schemas": [USER],
        "id": ids["cat"],
        "userName": "cat@example.com",
        "displayName": "Smith Team Lead",
    }
    assert set(body["Resources"][1]) == {"schemas", "id", "displayName"}


def test_attribute_of_one_type_matches_nothing_in_the_other(scim: ScimClient) -> None:
    ids = seed(scim)
    by_name = found(scim, search(filter='userName eq "ben@example.com"'))
    assert [r["id"] for r in by_name["Resources"]] == [ids["ben"]]
    by_member = found(scim, search(filter=f'members[value eq "{ids["ann"]}"]'))
    assert [r["id"] for r in by_member["Resources"]] == [ids["Smith Team"]]
    either = found(scim, search(filter='userName eq "ben@example.com" or displayName eq "Ops"'))
    assert [r["id"] for r in either["Resources"]] == [ids["ben"], ids["Ops"]]


def test_a_type_the_filter_cannot_match_is_not_read(scim: ScimClient, dynamodb_calls: list[str]) -> None:
    """A root userName lookup costs what GET /Users?filter=userName eq … costs: no group is read."""
    seed(scim)
    filter_text = 'userName eq "ben@example.com"'
    dynamodb_calls.clear()
    scim("POST", "/Users/.search", search(filter=filter_text))
    users_only = list(dynamodb_calls)
    dynamodb_calls.clear()
    found(scim, search(filter=filter_text))
    assert dynamodb_calls == users_only


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (1, 2, ["User", "User"]),
        (3, 2, ["User", "Group"]),
        (4, 10, ["Group", "Group"]),
        (5, 1, ["Group"]),
        (6, 5, []),
        (2, 0, []),
    ],
)
def test_paging_runs_across_the_concatenation(
    scim: ScimClient, start: int, count: int, expected: list[str]
) -> None:
    seed(scim)
    everything = found(scim, search())["Resources"]
    body = found(scim, search(startIndex=start, count=count))
    assert body["totalResults"] == 5
    assert body["startIndex"] == start
    assert kinds(body) == expected
    assert [r["id"] for r in body["Resources"]] == [
        r["id"] for r in everything[start - 1 : start - 1 + count]
    ]


def test_sort_by_applies_within_each_type(scim: ScimClient) -> None:
    ids = seed(scim)
    body = found(scim, search(sortBy="userName", sortOrder="descending"))
    users = [r["id"] for r in body["Resources"] if r["meta"]["resourceType"] == "User"]
    assert users == [ids["cat"], ids["ben"], ids["ann"]]
    assert kinds(body)[3:] == ["Group", "Group"]


def test_cursor_is_rejected_at_the_root(scim: ScimClient) -> None:
    response = scim("POST", "/.search", search(cursor=""))
    assert (response.status, response.body["scimType"]) == (400, "invalidValue")


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"filter": 'userName eq "x"'}, "invalidSyntax"),
        (search(filter='userName eq "x'), "invalidFilter"),
        (search(filter="active gt true"), "invalidFilter"),
    ],
    ids=["no-schema", "unterminated", "ordered-boolean"],
)
def test_bad_search_request_is_400(scim: ScimClient, body: dict[str, Any], scim_type: str) -> None:
    response = scim("POST", "/.search", body)
    assert (response.status, response.body["scimType"]) == (400, scim_type)


def test_root_search_is_scoped_to_the_tenant(scim: ScimClient) -> None:
    seed(scim)
    other = ScimClient("globex")
    assert found(other, search())["totalResults"] == 0


@pytest.mark.parametrize(
    ("text", "users", "groups"),
    [
        ('userName eq "x"', False, True),
        ('members.value eq "x"', True, False),
        ('displayName eq "x"', False, False),
        ('userName ne "x"', False, False),
        ("userName eq null", False, False),
        ("userName pr", False, True),
        ('emails[type eq "work"]', False, True),
        ('userName eq "x" and displayName eq "y"', False, True),
        ('userName eq "x" or members pr', False, False),
        ('not (userName eq "x")', False, False),
    ],
)
def test_never_matches_is_proven_only_from_undefined_attributes(
    aws: None, text: str, users: bool, groups: bool
) -> None:
    expr = parse_filter(text)
    assert never_matches(expr, SchemaAttributeInfo(users_service().schemas)) is users
    assert never_matches(expr, SchemaAttributeInfo(groups_service().schemas)) is groups
