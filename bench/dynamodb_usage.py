"""What each DynamoDB request cost on moto: capacity units by DynamoDB's rules, and item changes.

moto (patched by `scimctl.moto_dynamodb`) answers every request; moto reports placeholder
capacity, so the units are computed here from the items each request read or wrote
(`bench.capacity`), as DynamoDB bills them:

* GetItem and BatchGetItem: each key read costs by the size of the whole stored item (a
  projection does not make a read cheaper; a miss costs the minimum), strongly or eventually
  consistent as the request asks.
* Query: the items it read, summed before rounding; eventually consistent on an index.
* PutItem, UpdateItem, DeleteItem and each item of a BatchWriteItem or TransactWriteItems: the
  larger of the item before and after the request (so a failed condition costs the existing
  item's size, or the minimum); twice in a transaction. A transaction's ConditionCheck is a
  transactional read of the item checked.
* Each secondary index entry put or deleted by a change (a moved index key is both; a changed
  item whose entry stays is one put), by the size of the entry (its projected attributes).

Item changes are the keys the engine reports changed (`moto_dynamodb.add_change_listener`),
each with its value before the request (read just before moto runs it) and after; a key whose
value is the same after as before (a rolled-back transaction, a write of an identical item) is
no change, as DynamoDB Streams records none for it (moto's own stream would hold one). The
changes are what the table's stream (NEW_AND_OLD_IMAGES) carries.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import SecondaryIndex, Table

from bench.capacity import item_size, read_units, write_units
from scimctl import moto_dynamodb

Item = dict[str, Any]  # DynamoDB JSON
Response = Any  # moto's (status, headers, body), or None for a request it does not answer
ItemKey = tuple[str, DynamoType, DynamoType | None]  # table name, hash key, range key
TARGET_PREFIX = "DynamoDB_20120810."
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READS = {"GetItem", "BatchGetItem", "Query"}
# Data-plane requests the service never sends: metering them is not implemented, so they fail.
UNMETERED = {"Scan", "TransactGetItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}


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
    index_write_units: float = 0.0  # secondary index entries written or deleted
    changes: list[Change] = field(default_factory=list)


@dataclass
class _Target:
    """One item a write request names, and its value just before the request."""

    table: Table
    action: str  # Put, Update, Delete or ConditionCheck
    key: ItemKey
    old: Item | None
    transactional: bool


class DynamoDBUsage:
    """Meters the DynamoDB requests moto answers while entered (`answer` wraps moto's handling)."""

    def __init__(self) -> None:
        self.consumed = Consumed()
        self._changed: dict[ItemKey, None] | None = None  # during a request: keys changed, in order

    def __enter__(self) -> DynamoDBUsage:
        moto_dynamodb.add_change_listener(self._on_change)
        return self

    def __exit__(self, *_: object) -> None:
        moto_dynamodb.remove_change_listener(self._on_change)

    def reset(self) -> Consumed:
        consumed, self.consumed = self.consumed, Consumed()
        return consumed

    def _on_change(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        if self._changed is not None:
            self._changed[(table.name, hash_key, range_key)] = None

    def answer(self, request: Any, handle: Callable[[], Response]) -> Response:
        """Run moto's handling of `request` (`handle`) and record what it consumed."""
        operation = _operation(request)
        if operation is None or (operation not in READS and operation not in WRITES):
            if operation in UNMETERED:
                raise NotImplementedError(
                    f"DynamoDB {operation}: capacity is not metered (bench/dynamodb_usage.py)"
                )
            return handle()
        params: dict[str, Any] = json.loads(request.body or b"{}")
        backend = _backend(request)
        targets = _targets(backend, operation, params) if operation in WRITES else []
        self._changed = {}
        try:
            response = handle()
        finally:
            changed, self._changed = self._changed, None
        status, _, body = response
        if operation in READS and status < 300:
            self.consumed.read_units += _read_units(backend, operation, params, body)
        self._written(targets, changed)
        return response

    def _written(self, targets: list[_Target], changed: dict[ItemKey, None]) -> None:
        before = {t.key: t for t in targets}
        for target in targets:
            now = _current(target.table, target.key)
            if target.action == "ConditionCheck":
                size = item_size(target.old)
                self.consumed.read_units += read_units([size], consistent=True, transactional=True)
            else:
                self.consumed.write_units += write_units(target.old, now, transactional=target.transactional)
        for key in changed:
            named = before.get(key)
            if named is None:
                raise AssertionError(f"moto changed {key}, which the request did not name")
            new = _current(named.table, key)
            if new == named.old:
                continue  # rolled back, or written as it was: no stream record in DynamoDB
            for entry in _index_entries_written(named.table, named.old, new):
                self.consumed.index_write_units += write_units(entry, None)
            keys = _primary_key(named.table, new or named.old or {})
            self.consumed.changes.append(Change(keys, named.old, new))


def _operation(request: Any) -> str | None:
    target = request.headers.get("X-Amz-Target")
    if target is None:
        return None
    text = target.decode() if isinstance(target, bytes) else str(target)
    return text.removeprefix(TARGET_PREFIX) if text.startswith(TARGET_PREFIX) else None


def _backend(request: Any) -> DynamoDBBackend:
    host = urlsplit(request.url).hostname or ""
    region = host.split(".")[1] if host.count(".") >= 2 else "us-east-1"
    backend: DynamoDBBackend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]
    return backend


def _key_of(table: Table, attrs: Item) -> ItemKey:
    range_attr = table.range_key_attr
    range_key = DynamoType(attrs[range_attr]) if range_attr else None
    return table.name, DynamoType(attrs[table.hash_key_attr]), range_key


def _current(table: Table, key: ItemKey) -> Item | None:
    """The stored item as DynamoDB JSON (a copy), or None."""
    _, hash_key, range_key = key
    found = table.get_item(hash_key, range_key)
    return None if found is None else copy.deepcopy(found.to_json()["Attributes"])


def _primary_key(table: Table, item: Item) -> Item:
    names = [table.hash_key_attr, table.range_key_attr]
    return {name: item[name] for name in names if name}


def _targets(backend: DynamoDBBackend, operation: str, params: dict[str, Any]) -> list[_Target]:
    """Every item the write request names, with its value now (before moto runs the request)."""
    named: list[tuple[str, str, Item, bool]] = []  # table, action, item or key, transactional
    if operation == "PutItem":
        named.append((params["TableName"], "Put", params["Item"], False))
    elif operation in {"UpdateItem", "DeleteItem"}:
        named.append((params["TableName"], operation.removesuffix("Item"), params["Key"], False))
    elif operation == "BatchWriteItem":
        for table_name, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    named.append((table_name, "Put", request["PutRequest"]["Item"], False))
                else:
                    named.append((table_name, "Delete", request["DeleteRequest"]["Key"], False))
    else:  # TransactWriteItems
        for entry in params["TransactItems"]:
            ((action, body),) = entry.items()
            named.append((body["TableName"], action, body["Item"] if action == "Put" else body["Key"], True))
    targets = []
    for table_name, action, attrs, transactional in named:
        table = backend.get_table(table_name)
        key = _key_of(table, attrs)
        targets.append(_Target(table, action, key, _current(table, key), transactional))
    return targets


def _read_units(backend: DynamoDBBackend, operation: str, params: dict[str, Any], body: Any) -> float:
    if operation == "GetItem":
        table = backend.get_table(params["TableName"])
        found = _current(table, _key_of(table, params["Key"]))
        return read_units([item_size(found)], consistent=bool(params.get("ConsistentRead")))
    if operation == "BatchGetItem":
        units = 0.0
        for table_name, request in params["RequestItems"].items():
            table = backend.get_table(table_name)
            consistent = bool(request.get("ConsistentRead"))
            for key in request["Keys"]:  # each key is read as one GetItem
                units += read_units([item_size(_current(table, _key_of(table, key)))], consistent=consistent)
        return units
    # Query: the items it returned are the items it read, whole (neither filter nor projection).
    if any(params.get(p) for p in ("FilterExpression", "ProjectionExpression", "QueryFilter")) or params.get(
        "Select", "ALL_ATTRIBUTES"
    ) not in {"ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"}:
        raise NotImplementedError(
            "a filtered or projected Query: capacity is not metered (bench/dynamodb_usage.py)"
        )
    items = json.loads(body).get("Items", [])
    consistent = bool(params.get("ConsistentRead")) and not params.get("IndexName")
    return read_units([item_size(i) for i in items], consistent=consistent)


def _index_entries_written(table: Table, old: Item | None, new: Item | None) -> Iterator[Item]:
    """The secondary index entries a change puts or deletes (a moved key is a delete and a put)."""
    for index in table.all_indexes():
        before, after = _index_entry(table, index, old), _index_entry(table, index, new)
        if before is not None and after is not None and before[0] == after[0]:
            if before[1] != after[1]:
                yield after[1]  # the entry stays where it is, with new projected attributes
            continue
        if before is not None:
            yield before[1]
        if after is not None:
            yield after[1]


def _index_entry(table: Table, index: SecondaryIndex, item: Item | None) -> tuple[str, Item] | None:
    """(where the entry sorts, the entry's attributes), or None if the item is not in the index."""
    if item is None:
        return None
    key_names = [k["AttributeName"] for k in index.schema]
    if any(name not in item for name in key_names):
        return None
    table_keys = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
    position = json.dumps([item[n] for n in [*key_names, *table_keys]], sort_keys=True)
    projection = (index.projection or {}).get("ProjectionType", "ALL")
    if projection == "ALL":
        return position, item
    kept = {*key_names, *table_keys}
    if projection == "INCLUDE":
        kept |= set(index.projection.get("NonKeyAttributes", []))
    return position, {k: v for k, v in item.items() if k in kept}
