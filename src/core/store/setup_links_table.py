"""Setup links (and the one session each opens) in the DynamoDB table.

One item per link, in the tenant's setup partition: ``PK = T#<t>#SETUP``, ``SK = LINK#<id>``. It
holds the hash of the link's secret, never the secret, and, once redeemed, the hash of the session
id it opened, so that a session is exactly as alive as its link: revoking the link ends it with the
same write. ``ttl`` lets DynamoDB remove the item a day after the link expires.

Contract: each method is one DynamoDB call; writes are conditional (a link is redeemed once,
revoked once); a missing item is ``None`` or `NotFound`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from core.errors import Conflict, NotFound
from core.store.aws_errors import error_code, unavailable_on_outage
from core.store.keys import setup_link_sk, setup_pk
from core.store.tenants_table import Stamp, TransactionConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LINK_KIND = "setup-link"
_TTL_GRACE_SECONDS = 86_400


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(item: dict[str, Any], name: str) -> datetime | None:
    raw = item.get(name, {}).get("S")
    return datetime.fromisoformat(raw) if raw else None


@dataclass(frozen=True, slots=True)
class StoredLink:
    tenant_id: str
    link_id: str
    secret_hash: str
    created_at: datetime
    expires_at: datetime
    return_url: str | None = None
    created_by: str | None = None
    redeemed_at: datetime | None = None
    revoked_at: datetime | None = None
    session_hash: str | None = None
    session_expires_at: datetime | None = None


def _item(link: StoredLink, stamp: Stamp | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": {"S": setup_pk(link.tenant_id)},
        "SK": {"S": setup_link_sk(link.link_id)},
        "kind": {"S": LINK_KIND},
        "tenantId": {"S": link.tenant_id},
        "linkId": {"S": link.link_id},
        "secretHash": {"S": link.secret_hash},
        "createdAt": {"S": _ts(link.created_at)},
        "expiresAt": {"S": _ts(link.expires_at)},
        "ttl": {"N": str(int(link.expires_at.timestamp()) + _TTL_GRACE_SECONDS)},
    }
    if link.return_url:
        item["returnUrl"] = {"S": link.return_url}
    if stamp is not None:
        item |= {
            "changedBy": {"S": stamp.actor},
            "requestId": {"S": stamp.request_id or "-"},
            "changedAt": {"S": _ts(link.created_at)},
        }
    return item


def _link(item: dict[str, Any]) -> StoredLink:
    created, expires = _parse(item, "createdAt"), _parse(item, "expiresAt")
    assert created is not None
    assert expires is not None
    return StoredLink(
        tenant_id=item["tenantId"]["S"],
        link_id=item["linkId"]["S"],
        secret_hash=item["secretHash"]["S"],
        created_at=created,
        expires_at=expires,
        return_url=item.get("returnUrl", {}).get("S"),
        created_by=item.get("changedBy", {}).get("S") if "redeemedAt" not in item else None,
        redeemed_at=_parse(item, "redeemedAt"),
        revoked_at=_parse(item, "revokedAt"),
        session_hash=item.get("sessionHash", {}).get("S"),
        session_expires_at=_parse(item, "sessionExpiresAt"),
    )


class SetupLinkTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def _key(self, tenant_id: str, link_id: str) -> dict[str, Any]:
        return {"PK": {"S": setup_pk(tenant_id)}, "SK": {"S": setup_link_sk(link_id)}}

    def put(self, link: StoredLink, stamp: Stamp | None, with_items: Sequence[Any] = ()) -> None:
        """A new link (never overwrites one), alone or with `with_items` in one transaction."""
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": _item(link, stamp),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
        try:
            with unavailable_on_outage("DynamoDB"):
                if with_items:
                    items: list[Any] = [{"Put": put}, *with_items]
                    self._db.transact_write_items(TransactItems=items)
                else:
                    self._db.put_item(**put)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException":
                raise Conflict(f"setup link {link.link_id!r} already exists") from exc
            if code == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                raise TransactionConflict([str(r.get("Code") or "None") for r in reasons]) from exc
            raise

    def get(self, tenant_id: str, link_id: str) -> StoredLink | None:
        with unavailable_on_outage("DynamoDB"):
            out = self._db.get_item(
                TableName=self._table, Key=self._key(tenant_id, link_id), ConsistentRead=True
            )
        item = out.get("Item")
        return _link(item) if item else None

    def list(self, tenant_id: str) -> list[StoredLink]:
        """A tenant's links (a handful: expired ones leave with their TTL), oldest first."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :sk)",
            "ExpressionAttributeValues": {":pk": {"S": setup_pk(tenant_id)}, ":sk": {"S": "LINK#"}},
        }
        links: list[StoredLink] = []
        while True:
            with unavailable_on_outage("DynamoDB"):
                out = self._db.query(**kwargs)
            links.extend(_link(i) for i in out.get("Items", []))
            if "LastEvaluatedKey" not in out:
                return sorted(links, key=lambda link: link.created_at)
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def redeem(  # noqa: PLR0917 - the one conditional write of a redemption
        self,
        tenant_id: str,
        link_id: str,
        secret_hash: str,
        session_hash: str,
        session_expires_at: datetime,
        now: datetime,
        stamp: Stamp,
    ) -> bool:
        """Open the link's session: True, or False when someone else redeemed, revoked or the link
        expired meanwhile (the condition makes a second redemption impossible, even racing)."""
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key=self._key(tenant_id, link_id),
                    UpdateExpression="SET redeemedAt = :now, sessionHash = :s, sessionExpiresAt = :exp, "
                    "changedBy = :by, requestId = :rid, changedAt = :now",
                    ConditionExpression="attribute_exists(PK) AND secretHash = :h AND expiresAt > :now "
                    "AND attribute_not_exists(redeemedAt) AND attribute_not_exists(revokedAt)",
                    ExpressionAttributeValues={
                        ":now": {"S": _ts(now)},
                        ":s": {"S": session_hash},
                        ":exp": {"S": _ts(session_expires_at)},
                        ":h": {"S": secret_hash},
                        ":by": {"S": stamp.actor},
                        ":rid": {"S": stamp.request_id or "-"},
                    },
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def slide(self, tenant_id: str, link_id: str, session_hash: str, until: datetime) -> None:
        """Move the session's idle expiry (best effort: a revoked link's session stays dead)."""
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key=self._key(tenant_id, link_id),
                    UpdateExpression="SET sessionExpiresAt = :exp",
                    ConditionExpression="sessionHash = :s AND attribute_not_exists(revokedAt)",
                    ExpressionAttributeValues={":exp": {"S": _ts(until)}, ":s": {"S": session_hash}},
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def revoke(self, tenant_id: str, link_id: str, now: datetime, stamp: Stamp | None) -> None:
        """Revoke the link and with it its session (one write); revoking twice keeps the first time."""
        values: dict[str, Any] = {":now": {"S": _ts(now)}}
        sets = "SET revokedAt = if_not_exists(revokedAt, :now)"
        if stamp is not None:
            sets += ", changedBy = :by, requestId = :rid, changedAt = :now"
            values |= {":by": {"S": stamp.actor}, ":rid": {"S": stamp.request_id or "-"}}
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key=self._key(tenant_id, link_id),
                    UpdateExpression=sets,
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeValues=values,
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise NotFound(f"setup link {link_id!r} does not exist for tenant {tenant_id!r}") from exc
            raise
