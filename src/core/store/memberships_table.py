"""Group membership as one item per (group, member), plus a reverse index (GSI1) per member.

A group can hold any number of members without approaching DynamoDB's 400 KB item limit, and
concurrent membership changes never lose or resurrect a member: each membership is its own
item, written or deleted individually, never by rewriting a list.

Contract:
- `add` / `remove` are idempotent per member (an existing member added again, or an absent one
  removed, changes nothing and produces no stream record); they run in transactions of at most
  `CHUNK` items that also bump the group's version and lastModified.
- `members` pages through a group's members in member-id order; `groups_of` reads a member's
  direct groups from the reverse index in one Query.
- `NESTED_COUNTER_SK` counts group-in-group memberships per tenant, so a user's read knows
  whether it must look for indirect groups at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from core.audit import note
from core.errors import NotFound, ServiceUnavailable
from core.store.aws_errors import error_code, unavailable_on_outage
from core.store.batch import batch_get, batch_write
from core.store.keys import (
    NAME_INDEX,
    NESTED_COUNTER_SK,
    Kind,
    member_of_pk,
    members_pk,
    resources_pk,
    tenant_pk,
    tombstones_pk,
)
from core.store.resources_table import TOMBSTONE_TTL_SECONDS, Actor, StoredResource, stored_resource

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CHUNK = 100  # TransactWriteItems' limit; each chunk also holds the group's version bump.
QUERY_PAGE = 1000
# Dropping no-op steps takes a retry each; so does a concurrent writer moving the group's version
# (Entra sends up to five PATCHes of one group in parallel).
TRANSACT_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    member_type: str  # "User" or "Group"
    display: str | None = None  # as the client sent it (Okta sends the user's name)


@dataclass(frozen=True, slots=True)
class Membership:
    group_id: str
    group_display: str
    member: Member


@dataclass(frozen=True, slots=True)
class GroupChecks:
    """What a membership change reads first (`MembershipTable.group_with_checks`)."""

    group: StoredResource | None
    users: set[str]  # the ids among those asked that are users of the tenant
    present: list[Member]  # the members among those asked that are direct members


class MembershipTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._db = client
        self._table = table_name

    # -- reads -------------------------------------------------------------------------------
    def members(self, tenant_id: str, group_id: str, limit: int | None = None) -> list[Member]:
        out: list[Member] = []
        for page in self._pages(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": members_pk(tenant_id, group_id)}},
            limit=limit,
        ):
            out.extend(_member(i) for i in page)
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out

    def present(self, tenant_id: str, group_id: str, member_ids: Sequence[str]) -> list[Member]:
        """Which of `member_ids` are direct members (BatchGetItem, 100 keys per call)."""
        found: list[Member] = []
        pk = members_pk(tenant_id, group_id)
        for start in range(0, len(member_ids), 100):
            keys: list[Any] = [{"PK": {"S": pk}, "SK": {"S": m}} for m in member_ids[start : start + 100]]
            found.extend(_member(i) for i in batch_get(self._db, self._table, keys))
        return found

    def groups_among(self, tenant_id: str, member_id: str, group_ids: Iterable[str]) -> set[str]:
        """Which of `group_ids` this member is directly in, from the membership items themselves
        (consistent BatchGetItem, 100 keys per call): the reverse index can lag a write by up to a
        second, and roles must not be computed from a membership just removed."""
        keys: list[Any] = [
            {"PK": {"S": members_pk(tenant_id, g)}, "SK": {"S": member_id}} for g in sorted(set(group_ids))
        ]
        return (
            {i["groupId"]["S"] for i in batch_get(self._db, self._table, keys, "groupId")} if keys else set()
        )

    def group_with_checks(
        self, tenant_id: str, group_id: str, *, user_ids: Sequence[str], member_ids: Sequence[str]
    ) -> GroupChecks:
        """The group, which of `user_ids` are users, which of `member_ids` are its members: one
        consistent BatchGetItem (per 100 keys) instead of a GetItem and a BatchGetItem. A group
        PATCH that adds or removes named members needs nothing else before its transaction."""
        group_pk = resources_pk(tenant_id, Kind.GROUP)
        users_pk, group_members_pk = resources_pk(tenant_id, Kind.USER), members_pk(tenant_id, group_id)
        keys: list[Any] = [{"PK": {"S": group_pk}, "SK": {"S": group_id}}]
        keys += [{"PK": {"S": users_pk}, "SK": {"S": u}} for u in dict.fromkeys(user_ids)]
        keys += [{"PK": {"S": group_members_pk}, "SK": {"S": m}} for m in dict.fromkeys(member_ids)]
        group: StoredResource | None = None
        users: set[str] = set()
        present: list[Member] = []
        for item in batch_get(self._db, self._table, keys):
            pk = item["PK"]["S"]
            if pk == group_pk:
                group = stored_resource(item)
            elif pk == users_pk:
                users.add(item["SK"]["S"])
            elif pk == group_members_pk:
                present.append(_member(item))
        return GroupChecks(group, users, present)

    def groups_of(self, tenant_id: str, member_id: str) -> list[Membership]:
        out: list[Membership] = []
        for page in self._pages(
            IndexName=NAME_INDEX,
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": {"S": member_of_pk(tenant_id, member_id)}},
        ):
            out.extend(
                Membership(
                    group_id=i["groupId"]["S"],
                    group_display=i.get("groupDisplay", {}).get("S", ""),
                    member=_member(i),
                )
                for i in page
            )
        return out

    def members_page(
        self, tenant_id: str, group_id: str, *, limit: int, after: str | None = None
    ) -> tuple[list[Member], str | None]:
        """One Query: up to `limit` members in member-id order after `after`, and the id to pass
        as `after` for the next page (None: no more). It reads one item more than it returns, so
        the last page is never an empty one."""
        pk = members_pk(tenant_id, group_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "Limit": limit + 1,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = {"PK": {"S": pk}, "SK": {"S": after}}
        with unavailable_on_outage("DynamoDB"):
            out = self._db.query(**kwargs)
        members = [_member(i) for i in out.get("Items", [])]
        # LastEvaluatedKey with `limit` items or fewer: DynamoDB's 1 MB page ended the read.
        more = len(members) > limit or ("LastEvaluatedKey" in out and bool(members))
        members = members[:limit]
        return members, (members[-1].member_id if more else None)

    def groups_of_page(
        self, tenant_id: str, member_id: str, *, limit: int, after: str | None = None
    ) -> tuple[list[Membership], str | None]:
        """One Query of the reverse index: up to `limit` direct groups in group-id order after
        the group id `after`, and the group id to continue after (None: no more; one item more
        is read, as in `members_page`)."""
        pk = member_of_pk(tenant_id, member_id)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": NAME_INDEX,
            "KeyConditionExpression": "GSI1PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "Limit": limit + 1,
        }
        if after is not None:
            # A GSI's start key holds the index key and the table key of the last item read.
            kwargs["ExclusiveStartKey"] = {
                "GSI1PK": {"S": pk},
                "GSI1SK": {"S": after},
                "PK": {"S": members_pk(tenant_id, after)},
                "SK": {"S": member_id},
            }
        with unavailable_on_outage("DynamoDB"):
            out = self._db.query(**kwargs)
        found = [
            Membership(i["groupId"]["S"], i.get("groupDisplay", {}).get("S", ""), _member(i))
            for i in out.get("Items", [])
        ]
        more = len(found) > limit or ("LastEvaluatedKey" in out and bool(found))
        found = found[:limit]
        return found, (found[-1].group_id if more else None)

    def nested_count(self, tenant_id: str) -> int:
        with unavailable_on_outage("DynamoDB"):
            out = self._db.get_item(
                TableName=self._table,
                Key={"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": NESTED_COUNTER_SK}},
            )
        return int(out.get("Item", {}).get("n", {}).get("N", "0"))

    # -- writes ------------------------------------------------------------------------------
    def change_at_version(
        self,
        tenant_id: str,
        group_id: str,
        group_display: str,
        actor: Actor,
        version: int,
        *,
        add: Sequence[Member] = (),
        remove: Sequence[Member] = (),
    ) -> int | None:
        """Write membership changes in transactions of at most `CHUNK` items, starting from the
        group's `version` as the caller read it; returns the version its last transaction gave the
        group (None if every step was a no-op: nothing written).

        Each transaction also bumps the group's version (and requires the group to exist, so a
        concurrent delete of the group cannot leave member items behind). A removal is a delete
        plus a tombstone that records who removed whom, kept together in one transaction.

        Each bump is conditional on the version it expects, so the new version (and ETag) is known
        without reading the group again. A concurrent writer that moved the version costs one
        GetItem and a retry (member changes commute; no 412 without If-Match). Notes `members`
        as changed for the request's audit record (no-op outside `core.audit.recording`).
        """
        steps = self._steps(tenant_id, group_id, group_display, actor, add=add, remove=remove)
        expected: int | None = version
        written: int | None = None
        for chunk in _packed(steps, CHUNK - 2):
            expected, wrote = self._transact(tenant_id, group_id, actor, chunk, expected)
            written = expected if wrote else written
        if add or remove:
            note("Group", group_id, {}, {}, ("members",))
        return written

    def _steps(
        self,
        tenant_id: str,
        group_id: str,
        group_display: str,
        actor: Actor,
        *,
        add: Sequence[Member],
        remove: Sequence[Member],
    ) -> list[_Step]:
        steps = [
            _Step([self._put(tenant_id, group_id, group_display, m, actor, new_only=True)], m) for m in add
        ]
        steps += [_Step(self._removal(tenant_id, group_id, m, actor), m, removal=True) for m in remove]
        return steps

    def _transact(
        self, tenant_id: str, group_id: str, actor: Actor, steps: list[_Step], version: int | None
    ) -> tuple[int | None, bool]:
        """One membership transaction, plus the group's version bump (and the nested counter).

        Adding an existing member or removing an absent one is a no-op: its conditional write
        fails, the step is dropped and the rest retried, and a request whose every step is a
        no-op writes nothing (no new version, no event). A deleted group is NotFound. Returns
        (the group's version after it, whether it wrote); the version is None unless expected.
        """
        for _ in range(TRANSACT_ATTEMPTS):
            if not steps:
                return version, False
            items = [item for step in steps for item in step.items]
            extra = [self._bump(tenant_id, group_id, actor, version)]
            nested = sum(step.nested_delta for step in steps)
            if nested:
                extra.append(self.nested_update(tenant_id, nested))
            try:
                with unavailable_on_outage("DynamoDB"):
                    self._db.transact_write_items(TransactItems=items + extra)
                return (None if version is None else version + 1), True
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                codes = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons") or []]
                failed = {i for i, code in enumerate(codes[: len(items)]) if code == "ConditionalCheckFailed"}
                if "ConditionalCheckFailed" in codes[len(items) : len(items) + 1]:
                    # The group is gone, or (with an expected version) a concurrent write moved it.
                    current = None if version is None else self._version(tenant_id, group_id)
                    if current is None:
                        raise NotFound("Group not found.") from exc
                    version = current
                elif not failed:
                    raise ServiceUnavailable("DynamoDB is busy; retry the request.") from exc
                steps = _without_failed(steps, failed)
        raise ServiceUnavailable("The group's members are changing concurrently; retry the request.")

    def _version(self, tenant_id: str, group_id: str) -> int | None:
        """The group's current version (None: deleted), after a conditional bump failed."""
        with unavailable_on_outage("DynamoDB"):
            out = self._db.get_item(
                TableName=self._table,
                Key={"PK": {"S": resources_pk(tenant_id, Kind.GROUP)}, "SK": {"S": group_id}},
                ConsistentRead=True,
            )
        item = out.get("Item")
        return int(item["version"]["N"]) if item else None

    def delete_all_of_group(self, tenant_id: str, group_id: str) -> list[Member]:
        """Remove every membership item of a deleted group (its members' reverse entries go too)."""
        members = self.members(tenant_id, group_id)
        self._batch_delete(
            [{"PK": {"S": members_pk(tenant_id, group_id)}, "SK": {"S": m.member_id}} for m in members]
        )
        nested = sum(1 for m in members if m.member_type == "Group")
        if nested:
            self._add_nested(tenant_id, -nested)
        return members

    def drain_group(self, tenant_id: str, group_id: str, limit: int) -> tuple[int, bool]:
        """Delete up to `limit` of a group's membership items (one Query, then BatchWriteItem): a
        tenant reset's bounded step. Returns (how many, whether more may remain). Their REMOVE
        records are no events: the group's deletion covers them (`core.events.rules`)."""
        with unavailable_on_outage("DynamoDB"):
            out = self._db.query(
                TableName=self._table,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": members_pk(tenant_id, group_id)}},
                Limit=limit,
            )
        members = [_member(i) for i in out.get("Items", [])]
        self._batch_delete(
            [{"PK": {"S": members_pk(tenant_id, group_id)}, "SK": {"S": m.member_id}} for m in members]
        )
        nested = sum(1 for m in members if m.member_type == "Group")
        if nested:
            self._add_nested(tenant_id, -nested)
        return len(members), "LastEvaluatedKey" in out

    def delete_all_of_member(self, tenant_id: str, member_id: str, actor: Actor) -> list[str]:
        """Remove a deleted user or group from every group it belonged to; returns those groups."""
        memberships = self.groups_of(tenant_id, member_id)
        self._batch_delete(
            [{"PK": {"S": members_pk(tenant_id, m.group_id)}, "SK": {"S": member_id}} for m in memberships]
        )
        for m in memberships:  # those groups changed: new versions, so ETags and events follow
            try:
                with unavailable_on_outage("DynamoDB"):
                    self._db.update_item(**self._bump(tenant_id, m.group_id, actor)["Update"])
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":  # group deleted meanwhile
                    raise
        nested = sum(1 for m in memberships if m.member.member_type == "Group")
        if nested:
            self._add_nested(tenant_id, -nested)
        return [m.group_id for m in memberships]

    def rename_group(self, tenant_id: str, group_id: str, display: str) -> None:
        """Refresh the group's display name on its members' reverse entries (renames are rare)."""
        members = self.members(tenant_id, group_id)
        requests = [{"PutRequest": {"Item": self._item(tenant_id, group_id, display, m)}} for m in members]
        self._batch_write(requests)

    # -- helpers -----------------------------------------------------------------------------
    def _item(self, tenant_id: str, group_id: str, display: str, member: Member) -> dict[str, Any]:
        item = {
            "PK": {"S": members_pk(tenant_id, group_id)},
            "SK": {"S": member.member_id},
            "GSI1PK": {"S": member_of_pk(tenant_id, member.member_id)},
            "GSI1SK": {"S": group_id},
            "kind": {"S": "membership"},
            "tenantId": {"S": tenant_id},
            "groupId": {"S": group_id},
            "groupDisplay": {"S": display},
            "memberId": {"S": member.member_id},
            "memberType": {"S": member.member_type},
        }
        if member.display:
            item["memberDisplay"] = {"S": member.display}
        return item

    def items(
        self, tenant_id: str, group_id: str, display: str, members: Sequence[Member], actor: Actor
    ) -> list[dict[str, Any]]:
        """Membership items to write in another transaction (a group's create)."""
        return [self._put(tenant_id, group_id, display, m, actor)["Put"]["Item"] for m in members]

    def _put(
        self,
        tenant_id: str,
        group_id: str,
        display: str,
        member: Member,
        actor: Actor,
        *,
        new_only: bool = False,
    ) -> dict[str, Any]:
        item = self._item(tenant_id, group_id, display, member)
        item |= {
            "requestId": {"S": actor.request_id},
            "tokenId": {"S": actor.token_id},
            "at": {"S": actor.at},
        }
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if new_only:  # an existing member stays as it is: no write, no new version, no event
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        return {"Put": put}

    def _removal(self, tenant_id: str, group_id: str, member: Member, actor: Actor) -> list[Any]:
        key = {"PK": {"S": members_pk(tenant_id, group_id)}, "SK": {"S": member.member_id}}
        tombstone = {
            "PK": {"S": tombstones_pk(tenant_id)},
            "SK": {"S": f"M#{group_id}#{member.member_id}#{actor.at}#{actor.request_id}"},
            "kind": {"S": "membership-tombstone"},
            "tenantId": {"S": tenant_id},
            "groupId": {"S": group_id},
            "memberId": {"S": member.member_id},
            "memberType": {"S": member.member_type},
            "requestId": {"S": actor.request_id},
            "tokenId": {"S": actor.token_id},
            "at": {"S": actor.at},
            "ttl": {"N": str(actor.expiry(TOMBSTONE_TTL_SECONDS))},
        }
        # Only a member actually removed leaves a tombstone: the delete is conditional on existing.
        delete = {"TableName": self._table, "Key": key, "ConditionExpression": "attribute_exists(PK)"}
        return [{"Delete": delete}, {"Put": {"TableName": self._table, "Item": tombstone}}]

    def _bump(
        self, tenant_id: str, group_id: str, actor: Actor, version: int | None = None
    ) -> dict[str, Any]:
        """The group's version bump; conditional on `version` when the caller knows it."""
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"PK": {"S": resources_pk(tenant_id, Kind.GROUP)}, "SK": {"S": group_id}},
            "UpdateExpression": "ADD version :one SET lastModified = :now, requestId = :r, tokenId = :t",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeValues": {
                ":one": {"N": "1"},
                ":now": {"S": actor.at},
                ":r": {"S": actor.request_id},
                ":t": {"S": actor.token_id},
            },
        }
        if version is not None:
            update["ConditionExpression"] += " AND version = :v"
            update["ExpressionAttributeValues"][":v"] = {"N": str(version)}
        return {"Update": update}

    def nested_update(self, tenant_id: str, delta: int) -> dict[str, Any]:
        """The transaction item that moves the tenant's group-in-group counter."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"PK": {"S": tenant_pk(tenant_id)}, "SK": {"S": NESTED_COUNTER_SK}},
                "UpdateExpression": "ADD n :d SET kind = :k",
                "ExpressionAttributeValues": {":d": {"N": str(delta)}, ":k": {"S": "counter"}},
            }
        }

    def _add_nested(self, tenant_id: str, delta: int) -> None:
        with unavailable_on_outage("DynamoDB"):
            self._db.update_item(**self.nested_update(tenant_id, delta)["Update"])

    def _pages(self, *, limit: int | None = None, **query: Any) -> Iterator[list[dict[str, Any]]]:
        kwargs: dict[str, Any] = {"TableName": self._table, **query}
        while True:
            kwargs["Limit"] = min(QUERY_PAGE, limit) if limit else QUERY_PAGE
            with unavailable_on_outage("DynamoDB"):
                out = self._db.query(**kwargs)
            yield out.get("Items", [])
            if "LastEvaluatedKey" not in out:
                return
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def _batch_delete(self, keys: Iterable[dict[str, Any]]) -> None:
        self._batch_write([{"DeleteRequest": {"Key": k}} for k in keys])

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        batch_write(self._db, self._table, requests)


def _member(item: dict[str, Any]) -> Member:
    display = item.get("memberDisplay", {}).get("S")
    return Member(item["memberId"]["S"], item["memberType"]["S"], display)


@dataclass(frozen=True, slots=True)
class _Step:
    """The transaction items of one member's change (a put, or a delete and its tombstone)."""

    items: list[Any]
    member: Member
    removal: bool = False

    @property
    def nested_delta(self) -> int:
        if self.member.member_type != "Group":
            return 0
        return -1 if self.removal else 1


def _packed(steps: Sequence[_Step], size: int) -> Iterator[list[_Step]]:
    """Group steps in chunks of at most `size` transaction items, never splitting a step."""
    chunk: list[_Step] = []
    count = 0
    for step in steps:
        if count + len(step.items) > size and chunk:
            yield chunk
            chunk, count = [], 0
        chunk.append(step)
        count += len(step.items)
    if chunk:
        yield chunk


def _without_failed(steps: list[_Step], failed_items: set[int]) -> list[_Step]:
    kept: list[_Step] = []
    offset = 0
    for step in steps:
        if not failed_items & set(range(offset, offset + len(step.items))):
            kept.append(step)
        offset += len(step.items)
    return kept
