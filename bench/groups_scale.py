"""Issue 4's numbers: DynamoDB calls and items read for group operations on a 100,000-member
group, next to the same operations on a 3-member group. None may grow with the group's size.

    .venv/bin/python -m bench.groups_scale --members 3,100000

Users and membership items are seeded with BatchWriteItem in the store's own item shapes;
transactions run through `bench.fast_transactions` (moto copies the whole table per transaction).
"""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

from bench import environment

environment.apply()

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from tests.support import FakeContext, proxy_event, seed_users  # noqa: E402

from bench import fast_transactions  # noqa: E402
from bench.aws_counter import DynamoCounter  # noqa: E402
from core.store.keys import Kind  # noqa: E402
from core.store.memberships_table import Member, MembershipTable  # noqa: E402
from core.store.resources_table import Actor, StoredResource, guard_item, resource_item  # noqa: E402
from handlers import aws_clients, groups, resources, users  # noqa: E402
from scimctl.template import load_template, table_create_kwargs  # noqa: E402

TABLE = environment.BENCH_ENV["TABLE_NAME"]
TENANT = "bench"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def seed_group(member_ids: list[str]) -> str:
    db = boto3.client("dynamodb")
    now = "2026-01-01T00:00:00.000Z"
    doc = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Big Group"}
    group = StoredResource(TENANT, Kind.GROUP, str(uuid.uuid4()), 1, now, now, "Big Group", doc)
    items = [resource_item(group), guard_item(group)]
    actor = Actor("bench-seed", "bench.0000000000000000", now)
    members = [Member(m, "User") for m in member_ids]
    items += MembershipTable(db, TABLE).items(TENANT, group.id, group.name, members, actor)
    for start in range(0, len(items), 25):
        db.batch_write_item(
            RequestItems={TABLE: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )
    return group.id


def invoke(method: str, resource: str, params: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    handler = groups.lambda_handler if "/Groups" in resource else users.lambda_handler
    result: dict[str, Any] = handler(
        proxy_event(method, resource, {"tenant": TENANT, **params}, **kwargs), FakeContext()
    )
    assert result["statusCode"] < 300, result
    return result


def measure(size: int) -> dict[str, Any]:
    aws_clients.reset()
    resources.reset()
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE, **table_create_kwargs(load_template("template.yaml"))
        )
        member_ids = seed_users(TABLE, TENANT, size + 1, prefix="member")
        newcomer, member_ids = member_ids[0], member_ids[1:]
        group_id = seed_group(member_ids)
        client = aws_clients.dynamodb()
        fast_transactions.install(client)
        counter = DynamoCounter()
        counter.attach(client)
        rows: dict[str, Any] = {"members": size}

        def record(name: str) -> None:
            rows[name] = {
                "calls": counter.total_calls,
                "items_read": counter.items_read,
                "ops": dict(counter.calls),
            }
            counter.reset()

        query = {"filter": 'displayName eq "Big Group"', "excludedAttributes": "members"}
        invoke("GET", "/scim/v2/{tenant}/Groups", {}, query=query)
        record("displayName_eq_excluding_members")
        add = {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": newcomer}]}],
        }
        invoke("PATCH", "/scim/v2/{tenant}/Groups/{id}", {"id": group_id}, body=add)
        record("patch_add_one_member")
        remove = {
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": f'members[value eq "{newcomer}"]'}],
        }
        invoke("PATCH", "/scim/v2/{tenant}/Groups/{id}", {"id": group_id}, body=remove)
        record("patch_remove_one_member")
        invoke("GET", "/scim/v2/{tenant}/Users/{id}", {"id": member_ids[0]})
        record("user_get_with_groups")
        return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", default="3,100000")
    args = parser.parse_args()
    for size in (int(s) for s in args.members.split(",")):
        print(json.dumps(measure(size)))


if __name__ == "__main__":
    main()
