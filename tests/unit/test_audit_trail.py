"""The audit trail (issue 6): every write request and Bulk operation recorded per tenant, best effort,
and `scimctl audit` reading it.

Given writes through the Users, Groups and Bulk handlers (successes and failures), then the
tenant's trail holds one record per request (per operation for Bulk) with its time, request id,
token id, operation, resource, changed attributes and status; it answers "when was this user
deactivated, and by which token?" and "what did the IdP send, and what failed?".
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from core.audit import AuditRecord
from core.store.audit_table import AuditTable
from core.store.keys import audit_pk
from handlers import aws_clients, users
from scimctl import audit_cli, cli
from scimctl.stack import StackTarget
from tests.conftest import SECRETS_PREFIX, TABLE_NAME, ScimClient
from tests.support import FakeContext, proxy_event

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
TOKEN_ID = "demo.0123456789abcdef"


@pytest.fixture
def scim_w(scim: ScimClient, distinct_requests: None) -> ScimClient:
    return scim


def trail(tenant: str = "demo", **kwargs: Any) -> list[AuditRecord]:
    return AuditTable(boto3.client("dynamodb"), TABLE_NAME).read(tenant, **kwargs)


def deactivate(scim: ScimClient, user_id: str) -> None:
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert scim("PATCH", f"/Users/{user_id}", body).status == 200


def test_each_write_request_is_one_record_with_its_actor_and_changes(scim_w: ScimClient) -> None:
    created = scim_w("POST", "/Users", {"schemas": [USER], "userName": "ada@example.com", "active": True})
    uid = created.body["id"]
    deactivate(scim_w, uid)
    replaced = {"schemas": [USER], "userName": "ada@example.com", "active": False, "title": "Countess"}
    assert scim_w("PUT", f"/Users/{uid}", replaced).status == 200
    assert scim_w("GET", f"/Users/{uid}").status == 200  # reads are not recorded
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "active eq false"}
    assert scim_w("POST", "/Users/.search", search).status == 200
    assert scim_w("DELETE", f"/Users/{uid}").status == 204

    records = trail()

    assert [(r.method, r.resource_type, r.resource_id, r.status) for r in records] == [
        ("POST", "User", uid, 201),
        ("PATCH", "User", uid, 200),
        ("PUT", "User", uid, 200),
        ("DELETE", "User", uid, 204),
    ]
    assert [r.changed_attributes for r in records] == [
        ("active", "userName"),
        ("active",),
        ("title",),
        (),
    ]
    assert {(r.token_id, r.outcome) for r in records} == {(TOKEN_ID, "success")}
    assert [r.request_id for r in records] == ["request-0001", "request-0002", "request-0003", "request-0006"]
    assert records == sorted(records, key=lambda r: r.at)


def test_failures_are_recorded_with_status_scim_type_and_detail(scim_w: ScimClient) -> None:
    scim_w("POST", "/Users", {"schemas": [USER], "userName": "dup@example.com"})
    assert scim_w("POST", "/Users", {"schemas": [USER], "userName": "DUP@example.com"}).status == 409
    assert scim_w("DELETE", "/Users/no-such-user").status == 404
    assert scim_w("PATCH", "/Groups/g", "{not json").status == 400

    _, conflict, missing, malformed = trail()

    assert (conflict.status, conflict.outcome, conflict.scim_type) == (409, "failure", "uniqueness")
    assert conflict.resource_id is None
    assert conflict.detail is not None
    assert "already exists" in conflict.detail
    assert (missing.method, missing.resource_id, missing.status) == ("DELETE", "no-such-user", 404)
    assert (malformed.resource_type, malformed.status, malformed.scim_type) == ("Group", 400, "invalidSyntax")


def test_a_password_change_is_named_but_never_recorded(scim_w: ScimClient) -> None:
    uid = scim_w("POST", "/Users", {"schemas": [USER], "userName": "p@example.com", "password": "s3cr3t!"})
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "password", "value": "n3w!"}]}
    scim_w("PATCH", f"/Users/{uid.body['id']}", body)

    records = trail()

    assert [r.changed_attributes for r in records] == [("password", "userName"), ("password",)]
    raw = json.dumps(boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"])
    assert "s3cr3t!" not in raw
    assert "n3w!" not in raw


def test_group_membership_changes_are_recorded_as_members(scim_w: ScimClient) -> None:
    uid = scim_w("POST", "/Users", {"schemas": [USER], "userName": "m@example.com"}).body["id"]
    group = scim_w("POST", "/Groups", {"schemas": [GROUP], "displayName": "G", "members": [{"value": uid}]})
    gid = group.body["id"]
    remove = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]}
    assert scim_w("PATCH", f"/Groups/{gid}", remove).status == 204

    records = trail(resource_id=gid)

    assert [(r.method, r.changed_attributes) for r in records] == [
        ("POST", ("displayName", "members")),
        ("PATCH", ("members",)),
    ]


def test_bulk_records_one_record_per_operation(scim_w: ScimClient) -> None:
    body = {
        "schemas": [BULK],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u",
                "data": {"schemas": [USER], "userName": "b@x.io"},
            },
            {
                "method": "PATCH",
                "path": "/Users/bulkId:u",
                "data": {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "add", "path": "title", "value": "Dr"}],
                },
            },
            {"method": "DELETE", "path": "/Groups/does-not-exist"},
        ],
    }
    response = scim_w("POST", "/Bulk", body)
    assert response.status == 200
    uid = response.body["Operations"][0]["location"].rsplit("/", 1)[1]

    records = trail()

    assert [(r.bulk_index, r.method, r.resource_type, r.resource_id, r.status) for r in records] == [
        (0, "POST", "User", uid, 201),
        (1, "PATCH", "User", uid, 200),
        (2, "DELETE", "Group", "does-not-exist", 404),
    ]
    assert [r.changed_attributes for r in records] == [("userName",), ("title",), ()]
    assert (records[0].bulk_id, records[2].outcome) == ("u", "failure")
    assert len({r.request_id for r in records}) == 1


def test_a_request_for_another_tenant_is_not_recorded_anywhere(scim: ScimClient) -> None:
    intruder = ScimClient("other")
    assert intruder("POST", "/Users", {"schemas": [USER], "userName": "x@example.com"}).status == 201
    event = proxy_event(
        "POST",
        "/scim/v2/{tenant}/Users",
        {"tenant": "demo"},
        body={"schemas": [USER], "userName": "y@example.com"},
        authorizer_tenant="other",
    )
    assert users.lambda_handler(event, FakeContext())["statusCode"] == 401
    assert trail("demo") == []
    assert [r.status for r in trail("other")] == [201]


def test_a_write_routed_by_its_path_alone_is_recorded(scim: ScimClient) -> None:
    """An event without API Gateway's `resource` (written by hand) is routed by its path, and
    audited like any other: the record comes from the route that answered, not from `resource`."""
    created = scim("POST", "/Users", {"schemas": [USER], "userName": "path@example.com"})
    uid = created.body["id"]
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Dr"}]}
    event = proxy_event("PATCH", "/scim/v2/{tenant}/Users/{id}", {"tenant": "demo", "id": uid}, body=body)
    del event["resource"], event["pathParameters"]

    assert users.lambda_handler(event, FakeContext())["statusCode"] == 200
    last = trail()[-1]
    assert (last.method, last.resource_id, last.changed_attributes) == ("PATCH", uid, ("title",))


def test_an_audit_write_failure_never_fails_the_request(
    scim_w: ScimClient, log_output: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    def outage(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    aws_clients.audit_dynamodb().meta.events.register_first("before-call.dynamodb.PutItem", outage)

    created = scim_w("POST", "/Users", {"schemas": [USER], "userName": "resilient@example.com"})

    assert created.status == 201
    assert trail() == []
    assert "audit record not written" in log_output.getvalue()
    assert '"AuditWriteFailures":[1.0]' in capsys.readouterr().out  # the metric (EMF on stdout)


def test_records_expire_after_the_retention_and_are_indexed_by_resource(scim_w: ScimClient) -> None:
    uid = scim_w("POST", "/Users", {"schemas": [USER], "userName": "t@example.com"}).body["id"]
    deactivate(scim_w, uid)
    scim_w("POST", "/Users", {"schemas": [USER], "userName": "other@example.com"})

    items = boto3.client("dynamodb").query(
        TableName=TABLE_NAME,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": audit_pk("demo")}},
    )["Items"]

    expected = time.time() + 90 * 86_400
    assert all(abs(int(i["ttl"]["N"]) - expected) < 60 for i in items)
    assert {i["kind"]["S"] for i in items} == {"audit"}
    assert [r.method for r in trail(resource_id=uid)] == ["POST", "PATCH"]
    assert len(trail()) == 3
    assert [r.method for r in trail(since=trail()[1].at)] == ["PATCH", "POST"]


# -- scimctl audit -----------------------------------------------------------------------------
TARGET = StackTarget(
    region="us-east-1", stack_name="scim-test", table_name=TABLE_NAME, secrets_prefix=SECRETS_PREFIX
)


@pytest.fixture
def run(scim_w: ScimClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setattr(cli, "resolve_target", lambda *_: TARGET)

    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()  # drop what the handlers printed (metrics)
        code = cli.main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


def test_scimctl_audit_answers_when_and_by_which_token_a_user_was_deactivated(
    scim_w: ScimClient, run: Any
) -> None:
    uid = scim_w("POST", "/Users", {"schemas": [USER], "userName": "q@example.com"}).body["id"]
    deactivate(scim_w, uid)
    scim_w("POST", "/Users", {"schemas": [USER], "userName": "Q@example.com"})  # 409, another resource

    code, out, _ = run("audit", "demo", "--user", uid, "--json")

    assert code == 0
    rows = json.loads(out)
    deactivation = next(r for r in rows if "active" in r["changedAttributes"] and r["method"] == "PATCH")
    assert (deactivation["tokenId"], deactivation["status"], deactivation["outcome"]) == (
        TOKEN_ID,
        200,
        "success",
    )
    assert {r["resourceId"] for r in rows} == {uid}


def test_scimctl_audit_table_shows_what_the_idp_sent_and_what_failed(scim_w: ScimClient, run: Any) -> None:
    scim_w("POST", "/Users", {"schemas": [USER], "userName": "r@example.com"})
    scim_w("POST", "/Users", {"schemas": [USER], "userName": "r@example.com"})

    # The proxy events carry a fixed 2026 request time: read from well before it.
    code, out, _ = run("audit", "demo", "--since", "2020-01-01T00:00:00Z")

    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == [
        "TIME",
        "STATUS",
        "OPERATION",
        "RESOURCE",
        "CHANGED",
        "TOKEN",
        "REQUEST",
        "ERROR",
    ]
    assert "201" in lines[1]
    assert "POST User" in lines[1]
    assert "409" in lines[2]
    assert "uniqueness: User 'r@example.com' already exists" in lines[2]
    assert lines[-1] == "2 record(s), 1 failed"
    assert run("--json", "audit", "demo", "--since", "2020-01-01")[1].count('"outcome"') == 2


def test_scimctl_audit_refuses_bad_input(run: Any) -> None:
    assert run("audit", "Not-A-Tenant")[0] == 2
    with pytest.raises(SystemExit):
        run("audit", "demo", "--since", "yesterday")


def test_since_accepts_durations_and_iso_times() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert audit_cli.parse_since("1h", now) == "2026-05-01T11:00:00.000Z"
    assert audit_cli.parse_since("7d", now) == "2026-04-24T12:00:00.000Z"
    assert audit_cli.parse_since("2026-05-01T14:00:00+02:00") == "2026-05-01T12:00:00.000Z"
    assert audit_cli.parse_since("2026-05-01") == "2026-05-01T00:00:00.000Z"
    assert audit_cli.render_table([]) == "No audit records in this window."
