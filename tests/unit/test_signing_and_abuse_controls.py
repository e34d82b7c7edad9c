"""Signed cursors and ETags (core/signing.py), the stack's signing key, and the authorizer's abuse
controls: usage plan key, failure metrics, expiry, and no token text anywhere it could leak."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from core import signing
from core.errors import PreconditionFailed
from core.representation import check_if_match, etag, not_modified
from core.store.keys import Kind
from core.store.resources_table import StoredResource
from handlers import authorizer, signing_keys
from scimctl.admin import Admin
from tests.conftest import TEMPLATE, ScimClient
from tests.support import FakeContext, proxy_event

ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/scim/v2/acme/Users"


def resource(tenant: str = "acme", version: int = 3, rid: str = "u1") -> StoredResource:
    return StoredResource(tenant, Kind.USER, rid, version, "t", "t", "n", {"userName": "n"})


# -- key ring -----------------------------------------------------------------------------------
def test_tenant_keys_differ_and_values_verify_only_in_their_tenant() -> None:
    ring = signing.KeyRing(lambda: b"k" * 32)
    tag = ring.mac("acme", "cursor", ["x"], 16)
    assert ring.verify("acme", "cursor", ["x"], tag)
    assert not ring.verify("other", "cursor", ["x"], tag)
    assert not ring.verify("acme", "etag", ["x"], tag)  # purposes never cross
    assert ring.loads == 1  # read once, then cached


def test_a_rotated_key_is_reread_once_on_a_failed_verification() -> None:
    keys = [b"a" * 32]
    clock = [0.0]
    ring = signing.KeyRing(lambda: keys[0], clock=lambda: clock[0])
    old = ring.mac("acme", "etag", ["1"], 9)
    keys[0] = b"b" * 32  # rotated in Secrets Manager
    clock[0] = 10.0
    new = signing.KeyRing(lambda: keys[0]).mac("acme", "etag", ["1"], 9)
    assert ring.verify("acme", "etag", ["1"], new)  # one re-read picks the new key up
    assert ring.loads == 2
    assert not ring.verify("acme", "etag", ["1"], old)  # within the refresh interval: no re-read
    assert ring.loads == 2


# -- ETags --------------------------------------------------------------------------------------
def test_etag_is_stable_per_version_and_forgeries_never_match() -> None:
    res = resource()
    tag = etag(res)
    assert tag == etag(resource())
    assert tag.startswith('W/"3.')
    check_if_match(tag, res)
    check_if_match(tag.removeprefix("W/"), res)
    assert not_modified(tag, res)
    forged = [
        'W/"3"',
        tag[:-2] + ('A"' if tag[-2] != "A" else 'B"'),
        etag(resource(tenant="other")),
        etag(resource(rid="u2")),
        etag(resource(version=2)),
    ]
    for value in forged:
        with pytest.raises(PreconditionFailed):
            check_if_match(value, res)
        assert not not_modified(value, res)


# -- cursors ------------------------------------------------------------------------------------
def _two_pages(scim: ScimClient) -> str:
    for i in range(3):
        assert (
            scim(
                "POST",
                "/Users",
                {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"c{i}@example.com"},
            ).status
            == 201
        )
    first = scim("GET", "/Users", query={"cursor": "", "count": "1"})
    cursor = first.body["nextCursor"]
    assert isinstance(cursor, str)
    assert cursor.count(".") == 1
    assert scim("GET", "/Users", query={"cursor": cursor, "count": "1"}).status == 200
    return str(cursor)


def test_tampered_and_foreign_cursors_are_400_invalid_cursor(scim: ScimClient) -> None:
    cursor = _two_pages(scim)
    body, _, mac = cursor.partition(".")
    payload = json.loads(signing.b64url_decode(body))
    payload["p"] = 2  # a different position, re-encoded without a valid MAC
    forged = [
        f"{signing.b64url(json.dumps(payload).encode())}.{mac}",
        body,  # the old, unsigned format
        f"{body}.{mac[:-1]}",
        "not a cursor",
    ]
    for value in forged:
        response = scim("GET", "/Users", query={"cursor": value, "count": "1"})
        assert (response.status, response.body["scimType"]) == (400, "invalidCursor"), value
    other = ScimClient("other")
    response = other("GET", "/Users", query={"cursor": cursor, "count": "1"})
    assert (response.status, response.body["scimType"]) == (400, "invalidCursor")
    groups = scim("GET", "/Groups", query={"cursor": cursor, "count": "1"})
    assert (groups.status, groups.body["scimType"]) == (400, "invalidCursor")


# -- the stack's key ----------------------------------------------------------------------------
@pytest.mark.usefixtures("aws")
def test_signing_key_comes_from_the_stacks_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="scim/test/signing-key", SecretString="s" * 64)[
        "ARN"
    ]
    monkeypatch.setenv(signing_keys.SECRET_ENV, arn)
    signing_keys.stack_keyring.cache_clear()
    try:
        ring = signing_keys.stack_keyring()
        expected = signing.KeyRing(lambda: b"s" * 64).mac("acme", "etag", ["1"], 9)
        assert ring.mac("acme", "etag", ["1"], 9) == expected
        assert ring.loads == 1
    finally:
        signing_keys.stack_keyring.cache_clear()


def test_a_lambda_without_the_key_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(signing_keys.SECRET_ENV, raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "scim-users")
    with pytest.raises(RuntimeError, match=signing_keys.SECRET_ENV):
        signing_keys.load_master_key()


def test_template_gives_the_key_only_to_resource_and_events_functions() -> None:
    resources = TEMPLATE.document["Resources"]
    assert resources["SigningKeySecret"]["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    readers = {
        name
        for name, res in resources.items()
        if res.get("Type") == "AWS::Serverless::Function"
        and any(
            s.get("Resource") == {"Ref": "SigningKeySecret"}
            for p in res["Properties"].get("Policies", [])
            for s in p.get("Statement", [])
        )
    }
    # The management function signs its list cursors with the same key (docs/management-api.md).
    assert readers == {
        "UsersFunction",
        "GroupsFunction",
        "BulkFunction",
        "EventsFunction",
        "ManagementFunction",
        "DirectoryFunction",  # the directory reads return the SCIM API's cursors and ETags
    }
    api = resources["ScimApi"]["Properties"]
    assert api["ApiKeySourceType"] == "AUTHORIZER"
    assert api["Auth"]["ApiKeyRequired"] is True
    throttled = api["GatewayResponses"]["THROTTLED"]
    assert throttled["StatusCode"] == 429
    assert "Retry-After" in throttled["ResponseParameters"]["Headers"]
    assert resources["AuthFailuresAlarm"]["Properties"]["MetricName"] == "AuthFailures"
    assert resources["WebAclAssociation"]["Condition"] == "HasWebAcl"


# -- authorizer ---------------------------------------------------------------------------------
def authorize(token: str) -> dict[str, Any]:
    event = proxy_event("GET", "/scim/v2/{tenant}/Users", {"tenant": "acme"})
    event.update(type="REQUEST", methodArn=ARN, headers={"Authorization": f"Bearer {token}"})
    return authorizer.lambda_handler(event, FakeContext("authorizer"))


def test_allow_names_the_tenants_usage_plan_key_or_the_shared_one(
    admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARED_API_KEY", "shared-bucket-key-0000000")
    admin.create_tenant("acme")
    token = admin.issue_token("acme", "okta").token
    assert authorize(token)["usageIdentifierKey"] == "shared-bucket-key-0000000"
    admin._table.set_api_key("acme", "acme-own-key-000000000000")
    authorizer.authenticator.cache_clear()
    assert authorize(token)["usageIdentifierKey"] == "acme-own-key-000000000000"


def test_refused_tokens_are_counted_and_never_echoed(
    admin: Admin, log_output: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    admin.create_tenant("acme")
    real = admin.issue_token("acme", "okta").token
    wrong = real[:-6] + ("AAAAAA" if not real.endswith("AAAAAA") else "BBBBBB")
    expired = Admin(admin._table, admin._hashes).issue_token("acme", "old", timedelta(seconds=-1)).token
    for token in (wrong, expired, "scim_acme.0123456789abcdef_" + "x" * 43):
        with pytest.raises(Exception, match=r"^Unauthorized$") as refused:
            authorize(token)
        assert token not in str(refused.value)
    emitted = capsys.readouterr().out + log_output.getvalue()
    for token in (wrong, expired):
        assert token not in emitted
        # The secret is everything after the token id ("scim_<tenant>.<hex>_<secret>"); it may hold
        # "_" itself, so it is not what follows the last one.
        assert token.split("_", 2)[2] not in emitted
    assert emitted.count('"AuthFailures"') >= 3  # one EMF metric per refusal
    assert '"reason":"expired"' in emitted.replace(" ", "")
