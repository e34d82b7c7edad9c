"""The setup page end to end in a real browser (headless Chromium via Playwright) against the local
gateway: issue 17's "Done means".

Given a tenant and a setup link made on the management API, when its IT admin opens the link, then
the page shows the Tenant URL, generates a token that works over SCIM, shows the IdP's first request,
revokes the token and shows why it was refused; the same link opened again, an expired link and a
session cookie replayed against another tenant get nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from core.audit import AuditRecord
from core.store.audit_table import AuditTable
from scimctl.gateway import RunningGateway
from tests.integration.browser import chromium, expect
from tests.integration.conftest import USER_SCHEMA, ScimHttp
from tests.integration.sigv4_client import ManagementHttp

_ids = count(1)
COOKIE = "__Secure-scim-setup"
IDPS = ("okta", "entra", "google", "onelogin", "jumpcloud", "other")
# `make setup-screenshots` points this at docs/setup-page/; otherwise screenshots go to a temp dir.
SCREENSHOTS = os.environ.get("SETUP_SCREENSHOTS_DIR")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def api(running: RunningGateway) -> ManagementHttp:
    return ManagementHttp(running.management_url)


def new_tenant(api: ManagementHttp, running: RunningGateway, name: str | None = None) -> str:
    tenant = f"sp{next(_ids)}-{running.port}"
    created = api.post("/tenants", {"tenant_id": tenant, "name": name or f"Tenant {tenant}"})
    assert created.status == 201, created.text
    return tenant


def new_link(api: ManagementHttp, tenant: str, **body: Any) -> dict[str, Any]:
    made = api.post(f"/tenants/{tenant}/setup-links", body)
    assert made.status == 201, made.text
    link: dict[str, Any] = made.json
    return link


def open_link(browser: Any, url: str) -> tuple[Any, Any, list[str]]:
    """A fresh browser context on the link; the URLs the page requested while loading."""
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url)
    return context, page, requested


def test_an_it_admin_connects_an_idp_from_a_setup_link(
    browser: Any, api: ManagementHttp, running: RunningGateway, tmp_path: Path
) -> None:
    tenant = new_tenant(api, running)
    link = new_link(api, tenant)
    context, page, requested = open_link(browser, link["url"])
    tenant_url = page.get_by_label("Tenant URL", exact=True)
    expect(tenant_url).to_have_value(running.tenant_url_of(tenant))
    page.wait_for_load_state("networkidle")
    # The secret left the address bar; every request went to the page's own origin.
    assert "#" not in page.url
    origin = urlsplit(running.setup_url)
    loaded = [u for u in requested if not u.endswith("/favicon.ico")]
    assert {urlsplit(u).netloc for u in loaded} == {origin.netloc}
    assert all(urlsplit(u).path.startswith(origin.path) for u in loaded)
    assert len(loaded) == 9, loaded  # page, css, js, branding, session, IdP steps, tokens, health, log
    (tmp_path / "requests.json").write_text(json.dumps(loaded))
    print(f"setup page requests on load: {len(loaded)}: {[urlsplit(u).path for u in loaded]}")
    # The session cookie: HttpOnly (no script reads it), Secure, SameSite=Strict, on the API path.
    (cookie,) = [c for c in context.cookies() if c["name"] == COOKIE]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
    assert cookie["path"].endswith("/setup/api")
    assert page.evaluate("document.cookie") == ""

    page.get_by_role("button", name="Generate token").click()
    token_field = page.get_by_label(re.compile("^New token"))
    expect(token_field).to_have_value(re.compile("^scim_"))
    token = token_field.input_value()
    assert token.startswith(f"scim_{tenant}.")
    page.locator("#tokens tbody tr").first.wait_for()
    assert page.locator("#tokens tbody tr").count() == 1

    # The IdP's first request, over SCIM with that token, shows up live.
    scim = ScimHttp(running.tenant_url_of(tenant), token)
    created = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "first@example.com"})
    assert created.status == 201, created.text
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#last-request")).to_contain_text("POST answered 201")
    # Health and log load in parallel: wait for the log's own refresh, not the health's.
    expect(page.locator("#log tbody")).to_contain_text("User")

    # Revoke it from the page: the IdP is refused, and the page says why.
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile("^Revoke token idp")).click()
    expect(page.locator("#status")).to_contain_text("revoked")
    assert scim.get("/Users").status == 401
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#last-refusal")).not_to_have_text("none")
    refusal = page.locator("#last-refusal").inner_text()
    token_id = token.split("_")[1]
    assert token_id in refusal
    # The reason in words (the page's REFUSALS): revoked, unknown_token or wrong_secret.
    assert re.search(r"the token was revoked|no such token|secret is wrong", refusal), refusal
    context.close()

    # The same link again: refused, with what to ask for.
    again, page, _ = open_link(browser, link["url"])
    page.locator("#refused").wait_for()
    assert "already used" in page.locator("#refused-reason").inner_text()
    assert page.locator("#setup").is_hidden()
    again.close()


def test_show_older_appends_the_next_page_of_the_log_and_the_poll_keeps_it(
    browser: Any, api: ManagementHttp, running: RunningGateway
) -> None:
    tenant = new_tenant(api, running)
    now = datetime.now(UTC)
    AuditTable(running.aws.client("dynamodb"), running.aws.table_name).put(
        [
            AuditRecord(
                tenant_id=tenant,
                at=(now - timedelta(minutes=n + 1)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                request_id=f"r{n:03d}",
                token_id=f"{tenant}.0123456789abcdef",
                method="POST",
                resource_type="User",
                resource_id=f"u{n:03d}",
                status=201,
            )
            for n in range(60)
        ],
        int((now + timedelta(days=1)).timestamp()),
    )
    context, page, _ = open_link(browser, new_link(api, tenant)["url"])
    rows = page.locator("#log tbody tr")
    # One page: the tenant's creation, the link's creation and redemption, and 47 of the 60.
    expect(rows).to_have_count(50)
    older = page.get_by_role("button", name="Show older")
    expect(older).to_be_visible()
    newest = rows.first.inner_text()
    assert "SetupLink" in newest
    older.click()
    expect(rows).to_have_count(63)
    expect(older).to_be_hidden()  # nothing older in the window
    assert "u059" in rows.last.inner_text()
    assert "u046" in rows.nth(49).inner_text()  # the first page's last row, then the second's
    assert "u047" in rows.nth(50).inner_text()
    # The 3 s poll refreshes health only while older rows are shown: they stay.
    page.wait_for_timeout(3_500)
    assert rows.count() == 63
    assert rows.first.inner_text() == newest
    # Refresh starts again from the newest page.
    page.get_by_role("button", name="Refresh").click()
    expect(rows).to_have_count(50)
    expect(older).to_be_visible()
    context.close()


def set_role_mappings(
    api: ManagementHttp, tenant: str, mappings: list[dict[str, Any]], default: str | None
) -> None:
    profile = api.get(f"/tenants/{tenant}").json["profile"]
    profile["role_mappings"], profile["default_role"] = mappings, default
    patched = api.patch(f"/tenants/{tenant}", {"profile": profile})
    assert patched.status == 200, patched.text


def test_the_page_shows_role_mappings_token_expiry_and_an_expired_refusal_in_words(
    browser: Any, api: ManagementHttp, running: RunningGateway
) -> None:
    tenant = new_tenant(api, running)
    set_role_mappings(
        api,
        tenant,
        [
            {"group": "Viewers", "match": "externalId", "role": "viewer", "priority": 50},
            {"group": "Admins", "role": "admin", "priority": 1},
        ],
        "member",
    )
    soon = api.post(f"/tenants/{tenant}/tokens", {"name": "okta-old", "expires_in_days": 6})
    assert soon.status == 201, soon.text
    assert api.post(f"/tenants/{tenant}/tokens", {"name": "okta-new", "expires_in_days": 90}).status == 201
    # A token that has expired, then used by the IdP: health records the refusal as "expired".
    lapsed = api.post(f"/tenants/{tenant}/tokens", {"name": "lapsed", "expires_in_days": 1}).json
    running.aws.client("dynamodb").update_item(
        TableName=running.aws.table_name,
        Key={"PK": {"S": f"T#{tenant}"}, "SK": {"S": f"TOKEN#{lapsed['token_id']}"}},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"S": "2020-01-01T00:00:00.000Z"}},
    )
    assert ScimHttp(running.tenant_url_of(tenant), lapsed["token"]).get("/Users").status == 401

    context, page, _ = open_link(browser, new_link(api, tenant)["url"])
    # Roles from groups, read-only, lowest priority first.
    mappings = page.locator("#role-mappings tbody tr")
    expect(mappings).to_have_count(2)
    assert [mappings.nth(i).inner_text().split("\t") for i in range(2)] == [
        ["Admins", "displayName", "admin", "1"],
        ["Viewers", "externalId", "viewer", "50"],
    ]
    expect(page.locator("#roles")).to_contain_text(
        "Default role (for a user no mapped group gives a role): member"
    )
    assert page.locator("#roles button, #roles input").count() == 0  # nothing to edit here
    # The 6-day token is warned of, with the rotation steps; the 90-day one is not.
    warnings = page.locator("#expiry-warnings li")
    expect(warnings).to_have_count(1)
    warning = warnings.first.inner_text()
    assert warning.startswith("Token okta-old (ending ")
    assert "expires in 6 days — rotate now: generate a new token" in warning
    assert "then revoke the old one" in warning
    old_row = page.locator("#tokens tbody tr", has_text="okta-old")
    expect(old_row.locator("td").nth(2)).to_contain_text("(expires in 6 days)")
    assert "expires in" not in page.locator("#tokens tbody tr", has_text="okta-new").inner_text()
    # The expired token's refusal, in words.
    expect(page.locator("#last-refusal")).to_contain_text("the token has expired")
    assert lapsed["token_id"] in page.locator("#last-refusal").inner_text()
    context.close()


def test_an_expired_link_is_refused_in_the_browser(
    browser: Any, api: ManagementHttp, running: RunningGateway
) -> None:
    tenant = new_tenant(api, running)
    link = new_link(api, tenant, ttl_seconds=300)
    running.aws.client("dynamodb").update_item(  # as if five minutes had passed
        TableName=running.aws.table_name,
        Key={"PK": {"S": f"T#{tenant}#SETUP"}, "SK": {"S": f"LINK#{link['id']}"}},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"S": "2020-01-01T00:00:00.000Z"}},
    )
    context, page, _ = open_link(browser, link["url"])
    page.locator("#refused").wait_for()
    assert "expired" in page.locator("#refused-reason").inner_text()
    assert context.cookies() == []
    context.close()


def test_a_session_cookie_replayed_against_another_tenant_gets_nothing(
    browser: Any, api: ManagementHttp, running: RunningGateway
) -> None:
    acme, globex = new_tenant(api, running), new_tenant(api, running)
    issued = api.post(f"/tenants/{globex}/tokens", {"name": "globex-okta"})
    assert issued.status == 201
    globex_link = new_link(api, globex)
    context, page, _ = open_link(browser, new_link(api, acme)["url"])
    expect(page.get_by_label("Tenant URL", exact=True)).to_have_value(running.tenant_url_of(acme))
    (cookie,) = [c for c in context.cookies() if c["name"] == COOKIE]
    _, _, secret = cookie["value"].split(".")
    context.close()
    # acme's session secret under globex's name (and globex's link id): the cookie a thief would try.
    forged = f"{globex}.{globex_link['id']}.{secret}"
    thief = browser.new_context()
    thief.add_cookies([cookie | {"value": forged}])
    page = thief.new_page()
    page.goto(running.setup_url)
    page.locator("#refused").wait_for()
    assert "session has ended" in page.locator("#refused-reason").inner_text()
    for path in ("tokens", "health", "log", "overview"):
        answer = thief.request.get(f"{running.setup_url}/api/{path}")
        assert answer.status == 401, path
        assert globex not in answer.text()
        assert "globex-okta" not in answer.text()
    thief.close()


def test_tenant_controlled_text_is_shown_as_text_never_run(
    browser: Any, api: ManagementHttp, running: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers import settings  # noqa: PLC0415 - the in-process function's settings

    attack = '<img src=x onerror="window.__xss=1">'
    monkeypatch.setenv("SAAS_NAME", f"Evil {attack}")  # the SaasName stack parameter
    settings.setup_settings.cache_clear()
    try:
        tenant = new_tenant(api, running, name=f"Acme {attack}")
        set_role_mappings(api, tenant, [{"group": f"G {attack}", "role": "admin"}], f"R {attack}")
        token = api.post(f"/tenants/{tenant}/tokens", {"name": "okta"}).json["token"]
        scim = ScimHttp(running.tenant_url_of(tenant), token)
        group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": f"G {attack}"}
        assert scim.post("/Groups", group).status == 201
        assert scim.post("/Groups", group).status == 409  # its detail, in the log, names the group
        context, page, _ = open_link(browser, new_link(api, tenant)["url"])
        page.locator("#log tbody tr").first.wait_for()
        expect(page.locator("#brand-name")).to_have_text(f"Evil {attack}")
        assert page.locator("#tenant-name").inner_text() == f"Acme {attack}"
        expect(page.locator("#role-mappings tbody td").first).to_have_text(f"G {attack}")
        expect(page.locator("#roles")).to_contain_text(f"R {attack}")
        page.get_by_label("Errors only").check()
        expect(page.locator("#log tbody tr")).to_have_count(1)
        assert attack in page.locator("#log tbody").inner_text()
        assert page.locator("img[src=x]").count() == 0
        assert page.evaluate("window.__xss") is None
        context.close()
    finally:
        monkeypatch.undo()
        settings.setup_settings.cache_clear()


def test_the_page_cannot_be_framed_and_each_idp_has_its_steps(
    browser: Any, api: ManagementHttp, running: RunningGateway, tmp_path: Path
) -> None:
    tenant = new_tenant(api, running)
    context, page, _ = open_link(browser, new_link(api, tenant)["url"])
    expect(page.locator("#idp option")).to_have_count(6)
    page.set_viewport_size({"width": 1000, "height": 1400})
    directory = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    directory.mkdir(parents=True, exist_ok=True)
    for idp in IDPS:
        page.get_by_label("Identity provider", exact=True).select_option(idp)
        steps = page.locator("#steps")
        assert running.tenant_url_of(tenant) in steps.inner_text() or idp in (
            "google",
            "onelogin",
            "jumpcloud",
        )
        assert steps.locator("h3, h2, p").count() > 2, idp
        # The steps section, from its heading down (at most 1,600 px: the first steps).
        box = page.locator("section:has(#h-idp)").bounding_box()
        assert box is not None
        clip = {"x": box["x"], "y": box["y"], "width": box["width"], "height": min(box["height"], 1600)}
        page.screenshot(path=str(directory / f"{idp}.png"), clip=clip, full_page=True)
        assert (directory / f"{idp}.png").stat().st_size > 10_000
    # Readable on a phone: nothing wider than the screen but the tables, which scroll sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    if SCREENSHOTS:
        page.screenshot(path=str(directory / "phone.png"))
    # Keyboard: Tab from the top reaches the Tenant URL's Copy button and Generate token.
    page.locator("body").focus()
    reached = set()
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id"))
    assert {"tenant-url", "copy-url", "token-name", "generate"} <= reached, reached
    # Another origin that frames the page gets an empty frame (frame-ancestors 'none', DENY).
    framer = context.new_page()
    framer.set_content(f'<iframe id="f" src="{running.setup_url}"></iframe>')
    framer.wait_for_timeout(500)
    frame = framer.frame_locator("#f")
    assert frame.locator("#tenant-url").count() == 0
    context.close()
