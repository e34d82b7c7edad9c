"""Provisioning events on a laptop: moto's DynamoDB stream → the real events handler → a file.

`scimctl serve` runs the production path with one substitution. After each
request that reached a function, the gateway calls `StreamPump.pump`: it reads the table's stream
from moto (DynamoDB Streams' `GetShardIterator` / `GetRecords`, from just after the last record
it handled), wraps the records in the event Lambda's event source mapping would send, and calls
`handlers.events.process_batch`, the function `lambda_handler` calls, with the EventBridge sink
replaced by `JsonLinesSink` (``--events-file F``, or ``DIR/events.jsonl`` with ``--data-dir``):
each PutEvents entry is appended to F as one line of JSON, exactly as it would have been put on
the bus; without a file, `DiscardingSink` accepts them as a bus without rules does. Either way
the handler first writes the batch to the event journal in moto's table (`core.events.journal`),
so the management API's feed works locally and, being table items, survives a restart with
``--data-dir``. The pump holds the gateway's AWS lock, so records are handled
once each and lines appear in stream order even when requests run concurrently; a request's
events are in the file before its response is sent.

Why not moto's EventBridge with a rule and target: that would test moto's routing, not ours, and
the entry (what the SaaS receives) is exactly what PutEvents gets either way.

moto keeps one shard per table; a transaction that fails drops the records it wrote
(`scimctl.moto_dynamodb`), so the pump asks for a fresh iterator each time instead of holding one.
Records are kept 24 hours, as in DynamoDB, or until the pump has handled them
(`moto_dynamodb.trim_stream`), so a long session's memory does not grow with its writes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from moto.dynamodb.models import dynamodb_backends

from core.events import EventSink
from scimctl.local_aws import AWS_LOCK, LocalAws
from scimctl.moto_dynamodb import bytes_as_base64, trim_stream
from scimctl.template import DEFAULT_ACCOUNT_ID

log = logging.getLogger("scimctl.events")

PAGE = 1000  # GetRecords' maximum
BATCH_SIZE = 100  # template.yaml, EventsFunction's stream mapping: records per invocation


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda's event source mapping delivers it: epoch times, base64 binary."""
    out = json.loads(json.dumps(record, default=_json_default))
    out["eventSourceARN"] = stream_arn
    return out  # type: ignore[no-any-return]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())  # ApproximateCreationDateTime: seconds since the epoch
    return bytes_as_base64(value)


def stream_event(records: Sequence[Mapping[str, Any]], stream_arn: str) -> dict[str, Any]:
    """The DynamoDB stream event Lambda passes to the function."""
    return {"Records": [lambda_record(r, stream_arn) for r in records]}


class TableStream:
    """Reads the table's stream from moto (or any DynamoDB Streams endpoint), in order."""

    def __init__(self, dynamodb: Any, streams: Any, table_name: str) -> None:
        self._streams = streams
        self.table_name = table_name
        self.arn: str = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        description = streams.describe_stream(StreamArn=self.arn)["StreamDescription"]
        self._shard_id: str = description["Shards"][0]["ShardId"]  # moto: one shard, for good
        self._last: str | None = None

    @property
    def last_sequence_number(self) -> str | None:
        return self._last

    def skip_to_end(self) -> None:
        """Start after everything written so far (the event source mapping's LATEST)."""
        for _ in self.read():
            pass

    def read(self) -> Iterator[dict[str, Any]]:
        """Every record after the last one read, in stream order."""
        while True:
            position: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
            if self._last is not None:
                position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last}
            iterator = self._streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=self._shard_id, **position
            )
            page = self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=PAGE)
            for record in page["Records"]:
                self._last = record["dynamodb"]["SequenceNumber"]
                yield record
            if len(page["Records"]) < PAGE:
                return


class DiscardingSink:
    """An EventSink that accepts every entry (a bus with no rule): the journal still gets them."""

    def put(self, entries: Sequence[Mapping[str, Any]]) -> list[str | None]:
        return [None] * len(entries)


class JsonLinesSink:
    """An EventSink that appends each PutEvents entry to a file, one JSON object per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def put(self, entries: Sequence[Mapping[str, Any]]) -> list[str | None]:
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            for entry in entries:
                handle.write(json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n")
        return [None] * len(entries)


class FanOutSink:
    """The file (when there is one; else the entries are discarded, a bus with no rule) and then
    `on_published` (the local webhooks), per batch."""

    def __init__(
        self,
        file: JsonLinesSink | None,
        on_published: Callable[[Sequence[Mapping[str, Any]]], None] | None = None,
    ) -> None:
        self.file = file
        self._on_published = on_published

    def put(self, entries: Sequence[Mapping[str, Any]]) -> list[str | None]:
        errors = (self.file or DiscardingSink()).put(entries)
        if self._on_published is not None:
            self._on_published([e for e, error in zip(entries, errors, strict=True) if error is None])
        return errors


def trim_moto_stream(region: str, table_name: str, through: str) -> None:
    """Drop moto's stream records up to sequence number `through`: the pump has handled them."""
    trim_stream(dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table_name), through)


class StreamPump:
    """Feeds new stream records to the events handler; what it would put goes to the sink."""

    def __init__(self, stream: TableStream, sink: EventSink, region: str | None = None) -> None:
        self.stream = stream
        self.sink = sink
        self.region = region  # set: moto's in-process stream, trimmed once handled

    def pump(self) -> int:
        """Handle every record written since the last call; returns how many were read."""
        from handlers.events import process_batch  # noqa: PLC0415 - after the gateway set the env

        with AWS_LOCK:
            records = list(self.stream.read())
            if not records:
                return 0
            # In batches of the mapping's size, as Lambda invokes the function: each batch is
            # journaled and published on its own.
            failures: list[Any] = []
            for start in range(0, len(records), BATCH_SIZE):
                batch = records[start : start + BATCH_SIZE]
                response = process_batch(stream_event(batch, self.stream.arn), self.sink)
                failures.extend(response.get("batchItemFailures") or [])
            last = self.stream.last_sequence_number
            if self.region is not None and last is not None:
                trim_moto_stream(self.region, self.stream.table_name, last)
        if failures:
            # Lambda would retry these, then send them to the dead-letter queue; locally a record
            # that cannot be published is reported and skipped.
            log.warning("%d stream record(s) not published: %s", len(failures), failures)
        return len(records)


def events_pump(
    aws: LocalAws,
    path: Path | None,
    on_published: Callable[[Sequence[Mapping[str, Any]]], None] | None = None,
) -> StreamPump:
    """A pump for the local stack's table, appending to `path` (created if missing) when given
    and handing what it published to `on_published` (`scimctl serve --webhook-url`)."""
    stream = TableStream(aws.client("dynamodb"), aws.client("dynamodbstreams"), aws.table_name)
    stream.skip_to_end()  # as StartingPosition LATEST: what was written before is not replayed
    sink = FanOutSink(JsonLinesSink(path) if path is not None else None, on_published)
    return StreamPump(stream, sink, region=aws.region)
