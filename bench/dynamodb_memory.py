"""An in-memory DynamoDB for benchmarks of large tenants, answering the real botocore client.

Why not moto at 100,000 users: moto answers every GSI Query by scanning the whole table and every
table Query by sorting the partition, and stores each attribute as an object, so seeding 200,000
items takes minutes and one `startIndex` page seconds. This table keeps each partition's sort keys
(and each index's keys) in order, so reads cost what they cost in DynamoDB: the items returned.

It answers at botocore's ``before-send`` event, so the client still builds, signs and parses every
request as on AWS (that CPU stays in the handler's measurement; the time spent here does not). It
implements exactly what the service calls (the expression subset in `bench.dynamodb_expressions`)
with DynamoDB's semantics: conditional writes, all-or-nothing transactions with cancellation
reasons, `Limit` and the 1 MB page limit with `LastEvaluatedKey`, GSIs with ALL projection. For
each request it records the capacity DynamoDB would consume (`bench.capacity`) and the item
changes a stream would carry. `make bench` checks that moto and this table give the same counts on
a 1,000-user tenant; tests/unit/test_bench_counts.py checks it on a small one.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

from bench.capacity import item_size, read_units, write_units
from bench.dynamodb_expressions import Condition, apply_update, key_condition

Item = dict[str, Any]
PAGE_BYTES = 1024 * 1024  # a Query stops after reading 1 MB


@dataclass
class Change:
    """One item change, as the table's stream (NEW_AND_OLD_IMAGES) would record it."""

    keys: Item
    old: Item | None
    new: Item | None

    def stream_record(self, sequence: int) -> dict[str, Any]:
        name = "INSERT" if self.old is None else "REMOVE" if self.new is None else "MODIFY"
        change: dict[str, Any] = {"Keys": self.keys, "SequenceNumber": str(sequence)}
        if self.old is not None:
            change["OldImage"] = self.old
        if self.new is not None:
            change["NewImage"] = self.new
        return {"eventName": name, "dynamodb": change}


@dataclass
class Consumed:
    """What the requests since the last `reset` consumed."""

    read_units: float = 0.0
    write_units: float = 0.0  # the table's own items
    index_write_units: float = 0.0  # GSI entries written or deleted
    changes: list[Change] = field(default_factory=list)


class TableError(Exception):
    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code, self.extra = code, extra


class MemoryTable:
    def __init__(self, key_schema: list[dict[str, str]], indexes: list[dict[str, Any]]) -> None:
        self.hash_key, self.range_key = _keys(key_schema)
        self.partitions: dict[str, dict[str, Item]] = {}
        self.sort_keys: dict[str, list[str]] = {}
        self.index_keys = {i["IndexName"]: _keys(i["KeySchema"]) for i in indexes}
        self.indexes: dict[str, dict[str, list[tuple[str, str, str]]]] = {n: {} for n in self.index_keys}

    def key_of(self, item: Item) -> tuple[str, str]:
        return item[self.hash_key]["S"], item[self.range_key]["S"]

    def key_item(self, item: Item) -> Item:
        return {self.hash_key: item[self.hash_key], self.range_key: item[self.range_key]}

    def get(self, key: Item) -> Item | None:
        pk, sk = self.key_of(key)
        return self.partitions.get(pk, {}).get(sk)

    def write(self, key: Item, new: Item | None) -> Item | None:
        """Put (or delete, with None) one item; returns the item it replaced."""
        pk, sk = self.key_of(key)
        partition = self.partitions.setdefault(pk, {})
        old = partition.get(sk)
        if old is None and new is not None:
            bisect.insort(self.sort_keys.setdefault(pk, []), sk)
        elif old is not None and new is None:
            self.sort_keys[pk].remove(sk)
        if new is None:
            partition.pop(sk, None)
        else:
            partition[sk] = new
        for name in self.index_keys:
            self._reindex(name, old, new)
        return old

    def _reindex(self, name: str, old: Item | None, new: Item | None) -> None:
        entries = self.indexes[name]
        for item, add in ((old, False), (new, True)):
            entry = self._index_entry(name, item)
            if entry is None:
                continue
            hash_value, position = entry
            keys = entries.setdefault(hash_value, [])
            if add:
                bisect.insort(keys, position)
            else:
                keys.remove(position)

    def _index_entry(self, name: str, item: Item | None) -> tuple[str, tuple[str, str, str]] | None:
        hash_name, range_name = self.index_keys[name]
        if item is None or hash_name not in item or range_name not in item:
            return None
        pk, sk = self.key_of(item)
        return item[hash_name]["S"], (item[range_name]["S"], pk, sk)

    def index_changes(self, old: Item | None, new: Item | None) -> Iterator[Item]:
        """The index entries a write puts or deletes (a moved key is a delete and a put)."""
        for name in self.index_keys:
            before, after = self._index_entry(name, old), self._index_entry(name, new)
            if before is not None and before == after:
                if old != new:
                    yield new or {}
                continue
            if before is not None:
                yield old or {}
            if after is not None:
                yield new or {}

    def query(
        self,
        index: str | None,
        hash_value: str,
        *,
        matches: Callable[[str], bool] | None,
        start: Item | None,
        limit: int | None,
        forward: bool,
    ) -> tuple[list[Item], Item | None, int]:
        """(items, LastEvaluatedKey, bytes read)."""
        if index is None:
            positions: list[Any] = self.sort_keys.get(hash_value, [])
            after: Any = start[self.range_key]["S"] if start else None
        else:
            _, range_name = self.index_keys[index]
            positions = self.indexes[index].get(hash_value, [])
            after = (start[range_name]["S"], *self.key_of(start)) if start else None
        order = _walk(positions, after, forward)
        partition = self.partitions
        items: list[Item] = []
        read = 0
        for position in order:
            if limit is not None and len(items) == limit:
                return items, self._last_key(index, items[-1]), read
            if index is None:
                item = partition[hash_value][position]
                value = position
            else:
                item = partition[position[1]][position[2]]
                value = position[0]
            if matches is not None and not matches(value):
                continue
            read += item_size(item)
            items.append(item)
            if read >= PAGE_BYTES:
                return items, self._last_key(index, item), read
        if limit is not None and len(items) == limit and items:  # DynamoDB stops at Limit
            return items, self._last_key(index, items[-1]), read
        return items, None, read

    def _last_key(self, index: str | None, item: Item) -> Item:
        key = self.key_item(item)
        if index is not None:
            hash_name, range_name = self.index_keys[index]
            key |= {hash_name: item[hash_name], range_name: item[range_name]}
        return key


def _keys(schema: list[dict[str, str]]) -> tuple[str, str]:
    by_type = {k["KeyType"]: k["AttributeName"] for k in schema}
    return by_type["HASH"], by_type["RANGE"]


def _walk(positions: list[Any], after: Any, forward: bool) -> Iterator[Any]:
    if forward:
        begin = bisect.bisect_right(positions, after) if after is not None else 0
        return iter(positions[begin:])
    end = bisect.bisect_left(positions, after) if after is not None else len(positions)
    return iter(positions[:end][::-1])


def _projected(item: Item, expression: str | None, names: dict[str, str]) -> Item:
    if not expression:
        return item
    wanted = [names.get(p.strip(), p.strip()) for p in expression.split(",")]
    return {k: item[k] for k in wanted if k in item}


class MemoryDynamoDB:
    """Tables by name, the request handlers, and what the requests consumed."""

    def __init__(self) -> None:
        self.tables: dict[str, MemoryTable] = {}
        self.consumed = Consumed()
        self._sequence = 0

    def create_table(self, TableName: str, **kwargs: Any) -> None:  # noqa: N803 - the API's names
        self.tables[TableName] = MemoryTable(kwargs["KeySchema"], kwargs.get("GlobalSecondaryIndexes", []))

    def load(self, table: str, items: Iterator[Item] | list[Item]) -> int:
        """Seed items directly (no request, no capacity): what BatchWriteItem would store."""
        count = 0
        for item in items:
            self.tables[table].write(item, item)
            count += 1
        return count

    def reset(self) -> Consumed:
        consumed, self.consumed = self.consumed, Consumed()
        return consumed

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    # -- botocore -------------------------------------------------------------------------------
    def install(self, client: Any, pause: Callable[[], AbstractContextManager[Any]] = nullcontext) -> None:
        """Answer every DynamoDB request of `client` (before moto's own stub would)."""

        def answer(request: Any, **_: Any) -> AWSResponse:
            with pause():
                operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
                try:
                    status, body = 200, self.handle(operation, json.loads(request.body or b"{}"))
                except TableError as error:
                    prefix = "com.amazonaws.dynamodb.v20120810#"
                    status, body = 400, {"__type": prefix + error.code, "message": str(error), **error.extra}
                payload = json.dumps(body).encode()
                headers = HTTPHeaders()
                headers["Content-Type"] = "application/x-amz-json-1.0"
                return AWSResponse(request.url, status, headers, _Raw(payload))

        client.meta.events.register_first("before-send.dynamodb", answer)

    # -- operations -----------------------------------------------------------------------------
    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "_" + operation, None)
        if handler is None:
            raise TableError("UnknownOperationException", operation)
        result: dict[str, Any] = handler(params)
        return result

    def _GetItem(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - API operation names
        table = self.tables[p["TableName"]]
        item = table.get(p["Key"])
        self.consumed.read_units += read_units([item_size(item)], consistent=bool(p.get("ConsistentRead")))
        if item is None:
            return {}
        return {
            "Item": _projected(item, p.get("ProjectionExpression"), p.get("ExpressionAttributeNames", {}))
        }

    def _BatchGetItem(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        responses: dict[str, list[Item]] = {}
        for name, request in p["RequestItems"].items():
            found = responses.setdefault(name, [])
            for key in request["Keys"]:
                got = self._GetItem(
                    {"TableName": name, "Key": key, **{k: v for k, v in request.items() if k != "Keys"}}
                )
                if "Item" in got:
                    found.append(got["Item"])
        return {"Responses": responses, "UnprocessedKeys": {}}

    def _Query(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        table = self.tables[p["TableName"]]
        names = p.get("ExpressionAttributeNames", {})
        _, hash_value, matches, _ = key_condition(
            p["KeyConditionExpression"], names, p.get("ExpressionAttributeValues", {})
        )
        if p.get("FilterExpression"):
            raise TableError("ValidationException", "FilterExpression is not implemented here")
        index = p.get("IndexName")
        items, last, read = table.query(
            index,
            hash_value,
            matches=matches,
            start=p.get("ExclusiveStartKey"),
            limit=p.get("Limit"),
            forward=p.get("ScanIndexForward", True),
        )
        consistent = bool(p.get("ConsistentRead")) and index is None
        self.consumed.read_units += read_units([read], consistent=consistent)
        out: dict[str, Any] = {
            "Items": [_projected(i, p.get("ProjectionExpression"), names) for i in items],
            "Count": len(items),
            "ScannedCount": len(items),
        }
        if last is not None:
            out["LastEvaluatedKey"] = last
        return out

    def _PutItem(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._commit([self._planned("Put", p)], transactional=False)
        return {}

    def _DeleteItem(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._commit([self._planned("Delete", p)], transactional=False)
        return {}

    def _UpdateItem(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._commit([self._planned("Update", p)], transactional=False)
        return {}

    def _BatchWriteItem(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        for name, requests in p["RequestItems"].items():
            for request in requests:
                ((kind, body),) = request.items()
                action = "Put" if kind == "PutRequest" else "Delete"
                self._commit([self._planned(action, {"TableName": name, **body})], transactional=False)
        return {"UnprocessedItems": {}}

    def _TransactWriteItems(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        planned = [self._planned(*next(iter(entry.items()))) for entry in p["TransactItems"]]
        self._commit(planned, transactional=True)
        return {}

    # -- writes ---------------------------------------------------------------------------------
    def _planned(self, action: str, p: dict[str, Any]) -> _Write:
        table = self.tables[p["TableName"]]
        key = table.key_item(p["Item"]) if action == "Put" else p["Key"]
        old = table.get(key)
        names, values = p.get("ExpressionAttributeNames", {}), p.get("ExpressionAttributeValues", {})
        ok = (
            Condition(p["ConditionExpression"], names, values).holds(old)
            if "ConditionExpression" in p
            else True
        )
        new: Item | None
        if action == "Put":
            new = p["Item"]
        elif action == "Delete":
            new = None
        elif action == "Update":
            new = apply_update(old or dict(key), p["UpdateExpression"], names, values)
        else:  # ConditionCheck
            new = old
        return _Write(table, key, old, new, ok, checks_only=action == "ConditionCheck")

    def _commit(self, writes: list[_Write], *, transactional: bool) -> None:
        for w in writes:
            if w.checks_only:
                self.consumed.read_units += read_units(
                    [item_size(w.old)], consistent=True, transactional=True
                )
            else:
                self.consumed.write_units += write_units(w.old, w.new, transactional=transactional)
        if not all(w.ok for w in writes):
            if not transactional:
                raise TableError("ConditionalCheckFailedException", "The conditional request failed")
            reasons = [
                {"Code": "None"}
                if w.ok
                else {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
                for w in writes
            ]
            codes = ", ".join(r["Code"] for r in reasons)
            raise TableError(
                "TransactionCanceledException",
                f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                CancellationReasons=reasons,
            )
        for w in writes:
            if w.checks_only:
                continue
            for entry in w.table.index_changes(w.old, w.new):
                self.consumed.index_write_units += write_units(entry, None)
            w.table.write(w.key, w.new)
            if w.old != w.new:
                self.consumed.changes.append(Change(w.table.key_item(w.new or w.old or {}), w.old, w.new))


@dataclass(frozen=True)
class _Write:
    table: MemoryTable
    key: Item
    old: Item | None
    new: Item | None
    ok: bool
    checks_only: bool = False


class _Raw:
    """The raw HTTP body botocore reads a response from."""

    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._payload
