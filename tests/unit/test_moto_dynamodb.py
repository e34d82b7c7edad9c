"""The DynamoDB engine the local gateway, the tests and the benchmarks share (scimctl.moto_dynamodb).

Counts, not timings: a query reads the window it returns, a transaction copies the items it
touches (not the table), and the stream does not keep records without bound. A differential
property test proves the indexed answers are moto's own answers, page by page.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from scimctl import moto_dynamodb
from tests.conftest import TABLE_NAME

ACCOUNT, REGION = "123456789012", "us-east-1"


def moto_table() -> Table:
    return dynamodb_backends[ACCOUNT][REGION].get_table(TABLE_NAME)


def user_item(n: int, *, pk: str = "T#a#USER", name: str | None = None) -> dict[str, Any]:
    return {
        "PK": {"S": pk},
        "SK": {"S": f"id{n:06d}"},
        "GSI1PK": {"S": pk},
        "GSI1SK": {"S": name or f"user{n:06d}@example.com"},
        "doc": {"S": "x" * 200},
    }


def seed(count: int, **kwargs: Any) -> None:
    table = moto_table()
    for n in range(count):
        # Straight into moto: the seed is not what is measured.
        table.put_item(user_item(n, **kwargs))


@pytest.fixture
def client(aws: None) -> Any:
    moto_dynamodb.STATS.reset()
    return boto3.client("dynamodb")


def query(client: Any, **kwargs: Any) -> dict[str, Any]:
    response: dict[str, Any] = client.query(TableName=TABLE_NAME, **kwargs)
    response.pop("ResponseMetadata")
    return response


# ---------------------------------------------------------------------------------------- reads
@pytest.mark.parametrize("size", [100, 5_000])
def test_a_page_reads_the_items_it_returns_whatever_the_partition_size(client: Any, size: int) -> None:
    seed(size)
    first = query(
        client,
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": {"S": "T#a#USER"}},
        Limit=10,
    )
    moto_dynamodb.STATS.reset()
    second = query(
        client,
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": {"S": "T#a#USER"}},
        Limit=10,
        ExclusiveStartKey=first["LastEvaluatedKey"],
    )
    assert [i["SK"]["S"] for i in second["Items"]] == [f"id{n:06d}" for n in range(10, 20)]
    assert moto_dynamodb.STATS.indexed_queries == 1
    assert moto_dynamodb.STATS.window_items == 11  # the page and one more, to know there is more


@pytest.mark.parametrize("size", [100, 5_000])
def test_an_index_lookup_reads_one_item_whatever_the_table_size(client: Any, size: int) -> None:
    seed(size)
    moto_dynamodb.STATS.reset()
    found = query(
        client,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p AND GSI1SK = :n",
        ExpressionAttributeValues={":p": {"S": "T#a#USER"}, ":n": {"S": "user000042@example.com"}},
    )
    assert [i["SK"]["S"] for i in found["Items"]] == ["id000042"]
    assert moto_dynamodb.STATS.window_items == 1
    assert moto_dynamodb.STATS.fallback_queries == 0


def test_the_index_follows_updates_deletes_and_renames(client: Any) -> None:
    seed(3)
    client.update_item(
        TableName=TABLE_NAME,
        Key={"PK": {"S": "T#a#USER"}, "SK": {"S": "id000001"}},
        UpdateExpression="SET GSI1SK = :n",
        ExpressionAttributeValues={":n": {"S": "renamed@example.com"}},
    )
    client.delete_item(TableName=TABLE_NAME, Key={"PK": {"S": "T#a#USER"}, "SK": {"S": "id000002"}})

    def names() -> list[str]:
        got = query(
            client,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :p",
            ExpressionAttributeValues={":p": {"S": "T#a#USER"}},
        )
        return [i["GSI1SK"]["S"] for i in got["Items"]]

    assert names() == ["renamed@example.com", "user000000@example.com"]
    client.update_item(
        TableName=TABLE_NAME,
        Key={"PK": {"S": "T#a#USER"}, "SK": {"S": "id000000"}},
        UpdateExpression="REMOVE GSI1SK",
    )
    assert names() == ["renamed@example.com"]  # an item without the index's range key leaves it


# ---------------------------------------------------------------------------------------- differential
KEYS = st.sampled_from(["a", "ab", "abc", "b", "ba", "c", "é", "z\U0001f600"])
ITEMS = st.lists(
    st.tuples(st.sampled_from(["P1", "P2"]), KEYS, st.one_of(st.none(), KEYS), KEYS),
    max_size=40,
)
CONDITIONS = st.sampled_from(["", "= :v", "< :v", "<= :v", "> :v", ">= :v", "BETWEEN :v AND :w", "begins"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=ITEMS,
    index=st.sampled_from([None, "GSI1"]),
    condition=CONDITIONS,
    values=st.tuples(KEYS, KEYS),
    limit=st.one_of(st.none(), st.integers(1, 7)),
    forward=st.booleans(),
)
def test_indexed_queries_answer_what_moto_answers(  # noqa: PLR0917 - hypothesis passes arguments by name
    client: Any,
    items: list[tuple[str, str, str | None, str]],
    index: str | None,
    condition: str,
    values: tuple[str, str],
    limit: int | None,
    forward: bool,
) -> None:
    table = moto_table()
    table.items.clear()
    table.__dict__.pop("_scim_index", None)
    for pk, sk, gsi_sk, other in items:
        item = {"PK": {"S": pk}, "SK": {"S": sk}, "GSI1PK": {"S": f"G{pk}"}, "x": {"S": other}}
        if gsi_sk is not None:
            item["GSI1SK"] = {"S": gsi_sk}
        client.put_item(TableName=TABLE_NAME, Item=item)
    hash_name, range_name = ("GSI1PK", "GSI1SK") if index else ("PK", "SK")
    low, high = sorted(values)
    expression = f"{hash_name} = :h"
    if condition == "begins":
        expression += f" AND begins_with({range_name}, :v)"
    elif condition:
        expression += f" AND {range_name} {condition}"
    names_values: dict[str, Any] = {":h": {"S": "GP1" if index else "P1"}}
    if ":v" in expression:
        names_values[":v"] = {"S": low}
    if ":w" in expression:
        names_values[":w"] = {"S": high}
    request: dict[str, Any] = {
        "KeyConditionExpression": expression,
        "ExpressionAttributeValues": names_values,
        "ScanIndexForward": forward,
        "FilterExpression": "x <> :h",
    }
    if index:
        request["IndexName"] = index
    if limit:
        request["Limit"] = limit
    indexed, walked = list(pages(client, request)), unindexed_pages(client, request)
    # The same items in the same order, page by page, with the same page size. Where the pages end
    # may differ by one empty page: moto's own walk returns a LastEvaluatedKey only when some item
    # (even one outside the key condition) follows; DynamoDB, and the indexed path, whenever the
    # page read Limit items (test_a_page_that_reads_limit_items_says_where_it_stopped).
    assert [p["Items"] for p in indexed if p["Items"]] == [p["Items"] for p in walked if p["Items"]]
    assert [p["ScannedCount"] for p in indexed if p["Items"]] == [
        p["ScannedCount"] for p in walked if p["Items"]
    ]


def test_a_page_that_reads_limit_items_says_where_it_stopped(client: Any) -> None:
    # DynamoDB Developer Guide, "Paginating table query results": "If LastEvaluatedKey is not
    # empty, it does not necessarily mean that there is more data in the result set."
    seed(3)
    request = {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "T#a#USER"}}}
    full = query(client, **request, Limit=3)
    assert len(full["Items"]) == 3
    assert full["LastEvaluatedKey"] == {"PK": {"S": "T#a#USER"}, "SK": {"S": "id000002"}}
    rest = query(client, **request, Limit=3, ExclusiveStartKey=full["LastEvaluatedKey"])
    assert rest["Items"] == []
    assert "LastEvaluatedKey" not in rest
    assert "LastEvaluatedKey" not in query(client, **request, Limit=4)


def pages(client: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    start = None
    for _ in range(50):
        page = query(client, **request, **({"ExclusiveStartKey": start} if start else {}))
        yield page
        start = page.get("LastEvaluatedKey")
        if start is None:
            return


def unindexed_pages(client: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    with moto_dynamodb.unindexed():
        return list(pages(client, request))


# ---------------------------------------------------------------------------------------- transactions
class DeepCopies:
    """Counts every copy.deepcopy call (nested ones included) and the tables passed to it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.tables = 0
        real = copy.deepcopy

        def counting(value: Any, memo: Any = None, _nil: Any = None) -> Any:
            self.calls += 1
            self.tables += isinstance(value, Table)
            return real(value, memo)

        monkeypatch.setattr(copy, "deepcopy", counting)


def failing_transaction(client: Any) -> None:
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE_NAME, "Item": user_item(999_999)}},
                {"Put": {"TableName": TABLE_NAME, "Item": user_item(1, name="changed@example.com")}},
                {
                    "Delete": {
                        "TableName": TABLE_NAME,
                        "Key": {"PK": {"S": "T#a#USER"}, "SK": {"S": "id000002"}},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE_NAME,
                        "Item": user_item(0),
                        "ConditionExpression": "attribute_not_exists(PK)",  # id000000 exists: fails
                    }
                },
            ]
        )
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"


@pytest.mark.parametrize("size", [10, 3_000])
def test_a_transaction_copies_only_the_items_it_touches(
    client: Any, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    seed(size)
    copies = DeepCopies(monkeypatch)
    failing_transaction(client)
    assert copies.tables == 0
    assert moto_dynamodb.STATS.items_copied == 3  # id000000..2 exist; the new item had nothing to save
    # The same count at 10 and at 3,000 items: nested calls of three small items, not of a table.
    assert copies.calls < 200


def test_a_failed_transaction_leaves_every_item_index_and_stream_as_before(client: Any) -> None:
    seed(3)
    table = moto_table()
    before = {k: copy.deepcopy(v.to_json()) for k, v in table.items[next(iter(table.items))].items()}
    records = moto_dynamodb.stream_length(table)
    names = query(
        client,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p",
        ExpressionAttributeValues={":p": {"S": "T#a#USER"}},
    )

    failing_transaction(client)

    after = {k: v.to_json() for k, v in table.items[next(iter(table.items))].items()}
    assert after == before
    assert moto_dynamodb.stream_length(table) == records
    assert (
        query(
            client,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :p",
            ExpressionAttributeValues={":p": {"S": "T#a#USER"}},
        )
        == names
    )
    assert moto_dynamodb.STATS.rollbacks == 1


# ---------------------------------------------------------------------------------------- streams
def test_stream_records_are_kept_24_hours(client: Any) -> None:
    seed(5)
    table = moto_table()
    assert moto_dynamodb.stream_length(table) == 5
    first = table.stream_shard.starting_sequence_number
    for record in table.stream_shard.items:  # written a day and a minute ago
        record.record["dynamodb"]["ApproximateCreationDateTime"] -= timedelta(hours=24, minutes=1)
    client.put_item(TableName=TABLE_NAME, Item=user_item(5))
    assert moto_dynamodb.stream_length(table) == 1  # the five older records expired
    streams = boto3.client("dynamodbstreams")
    arn = client.describe_table(TableName=TABLE_NAME)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    old = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=str(first)
    )["ShardIterator"]
    with pytest.raises(ClientError, match="TrimmedDataAccessException"):
        streams.get_records(ShardIterator=old)
    horizon = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    (record,) = streams.get_records(ShardIterator=horizon["ShardIterator"])["Records"]
    assert record["dynamodb"]["SequenceNumber"] == str(first + 5)  # numbering goes on


def test_handled_stream_records_do_not_accumulate(client: Any) -> None:
    table = moto_table()
    longest = 0
    for n in range(300):
        client.put_item(TableName=TABLE_NAME, Item=user_item(n))
        longest = max(longest, moto_dynamodb.stream_length(table))
        if n % 50 == 49:  # a consumer handles a batch of 50
            shard = table.stream_shard
            moto_dynamodb.trim_stream(table, shard.starting_sequence_number + len(shard.items) - 1)
    assert longest == 50
    assert moto_dynamodb.stream_length(table) == 0


# ---------------------------------------------------------------------------------------- restore
def test_restored_items_are_indexed_from_their_keys_and_parsed_only_when_read(client: Any) -> None:
    table = moto_table()
    attributes = moto_dynamodb.key_attributes(table)
    rows = []
    for n in range(1_000):
        item = user_item(n)
        keys = {a: item[a]["S"] for a in attributes if a in item}
        rows.append((("S", item["PK"]["S"]), ("S", item["SK"]["S"]), keys, json.dumps(item)))
    assert moto_dynamodb.restore_items(table, rows) == 1_000
    assert moto_dynamodb.stream_length(table) == 0  # restoring is not writing: no events again

    found = query(
        client,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p AND GSI1SK = :n",
        ExpressionAttributeValues={":p": {"S": "T#a#USER"}, ":n": {"S": "user000500@example.com"}},
    )
    assert found["Items"] == [user_item(500)]
    parsed = [i for i in table.all_items() if "_attrs" in i.__dict__]
    assert [i.range_key.value for i in parsed] == ["id000500"]


def test_loaded_items_answer_like_written_ones_without_a_request_or_a_stream_record(client: Any) -> None:
    table = moto_table()
    heard: list[Any] = []

    def listener(*change: Any) -> None:
        heard.append(change)

    moto_dynamodb.add_change_listener(listener)
    try:
        assert moto_dynamodb.load_items(table, (user_item(n) for n in range(500))) == 500
    finally:
        moto_dynamodb.remove_change_listener(listener)
    assert heard == []
    assert moto_dynamodb.stream_length(table) == 0
    parsed = sum("_raw" not in i.__dict__ for i in table.items[next(iter(table.items))].values())
    assert parsed == 0  # kept as text until first used
    moto_dynamodb.STATS.reset()
    found = query(
        client,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :p AND GSI1SK = :n",
        ExpressionAttributeValues={":p": {"S": "T#a#USER"}, ":n": {"S": "user000321@example.com"}},
    )
    assert found["Items"] == [user_item(321)]
    assert moto_dynamodb.STATS.window_items == 1
    got = client.get_item(TableName=TABLE_NAME, Key={"PK": {"S": "T#a#USER"}, "SK": {"S": "id000007"}})
    assert got["Item"] == user_item(7)


# ---------------------------------------------------------------------------------------- responses
def test_fast_answers_parse_as_moto_serializers_do(client: Any) -> None:
    # Every data-plane operation the stack sends, with each attribute type, both ways; the whole
    # unit suite was also run with verification on (issue 13 note).
    odd = {
        "PK": {"S": "T#a#X"},
        "SK": {"S": "é"},
        "b": {"B": b"\x00\xff"},
        "n": {"N": "1.50"},
        "ss": {"SS": ["x", "y"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"\x01"]},
        "m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}]}}},
    }
    key = {"PK": odd["PK"], "SK": odd["SK"]}
    with moto_dynamodb.verified_json():
        client.put_item(TableName=TABLE_NAME, Item=odd, ReturnConsumedCapacity="TOTAL")
        client.put_item(TableName=TABLE_NAME, Item=odd, ReturnValues="ALL_OLD")
        assert client.get_item(TableName=TABLE_NAME, Key=key)["Item"]["b"] == {"B": b"\x00\xff"}
        client.update_item(
            TableName=TABLE_NAME,
            Key=key,
            UpdateExpression="ADD c :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        )
        query(
            client,
            KeyConditionExpression="PK = :p",
            ExpressionAttributeValues={":p": odd["PK"]},
            ReturnConsumedCapacity="INDEXES",
            Limit=1,
        )
        client.scan(TableName=TABLE_NAME, Limit=5)
        client.batch_get_item(
            RequestItems={TABLE_NAME: {"Keys": [key, {"PK": {"S": "none"}, "SK": {"S": "x"}}]}}
        )
        client.batch_write_item(RequestItems={TABLE_NAME: [{"PutRequest": {"Item": user_item(1)}}]})
        client.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE_NAME, "Key": key}}])
        client.transact_write_items(TransactItems=[{"Delete": {"TableName": TABLE_NAME, "Key": key}}])
        client.delete_item(TableName=TABLE_NAME, Key=key, ReturnValues="ALL_OLD")
