"""The management API's pure parts: idempotency seals, the local SigV4 check, the event rules."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from core.errors import Conflict, ServiceUnavailable
from core.events import events_for_record
from core.idempotency import IdempotencyKey, InvalidIdempotencyKey
from core.management import Management
from core.store.idempotency_table import IdempotencyTable
from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from scimctl.sigv4_check import Caller, Refusal, SignedRequest, verify
from tests.conftest import TABLE_NAME
from tests.unit.management_calls import call

KEY = IdempotencyKey("6f1c3a52-27c4-4b5e-9d1a-0c2f3e4d5a6b")
URL = "http://127.0.0.1:8001/v1/tenants/acme/tokens?limit=5&cursor=abc"


# -- idempotency --------------------------------------------------------------------------------
def test_a_sealed_answer_opens_only_under_its_key_and_never_shows_the_token() -> None:
    answer = {"token_id": "acme.0123456789abcdef", "token": "scim_acme.0123456789abcdef_" + "s" * 43}
    sealed = KEY.seal(answer)
    assert answer["token"] not in sealed
    assert "s" * 10 not in sealed
    assert KEY.open(sealed) == answer
    with pytest.raises(ValueError, match="does not verify"):
        IdempotencyKey("another-key-0123456789").open(sealed)
    tampered = sealed[:-2] + ("AA" if not sealed.endswith("AA") else "BB")
    with pytest.raises(ValueError, match="does not verify"):
        KEY.open(tampered)
    assert KEY.seal(answer) != sealed  # a fresh nonce each time


def test_keys_are_stored_as_digests_and_must_carry_entropy() -> None:
    assert KEY.value not in KEY.digest
    assert KEY.digest != IdempotencyKey("6f1c3a52-27c4-4b5e-9d1a-0c2f3e4d5a6c").digest
    assert KEY.fingerprint("create", {"a": 1, "b": 2}) == KEY.fingerprint("create", {"b": 2, "a": 1})
    assert KEY.fingerprint("create", {"a": 1}) != KEY.fingerprint("issue", {"a": 1})
    assert IdempotencyKey.parse(None) is None
    for bad in ("short", "x" * 256, "has spaces in it ok?", "ünïcode-0123456789"):
        with pytest.raises(InvalidIdempotencyKey):
            IdempotencyKey.parse(bad)


# -- SigV4 ----------------------------------------------------------------------------------------
def signed(
    method: str = "POST",
    body: bytes = b'{"name":"okta"}',
    secret: str = "local",  # noqa: S107 - the documented local credential
    region: str = "us-east-1",
    service: str = "execute-api",
) -> SignedRequest:
    request = AWSRequest(method=method, url=URL, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("local", secret), service, region).add_auth(request)
    headers = [("Host", "127.0.0.1:8001"), *request.headers.items(), ("User-Agent", "curl/8")]
    return SignedRequest(method, URL, headers, body)


def test_a_botocore_signature_verifies_and_any_change_does_not() -> None:
    assert isinstance(verify(signed(), "us-east-1"), Caller)
    good = signed()
    changed = verify(SignedRequest(good.method, good.url, good.headers, b'{"name":"evil"}'), "us-east-1")
    assert isinstance(changed, Refusal)
    assert changed.error_type == "InvalidSignatureException"
    assert changed.message.startswith("The request signature we calculated does not match")
    other_query = verify(
        SignedRequest(good.method, URL.replace("limit=5", "limit=6"), good.headers, good.body), "us-east-1"
    )
    assert isinstance(other_query, Refusal)
    wrong = verify(signed(secret="nope"), "us-east-1")
    assert isinstance(wrong, Refusal)
    assert "The String-to-Sign should have been" in wrong.message


@pytest.mark.parametrize(
    ("request_", "error_type", "message"),
    [
        (
            SignedRequest("GET", URL, [("Host", "x")], b""),
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ),
        (
            SignedRequest("GET", URL, [("Authorization", "Bearer scim_x")], b""),
            "IncompleteSignatureException",
            "Authorization header requires 'Credential'",
        ),
        (
            signed(region="eu-west-1"),
            "InvalidSignatureException",
            "scoped to a valid region, not 'eu-west-1'",
        ),
        (signed(service="s3"), "InvalidSignatureException", "scoped to correct service: 'execute-api'"),
    ],
    ids=["unsigned", "bearer", "region", "service"],
)
def test_refusals_carry_api_gateways_texts(request_: SignedRequest, error_type: str, message: str) -> None:
    refused = verify(request_, "us-east-1")
    assert isinstance(refused, Refusal)
    assert refused.error_type == error_type
    assert message in refused.message


def test_a_signature_older_than_fifteen_minutes_is_expired() -> None:
    request = signed()
    stamp = dict((k.lower(), v) for k, v in request.headers)["x-amz-date"]
    signed_at = datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    assert isinstance(verify(request, "us-east-1", now=signed_at + timedelta(minutes=14)), Caller)
    late = verify(request, "us-east-1", now=signed_at + timedelta(minutes=16))
    assert isinstance(late, Refusal)
    assert late.message.startswith(f"Signature expired: {stamp} is now earlier than")


# -- events from tenant and token items ---------------------------------------------------------
def record(
    event_name: str, new: dict[str, Any], old: dict[str, Any] | None = None, seq: str = "1"
) -> dict[str, Any]:
    keys = {"PK": new["PK"], "SK": new["SK"]}
    body: dict[str, Any] = {"Keys": keys, "SequenceNumber": seq, "NewImage": new}
    if old is not None:
        body["OldImage"] = old
    return {"eventName": event_name, "dynamodb": body}


TENANT = {
    "PK": {"S": "T#acme"},
    "SK": {"S": "TENANT"},
    "kind": {"S": "tenant"},
    "tenantId": {"S": "acme"},
    "displayName": {"S": "Acme"},
    "status": {"S": "active"},
    "createdAt": {"S": "2026-12-01T00:00:00.000Z"},
    "profile": {"S": '{"preset": "oktopost"}'},
    "changedBy": {"S": "arn:aws:iam::111122223333:role/onboarding"},
    "requestId": {"S": "req-1"},
    "changedAt": {"S": "2026-12-01T00:00:00.000Z"},
}


def types(*records: dict[str, Any]) -> list[str]:
    return [e.detail_type for r in records for e in events_for_record(r, "https://x/v1/scim/v2")]


def test_tenant_items_become_management_events_and_bookkeeping_does_not() -> None:
    created = events_for_record(record("INSERT", TENANT), "https://x/v1/scim/v2")
    assert [e.detail_type for e in created] == ["scim.tenant.created"]
    detail = created[0].model_dump(by_alias=True)
    assert (detail["actor"], detail["requestId"], detail["tenant"]["preset"]) == (
        "arn:aws:iam::111122223333:role/onboarding",
        "req-1",
        "oktopost",
    )
    refused = TENANT | {"refusedAt": {"S": "2026-12-02T00:00:00Z"}, "refusedReason": {"S": "revoked"}}
    connected = TENANT | {"connectedAt": {"S": "2026-12-02T00:00:00.000Z"}}
    assert types(
        record("MODIFY", refused, TENANT),
        record("MODIFY", connected, TENANT),
        record("MODIFY", connected | {"status": {"S": "disabled"}}, connected),
        record("MODIFY", connected | {"displayName": {"S": "Acme Inc"}}, connected),
        record("MODIFY", connected | {"status": {"S": "deleted"}}, connected | {"status": {"S": "disabled"}}),
        record("MODIFY", connected | {"apiKey": {"S": "k"}}, connected),
    ) == [
        "scim.tenant.connected",
        "scim.tenant.disabled",
        "scim.tenant.updated",
        "scim.tenant.deleted",
    ]


def test_token_items_become_created_and_revoked_events_never_with_a_secret() -> None:
    token = {
        "PK": {"S": "T#acme"},
        "SK": {"S": "TOKEN#acme.0123456789abcdef"},
        "kind": {"S": "token"},
        "tenantId": {"S": "acme"},
        "tokenId": {"S": "acme.0123456789abcdef"},
        "name": {"S": "okta"},
        "createdAt": {"S": "2026-12-01T00:00:00.000Z"},
    }
    used = token | {"lastUsedAt": {"S": "2026-12-01T01:00:00.000Z"}}
    revoked = used | {"revokedAt": {"S": "2026-12-01T02:00:00.000Z"}}
    assert types(record("INSERT", token), record("MODIFY", used, token), record("MODIFY", revoked, used)) == [
        "scim.token.created",
        "scim.token.revoked",
    ]
    (event,) = events_for_record(record("MODIFY", revoked, used), "https://x/v1/scim/v2")
    assert event.model_dump(by_alias=True)["occurredAt"] == "2026-12-01T02:00:00.000Z"


# -- idempotent creates against DynamoDB (moto) -------------------------------------------------
@pytest.fixture
def management(table: TenantTable, hashes: TokenHashStore) -> Management:
    db = boto3.client("dynamodb")
    return Management(
        table, hashes, idempotency=IdempotencyTable(db, TABLE_NAME), scim_base_url="https://x/v1/scim/v2"
    )


def create_once(management: Management, key: IdempotencyKey) -> tuple[int, dict[str, Any]]:
    request = {"tenant_id": "acme", "name": "Acme"}
    return management.create_tenant_once(
        key, request, tenant_id="acme", display_name="Acme", profile=None, external_id=None, stamp=None
    )


def test_a_concurrent_retry_that_loses_the_race_answers_the_winners_answer(
    management: Management, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = create_once(management, KEY)
    real_get = IdempotencyTable.get
    looked: list[int] = []

    def not_yet_committed(self: IdempotencyTable, tenant_id: str, digest: str, now: int) -> Any:
        looked.append(1)
        return None if len(looked) == 1 else real_get(self, tenant_id, digest, now)

    monkeypatch.setattr(IdempotencyTable, "get", not_yet_committed)
    assert create_once(management, KEY) == first  # its transaction failed on the record: replayed
    assert len(looked) == 2
    with pytest.raises(Conflict):  # without the key it is a second create of an existing id
        create_once(management, IdempotencyKey("a-different-key-0123456789"))


def test_an_expired_record_is_neither_replayed_nor_in_the_way(
    management: Management, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, _ = create_once(management, KEY)
    assert status == 201
    later = time.time() + 25 * 3600  # past RETENTION_SECONDS; TTL has not removed the item yet
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Conflict, match="already exists"):
        create_once(management, KEY)  # not replayed (expired): a real second create, refused


# -- errors as problem details ------------------------------------------------------------------
@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Query"), 503),
        (ServiceUnavailable("DynamoDB is temporarily unavailable."), 503),
        (RuntimeError("internal detail that must not leak"), 500),
    ],
    ids=["throttled", "unavailable", "bug"],
)
def test_failures_are_problems_that_reveal_nothing(
    monkeypatch: pytest.MonkeyPatch, failure: Exception, status: int
) -> None:
    def fail(*_: Any, **__: Any) -> Any:
        raise failure

    monkeypatch.setattr(Management, "tenants_page", fail)
    answer = call("GET", "/tenants")
    assert answer.status == status
    assert answer.content_type == "application/problem+json"
    assert set(answer.body) == {"type", "title", "status", "detail"}
    assert answer.body["status"] == status
    assert "internal detail" not in answer.text
    assert "slow down" not in answer.text
    if status == 503:
        assert answer.headers["Retry-After"]


@pytest.mark.usefixtures("aws")
def test_an_unrouted_path_is_a_404_problem() -> None:
    answer = call("GET", "/nowhere")
    assert (answer.status, answer.content_type) == (404, "application/problem+json")
    assert answer.body["type"].endswith("management-api.md#not-found")
