"""Webhook signing (Standard Webhooks, verified with the `standardwebhooks` library), the SSRF
rules for target URLs, the retry schedule, and the targets kept in Secrets Manager."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from core.webhooks.delivery import RETRY_SCHEDULE, RetrySchedule, WebhookMessage, signed_headers
from core.webhooks.signature import InvalidWebhookSecret, check_secret, new_secret
from core.webhooks.targets import ROTATION_OVERLAP, WebhookTargets
from core.webhooks.urls import InvalidWebhookUrl, check_address, check_url
from tests.conftest import SECRETS_PREFIX

DETAIL = {
    "version": 1,
    "idempotencyKey": "ab" * 32,
    "tenantId": "acme",
    "resourceType": "User",
    "resourceId": "u1",
    "occurredAt": "2026-11-22T07:23:53.235Z",
    "changedAttributes": ["active"],
    "resource": {"id": "u1", "userName": "bjensen@example.com", "displayName": "Björn"},
}


def message() -> WebhookMessage:
    return WebhookMessage.of("scim.user.deactivated", DETAIL)


def test_every_signature_verifies_with_the_library_and_a_tampered_body_does_not() -> None:
    secret = new_secret()
    msg = message()
    headers = signed_headers(msg, [secret], datetime.now(UTC))
    assert headers["webhook-id"] == DETAIL["idempotencyKey"]
    assert headers["webhook-signature"].startswith("v1,")
    payload = Webhook(secret).verify(msg.body, headers)
    assert payload == {"type": "scim.user.deactivated", "timestamp": DETAIL["occurredAt"], "data": DETAIL}
    tampered = msg.body.replace('"active"', '"title"')
    assert tampered != msg.body
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):  # another receiver's secret
        Webhook(new_secret()).verify(msg.body, headers)
    with pytest.raises(WebhookVerificationError):  # the id is signed too
        Webhook(secret).verify(msg.body, headers | {"webhook-id": "cd" * 32})


def test_an_old_timestamp_is_refused_by_the_receiver() -> None:
    secret = new_secret()
    headers = signed_headers(message(), [secret], datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(message().body, headers)


def test_during_a_rotation_both_secrets_verify() -> None:
    new, old = new_secret(), new_secret()
    headers = signed_headers(message(), [new, old], datetime.now(UTC))
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(message().body, headers)
    Webhook(old).verify(message().body, headers)


def test_secrets_are_whsec_base64_of_24_to_64_bytes() -> None:
    generated = new_secret()
    assert check_secret(generated) == generated
    assert generated.startswith("whsec_")
    assert len(generated) == len("whsec_") + 44
    for bad in ("", "whsec_", "whsec_c2hvcnQ=", "nope_" + generated[6:], "whsec_not*base64*at*all" * 3):
        with pytest.raises(InvalidWebhookSecret) as caught:
            check_secret(bad)
        assert len(bad) < 8 or bad not in caught.value.detail  # never echoed


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/scim",
        "https://hooks.example.com:8443/scim?tenant=acme",
        "https://8.8.8.8/x",
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/scim", "https"),
        ("ftp://hooks.example.com/", "https"),
        ("hooks.example.com/scim", "https"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://127.0.0.1/", "not a public address"),
        ("https://localhost/", "internal name"),
        ("https://10.0.0.5/", "not a public address"),
        ("https://172.16.0.1/", "not a public address"),
        ("https://192.168.1.1/", "not a public address"),
        ("https://169.254.169.254/latest/meta-data/", "not a public address"),
        ("https://[fd00:ec2::254]/", "not a public address"),
        ("https://[::ffff:169.254.169.254]/", "not a public address"),
        ("https://100.64.0.1/", "not a public address"),
        ("https://0.0.0.0/", "not a public address"),
        ("https://metadata.google.internal/", "internal name"),
        ("https://printer.local/", "internal name"),
        ("https://intranet/", "internal name"),
        ("https://hooks.example.com:0/", "port 0"),
        ("https://hooks.example.com:99999/", "not a valid URL"),
    ],
)
def test_private_link_local_metadata_and_plain_http_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(InvalidWebhookUrl, match=why):
        check_url(url)


def test_loopback_and_http_only_locally() -> None:
    assert check_url("http://127.0.0.1:9000/hook", allow_loopback=True)
    assert check_url("http://localhost:9000/hook", allow_loopback=True)
    with pytest.raises(InvalidWebhookUrl):  # still no plain http to anything else
        check_url("http://hooks.example.com/", allow_loopback=True)
    with pytest.raises(InvalidWebhookUrl):  # and no private address either
        check_url("https://10.1.2.3/", allow_loopback=True)
    check_address(ipaddress.ip_address("127.0.0.1"), allow_loopback=True)
    with pytest.raises(InvalidWebhookUrl):
        check_address(ipaddress.ip_address("127.0.0.1"))


def test_the_schedule_retries_for_more_than_24_hours_in_8_attempts() -> None:
    assert RETRY_SCHEDULE.max_attempts == 8
    assert [RETRY_SCHEDULE.delay_after(n) for n in range(1, 9)] == [
        5, 300, 1800, 7200, 18000, 36000, 36000, None,
    ]  # fmt: skip
    assert RETRY_SCHEDULE.total_seconds > 24 * 3600
    assert max(RETRY_SCHEDULE.delays) <= 12 * 3600  # SQS's longest visibility timeout
    assert RetrySchedule.parse("0.1, 0.2") == RetrySchedule((0.1, 0.2))
    with pytest.raises(ValueError, match="seconds"):
        RetrySchedule.parse("soon")


def test_targets_live_in_secrets_manager_and_rotation_keeps_the_previous_secret(aws: None) -> None:
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    store = WebhookTargets(boto3.client("secretsmanager"), SECRETS_PREFIX, now=lambda: now)
    assert not store.for_tenant("acme").configured
    first, second = new_secret(), new_secret()
    store.put(None, "https://stack.example.com/hook", first)
    assert store.for_tenant("acme").scope == "stack"  # no target of its own: the stack's
    store.put("acme", "https://acme.example.com/hook", first)
    rotated = store.put("acme", "https://acme.example.com/hook", second)
    assert rotated.signing_secrets(now) == [second, first]
    assert rotated.signing_secrets(now + ROTATION_OVERLAP) == [second]  # the old one expired
    view = store.for_tenant("acme").view(now)
    assert view["scope"] == "tenant"
    assert view["secret_set"] is True
    assert first not in json.dumps(view)
    assert second not in json.dumps(view)
    raw = boto3.client("secretsmanager").get_secret_value(SecretId=f"{SECRETS_PREFIX}webhooks/tenants/acme")
    assert json.loads(raw["SecretString"])["url"] == "https://acme.example.com/hook"
    assert store.delete("acme") is True
    assert store.delete("acme") is False
    assert store.for_tenant("acme").scope == "stack"
    with pytest.raises(ValueError, match="invalid tenant id"):
        store.get("../tokens")


def test_the_documented_receiver_snippet_verifies_and_refuses_tampering() -> None:
    from tests.conftest import ROOT  # noqa: PLC0415

    text = (ROOT / "docs/webhooks.md").read_text(encoding="utf-8")
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
    secret, handled, seen = new_secret(), [], set()
    namespace: dict[str, object] = {
        "SECRET": secret,
        "already_seen": lambda key: key in seen or bool(seen.add(key)),
        "handle": lambda kind, data: handled.append(kind),
    }
    exec(compile(snippet, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - our own documentation
    receive = namespace["receive"]
    msg = message()
    headers = signed_headers(msg, [secret], datetime.now(UTC))
    assert receive(msg.body.encode(), headers) == 200  # type: ignore[operator]
    assert receive(msg.body.encode(), headers) == 200  # type: ignore[operator]  # a retry: not handled twice
    assert handled == ["scim.user.deactivated"]
    assert receive(msg.body.replace("u1", "u2").encode(), headers) == 400  # type: ignore[operator]
