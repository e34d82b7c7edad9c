"""Users and groups in DynamoDB: one item per resource, uniqueness guards, a per-kind counter.

Contract (each write is one DynamoDB request, so it is all-or-nothing):
- `create` writes the resource, its name guard and the counter increment in one transaction:
  of two concurrent creates of one name, exactly one succeeds; the other raises `Uniqueness`.
- `replace` is conditional on the stored version (optimistic concurrency): a concurrent writer
  makes it raise `VersionConflict`. A rename moves the guard in the same transaction.
- `delete` removes the resource, its guard and decrements the counter in one transaction.
- Reads of one resource are strongly consistent; name and externalId lookups go through GSIs
  (one Query each, eventually consistent) so they cost one call whatever the tenant's size.
- Transient AWS failures surface as `ServiceUnavailable`; nothing here builds HTTP responses.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from core.errors import NotFound, ServiceUnavailable, Uniqueness
from core.store.aws_errors import error_code, unavailable_on_outage
from core.store.batch import batch_get
from core.store.keys import (
    EXTERNAL_ID_INDEX,
    INACTIVE_USERS_COUNTER_SK,
    NAME_INDEX,
    NESTED_COUNTER_SK,
    UNIQUE_SK,
    Kind,
    bookmarks_pk,
    counter_sk,
    name_guard_pk,
    resources_pk,
    tenant_pk,
    tombstones_pk,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_KEY_BYTES = 512
TRANSACTION_ATTEMPTS = 4
_RETRYABLE_CANCELLATIONS = frozenset(
    {"ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"}
)  # DynamoDB allows 1,024 bytes in a sort key and 2,048 in a partition key.


TOMBSTONE_TTL_SECONDS = 7 * 24 * 3600
ROLES_ATTRIBUTE = "effectiveRoles"
# The direct group ids the stored roles were computed from (a JSON array): the next recompute checks
# each of them again, and writes only if no other recompute wrote in between (core.roles).
ROLES_FROM_ATTRIBUTE = "rolesFrom"
DELETE_MANY = 32  # 3 items each, plus two counters: within TransactWriteItems' 100 items


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: the API Gateway request id and the token id (never the token)."""

    request_id: str
    token_id: str
    at: str  # ISO-8601 time of the change

    def expiry(self, seconds: int) -> int:
        return int(datetime.fromisoformat(self.at).timestamp()) + seconds


class VersionConflict(Exception):
    """The stored version is not the expected one (a concurrent write won, or If-Match is stale)."""


def name_key(name: str) -> str:
    """userName / displayName are unique case-insensitively (RFC 7643 §4.1.1, Entra for groups)."""
    lowered = name.lower()  # the filter evaluator compares with lower() too
    if len(lowered.encode()) <= MAX_KEY_BYTES:
        return lowered
    return "sha256:" + hashlib.sha256(lowered.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredResource:
    tenant_id: str
    kind: Kind
    id: str
    version: int
    created: str
    last_modified: str
    name: str  # userName or displayName, as the client sent it
    document: dict[str, Any] = field(compare=False)  # canonical SCIM attributes, no meta
    external_id: str | None = None
    secret: str | None = None  # the password hash of a user; never returned
    request_id: str = ""  # the request that wrote this version (for provisioning events)
    token_id: str = ""
    # The tenant's group-in-group counter, read in the same BatchGetItem as this user (None: not
    # read). A user's `groups` need it; user writes cannot change it, so it survives `replace`.
    nested_groups: int | None = field(default=None, compare=False, repr=False)
    # A user's effective roles from its groups (core.roles), as stored: a JSON array, None if never
    # computed. Kept across PUT and PATCH (they replace the item from this object).
    effective_roles: str | None = None
    roles_from: str | None = None  # ROLES_FROM_ATTRIBUTE, kept across PUT and PATCH like the roles

    @property
    def name_key(self) -> str:
        return name_key(self.name)


@dataclass(frozen=True, slots=True)
class RolesState:
    """What a user item holds of its roles (`ResourceTable.roles_state`), both as stored JSON."""

    roles: str | None  # None: never computed
    roles_from: str | None  # None: computed before rolesFrom existed, or never


@dataclass(frozen=True, slots=True)
class Page:
    items: list[StoredResource]
    last_key: dict[str, Any] | None
    items_read: int


def resource_item(res: StoredResource) -> dict[str, Any]:
    pk = resources_pk(res.tenant_id, res.kind)
    item: dict[str, Any] = {
        "PK": {"S": pk},
        "SK": {"S": res.id},
        "GSI1PK": {"S": pk},
        "GSI1SK": {"S": res.name_key},
        "kind": {"S": res.kind.value},
        "tenantId": {"S": res.tenant_id},
        "id": {"S": res.id},
        "version": {"N": str(res.version)},
        "created": {"S": res.created},
        "lastModified": {"S": res.last_modified},
        "name": {"S": res.name},
        "doc": {"S": json.dumps(res.document, separators=(",", ":"), ensure_ascii=False)},
    }
    if res.external_id:
        item["GSI2PK"] = {"S": pk}
        item["GSI2SK"] = {"S": res.external_id[:MAX_KEY_BYTES]}
        item["externalId"] = {"S": res.external_id}
    if res.secret:
        item["secret"] = {"S": res.secret}
    if res.request_id:
        item["requestId"] = {"S": res.request_id}
        item["tokenId"] = {"S": res.token_id}
    if res.effective_roles is not None:
        item[ROLES_ATTRIBUTE] = {"S": res.effective_roles}
    if res.roles_from is not None:
        item[ROLES_FROM_ATTRIBUTE] = {"S": res.roles_from}
    return item


def _inactive(res: StoredResource) -> int:
    """1 for a user whose `active` is false (absent means active, RFC 7643 §4.1.1), else 0."""
    return int(res.kind is Kind.USER and res.document.get("active") is False)


def _from_item(item: dict[str, Any]) -> StoredResource:
    return StoredResource(
        tenant_id=item["tenantId"]["S"],
        kind=Kind(item["kind"]["S"]),
        id=item["id"]["S"],
        version=int(item["version"]["N"]),
        created=item["created"]["S"],
        last_modified=item["lastModified"]["S"],
        name=item["name"]["S"],
        document=json.loads(item["doc"]["S"]),
        external_id=item.get("externalId", {}).get("S"),
        secret=item.get("secret", {}).get("S"),
        request_id=item.get("requestId", {}).get("S", ""),
        token_id=item.get("tokenId", {}).get("S", ""),
        effective_roles=item.get(ROLES_ATTRIBUTE, {}).get("S"),
        roles_from=item.get(ROLES_FROM_ATTRIBUTE, {}).get("S"),
    )


def stored_resource(item: dict[str, Any]) -> StoredResource:
    """The resource a user or group item holds; also reads a stream image of one (core.events)."""
    return _from_item(item)


def guard_item(res: StoredResource) -> dict[str, Any]:
    return {
        "PK": {"S": name_guard_pk(res.tenant_id, res.kind, res.name_key)},
        "SK": {"S": UNIQUE_SK},
        "kind": {"S": "guard"},
        "owner": {"S": res.id},
    }


def _guard_key(tenant_id: str, kind: Kind, key: str) -> dict[str, Any]:
    return {"PK": {"S": name_guard_pk(tenant_id, kind, key)}, "SK": {"S": UNIQUE_SK}}


def _cancellation_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    return [str(r.get("Code", "None")) for r in reasons]


class ResourceTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    @property
    def table_name(self) -> str:
        return self._table

    # -- writes ------------------------------------------------------------------------------
    def create(self, res: StoredResource, extra: Sequence[Any] = ()) -> None:
        """`extra`: further transaction items written atomically with the resource (members)."""
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": resource_item(res),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": guard_item(res),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            self._count_update(res.tenant_id, res.kind, +1),
            *self._inactive_update(res.tenant_id, _inactive(res)),
            *extra,
        ]
        codes = self._transact(items)
        if codes is not None:
            raise Uniqueness(f"{_label(res.kind)} {res.name[:100]!r} already exists in this tenant.")

    def replace(self, old: StoredResource, new: StoredResource) -> None:
        put = {
            "Put": {
                "TableName": self._table,
                "Item": resource_item(new),
                "ConditionExpression": "attribute_exists(PK) AND version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(old.version)}},
            }
        }
        # A deactivation or reactivation moves the user between the counters in the same write.
        flip = _inactive(new) - _inactive(old)
        if old.name_key == new.name_key and not flip:
            self._put_conditional(put["Put"])
            return
        items: list[Any] = [put, *self._inactive_update(new.tenant_id, flip)]
        if old.name_key == new.name_key:
            if self._transact(items) is not None:
                raise VersionConflict(old.id)
            return
        items += [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": _guard_key(old.tenant_id, old.kind, old.name_key),
                    "ConditionExpression": "#o = :id",
                    "ExpressionAttributeNames": {"#o": "owner"},
                    "ExpressionAttributeValues": {":id": {"S": old.id}},
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": guard_item(new),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
        ]
        codes = self._transact(items)
        if codes is None:
            return
        if codes[0] == "ConditionalCheckFailed":
            raise VersionConflict(old.id)
        raise Uniqueness(f"{_label(new.kind)} {new.name[:100]!r} already exists in this tenant.")

    def delete(self, res: StoredResource, actor: Actor) -> None:
        """Delete the resource, free its name, and leave a tombstone saying who deleted what."""
        items: list[Any] = [
            *self._deletion(res, actor),
            self._count_update(res.tenant_id, res.kind, -1),
            *self._inactive_update(res.tenant_id, -_inactive(res)),
        ]
        if self._transact(items) is not None:
            raise VersionConflict(res.id)

    def delete_many(self, resources: Sequence[StoredResource], actor: Actor) -> None:
        """Delete up to `DELETE_MANY` resources of one tenant and kind in one transaction, each as
        `delete` would (conditional on its version, guard and tombstone), the counters moved once.
        All or nothing: any changed or missing resource cancels it (VersionConflict)."""
        if not resources:
            return
        if len(resources) > DELETE_MANY:
            raise ValueError(f"at most {DELETE_MANY} resources per transaction")
        first = resources[0]
        items: list[Any] = [item for res in resources for item in self._deletion(res, actor)]
        items.append(self._count_update(first.tenant_id, first.kind, -len(resources)))
        items += self._inactive_update(first.tenant_id, -sum(_inactive(r) for r in resources))
        if self._transact(items) is not None:
            raise VersionConflict(first.id)

    def _deletion(self, res: StoredResource, actor: Actor) -> list[Any]:
        """The resource's delete (conditional on its version), its guard's, and its tombstone."""
        tombstone = {
            **resource_item(res),
            "PK": {"S": tombstones_pk(res.tenant_id)},
            "SK": {"S": f"{res.kind.value}#{res.id}"},
            "kind": {"S": "tombstone"},
            "resourceKind": {"S": res.kind.value},
            "requestId": {"S": actor.request_id},
            "tokenId": {"S": actor.token_id},
            "deletedAt": {"S": actor.at},
            "ttl": {"N": str(actor.expiry(TOMBSTONE_TTL_SECONDS))},
        }
        for index in ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "secret"):
            tombstone.pop(index, None)  # never found by lookups; never keeps a password hash
        return [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": {"PK": {"S": resources_pk(res.tenant_id, res.kind)}, "SK": {"S": res.id}},
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": {"N": str(res.version)}},
                }
            },
            {"Delete": {"TableName": self._table, "Key": _guard_key(res.tenant_id, res.kind, res.name_key)}},
            {"Put": {"TableName": self._table, "Item": tombstone}},
        ]

    def roles_state(self, tenant_id: str, user_id: str) -> RolesState | None:
        """A user's stored roles and what they were computed from (one consistent GetItem of three
        attributes); None if the user does not exist."""
        with unavailable_on_outage("DynamoDB"):
            out = self._db.get_item(
                TableName=self._table,
                Key={"PK": {"S": resources_pk(tenant_id, Kind.USER)}, "SK": {"S": user_id}},
                ConsistentRead=True,
                ProjectionExpression="PK, effectiveRoles, rolesFrom",
            )
        item = out.get("Item")
        if item is None:
            return None
        return RolesState(item.get(ROLES_ATTRIBUTE, {}).get("S"), item.get(ROLES_FROM_ATTRIBUTE, {}).get("S"))

    def set_roles(
        self,
        tenant_id: str,
        user_id: str,
        roles_json: str,
        from_json: str,
        *,
        read: RolesState,
        actor: Actor,
    ) -> bool:
        """Store a user's effective roles and the direct groups they came from, if they are still
        as `read` (False: another recompute wrote in between, or the user is gone; read again).
        Bumps the version (and is stamped with the actor) like any change, so a concurrent PUT
        retries on top of it instead of writing the old roles back; its stream record is
        scim.user.roles_changed when the roles moved."""
        names = {"#r": ROLES_ATTRIBUTE, "#f": ROLES_FROM_ATTRIBUTE}
        values: dict[str, Any] = {
            ":r": {"S": roles_json},
            ":f": {"S": from_json},
            ":at": {"S": actor.at},
            ":q": {"S": actor.request_id},
            ":t": {"S": actor.token_id},
            ":one": {"N": "1"},
        }
        if read.roles_from is None:
            as_read = "attribute_not_exists(#f)"
        else:
            as_read = "#f = :was"
            values[":was"] = {"S": read.roles_from}
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": resources_pk(tenant_id, Kind.USER)}, "SK": {"S": user_id}},
                    UpdateExpression="SET #r = :r, #f = :f, lastModified = :at, requestId = :q, "
                    "tokenId = :t ADD version :one",
                    ConditionExpression=f"attribute_exists(PK) AND {as_read}",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    # -- reads -------------------------------------------------------------------------------
    def get(self, tenant_id: str, kind: Kind, resource_id: str) -> StoredResource | None:
        with unavailable_on_outage("DynamoDB"):
            out = self._db.get_item(
                TableName=self._table,
                Key={"PK": {"S": resources_pk(tenant_id, kind)}, "SK": {"S": resource_id}},
                ConsistentRead=True,
            )
        item = out.get("Item")
        return _from_item(item) if item else None

    def require(self, tenant_id: str, kind: Kind, resource_id: str) -> StoredResource:
        found = self.get(tenant_id, kind, resource_id)
        if found is None:
            raise NotFound(f"{_label(kind)} {resource_id[:64]!r} not found.")
        return found

    def require_with_nested_count(self, tenant_id: str, kind: Kind, resource_id: str) -> StoredResource:
        """The resource and the tenant's group-in-group counter, in one consistent BatchGetItem.

        A user read that returns `groups` needs both; one round trip instead of two, for 1 RCU on
        the counter instead of 0.5 (BatchGetItem's consistency is per table). The counter rides on
        the result as `nested_groups`.
        """
        resource_key = {"PK": {"S": resources_pk(tenant_id, kind)}, "SK": {"S": resource_id}}
        counter_key = {"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": NESTED_COUNTER_SK}}
        found = batch_get(self._db, self._table, [resource_key, counter_key])
        item = next((i for i in found if i["PK"]["S"] == resource_key["PK"]["S"]), None)
        if item is None:
            raise NotFound(f"{_label(kind)} {resource_id[:64]!r} not found.")
        counter = next((i for i in found if i["PK"]["S"] == counter_key["PK"]["S"]), {})
        return replace(_from_item(item), nested_groups=int(counter.get("n", {}).get("N", "0")))

    def existing_ids(self, tenant_id: str, kind: Kind, ids: Sequence[str]) -> set[str]:
        """Which of `ids` exist (BatchGetItem, 100 keys per call, consistent)."""
        return {i["id"]["S"] for i in self._batch_get(tenant_id, kind, ids, projection="id")}

    def get_many(self, tenant_id: str, kind: Kind, ids: Sequence[str]) -> list[StoredResource]:
        """The resources among `ids` that exist, in the order of `ids`."""
        found = {r.id: r for r in map(_from_item, self._batch_get(tenant_id, kind, ids))}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    def _batch_get(
        self, tenant_id: str, kind: Kind, ids: Sequence[str], projection: str | None = None
    ) -> list[dict[str, Any]]:
        pk = resources_pk(tenant_id, kind)
        keys = [{"PK": {"S": pk}, "SK": {"S": i}} for i in dict.fromkeys(ids)]
        return batch_get(self._db, self._table, keys, projection)

    def find_by_name(self, tenant_id: str, kind: Kind, name: str) -> list[StoredResource]:
        return self._index_lookup(tenant_id, kind, NAME_INDEX, "GSI1", name_key(name))

    def find_by_external_id(self, tenant_id: str, kind: Kind, external_id: str) -> list[StoredResource]:
        found = self._index_lookup(tenant_id, kind, EXTERNAL_ID_INDEX, "GSI2", external_id[:MAX_KEY_BYTES])
        return [r for r in found if r.external_id == external_id]  # externalId is caseExact

    def count(self, tenant_id: str, kind: Kind) -> int:
        with unavailable_on_outage("DynamoDB"):
            out = self._db.get_item(
                TableName=self._table,
                Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": counter_sk(kind)}},
                ConsistentRead=True,
            )
        return int(out.get("Item", {}).get("n", {}).get("N", "0"))

    def page(
        self,
        tenant_id: str,
        kind: Kind,
        *,
        limit: int,
        start_key: dict[str, Any] | None = None,
        by_name: bool = False,
        descending: bool = False,
    ) -> Page:
        """One Query over the tenant's resources of a kind, in id or name order."""
        pk = resources_pk(tenant_id, kind)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": ("GSI1PK" if by_name else "PK") + " = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "Limit": limit,
            "ScanIndexForward": not descending,
        }
        if by_name:
            kwargs["IndexName"] = NAME_INDEX
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        with unavailable_on_outage("DynamoDB"):
            out = self._db.query(**kwargs)
        items = [_from_item(i) for i in out.get("Items", [])]
        return Page(items=items, last_key=out.get("LastEvaluatedKey"), items_read=len(items))

    # -- page bookmarks (where the previous startIndex page ended) -----------------------------
    def get_bookmark(self, tenant_id: str, digest: str) -> dict[str, Any] | None:
        with unavailable_on_outage("DynamoDB"):
            out = self._db.get_item(
                TableName=self._table, Key={"PK": {"S": bookmarks_pk(tenant_id)}, "SK": {"S": digest}}
            )
        raw = out.get("Item", {}).get("key", {}).get("S")
        return json.loads(raw) if raw else None

    def put_bookmark(self, tenant_id: str, digest: str, key: dict[str, Any], expires_at: int) -> None:
        with unavailable_on_outage("DynamoDB"):
            self._db.put_item(
                TableName=self._table,
                Item={
                    "PK": {"S": bookmarks_pk(tenant_id)},
                    "SK": {"S": digest},
                    "kind": {"S": "bookmark"},
                    "key": {"S": json.dumps(key, separators=(",", ":"))},
                    "ttl": {"N": str(expires_at)},
                },
            )

    # -- helpers -----------------------------------------------------------------------------
    def _index_lookup(
        self, tenant_id: str, kind: Kind, index: str, prefix: str, value: str
    ) -> list[StoredResource]:
        with unavailable_on_outage("DynamoDB"):
            out = self._db.query(
                TableName=self._table,
                IndexName=index,
                KeyConditionExpression=f"{prefix}PK = :pk AND {prefix}SK = :sk",
                ExpressionAttributeValues={":pk": {"S": resources_pk(tenant_id, kind)}, ":sk": {"S": value}},
            )
        return [_from_item(i) for i in out.get("Items", [])]

    def _count_update(self, tenant_id: str, kind: Kind, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": counter_sk(kind)}},
                "UpdateExpression": "ADD n :d SET kind = :k",
                "ExpressionAttributeValues": {":d": {"N": str(delta)}, ":k": {"S": "counter"}},
            }
        }

    def _inactive_update(self, tenant_id: str, delta: int) -> list[dict[str, Any]]:
        if not delta:
            return []
        return [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": INACTIVE_USERS_COUNTER_SK}},
                    "UpdateExpression": "ADD n :d SET kind = :k",
                    "ExpressionAttributeValues": {":d": {"N": str(delta)}, ":k": {"S": "counter"}},
                }
            }
        ]

    def _put_conditional(self, put: dict[str, Any]) -> None:
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.put_item(**put)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict(put["Item"]["id"]["S"]) from exc
            raise

    def _transact(self, items: Sequence[Any]) -> list[str] | None:
        """Run one transaction; return the cancellation reason codes, or None on success.

        A ``TransactionConflict`` (another transaction touching the same item at that instant,
        e.g. two IdP workers creating one userName) is retried, so that the loser sees the
        winner's write and gets a clean ``ConditionalCheckFailed`` (409) instead of a 503.
        """
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                with unavailable_on_outage("DynamoDB"):
                    self._db.transact_write_items(TransactItems=list(items))
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                codes = _cancellation_codes(exc)
                if not any(c in _RETRYABLE_CANCELLATIONS for c in codes):
                    return codes
                if attempt == TRANSACTION_ATTEMPTS - 1:
                    raise ServiceUnavailable("DynamoDB is busy; retry the request.") from exc
                time.sleep(random.uniform(0.01, 0.05) * (2**attempt))  # noqa: S311 - jitter  # nosec B311
            else:
                return None
        raise AssertionError("unreachable")


def _label(kind: Kind) -> str:
    return "User" if kind is Kind.USER else "Group"


def with_version(res: StoredResource, version: int, last_modified: str) -> StoredResource:
    return replace(res, version=version, last_modified=last_modified)
