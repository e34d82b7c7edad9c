"""`scimctl events redrive`: the events DLQ's batches re-read from the stream and re-published (moto)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from scimctl import cli
from scimctl.events_redrive import Redriver
from scimctl.stack import StackTarget
from tests.conftest import TABLE_NAME


class FakeFunction:
    """The deployed EventsFunction: records each payload, answers with the given response."""

    def __init__(self, response: dict[str, Any] | None = None) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.response = response or {"batchItemFailures": []}

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.payloads.append(json.loads(json.dumps(payload)))  # what Lambda would receive
        return self.response


@pytest.fixture
def stream(aws: None) -> tuple[str, str, list[str]]:
    """Five writes on the table's stream: (stream ARN, shard id, their sequence numbers)."""
    db = boto3.client("dynamodb")
    for n in range(5):
        db.put_item(TableName=TABLE_NAME, Item={"PK": {"S": "T#acme"}, "SK": {"S": f"U#{n}"}})
    arn = db.describe_table(TableName=TABLE_NAME)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return arn, shard, [r["dynamodb"]["SequenceNumber"] for r in records]


def dlq_with(*bodies: str) -> str:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="events-dlq")["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    return url


def failure_record(arn: str, shard: str, start: str, end: str) -> str:
    """What Lambda's on-failure destination writes for a DynamoDB stream batch."""
    return json.dumps(
        {
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6},
            "version": "1.0",
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": start,
                "endSequenceNumber": end,
                "batchSize": 3,
                "streamArn": arn,
            },
        }
    )


def visible_and_hidden(url: str) -> tuple[int, int]:
    attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def redriver(url: str, function: FakeFunction) -> Redriver:
    return Redriver(boto3.client("sqs"), boto3.client("dynamodbstreams"), function, url)


def test_redrives_exactly_the_failed_range_and_deletes_the_message(
    stream: tuple[str, str, list[str]],
) -> None:
    arn, shard, seqs = stream
    url = dlq_with(failure_record(arn, shard, seqs[1], seqs[3]))
    function = FakeFunction()

    outcomes = redriver(url, function).redrive(max_messages=10)

    assert [(o.status, o.records) for o in outcomes] == [("redriven", 3)]
    (payload,) = function.payloads
    assert [r["dynamodb"]["SequenceNumber"] for r in payload["Records"]] == seqs[1:4]
    assert {r["eventSourceARN"] for r in payload["Records"]} == {arn}
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int) for r in payload["Records"])
    assert visible_and_hidden(url) == (0, 0)


def test_a_batch_that_fails_again_keeps_its_message(stream: tuple[str, str, list[str]]) -> None:
    arn, shard, seqs = stream
    url = dlq_with(failure_record(arn, shard, seqs[0], seqs[4]))
    function = FakeFunction({"batchItemFailures": [{"itemIdentifier": seqs[2]}]})

    (outcome,) = redriver(url, function).redrive(max_messages=10)

    assert (outcome.status, outcome.records) == ("failed", 5)
    assert visible_and_hidden(url) == (0, 1)  # back on the queue when the visibility timeout ends


def test_records_gone_from_the_stream_and_foreign_messages_are_kept(
    stream: tuple[str, str, list[str]],
) -> None:
    arn, shard, seqs = stream
    beyond = str(int(seqs[-1]) + 1000)
    url = dlq_with(failure_record(arn, shard, beyond, beyond), '{"not": "a failure record"}')
    function = FakeFunction()

    outcomes = redriver(url, function).redrive(max_messages=10)

    assert sorted(o.status for o in outcomes) == ["expired", "invalid"]
    assert function.payloads == []
    assert visible_and_hidden(url) == (0, 2)


def test_max_messages_bounds_one_run(stream: tuple[str, str, list[str]]) -> None:
    arn, shard, seqs = stream
    url = dlq_with(*(failure_record(arn, shard, s, s) for s in seqs))

    outcomes = redriver(url, FakeFunction()).redrive(max_messages=2)

    assert [o.status for o in outcomes] == ["redriven", "redriven"]
    assert visible_and_hidden(url) == (3, 0)


def test_cli_refuses_the_local_gateway(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    local = StackTarget(
        region="us-east-1",
        stack_name="scim-local",
        table_name="scim-local",
        secrets_prefix="scim/scim-local/",
        endpoint_url="http://127.0.0.1:8001",
    )
    monkeypatch.setattr(cli, "resolve_target", lambda *_: local)
    assert cli.main(["events", "redrive"]) == 2
    assert "no dead-letter queue" in capsys.readouterr().err
