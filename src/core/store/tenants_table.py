"""Tenant and token-metadata items in the DynamoDB table.

Contract: every method is one DynamoDB call; writes are conditional so that two admins racing
on the same tenant or token cannot overwrite each other; transient AWS failures surface as
`ServiceUnavailable`, a missing item as ``None`` or `NotFound`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from core.errors import Conflict, NotFound
from core.profiles import PRESETS, Profile
from core.store.aws_errors import error_code, unavailable_on_outage
from core.store.batch import batch_get
from core.store.keys import TENANT_INDEX, TENANT_INDEX_PK, TENANT_SK, TOKEN_SK_PREFIX, tenant_pk, token_sk
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
    )


class TenantTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    # -- tenants ---------------------------------------------------------------------------
    def create_tenant(self, tenant: Tenant) -> None:
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.put_item(
                    TableName=self._table,
                    Item=tenant_to_item(tenant),
                    ConditionExpression="attribute_not_exists(PK)",
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Conflict(f"tenant {tenant.tenant_id!r} already exists") from exc
            raise

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

    def set_tenant_status(self, tenant_id: str, status: TenantStatus) -> None:
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": TENANT_SK}},
                    UpdateExpression="SET #s = :s",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":s": {"S": status.value}},
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise NotFound(f"tenant {tenant_id!r} does not exist") from exc
            raise

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
    def put_token(self, meta: TokenMetadata) -> None:
        with unavailable_on_outage("DynamoDB"):
            self._db.put_item(
                TableName=self._table,
                Item=token_to_item(meta),
                ConditionExpression="attribute_not_exists(PK)",
            )

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

    def revoke_token(self, tenant_id: str, token_id: str, at: datetime) -> None:
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": token_sk(token_id)}},
                    UpdateExpression="SET revokedAt = if_not_exists(revokedAt, :at)",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeValues={":at": {"S": _ts(at)}},
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise NotFound(f"token {token_id!r} does not exist for tenant {tenant_id!r}") from exc
            raise

    def touch_token(self, tenant_id: str, token_id: str, at: datetime, not_since: datetime) -> None:
        """Record last use, at most once per interval: skipped when a newer mark exists."""
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": token_sk(token_id)}},
                    UpdateExpression="SET lastUsedAt = :at",
                    ConditionExpression="attribute_exists(PK) AND "
                    "(attribute_not_exists(lastUsedAt) OR lastUsedAt < :since)",
                    ExpressionAttributeValues={":at": {"S": _ts(at)}, ":since": {"S": _ts(not_since)}},
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
