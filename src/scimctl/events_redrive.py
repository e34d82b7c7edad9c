"""``scimctl --env eu events redrive [--max-messages N]``: re-publish what the events DLQ holds.

After ``MaximumRetryAttempts`` the events function's stream mapping sends a batch's *description*
to ``EventsDeadLetterQueue``: stream, shard, first and last sequence numbers, never the records
(docs/events.md, "Nothing lost"). For each message this reads those records back from the
table's stream (kept 24 hours), invokes the deployed EventsFunction with them, exactly as the
mapping would, and deletes the message only when the function reports no failed record.
Redriven events keep their idempotency keys, so consumers drop the ones they already saw.

(``scimctl events replay`` is the other tool: it replays the EventBridge archive, docs/events.md.)

A message whose records the stream no longer holds is kept (and reported ``expired``): the table
is then the source of truth (``GET /Users``, ``GET /Groups``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scimctl.admin import AdminError
from scimctl.stack import StackTarget

# The receive hides a message this long: enough to read, invoke and delete it.
VISIBILITY_SECONDS = 900
# A bound on GetRecords calls per message: an open shard answers empty pages forever.
MAX_PAGES = 50

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


class BatchInfo(BaseModel):
    """``DDBStreamBatchInfo`` of Lambda's on-failure record for a DynamoDB stream."""

    model_config = ConfigDict(populate_by_name=True)

    stream_arn: str = Field(alias="streamArn")
    shard_id: str = Field(alias="shardId")
    start: int = Field(alias="startSequenceNumber")
    end: int = Field(alias="endSequenceNumber")


class FailureRecord(BaseModel):
    batch: BatchInfo = Field(alias="DDBStreamBatchInfo")


@dataclass(frozen=True)
class Outcome:
    message_id: str
    status: str  # redriven | failed | expired | invalid
    records: int = 0
    shard: str | None = None
    detail: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "status": self.status,
            "records": self.records,
            "shard": self.shard,
            "detail": self.detail,
        }


class Redriver:
    def __init__(self, sqs: Any, streams: Any, invoke: Invoke, queue_url: str) -> None:
        self._sqs = sqs
        self._streams = streams
        self._invoke = invoke
        self._queue_url = queue_url

    def redrive(self, max_messages: int) -> list[Outcome]:
        outcomes: list[Outcome] = []
        while len(outcomes) < max_messages:
            out = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(10, max_messages - len(outcomes)),
                VisibilityTimeout=VISIBILITY_SECONDS,
            )
            messages = out.get("Messages", [])
            if not messages:
                return outcomes
            outcomes.extend(self._one(message) for message in messages)
        return outcomes

    def _one(self, message: dict[str, Any]) -> Outcome:
        message_id = str(message["MessageId"])
        try:
            batch = FailureRecord.model_validate_json(message["Body"]).batch
        except ValidationError:
            return Outcome(message_id, "invalid", detail="not a DynamoDB stream failure record; kept")
        records = self._records(batch)
        if not records:
            return Outcome(
                message_id,
                "expired",
                shard=batch.shard_id,
                detail="the stream no longer holds these records (24 h); reconcile from the table",
            )
        response = self._invoke({"Records": records})
        failed = response.get("batchItemFailures") or []
        if response.get("FunctionError") or failed:
            detail = f"{len(failed)} record(s) failed again" if failed else str(response.get("FunctionError"))
            return Outcome(message_id, "failed", len(records), batch.shard_id, f"{detail}; kept")
        self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return Outcome(message_id, "redriven", len(records), batch.shard_id)

    def _records(self, batch: BatchInfo) -> list[dict[str, Any]]:
        """The batch's records, as Lambda's event source mapping would have delivered them."""
        try:
            iterator: str | None = self._streams.get_shard_iterator(
                StreamArn=batch.stream_arn,
                ShardId=batch.shard_id,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=str(batch.start),
            )["ShardIterator"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {
                "TrimmedDataAccessException",
                "ResourceNotFoundException",
            }:
                return []
            raise
        records: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if iterator is None:
                break
            page = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in page.get("Records", []):
                if int(record["dynamodb"]["SequenceNumber"]) > batch.end:
                    return records
                records.append(_as_lambda_record(record, batch.stream_arn))
            iterator = page.get("NextShardIterator")
        return records


def _as_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):  # boto3 parses it; the Lambda event carries epoch seconds
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


def add_parser(events: Any) -> None:
    redrive = events.add_parser("redrive", help="re-publish the batches held by the events dead-letter queue")
    redrive.add_argument("--max-messages", type=int, default=10, help="messages to handle (default: 10)")


def run_redrive(args: argparse.Namespace, target: StackTarget) -> int:
    if target.endpoint_url:
        raise AdminError("the local gateway has no dead-letter queue: redrive applies to a deployed stack")
    cfn = target.client("cloudformation")
    stack = cfn.describe_stacks(StackName=target.stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if "EventsDeadLetterQueueUrl" not in outputs:
        raise AdminError(f"stack {target.stack_name!r} has no EventsDeadLetterQueueUrl output")
    function = cfn.describe_stack_resource(StackName=target.stack_name, LogicalResourceId="EventsFunction")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    lambda_client = target.client("lambda")

    def invoke(payload: dict[str, Any]) -> dict[str, Any]:
        out = lambda_client.invoke(FunctionName=function, Payload=json.dumps(payload).encode())
        body = json.loads(out["Payload"].read() or b"{}")
        return {**(body if isinstance(body, dict) else {}), "FunctionError": out.get("FunctionError")}

    redriver = Redriver(
        target.client("sqs"), target.client("dynamodbstreams"), invoke, outputs["EventsDeadLetterQueueUrl"]
    )
    outcomes = redriver.redrive(args.max_messages)
    rows = [o.view() for o in outcomes]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print("  ".join(f"{k}={v}" for k, v in row.items() if v is not None))
        print(f"{sum(o.status == 'redriven' for o in outcomes)} of {len(outcomes)} message(s) redriven")
    return 0 if all(o.status == "redriven" for o in outcomes) else 1
