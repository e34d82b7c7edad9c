"""The local default's data on disk (`scimctl serve --data-dir DIR`): one SQLite file, `DIR/store.sqlite3`.

What it keeps is what the deployed stack keeps in AWS: every DynamoDB item of the stack's table
(tenants, token metadata, profiles, users, groups, memberships, the audit trail), the stack's
Secrets Manager secrets (each tenant's token hashes, the cursor signing key) and the usage plan's
API keys (each tenant's throttling bucket). Authorizer cache entries and stream records are
not kept: a restart is a cold start, and events already published are not published again.

Writes: every item change marks its key (`moto_dynamodb.add_change_listener`), and a background
thread writes the marked items, as they are then, every `FLUSH_SECONDS`, in one SQLite
transaction together with any changed secret or key. A clean stop (Ctrl-C, SIGTERM) writes the
rest. So a `kill -9` loses at most the last second of writes, and SQLite's atomic commit (WAL)
means a store cut short always loads, at its last complete flush. A file that is not such a
store is refused with an error naming it (`StoreError`), never silently replaced.

Reads: at start every row is put back into moto without parsing its attributes
(`moto_dynamodb.restore_items` keeps them as text until first used and builds the indexes from
the key columns), which is what lets a 100,000-user store start in seconds.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from moto.apigateway.models import apigateway_backends
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.secretsmanager.models import secretsmanager_backends

from scimctl import moto_dynamodb
from scimctl.local_aws import AWS_LOCK, LocalAws
from scimctl.template import DEFAULT_ACCOUNT_ID

log = logging.getLogger("scimctl.store")

STORE_FILE: Final = "store.sqlite3"
FORMAT: Final = "1"  # bumped when the schema below changes incompatibly
FLUSH_SECONDS: Final = 1.0

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    tbl TEXT NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL,
    keys TEXT NOT NULL, item TEXT NOT NULL,
    PRIMARY KEY (tbl, pk, sk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL, doc TEXT NOT NULL);
"""


class StoreError(Exception):
    """The data directory cannot be used; the message names the file and what to do."""


@dataclass(frozen=True)
class Loaded:
    items: int
    secrets: int
    api_keys: int

    @property
    def empty(self) -> bool:
        return not (self.items or self.secrets or self.api_keys)


ItemKey = tuple[str, DynamoType, DynamoType | None]
Row = tuple[str, str, str, str | None, str | None]  # table, pk, sk, keys, item (None: deleted)


_SEPARATOR: Final = "\x1f"  # ASCII unit separator: never in a DynamoDB key this stack writes


def _key_text(value: Mapping[str, Any] | None) -> str:
    """A key value ({"S": "x"}) as the store keeps it ("S:x"): a key is S, N or B, all strings."""
    if value is None:
        return ""
    ((kind, text),) = value.items()
    return f"{kind}:{text}"


def _key_value(text: str) -> tuple[str, str] | None:
    if not text:
        return None
    kind, _, value = text.partition(":")
    return kind, value


def _keys_text(keys: Mapping[str, str]) -> str:
    return _SEPARATOR.join(part for pair in keys.items() for part in pair)


def _keys_of(text: str) -> dict[str, str]:
    if not text:
        return {}
    parts = iter(text.split(_SEPARATOR))
    return dict(zip(parts, parts, strict=True))  # name, value, name, value, ...


def store_row(
    table_name: str,
    attributes: Mapping[str, Any],
    hash_attr: str,
    range_attr: str | None,
    keys: Mapping[str, str],
) -> Row:
    """One item as the store keeps it: its primary key, its string key attributes (what the
    index is built from at start, without parsing the item) and its attributes (DynamoDB JSON)."""
    pk = _key_text(attributes[hash_attr])
    sk = _key_text(attributes[range_attr]) if range_attr else ""
    # moto keeps some binary values as bytes; DynamoDB JSON writes them base64-encoded.
    text = json.dumps(attributes, separators=(",", ":"), default=moto_dynamodb.bytes_as_base64)
    return table_name, pk, sk, _keys_text(keys), text


def import_items(
    directory: Path, table_name: str, key_attributes: tuple[str, ...], items: Iterable[Mapping[str, Any]]
) -> int:
    """Write items (DynamoDB JSON) straight into the store in `directory`, as if a running gateway
    had written them: how a benchmark seeds a 100,000-user tenant in seconds. The first of
    `key_attributes` is the table's hash key, the second its range key. Returns the count."""
    store = LocalStore(directory)
    hash_attr, range_attr = key_attributes[0], key_attributes[1] if len(key_attributes) > 1 else None
    rows = (
        store_row(
            table_name,
            item,
            hash_attr,
            range_attr,
            {a: item[a]["S"] for a in key_attributes if "S" in item.get(a, {})},
        )
        for item in items
    )
    count = 0
    for batch in _batches(rows, 5_000):
        store._write(batch, {}, {})
        count += len(batch)
    store._reader.close()
    store._db.close()
    return count


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Reader:
    """A second connection, for the restored items' attributes: read from request threads while
    the writer commits (WAL lets a reader see the last commit)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()

    def item(self, table_name: str, pk: str, sk: str) -> str:
        with self._lock:
            found = self._db.execute(
                "SELECT item FROM items WHERE tbl = ? AND pk = ? AND sk = ?", (table_name, pk, sk)
            ).fetchone()
        if found is None:  # only a change rewrites a row, and a changed item was read first
            raise StoreError(f"{table_name} item {pk} {sk} is missing from its store")
        return str(found[0])

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True)
class _Source:
    """Where one table's restored items read their attributes (`moto_dynamodb.ItemSource`)."""

    reader: _Reader
    table_name: str

    def read(self, hash_key: DynamoType, range_key: DynamoType | None) -> str:
        sk = "" if range_key is None else _key_text(range_key.to_json())
        return self.reader.item(self.table_name, _key_text(hash_key.to_json()), sk)


class LocalStore:
    """Keeps the local stack's data in `directory` while it runs (see the module docstring)."""

    def __init__(self, directory: Path, *, reset: bool = False, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.directory = directory
        self.path = directory / STORE_FILE
        self.flush_seconds = flush_seconds
        directory.mkdir(parents=True, exist_ok=True)
        if reset:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._db = self._open()
        self._reader = _Reader(self.path)
        self._dirty: set[ItemKey] = set()
        self._secret_versions: dict[str, Any] = {}  # of what the file holds: write only changes
        self._api_keys: dict[str, tuple[str, str]] = {}
        self._aws: LocalAws | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()

    # ------------------------------------------------------------------------------------ open
    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; atomic always
            db.executescript(_SCHEMA)
            found = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if found is None:
                db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            elif found[0] != FORMAT:
                raise StoreError(
                    f"{self.path} is a store of format {found[0]}, this scimctl reads format {FORMAT}: "
                    "start with --reset to begin empty (the old file is removed)"
                )
            db.execute("SELECT count(*) FROM items").fetchone()  # reads the file: fails if it is not one
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.path} is not a readable scimctl store ({exc}); move it away, or start with "
                "--reset to begin empty"
            ) from exc
        return db

    # ------------------------------------------------------------------------------------ load
    def load(self, aws: LocalAws) -> Loaded:
        """Put the stored data into the running moto (its resources exist already)."""
        self._aws = aws
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][aws.region]
        items = 0
        for table_name, rows in self._rows_by_table():
            table = backend.tables.get(table_name)
            if table is None:
                log.warning(
                    "%s: table %s is not in template.yaml any more; its items are ignored",
                    self.path,
                    table_name,
                )
                continue
            items += moto_dynamodb.restore_items(table, rows, _Source(self._reader, table_name))
        secrets = self._load_secrets(aws)
        keys = self._load_api_keys(aws)
        with AWS_LOCK:
            # The secrets made at start (a new signing key) but not in the file are written first.
            self._secret_versions = {
                name: version for name, version in self._secret_fingerprint().items() if name in secrets
            }
        return Loaded(items=items, secrets=len(secrets), api_keys=keys)

    def _rows_by_table(self) -> Iterator[tuple[str, list[moto_dynamodb.RestoredRow]]]:
        current: str | None = None
        rows: list[moto_dynamodb.RestoredRow] = []
        # Not the items' attributes: most of the file, read when an item is first used (_Source).
        query = "SELECT tbl, pk, sk, keys FROM items ORDER BY tbl"
        for tbl, pk, sk, keys in self._db.execute(query):
            if tbl != current:
                if current is not None:
                    yield current, rows
                current, rows = tbl, []
            hash_key = _key_value(pk)
            assert hash_key is not None  # the primary key column is never empty
            rows.append((hash_key, _key_value(sk), _keys_of(keys), None))
        if current is not None:
            yield current, rows

    def _load_secrets(self, aws: LocalAws) -> set[str]:
        client = aws.client("secretsmanager")
        existing = set(secretsmanager_backends[DEFAULT_ACCOUNT_ID][aws.region].secrets.keys())
        loaded = set()
        for name, value in self._db.execute("SELECT name, value FROM secrets"):
            if name in existing:  # made at start (the signing key): the stored value wins
                client.put_secret_value(SecretId=name, SecretString=value)
            else:
                client.create_secret(Name=name, SecretString=value)
            loaded.add(name)
        return loaded

    def _load_api_keys(self, aws: LocalAws) -> int:
        client = aws.client("apigateway")
        count = 0
        for name, value, doc in self._db.execute("SELECT name, value, doc FROM api_keys"):
            fields = json.loads(doc)
            key = client.create_api_key(
                name=name,
                value=value,
                enabled=fields["enabled"],
                description=fields.get("description", ""),
                tags=fields.get("tags") or {},
            )
            if aws.usage_plan_id:
                client.create_usage_plan_key(
                    usagePlanId=aws.usage_plan_id, keyId=key["id"], keyType="API_KEY"
                )
            self._api_keys[name] = (value, doc)
            count += 1
        return count

    # ------------------------------------------------------------------------------------ write
    def start(self) -> None:
        """Follow every change from now on and write it every `flush_seconds`."""
        moto_dynamodb.add_change_listener(self._mark)
        self._thread = threading.Thread(target=self._run, name="local-store", daemon=True)
        self._thread.start()

    def _mark(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        self._dirty.add((table.name, hash_key, range_key))

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception:  # the next flush retries: the marks are kept
                log.exception("could not write %s", self.path)

    def flush(self) -> int:
        """Write what changed since the last flush; returns the number of items written."""
        with self._write_lock:
            with AWS_LOCK:  # one consistent moment: no request is half-way through a write
                dirty, self._dirty = self._dirty, set()
                try:
                    rows = [self._row(key) for key in dirty]
                    secrets = self._changed_secrets()
                    api_keys = self._changed_api_keys()
                except BaseException:
                    self._dirty |= dirty
                    raise
            if not (rows or secrets or api_keys):
                return 0
            try:
                self._write(rows, secrets, api_keys)
            except BaseException:
                with AWS_LOCK:
                    self._dirty |= dirty
                raise
            return len(rows)

    def _row(self, key: ItemKey) -> Row:
        table_name, hash_key, range_key = key
        assert self._aws is not None
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][self._aws.region].tables.get(table_name)
        item = None if table is None else table.get_item(hash_key, range_key)
        if table is None or item is None:
            pk, sk = (
                _key_text(hash_key.to_json()),
                "" if range_key is None else _key_text(range_key.to_json()),
            )
            return table_name, pk, sk, None, None
        keys = moto_dynamodb.item_keys(item, moto_dynamodb.key_attributes(table))
        return store_row(
            table_name, item.to_json()["Attributes"], table.hash_key_attr, table.range_key_attr, keys
        )

    def _secret_fingerprint(self) -> dict[str, Any]:
        assert self._aws is not None
        secrets = secretsmanager_backends[DEFAULT_ACCOUNT_ID][self._aws.region].secrets
        return {name: secret.default_version_id for name, secret in secrets.items()}

    def _changed_secrets(self) -> dict[str, str | None]:
        """Secrets whose current version changed since the last flush (None: deleted)."""
        versions = self._secret_fingerprint()
        if versions == self._secret_versions:
            return {}
        assert self._aws is not None
        backend = secretsmanager_backends[DEFAULT_ACCOUNT_ID][self._aws.region]
        changed: dict[str, str | None] = {}
        for name, version in versions.items():
            if self._secret_versions.get(name) != version:
                secret = backend.secrets[name]
                if secret.is_deleted():
                    changed[name] = None
                else:
                    changed[name] = backend.get_secret_value(name, None, None)["SecretString"]  # type: ignore[arg-type]
        for name in self._secret_versions.keys() - versions.keys():
            changed[name] = None
        self._secret_versions = versions
        return changed

    def _changed_api_keys(self) -> dict[str, tuple[str, str]]:
        assert self._aws is not None
        keys = apigateway_backends[DEFAULT_ACCOUNT_ID][self._aws.region].keys
        current = {
            key.name: (
                key.value,
                json.dumps(
                    {"enabled": key.enabled, "description": key.description or "", "tags": key.tags or {}},
                    sort_keys=True,
                ),
            )
            for key in keys.values()
            if key.name
        }
        changed = {name: entry for name, entry in current.items() if self._api_keys.get(name) != entry}
        self._api_keys.update(changed)
        return changed

    def _write(
        self,
        rows: list[Row],
        secrets: Mapping[str, str | None],
        api_keys: Mapping[str, tuple[str, str]],
    ) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?)",
                [r for r in rows if r[4] is not None],
            )
            db.executemany(
                "DELETE FROM items WHERE tbl = ? AND pk = ? AND sk = ?",
                [r[:3] for r in rows if r[4] is None],
            )
            for name, value in secrets.items():
                if value is None:
                    db.execute("DELETE FROM secrets WHERE name = ?", (name,))
                else:
                    db.execute("INSERT OR REPLACE INTO secrets VALUES (?, ?)", (name, value))
            db.executemany(
                "INSERT OR REPLACE INTO api_keys VALUES (?, ?, ?)",
                [(name, value, doc) for name, (value, doc) in api_keys.items()],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------------------------ stop
    def close(self) -> None:
        """Stop following changes and write the rest (a clean stop loses nothing)."""
        with AWS_LOCK:
            moto_dynamodb.remove_change_listener(self._mark)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._aws is not None:
            self.flush()
        self._reader.close()
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
