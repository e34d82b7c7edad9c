"""moto's DynamoDB, made to hold a real directory: what the local default, the tests and `bench/` share.

moto 5 answers DynamoDB correctly but at a cost that grows with the table, which a 10,000-user
tenant turns into minutes per request and gigabytes of memory (issue 13, docs/architecture.md):

* `TransactWriteItems` deep-copies every table a transaction names, once per transaction item, to
  be able to roll back. Here a transaction copies only the items it touches, before it runs, and a
  failed one puts those items back one by one (and drops the stream records it wrote), which is
  the same all-or-nothing outcome.
* Every `Query`, on the table or on an index, walks every item of the table and sorts what matches.
  Here each partition keeps its sort keys in order and each index keeps its keys in order
  (sorted lists), so a query reads the window it returns: the items after
  `ExclusiveStartKey` that satisfy the key condition, up to `Limit` or 1 MB. moto then filters,
  projects and pages that window with its own code, so the answer is moto's answer, except that
  a page that read `Limit` items always says where it stopped (`LastEvaluatedKey`), as DynamoDB
  does.
* The stream keeps every record forever (DynamoDB keeps 24 hours). Here records older than
  24 hours are dropped, as are records a consumer has handled (`trim_stream`); an iterator pointing
  before the oldest record gets DynamoDB's `TrimmedDataAccessException`.
* moto writes every answer with its model-driven serializer, which costs 100 times what
  `json.dumps` does for the same JSON: a 100-item page took 100 ms. Here the data-plane
  operations' answers are written with `json.dumps` (tests check both agree).
* moto keeps a reference to every item object it ever made (its model-introspection list), so
  memory grew with every write and every read; here DynamoDB's per-request objects are not kept.

`install()` patches moto's classes once per process (idempotent). Only string keys are indexed:
a table or index whose key attributes are not all `S` keeps moto's own query path, which is
correct, only slow. The index is built the first time a table is queried (or when items are
restored from disk, `restore_items`) and kept current by every write path moto has (`PutItem`
and `DeleteItem` on the table, `UpdateItem`'s in-place change, a transaction's rollback), which
also tell `add_change_listener`'s listeners (the local store); `IndexStats` counts what the index
does, for tests.
"""

from __future__ import annotations

import base64
import bisect
import copy
import gc
import inspect
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from moto.core.exceptions import JsonRESTError
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, StreamRecord, StreamShard, Table
from moto.dynamodb.responses import DynamoResult
from moto.dynamodbstreams.models import ShardIterator

STREAM_RETENTION = timedelta(hours=24)  # DynamoDB Streams keeps a record for 24 hours
_MAX_CHAR = "\U0010ffff"  # the greatest code point

_install_lock = threading.Lock()
_installed = False


@dataclass
class IndexStats:
    """What the adapter did since the last reset (process-wide): for tests, not for timing."""

    indexed_queries: int = 0  # queries answered from an index
    fallback_queries: int = 0  # queries left to moto's full walk (non-string keys)
    window_items: int = 0  # items handed to moto's query code: what a query read
    builds: int = 0  # indexes built from a table's items (once per table)
    rollbacks: int = 0  # transactions rolled back item by item
    items_copied: int = 0  # items copied to be able to roll back

    def reset(self) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, 0)


STATS = IndexStats()


@dataclass
class _Settings:
    indexed: bool = True  # False: every query takes moto's own path (tests compare the two)
    fast_json: bool = True  # False: moto's model-driven serializer answers every operation
    verify_json: bool = False  # True: both answer, and they must agree (tests)


_settings = _Settings()


@contextmanager
def unindexed() -> Iterator[None]:
    """Answer queries with moto's own full walk while inside (for differential tests)."""
    previous, _settings.indexed = _settings.indexed, False
    try:
        yield
    finally:
        _settings.indexed = previous


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------- index
@dataclass(frozen=True, slots=True)
class _IndexKeys:
    """One secondary index's key attributes (hash, optional range), as the index sorts them."""

    name: str
    hash_attr: str
    range_attr: str | None


class TableIndex:
    """The sort order of one table's partitions and of each of its secondary indexes.

    A base partition is the sorted range keys of one hash key. A secondary index partition is the
    sorted tuples ``(index range?, table hash, table range)``, the order moto sorts index results
    in. `_entries` remembers where each item is, so that a change replaces its old entries.
    """

    def __init__(self, table: Table, items: Iterable[Item] | None = None) -> None:
        """The index of `items` (default: every item of the table), sorted once."""
        self.table = table
        self.hash_attr: str = table.hash_key_attr
        self.range_attr: str | None = table.range_key_attr
        self.indexes: dict[str, _IndexKeys] = {}
        for index in table.all_indexes():
            keys = _index_keys(index.name, index.schema)
            if keys is not None:
                self.indexes[index.name] = keys
        self._entries: dict[tuple[str, str], list[tuple[str, str, tuple[str, ...]]]] = {}
        base: dict[str, list[str]] = defaultdict(list)
        lists: dict[str, dict[str, list[tuple[str, ...]]]] = {
            name: defaultdict(list) for name in self.indexes
        }
        for item in _every_item(table) if items is None else items:
            h = _string(item.hash_key)
            r = "" if item.range_key is None else _string(item.range_key)
            if h is None or r is None:
                continue
            base[h].append(r)
            for index_name, entry_hash, entry in self._place(item, h, r):
                lists[index_name][entry_hash].append(entry)  # sorted once, below
        self.partitions: dict[str, list[str]] = {h: sorted(keys) for h, keys in base.items()}
        self.index_partitions: dict[str, dict[str, list[tuple[str, ...]]]] = {
            name: {h: sorted(entries) for h, entries in partitions.items()}
            for name, partitions in lists.items()
        }

    def refresh(self, hash_key: DynamoType, range_key: DynamoType | None, item: Item | None) -> None:
        """Make the index agree with the table's current value for this key (None: deleted)."""
        h = _string(hash_key)
        r = "" if range_key is None else _string(range_key)
        if h is None or r is None:
            return
        self._remove_index_entries((h, r))
        base = self.partitions.get(h)
        if item is None:
            if base is not None:
                _discard(base, r)
                if not base:
                    del self.partitions[h]
            return
        if base is None:
            base = self.partitions[h] = []
        _insert(base, r)
        self._add_index_entries(item, h, r)

    def _remove_index_entries(self, key: tuple[str, str]) -> None:
        for index_name, index_hash, entry in self._entries.pop(key, ()):
            partition = self.index_partitions[index_name].get(index_hash)
            if partition is not None:
                _discard(partition, entry)
                if not partition:
                    del self.index_partitions[index_name][index_hash]

    def _add_index_entries(self, item: Item, h: str, r: str) -> None:
        for index_name, entry_hash, entry in self._place(item, h, r):
            _insert(self.index_partitions[index_name].setdefault(entry_hash, []), entry)

    def _place(self, item: Item, h: str, r: str) -> list[tuple[str, str, tuple[str, ...]]]:
        """The item's entry in each secondary index, remembered for when it changes."""
        placed = []
        for keys in self.indexes.values():
            entry_hash, entry = self._index_entry(keys, item, h, r)
            if entry_hash is not None:  # an item without the index's key attributes is not in it
                placed.append((keys.name, entry_hash, entry))
        if placed:
            self._entries[(h, r)] = placed
        return placed

    @staticmethod
    def _index_entry(keys: _IndexKeys, item: Item, h: str, r: str) -> tuple[str | None, tuple[str, ...]]:
        index_hash = _key_string(item, keys.hash_attr)
        if index_hash is None:
            return None, ()
        if keys.range_attr is None:
            return index_hash, (h, r)
        index_range = _key_string(item, keys.range_attr)
        if not index_range:  # moto leaves items with an empty or missing range key out
            return None, ()
        return index_hash, (index_range, h, r)

    # ------------------------------------------------------------------------------------ query
    def window(
        self,
        index_name: str | None,
        hash_value: str,
        *,
        range_comparison: str | None,
        range_values: list[str],
        exclusive_start_key: Mapping[str, Any] | None,
        forward: bool,
        limit: int | None,
    ) -> list[Item]:
        """The items a query reads, in order: after the start key, within the key condition, up to
        `limit` (+1 so that moto sees there is more) or just past the 1 MB page limit."""
        if index_name is None:
            sorted_keys: list[Any] | None = self.partitions.get(hash_value)
            to_item = self._base_item(hash_value)
            start = _start_of(exclusive_start_key, (self.range_attr,)) if self.range_attr else None
        else:
            keys = self.indexes[index_name]
            sorted_keys = self.index_partitions[index_name].get(hash_value)
            to_item = self._index_item
            attrs = (keys.range_attr, self.hash_attr, self.range_attr)
            start = _start_of(exclusive_start_key, tuple(a for a in attrs if a))
        if not sorted_keys:
            return []
        ranged = index_name is None or self.indexes[index_name].range_attr is not None
        low, high = _bounds(sorted_keys, range_comparison, range_values) if ranged else (0, len(sorted_keys))
        if start is not None:
            if forward:
                low = max(low, bisect.bisect_right(sorted_keys, start if index_name else start[0]))
            else:
                high = min(high, bisect.bisect_left(sorted_keys, start if index_name else start[0]))
        positions: Iterable[int] = range(low, high) if forward else range(high - 1, low - 1, -1)
        return list(_take(positions, sorted_keys, to_item, limit))

    def _base_item(self, hash_value: str) -> Any:
        partition = self.table.items[DynamoType({"S": hash_value})]

        def item(range_key: str) -> Item:
            if self.range_attr is None:
                return partition  # type: ignore[return-value]  # a hash-only table's item
            found: Item = partition[DynamoType({"S": range_key})]
            return found

        return item

    def _index_item(self, entry: tuple[str, ...]) -> Item:
        h, r = entry[-2], entry[-1]
        partition = self.table.items[DynamoType({"S": h})]
        if self.range_attr is None:
            return partition  # type: ignore[return-value]  # a hash-only table's item
        found: Item = partition[DynamoType({"S": r})]
        return found


def _insert(keys: list[Any], key: Any) -> None:
    # A sorted list: insertion moves pointers (a few microseconds at 100,000 keys), and a
    # partition of one item, of which a directory has hundreds of thousands, costs one list.
    position = bisect.bisect_left(keys, key)
    if position == len(keys) or keys[position] != key:
        keys.insert(position, key)


def _discard(keys: list[Any], key: Any) -> None:
    position = bisect.bisect_left(keys, key)
    if position < len(keys) and keys[position] == key:
        del keys[position]


def _every_item(table: Table) -> Iterator[Item]:
    """The table's items in no particular order (moto's `all_items` sorts them)."""
    for partition in table.items.values():
        if table.range_key_attr is None:
            yield partition  # type: ignore[misc]  # a hash-only table's item
        else:
            yield from partition.values()


def _index_keys(name: str, schema: list[dict[str, str]]) -> _IndexKeys | None:
    hashes = [k["AttributeName"] for k in schema if k["KeyType"] == "HASH"]
    ranges = [k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"]
    if len(hashes) != 1 or len(ranges) > 1:
        return None  # multi-attribute keys: moto's own path
    return _IndexKeys(name, hashes[0], ranges[0] if ranges else None)


def _key_string(item: Item, attr: str) -> str | None:
    """A string key attribute of the item (without parsing a restored item's attributes)."""
    keys: dict[str, str] | None = item.__dict__.get("_keys")
    if keys is not None:
        return keys.get(attr)
    return _string(item.attrs.get(attr))


def _string(value: DynamoType | None) -> str | None:
    if value is None or value.type != "S":
        return None
    return value.value  # type: ignore[no-any-return]


def _start_of(key: Mapping[str, Any] | None, attrs: tuple[str | None, ...]) -> tuple[str, ...] | None:
    if not key:
        return None
    values = []
    for attr in attrs:
        raw = key.get(attr) if attr else None
        value = raw.get("S") if isinstance(raw, Mapping) else _string(raw) if raw is not None else None
        if not isinstance(value, str):
            return None
        values.append(value)
    return tuple(values)


# A key condition's operator as moto passes it (expression syntax or the legacy name).
_RANGE_OPERATORS: Final = {
    **{name: name for name in ("EQ", "LT", "LE", "GT", "GE", "BETWEEN", "BEGINS_WITH")},
    "=": "EQ",
    "<": "LT",
    "<=": "LE",
    ">": "GT",
    ">=": "GE",
}


def _bounds(keys: list[Any], comparison: str | None, values: list[str]) -> tuple[int, int]:
    """Positions [low, high) whose first key component satisfies the range condition."""
    base = _is_base(keys)

    def at_least(value: str) -> int:  # the first position whose range key is >= value
        return bisect.bisect_left(keys, value if base else (value,))

    def above(value: str) -> int:  # the first position whose range key is > value
        # Every string greater than `value` is at least value + "\0".
        return at_least(value + "\0")

    def prefixed(prefix: str) -> tuple[int, int]:
        end = _prefix_end(prefix)
        return at_least(prefix), len(keys) if end is None else at_least(end)

    if comparison is None:
        return 0, len(keys)
    first = values[0]
    bounds: dict[str, Callable[[], tuple[int, int]]] = {
        "EQ": lambda: (at_least(first), above(first)),
        "LT": lambda: (0, at_least(first)),
        "LE": lambda: (0, above(first)),
        "GT": lambda: (above(first), len(keys)),
        "GE": lambda: (at_least(first), len(keys)),
        "BETWEEN": lambda: (at_least(first), above(values[1])),
        "BEGINS_WITH": lambda: prefixed(first),
    }
    return bounds[_RANGE_OPERATORS[comparison.upper()]]()


def _prefix_end(prefix: str) -> str | None:
    """The least string greater than every string that begins with `prefix` (None: no bound)."""
    stripped = prefix.rstrip(_MAX_CHAR)
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


def _is_base(keys: list[Any]) -> bool:
    return len(keys) == 0 or isinstance(keys[0], str)


def _take(positions: Iterable[int], keys: list[Any], to_item: Any, limit: int | None) -> Iterator[Item]:
    wanted = None if limit is None else limit + 1
    size = 0
    for count, position in enumerate(positions):
        if wanted is not None and count >= wanted:
            return
        item: Item = to_item(keys[position])
        yield item
        size += item.size()
        if wanted is None and size > RESULT_SIZE_LIMIT:
            return


def table_index(table: Table) -> TableIndex:
    index: TableIndex | None = table.__dict__.get("_scim_index")
    if index is None:
        index = TableIndex(table)
        table.__dict__["_scim_index"] = index
        STATS.builds += 1
    return index


ChangeListener = Callable[[Table, DynamoType, "DynamoType | None"], None]
_listeners: list[ChangeListener] = []


def add_change_listener(listener: ChangeListener) -> None:
    """Call `listener(table, hash_key, range_key)` after every change to an item (a write, or a
    rollback putting it back); the item's value is then ``table.get_item(hash_key, range_key)``."""
    _listeners.append(listener)


def remove_change_listener(listener: ChangeListener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _changed(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
    index: TableIndex | None = table.__dict__.get("_scim_index")
    if index is not None:
        index.refresh(hash_key, range_key, table.get_item(hash_key, range_key))
    for listener in _listeners:
        listener(table, hash_key, range_key)


# ---------------------------------------------------------------------------------------- query
class _Window:
    """The table, except that `all_items` is the query's window (moto's query reads only that)."""

    def __init__(self, table: Table, items: list[Item]) -> None:
        self._table = table
        self._items = items

    def all_items(self) -> list[Item]:
        return self._items

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


@dataclass(frozen=True)
class _Query:
    """The arguments of moto's `Table.query` that decide which items it reads."""

    hash_key: DynamoType | None
    range_comparison: str | None
    range_objs: list[DynamoType]
    limit: int | None
    exclusive_start_key: dict[str, Any] | None
    scan_index_forward: bool | None
    index_name: str | None
    hash_key_conditions: list[tuple[str, DynamoType]] | None
    range_key_conditions: list[tuple[str, str, list[DynamoType]]] | None
    filter_kwargs: dict[str, Any]

    @classmethod
    def bind(cls, signature: inspect.Signature, table: Table, args: Any, kwargs: Any) -> _Query:
        bound = signature.bind(table, *args, **kwargs)
        bound.apply_defaults()
        values = bound.arguments
        fields: dict[str, Any] = {name: values.get(name) for name in cls.__dataclass_fields__}
        fields["filter_kwargs"] = values.get("filter_kwargs") or {}
        return cls(**fields)


def _indexed_query(original: Any) -> Any:
    signature = inspect.signature(original)

    def query(self: Table, *args: Any, **kwargs: Any) -> Any:
        request = _Query.bind(signature, self, args, kwargs)
        plan = _plan(self, request) if _settings.indexed else None
        if plan is None:
            STATS.fallback_queries += 1
            return original(self, *args, **kwargs)
        hash_value, range_values = plan
        window = table_index(self).window(
            request.index_name,
            hash_value,
            range_comparison=request.range_comparison,
            range_values=range_values,
            exclusive_start_key=request.exclusive_start_key,
            forward=request.scan_index_forward is not False,
            limit=request.limit,
        )
        STATS.indexed_queries += 1
        STATS.window_items += len(window)
        items, scanned, last_key = original(_Window(self, window), *args, **kwargs)
        if last_key is None and request.limit is not None and len(window) == request.limit:
            # DynamoDB stops when it has read Limit items and returns where it stopped, whether
            # or not more follow ("If LastEvaluatedKey is not empty, it does not necessarily mean
            # that there is more data", Query.Pagination); the window holds no item beyond them.
            last_key = self._get_last_evaluated_key(window[-1], request.index_name)
        return items, scanned, last_key

    return query


def _plan(table: Table, request: _Query) -> tuple[str, list[str]] | None:
    """The (hash value, range values) to read from the index, or None for moto's own path."""
    if request.filter_kwargs or len(request.range_key_conditions or ()) > 1:
        return None  # legacy KeyConditions, or multi-attribute range keys
    comparison = request.range_comparison
    if comparison is not None and comparison.upper() not in _RANGE_OPERATORS:
        return None
    if not _string_keys(table, request.index_name):
        return None
    if request.index_name is None:
        hash_value = _string(request.hash_key)
    else:
        conditions = request.hash_key_conditions or []
        if len(conditions) != 1:
            return None
        hash_value = _string(conditions[0][1])
    range_values = [_string(v) for v in request.range_objs or ()]
    if hash_value is None or any(v is None for v in range_values):
        return None
    return hash_value, [v for v in range_values if v is not None]


def _string_keys(table: Table, index_name: str | None) -> bool:
    types = {a["AttributeName"]: a["AttributeType"] for a in table.attr}
    names = [table.hash_key_attr, table.range_key_attr]
    if index_name is not None:
        index = table_index(table).indexes.get(index_name)
        if index is None:
            return False
        names += [index.hash_attr, index.range_attr]
    return all(types.get(name) == "S" for name in names if name)


# ---------------------------------------------------------------------------------------- writes
def _tracked_put(original: Any) -> Any:
    def put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        item = original(self, item_attrs, *args, **kwargs)
        _changed(self, item.hash_key, item.range_key)
        return item  # type: ignore[no-any-return]

    return put_item


def _tracked_delete(original: Any) -> Any:
    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        item = original(self, hash_key, range_key)
        _changed(self, hash_key, range_key)
        return item  # type: ignore[no-any-return]

    return delete_item


def _tracked_update(original: Any) -> Any:
    # UpdateItem changes the stored item in place, so the index is refreshed after it.
    def update_item(
        self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Item:
        try:
            return original(self, table_name, key, *args, **kwargs)  # type: ignore[no-any-return]
        finally:
            table = self.tables.get(table_name)
            if table is not None:
                hash_key, range_key = _key_of(table, key)
                if hash_key is not None:
                    _changed(table, hash_key, range_key)

    return update_item


def _key_or_none(table: Table, attrs: Mapping[str, Any]) -> tuple[DynamoType | None, DynamoType | None]:
    try:
        return _key_of(table, attrs)
    except (TypeError, ValueError, AttributeError, IndexError, KeyError):
        return None, None  # a malformed key: moto refuses the transaction, there is nothing to save


def _key_of(table: Table, attrs: Mapping[str, Any]) -> tuple[DynamoType | None, DynamoType | None]:
    raw_hash = attrs.get(table.hash_key_attr)
    if raw_hash is None:
        return None, None
    raw_range = attrs.get(table.range_key_attr) if table.range_key_attr else None
    if table.range_key_attr and raw_range is None:
        return None, None
    return DynamoType(raw_hash), None if raw_range is None else DynamoType(raw_range)


# ---------------------------------------------------------------------------------------- transactions
class _TablesAreNotCopied:
    """Stands in for the `copy` module inside moto's DynamoDB backend: `deepcopy` of a table is
    the table itself, so moto's whole-table backup (and its no-op "restore") costs nothing; every
    other copy is a real one. `_item_level_rollback` does the rollback instead."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


@dataclass
class _Before:
    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None


def _touched(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[_Before]:
    """A copy of every item the transaction may change, taken before it runs."""
    before: dict[tuple[str, Any, Any], _Before] = {}
    for entry in transact_items:
        for op_type, op in entry.items():
            if op_type == "ConditionCheck" or not isinstance(op, Mapping):
                continue
            table = backend.tables.get(op.get("TableName", ""))
            attrs = op.get("Item") if op_type == "Put" else op.get("Key")
            if table is None or not isinstance(attrs, Mapping):
                continue
            hash_key, range_key = _key_or_none(table, attrs)
            if hash_key is None or (table.name, hash_key, range_key) in before:
                continue
            current = table.get_item(hash_key, range_key)
            STATS.items_copied += current is not None
            before[(table.name, hash_key, range_key)] = _Before(
                table, hash_key, range_key, copy.deepcopy(current)
            )
    return list(before.values())


def _restore(saved: list[_Before], stream_lengths: Mapping[str, int | None]) -> None:
    for entry in saved:
        table = entry.table
        if entry.range_key is None:
            if entry.item is None:
                table.items.pop(entry.hash_key, None)
            else:
                table.items[entry.hash_key] = entry.item  # type: ignore[assignment]
        elif entry.item is None:
            table.items.get(entry.hash_key, {}).pop(entry.range_key, None)
            if not table.items.get(entry.hash_key, True):
                del table.items[entry.hash_key]
        else:
            table.items[entry.hash_key][entry.range_key] = entry.item
        _changed(table, entry.hash_key, entry.range_key)
    for entry in saved:
        shard = entry.table.stream_shard
        first_new = stream_lengths.get(entry.table.name)
        if shard is not None and first_new is not None:
            # The records of writes that never happened (by sequence number: records that expired
            # meanwhile shifted the list).
            del shard.items[max(0, first_new - shard.starting_sequence_number) :]


def _next_sequence(shard: StreamShard | None) -> int | None:
    return None if shard is None else shard.starting_sequence_number + len(shard.items)


def _item_level_rollback(original: Any) -> Any:
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = _touched(self, transact_items) if len(transact_items) <= 100 else []
        streams = {s.table.name: _next_sequence(s.table.stream_shard) for s in saved}
        try:
            original(self, transact_items)
        except BaseException:
            STATS.rollbacks += 1
            _restore(saved, streams)
            raise

    return transact_write_items


# ---------------------------------------------------------------------------------------- streams
def _bounded_stream(original: Any) -> Any:
    def add(self: StreamShard, old: Item | None, new: Item | None) -> None:
        original(self, old, new)
        _drop_expired(self, _now() - STREAM_RETENTION)

    return add


def _drop_expired(shard: StreamShard, oldest_kept: datetime) -> None:
    expired = 0
    for record in shard.items:
        created = record.record["dynamodb"]["ApproximateCreationDateTime"]
        if _aware(created) >= oldest_kept:
            break
        expired += 1
    _drop_first(shard, expired)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _drop_first(shard: StreamShard, count: int) -> None:
    if count > 0:
        del shard.items[:count]
        shard.starting_sequence_number += count  # later records keep their sequence numbers


def _trimmed_error(original: Any) -> Any:
    def get(self: StreamShard, start: int, quantity: int) -> list[dict[str, Any]]:
        if start < self.starting_sequence_number:
            raise JsonRESTError(
                "TrimmedDataAccessException",
                "The operation attempted to read past the oldest stream record in a shard.",
            )
        return original(self, start, quantity)  # type: ignore[no-any-return]

    return get


def trim_stream(table: Table, through: str | int) -> int:
    """Drop the stream records up to sequence number `through`, which a consumer has handled;
    later records keep their sequence numbers. Returns how many were dropped."""
    shard = table.stream_shard
    if shard is None:
        return 0
    handled = max(0, min(int(through) - shard.starting_sequence_number + 1, len(shard.items)))
    _drop_first(shard, handled)
    return handled


def stream_length(table: Table) -> int:
    return 0 if table.stream_shard is None else len(table.stream_shard.items)


# ---------------------------------------------------------------------------------------- restore
def key_attributes(table: Table) -> tuple[str, ...]:
    """Every attribute that is a key of the table or of one of its indexes."""
    names = [table.hash_key_attr, table.range_key_attr]
    for index in table.all_indexes():
        names += [k["AttributeName"] for k in index.schema]
    return tuple(dict.fromkeys(n for n in names if n))


def item_keys(item: Item, attributes: Iterable[str]) -> dict[str, str]:
    """The item's string key attributes, which a restored item keeps unparsed for the index."""
    found = {}
    for attr in attributes:
        value = _key_string(item, attr)
        if value is not None:
            found[attr] = value
    return found


class ItemSource(Protocol):
    """Where a restored item's attributes are, until it is first used (`scimctl.local_store`)."""

    def read(self, hash_key: DynamoType, range_key: DynamoType | None) -> str: ...


class _RestoredItem(Item):
    """An item read back from disk: its attributes are read and parsed the first time they are
    used, so that starting on a 100,000-user store reads keys only (what the index needs)."""

    def __init__(
        self,
        hash_key: DynamoType,
        range_key: DynamoType | None,
        raw: str | None,
        keys: dict[str, str],
        source: ItemSource | None = None,
    ) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        self.__dict__["_raw"] = raw  # None: ask `source`
        self.__dict__["_keys"] = keys
        self.__dict__["_source"] = source

    @property
    def attrs(self) -> LimitedSizeDict:
        state = self.__dict__
        attrs: LimitedSizeDict | None = state.get("_attrs")
        if attrs is None:
            raw = state.pop("_raw")
            source = state.pop("_source")
            if raw is None:
                raw = source.read(self.hash_key, self.range_key)
            attrs = _parsed_attributes(json.loads(raw))
            state["_attrs"] = attrs
            state.pop("_keys", None)
        return attrs

    @attrs.setter
    def attrs(self, value: LimitedSizeDict) -> None:
        self.__dict__["_attrs"] = value
        for name in ("_raw", "_keys", "_source"):
            self.__dict__.pop(name, None)


def _parsed_attributes(raw: Mapping[str, Any]) -> LimitedSizeDict:
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    # The item passed moto's size check when it was written; re-checking per key is quadratic.
    dict.__init__(attrs, {name: DynamoType(value) for name, value in raw.items()})
    return attrs


RestoredRow = tuple[tuple[str, str], "tuple[str, str] | None", dict[str, str], "str | None"]


def _key_type(kind: str, value: str) -> DynamoType:
    # DynamoType's constructor takes the {"S": "x"} form apart; a key is always a scalar.
    key: DynamoType = DynamoType.__new__(DynamoType)
    key.type, key.value = kind, value
    return key


def restore_items(table: Table, rows: Iterable[RestoredRow], source: ItemSource | None = None) -> int:
    """Put items read back from disk into the table, as they were: no stream records, no
    condition checks. Each row is (hash key as (type, value); range key, or None; the item's
    string key attributes; the item's attributes as DynamoDB JSON text, or None: `source` has
    them, read when the item is first used). Returns the count."""
    with _no_collection():
        return _put_back(table, rows, source)


@contextmanager
def _no_collection() -> Iterator[None]:
    # Hundreds of thousands of new objects would trigger full collections that walk all of them
    # again and again; none of them is garbage.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _put_back(table: Table, rows: Iterable[RestoredRow], source: ItemSource | None) -> int:
    hashes: dict[tuple[str, str], DynamoType] = {}
    restored: list[Item] = []
    for raw_hash, raw_range, keys, raw in rows:
        hash_key = hashes.get(raw_hash)
        if hash_key is None:  # one key object per partition, shared by its items
            hash_key = hashes[raw_hash] = _key_type(*raw_hash)
        range_key = None if raw_range is None else _key_type(*raw_range)
        item = _RestoredItem(hash_key, range_key, raw, keys, source)
        if range_key is None:
            table.items[hash_key] = item  # type: ignore[assignment]
        else:
            table.items[hash_key][range_key] = item
        restored.append(item)
    # Built now, from the keys and sorted once, rather than on the first request.
    table.__dict__["_scim_index"] = TableIndex(
        table, restored if len(restored) == _item_count(table) else None
    )
    STATS.builds += 1
    return len(restored)


def _item_count(table: Table) -> int:
    if table.range_key_attr is None:
        return len(table.items)
    return sum(len(partition) for partition in table.items.values())


def load_items(table: Table, items: Iterable[Mapping[str, Any]]) -> int:
    """Put items given as DynamoDB JSON straight into the table, as `restore_items` does: no
    request, no stream records, no condition checks, no change listeners; each item's attributes
    are parsed the first time they are used. For seeding large tables (benchmarks, tests).
    Returns the count."""
    attributes = key_attributes(table)
    hash_attr, range_attr = table.hash_key_attr, table.range_key_attr

    def rows() -> Iterator[RestoredRow]:
        for raw in items:
            keys = {a: v["S"] for a in attributes if (v := raw.get(a)) is not None and "S" in v}
            range_key = _scalar(raw[range_attr]) if range_attr else None
            yield _scalar(raw[hash_attr]), range_key, keys, json.dumps(raw)

    return restore_items(table, rows())


def _scalar(value: Mapping[str, Any]) -> tuple[str, str]:
    ((kind, text),) = value.items()
    return kind, text


# ---------------------------------------------------------------------------------------- responses
# The operations whose answers are written with json.dumps rather than moto's serializer, which
# walks botocore's shape model value by value: 100 ms for a 100-item Query page that json.dumps
# writes in 1 ms, the same JSON. These are the data-plane operations; their answers are
# DynamoDB JSON already (`DynamoResult` turned the items into {type: value}), with binary values
# as bytes, which DynamoDB's JSON protocol sends base64-encoded.
_FAST_OPERATIONS: Final = frozenset(
    {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem"}
    | {"BatchWriteItem", "TransactGetItems", "TransactWriteItems"}
)
_JSON_HEADERS: Final = {"Content-Type": "application/x-amz-json-1.0"}


class SerializerMismatch(AssertionError):
    """`verify_json`: the fast answer and moto's serializer's differ (a test failure)."""


def _fast_json(original: Any) -> Any:
    def execute_result(self: Any, context: Any) -> Any:
        if not _settings.fast_json or context.operation_model.name not in _FAST_OPERATIONS:
            return original(self, context)
        body = json.dumps(_without_none(self.result), default=bytes_as_base64)
        if _settings.verify_json:
            status, headers, expected = original(self, context)
            fast, slow = _parsed(context, body), _parsed(context, expected)
            if (status, headers, slow) != (200, _JSON_HEADERS, fast):
                raise SerializerMismatch(f"{context.operation_model.name}: {fast} != {slow}")
        return 200, dict(_JSON_HEADERS), body

    return execute_result


def _parsed(context: Any, body: str) -> Any:
    """What botocore makes of an answer (members outside the model are not seen by clients)."""
    from botocore.parsers import create_parser  # noqa: PLC0415 - tests only

    response = {"status_code": 200, "headers": dict(_JSON_HEADERS), "body": body.encode()}
    parsed = create_parser("json").parse(response, context.operation_model.output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def _without_none(result: Any) -> Any:
    # moto's serializer leaves unset members out; a null would reach botocore as None.
    if isinstance(result, dict):
        return {key: value for key, value in result.items() if value is not None}
    return result


def bytes_as_base64(value: Any) -> Any:
    """`json.dumps`'s `default` for DynamoDB JSON: binary values base64-encoded."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@contextmanager
def verified_json() -> Iterator[None]:
    """Answer with both serializers and require the same JSON while inside (tests)."""
    previous, _settings.verify_json = _settings.verify_json, True
    try:
        yield
    finally:
        _settings.verify_json = previous


# ---------------------------------------------------------------------------------------- install
def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


def install() -> None:
    """Patch moto's DynamoDB classes (once per process)."""
    global _installed  # noqa: PLW0603 - one patch per process
    with _install_lock:
        if _installed:
            return
        Table.query = _indexed_query(Table.query)  # type: ignore[method-assign]
        Table.put_item = _tracked_put(Table.put_item)  # type: ignore[method-assign]
        Table.delete_item = _tracked_delete(Table.delete_item)  # type: ignore[method-assign]
        DynamoDBBackend.update_item = _tracked_update(DynamoDBBackend.update_item)  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = _item_level_rollback(  # type: ignore[method-assign]
            DynamoDBBackend.transact_write_items
        )
        dynamodb_models.copy = _TablesAreNotCopied()  # type: ignore[attr-defined,assignment]
        StreamShard.add = _bounded_stream(StreamShard.add)  # type: ignore[method-assign]
        StreamShard.get = _trimmed_error(StreamShard.get)  # type: ignore[method-assign]
        DynamoResult.execute_result = _fast_json(DynamoResult.execute_result)  # type: ignore[method-assign]
        for model in (Item, StreamRecord, ShardIterator):
            # moto appends every model object it ever makes to a class-level list (for its
            # introspection API) and never lets go: every item written, every copy a query or a
            # transaction makes, every stream record and iterator. These are made per request.
            model.__new__ = _untracked_new  # type: ignore[method-assign]
            model.instances_tracked = []  # type: ignore[union-attr]
        _installed = True
