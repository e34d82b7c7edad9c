"""Tenant and token-metadata items in the DynamoDB table.

Contract: every method is one DynamoDB call; writes are conditional so that two admins racing
on the same tenant or token cannot overwrite each other; transient AWS failures surface as
`ServiceUnavailable`, a missing item as ``None`` or `NotFound`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from core.errors import Conflict, NotFound
from core.profiles import PRESETS, Profile
from core.store.aws_errors import error_code, unavailable_on_outage
from core.store.batch import batch_get
from core.store.keys import (
    INACTIVE_USERS_COUNTER_SK,
    TENANT_INDEX,
    TENANT_INDEX_PK,
    TENANT_SK,
    TOKEN_EXPIRY_INDEX_PK,
    TOKEN_SK_PREFIX,
    Kind,
    counter_sk,
    tenant_pk,
    token_sk,
)
from core.tenants import Tenant, TenantStatus
from core.tokens import TokenMetadata

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = dict[str, "AttributeValueTypeDef"]


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_ts(item: dict[str, Any], name: str) -> datetime | None:
    raw = item.get(name, {}).get("S")
    return datetime.fromisoformat(raw) if raw else None


def tenant_to_item(tenant: Tenant) -> Item:
    return {
        "PK": {"S": tenant_pk(tenant.tenant_id)},
        "SK": {"S": TENANT_SK},
        "GSI1PK": {"S": TENANT_INDEX_PK},
        "GSI1SK": {"S": tenant.tenant_id},
        "kind": {"S": "tenant"},
        "tenantId": {"S": tenant.tenant_id},
        "displayName": {"S": tenant.display_name},
        "status": {"S": tenant.status.value},
        "createdAt": {"S": _ts(tenant.created_at)},
        "profile": {"S": tenant.profile.to_json()},
        "profileVersion": {"N": str(tenant.profile_version)},
        **({"apiKey": {"S": tenant.api_key}} if tenant.api_key else {}),
        **({"externalId": {"S": tenant.external_id}} if tenant.external_id else {}),
    }


def item_to_tenant(item: dict[str, Any]) -> Tenant:
    created = _parse_ts(item, "createdAt")
    assert created is not None
    return Tenant(
        tenant_id=item["tenantId"]["S"],
        display_name=item["displayName"]["S"],
        status=TenantStatus(item["status"]["S"]),
        created_at=created,
        profile=Profile.from_json(item["profile"]["S"]) if "profile" in item else PRESETS["default"],
        profile_version=int(item.get("profileVersion", {}).get("N", "1")),
        api_key=item.get("apiKey", {}).get("S"),
        external_id=item.get("externalId", {}).get("S"),
        connected_at=_parse_ts(item, "connectedAt"),
        refused_at=_parse_ts(item, "refusedAt"),
        refused_reason=item.get("refusedReason", {}).get("S"),
        refused_token_id=item.get("refusedTokenId", {}).get("S"),
    )


def token_to_item(meta: TokenMetadata) -> Item:
    item: Item = {
        "PK": {"S": tenant_pk(meta.tenant_id)},
        "SK": {"S": token_sk(meta.token_id)},
        "kind": {"S": "token"},
        "tenantId": {"S": meta.tenant_id},
        "tokenId": {"S": meta.token_id},
        "name": {"S": meta.name},
        "createdAt": {"S": _ts(meta.created_at)},
    }
    for attr, value in (
        ("expiresAt", meta.expires_at),
        ("revokedAt", meta.revoked_at),
        ("lastUsedAt", meta.last_used_at),
    ):
        if value is not None:
            item[attr] = {"S": _ts(value)}
    if meta.expires_at is not None and meta.revoked_at is None:
        # Sparse: only tokens that can expire are in the expiry check's index (no Scan).
        item["GSI1PK"] = {"S": TOKEN_EXPIRY_INDEX_PK}
        item["GSI1SK"] = {"S": _ts(meta.expires_at)}
    if meta.expiry_warned_days is not None:
        item["expiryWarnedDays"] = {"N": str(meta.expiry_warned_days)}
    return item


def item_to_token(item: dict[str, Any]) -> TokenMetadata:
    created = _parse_ts(item, "createdAt")
    assert created is not None
    return TokenMetadata(
        tenant_id=item["tenantId"]["S"],
        token_id=item["tokenId"]["S"],
        name=item["name"]["S"],
        created_at=created,
        expires_at=_parse_ts(item, "expiresAt"),
        revoked_at=_parse_ts(item, "revokedAt"),
        last_used_at=_parse_ts(item, "lastUsedAt"),
        expiry_warned_days=int(item["expiryWarnedDays"]["N"]) if "expiryWarnedDays" in item else None,
    )


@dataclass(frozen=True, slots=True)
class Stamp:
    """Who made a management write: stored on the item, so its stream record (the event) names them."""

    actor: str  # the caller's IAM principal ARN, or "scimctl:<user>" for the CLI
    request_id: str = ""


def _stamp(stamp: Stamp | None) -> dict[str, Any]:
    if stamp is None:
        return {}
    return {
        "changedBy": {"S": stamp.actor},
        "requestId": {"S": stamp.request_id or "-"},
        "changedAt": {"S": _ts(datetime.now(UTC))},
    }


class TransactionConflict(Exception):
    """A transaction with extra items was cancelled by one of those items' conditions."""

    def __init__(self, codes: Sequence[str]) -> None:
        self.codes = list(codes)
        super().__init__(f"transaction cancelled: {self.codes}")


class TenantTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    # -- tenants ---------------------------------------------------------------------------
    def create_tenant(
        self, tenant: Tenant, stamp: Stamp | None = None, with_items: Sequence[Any] = ()
    ) -> None:
        """Create the tenant row; with `with_items` (TransactWriteItems entries, e.g. an idempotency
        record) in one transaction, so that neither exists without the other."""
        item = tenant_to_item(tenant) | _stamp(stamp)
        put = {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}
        codes = self._write(put, with_items)
        if codes and "ConditionalCheckFailed" in codes[1:]:
            raise TransactionConflict(codes)  # another request holds the extra items (its key)
        if codes and codes[0] == "ConditionalCheckFailed":
            raise Conflict(f"tenant {tenant.tenant_id!r} already exists (tenant ids are never reused)")
        if codes:
            raise TransactionConflict(codes)

    def _write(self, put: dict[str, Any], with_items: Sequence[Any]) -> list[str] | None:
        """One conditional Put, alone or in a transaction: None, or the cancellation codes."""
        try:
            with unavailable_on_outage("DynamoDB"):
                if not with_items:
                    self._db.put_item(**put)
                else:
                    items: list[Any] = [{"Put": put}, *with_items]
                    self._db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return ["ConditionalCheckFailed"]
            if error_code(exc) == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                return [str(r.get("Code") or "None") for r in reasons]
            raise
        return None

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        with unavailable_on_outage("DynamoDB"):
            out = self._db.get_item(
                TableName=self._table,
                Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": TENANT_SK}},
                ConsistentRead=True,
            )
        item = out.get("Item")
        return item_to_tenant(item) if item else None

    def list_tenants(self) -> list[Tenant]:
        """Admin only: reads the sparse tenant registry index, never the resource partitions."""
        tenants: list[Tenant] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": TENANT_INDEX,
            "KeyConditionExpression": "GSI1PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": TENANT_INDEX_PK}},
        }
        while True:
            with unavailable_on_outage("DynamoDB"):
                out = self._db.query(**kwargs)
            tenants.extend(item_to_tenant(i) for i in out.get("Items", []))
            if "LastEvaluatedKey" not in out:
                return tenants
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def set_profile(self, tenant_id: str, profile: Profile, expected_version: int) -> None:
        """Replace the tenant's profile; conditional on the version read, so edits never cross."""
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": TENANT_SK}},
                    UpdateExpression="SET profile = :p, profileVersion = :next",
                    ConditionExpression="attribute_exists(PK) AND "
                    "(attribute_not_exists(profileVersion) OR profileVersion = :v)",
                    ExpressionAttributeValues={
                        ":p": {"S": profile.to_json()},
                        ":v": {"N": str(expected_version)},
                        ":next": {"N": str(expected_version + 1)},
                    },
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Conflict(
                    f"the profile of tenant {tenant_id!r} changed meanwhile; read it again"
                ) from exc
            raise

    def set_tenant_status(self, tenant_id: str, status: TenantStatus, stamp: Stamp | None = None) -> None:
        self.update_tenant(tenant_id, status=status, stamp=stamp)

    def update_tenant(
        self,
        tenant_id: str,
        *,
        display_name: str | None = None,
        status: TenantStatus | None = None,
        profile: Profile | None = None,
        profile_version: int = 1,
        stamp: Stamp | None = None,
    ) -> Tenant | None:
        """Set name, status and/or profile in one conditional update (a deleted tenant is not
        found; a profile is replaced only if it is still at `profile_version`, else Conflict);
        returns the tenant after it (None if there was nothing to set)."""
        names: dict[str, str] = {"#s": "status"}
        values: dict[str, Any] = {":deleted": {"S": TenantStatus.DELETED.value}}
        sets: list[str] = []
        condition = "attribute_exists(PK) AND #s <> :deleted"
        if profile is not None:
            sets += ["profile = :p", "profileVersion = :next"]
            values |= {
                ":p": {"S": profile.to_json()},
                ":v": {"N": str(profile_version)},
                ":next": {"N": str(profile_version + 1)},
            }
            condition += " AND (attribute_not_exists(profileVersion) OR profileVersion = :v)"
        if display_name is not None:
            sets.append("displayName = :n")
            values[":n"] = {"S": display_name}
        if status is not None:
            sets.append("#s = :s")
            values[":s"] = {"S": status.value}
        for name, value in _stamp(stamp).items():
            sets.append(f"{name} = :{name}")
            values[f":{name}"] = value
        if not sets:
            return None
        try:
            with unavailable_on_outage("DynamoDB"):
                out = self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": TENANT_SK}},
                    UpdateExpression="SET " + ", ".join(sets),
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            response: dict[str, Any] = dict(exc.response)
            old: dict[str, Any] = response.get("Item") or {}
            if old and profile is not None and old.get("status", {}).get("S") != TenantStatus.DELETED.value:
                raise Conflict(
                    f"the profile of tenant {tenant_id!r} changed meanwhile; read it again"
                ) from exc
            raise NotFound(f"tenant {tenant_id!r} does not exist") from exc
        return item_to_tenant(out["Attributes"])

    def mark_connected(self, tenant_id: str, at: datetime) -> bool:
        """Record the first successful IdP request, once; True if this call recorded it."""
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": TENANT_SK}},
                    UpdateExpression="SET connectedAt = :at",
                    ConditionExpression="attribute_exists(PK) AND attribute_not_exists(connectedAt)",
                    ExpressionAttributeValues={":at": {"S": _ts(at)}},
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def record_refusal(
        self, tenant_id: str, reason: str, token_id: str, at: datetime, not_since: datetime
    ) -> None:
        """The tenant's last refused token (reason and token id, never the token), at most once
        per interval: skipped when a newer record exists."""
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": TENANT_SK}},
                    UpdateExpression="SET refusedAt = :at, refusedReason = :r, refusedTokenId = :t",
                    ConditionExpression="attribute_exists(PK) AND "
                    "(attribute_not_exists(refusedAt) OR refusedAt < :since)",
                    ExpressionAttributeValues={
                        ":at": {"S": _ts(at)},
                        ":r": {"S": reason},
                        ":t": {"S": token_id},
                        ":since": {"S": _ts(not_since)},
                    },
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def tenants_page(self, limit: int, after: str | None = None) -> tuple[list[Tenant], str | None]:
        """One page of the tenant registry (GSI1), in id order, and the last id if more may follow."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": TENANT_INDEX,
            "KeyConditionExpression": "GSI1PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": TENANT_INDEX_PK}},
            "Limit": limit,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = {
                "GSI1PK": {"S": TENANT_INDEX_PK},
                "GSI1SK": {"S": after},
                "PK": {"S": tenant_pk(after)},
                "SK": {"S": TENANT_SK},
            }
        with unavailable_on_outage("DynamoDB"):
            out = self._db.query(**kwargs)
        tenants = [item_to_tenant(i) for i in out.get("Items", [])]
        more = "LastEvaluatedKey" in out and bool(tenants)
        return tenants, tenants[-1].tenant_id if more else None

    def resource_counts(self, tenant_id: str) -> dict[str, int]:
        """The tenant's user, inactive-user and group counters (kept by every write that changes
        them, in the same transaction): one BatchGetItem."""
        pk = {"S": tenant_pk(tenant_id)}
        sks = [counter_sk(Kind.USER), INACTIVE_USERS_COUNTER_SK, counter_sk(Kind.GROUP)]
        keys: list[Any] = [{"PK": pk, "SK": {"S": sk}} for sk in sks]
        found = {
            i["SK"]["S"]: int(i.get("n", {}).get("N", "0")) for i in batch_get(self._db, self._table, keys)
        }
        users, inactive = found.get(sks[0], 0), found.get(sks[1], 0)
        return {
            "users": users,
            "users_active": users - inactive,
            "users_inactive": inactive,
            "groups": found.get(sks[2], 0),
        }

    def set_api_key(self, tenant_id: str, api_key: str) -> None:
        """Record the tenant's usage plan key (scimctl; the authorizer reads it with the tenant)."""
        with unavailable_on_outage("DynamoDB"):
            self._db.update_item(
                TableName=self._table,
                Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": TENANT_SK}},
                UpdateExpression="SET apiKey = :k",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues={":k": {"S": api_key}},
            )

    # -- token metadata --------------------------------------------------------------------
    def put_token(
        self, meta: TokenMetadata, stamp: Stamp | None = None, with_items: Sequence[Any] = ()
    ) -> None:
        put = {
            "TableName": self._table,
            "Item": token_to_item(meta) | _stamp(stamp),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
        codes = self._write(put, with_items)
        if codes and "ConditionalCheckFailed" in codes[1:]:
            raise TransactionConflict(codes)
        if codes and codes[0] == "ConditionalCheckFailed":
            raise Conflict(f"token {meta.token_id!r} already exists")
        if codes:
            raise TransactionConflict(codes)

    def list_tokens(self, tenant_id: str) -> list[TokenMetadata]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :sk)",
            "ExpressionAttributeValues": {":pk": {"S": tenant_pk(tenant_id)}, ":sk": {"S": TOKEN_SK_PREFIX}},
        }
        tokens: list[TokenMetadata] = []
        while True:
            with unavailable_on_outage("DynamoDB"):
                out = self._db.query(**kwargs)
            tokens.extend(item_to_token(i) for i in out.get("Items", []))
            if "LastEvaluatedKey" not in out:
                return tokens
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def get_tenant_and_token(
        self, tenant_id: str, token_id: str
    ) -> tuple[Tenant | None, TokenMetadata | None]:
        """One BatchGetItem: what the authorizer needs on every uncached request."""
        pk = {"S": tenant_pk(tenant_id)}
        keys: list[Any] = [{"PK": pk, "SK": {"S": TENANT_SK}}, {"PK": pk, "SK": {"S": token_sk(token_id)}}]
        items = batch_get(self._db, self._table, keys)
        tenant = next((item_to_tenant(i) for i in items if i["SK"]["S"] == TENANT_SK), None)
        token = next((item_to_token(i) for i in items if i["SK"]["S"] != TENANT_SK), None)
        return tenant, token

    def revoke_token(self, tenant_id: str, token_id: str, at: datetime, stamp: Stamp | None = None) -> None:
        stamped = _stamp(stamp)
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": token_sk(token_id)}},
                    UpdateExpression="SET revokedAt = if_not_exists(revokedAt, :at)"
                    + "".join(f", {name} = :{name}" for name in stamped)
                    + " REMOVE GSI1PK, GSI1SK",  # a revoked token never expires: out of the index
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeValues={":at": {"S": _ts(at)}}
                    | {f":{name}": value for name, value in stamped.items()},
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise NotFound(f"token {token_id!r} does not exist for tenant {tenant_id!r}") from exc
            raise

    def tokens_expiring(self, start: datetime, end: datetime) -> list[TokenMetadata]:
        """Every unrevoked token of every tenant that expires in [start, end]: the sparse expiry
        registry on GSI1, a few items per tenant (only the daily expiry check reads it)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": TENANT_INDEX,
            "KeyConditionExpression": "GSI1PK = :pk AND GSI1SK BETWEEN :start AND :end",
            "ExpressionAttributeValues": {
                ":pk": {"S": TOKEN_EXPIRY_INDEX_PK},
                ":start": {"S": _ts(start)},
                ":end": {"S": _ts(end)},
            },
        }
        tokens: list[TokenMetadata] = []
        while True:
            with unavailable_on_outage("DynamoDB"):
                out = self._db.query(**kwargs)
            tokens.extend(item_to_token(i) for i in out.get("Items", []))
            if "LastEvaluatedKey" not in out:
                return tokens
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def mark_expiry_warning(self, tenant_id: str, token_id: str, days: int, stamp: Stamp) -> bool:
        """Record that the `days` warning was sent; True only for the one call that records it (a
        smaller threshold than any recorded, on a token not revoked). Its stream record is the
        ``scim.token.expiring`` event, so it is sent once per threshold however often this runs."""
        stamped = _stamp(stamp)
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": token_sk(token_id)}},
                    UpdateExpression="SET expiryWarnedDays = :d"
                    + "".join(f", {name} = :{name}" for name in stamped),
                    ConditionExpression="attribute_exists(PK) AND attribute_not_exists(revokedAt) AND "
                    "(attribute_not_exists(expiryWarnedDays) OR expiryWarnedDays > :d)",
                    ExpressionAttributeValues={":d": {"N": str(days)}}
                    | {f":{name}": value for name, value in stamped.items()},
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def touch_token(
        self,
        tenant_id: str,
        token_id: str,
        at: datetime,
        not_since: datetime,
        expires_at: datetime | None = None,
    ) -> None:
        """Record last use, at most once per interval: skipped when a newer mark exists.

        `expires_at` (an unrevoked token that expires): the same write puts the token in the
        sparse expiry registry, so a token issued before the registry existed is indexed on its
        next use, for no extra call (a token already indexed gets the same values again)."""
        update, condition = "SET lastUsedAt = :at", "attribute_exists(PK)"
        values: dict[str, Any] = {":at": {"S": _ts(at)}, ":since": {"S": _ts(not_since)}}
        if expires_at is not None:
            update += ", GSI1PK = :index, GSI1SK = :expires"
            condition += " AND attribute_not_exists(revokedAt)"  # a revoked token stays out of it
            values |= {":index": {"S": TOKEN_EXPIRY_INDEX_PK}, ":expires": {"S": _ts(expires_at)}}
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": token_sk(token_id)}},
                    UpdateExpression=update,
                    ConditionExpression=f"{condition} AND "
                    "(attribute_not_exists(lastUsedAt) OR lastUsedAt < :since)",
                    ExpressionAttributeValues=values,
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def index_token_expiry(self, tenant_id: str, token_id: str, expires_at: datetime) -> bool:
        """Put an unrevoked token missing from the sparse expiry registry in it (`scimctl token
        index-expiry`, for tokens issued before the registry existed); True if it was missing."""
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": token_sk(token_id)}},
                    UpdateExpression="SET GSI1PK = :index, GSI1SK = :expires",
                    ConditionExpression="attribute_exists(PK) AND attribute_not_exists(revokedAt) AND "
                    "attribute_not_exists(GSI1PK)",
                    ExpressionAttributeValues={
                        ":index": {"S": TOKEN_EXPIRY_INDEX_PK},
                        ":expires": {"S": _ts(expires_at)},
                    },
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True
