"""POST /Bulk through the real handler (RFC 7644 §3.7), with the RFC's examples adapted to valid bodies.

moto copies the whole table for every transaction, so each test creates only a few resources.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.bulk import (
    MAX_OPERATIONS,
    MAX_PAYLOAD_BYTES,
    TIME_MARGIN_MS,
    BulkEngine,
    BulkOperation,
    execution_plan,
    parse_bulk_request,
)
from core.capabilities import service_capabilities
from core.representation import etag_for
from core.resource_service import Caller
from core.store.keys import Kind
from handlers import requests
from handlers.resources import groups_service, users_service
from tests.conftest import ScimClient
from tests.support import etag_of

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user(name: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [USER],
        "userName": name,
        "name": {"givenName": name.split("@", maxsplit=1)[0].title(), "familyName": "Example"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }
    body.update(extra)
    return body


def group(name: str, *members: str) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP], "displayName": name}
    if members:
        body["members"] = [{"value": m} for m in members]
    return body


def bulk(*operations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemas": [BULK], "Operations": list(operations), **extra}


def post(path: str, bulk_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"method": "POST", "path": path, "bulkId": bulk_id, "data": data}


def run(scim: ScimClient, body: Any) -> list[dict[str, Any]]:
    response = scim("POST", "/Bulk", body)
    assert response.status == 200, response.body
    assert response.body["schemas"] == [BULK_RESPONSE]
    return response.body["Operations"]  # type: ignore[no-any-return]


def statuses(operations: list[dict[str, Any]]) -> list[str]:
    return [op["status"] for op in operations]


def new_user(scim: ScimClient, name: str) -> str:
    created = scim("POST", "/Users", user(name))
    assert created.status == 201, created.body
    return created.body["id"]  # type: ignore[no-any-return]


def member_ids(scim: ScimClient, group_id: str) -> list[str]:
    return sorted(m["value"] for m in scim("GET", f"/Groups/{group_id}").body.get("members", []))


# -- §3.7.2 bulkId temporary identifiers ------------------------------------------------------
def test_rfc_example_user_and_group_that_references_it_by_bulk_id(scim: ScimClient) -> None:
    """RFC 7644 §3.7.2: create "Alice" with bulkId qwerty and a group whose member is "bulkId:qwerty"."""
    operations = run(
        scim,
        bulk(
            post("/Users", "qwerty", user("alice@example.com")),
            post("/Groups", "ytrewq", group("Tour Guides", "bulkId:qwerty")),
        ),
    )
    alice, guides = operations
    assert alice["method"] == "POST"
    assert (alice["bulkId"], alice["status"], alice["version"]) == ("qwerty", "201", etag_of(1))
    assert "response" not in alice
    alice_id = alice["location"].rsplit("/", 1)[1]
    assert alice["location"].endswith(f"/v1/scim/v2/demo/Users/{alice_id}")
    assert (guides["bulkId"], guides["status"]) == ("ytrewq", "201")
    group_id = guides["location"].rsplit("/", 1)[1]
    assert member_ids(scim, group_id) == [alice_id]
    assert scim("GET", f"/Users/{alice_id}").body["groups"][0]["value"] == group_id


def test_referenced_create_runs_first_and_results_keep_request_order(scim: ScimClient) -> None:
    """RFC 7644 §3.7: the server may reorder as long as the client's intent is preserved."""
    operations = run(
        scim,
        bulk(
            post("/Groups", "g", group("Admins", "bulkId:u")),
            post("/Users", "u", user("bob@example.com")),
        ),
    )
    assert [op["bulkId"] for op in operations] == ["g", "u"]
    assert statuses(operations) == ["201", "201"]
    user_id = operations[1]["location"].rsplit("/", 1)[1]
    assert member_ids(scim, operations[0]["location"].rsplit("/", 1)[1]) == [user_id]


def test_bulk_id_in_path_and_in_nested_values(scim: ScimClient) -> None:
    """`/Groups/bulkId:<id>` as a path, and "bulkId:" values inside PATCH values and manager.value."""
    boss = new_user(scim, "boss@example.com")
    operations = run(
        scim,
        bulk(
            post("/Groups", "team", group("Team")),
            post(
                "/Users",
                "carol",
                user(
                    "carol@example.com",
                    **{ENTERPRISE: {"manager": {"value": boss}}},
                    schemas=[USER, ENTERPRISE],
                ),
            ),
            post(
                "/Users",
                "dave",
                user(
                    "dave@example.com",
                    **{ENTERPRISE: {"manager": {"value": "bulkId:carol"}}},
                    schemas=[USER, ENTERPRISE],
                ),
            ),
            {
                "method": "PATCH",
                "path": "/Groups/bulkId:team",
                "data": {
                    "schemas": [PATCH],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:dave"}]}],
                },
            },
        ),
    )
    assert statuses(operations) == ["201", "201", "201", "204"]
    team_id = operations[0]["location"].rsplit("/", 1)[1]
    carol_id, dave_id = (op["location"].rsplit("/", 1)[1] for op in operations[1:3])
    assert operations[3]["location"].endswith(f"/Groups/{team_id}")
    assert operations[3]["version"] == etag_of(2)
    assert member_ids(scim, team_id) == [dave_id]
    dave = scim("GET", f"/Users/{dave_id}").body
    assert dave[ENTERPRISE]["manager"]["value"] == carol_id


def test_unknown_bulk_id_fails_that_operation_with_409(scim: ScimClient) -> None:
    operations = run(
        scim,
        bulk(
            post("/Groups", "g", group("Ops", "bulkId:nobody")),
            post("/Users", "u", user("erin@example.com")),
        ),
    )
    failed, created = operations
    assert failed["status"] == "409"
    assert "location" not in failed  # a failed POST has no location (RFC 7644 §3.7.3)
    assert failed["response"]["schemas"] == [ERROR]
    assert failed["response"]["status"] == "409"
    assert failed["response"]["scimType"] == "invalidValue"
    assert "bulkId:nobody" in failed["response"]["detail"]
    assert created["status"] == "201"
    assert scim("GET", "/Groups").body["totalResults"] == 0


def test_reference_to_a_failed_post_fails_with_409(scim: ScimClient) -> None:
    new_user(scim, "taken@example.com")
    operations = run(
        scim,
        bulk(
            post("/Users", "dup", user("TAKEN@example.com")),
            post("/Groups", "g", group("Uses dup", "bulkId:dup")),
        ),
    )
    assert statuses(operations) == ["409", "409"]
    assert operations[0]["response"]["scimType"] == "uniqueness"
    assert "did not succeed" in operations[1]["response"]["detail"]


def test_circular_references_are_rejected_with_409(scim: ScimClient) -> None:
    """RFC 7644 §3.7.1: the service "MAY stop after a failed attempt and instead return [...] 409"."""
    operations = run(
        scim,
        bulk(
            post("/Groups", "a", group("Circle A", "bulkId:b")),
            post("/Groups", "b", group("Circle B", "bulkId:a")),
            post("/Groups", "self", group("Narcissus", "bulkId:self")),
            post("/Groups", "after", group("Depends on A", "bulkId:a")),
            post("/Groups", "fine", group("Unrelated")),
        ),
    )
    assert statuses(operations) == ["409", "409", "409", "409", "201"]
    for op in operations[:3]:
        assert "circular" in op["response"]["detail"]
    assert "did not succeed" in operations[3]["response"]["detail"]
    assert scim("GET", "/Groups").body["totalResults"] == 1


def test_execution_plan_orders_dependencies_first_and_marks_cycles() -> None:
    def op(index: int, bulk_id: str, *refs: str) -> BulkOperation:
        return BulkOperation(index, "POST", "/Groups", bulk_id, references=frozenset(refs))

    order, cyclic = execution_plan([op(0, "a", "c"), op(1, "b"), op(2, "c"), op(3, "d", "d")])
    assert order == [2, 0, 1, 3]
    assert cyclic == {3}
    order, cyclic = execution_plan([op(0, "a", "b"), op(1, "b", "c"), op(2, "c", "a"), op(3, "d", "a")])
    assert sorted(order) == [0, 1, 2, 3]
    assert cyclic == {0, 1, 2}


# -- §3.7.3 responses and errors ----------------------------------------------------------------
def test_rfc_example_put_patch_delete(scim: ScimClient) -> None:
    """RFC 7644 §3.7.3's add, update and remove of users, with the version of each as If-Match."""
    first = new_user(scim, "first@example.com")
    second = new_user(scim, "second@example.com")
    # ETags are signed (core.representation): the DELETE names the version the PUT will create.
    first_v1, second_v1 = (scim("GET", f"/Users/{uid}").body["meta"]["version"] for uid in (first, second))
    first_v2 = etag_for("demo", Kind.USER, first, 2)
    operations = run(
        scim,
        bulk(
            post("/Users", "qwerty", user("alice@example.com")),
            {
                "method": "PUT",
                "path": f"/Users/{first}",
                "version": first_v1,
                "data": user("first@example.com", displayName="First Person"),
            },
            {
                "method": "PATCH",
                "path": f"/Users/{second}",
                "version": second_v1,
                "data": {
                    "schemas": [PATCH],
                    "Operations": [{"op": "replace", "path": "active", "value": False}],
                },
            },
            {"method": "DELETE", "path": f"/Users/{first}", "version": first_v2},
        ),
    )
    assert statuses(operations) == ["201", "200", "200", "204"]
    assert [op["method"] for op in operations] == ["POST", "PUT", "PATCH", "DELETE"]
    assert (operations[1]["version"], operations[2]["version"]) == (first_v2, etag_of(2))
    assert operations[3]["location"].endswith(f"/Users/{first}")
    assert "version" not in operations[3]
    assert all("response" not in op for op in operations)
    assert scim("GET", f"/Users/{first}").status == 404
    assert scim("GET", f"/Users/{second}").body["active"] is False


def test_version_mismatch_fails_only_that_operation_with_412(scim: ScimClient) -> None:
    target = new_user(scim, "frank@example.com")
    operations = run(
        scim,
        bulk(
            {
                "method": "PATCH",
                "path": f"/Users/{target}",
                "version": 'W/"7"',
                "data": {
                    "schemas": [PATCH],
                    "Operations": [{"op": "replace", "path": "active", "value": False}],
                },
            },
            {"method": "DELETE", "path": f"/Users/{target}", "version": 'W/"9"'},
            post("/Users", "ok", user("grace@example.com")),
        ),
    )
    assert statuses(operations) == ["412", "412", "201"]
    assert operations[0]["location"].endswith(f"/Users/{target}")  # every op but a failed POST has one
    assert operations[0]["response"]["status"] == "412"
    assert scim("GET", f"/Users/{target}").body["active"] is True


def test_without_fail_on_errors_every_operation_is_attempted(scim: ScimClient) -> None:
    """RFC 7644 §3.7: "The service provider MUST continue performing as many changes as possible"."""
    operations = run(
        scim,
        bulk(
            post("/Users", "bad", {"schemas": [USER]}),  # no userName
            {"method": "PUT", "path": "/Users/no-such-id", "data": user("x@example.com")},
            {"method": "DELETE", "path": "/Groups/no-such-id"},
            post("/Users", "good", user("heidi@example.com")),
        ),
    )
    assert statuses(operations) == ["400", "404", "404", "201"]
    assert operations[0]["response"]["status"] == "400"


def test_fail_on_errors_stops_after_that_many_errors(scim: ScimClient) -> None:
    """RFC 7644 §3.7.3: with failOnErrors 1 the service "will stop processing and return results"."""
    new_user(scim, "ivan@example.com")
    operations = run(
        scim,
        bulk(
            post("/Users", "ok", user("judy@example.com")),
            post("/Users", "dup", user("ivan@example.com")),
            post("/Users", "never", user("mallory@example.com")),
            failOnErrors=1,
        ),
    )
    assert [op["bulkId"] for op in operations] == ["ok", "dup"]
    assert statuses(operations) == ["201", "409"]
    found = scim("GET", "/Users", query={"filter": 'userName eq "mallory@example.com"'}).body
    assert found["totalResults"] == 0
    two = run(
        scim,
        bulk(
            post("/Users", "d1", user("ivan@example.com")),
            post("/Users", "d2", user("judy@example.com")),
            post("/Users", "third", user("niaj@example.com")),
            failOnErrors=2,
        ),
    )
    assert statuses(two) == ["409", "409"]


def test_tenant_isolation_another_tenants_ids_are_404(scim: ScimClient) -> None:
    other = ScimClient("globex")
    theirs = other("POST", "/Users", user("olivia@globex.example")).body["id"]
    their_group = other("POST", "/Groups", group("Globex staff", theirs)).body["id"]
    operations = run(
        scim,
        bulk(
            {
                "method": "PUT",
                "path": f"/Users/{theirs}",
                "data": user("olivia@globex.example", active=False),
            },
            {
                "method": "PATCH",
                "path": f"/Groups/{their_group}",
                "data": {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "members"}]},
            },
            {"method": "DELETE", "path": f"/Users/{theirs}"},
            post("/Groups", "steal", group("Mine", theirs)),
        ),
    )
    assert statuses(operations) == ["404", "404", "404", "400"]
    assert other("GET", f"/Users/{theirs}").body["active"] is True
    assert member_ids(other, their_group) == [theirs]


def test_unexpected_exception_is_a_500_not_a_per_operation_result(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(users_service(), "create", broken)
    response = scim("POST", "/Bulk", bulk(post("/Users", "u", user("peggy@example.com"))))
    assert response.status == 500
    assert response.body["schemas"] == [ERROR]
    assert "bug" not in response.body["detail"]


def test_time_budget_answers_unattempted_operations_503(aws: None) -> None:
    """Rather than API Gateway's 504 with every outcome unknown, stop in time and say what ran."""
    remaining = iter([TIME_MARGIN_MS + 1, TIME_MARGIN_MS - 1])
    who = Caller(tenant_id="demo", token_id="t", request_id="r", base_url="https://x/scim/v2/demo")
    engine = BulkEngine(who, users_service(), groups_service(), remaining_ms=lambda: next(remaining))
    request = parse_bulk_request(
        bulk(post("/Users", "a", user("quinn@example.com")), post("/Users", "b", user("rupert@example.com")))
    )
    first, second = engine.run(request)
    assert (first.status, second.status) == (201, 503)
    assert second.response is not None
    assert "not attempted" in second.response["detail"]


# -- request validation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": [post("/Users", "a", user("a@example.com"))]}, "invalidSyntax"),
        ({"schemas": [BULK], "Operations": []}, "invalidSyntax"),
        ({"schemas": [BULK]}, "invalidSyntax"),
        ([], "invalidSyntax"),
        (bulk(post("/Users", "a", user("a@example.com")), failOnErrors=0), "invalidValue"),
        (bulk(post("/Users", "a", user("a@example.com")), failOnErrors="1"), "invalidValue"),
        (
            bulk(post("/Users", "a", user("a@example.com")), post("/Groups", "a", group("A"))),
            "invalidValue",
        ),
    ],
    ids=["no-schema", "empty", "no-operations", "not-an-object", "fail-zero", "fail-string", "dup-bulkid"],
)
def test_malformed_request_is_400(scim: ScimClient, body: Any, scim_type: str) -> None:
    response = scim("POST", "/Bulk", body)
    assert (response.status, response.body["scimType"]) == (400, scim_type)


def test_malformed_operations_fail_individually(scim: ScimClient) -> None:
    operations = run(
        scim,
        bulk(
            {"method": "POST", "path": "/Users", "data": user("a@example.com")},  # no bulkId
            {"method": "GET", "path": "/Users"},
            {"method": "PUT", "path": "/Users/x"},  # no data
            post("/Users/abc", "p", user("b@example.com")),
            {"method": "DELETE", "path": "/Widgets/1"},
            {"method": "POST", "path": "/Users", "bulkId": 7, "data": user("c@example.com")},
            "not an object",
        ),
    )
    assert statuses(operations) == ["400"] * 7
    scim_types = [op["response"]["scimType"] for op in operations]
    assert scim_types == [
        *["invalidSyntax"] * 3,
        "invalidValue",
        "invalidValue",
        "invalidSyntax",
        "invalidSyntax",
    ]
    assert operations[1]["method"] == "GET"
    assert "method" not in operations[6]


def test_names_methods_and_schema_are_case_insensitive(scim: ScimClient) -> None:
    body = {
        "SCHEMAS": [BULK.upper()],
        "operations": [
            {"METHOD": "post", "Path": "/users", "BULKID": "x", "Data": user("sybil@example.com")}
        ],
    }
    (op,) = run(scim, body)
    assert (op["method"], op["status"], op["bulkId"]) == ("POST", "201", "x")


# -- §3.7.4 limits ------------------------------------------------------------------------------
def test_more_than_max_operations_is_413_too_large(scim: ScimClient) -> None:
    operations = [{"method": "DELETE", "path": f"/Users/{i}"} for i in range(MAX_OPERATIONS + 1)]
    response = scim("POST", "/Bulk", bulk(*operations))
    assert (response.status, response.body["scimType"]) == (413, "tooLarge")
    assert str(MAX_OPERATIONS) in response.body["detail"]
    assert response.body["status"] == "413"


def test_payload_over_max_payload_size_is_413_naming_the_limit(scim: ScimClient) -> None:
    padding = "x" * MAX_PAYLOAD_BYTES
    body = bulk(post("/Users", "big", user("trent@example.com", nickName=padding)))
    assert len(json.dumps(body).encode()) > MAX_PAYLOAD_BYTES
    response = scim("POST", "/Bulk", body)
    assert (response.status, response.body["scimType"]) == (413, "tooLarge")
    assert f"maxPayloadSize ({MAX_PAYLOAD_BYTES})" in response.body["detail"]


def test_max_payload_size_fits_under_the_generic_body_limit() -> None:
    """The bulk check runs first, so the advertised maxPayloadSize is the limit that applies."""
    assert MAX_PAYLOAD_BYTES <= requests.MAX_BODY_BYTES


def test_service_provider_config_advertises_bulk() -> None:
    bulk_capability = service_capabilities().bulk
    assert (bulk_capability.supported, bulk_capability.max_operations, bulk_capability.max_payload_size) == (
        True,
        MAX_OPERATIONS,
        MAX_PAYLOAD_BYTES,
    )
