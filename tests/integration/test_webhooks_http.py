"""`scimctl serve --webhook-url URL --webhook-secret S` over real HTTP (issue 16, item 6).

An IdP's requests to the local gateway become events (the local pump) and each event a signed
webhook to a real loopback receiver that verifies every delivery with the `standardwebhooks`
library. The receiver answers 500 three times first: that event arrives on the fourth attempt,
with the same webhook-id. A receiver that hangs does not slow the SCIM API down."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from core.webhooks.signature import new_secret
from tests.integration.conftest import PATCH_OP, USER_SCHEMA, ScimHttp
from tests.integration.sigv4_client import ManagementHttp
from tests.integration.test_local_restart import start, token_of
from tests.webhook_receiver import Delivery, webhook_receiver

pytestmark = pytest.mark.integration

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def active(value: bool) -> dict[str, object]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": value}}]}


def wait_until(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def ok_types(deliveries: list[Delivery]) -> list[str]:
    return [d.payload["type"] for d in deliveries if d.answered == 200]


def test_every_event_is_signed_retried_and_delivered_once(tmp_path: Path) -> None:
    secret = new_secret()
    with webhook_receiver(secret, statuses=[500, 500, 500], first_event_only=True) as receiver:
        serve = start(
            tmp_path,
            tmp_path / "data",
            "--webhook-url",
            receiver.url,
            "--webhook-secret",
            secret,
            "--webhook-retry-schedule",
            "0.2,0.2,0.2,0.2",
        )
        try:
            assert f"Webhooks:    {receiver.url}" in serve.banner
            assert secret not in serve.banner
            client = ScimHttp(serve.tenant_url, token_of(tmp_path / "data"))
            user = client.post("/Users", {"schemas": [USER_SCHEMA], "userName": "wh@example.com"})
            assert user.status == 201, user.text
            uid = user.json["id"]
            assert client.patch(f"/Users/{uid}", active(False)).status == 200
            assert client.patch(f"/Users/{uid}", active(True)).status == 200
            group = client.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Hooks"})
            assert group.status == 201, group.text
            gid = group.json["id"]
            add = {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}],
            }
            assert client.patch(f"/Groups/{gid}", add).status in (200, 204)
            remove = {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "remove", "path": f'members[value eq "{uid}"]'}],
            }
            assert client.patch(f"/Groups/{gid}", remove).status in (200, 204)
            assert client.delete(f"/Users/{uid}").status == 204
            expected = [
                "scim.user.created",
                "scim.user.deactivated",
                "scim.user.reactivated",
                "scim.group.created",
                "scim.group.member_added",
                "scim.group.member_removed",
                "scim.user.deleted",
            ]
            wait_until(lambda: [t for t in ok_types(receiver.deliveries) if t in expected] == expected)
        finally:
            assert serve.stop() == 0
    deliveries = receiver.deliveries
    assert all(d.verified for d in deliveries), [d.headers for d in deliveries if not d.verified]
    first_id = deliveries[0].headers["webhook-id"]
    assert [d.answered for d in deliveries if d.headers["webhook-id"] == first_id] == [500, 500, 500, 200]
    delivered = [d.headers["webhook-id"] for d in deliveries if d.answered == 200]
    assert len(delivered) == len(set(delivered))  # each event delivered once
    for d in deliveries:
        assert d.headers["webhook-id"] == d.payload["data"]["idempotencyKey"]
        assert d.headers["Content-Type"] == "application/json"
    user_events = [
        d.payload for d in deliveries if d.answered == 200 and d.payload["data"].get("resourceId") == uid
    ]
    assert user_events[0]["data"]["resource"]["userName"] == "wh@example.com"
    # A tampered body fails verification with the same headers.
    one = deliveries[-1]
    tampered = one.body.replace(b'"scim.', b'"xcim.', 1)
    assert tampered != one.body
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, one.headers)
    assert json.loads(one.body) == one.payload


def test_a_hanging_receiver_never_blocks_requests(tmp_path: Path) -> None:
    secret = new_secret()
    with webhook_receiver(secret) as receiver:
        receiver.gate.clear()  # every delivery hangs until the gate opens
        serve = start(tmp_path, tmp_path / "data", "--webhook-url", receiver.url, "--webhook-secret", secret)
        try:
            client = ScimHttp(serve.tenant_url, token_of(tmp_path / "data"))
            started = time.monotonic()
            for n in range(5):
                created = client.post(
                    "/Users", {"schemas": [USER_SCHEMA], "userName": f"hang{n}@example.com"}
                )
                assert created.status == 201, created.text
            assert time.monotonic() - started < 20  # far less than 5 hung deliveries would take
            assert receiver.deliveries == []  # none answered yet: the receiver is still hanging
            receiver.gate.set()
            wait_until(lambda: ok_types(receiver.deliveries).count("scim.user.created") == 5)
        finally:
            receiver.gate.set()
            assert serve.stop() == 0
    assert all(d.verified for d in receiver.deliveries)


def test_a_bad_secret_is_refused_at_start(tmp_path: Path) -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    result = subprocess.run(  # noqa: S603, PLW1510 - our own CLI; the exit code is what is tested
        [
            sys.executable,
            "-m",
            "scimctl.cli",
            "--state-file",
            str(tmp_path / "s.json"),
            "serve",
            "--port",
            "0",
            "--webhook-url",
            "http://127.0.0.1:9/x",
            "--webhook-secret",
            "hunter2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "secret must be 'whsec_'" in result.stderr
    assert "hunter2" not in result.stderr


def test_redelivery_from_the_feed_over_the_local_management_api(tmp_path: Path) -> None:
    secret = new_secret()
    with webhook_receiver(secret) as receiver:
        serve = start(tmp_path, tmp_path / "data", "--webhook-url", receiver.url, "--webhook-secret", secret)
        try:
            banner = serve.banner.splitlines()
            management = ManagementHttp(
                next(ln.split(":", 1)[1].strip() for ln in banner if "Management API:" in ln)
            )
            client = ScimHttp(serve.tenant_url, token_of(tmp_path / "data"))
            for n in range(3):
                created = client.post("/Users", {"schemas": [USER_SCHEMA], "userName": f"re{n}@example.com"})
                assert created.status == 201, created.text
            wait_until(lambda: ok_types(receiver.deliveries).count("scim.user.created") == 3)
            pushed = [
                d.headers["webhook-id"]
                for d in receiver.deliveries
                if d.payload["type"] == "scim.user.created"
            ]
            feed = management.get("/tenants/demo/events?types=scim.user.created")
            assert feed.status == 200, feed.text
            assert [e["id"] for e in feed.json["data"]] == pushed  # the feed's ids are the webhook-ids
            before = len(receiver.deliveries)
            redo = management.post(
                "/tenants/demo/webhook/redeliver", {"types": "scim.user.created", "limit": 200}
            )
            assert redo.status == 202, redo.text
            assert redo.json["ids"] == pushed
            wait_until(lambda: len(receiver.deliveries) >= before + 3)
        finally:
            assert serve.stop() == 0
    again = receiver.deliveries[before:]
    assert sorted(d.headers["webhook-id"] for d in again) == sorted(pushed)  # the same ids: dedupable
    assert all(d.verified for d in again)
