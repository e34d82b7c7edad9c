"""Capacity units and stream changes computed from moto (bench.dynamodb_usage), request by request.

DynamoDB's rules (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
a write costs the larger of the item before and after, a failed condition the existing item; a
read costs the whole item whatever the projection; each index entry put or deleted is a write;
a write that leaves the item as it was, or a cancelled transaction, is no stream record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from bench.dynamodb_usage import Consumed, DynamoDBUsage
from bench.meter import Stopwatch, moto_excluded
from botocore.exceptions import ClientError

from tests.conftest import TABLE_NAME

PK = "T#a#USER"


@pytest.fixture
def usage(aws: None) -> Iterator[DynamoDBUsage]:
    with DynamoDBUsage() as metered, moto_excluded(Stopwatch(), metered.answer):
        yield metered


@pytest.fixture
def db(usage: DynamoDBUsage) -> Any:
    return boto3.client("dynamodb")


def user(sk: str, *, name: str = "ann@example.com", doc: str = "x") -> dict[str, Any]:
    return {"PK": {"S": PK}, "SK": {"S": sk}, "GSI1PK": {"S": PK}, "GSI1SK": {"S": name}, "doc": {"S": doc}}


def key(sk: str) -> dict[str, Any]:
    return {"PK": {"S": PK}, "SK": {"S": sk}}


def taken(usage: DynamoDBUsage) -> tuple[float, float, float, list[str]]:
    c: Consumed = usage.reset()
    return (
        c.read_units,
        c.write_units,
        c.index_write_units,
        [ch.stream_record(1)["eventName"] for ch in c.changes],
    )


def test_writes_cost_the_larger_item_and_their_index_entries(usage: DynamoDBUsage, db: Any) -> None:
    db.put_item(TableName=TABLE_NAME, Item=user("u1"))
    assert taken(usage) == (0, 1, 1, ["INSERT"])  # the item and its GSI1 entry
    db.put_item(TableName=TABLE_NAME, Item=user("u1"))
    assert taken(usage) == (0, 1, 0, [])  # written as it was: billed, but no change and no index write
    db.update_item(
        TableName=TABLE_NAME,
        Key=key("u1"),
        UpdateExpression="SET doc = :d",
        ExpressionAttributeValues={":d": {"S": "y" * 1100}},
    )
    assert taken(usage) == (0, 2, 2, ["MODIFY"])  # 1.1 KB after; the entry stays, rewritten (1.1 KB)
    db.update_item(
        TableName=TABLE_NAME,
        Key=key("u1"),
        UpdateExpression="SET GSI1SK = :n, doc = :d",
        ExpressionAttributeValues={":n": {"S": "bob@example.com"}, ":d": {"S": "z"}},
    )
    assert taken(usage) == (0, 2, 2 + 1, ["MODIFY"])  # a moved index key: delete (1.1 KB) and put
    db.delete_item(TableName=TABLE_NAME, Key=key("u1"))
    assert taken(usage) == (0, 1, 1, ["REMOVE"])


def test_a_failed_condition_costs_the_existing_item_and_changes_nothing(
    usage: DynamoDBUsage, db: Any
) -> None:
    db.put_item(TableName=TABLE_NAME, Item=user("u1", doc="x" * 1500))
    usage.reset()
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        db.put_item(TableName=TABLE_NAME, Item=user("u1"), ConditionExpression="attribute_not_exists(PK)")
    assert taken(usage) == (0, 2, 0, [])


def test_a_cancelled_transaction_is_billed_twice_and_leaves_no_change(usage: DynamoDBUsage, db: Any) -> None:
    db.put_item(TableName=TABLE_NAME, Item=user("u1"))
    usage.reset()
    with pytest.raises(ClientError, match="TransactionCanceled"):
        db.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE_NAME, "Item": user("u2", name="new@example.com")}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE_NAME,
                        "Key": key("u1"),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    # the put (1 unit, twice) and the check (a transactional read: 2 units); u2 was rolled back
    assert taken(usage) == (2, 2, 0, [])
    assert "Item" not in db.get_item(TableName=TABLE_NAME, Key=key("u2"))


def test_a_transaction_bills_each_item_twice(usage: DynamoDBUsage, db: Any) -> None:
    db.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE_NAME, "Item": user("u1")}},
            {"Put": {"TableName": TABLE_NAME, "Item": {"PK": {"S": "G#ann"}, "SK": {"S": "UNIQUE"}}}},
        ]
    )
    assert taken(usage) == (0, 4, 1, ["INSERT", "INSERT"])  # the guard is in no index


def test_reads_cost_whole_items_whatever_they_return(usage: DynamoDBUsage, db: Any) -> None:
    db.put_item(TableName=TABLE_NAME, Item=user("u1", doc="x" * 5000))
    db.put_item(TableName=TABLE_NAME, Item=user("u2", name="bob@example.com"))
    usage.reset()
    db.get_item(TableName=TABLE_NAME, Key=key("u1"), ConsistentRead=True, ProjectionExpression="SK")
    assert taken(usage) == (2, 0, 0, [])  # 5 KB: two 4 KB units, though only SK came back
    db.get_item(TableName=TABLE_NAME, Key=key("u1"))
    assert taken(usage)[0] == 1  # eventually consistent: half
    db.batch_get_item(RequestItems={TABLE_NAME: {"Keys": [key("u2"), key("nobody")], "ConsistentRead": True}})
    assert taken(usage)[0] == 2  # each key as one GetItem; a miss costs the minimum
    db.query(
        TableName=TABLE_NAME,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p",
        ExpressionAttributeValues={":p": {"S": PK}},
    )
    assert taken(usage)[0] == 1  # 5 KB + a small item, summed, then halved on an index


def test_unmetered_requests_fail_rather_than_count_nothing(usage: DynamoDBUsage, db: Any) -> None:
    with pytest.raises(NotImplementedError, match="Scan"):
        db.scan(TableName=TABLE_NAME)
    with pytest.raises(NotImplementedError, match="filtered or projected Query"):
        db.query(
            TableName=TABLE_NAME,
            KeyConditionExpression="PK = :p",
            FilterExpression="doc = :p",
            ExpressionAttributeValues={":p": {"S": PK}},
        )
