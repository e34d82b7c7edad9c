"""Publishing one batch of stream records, in order, as EventBridge PutEvents entries.

`deliver` maps every record to its events (`core.events.rules`), puts the entries in calls of at
most `MAX_ENTRIES` (PutEvents' limit) through an `EventSink`, and retries the entries a partial
failure rejected, a bounded number of times with exponential backoff. It stops at the first
record it cannot map or publish, and reports that record and every later one as failed:

* Records of one shard arrive in stream order, and the stream keeps the order of an item's
  changes. Lambda retries from the first failed record it is told about, so failing everything
  after it too means no later change of that item is published before an earlier one is.
* Later records whose entries had already been accepted are published again on the retry: a
  duplicate with the same idempotency key, which consumers drop (delivery is at-least-once).
* When the invocation is about to run out of time (`time_left`), no further call or retry starts:
  the rest of the batch is reported as failed rather than cut off by the Lambda timeout, which
  would fail the whole batch and hide how far it got.

Nothing here talks to AWS or reads the environment: the handler passes the sink (EventBridge in
Lambda, a file for ``scimctl serve --events-file``) and where events go.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from core.events.models import EventDetail, detail_json
from core.events.rules import events_for_record

MAX_ENTRIES: Final = 10  # PutEvents accepts at most 10 entries per call
PUT_ATTEMPTS: Final = 4
BACKOFF_SECONDS: Final = 0.2
# A PutEvents call is started only with this much time left: one whole attempt (connect + read
# timeout of the events client) must be able to finish.
MIN_SECONDS_PER_PUT: Final = 4.0

TimeLeft = Callable[[], float | None]  # seconds left in the invocation, None when unbounded


class EventSink(Protocol):
    def put(self, entries: Sequence[Mapping[str, Any]]) -> Sequence[str | None]:
        """Put at most MAX_ENTRIES entries: per entry, in order, None (accepted) or an error code.

        May raise: the whole call then counts as failed (and is retried like a partial failure).
        """
        ...


@dataclass(frozen=True, slots=True)
class Destination:
    """Where events go and how they are labelled."""

    bus_name: str
    source: str  # the events' `source`, e.g. "scim.<stack>"
    api_base_url: str  # https://<api>/<stage>/scim/v2 (each event appends its tenant)


class UnpublishableRecord(Exception):
    """The record cannot be turned into events (malformed image): it fails on every retry."""


class PublishFailed(Exception):
    """EventBridge kept rejecting an entry of this record after every retry."""


class OutOfTime(Exception):
    """The invocation had too little time left to put this record's events; Lambda retries it."""


class JournalFailed(Exception):
    """The batch's events could not be written to the event journal; nothing was put on the bus."""


class EarlierRecordFailed(Exception):
    """Not published, or to be published again: an earlier record of the batch failed, and a
    resource's changes must not overtake one another."""


def put_events_entry(event: EventDetail, destination: Destination) -> dict[str, Any]:
    """One PutEvents entry. No `Time`: EventBridge stamps the put time; `occurredAt` is the change's."""
    return {
        "Source": destination.source,
        "DetailType": event.detail_type,
        "Detail": detail_json(event),
        "EventBusName": destination.bus_name,
        "Resources": [],
    }


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one batch."""

    records: int
    published: int  # entries accepted
    retried: int  # entries put again after a partial failure
    failed_at: int | None = None  # index of the first failed record; later ones failed too
    error: Exception | None = None
    by_type: Mapping[str, int] = field(default_factory=dict)  # entries accepted, per DetailType

    def error_for(self, index: int) -> Exception | None:
        """Why record `index` failed, or None when it was published (or had nothing to publish)."""
        if self.failed_at is None or index < self.failed_at:
            return None
        if index == self.failed_at and self.error is not None:
            return self.error
        return EarlierRecordFailed(f"record {self.failed_at} of the batch failed; order is kept")


@dataclass(frozen=True, slots=True)
class Retry:
    attempts: int = PUT_ATTEMPTS
    backoff_seconds: float = BACKOFF_SECONDS
    sleep: Callable[[float], None] = time.sleep

    def pause(self, attempt: int) -> None:
        # Exponential with full jitter, so that throttled consumers of many shards spread out.
        self.sleep(self.backoff_seconds * (2**attempt) * random.random())  # noqa: S311 # nosec B311


Staged = tuple[int, dict[str, Any]]  # (record index, entry)
Journal = Callable[[Sequence[EventDetail]], object]  # writes the events to the feed, or raises


def deliver(
    records: Sequence[Mapping[str, Any]],
    sink: EventSink,
    destination: Destination,
    retry: Retry | None = None,
    time_left: TimeLeft = lambda: None,
    *,
    journal: Journal | None = None,
) -> Delivery:
    """Publish the batch's events in record order; see the module docstring for what fails."""
    retry = retry or Retry()
    staged, events, failed_at, error = _stage(records, destination)
    published = retried = 0
    by_type: Counter[str] = Counter()
    if journal is not None and events:
        # The feed first: an event is on the bus only once it is in the journal, so a pull consumer
        # never lacks what a push consumer got. A failure fails the batch from its first event on.
        try:
            journal([event for _, event in events])
        except Exception as exc:  # any failure: DynamoDB, throttling, a busy journal
            failure = JournalFailed(f"{type(exc).__name__} while journaling the batch")
            failure.__cause__ = exc
            return Delivery(len(records), 0, 0, events[0][0], failure, {})
    for chunk in _chunks(staged, MAX_ENTRIES):
        if not _has_time(time_left, 0.0):
            failed_at, error = chunk[0][0], OutOfTime("the invocation ran out of time; retried by Lambda")
            break
        rejected, attempts_used, last_error = _put(chunk, sink, retry, time_left)
        retried += attempts_used
        if rejected is not None:
            failed_at, error = rejected, PublishFailed(f"EventBridge rejected the entry: {last_error}")
            accepted = [entry for index, entry in chunk if index < rejected]
            published += len(accepted)
            by_type.update(entry["DetailType"] for entry in accepted)
            break
        published += len(chunk)
        by_type.update(entry["DetailType"] for _, entry in chunk)
    return Delivery(len(records), published, retried, failed_at, error, dict(by_type))


def _stage(
    records: Sequence[Mapping[str, Any]], destination: Destination
) -> tuple[list[Staged], list[tuple[int, EventDetail]], int | None, Exception | None]:
    """Every entry to put (and its event), in order, up to the first record that cannot be mapped."""
    staged: list[Staged] = []
    details: list[tuple[int, EventDetail]] = []
    for index, record in enumerate(records):
        try:
            events = events_for_record(record, destination.api_base_url)
        except Exception as exc:  # any malformed record: the rules raise several kinds
            failure = UnpublishableRecord(f"{type(exc).__name__} while reading the record")
            failure.__cause__ = exc
            return staged, details, index, failure
        staged.extend((index, put_events_entry(e, destination)) for e in events)
        details.extend((index, e) for e in events)
    return staged, details, None, None


def _has_time(time_left: TimeLeft, pause: float) -> bool:
    left = time_left()
    return left is None or left >= pause + MIN_SECONDS_PER_PUT


def _put(
    chunk: list[Staged], sink: EventSink, retry: Retry, time_left: TimeLeft
) -> tuple[int | None, int, str]:
    """(index of the first record still rejected after every attempt, entries re-put, last error)."""
    pending = list(chunk)
    re_put = 0
    last_error = ""
    for attempt in range(retry.attempts):
        if attempt:
            if not _has_time(time_left, retry.backoff_seconds * 2 ** (attempt - 1)):
                break  # what is still pending fails; Lambda retries it with a fresh invocation
            retry.pause(attempt - 1)
            re_put += len(pending)
        try:
            codes = list(sink.put([entry for _, entry in pending]))
        except Exception as exc:  # the call itself failed after the client's own retries
            last_error = type(exc).__name__
            continue
        last_error = next((c for c in codes if c), last_error)
        pending = [staged for staged, code in zip(pending, codes, strict=True) if code]
        if not pending:
            return None, re_put, ""
    return min(index for index, _ in pending), re_put, last_error


def _chunks(items: list[Staged], size: int) -> Iterator[list[Staged]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
