"""docs/management-openapi.json stays true to what the stack serves: the ManagementApi's routes in
template.yaml, AWS_IAM on each of them, and the fields the code answers with."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.events.journal import FeedEvent, FeedPage
from core.management import IssuedToken, Management
from core.store.reset_records import ResetRecord
from core.tenants import Tenant
from core.tokens import TokenMetadata
from scimctl.template import load_template
from tests.conftest import ROOT

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads((ROOT / "docs" / "management-openapi.json").read_text(encoding="utf-8"))


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


def test_every_management_route_is_described_and_nothing_else(document: dict[str, Any]) -> None:
    template = load_template(ROOT / "template.yaml", api="ManagementApi")
    routed = {(route.path, route.method.lower()) for route in template.routes}
    described = {(p, m) for p, item in document["paths"].items() for m in item if m in METHODS}
    assert described == routed
    assert len(routed) == 29


def test_every_management_route_is_aws_iam_and_no_scim_route_is() -> None:
    management = load_template(ROOT / "template.yaml", api="ManagementApi")
    scim = load_template(ROOT / "template.yaml")
    assert all(route.iam and route.authorizer is None for route in management.routes)
    assert not any(route.iam for route in scim.routes)
    assert not {r.path for r in management.routes} & {r.path for r in scim.routes}


def test_every_error_is_a_problem_and_every_post_is_idempotent(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            for status, response in operation["responses"].items():
                if int(status) >= 400 and status != "403":  # 403: API Gateway's own body
                    assert list(response["content"]) == ["application/problem+json"], (path, method, status)
            if method == "post":
                names = {p["name"] for p in operation.get("parameters", [])}
                assert "Idempotency-Key" in names, path


def test_described_fields_are_the_fields_the_code_answers(document: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    manage = Management(None, None, scim_base_url="https://x/v1/scim/v2")  # type: ignore[arg-type]
    tenant = Tenant(tenant_id="acme", display_name="Acme", created_at=now)
    meta = TokenMetadata(tenant_id="acme", token_id="acme.0123456789abcdef", name="okta", created_at=now)
    views = {
        "Tenant": manage.tenant_view(tenant),
        "Token": manage.token_view(meta),
        "IssuedToken": manage.issued_view(IssuedToken("scim_acme.0123456789abcdef_x", meta)),
        "Reset": ResetRecord("acme", "r-1", "running", "groups", "arn:aws:iam::1:user/x", "t", "t").view(),
    }
    for name, view in views.items():
        assert set(view) == set(schema(document, name)["properties"]), name
        assert set(schema(document, name)["required"]) <= set(view), name


def test_described_health_is_the_health_the_code_answers(document: dict[str, Any], admin: Management) -> None:
    admin.create_tenant("acme")
    admin.issue_token("acme", "okta", timedelta(days=3))
    health = admin.health("acme")
    assert set(health) == set(schema(document, "Health")["properties"])
    assert set(health["tokens"]) == set(schema(document, "Health")["properties"]["tokens"]["properties"])
    assert len(health["tokens"]["expiring_within_30_days"]) == 1


def test_described_setup_links_are_the_fields_the_code_answers(document: dict[str, Any]) -> None:
    from core.setup_links import CreatedLink, SetupLinks  # noqa: PLC0415
    from core.store.setup_links_table import StoredLink  # noqa: PLC0415

    now = datetime.now(UTC)
    link = StoredLink("acme", "0123456789abcdef", "sha256:x", now, now + timedelta(days=1))
    links = SetupLinks(None, None, page_url="https://x/v1/setup")  # type: ignore[arg-type]
    for name, view in (
        ("SetupLink", links.view(link)),
        ("CreatedSetupLink", links.created_view(CreatedLink(link, "https://x/v1/setup#s"))),
    ):
        assert set(view) == set(schema(document, name)["properties"]), name
        assert set(schema(document, name)["required"]) <= set(view), name


def test_described_feed_events_are_the_events_the_code_answers(document: dict[str, Any]) -> None:
    event = FeedEvent(id="a" * 64, sequence=1, type="scim.user.created", time="t", tenant_id="acme", data={})
    page = FeedPage([event], "cursor")
    for name, body in (("EventPage", page.to_json()), ("StackEventPage", page.to_json(stack=True))):
        described = schema(document, name)
        assert set(body) == set(described["properties"]) == set(described["required"]), name
        item = schema(document, described["properties"]["data"]["items"]["$ref"].rsplit("/", 1)[-1])
        assert set(body["data"][0]) == set(item["properties"]) == set(item["required"]), name


def test_described_directory_reads_are_what_the_code_answers(
    document: dict[str, Any], admin: Management
) -> None:
    from tests.conftest import ScimClient  # noqa: PLC0415 - the SCIM handlers provision the data
    from tests.unit.directory_calls import read  # noqa: PLC0415

    admin.create_tenant("demo")
    scim = ScimClient("demo")
    user = scim("POST", "/Users", {"schemas": [USER], "userName": "a@example.com"}).body
    group = scim(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "G", "members": [{"value": user["id"]}]}
    )
    answers = {
        "DirectoryUser": read(f"/tenants/demo/users/{user['id']}").body,
        "DirectoryGroup": read(f"/tenants/demo/groups/{group.body['id']}").body,
        "UserPage": read("/tenants/demo/users").body,
        "GroupPage": read("/tenants/demo/groups").body,
    }
    for name, answer in answers.items():
        described = schema(document, name)
        assert set(answer) == set(described["properties"]) == set(described["required"]), name
    refs = {
        "GroupRef": answers["DirectoryUser"]["groups"]["data"][0],
        "MemberRef": answers["DirectoryGroup"]["members"]["data"][0],
    }
    for name, ref in refs.items():
        assert (
            set(schema(document, name)["required"]) <= set(ref) <= set(schema(document, name)["properties"])
        )
    for name, doc in (
        ("ScimUser", answers["UserPage"]["data"][0]),
        ("ScimGroup", answers["GroupPage"]["data"][0]),
    ):
        assert set(schema(document, name)["required"]) <= set(doc), name
        assert set(doc["meta"]) == set(schema(document, name)["properties"]["meta"]["properties"]), name


USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
