"""The table's DynamoDB stream → provisioning events on the stack's EventBridge bus.

Lambda's event source mapping (template.yaml, EventsFunction) delivers the stream in order per
shard, with ``ReportBatchItemFailures``. `process_batch` publishes the batch with
`core.events.deliver` (records mapped by the rules, PutEvents in calls of at most 10 entries,
rejected entries retried with backoff), then walks it with powertools' `BatchProcessor`, whose
record handler reports each record's outcome. The response names the first record that failed
and every record after it, so Lambda retries from there and a resource's changes are never
published out of order; after `MaximumRetryAttempts` the batch's stream position goes to the
dead-letter queue (EventsDeadLetterQueue) and its alarm fires.

Before anything is put on the bus, the batch's events are written to the event journal (the feed
of the management API, `core.events.journal`) in DynamoDB transactions; a batch that cannot be
journaled is retried whole, and a retried batch journals only what it had not journaled before.

`process_batch` takes the sink as an argument: EventBridge here, a JSON-lines file in the local
gateway (`scimctl serve --events-file`), so both run this same code.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.events import Delivery, Destination, EventSink, deliver
from core.events.journal import Journal
from core.events.publisher import Retry
from core.store.aws_errors import remaining_budget, time_budget
from handlers import aws_clients, signing_keys
from handlers.observability import lambda_entry, logger, metrics
from handlers.settings import events_settings

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

# Events carry meta.version: the same signed ETag the API returns (handlers.signing_keys).
signing_keys.install()

# PutEvents entries a partial failure rejected are put again up to 3 more times, backing off
# 0.2 s, 0.4 s, 0.8 s (with jitter) on top of the client's own retries of a failed call.
RETRY = Retry()
# Stop starting AWS calls this long before the Lambda timeout, so the partial batch response (the
# records to retry) is always returned: a timed-out invocation would fail the whole batch.
SAFETY_MARGIN_SECONDS = 2.0


class EventBridgeSink:
    """PutEvents on the stack's bus; per entry, None or EventBridge's error code."""

    def put(self, entries: Sequence[Mapping[str, Any]]) -> list[str | None]:
        typed = [cast("PutEventsRequestEntryTypeDef", dict(e)) for e in entries]
        out = aws_clients.events().put_events(Entries=typed)
        return [result.get("ErrorCode") for result in out.get("Entries", [])]


def destination() -> Destination:
    settings = events_settings()
    return Destination(settings.event_bus_name, settings.event_source, settings.scim_base_url)


@functools.cache
def journal() -> Journal:
    settings = events_settings()
    return Journal(aws_clients.dynamodb(), settings.table_name, settings.event_retention_days)


def _journal(events: Sequence[Any]) -> None:
    appended = journal().append(events)
    if appended.conflicts:
        metrics.add_metric(name="JournalConflicts", unit=MetricUnit.Count, value=appended.conflicts)


def process_batch(
    event: dict[str, Any], sink: EventSink, context: LambdaContext | None = None
) -> PartialItemFailureResponse:
    """Publish one stream batch; the partial batch response names the records to retry."""
    records: list[dict[str, Any]] = event.get("Records") or []
    budget = (
        None if context is None else context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_SECONDS
    )
    if budget is None:
        delivery = deliver(records, sink, destination(), RETRY, journal=_journal)
    else:
        # The events client's retries and the publisher's own both stop when the budget runs out.
        with time_budget(max(budget, 0.0)):
            delivery = deliver(records, sink, destination(), RETRY, remaining_budget, journal=_journal)
    _report(delivery)
    # A record's sequence number is unique in its shard, and what Lambda retries from.
    positions = {_sequence_number(record): index for index, record in enumerate(records)}

    def record_outcome(record: DynamoDBRecord) -> None:
        error = delivery.error_for(positions[_sequence_number(record.raw_event)])
        if error is not None:
            raise error

    # The whole batch may fail (one poison record): still a partial response, so that Lambda
    # retries from that record and then sends it to the dead-letter queue, rather than bisecting.
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    return process_partial_response(event, record_outcome, processor, context)


def event_metric_name(detail_type: str) -> str:
    """'scim.user.created' → 'UserCreated', 'scim.group.member_added' → 'GroupMemberAdded'."""
    words = detail_type.removeprefix("scim.").replace("_", ".").split(".")
    return "".join(word.capitalize() for word in words)


def _sequence_number(record: Mapping[str, Any]) -> str:
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))


def _report(delivery: Delivery) -> None:
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=delivery.published)
    # The provisioning counters (UserCreated, UserDeactivated, GroupMemberAdded, …) are counted
    # here, once per batch, not by the API functions once per request: Bulk and single writes
    # alike, and no metrics flush on the request path.
    for detail_type, count in delivery.by_type.items():
        metrics.add_metric(name=event_metric_name(detail_type), unit=MetricUnit.Count, value=count)
    if delivery.retried:
        metrics.add_metric(name="EventEntriesRetried", unit=MetricUnit.Count, value=delivery.retried)
    if delivery.failed_at is None:
        logger.debug("batch published", extra={"records": delivery.records, "events": delivery.published})
        return
    failed = delivery.records - delivery.failed_at
    metrics.add_metric(name="EventRecordsFailed", unit=MetricUnit.Count, value=failed)
    # The error names the failure's kind only: never an image, which holds personal data.
    logger.warning(
        "stream records not published; Lambda retries them",
        extra={"first_failed": delivery.failed_at, "failed": failed, "error": repr(delivery.error)},
    )


@functools.partial(lambda_entry, correlation_id=False)  # a stream batch, no API request id
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_batch(event, EventBridgeSink(), context)
