"""The event journal: every published event kept `retention_days` in the table, read as a feed.

The events function writes each batch's events here (`Journal.append`) before it puts them on the
bus; the management API serves them (`Journal.tenant_page`, `Journal.stack_page`); the webhook
deliverer can redeliver from them. The design (docs/architecture.md, "The event feed"):

* Every event gets the next number of its tenant's sequence (1, 2, 3, … with no holes) and of the
  stack-wide sequence. The numbers are reserved and the events written in **one**
  TransactWriteItems: the counters' updates are conditional on the values read just before, and
  the same transaction puts the events. So a number is never reserved without its event being
  written (no hole left by a crash between the two), and two batches processed concurrently (two
  stream shards) cannot take the same numbers: the second transaction's condition fails, it
  re-reads the counters and tries again.
* The feed of a tenant is the partition ``T#<t>#EVENTS`` in sequence order; the stack's feed is
  ``STACK#EVENTS``, a small pointer per event (stack sequence → tenant, tenant sequence). Both are
  read strongly consistent from the table, never from an index (an index is eventually
  consistent: it could show event 8 before event 7 and a reader would step past 7).
* A reader never steps past a missing number that is recent: it stops just before it (a
  transaction still becoming visible); the next read finds it. Numbers only go missing for good
  when DynamoDB's TTL removes expired events (in no particular order), so a gap whose next event
  is older than `SETTLE_SECONDS` is stepped over.
* Each event's id is its `idempotencyKey`; an id marker (``T#<t>#EVENTS#ID`` / id) is put in the
  same transaction, conditional on its absence, and the batch reads the markers first: a batch
  Lambda retries journals only the events not already journaled.
* A cursor names the last sequence number read and a time the events after it are younger than
  (the last event's journal time, or the time of reading when the page reached the end); a
  cursor older than the retention (its next events may be gone) is refused with `CursorExpired`
  (410). A consumer that keeps polling renews its cursor with every empty page.

DynamoDB calls: `append` costs one BatchGetItem (two above 100 keys) and one TransactWriteItems
per 32 events (fewer when they are of many tenants); a feed page costs one Query (the stack
feed: one Query and one BatchGetItem).
"""

from __future__ import annotations

import fnmatch
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from core import signing
from core.errors import BadRequest, ScimError, ServiceUnavailable
from core.store.aws_errors import unavailable_on_outage
from core.store.batch import batch_get
from core.store.keys import tenant_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from core.events.models import EventDetail


def _detail_json(event: EventDetail) -> str:
    # Imported here: the feed's readers (the management function) never load the event models.
    from core.events.models import detail_json  # noqa: PLC0415 - writers only

    return detail_json(event)


MAX_PAGE: Final = 200
DEFAULT_RETENTION_DAYS: Final = 30
# A missing number whose successor was journaled more recently than this may still be becoming
# visible (a transaction in flight): the reader stops before it. Older gaps are TTL's deletions.
SETTLE_SECONDS: Final = 60
# A cursor this close to the retention is refused: the events after it may be expiring.
EXPIRY_MARGIN_SECONDS: Final = 3600
# Items of one transaction: 1 stack counter + per tenant 1 counter + per event 3 items ≤ 100, so
# at most 32 events (one tenant's) per transaction.
MAX_TRANSACTION_ITEMS: Final = 100
EVENTS_PER_TRANSACTION: Final = (MAX_TRANSACTION_ITEMS - 2) // 3
MAX_TRANSACTION_BYTES: Final = 3_500_000  # TransactWriteItems takes at most 4 MB
ATTEMPTS: Final = 8  # transactions tried per chunk when other batches take the numbers first
# Items a type-filtered page examines at most (one Query): the page may then hold fewer events.
FILTER_SCAN: Final = 1000
_DAY: Final = 86_400
_SEQ_WIDTH: Final = 15
_CURSOR_BYTES: Final = 16
_MAX_CURSOR_LENGTH: Final = 512
T = TypeVar("T")
STACK_PK: Final = "STACK#EVENTS"
COUNTER_SK: Final = "#COUNT"  # next to the id markers (64 hex digits), never in a feed's partition
STACK_COUNTER_KEY: Final = {"PK": {"S": f"{STACK_PK}#ID"}, "SK": {"S": COUNTER_SK}}
STACK_SCOPE: Final = "#stack"  # the cursor scope of the stack-wide feed
EVENT_KIND: Final = "journal"


class CursorExpired(ScimError):
    """The cursor is older than the journal's retention: back-fill, then read from the start."""

    status = 410
    default_detail = "The cursor has expired: events after it may be gone. Back-fill and start again."


class InvalidFeedCursor(BadRequest):
    default_detail = "The cursor is not valid."


class JournalBusy(ServiceUnavailable):
    """Other batches kept taking the sequence numbers first; Lambda retries the batch."""


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One journaled event, as the feed serves it."""

    id: str  # the EventBridge event's idempotencyKey
    sequence: int  # in its tenant's feed (the stack feed's own number is `stack_sequence`)
    type: str
    time: str  # when it was journaled (ISO 8601 UTC), ≈ the EventBridge event's `time`
    tenant_id: str
    data: dict[str, Any]  # the EventBridge event's detail
    stack_sequence: int = 0
    journaled_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sequence": self.sequence,
            "type": self.type,
            "time": self.time,
            "tenant_id": self.tenant_id,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class FeedPage:
    data: list[FeedEvent]
    next_cursor: str  # always given: where to read (or poll) from next

    def to_json(self, *, stack: bool = False) -> dict[str, Any]:
        items = [e.to_json() | ({"stack_sequence": e.stack_sequence} if stack else {}) for e in self.data]
        return {"data": items, "next_cursor": self.next_cursor}


@dataclass(frozen=True, slots=True)
class TypeFilter:
    """``types=scim.user.*,scim.group.member_added``: fnmatch patterns; empty means every type."""

    patterns: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: str | None) -> TypeFilter:
        parts = tuple(p.strip() for p in (raw or "").split(",") if p.strip())
        for part in parts:
            if len(part) > 100 or not all(c.isalnum() or c in "._*" for c in part):
                raise BadRequest(f"types: {part[:100]!r} is not an event type or pattern (e.g. scim.user.*)")
        return cls(parts)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, event_type: str) -> bool:
        return not self.patterns or any(fnmatch.fnmatchcase(event_type, p) for p in self.patterns)


@dataclass(frozen=True, slots=True)
class Appended:
    journaled: int  # events written by this call
    skipped: int  # already journaled (a retried batch)
    transactions: int
    conflicts: int  # transactions that lost the race for the numbers and were retried
    calls: int  # DynamoDB calls made


def events_pk(tenant_id: str) -> str:
    return f"{tenant_pk(tenant_id)}#EVENTS"


def event_ids_pk(tenant_id: str) -> str:
    return f"{tenant_pk(tenant_id)}#EVENTS#ID"


def tenant_counter_key(tenant_id: str) -> dict[str, Any]:
    return {"PK": {"S": event_ids_pk(tenant_id)}, "SK": {"S": COUNTER_SK}}


def _seq_sk(sequence: int) -> str:
    return f"{sequence:0{_SEQ_WIDTH}d}"


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Counters:
    values: dict[str, int] = field(default_factory=dict)  # tenant → last number; STACK_SCOPE too
    known: set[str] = field(default_factory=set)  # counters that exist (condition on their value)


class Journal:
    """The journal in the stack's table. `now` and `sleep` are injectable for tests."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        *,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._db = client
        self._table = table_name
        self.retention_days = retention_days
        self._now = now
        self._sleep = sleep

    # -- writing --------------------------------------------------------------------------------
    def append(self, events: Sequence[EventDetail]) -> Appended:
        """Journal the events, in order; those already journaled (same id) are skipped."""
        if not events:
            return Appended(0, 0, 0, 0, 0)
        counters, seen, calls = self._read_state(events)
        pending = [e for e in events if e.idempotency_key not in seen]
        skipped = len(events) - len(pending)
        transactions = conflicts = journaled = 0
        while pending:
            chunk = self._chunk(pending)
            transactions += 1
            calls += 1
            if self._write(chunk, counters):
                journaled += len(chunk)
                pending = pending[len(chunk) :]
                continue
            conflicts += 1
            if conflicts >= ATTEMPTS:
                raise JournalBusy("the event journal is busy; the batch is retried")
            # Another batch took the numbers first: re-read, with jitter so that concurrent shards
            # do not keep colliding.
            self._sleep(0.01 * min(2**conflicts, 32) * random.random())  # noqa: S311 # nosec B311
            counters, seen, reads = self._read_state(pending)
            calls += reads
            fresh = [e for e in pending if e.idempotency_key not in seen]
            skipped += len(pending) - len(fresh)
            pending = fresh
        return Appended(journaled, skipped, transactions, conflicts, calls)

    def _chunk(self, pending: Sequence[EventDetail]) -> list[EventDetail]:
        """The longest prefix that fits one transaction: the stack counter, one counter per
        tenant in it and three items per event within MAX_TRANSACTION_ITEMS, and under 4 MB."""
        chunk: list[EventDetail] = []
        tenants: set[str] = set()
        size = 0
        for event in pending:
            size += len(_detail_json(event)) + 1024
            items = 1 + len(tenants | {event.tenant_id}) + 3 * (len(chunk) + 1)
            if chunk and (items > MAX_TRANSACTION_ITEMS or size > MAX_TRANSACTION_BYTES):
                break
            chunk.append(event)
            tenants.add(event.tenant_id)
        return chunk

    def _read_state(self, events: Sequence[EventDetail]) -> tuple[_Counters, set[str], int]:
        """The counters of the events' tenants and the stack, and the ids already journaled."""
        tenants = sorted({e.tenant_id for e in events})
        keys: list[dict[str, Any]] = [STACK_COUNTER_KEY] + [tenant_counter_key(t) for t in tenants]
        keys += [{"PK": {"S": event_ids_pk(e.tenant_id)}, "SK": {"S": e.idempotency_key}} for e in events]
        unique = list({json.dumps(k, sort_keys=True): k for k in keys}.values())
        items = batch_get(self._db, self._table, unique)
        counters = _Counters()
        seen: set[str] = set()
        for item in items:
            pk, sk = item["PK"]["S"], item["SK"]["S"]
            if sk == COUNTER_SK:
                scope = STACK_SCOPE if pk == STACK_COUNTER_KEY["PK"]["S"] else item["tenantId"]["S"]
                counters.values[scope] = int(item["seq"]["N"])
                counters.known.add(scope)
            else:
                seen.add(sk)
        return counters, seen, -(-len(unique) // 100)

    def _write(self, chunk: Sequence[EventDetail], counters: _Counters) -> bool:
        """One transaction: the counters move from the values read, the events are put. False when
        another batch moved a counter first (nothing was written)."""
        moment = self._now()
        expires = int(moment) + self.retention_days * _DAY
        last = dict(counters.values)
        puts: list[dict[str, Any]] = []
        stack_seq = last.get(STACK_SCOPE, 0)
        for event in chunk:
            tenant = event.tenant_id
            seq = last.get(tenant, 0) + 1
            last[tenant] = seq
            stack_seq += 1
            puts.extend(self._event_items(event, seq, stack_seq, moment, expires))
        last[STACK_SCOPE] = stack_seq
        updates = [
            self._counter_update(scope, counters.values.get(scope, 0), last[scope], scope in counters.known)
            for scope in sorted(last)
            if last[scope] != counters.values.get(scope)
        ]
        try:
            with unavailable_on_outage("DynamoDB"):
                self._db.transact_write_items(TransactItems=updates + puts)  # type: ignore[arg-type]
        except self._db.exceptions.TransactionCanceledException:
            return False
        counters.values.update(last)
        counters.known.update(last)
        return True

    def _counter_update(self, scope: str, before: int, after: int, exists: bool) -> dict[str, Any]:
        key = STACK_COUNTER_KEY if scope == STACK_SCOPE else tenant_counter_key(scope)
        values: dict[str, Any] = {":after": {"N": str(after)}}
        if exists:
            condition = "seq = :before"
            values[":before"] = {"N": str(before)}
        else:
            condition = "attribute_not_exists(PK)"
        update = "SET seq = :after"
        if scope != STACK_SCOPE:
            update += ", tenantId = :tenant"
            values[":tenant"] = {"S": scope}
        return {
            "Update": {
                "TableName": self._table,
                "Key": key,
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }

    def _event_items(
        self, event: EventDetail, seq: int, stack_seq: int, moment: float, expires: int
    ) -> list[dict[str, Any]]:
        tenant, event_id = event.tenant_id, event.idempotency_key
        common = {"ttl": {"N": str(expires)}, "tenantId": {"S": tenant}}
        record = {
            "PK": {"S": events_pk(tenant)},
            "SK": {"S": _seq_sk(seq)},
            "kind": {"S": EVENT_KIND},
            "id": {"S": event_id},
            "type": {"S": event.detail_type},
            "seq": {"N": str(seq)},
            "stackSeq": {"N": str(stack_seq)},
            "journaledAt": {"N": f"{moment:.3f}"},
            "detail": {"S": _detail_json(event)},
        } | common
        marker = {"PK": {"S": event_ids_pk(tenant)}, "SK": {"S": event_id}, "seq": {"N": str(seq)}} | common
        pointer = {
            "PK": {"S": STACK_PK},
            "SK": {"S": _seq_sk(stack_seq)},
            "seq": {"N": str(seq)},
            "type": {"S": event.detail_type},
            "journaledAt": {"N": f"{moment:.3f}"},
        } | common
        new = "attribute_not_exists(PK)"
        return [
            {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": new}}
            for item in (record, marker, pointer)
        ]

    # -- reading --------------------------------------------------------------------------------
    def tenant_page(
        self, tenant_id: str, *, after: str | None, limit: int, types: TypeFilter | None = None
    ) -> FeedPage:
        """The tenant's events after the cursor (from the oldest kept without one), oldest first."""
        types = types or TypeFilter()
        limit = _check_limit(limit)
        position = self._decode(tenant_id, after)
        items, more = self._query(events_pk(tenant_id), position[0] if position else None, limit, bool(types))
        events = [_feed_event(item) for item in items]
        kept = self._contiguous(events, position, lambda e: e.sequence)
        matching = [e for e in kept if types.matches(e.type)][:limit]
        last = self._last_position(kept, matching, limit, position, lambda e: e.sequence)
        caught_up = not more and len(kept) == len(events) and (not kept or last == self._at(kept[-1]))
        return FeedPage(matching, self._encode(tenant_id, last, caught_up))

    def stack_page(self, *, after: str | None, limit: int, types: TypeFilter | None = None) -> FeedPage:
        """Every tenant's events in stack order (one consumer for the whole stack)."""
        types = types or TypeFilter()
        limit = _check_limit(limit)
        position = self._decode(STACK_SCOPE, after)
        pointers, more = self._query(STACK_PK, position[0] if position else None, limit, bool(types))
        kept = self._contiguous(pointers, position, lambda p: int(p["SK"]["S"]))
        chosen = [p for p in kept if types.matches(p["type"]["S"])][:limit]
        keys = [
            {"PK": {"S": events_pk(p["tenantId"]["S"])}, "SK": {"S": _seq_sk(int(p["seq"]["N"]))}}
            for p in chosen
        ]
        found = {
            (i["tenantId"]["S"], int(i["seq"]["N"])): _feed_event(i)
            for i in batch_get(self._db, self._table, keys)
        }
        # An event its TTL removed between the two reads is left out (it was past the retention).
        data = [e for p in chosen if (e := found.get((p["tenantId"]["S"], int(p["seq"]["N"])))) is not None]
        last = self._last_position(kept, chosen, limit, position, lambda p: int(p["SK"]["S"]))
        caught_up = not more and len(kept) == len(pointers) and (not kept or last == self._at(kept[-1], True))
        return FeedPage(data, self._encode(STACK_SCOPE, last, caught_up))

    def _query(
        self, pk: str, after_seq: int | None, limit: int, filtered: bool
    ) -> tuple[list[dict[str, Any]], bool]:
        """The items after `after_seq`, and whether more may follow them."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,  # never an older view: see the module docstring
            "Limit": FILTER_SCAN if filtered else limit,
        }
        if after_seq is not None:
            kwargs["KeyConditionExpression"] += " AND SK > :after"
            kwargs["ExpressionAttributeValues"][":after"] = {"S": _seq_sk(after_seq)}
        with unavailable_on_outage("DynamoDB"):
            out = self._db.query(**kwargs)
        return list(out.get("Items", [])), "LastEvaluatedKey" in out

    def _contiguous(
        self, items: list[T], position: tuple[int, float] | None, number: Callable[[T], int]
    ) -> list[T]:
        """The items up to the first recent gap in the numbering (see the module docstring)."""
        kept: list[T] = []
        expected = position[0] + 1 if position else None
        now = self._now()
        for item in items:
            seq = number(item)
            if expected is not None and seq != expected and now - _journaled_at(item) < SETTLE_SECONDS:
                break  # a number before it may still appear
            kept.append(item)
            expected = seq + 1
        return kept

    def _last_position(
        self,
        kept: list[T],
        chosen: list[T],
        limit: int,
        position: tuple[int, float] | None,
        number: Callable[[T], int],
    ) -> tuple[int, float] | None:
        """Where the next page starts: after the last event returned, or (when a type filter left
        fewer than `limit`) after the last one examined."""
        basis = chosen[-1] if len(chosen) == limit else (kept[-1] if kept else None)
        if basis is None:
            return position
        return number(basis), _journaled_at(basis)

    @staticmethod
    def _at(item: Any, pointer: bool = False) -> tuple[int, float]:
        number = int(item["SK"]["S"]) if pointer else item.sequence
        return number, _journaled_at(item)

    # -- cursors --------------------------------------------------------------------------------
    def _encode(self, scope: str, position: tuple[int, float] | None, caught_up: bool = False) -> str:
        """The cursor: the last number read, and a time the events after it are younger than (so
        that they are kept until that time + the retention). That is the last event's journal
        time; or now, when the page reached the end: whatever follows is journaled later. So a
        consumer that keeps polling a quiet feed never holds an expired cursor."""
        seq, at = position or (0, 0.0)
        if caught_up or seq == 0:
            at = self._now()
        raw = json.dumps({"s": scope, "q": seq, "t": round(at, 3)}, separators=(",", ":")).encode()
        mac = signing.keyring().mac(_mac_scope(scope), "feed-cursor", [raw], _CURSOR_BYTES)
        return f"{signing.b64url(raw)}.{signing.b64url(mac)}"

    def _decode(self, scope: str, cursor: str | None) -> tuple[int, float] | None:
        if not cursor:
            return None
        body, _, tag = cursor.partition(".")
        try:
            if len(cursor) > _MAX_CURSOR_LENGTH:
                raise ValueError("too long")
            raw, mac = signing.b64url_decode(body), signing.b64url_decode(tag)
            valid = len(mac) == _CURSOR_BYTES and signing.keyring().verify(
                _mac_scope(scope), "feed-cursor", [raw], mac
            )
            state = json.loads(raw) if valid else None
        except ValueError:
            raise InvalidFeedCursor() from None
        if not isinstance(state, dict) or state.get("s") != scope:
            raise InvalidFeedCursor()
        seq, at = int(state.get("q", 0)), float(state.get("t", 0.0))
        if at + self.retention_days * _DAY - EXPIRY_MARGIN_SECONDS < self._now():
            raise CursorExpired()
        if seq == 0:
            return None  # a cursor issued before any event: read from the oldest kept
        return seq, at


def _mac_scope(scope: str) -> str:
    # The key ring derives one key per tenant; the stack feed uses a name no tenant id can have.
    return scope


def _journaled_at(item: Any) -> float:
    if isinstance(item, FeedEvent):
        return item.journaled_at
    return float(item["journaledAt"]["N"])


def _feed_event(item: Mapping[str, Any]) -> FeedEvent:
    at = float(item["journaledAt"]["N"])
    return FeedEvent(
        id=item["id"]["S"],
        sequence=int(item["seq"]["N"]),
        type=item["type"]["S"],
        time=_iso(at),
        tenant_id=item["tenantId"]["S"],
        data=json.loads(item["detail"]["S"]),
        stack_sequence=int(item["stackSeq"]["N"]),
        journaled_at=at,
    )


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
    return limit
