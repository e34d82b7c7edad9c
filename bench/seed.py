"""A benchmark tenant's items, in the store's own item shapes, and the backends that hold them.

Users look like what Okta and Entra send (name, work email, displayName, externalId, active).
One group, "Everyone", holds every user except the first `spare` ones (the member add/remove
workload moves those in and out); a few department groups have no members. Items are written
with BatchWriteItem (moto) or loaded straight into the in-memory table: never through the API,
whose transactions would make seeding quadratic in moto.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import boto3
from moto.core.models import botocore_stubber

from bench.dynamodb_memory import MemoryDynamoDB
from bench.meter import Stopwatch
from core.store.keys import Kind, counter_sk, tenant_pk
from core.store.memberships_table import Member, MembershipTable
from core.store.resources_table import Actor, StoredResource, guard_item, resource_item

SEEDED_AT = "2026-01-01T00:00:00.000Z"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
EVERYONE = "Everyone"
DEPARTMENTS = 20


def user_name(i: int) -> str:
    return f"user{i:06d}@example.com"


def user_document(name: str, i: int, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"givenName": "Bench", "familyName": f"User{i}", "formatted": f"Bench User{i}"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "displayName": f"Bench User {i}",
        "active": True,
        "externalId": f"ext-{i:06d}",
    }
    return doc | changes


@dataclass
class SeededTenant:
    tenant_id: str
    user_ids: list[str] = field(default_factory=list)  # user i has id user_ids[i]
    everyone_id: str = ""
    spare: int = 0  # users 0..spare-1 are not in Everyone

    @property
    def size(self) -> int:
        return len(self.user_ids)


def tenant_items(table: str, tenant_id: str, users: int, spare: int) -> tuple[SeededTenant, Iterator[Any]]:
    seeded = SeededTenant(tenant_id, spare=spare)

    def items() -> Iterator[dict[str, Any]]:
        for i in range(users):
            name = user_name(i)
            res = StoredResource(
                tenant_id, Kind.USER, str(uuid.uuid4()), 1, SEEDED_AT, SEEDED_AT, name,
                user_document(name, i), f"ext-{i:06d}",
            )  # fmt: skip
            seeded.user_ids.append(res.id)
            yield resource_item(res)
            yield guard_item(res)
        yield _counter(tenant_id, Kind.USER, users)
        groups = [_group(tenant_id, EVERYONE)] + [
            _group(tenant_id, f"Department {d}") for d in range(DEPARTMENTS)
        ]
        seeded.everyone_id = groups[0].id
        for group in groups:
            yield resource_item(group)
            yield guard_item(group)
        yield _counter(tenant_id, Kind.GROUP, len(groups))
        actor = Actor("bench-seed", f"{tenant_id}.0000000000000000", SEEDED_AT)
        members = [Member(uid, "User") for uid in seeded.user_ids[spare:]]
        # The membership table only shapes items here; it sends nothing.
        shapes = MembershipTable(cast(Any, None), table)
        yield from shapes.items(tenant_id, groups[0].id, EVERYONE, members, actor)

    return seeded, items()


def _group(tenant_id: str, name: str) -> StoredResource:
    doc = {"schemas": [GROUP_SCHEMA], "displayName": name}
    return StoredResource(tenant_id, Kind.GROUP, str(uuid.uuid4()), 1, SEEDED_AT, SEEDED_AT, name, doc)


def _counter(tenant_id: str, kind: Kind, n: int) -> dict[str, Any]:
    return {
        "PK": {"S": tenant_pk(tenant_id)},
        "SK": {"S": counter_sk(kind)},
        "kind": {"S": "counter"},
        "n": {"N": str(n)},
    }


class Backend(Protocol):
    """Where the table lives: moto, or the in-memory table for large tenants."""

    name: str
    memory: MemoryDynamoDB | None

    def create_table(self, table: str, table_kwargs: dict[str, Any]) -> None: ...

    def load(self, table: str, items: Iterator[dict[str, Any]]) -> None: ...

    def serve(self, client: Any, stopwatch: Stopwatch) -> None: ...


class MotoBackend:
    name = "moto"
    memory: MemoryDynamoDB | None = None

    def create_table(self, table: str, table_kwargs: dict[str, Any]) -> None:
        boto3.client("dynamodb").create_table(TableName=table, **table_kwargs)

    def load(self, table: str, items: Iterator[dict[str, Any]]) -> None:
        db = boto3.client("dynamodb")
        batch: list[Any] = []
        for item in items:
            batch.append({"PutRequest": {"Item": item}})
            if len(batch) == 25:
                db.batch_write_item(RequestItems={table: batch})
                batch = []
        if batch:
            db.batch_write_item(RequestItems={table: batch})

    def serve(self, client: Any, stopwatch: Stopwatch) -> None:
        return None  # moto's stub answers; `meter.moto_excluded` keeps its time out


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        self.memory: MemoryDynamoDB | None = MemoryDynamoDB()

    def create_table(self, table: str, table_kwargs: dict[str, Any]) -> None:
        assert self.memory is not None
        self.memory.create_table(TableName=table, **table_kwargs)

    def load(self, table: str, items: Iterator[dict[str, Any]]) -> None:
        assert self.memory is not None
        self.memory.load(table, items)

    def serve(self, client: Any, stopwatch: Stopwatch) -> None:
        assert self.memory is not None
        self.memory.install(client, stopwatch.excluded)
        # botocore offers each request to every before-send handler: keep moto from handling it too.
        client.meta.events.unregister("before-send", botocore_stubber)
