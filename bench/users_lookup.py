"""Issue 3's numbers: DynamoDB calls for a `userName eq` lookup, and items read per user returned
when walking all users with startIndex pages of 100, at several tenant sizes.

    .venv/bin/python -m bench.users_lookup --sizes 1000,10000

Large tenants are seeded with BatchWriteItem (moto's transactions copy the whole table), using
the same item mapping as the store, so what is read is exactly what production writes.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from typing import Any

from bench import environment

environment.apply()

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from tests.support import FakeContext, proxy_event  # noqa: E402

from bench.aws_counter import DynamoCounter  # noqa: E402
from core.store.keys import Kind, counter_sk, tenant_pk  # noqa: E402
from core.store.resources_table import StoredResource, guard_item, resource_item  # noqa: E402
from handlers import aws_clients, resources, users  # noqa: E402
from scimctl.template import load_template, table_create_kwargs  # noqa: E402

TABLE = os.environ["TABLE_NAME"]
TENANT = "bench"


def seed(n: int) -> None:
    db = boto3.client("dynamodb")
    now = "2026-01-01T00:00:00.000Z"
    requests: list[dict[str, Any]] = []
    for i in range(n):
        name = f"user{i:06d}@example.com"
        doc = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "name": {"givenName": "Bench", "familyName": f"User{i}"},
            "emails": [{"value": name, "type": "work", "primary": True}],
            "displayName": f"Bench User {i}",
            "active": True,
            "externalId": f"ext-{i:06d}",
        }
        res = StoredResource(TENANT, Kind.USER, str(uuid.uuid4()), 1, now, now, name, doc, f"ext-{i:06d}")
        requests += [{"PutRequest": {"Item": resource_item(res)}}, {"PutRequest": {"Item": guard_item(res)}}]
    requests.append(
        {
            "PutRequest": {
                "Item": {
                    "PK": {"S": tenant_pk(TENANT)},
                    "SK": {"S": counter_sk(Kind.USER)},
                    "n": {"N": str(n)},
                }
            }
        }
    )
    for start in range(0, len(requests), 25):
        db.batch_write_item(RequestItems={TABLE: requests[start : start + 25]})


def call(method: str, resource: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    event = proxy_event(method, resource, {"tenant": TENANT}, query=query)
    result = users.lambda_handler(event, FakeContext("users"))
    body: dict[str, Any] = json.loads(result["body"])
    return body


def measure(n: int) -> dict[str, Any]:
    aws_clients.reset()
    resources.reset()
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE, **table_create_kwargs(load_template("template.yaml"))
        )
        seed(n)
        counter = DynamoCounter()
        counter.attach(aws_clients.dynamodb())
        found = call(
            "GET", "/scim/v2/{tenant}/Users", {"filter": f'userName eq "user{n // 2:06d}@example.com"'}
        )
        assert found["totalResults"] == 1
        lookup_calls = counter.total_calls
        counter.reset()
        returned, start = 0, 1
        while True:
            page = call("GET", "/scim/v2/{tenant}/Users", {"startIndex": str(start), "count": "100"})
            returned += len(page["Resources"])
            if not page["Resources"]:
                break
            start += len(page["Resources"])
        assert returned == n
        return {
            "users": n,
            "userName_eq_calls": lookup_calls,
            "walk_items_read": counter.items_read,
            "walk_items_read_per_user": round(counter.items_read / n, 4),
            "walk_calls": counter.total_calls,
            "walk_calls_by_op": dict(counter.calls),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        print(json.dumps(measure(size)))


if __name__ == "__main__":
    main()
