"""Every authorizer outcome of issue 2, through the real Lambda handler with moto."""

from __future__ import annotations

import fnmatch
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from core.auth import AuthenticationFailed, Authenticator, AuthFailure
from core.cache import TtlCache
from core.errors import ServiceUnavailable
from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from core.tenants import TenantStatus
from handlers import authorizer, aws_clients
from scimctl.admin import Admin
from tests.conftest import SECRETS_PREFIX, TABLE_NAME
from tests.support import FakeContext

API = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1"


def request_event(
    authorization: str | None, tenant: str = "acme", path: str = "ServiceProviderConfig"
) -> dict[str, Any]:
    headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return {
        "type": "REQUEST",
        "methodArn": f"{API}/GET/scim/v2/{tenant}/{path}",
        "resource": f"/scim/v2/{{tenant}}/{path}",
        "path": f"/scim/v2/{tenant}/{path}",
        "httpMethod": "GET",
        "headers": headers,
        "pathParameters": {"tenant": tenant},
        "requestContext": {"requestId": "req-1", "stage": "v1"},
    }


def allows(policy: dict[str, Any], method_arn: str) -> bool:
    statements = policy["policyDocument"]["Statement"]
    return any(
        s["Effect"] == "Allow" and any(fnmatch.fnmatchcase(method_arn, r) for r in s["Resource"])
        for s in statements
    )


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return authorizer.lambda_handler(event, FakeContext("authorizer"))


@pytest.fixture
def acme(admin: Admin) -> str:
    admin.create_tenant("acme")
    admin.create_tenant("globex")
    return admin.issue_token("acme", "okta").token


def test_valid_token_allows_only_its_tenant(acme: str) -> None:
    result = invoke(request_event(f"Bearer {acme}"))
    assert result["context"]["tenantId"] == "acme"
    assert result["context"]["tokenId"].startswith("acme.")
    assert allows(result, f"{API}/GET/scim/v2/acme/ServiceProviderConfig")
    assert allows(result, f"{API}/PATCH/scim/v2/acme/Users/123")
    assert allows(result, f"{API}/GET/scim/v2/acme")
    assert not allows(result, f"{API}/GET/scim/v2/globex/Users")
    assert not allows(result, f"{API}/GET/scim/v2/acmex/Users")
    assert not allows(result, "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/scim/v2/acme/Users")


def test_token_on_other_tenants_url_gets_policy_for_its_own_tenant_only(acme: str) -> None:
    # API Gateway caches this answer by the Authorization header: it must be the same answer
    # whichever URL the token was first used on, and must not open globex.
    result = invoke(request_event(f"Bearer {acme}", tenant="globex"))
    assert result["context"]["tenantId"] == "acme"
    assert not allows(result, f"{API}/GET/scim/v2/globex/ServiceProviderConfig")
    assert allows(result, f"{API}/GET/scim/v2/acme/ServiceProviderConfig")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "Bearer not-a-token",
        "Bearer scim_acme.0123456789abcdef_" + "A" * 43,  # unknown token id
        "Bearer scim_nobody.0123456789abcdef_" + "A" * 43,  # unknown tenant
    ],
)
def test_bad_tokens_are_unauthorized(acme: str, authorization: str | None) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke(request_event(authorization))


def test_wrong_secret_for_real_token_id_is_unauthorized(acme: str) -> None:
    forged = acme[:-5] + ("AAAAA" if not acme.endswith("AAAAA") else "BBBBB")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke(request_event(f"Bearer {forged}"))


def test_revoked_token_is_unauthorized_even_with_warm_hash_cache(admin: Admin, acme: str) -> None:
    assert invoke(request_event(f"Bearer {acme}"))["context"]["tenantId"] == "acme"
    token_id = acme.split("_")[1]
    admin.revoke_token("acme", token_id)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke(request_event(f"Bearer {acme}"))


def test_expired_token_is_unauthorized(admin: Admin, table: TenantTable, hashes: TokenHashStore) -> None:
    admin.create_tenant("acme")
    past = datetime.now(UTC) - timedelta(days=2)
    issued = Admin(table, hashes, now=lambda: past).issue_token("acme", "old", expires_in=timedelta(days=1))
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke(request_event(f"Bearer {issued.token}"))


def test_disabled_tenant_is_unauthorized_and_reenabled_works(admin: Admin, acme: str) -> None:
    admin.set_tenant_status("acme", TenantStatus.DISABLED)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        invoke(request_event(f"Bearer {acme}"))
    admin.set_tenant_status("acme", TenantStatus.ACTIVE)
    assert invoke(request_event(f"Bearer {acme}"))["context"]["tenantId"] == "acme"


def test_several_active_tokens_allow_rotation_without_downtime(admin: Admin, acme: str) -> None:
    newer = admin.issue_token("acme", "okta-rotated").token
    assert invoke(request_event(f"Bearer {acme}"))["context"]["tenantId"] == "acme"
    assert invoke(request_event(f"Bearer {newer}"))["context"]["tenantId"] == "acme"
    admin.revoke_token("acme", acme.split("_")[1])
    assert invoke(request_event(f"Bearer {newer}"))["context"]["tenantId"] == "acme"


def fail_with(client: Any, operation: str, code: str) -> None:
    """Make every call of one AWS operation fail as the service would (after botocore retries)."""
    service = client.meta.service_model.service_id.hyphenize()

    def raise_error(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    client.meta.events.register(f"before-call.{service}.{operation}", raise_error)


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServerError", "ServiceUnavailable"])
def test_dynamodb_outage_is_503_not_401(acme: str, code: str) -> None:
    fail_with(aws_clients.dynamodb(), "BatchGetItem", code)
    with pytest.raises(ServiceUnavailable):
        invoke(request_event(f"Bearer {acme}"))


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServiceError"])
def test_secrets_manager_outage_is_503_not_401(acme: str, code: str) -> None:
    fail_with(aws_clients.secretsmanager(), "GetSecretValue", code)
    with pytest.raises(ServiceUnavailable):
        invoke(request_event(f"Bearer {acme}"))


def test_last_used_write_failure_does_not_refuse_the_token(acme: str) -> None:
    fail_with(aws_clients.dynamodb(), "UpdateItem", "ThrottlingException")
    assert invoke(request_event(f"Bearer {acme}"))["context"]["tenantId"] == "acme"


def test_hashes_are_cached_in_the_warm_container(acme: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = TokenHashStore.get_hashes

    def counting(self: TokenHashStore, tenant_id: str) -> dict[str, str]:
        calls.append(tenant_id)
        return original(self, tenant_id)

    monkeypatch.setattr(TokenHashStore, "get_hashes", counting)
    for _ in range(5):
        invoke(request_event(f"Bearer {acme}"))
    assert calls == ["acme"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_issued_after_cache_load_works_after_short_refresh(admin: Admin, acme: str) -> None:
    clock = Clock()
    auth = Authenticator(
        TenantTable(boto3.client("dynamodb"), TABLE_NAME),
        TokenHashStore(boto3.client("secretsmanager"), SECRETS_PREFIX),
        TtlCache(max_age=60, clock=clock),
    )
    assert auth.authenticate(f"Bearer {acme}").tenant_id == "acme"
    newer = admin.issue_token("acme", "second").token
    clock.now += 6  # past the miss-refresh interval, well inside the 60 s cache age
    assert auth.authenticate(f"Bearer {newer}").tenant_id == "acme"


def test_failure_reasons_are_distinguished_for_metrics(admin: Admin, acme: str) -> None:
    auth = authorizer.authenticator()
    with pytest.raises(AuthenticationFailed) as missing:
        auth.authenticate(None)
    with pytest.raises(AuthenticationFailed) as malformed:
        auth.authenticate("Bearer nope")
    assert (missing.value.reason, malformed.value.reason) == (AuthFailure.MISSING, AuthFailure.MALFORMED)


def test_plaintext_token_is_stored_nowhere_and_logged_nowhere(
    acme: str, log_output: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(request_event(f"Bearer {acme}"))
    with pytest.raises(Exception, match="Unauthorized"):
        invoke(request_event(f"Bearer {acme[:-1]}x"))
    secret_part = acme.split("_", 2)[2]
    items = boto3.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]
    secrets = boto3.client("secretsmanager")
    stored = [
        secrets.get_secret_value(SecretId=s["Name"])["SecretString"]
        for s in secrets.list_secrets()["SecretList"]
    ]
    logs = log_output.getvalue()
    printed = capsys.readouterr()
    haystack = json.dumps(items) + json.dumps(stored) + logs + printed.out + printed.err
    # There is something to search in.
    assert items
    assert stored
    assert "token refused" in logs
    assert '"tenant_id":"acme"' in logs
    assert acme not in haystack
    assert secret_part not in haystack
    assert secret_part[:16] not in haystack


def test_last_used_is_recorded(admin: Admin, acme: str) -> None:
    invoke(request_event(f"Bearer {acme}"))
    (meta,) = admin.list_tokens("acme")
    assert meta.last_used_at is not None
