"""Setup links and the setup API through the real handlers, with moto (issue 17, docs/setup-page.md).

Given a tenant with a setup link made on the management API, when its IT admin's browser redeems
the link and calls the setup API with the session cookie, then: the secret is never stored, a link
opens one session once, an expired, revoked or guessed link is refused with a reason, the session
reaches only its own tenant whatever the request says, writes need the CSRF header, and token
actions are recorded with the setup session as their actor.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta
from typing import Any

import boto3
import pytest
from pydantic import ValidationError

from core.events import events_for_record
from core.profiles import Profile, RoleMapping
from core.store.audit_table import AuditTable
from handlers import setup
from scimctl.admin import Admin
from tests.conftest import TABLE_NAME
from tests.support import FakeContext
from tests.unit import management_calls
from tests.unit.setup_calls import ORIGIN, WRITE, Answer, call, redeem

FRAGMENT = re.compile(
    r"^https://setup\.example\.com/v1/setup#(?P<t>[a-z0-9-]+)\.(?P<id>[0-9a-f]{16})\.(?P<s>[\w-]{43})$"
)
API_GETS = ("/setup/api/overview", "/setup/api/tokens", "/setup/api/health", "/setup/api/log")


@pytest.fixture
def tenants(admin: Admin) -> tuple[str, str]:
    admin.create_tenant("acme", "Acme")
    admin.create_tenant("globex", "Globex")
    return "acme", "globex"


def new_link(tenant: str, **body: Any) -> dict[str, Any]:
    made = management_calls.call("POST", f"/tenants/{tenant}/setup-links", body)
    assert made.status == 201, made.text
    assert made.headers["Cache-Control"] == "no-store"
    answer: dict[str, Any] = made.body
    return answer


def session_for(tenant: str) -> str:
    opened = redeem(new_link(tenant)["url"])
    assert opened.status == 201, opened.text
    assert opened.cookie is not None
    return opened.cookie


def raw_items(tenant: str) -> list[dict[str, Any]]:
    out = boto3.client("dynamodb").query(
        TableName=TABLE_NAME,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"T#{tenant}#SETUP"}},
    )
    return list(out["Items"])


# -- links on the management API ------------------------------------------------------------------
def test_a_link_carries_a_256_bit_secret_in_its_fragment_and_only_its_hash_is_stored(
    tenants: tuple[str, str],
) -> None:
    link = new_link("acme")
    found = FRAGMENT.fullmatch(link["url"])
    assert found is not None, link["url"]
    assert (found["t"], found["id"]) == ("acme", link["id"])
    assert len(found["s"]) * 6 >= 256  # 43 base64url characters: 258 bits
    (item,) = raw_items("acme")
    stored = json.dumps(item)
    assert found["s"] not in stored
    assert item["secretHash"]["S"].startswith("sha256:")
    assert int(item["ttl"]["N"]) > 0  # DynamoDB's TTL removes it after expiry
    listed = management_calls.call("GET", "/tenants/acme/setup-links")
    assert listed.status == 200
    assert [row["id"] for row in listed.body["data"]] == [link["id"]]
    assert listed.body["data"][0]["state"] == "pending"
    assert found["s"] not in listed.text
    assert "secret" not in listed.text.lower()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"ttl_seconds": 299}, "ttl_seconds"),
        ({"ttl_seconds": 604_801}, "ttl_seconds"),
        ({"return_url": "javascript:alert(1)"}, "return_url"),
        ({"return_url": "http://evil.example/"}, "return_url"),
        ({"secret": "mine"}, "secret"),
    ],
)
def test_bad_link_requests_are_problems(
    tenants: tuple[str, str], body: dict[str, Any], fragment: str
) -> None:
    answer = management_calls.call("POST", "/tenants/acme/setup-links", body)
    assert answer.status == 400, answer.text
    assert answer.content_type == "application/problem+json"
    assert fragment in answer.body["detail"]


def test_links_of_a_missing_tenant_are_404(tenants: tuple[str, str]) -> None:
    assert management_calls.call("POST", "/tenants/nobody/setup-links", {}).status == 404
    assert management_calls.call("GET", "/tenants/nobody/setup-links").status == 404
    assert management_calls.call("DELETE", "/tenants/acme/setup-links/0123456789abcdef").status == 404


def test_a_retried_create_with_the_same_key_replays_the_same_link(tenants: tuple[str, str]) -> None:
    key = {"Idempotency-Key": "3b0c1f4e-8d2a-4c6b-9e7f-0a1b2c3d4e5f"}
    first = management_calls.call("POST", "/tenants/acme/setup-links", {"ttl_seconds": 600}, headers=key)
    again = management_calls.call("POST", "/tenants/acme/setup-links", {"ttl_seconds": 600}, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert first.body == again.body
    assert len(raw_items("acme")) == 1


# -- redemption -------------------------------------------------------------------------------------
def test_redeeming_opens_a_strict_cookie_session_once(tenants: tuple[str, str]) -> None:
    link = new_link("acme", return_url="https://app.example.com/settings/scim")
    opened = redeem(link["url"])
    assert opened.status == 201, opened.text
    cookie = opened.headers["Set-Cookie"]
    assert cookie.startswith(f"{setup.COOKIE}=acme.{link['id']}.")
    for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/v1/setup/api"):
        assert attribute in cookie.split("; "), cookie
    max_age = int(re.search(r"Max-Age=(\d+)", cookie)[1])  # type: ignore[index]
    assert 3500 < max_age <= 3600  # an hour of idleness
    assert opened.body["tenant_url"] == "https://api.example.com/v1/scim/v2/acme"
    assert opened.body["return_url"] == "https://app.example.com/settings/scim"
    # The session id is stored only as a hash.
    (item,) = raw_items("acme")
    assert opened.cookie is not None
    assert opened.cookie.rsplit(".", 1)[1] not in json.dumps(item)
    again = redeem(link["url"])
    assert again.status == 403
    assert "already used" in again.body["detail"]
    assert again.cookie is None
    listed = management_calls.call("GET", "/tenants/acme/setup-links")
    assert listed.body["data"][0]["state"] == "redeemed"


def test_an_expired_link_is_refused_and_says_what_to_ask_for(tenants: tuple[str, str]) -> None:
    link = new_link("acme", ttl_seconds=300)
    boto3.client("dynamodb").update_item(  # five minutes later
        TableName=TABLE_NAME,
        Key={"PK": {"S": "T#acme#SETUP"}, "SK": {"S": f"LINK#{link['id']}"}},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"S": "2020-01-01T00:00:00.000Z"}},
    )
    refused = redeem(link["url"])
    assert refused.status == 403
    assert "expired" in refused.body["detail"]
    assert "new link" in refused.body["detail"]


def test_a_guessed_or_altered_secret_is_refused_like_any_invalid_link(tenants: tuple[str, str]) -> None:
    link = new_link("acme")
    base, _, secret = link["url"].rpartition(".")
    flipped = ("A" if secret[0] != "A" else "B") + secret[1:]
    for url in (f"{base}.{flipped}", link["url"].replace("acme.", "globex."), "https://x/setup#nonsense"):
        refused = redeem(url)
        assert refused.status == 403, url
        assert "not valid" in refused.body["detail"]
    assert redeem(link["url"]).status == 201  # the real one still works: guesses did not burn it


def test_revoking_a_link_ends_its_session_at_once(tenants: tuple[str, str]) -> None:
    link = new_link("acme")
    cookie = redeem(link["url"]).cookie
    assert call("GET", "/setup/api/overview", cookie=cookie).status == 200
    assert management_calls.call("DELETE", f"/tenants/acme/setup-links/{link['id']}").status == 204
    ended = call("GET", "/setup/api/overview", cookie=cookie)
    assert ended.status == 401
    assert "Max-Age=0" in ended.headers["Set-Cookie"]  # the browser forgets it
    listed = management_calls.call("GET", "/tenants/acme/setup-links")
    assert listed.body["data"][0]["state"] == "revoked"
    assert redeem(new_link("acme")["url"]).status == 201  # other links are untouched


def test_a_pending_revoked_link_cannot_be_redeemed(tenants: tuple[str, str]) -> None:
    link = new_link("acme")
    management_calls.call("DELETE", f"/tenants/acme/setup-links/{link['id']}")
    refused = redeem(link["url"])
    assert refused.status == 403
    assert "revoked" in refused.body["detail"]


def test_session_fixation_a_cookie_sent_to_redeem_is_never_the_session(tenants: tuple[str, str]) -> None:
    planted = "acme.0123456789abcdef." + "x" * 43
    link = new_link("acme")
    opened = call(
        "POST", "/setup/api/session", {"link": link["url"].partition("#")[2]}, cookie=planted, headers=WRITE
    )
    assert opened.status == 201
    assert opened.cookie not in (None, planted)
    assert call("GET", "/setup/api/overview", cookie=planted).status == 401


# -- the session: its tenant only --------------------------------------------------------------------
def test_no_cookie_or_a_forged_one_gets_nothing(tenants: tuple[str, str]) -> None:
    cookie = session_for("acme")
    tenant, link_id, secret = cookie.split(".")
    forged = [
        None,
        "",
        f"{tenant}.{link_id}.{'A' * 43}",
        f"globex.{link_id}.{secret}",  # the same session replayed against another tenant
        cookie + "x",
    ]
    for value in forged:
        for path in API_GETS:
            answer = call("GET", path, cookie=value)
            assert answer.status == 401, (value, path)
            assert "acme" not in answer.text
            assert "globex" not in answer.text
    # Two session cookies at once: neither is trusted.
    assert (
        call("GET", API_GETS[0], raw_cookie=f"{setup.COOKIE}={cookie}; {setup.COOKIE}={cookie}").status == 401
    )


@pytest.mark.parametrize("path", API_GETS)
def test_every_read_answers_the_sessions_tenant_whatever_the_request_names(
    tenants: tuple[str, str], admin: Admin, path: str
) -> None:
    other = admin.issue_token("globex", "globex-okta")
    cookie = session_for("acme")
    for query in (None, {"tenant": "globex"}, {"tenant_id": "globex"}):
        answer = call("GET", path, cookie=cookie, query=query)
        assert answer.status == 200, answer.text
        assert "globex" not in answer.text
        assert other.metadata.token_id not in answer.text
    if path.endswith("overview"):
        assert answer.body["tenant_id"] == "acme"
    if path.endswith("health"):
        assert answer.body["tenant_id"] == "acme"


def test_a_log_cursor_of_another_tenant_is_a_400_not_its_log(tenants: tuple[str, str], admin: Admin) -> None:
    # The log's cursor is a DynamoDB key: it is honoured only if it names the session's own tenant
    # (more cases, at size, in tests/unit/test_setup_log.py).
    from core.setup_desk import encode_log_cursor  # noqa: PLC0415

    admin.issue_token("globex", "globex-okta")
    cookie = session_for("acme")
    theirs = encode_log_cursor("globex", "9999-12-31T00:00:00.000Z#r#0000")  # before all of globex's
    answer = call("GET", "/setup/api/log", cookie=cookie, query={"cursor": theirs})
    assert answer.status == 400, answer.text
    assert "cursor" in answer.body["detail"]
    assert "globex" not in answer.text
    ours = encode_log_cursor("acme", "9999-12-31T00:00:00.000Z#r#0000")
    own = call("GET", "/setup/api/log", cookie=cookie, query={"cursor": ours})
    assert own.status == 200, own.text
    assert [r["resource_type"] for r in own.body["data"]] == ["SetupLink", "SetupLink"]


def test_writes_reach_only_the_sessions_tenant(tenants: tuple[str, str], admin: Admin) -> None:
    other = admin.issue_token("globex", "globex-okta")
    cookie = session_for("acme")
    # Naming another tenant in the body is refused (no body field names a tenant).
    refused = call(
        "POST", "/setup/api/tokens", {"name": "x", "tenant_id": "globex"}, cookie=cookie, headers=WRITE
    )
    assert refused.status == 400
    # Another tenant's token id: not found, and that token stays active.
    revoke = call("DELETE", f"/setup/api/tokens/{other.metadata.token_id}", cookie=cookie, headers=WRITE)
    assert revoke.status == 404
    assert [t.revoked_at for t in admin.list_tokens("globex")] == [None]
    created = call("POST", "/setup/api/tokens", {"name": "okta"}, cookie=cookie, headers=WRITE)
    assert created.status == 201
    assert created.body["token"].startswith("scim_acme.")
    assert [t.name for t in admin.list_tokens("globex")] == ["globex-okta"]


# -- tokens from the page: same core code, the session as actor ----------------------------------------
def test_token_actions_are_audited_and_evented_with_the_setup_session_as_actor(
    tenants: tuple[str, str], admin: Admin
) -> None:
    link = new_link("acme")
    cookie = redeem(link["url"]).cookie
    created = call("POST", "/setup/api/tokens", {"name": "okta-prod"}, cookie=cookie, headers=WRITE)
    assert created.status == 201, created.text
    assert created.headers["Cache-Control"] == "no-store"
    token_id = created.body["token_id"]
    listed = call("GET", "/setup/api/tokens", cookie=cookie)
    assert [(t["name"], t["state"], t["last_four"]) for t in listed.body["data"]] == [
        ("okta-prod", "active", token_id[-4:])
    ]
    assert created.body["token"] not in listed.text  # shown once
    assert call("DELETE", f"/setup/api/tokens/{token_id}", cookie=cookie, headers=WRITE).status == 204
    assert admin.list_tokens("acme")[0].revoked_at is not None
    actor = f"setup-session:{link['id']}"
    records = AuditTable(boto3.client("dynamodb"), TABLE_NAME).latest("acme", 10)
    assert [(r.method, r.resource_type, r.actor) for r in records if r.resource_type == "Token"] == [
        ("DELETE", "Token", actor),
        ("POST", "Token", actor),
    ]
    # The token item's stamp is what the stream turns into scim.token.created / revoked.
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE_NAME, Key={"PK": {"S": "T#acme"}, "SK": {"S": f"TOKEN#{token_id}"}}
    )["Item"]
    assert item["changedBy"]["S"] == actor
    log = call("GET", "/setup/api/log", cookie=cookie)
    assert [(r["method"], r["resource_type"], r["actor"]) for r in log.body["data"]] == [
        ("DELETE", "Token", actor),
        ("POST", "Token", actor),
        ("PATCH", "SetupLink", actor),  # the link was redeemed by this session
        ("POST", "SetupLink", "arn:aws:sts::123456789012:assumed-role/saas-onboarding/saas-backend"),
    ]


def test_the_overview_shows_role_mappings_and_tokens_say_when_they_expire_within_30_days(
    tenants: tuple[str, str], admin: Admin
) -> None:
    mappings = (
        RoleMapping(group="Viewers", match="externalId", role="viewer", priority=50),
        RoleMapping(group="Admins", role="admin", priority=1),
    )
    admin.create_tenant("initech", profile=Profile(role_mappings=mappings, default_role="member"))
    soon = admin.issue_token("initech", "soon", timedelta(days=6)).metadata.token_id
    admin.issue_token("initech", "later", timedelta(days=31))
    admin.issue_token("initech", "never")
    revoked = admin.issue_token("initech", "revoked", timedelta(days=2)).metadata.token_id
    admin.revoke_token("initech", revoked)
    cookie = session_for("initech")
    overview = call("GET", "/setup/api/overview", cookie=cookie).body
    assert overview["role_mappings"] == [  # lowest priority first
        {"group": "Admins", "match": "displayName", "role": "admin", "priority": 1},
        {"group": "Viewers", "match": "externalId", "role": "viewer", "priority": 50},
    ]
    assert overview["default_role"] == "member"
    tokens = call("GET", "/setup/api/tokens", cookie=cookie).body["data"]
    assert {t["name"]: t["expires_in_days"] for t in tokens} == {
        "soon": 6,
        "later": None,
        "never": None,
        "revoked": None,  # no longer in use: nothing to rotate
    }
    # The same rule as health's list of tokens expiring within 30 days.
    health = call("GET", "/setup/api/health", cookie=cookie).body
    assert health["tokens"]["expiring_within_30_days"] == [soon]


def test_the_log_filters_errors_and_holds_no_values(tenants: tuple[str, str], admin: Admin) -> None:
    from core.audit import AuditRecord  # noqa: PLC0415

    audit = AuditTable(boto3.client("dynamodb"), TABLE_NAME)
    base = {"tenant_id": "acme", "token_id": "acme.0123456789abcdef", "resource_type": "User"}
    audit.put(
        [
            AuditRecord(
                **base,
                at="2099-01-01T00:00:00.000Z",
                request_id="r1",
                method="POST",
                status=201,
                resource_id="u1",
                changed_attributes=("userName", "name.givenName"),
            ),
            AuditRecord(
                **base,
                at="2099-01-01T00:00:01.000Z",
                request_id="r2",
                method="PATCH",
                status=400,
                resource_id="u1",
                scim_type="invalidPath",
                detail="The path 'shoeSize' names no attribute",
            ),
        ],
        4_102_444_800,
    )
    cookie = session_for("acme")
    every = call("GET", "/setup/api/log", cookie=cookie).body["data"]
    assert [(r["resource_type"], r["status"]) for r in every] == [  # newest first
        ("User", 400),
        ("User", 201),
        ("SetupLink", 200),  # this session's redemption
        ("SetupLink", 201),
    ]
    assert every[1]["changed_attributes"] == ["userName", "name.givenName"]
    assert set(every[1]) <= {
        "at",
        "method",
        "resource_type",
        "resource_id",
        "changed_attributes",
        "status",
        "scim_type",
        "detail",
        "actor",
        "outcome",
    }
    errors = call("GET", "/setup/api/log", cookie=cookie, query={"errors": "1"}).body["data"]
    assert [(r["status"], r["scim_type"], r["outcome"]) for r in errors] == [(400, "invalidPath", "failure")]


# -- CSRF and headers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Setup-Request": "0"}, {"X-Setup-Request": "1", "Origin": "https://evil.example"}],
    ids=["no header", "wrong header", "foreign origin"],
)
def test_writes_without_the_csrf_header_or_from_another_origin_are_refused(
    tenants: tuple[str, str], admin: Admin, headers: dict[str, str]
) -> None:
    cookie = session_for("acme")
    made = call("POST", "/setup/api/tokens", {"name": "x"}, cookie=cookie, headers=headers)
    assert made.status == 403, made.text
    assert admin.list_tokens("acme") == []
    link = new_link("acme")
    assert (
        call("POST", "/setup/api/session", {"link": link["url"].partition("#")[2]}, headers=headers).status
        == 403
    )
    assert redeem(link["url"]).status == 201  # the refused attempts did not use it up
    assert (
        call(
            "POST",
            "/setup/api/tokens",
            {"name": "x"},
            cookie=cookie,
            headers={"X-Setup-Request": "1", "Origin": ORIGIN},
        ).status
        == 201
    )


@pytest.mark.parametrize(
    "path", ["/setup", "/setup/app.js", "/setup/app.css", "/setup/idp.json", "/setup/api/overview"]
)
def test_every_answer_forbids_framing_caching_referrers_and_foreign_scripts(
    tenants: tuple[str, str], path: str
) -> None:
    answer: Answer = call("GET", path)
    headers = answer.headers
    csp = headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'self';")
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_has_no_inline_script_or_style_and_never_writes_html() -> None:
    page = (setup.PAGE_DIR / "index.html").read_text()
    script = (setup.PAGE_DIR / "app.js").read_text()
    assert "<script>" not in page
    assert " style=" not in page
    assert "<style" not in page
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


# -- events ------------------------------------------------------------------------------------------------
def test_link_items_become_setup_events_and_a_sliding_session_does_not(tenants: tuple[str, str]) -> None:
    link = new_link("acme")
    (created,) = raw_items("acme")
    redeem(link["url"])
    (redeemed,) = raw_items("acme")

    def record(name: str, new: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Keys": {"PK": new["PK"], "SK": new["SK"]},
            "SequenceNumber": "7",
            "NewImage": new,
        }
        if old is not None:
            body["OldImage"] = old
        return {"eventName": name, "dynamodb": body}

    (made,) = events_for_record(record("INSERT", created), "https://x/v1/scim/v2")
    assert made.detail_type == "scim.setup.link_created"
    assert made.model_dump(by_alias=True)["actor"].startswith("arn:aws:")
    (opened,) = events_for_record(record("MODIFY", redeemed, created), "https://x/v1/scim/v2")
    assert opened.detail_type == "scim.setup.link_redeemed"
    detail = opened.model_dump(by_alias=True)
    assert detail["actor"] == f"setup-session:{link['id']}"
    assert detail["link"]["linkId"] == link["id"]
    assert "secret" not in json.dumps(detail).lower()
    assert "sessionHash" not in json.dumps(detail)
    slid = dict(redeemed) | {"sessionExpiresAt": {"S": "2099-01-01T00:00:00.000Z"}}
    assert events_for_record(record("MODIFY", slid, redeemed), "https://x/v1/scim/v2") == []


# -- sliding expiry and the cost of each route ---------------------------------------------------------
def _link_item(tenant: str, link_id: str) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb").get_item(
        TableName=TABLE_NAME, Key={"PK": {"S": f"T#{tenant}#SETUP"}, "SK": {"S": f"LINK#{link_id}"}}
    )["Item"]
    return item


def _set(tenant: str, link_id: str, **values: str) -> None:
    names = {f"#{k}": k for k in values}
    boto3.client("dynamodb").update_item(
        TableName=TABLE_NAME,
        Key={"PK": {"S": f"T#{tenant}#SETUP"}, "SK": {"S": f"LINK#{link_id}"}},
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{k}": {"S": v} for k, v in values.items()},
    )


def _iso(seconds_from_now: int) -> str:
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    moment = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_session_slides_by_an_idle_hour_and_ends_when_idle(tenants: tuple[str, str]) -> None:
    link = new_link("acme")
    cookie = redeem(link["url"]).cookie
    _set("acme", link["id"], sessionExpiresAt=_iso(600))  # 50 minutes without a request
    answer = call("GET", "/setup/api/overview", cookie=cookie)
    assert answer.status == 200
    slid = _link_item("acme", link["id"])["sessionExpiresAt"]["S"]
    assert slid > _iso(3500)  # an hour from now again
    assert int(re.search(r"Max-Age=(\d+)", answer.headers["Set-Cookie"])[1]) > 3500  # type: ignore[index]
    _set("acme", link["id"], sessionExpiresAt=_iso(-1))  # an hour without a request
    assert call("GET", "/setup/api/overview", cookie=cookie).status == 401


def test_a_session_never_outlives_its_link(tenants: tuple[str, str]) -> None:
    link = new_link("acme", ttl_seconds=600)
    opened = redeem(link["url"])
    max_age = int(re.search(r"Max-Age=(\d+)", opened.headers["Set-Cookie"])[1])  # type: ignore[index]
    assert 500 < max_age <= 600  # capped at the link's expiry, not an hour
    item = _link_item("acme", link["id"])
    assert item["sessionExpiresAt"]["S"] <= item["expiresAt"]["S"]
    _set("acme", link["id"], expiresAt=_iso(-1), sessionExpiresAt=_iso(3000))
    assert call("GET", "/setup/api/tokens", cookie=opened.cookie).status == 401


def test_each_setup_route_costs_a_constant_number_of_dynamodb_calls(
    tenants: tuple[str, str], admin: Admin, dynamodb_calls: list[str]
) -> None:
    for n in range(3):
        admin.issue_token("acme", f"t{n}")
    link = new_link("acme")
    dynamodb_calls.clear()
    cookie = redeem(link["url"]).cookie
    # The link, the tenant, the conditional redemption, the tenant for the overview.
    assert dynamodb_calls == ["GetItem", "GetItem", "UpdateItem", "GetItem"], dynamodb_calls
    expected = {
        "/setup/api/overview": ["GetItem", "GetItem"],  # the session (its link), the tenant
        "/setup/api/tokens": ["GetItem", "GetItem", "Query"],
        # the session, the tenant, the counters, the audit Query, the reset and role-recompute records
        "/setup/api/health": ["GetItem", "GetItem", "BatchGetItem", "Query", "GetItem", "GetItem"],
        "/setup/api/log": ["GetItem", "GetItem"],  # + the audit client's Query
    }
    for path, calls in expected.items():
        dynamodb_calls.clear()
        assert call("GET", path, cookie=cookie).status == 200
        assert dynamodb_calls == calls, path


def test_the_logos_origin_is_the_only_image_source_added_and_branding_is_data(
    tenants: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers import settings  # noqa: PLC0415

    monkeypatch.setenv("SAAS_LOGO_URL", "https://cdn.example.com/brand/logo.svg")
    monkeypatch.setenv("SAAS_ACCENT_COLOUR", "#aa3300")
    settings.setup_settings.cache_clear()
    answer = call("GET", "/setup/api/branding")
    csp = answer.headers["Content-Security-Policy"]
    assert "img-src 'self' https://cdn.example.com;" in csp
    assert "script-src" not in csp  # scripts stay on default-src 'self'
    assert answer.body == {
        "name": "Example SaaS",
        "logo_url": "https://cdn.example.com/brand/logo.svg",
        "accent": "#aa3300",
    }
    # Not a colour: the deploy fails loudly (the template's AllowedPattern refuses it first).
    monkeypatch.setenv("SAAS_ACCENT_COLOUR", "red;background:url(x)")
    settings.setup_settings.cache_clear()
    with pytest.raises(ValidationError, match="SAAS_ACCENT_COLOUR"):
        call("GET", "/setup/api/branding")
    settings.setup_settings.cache_clear()


def test_the_cookie_path_follows_the_path_the_browser_used(tenants: tuple[str, str]) -> None:
    """Behind a custom domain (base path "scim-setup", no stage in the URL) the cookie must still be
    sent to the setup API: its Path comes from requestContext.path, not from the stage name."""
    from tests.unit import setup_calls  # noqa: PLC0415

    link = new_link("acme")
    event = copy.deepcopy(setup_calls.BASE_EVENT)
    event.update(resource="/setup/api/session", path="/setup/api/session", httpMethod="POST")
    event["requestContext"].update(
        resourcePath="/setup/api/session", httpMethod="POST", path="/scim-setup/setup/api/session"
    )
    event["headers"] = dict(event["headers"]) | WRITE | {"Content-Type": "application/json"}
    event["body"] = json.dumps({"link": link["url"].partition("#")[2]})
    result = setup.lambda_handler(event, FakeContext("SetupFunction"))
    assert result["statusCode"] == 201, result["body"]
    assert "; Path=/scim-setup/setup/api;" in result["headers"]["Set-Cookie"]
