"""The management API over real HTTP against the local gateway (issue 15's "Done means").

Given the local gateway (`scimctl serve`) serving the SCIM API and the management API, when the
SaaS backend signs its requests with SigV4 (access key `local`, secret `local`), then tenants and
tokens created through it provision users over SCIM, revocations and disabled tenants lock the
IdP out, retries are idempotent and health tells what the IdP last did.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from scimctl.gateway import RunningGateway
from tests.integration.conftest import PATCH_OP, USER_SCHEMA, ScimHttp, assert_scim_error
from tests.integration.sigv4_client import ManagementHttp

PROBLEM_JSON = "application/problem+json"
_ids = count(1)


@pytest.fixture
def api(running: RunningGateway) -> ManagementHttp:
    return ManagementHttp(running.management_url)


def new_tenant_id(running: RunningGateway) -> str:
    return f"mg{next(_ids)}-{running.port}"


def create_tenant(api: ManagementHttp, tenant_id: str, **extra: Any) -> dict[str, Any]:
    created = api.post("/tenants", {"tenant_id": tenant_id, "name": f"Tenant {tenant_id}", **extra})
    assert created.status == 201, created.text
    body: dict[str, Any] = created.json
    return body


def issue(api: ManagementHttp, tenant_id: str, name: str = "okta") -> dict[str, Any]:
    issued = api.post(f"/tenants/{tenant_id}/tokens", {"name": name, "expires_in_days": 10})
    assert issued.status == 201, issued.text
    body: dict[str, Any] = issued.json
    return body


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    document: dict[str, Any] = response.json
    assert set(document) == {"type", "title", "status", "detail"}
    assert document["status"] == status
    return document


def provision(scim_base_url: str, token: str, user_name: str) -> Any:
    scim = ScimHttp(scim_base_url, token)
    return scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": user_name})


# -- the Done-means list ------------------------------------------------------------------------
def test_tenant_and_token_created_through_the_api_provision_a_user_over_scim(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant_id = new_tenant_id(running)
    tenant = create_tenant(api, tenant_id, preset="poggio", external_id="crm-42")
    assert (tenant["tenant_id"], tenant["status"], tenant["preset"]) == (tenant_id, "active", "poggio")
    assert tenant["scim_base_url"] == running.tenant_url_of(tenant_id)
    token = issue(api, tenant_id)
    assert token["token"].startswith(f"scim_{token['token_id']}_")
    created = provision(tenant["scim_base_url"], token["token"], "first@example.com")
    assert created.status == 201, created.text
    assert created.json["userName"] == "first@example.com"


def test_the_token_list_never_shows_a_secret(running: RunningGateway, api: ManagementHttp) -> None:
    tenant_id = new_tenant_id(running)
    create_tenant(api, tenant_id)
    tokens = [issue(api, tenant_id, f"idp-{i}") for i in range(3)]
    listed = api.get(f"/tenants/{tenant_id}/tokens?limit=2")
    assert listed.status == 200, listed.text
    second = api.get(f"/tenants/{tenant_id}/tokens?limit=2&cursor={listed.json['next_cursor']}")
    rows = listed.json["data"] + second.json["data"]
    assert second.json["next_cursor"] is None
    assert [r["token_id"] for r in rows] == [t["token_id"] for t in tokens]
    for row in rows:
        assert set(row) == {
            "token_id",
            "name",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "state",
            "last_four",
        }
        assert row["state"] == "active"
        assert row["last_four"] == row["token_id"][-4:]
    text = listed.text + second.text
    for token in tokens:
        assert token["token"] not in text
        # not even the secret part; it is the token's last 43 characters and may itself hold an underscore
        secret = token["token"].removeprefix(f"scim_{token['token_id']}_")
        assert len(secret) == 43
        assert secret not in text


def test_a_revoked_token_gets_a_scim_401(running: RunningGateway, api: ManagementHttp) -> None:
    tenant_id = new_tenant_id(running)
    tenant = create_tenant(api, tenant_id)
    token = issue(api, tenant_id)
    assert provision(tenant["scim_base_url"], token["token"], "before@example.com").status == 201
    revoked = api.delete(f"/tenants/{tenant_id}/tokens/{token['token_id']}")
    assert revoked.status == 204, revoked.text
    # The authorizer's cached "allow" is flushed by the revocation: refused at once.
    assert_scim_error(provision(tenant["scim_base_url"], token["token"], "after@example.com"), 401)
    states = [r["state"] for r in api.get(f"/tenants/{tenant_id}/tokens").json["data"]]
    assert states == ["revoked"]
    assert_problem(api.delete(f"/tenants/{tenant_id}/tokens/{tenant_id}.ffffffffffffffff"), 404)


def test_a_disabled_tenants_token_gets_a_scim_401_until_enabled(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant_id = new_tenant_id(running)
    tenant = create_tenant(api, tenant_id)
    token = issue(api, tenant_id)
    assert provision(tenant["scim_base_url"], token["token"], "a@example.com").status == 201
    disabled = api.patch(f"/tenants/{tenant_id}", {"status": "disabled"})
    assert disabled.status == 200, disabled.text
    assert disabled.json["status"] == "disabled"
    assert_scim_error(provision(tenant["scim_base_url"], token["token"], "b@example.com"), 401)
    assert_problem(api.post(f"/tenants/{tenant_id}/tokens", {"name": "x"}), 409)
    assert api.patch(f"/tenants/{tenant_id}", {"status": "active"}).json["status"] == "active"
    assert provision(tenant["scim_base_url"], token["token"], "c@example.com").status == 201


def test_unsigned_and_wrongly_signed_requests_get_api_gateways_403(running: RunningGateway) -> None:
    base = running.management_url
    unsigned = ManagementHttp(base).get("/tenants", signed=False)
    assert (unsigned.status, unsigned.json) == (403, {"message": "Missing Authentication Token"})
    wrong_secret = ManagementHttp(base, secret="not-local").get("/tenants")
    assert wrong_secret.status == 403
    message = wrong_secret.json["message"]
    assert message.startswith(
        "The request signature we calculated does not match the signature you provided. Check your AWS "
        "Secret Access Key and signing method. Consult the service documentation for details."
    )
    assert "The Canonical String for this request should have been" in message
    unknown_key = ManagementHttp(base, access_key="AKIAEXAMPLE").get("/tenants")
    assert (unknown_key.status, unknown_key.json) == (
        403,
        {"message": "The security token included in the request is invalid."},
    )
    other_region = ManagementHttp(base, region="eu-west-1").get("/tenants")
    assert other_region.status == 403
    assert "scoped to a valid region" in other_region.json["message"]


def test_a_retried_post_with_the_same_idempotency_key_returns_the_same_tenant_and_token(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant_id = new_tenant_id(running)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"tenant_id": tenant_id, "name": "Retried"}
    first = api.post("/tenants", body, headers=key)
    again = api.post("/tenants", body, headers=key)
    assert (first.status, again.status) == (201, 201), again.text
    assert again.json == first.json
    assert_problem(api.post("/tenants", body), 409)  # without the key: a second create is refused
    assert_problem(api.post("/tenants", body | {"name": "Other"}, headers=key), 422)

    token_key = {"Idempotency-Key": str(uuid.uuid4())}
    issued = api.post(f"/tenants/{tenant_id}/tokens", {"name": "okta"}, headers=token_key)
    retried = api.post(f"/tenants/{tenant_id}/tokens", {"name": "okta"}, headers=token_key)
    assert (issued.status, retried.status) == (201, 201)
    assert retried.json == issued.json  # the same token, shown again to the one who holds the key
    listed = api.get(f"/tenants/{tenant_id}/tokens").json["data"]
    assert [t["token_id"] for t in listed] == [issued.json["token_id"]]
    assert provision(first.json["scim_base_url"], retried.json["token"], "idem@example.com").status == 201
    assert_problem(
        api.post(f"/tenants/{tenant_id}/tokens", {"name": "x"}, headers={"Idempotency-Key": "short"}), 400
    )


def test_health_shows_connected_at_after_the_first_idp_request_and_why_a_token_was_refused(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant_id = new_tenant_id(running)
    tenant = create_tenant(api, tenant_id)
    token = issue(api, tenant_id)
    before = api.get(f"/tenants/{tenant_id}/health")
    assert before.status == 200, before.text
    assert before.json["connected_at"] is None
    assert before.json["last_refused_token"] is None
    assert provision(tenant["scim_base_url"], token["token"], "h@example.com").status == 201
    scim = ScimHttp(tenant["scim_base_url"], token["token"])
    assert scim.post("/Users", {"schemas": [USER_SCHEMA]}).status == 400  # no userName
    connected = api.get(f"/tenants/{tenant_id}/health").json
    assert connected["connected_at"] is not None
    assert connected["users"] == 1
    assert connected["last_request"]["status"] == 400
    assert connected["last_error"]["status"] == 400
    assert "userName" in connected["last_error"]["detail"]
    assert connected["tokens"]["expiring_within_30_days"] == [token["token_id"]]

    api.delete(f"/tenants/{tenant_id}/tokens/{token['token_id']}")
    assert_scim_error(provision(tenant["scim_base_url"], token["token"], "x@example.com"), 401)
    refused = api.get(f"/tenants/{tenant_id}/health").json["last_refused_token"]
    assert refused["reason"] == "revoked"
    assert refused["token_id"] == token["token_id"]
    assert token["token"] not in json.dumps(refused)

    fresh = issue(api, tenant_id, "second")
    wrong = fresh["token"][:-4] + ("AAAA" if not fresh["token"].endswith("AAAA") else "BBBB")
    assert_scim_error(provision(tenant["scim_base_url"], wrong, "y@example.com"), 401)
    # Rate-limited per tenant (one record a minute): the first refusal is still the one shown.
    assert api.get(f"/tenants/{tenant_id}/health").json["last_refused_token"]["reason"] == "revoked"


# -- the rest of the surface --------------------------------------------------------------------
def test_management_writes_are_audited_with_the_callers_principal_and_sent_as_events(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant_id = new_tenant_id(running)
    tenant = create_tenant(api, tenant_id)
    token = issue(api, tenant_id)
    api.patch(f"/tenants/{tenant_id}", {"name": "Renamed"})
    assert provision(tenant["scim_base_url"], token["token"], "ev@example.com").status == 201
    api.delete(f"/tenants/{tenant_id}/tokens/{token['token_id']}")
    trail = api.get(f"/tenants/{tenant_id}/audit?limit=200")
    assert trail.status == 200, trail.text
    managed = [r for r in trail.json["data"] if "actor" in r]
    assert [(r["method"], r["resource_type"]) for r in managed] == [
        ("POST", "Tenant"),
        ("POST", "Token"),
        ("PATCH", "Tenant"),
        ("DELETE", "Token"),
    ]
    assert {r["actor"] for r in managed} == {"arn:aws:iam::123456789012:user/local"}
    assert [r["resource_type"] for r in trail.json["data"] if "actor" not in r] == ["User"]

    assert running.events_file is not None
    entries = [json.loads(line) for line in Path(running.events_file).read_text().splitlines()]
    mine = [e for e in entries if json.loads(e["Detail"])["tenantId"] == tenant_id]
    types = [e["DetailType"] for e in mine]
    assert types[:3] == ["scim.tenant.created", "scim.token.created", "scim.tenant.updated"]
    assert "scim.tenant.connected" in types
    assert types[-1] == "scim.token.revoked"
    created = json.loads(mine[0]["Detail"])
    assert created["actor"] == "arn:aws:iam::123456789012:user/local"
    assert created["tenant"]["name"] == f"Tenant {tenant_id}"
    assert token["token"] not in json.dumps(mine)


def test_lists_are_cursor_pages_and_bad_input_is_a_problem(
    running: RunningGateway, api: ManagementHttp
) -> None:
    ids = [new_tenant_id(running) for _ in range(3)]
    for tenant_id in ids:
        create_tenant(api, tenant_id)
    seen: list[str] = []
    cursor = ""
    while True:
        page = api.get(f"/tenants?limit=2{'&cursor=' + cursor if cursor else ''}")
        assert page.status == 200, page.text
        assert len(page.json["data"]) <= 2
        seen += [t["tenant_id"] for t in page.json["data"]]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert set(ids) <= set(seen)
    assert seen == sorted(seen)
    assert_problem(api.get("/tenants?limit=0"), 400)
    assert_problem(api.get("/tenants?limit=201"), 400)
    assert_problem(api.get("/tenants?cursor=forged.cursor"), 400)
    assert_problem(api.post("/tenants", {"tenant_id": "Not_A_Slug"}), 400)
    assert_problem(api.post("/tenants", {"tenant_id": ids[0], "surprise": 1}), 400)
    assert_problem(api.post("/tenants", b"{not json"), 400)
    assert_problem(api.post("/tenants", {"tenant_id": ids[0]}), 409)
    assert_problem(api.get("/tenants/nobody-here"), 404)
    assert_problem(api.patch(f"/tenants/{ids[0]}", {"status": "deleted"}), 400)
    assert_problem(api.get(f"/tenants/{ids[0]}/audit?since=yesterday"), 400)
    bad_profile = {"profile": {"roles": {"allowed": ["Admin"], "default": "Owner"}}}
    assert "Owner" in assert_problem(api.patch(f"/tenants/{ids[0]}", bad_profile), 400)["detail"]
    assert_problem(api.post("/tenants", {"tenant_id": new_tenant_id(running), "preset": "nope"}), 400)
    assert (
        api.patch(f"/tenants/{ids[0]}", {"profile": {"groups_enabled": False}}).json["profile"][
            "groups_enabled"
        ]
        is False
    )


def test_the_local_gateway_serves_the_management_description(running: RunningGateway) -> None:
    described = ManagementHttp(running.management_url.rsplit("/", 1)[0]).get("/openapi.json", signed=False)
    assert described.status == 200
    assert described.json["servers"][0]["url"] == running.management_url
    assert "/tenants/{tenant}/tokens" in described.json["paths"]


def test_a_deleted_tenant_is_gone_its_tokens_refused_and_its_id_never_reused(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant_id = new_tenant_id(running)
    tenant = create_tenant(api, tenant_id)
    token = issue(api, tenant_id)
    assert api.delete(f"/tenants/{tenant_id}").status == 204
    assert_problem(api.get(f"/tenants/{tenant_id}"), 404)
    assert_scim_error(provision(tenant["scim_base_url"], token["token"], "gone@example.com"), 401)
    assert_problem(api.post("/tenants", {"tenant_id": tenant_id}), 409)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_aws_sigv4_works(running: RunningGateway) -> None:
    url = f"{running.management_url}/tenants/demo"
    out = subprocess.run(  # noqa: S603 - fixed arguments, loopback URL
        ["curl", "-s", "--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", "local:local", url],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout)["tenant_id"] == "demo"


def test_health_counts_active_and_inactive_users_through_deactivation_and_deletion(
    running: RunningGateway, api: ManagementHttp
) -> None:
    tenant_id = new_tenant_id(running)
    tenant = create_tenant(api, tenant_id)
    scim = ScimHttp(tenant["scim_base_url"], issue(api, tenant_id)["token"])
    ids = [
        provision(tenant["scim_base_url"], scim.token or "", f"u{n}@example.com").json["id"] for n in range(3)
    ]
    born_inactive = scim.post(
        "/Users", {"schemas": [USER_SCHEMA], "userName": "off@example.com", "active": False}
    )
    assert born_inactive.status == 201, born_inactive.text
    deactivate = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    # Okta deactivates with PATCH active false (Okta SCIM 2.0 guide, "Deactivate a user").
    assert scim.patch(f"/Users/{ids[0]}", deactivate).status == 200
    assert scim.patch(f"/Users/{ids[0]}", deactivate).status == 200  # again: no change, no count
    counts = api.get(f"/tenants/{tenant_id}/health").json
    assert (counts["users"], counts["users_active"], counts["users_inactive"]) == (4, 2, 2)

    reactivate = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": True}]}
    assert scim.patch(f"/Users/{ids[0]}", reactivate).status == 200
    assert scim.delete(f"/Users/{born_inactive.json['id']}").status == 204
    counts = api.get(f"/tenants/{tenant_id}/health").json
    assert (counts["users"], counts["users_active"], counts["users_inactive"]) == (3, 3, 0)
