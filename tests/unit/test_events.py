"""Every file in events/ invoked against its real handler with moto (what `sam local invoke` runs)."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from core.capabilities import service_capabilities
from core.groups.service import GroupService
from core.resource_service import Caller
from core.store.memberships_table import MembershipTable
from core.store.resources_table import ResourceTable
from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from core.tokens import TokenMetadata, hash_token, parse_authorization_header
from core.users import UserService
from scimctl.admin import Admin
from tests.conftest import ROOT, TABLE_NAME, TEMPLATE
from tests.support import FakeContext, etag_of, response_headers

EVENTS = ROOT / "events"
EVENT_FILES = sorted(EVENTS.glob("*/*.json"))
SCIM = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def handler_for(function_id: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    module, _, name = TEMPLATE.functions[function_id].handler.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def check_authorizer_allow(result: dict[str, Any]) -> None:
    assert result["context"]["tenantId"] == "demo"
    (statement,) = result["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert all("/scim/v2/demo" in r for r in statement["Resource"])


def scim_body(result: dict[str, Any], status: int) -> dict[str, Any]:
    assert result["statusCode"] == status, result.get("body")
    headers = response_headers(result)
    assert headers["content-type"] == SCIM
    body: dict[str, Any] = json.loads(result["body"])
    return body


EXPECTED: dict[str, Callable[[dict[str, Any]], None]] = {
    "AuthorizerFunction/request.json": check_authorizer_allow,
    "DiscoveryFunction/get-service-provider-config.json": lambda r: (
        scim_body(r, 200)["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
        or pytest.fail("not a ServiceProviderConfig")
    ),
    "DiscoveryFunction/list-resource-types.json": lambda r: (
        scim_body(r, 200)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        or pytest.fail("not a ListResponse")
    ),
    "DiscoveryFunction/list-schemas.json": lambda r: (
        scim_body(r, 200)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        or pytest.fail("not a ListResponse")
    ),
    "DiscoveryFunction/get-resource-type.json": lambda r: (
        scim_body(r, 200)["endpoint"] == "/Users" or pytest.fail("not the User resource type")
    ),
    "DiscoveryFunction/get-schema.json": lambda r: (
        scim_body(r, 200)["id"] == "urn:ietf:params:scim:schemas:core:2.0:User"
        or pytest.fail("not the User schema")
    ),
}
USER_ID = "2819c223-7f76-453a-919d-413861904646"


def user_check(status: int, **expect: Any) -> Callable[[dict[str, Any]], None]:
    def check(result: dict[str, Any]) -> None:
        if status == 204:
            assert result["statusCode"] == 204
            return
        body = scim_body(result, status)
        for key, value in expect.items():
            assert body[key] == value, (key, body)

    return check


EXPECTED |= {
    "UsersFunction/create-user.json": user_check(201, userName="isaac.brock@example.com", active=True),
    "UsersFunction/get-user.json": user_check(200, id=USER_ID, userName="bjensen@example.com"),
    "UsersFunction/list-users.json": user_check(200, totalResults=1, startIndex=1),
    "UsersFunction/filter-users-by-username.json": user_check(200, totalResults=1),
    "UsersFunction/filter-users-zero-results.json": user_check(200, totalResults=0, Resources=[]),
    "UsersFunction/search-users.json": user_check(200, totalResults=1),
    "UsersFunction/replace-user.json": user_check(200, displayName="Babs Jensen", active=True),
    "UsersFunction/patch-user-deactivate-okta.json": user_check(200, active=False),
    "UsersFunction/patch-user-entra.json": user_check(
        200,
        active=False,
        name={"givenName": "Barbara", "familyName": "updatedFamilyName"},
        emails=[{"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}],
    ),
    "UsersFunction/delete-user.json": user_check(204),
}
EXPECTED_FAILURE = {"AuthorizerFunction/request-bad-token.json": "Unauthorized"}


def check_bulk_created_user_and_group(result: dict[str, Any]) -> None:
    """RFC 7644 §3.7.2: the group's member "bulkId:qwerty" became the new user's id."""
    body = scim_body(result, 200)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]
    user_op, group_op = body["Operations"]
    assert (user_op["bulkId"], user_op["status"], user_op["version"]) == ("qwerty", "201", etag_of(1))
    assert (group_op["bulkId"], group_op["status"]) == ("ytrewq", "201")
    assert "/scim/v2/demo/Groups/" in group_op["location"]
    assert "response" not in user_op
    assert "response" not in group_op


def check_root_search(result: dict[str, Any]) -> None:
    body = scim_body(result, 200)
    assert body["totalResults"] == 1
    (user,) = body["Resources"]
    assert (user["id"], user["userName"]) == (USER_ID, "bjensen@example.com")


GROUP_ID = "fc348aa8-3835-40eb-a20b-c726e15c55b5"


def no_content(result: dict[str, Any]) -> None:
    assert (result["statusCode"], result.get("body") or "") == (204, "")


def group_members(status: int, members: list[str] | None, **expect: Any) -> Callable[[dict[str, Any]], None]:
    def check(result: dict[str, Any]) -> None:
        body = scim_body(result, status)
        doc = body["Resources"][0] if "Resources" in body else body
        if members is None:
            assert "members" not in doc
        else:
            assert [m["value"] for m in doc["members"]] == members
        for key, value in expect.items():
            assert body[key] == value, (key, body)

    return check


EXPECTED |= {
    "GroupsFunction/create-group.json": user_check(201, displayName="Test SCIMv2"),
    "GroupsFunction/get-group.json": group_members(200, [USER_ID], displayName="Employees"),
    "GroupsFunction/get-group-excluding-members-entra.json": group_members(200, None, id=GROUP_ID),
    "GroupsFunction/filter-groups-by-display-name-entra.json": group_members(200, None, totalResults=1),
    "GroupsFunction/list-groups.json": group_members(200, [USER_ID], totalResults=1),
    "GroupsFunction/search-groups.json": group_members(200, None, totalResults=1),
    "GroupsFunction/patch-group-rename-okta.json": no_content,
    "GroupsFunction/patch-group-remove-member-entra.json": no_content,
    "GroupsFunction/patch-group-add-member-okta.json": no_content,
    "GroupsFunction/replace-group.json": group_members(200, None, displayName="Employees"),
    "GroupsFunction/delete-group.json": no_content,
}

# A DynamoDB stream batch (user INSERT, its guard and counter, then a deactivating MODIFY): both
# events are put on the bus (tests/unit/test_provisioning_events.py checks what they hold).
EXPECTED["EventsFunction/stream-user-created-then-deactivated.json"] = lambda r: (
    r == {"batchItemFailures": []} or pytest.fail(f"records failed: {r}")
)

EXPECTED |= {
    "BulkFunction/bulk-create-user-and-group.json": check_bulk_created_user_and_group,
    "BulkFunction/search-root.json": check_root_search,
}


def management_json(status: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def body(result: dict[str, Any]) -> dict[str, Any]:
        assert result["statusCode"] == status, result.get("body")
        assert response_headers(result)["content-type"] == "application/json"
        found: dict[str, Any] = json.loads(result["body"])
        return found

    return body


def check_tenant_created(result: dict[str, Any]) -> None:
    body = management_json(201)(result)
    assert (body["tenant_id"], body["name"], body["preset"]) == ("acme", "Acme Corp", "oktopost")
    assert body["scim_base_url"] == "https://api.example.com/v1/scim/v2/acme"


EXPECTED |= {
    "ManagementFunction/list-tenants.json": lambda r: (
        [t["tenant_id"] for t in management_json(200)(r)["data"]] == ["demo"] or pytest.fail("not [demo]")
    ),
    "ManagementFunction/create-tenant.json": check_tenant_created,
    "ManagementFunction/get-tenant-health.json": lambda r: (
        management_json(200)(r)["users"] == 1 or pytest.fail("demo has one user")
    ),
    # The worker of a reset that demo never started: it does nothing (and deletes nothing).
    "TenantResetFunction/run-reset.json": lambda r: r == {"status": "unknown"} or pytest.fail(str(r)),
    # The daily schedule's invocation (no input): demo's token never expires, so nothing to warn.
    "TokenExpiryFunction/scheduled.json": lambda r: (
        r == {"expiring_per_tenant": {}, "warnings": []} or pytest.fail(str(r))
    ),
    # The setup page itself: no session needed, strict CSP (docs/setup-page.md).
    "SetupFunction/get-setup-page.json": lambda r: (
        (r["statusCode"] == 200 and "default-src 'self'" in r["headers"]["Content-Security-Policy"])
        or pytest.fail("not the setup page")
    ),
    "ManagementFunction/put-tenant-webhook.json": lambda r: (
        management_json(200)(r)["secret"].startswith("whsec_") or pytest.fail("no generated secret")
    ),
    # One EventBridge event from the webhooks queue; demo has no webhook target here, so the
    # message is done with (not retried): tests/unit/test_webhooks_delivery.py delivers them.
    "WebhooksFunction/sqs-user-deactivated.json": lambda r: (
        r == {"batchItemFailures": []} or pytest.fail(f"messages failed: {r}")
    ),
    # The feed: a page and a cursor to poll from (no events here: the stream is not pumped).
    "ManagementFunction/list-tenant-events.json": lambda r: check_feed_page(management_json(200)(r)),
    "ManagementFunction/list-stack-events.json": lambda r: check_feed_page(management_json(200)(r)),
}


def check_feed_page(body: dict[str, Any]) -> None:
    assert set(body) == {"data", "next_cursor"}
    assert isinstance(body["data"], list)
    assert body["next_cursor"]


def check_directory(route: str) -> Callable[[dict[str, Any]], None]:
    """The directory reads (events/DirectoryFunction) on the seeded user and group."""

    def check(result: dict[str, Any]) -> None:
        body = management_json(200)(result)
        if route == "users":
            assert [u["userName"] for u in body["data"]] == ["bjensen@example.com"]
        elif route == "user":
            assert (body["user"]["id"], body["user"]["meta"]["resourceType"]) == (USER_ID, "User")
            assert [g["value"] for g in body["groups"]["data"]] == [GROUP_ID]
        elif route == "groups":
            assert [g["displayName"] for g in body["data"]] == ["Employees"]
            assert "members" not in body["data"][0]
        elif route == "group":
            assert (body["group"]["id"], "members" in body["group"]) == (GROUP_ID, False)
            assert [m["value"] for m in body["members"]["data"]] == [USER_ID]
        else:
            assert [ref["value"] for ref in body["data"]] == [GROUP_ID if route == "user-groups" else USER_ID]
            assert body["next_cursor"] is None

    return check


EXPECTED |= {
    "DirectoryFunction/list-users-by-username.json": check_directory("users"),
    "DirectoryFunction/get-user.json": check_directory("user"),
    "DirectoryFunction/list-user-groups.json": check_directory("user-groups"),
    "DirectoryFunction/list-groups.json": check_directory("groups"),
    "DirectoryFunction/get-group.json": check_directory("group"),
    "DirectoryFunction/list-group-members.json": check_directory("members"),
}


@pytest.fixture
def demo_with_event_token(admin: Admin, table: TenantTable, hashes: TokenHashStore) -> None:
    """Seed tenant demo and register the placeholder token the authorizer event carries."""
    admin.create_tenant("demo")
    event = json.loads((EVENTS / "AuthorizerFunction/request.json").read_text())
    token = parse_authorization_header(event["headers"]["Authorization"])
    assert token is not None, "the event's placeholder token must have the real format"
    now = datetime.now(UTC)
    table.put_token(TokenMetadata(tenant_id="demo", token_id=token.token_id, name="events", created_at=now))
    hashes.put_hash("demo", token.token_id, hash_token(token.raw))
    boto3.client("events").create_event_bus(Name=os.environ["EVENT_BUS_NAME"])  # EventsFunction's bus
    # The user the Users events address (RFC 7643 §8.2's id).
    db = boto3.client("dynamodb")
    stores = ResourceTable(db, TABLE_NAME), MembershipTable(db, TABLE_NAME)
    service = UserService(*stores, service_capabilities(), new_id=lambda: USER_ID)
    caller = Caller(
        tenant_id="demo", token_id=token.token_id, request_id="seed", base_url="https://x/scim/v2/demo"
    )
    service.create(
        caller,
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
            "active": True,
        },
    )
    # The group the Groups events address (an id from RFC 7643 §8.2), with that user as its member.
    groups = GroupService(*stores, service_capabilities(), new_id=lambda: GROUP_ID)
    groups.create(
        caller,
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Employees",
            "members": [{"value": USER_ID}],
        },
    )


def test_every_event_file_has_an_expectation() -> None:
    names = {str(p.relative_to(EVENTS)) for p in EVENT_FILES}
    assert names == set(EXPECTED) | set(EXPECTED_FAILURE)


def test_every_event_folder_is_a_function_in_the_template() -> None:
    assert {p.parent.name for p in EVENT_FILES} <= set(TEMPLATE.functions)


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: str(p.relative_to(EVENTS)))
def test_event_against_real_handler(path: Path, demo_with_event_token: None) -> None:
    name = str(path.relative_to(EVENTS))
    handler = handler_for(path.parent.name)
    event = json.loads(path.read_text())
    if name in EXPECTED_FAILURE:
        with pytest.raises(Exception, match=f"^{EXPECTED_FAILURE[name]}$"):
            handler(event, FakeContext(path.parent.name))
        return
    EXPECTED[name](handler(event, FakeContext(path.parent.name)))
