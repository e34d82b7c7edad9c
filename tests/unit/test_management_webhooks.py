"""The management API's webhook routes through the real handler with moto: the secret is
write-only (in Secrets Manager only, never in an answer after the first, DynamoDB or the logs),
the SSRF rules are enforced, and the problem details are right."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from standardwebhooks import Webhook

from core.webhooks.delivery import WebhookMessage, signed_headers
from core.webhooks.signature import new_secret
from core.webhooks.targets import WebhookTargets
from tests.conftest import ROOT, SECRETS_PREFIX, TABLE_NAME
from tests.unit.management_calls import call
from tests.unit.test_management_openapi import schema


@pytest.fixture
def acme(aws: None) -> str:
    assert call("POST", "/tenants", {"tenant_id": "acme"}).status == 201
    return "acme"


def stored(tenant: str | None) -> Any:
    return WebhookTargets(boto3.client("secretsmanager"), SECRETS_PREFIX).get(tenant)


def test_put_generates_a_secret_shown_once_and_get_never_shows_it(acme: str, log_output: Any) -> None:
    put = call("PUT", "/tenants/acme/webhook", {"url": "https://hooks.example.com/scim"})
    assert put.status == 200
    assert put.headers["Cache-Control"] == "no-store"
    secret = put.body["secret"]
    assert secret.startswith("whsec_")
    assert put.body["scope"] == "tenant"
    assert put.body["url"] == "https://hooks.example.com/scim"
    got = call("GET", "/tenants/acme/webhook")
    assert got.status == 200
    assert got.body == {k: v for k, v in put.body.items() if k != "secret"}
    assert got.body["secret_set"] is True
    assert secret not in got.text
    # The generated secret is the one deliveries sign with.
    message = WebhookMessage.of("scim.user.created", {"idempotencyKey": "ab" * 32, "tenantId": "acme"})
    now = datetime.now(UTC)
    Webhook(secret).verify(message.body, signed_headers(message, stored("acme").signing_secrets(now), now))
    # Nowhere else: no DynamoDB item, no log line.
    items = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]
    assert secret not in json.dumps(items)
    assert "hooks.example.com" not in json.dumps(items)
    assert secret not in log_output.getvalue()


def test_a_given_secret_rotates_and_the_previous_one_keeps_signing(acme: str) -> None:
    first, second = new_secret(), new_secret()
    assert (
        call("PUT", "/tenants/acme/webhook", {"url": "https://a.example.com/", "secret": first}).status == 200
    )
    put = call("PUT", "/tenants/acme/webhook", {"url": "https://a.example.com/", "secret": second})
    assert put.status == 200
    assert "secret" not in put.body  # given, not generated: never echoed
    assert put.body["previous_secret_expires_at"] is not None
    assert [s.secret for s in stored("acme").secrets] == [second, first]
    # A URL change alone keeps the secrets.
    moved = call("PUT", "/tenants/acme/webhook", {"url": "https://b.example.com/"})
    assert moved.status == 200
    assert "secret" not in moved.body
    assert stored("acme").url == "https://b.example.com/"
    assert stored("acme").secrets[0].secret == second
    rotated = call("PUT", "/tenants/acme/webhook", {"url": "https://b.example.com/", "rotate": True})
    assert rotated.body["secret"] not in (first, second)
    assert stored("acme").secrets[0].secret == rotated.body["secret"]


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/",
        "https://127.0.0.1:8080/",
        "https://localhost/",
        "https://metadata.google.internal/",
        "not a url",
    ],
)
def test_unsafe_urls_are_a_400_problem(acme: str, url: str) -> None:
    answer = call("PUT", "/tenants/acme/webhook", {"url": url})
    assert answer.status == 400
    assert answer.content_type == "application/problem+json"
    assert answer.body["status"] == 400
    assert "url" in answer.body["detail"]
    assert stored("acme").url is None


def test_bad_bodies_and_secrets_are_400s(acme: str) -> None:
    url = "https://hooks.example.com/"
    for body in ({}, {"url": url, "secret": "hunter2"}, {"url": url, "extra": 1}, {"url": 5}):
        answer = call("PUT", "/tenants/acme/webhook", body)
        assert answer.status == 400, body
        assert answer.content_type == "application/problem+json"
        assert "hunter2" not in answer.text


def test_unknown_tenants_and_missing_targets_are_404s(acme: str) -> None:
    assert call("PUT", "/tenants/nobody/webhook", {"url": "https://hooks.example.com/"}).status == 404
    assert call("GET", "/tenants/acme/webhook").status == 404
    assert call("DELETE", "/tenants/acme/webhook").status == 404
    assert call("GET", "/webhook").status == 404
    assert call("PUT", "/tenants/acme/webhook", {"url": "https://hooks.example.com/"}).status == 200
    assert call("DELETE", "/tenants/acme/webhook").status == 204
    assert call("GET", "/tenants/acme/webhook").status == 404
    assert stored("acme").url is None


def test_the_stack_wide_target(aws: None) -> None:
    put = call("PUT", "/webhook", {"url": "https://all.example.com/hook"})
    assert put.status == 200
    assert put.body["scope"] == "stack"
    got = call("GET", "/webhook")
    assert got.body["url"] == "https://all.example.com/hook"
    assert put.body["secret"] not in got.text
    assert stored(None).url == "https://all.example.com/hook"
    assert call("DELETE", "/webhook").status == 204
    assert call("GET", "/webhook").status == 404


def test_described_webhook_fields_are_the_fields_the_code_answers(acme: str) -> None:
    document = json.loads((ROOT / "docs/management-openapi.json").read_text())
    put = call("PUT", "/tenants/acme/webhook", {"url": "https://hooks.example.com/"})
    assert set(put.body) == set(schema(document, "WebhookTargetSet")["properties"])
    got = call("GET", "/tenants/acme/webhook")
    assert set(got.body) == set(schema(document, "WebhookTarget")["properties"])
    assert set(schema(document, "WebhookTarget")["required"]) == set(got.body)


def test_setting_and_removing_a_tenants_target_is_in_its_audit_trail_without_url_or_secret(acme: str) -> None:
    """Where a tenant's directory data goes is a security decision: each change names its caller."""
    first = call("PUT", "/tenants/acme/webhook", {"url": "https://a.example.com/scim"})
    assert first.status == 200
    same_url = call("PUT", "/tenants/acme/webhook", {"url": "https://a.example.com/scim", "rotate": True})
    assert same_url.status == 200
    assert call("DELETE", "/tenants/acme/webhook").status == 204
    assert call("PUT", "/webhook", {"url": "https://stack.example.com/"}).status == 200  # no tenant's

    trail = call("GET", "/tenants/acme/audit")
    assert trail.status == 200, trail.text
    hooks = [r for r in trail.body["data"] if r["resource_type"] == "Webhook"]
    assert [(r["method"], r["changed_attributes"], r["status"]) for r in hooks] == [
        ("PUT", ["url", "secret"], 200),
        ("PUT", ["secret"], 200),  # the URL stayed: only the rotation is a change
        ("DELETE", ["url", "secret"], 204),
    ]
    assert {r["resource_id"] for r in hooks} == {"acme"}
    assert all(r["actor"] and r["actor"] != "unknown" for r in hooks), hooks
    assert "a.example.com" not in trail.text
    assert first.body["secret"] not in trail.text
    assert "stack.example.com" not in trail.text
