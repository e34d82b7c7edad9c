"""docs/examples/consumer.py against `scimctl serve` (issue 16, "Done means", the consumer).

Given a tenant with users and groups provisioned before the consumer existed, when the example
back-fills from the read API, follows the feed through every kind of change, receives the same
events again as signed webhooks and re-reads the feed from the start (a replay: duplicates), and
reconciles after its cursor expired (410), then its SQLite copy holds exactly the users and the
memberships the read API answers.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore.credentials import Credentials
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from handlers import management
from scimctl.gateway import RunningGateway
from tests.conftest import ROOT
from tests.integration.conftest import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA, ScimHttp, new_tenant

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a Standard Webhooks test secret (base64)


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "consumer_example", ROOT / "docs" / "examples" / "consumer.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


consumer = load_example()


def patch(scim: ScimHttp, path: str, *operations: dict[str, Any]) -> None:
    answer = scim.patch(path, {"schemas": [PATCH_OP], "Operations": list(operations)})
    assert answer.status in (200, 204), answer.text


def new_user(scim: ScimHttp, name: str) -> str:
    answer = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": name, "active": True})
    assert answer.status == 201, answer.text
    return str(answer.json["id"])


def new_group(scim: ScimHttp, name: str, *members: str) -> str:
    body = {"schemas": [GROUP_SCHEMA], "displayName": name, "members": [{"value": m} for m in members]}
    answer = scim.post("/Groups", body)
    assert answer.status == 201, answer.text
    return str(answer.json["id"])


def truth(api: Any, tenant: str) -> tuple[dict[str, tuple[str, bool]], set[tuple[str, str]]]:
    """The tenant's users and memberships as the read API answers them."""
    base = f"/tenants/{tenant}"
    users = {u["id"]: (u["userName"], u.get("active", True) is not False) for u in api.pages(f"{base}/users")}
    memberships = {
        (g["id"], m["value"])
        for g in api.pages(f"{base}/groups")
        for m in api.pages(f"{base}/groups/{g['id']}/members")
    }
    return users, memberships


def signed(event: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """A delivery as the stack's webhooks send it: the Standard Webhooks payload, signed."""
    body = json.dumps({"type": event["type"], "timestamp": event["time"], "data": event["data"]}).encode()
    now = datetime.now(UTC)
    signature = Webhook(SECRET).sign(event["id"], now, body.decode())
    headers = {
        "webhook-id": event["id"],
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return headers, body


@pytest.fixture
def api(running: RunningGateway) -> Any:
    return consumer.ManagementApi(running.management_url, "us-east-1", Credentials("local", "local"))


def test_the_consumer_copy_matches_the_read_api_after_changes_a_replay_and_an_expired_cursor(
    running: RunningGateway, api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, token = new_tenant(running, "consumer")
    scim = ScimHttp(running.tenant_url_of(tenant), token)
    # Before the consumer exists: two users, one group with both.
    ada, bob = new_user(scim, "ada@example.com"), new_user(scim, "bob@example.com")
    admins = new_group(scim, "Admins", ada, bob)

    copy = consumer.TenantCopy(str(tmp_path / "copy.sqlite3"), api, tenant, page_size=2)
    copy.sync()  # first run: back-fill, then the feed
    assert (copy.users(), copy.memberships()) == truth(api, tenant)
    assert copy.memberships() == {(admins, ada), (admins, bob)}

    # Every kind of change, then a sync.
    cy = new_user(scim, "cy@example.com")
    patch(scim, f"/Users/{bob}", {"op": "replace", "path": "active", "value": False})
    patch(scim, f"/Groups/{admins}", {"op": "add", "path": "members", "value": [{"value": cy}]})
    patch(scim, f"/Groups/{admins}", {"op": "remove", "path": f'members[value eq "{ada}"]'})
    patch(scim, f"/Users/{ada}", {"op": "replace", "path": "active", "value": False})
    patch(scim, f"/Users/{ada}", {"op": "replace", "path": "active", "value": True})
    ops = new_group(scim, "Ops", ada)
    assert scim.delete(f"/Users/{bob}").status == 204
    applied = copy.sync()
    assert applied >= 8
    assert (copy.users(), copy.memberships()) == truth(api, tenant)

    # A replay: the events since the back-fill pushed again as signed webhooks (duplicates: dropped),
    # then the whole feed pulled again from its start, in order, over the copy.
    everything = [e for page in _feed(api, tenant) for e in page]
    since_backfill = everything[-applied:]
    for event in since_backfill:
        headers, body = signed(event)
        assert copy.receive_webhook(SECRET, headers, body) == 0
    headers, body = signed(everything[-1])
    with pytest.raises(WebhookVerificationError):
        copy.receive_webhook(SECRET, headers, body.replace(b"scim.", b"scam."))  # tampered
    copy._set_state("cursor", "")  # re-read the feed from its start
    copy.db.commit()
    assert copy.sync() == len(everything) - applied  # only what the back-fill had covered
    assert copy.sync() == 0
    assert (copy.users(), copy.memberships()) == truth(api, tenant)

    # A new event arrives first as a webhook, then on the feed: applied once.
    dee = new_user(scim, "dee@example.com")
    patch(scim, f"/Groups/{ops}", {"op": "add", "path": "members", "value": [{"value": dee}]})
    newest = [e for page in _feed(api, tenant) for e in page][-2:]
    assert [e["type"] for e in newest] == ["scim.user.created", "scim.group.member_added"]
    assert copy.receive_webhook(SECRET, *signed(newest[0])) == 2  # the push triggers a pull of both
    assert copy.receive_webhook(SECRET, *signed(newest[1])) == 0  # already applied from the feed
    assert copy.sync() == 0
    assert (copy.users(), copy.memberships()) == truth(api, tenant)

    # 31 days later the cursor has expired: the feed answers 410, the consumer back-fills.
    feed = management.journal()
    real_now = feed._now
    monkeypatch.setattr(feed, "_now", lambda: real_now() + 31 * 86_400)
    with pytest.raises(consumer.FeedExpired):
        api.get(f"/tenants/{tenant}/events", {"after": copy._state("cursor")})
    patch(scim, f"/Users/{cy}", {"op": "replace", "path": "userName", "value": "cyrus@example.com"})
    copy.sync()
    assert copy.users()[cy] == ("cyrus@example.com", True)
    assert (copy.users(), copy.memberships()) == truth(api, tenant)


def _feed(api: Any, tenant: str) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    after: str | None = None
    while True:
        page = api.get(f"/tenants/{tenant}/events", {"limit": "200"} | ({"after": after} if after else {}))
        if not page["data"]:
            return pages
        pages.append(page["data"])
        after = page["next_cursor"]
