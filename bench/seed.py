"""A benchmark tenant's items, in the store's own item shapes.

Users look like what Okta and Entra send (name, work email, displayName, externalId, active).
One group, "Everyone", holds every user except the first `spare` ones (the member add/remove
workload moves those in and out); a few department groups have no members. Items go straight into
moto's table object (`scimctl.moto_dynamodb.load_items`: no request, no stream record, attributes
parsed when first used), never through the API: 300,000 items through BatchWriteItem take minutes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

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
