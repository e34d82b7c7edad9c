"""Keep a local SQLite copy of one tenant's users and group memberships in sync with the stack.

The complete example of docs/consuming-events.md, exercised by
tests/integration/test_consumer_example.py against `scimctl serve`. Needs `botocore` (SigV4, the
management API is AWS_IAM) and `standardwebhooks` (webhook signatures); nothing of this repo.

    python docs/examples/consumer.py --api https://<id>.execute-api.eu-west-1.amazonaws.com/v1 \
        --region eu-west-1 --tenant acme --db acme.sqlite3          # one sync; run it on a timer

What it does (the guide explains why):

1. **First run: back-fill.** Take the feed's current end (`next_cursor` of its last page) *before*
   reading the directory, then copy every user, group and membership from the read API. Events
   journaled meanwhile are after that cursor, so step 2 applies them: nothing falls in between.
2. **Every run: follow the feed** from the stored cursor, page after page, applying each event in
   order. Each row remembers the feed `sequence` of the last event applied to it, and an event
   only changes rows it is newer than; deletions leave tombstones. So reading events again (a
   replay, the feed from its start over the back-fill) never takes the copy back in time, and an
   event whose id is already stored is skipped.
   The cursor and the applied ids are committed with the rows they changed, in one SQLite
   transaction per page: a crash mid-run resumes exactly where the last page ended.
3. **Reconcile** when the feed answers 410 (the cursor is older than the retention) or on demand:
   drop the copy and back-fill again (step 1).
4. **Webhooks** (optional push, for latency): `receive_webhook` verifies a delivery's Standard
   Webhooks signature, drops it if its id was applied, and otherwise syncs from the feed, so
   events are always applied in feed order whatever order the deliveries arrive in.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import Session
from standardwebhooks.webhooks import Webhook

# `seq` is the feed sequence of the last event applied to the row (the back-fill's rows: the feed's
# end when it started); an event is applied to a row only if it is newer. Deleted rows stay as
# tombstones (`deleted` = 1), so that an older event read again never brings them back.
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, user_name TEXT, active INTEGER, document TEXT,
                                  seq INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS groups (id TEXT PRIMARY KEY, display_name TEXT,
                                   seq INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS memberships (group_id TEXT NOT NULL, member_id TEXT NOT NULL,
                                        seq INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
                                        PRIMARY KEY (group_id, member_id));
CREATE TABLE IF NOT EXISTS applied (id TEXT PRIMARY KEY);   -- event ids (idempotencyKey) applied
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class FeedExpired(Exception):
    """The feed answered 410: the cursor is older than EventRetentionDays."""


class ManagementApi:
    """SigV4-signed JSON GETs on the management API (service execute-api)."""

    def __init__(self, base_url: str, region: str, credentials: Credentials | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.region = region
        found = credentials or Session().get_credentials()
        if found is None:
            raise SystemExit("no AWS credentials: configure the SaaS role (AWS_PROFILE, instance role, …)")
        self.credentials = found
        if not self.base_url.startswith(("https://", "http://")):
            raise SystemExit(f"not an http(s) URL: {base_url!r}")

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        request = AWSRequest(method="GET", url=url)
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(request)
        try:
            signed = urllib.request.Request(url, headers=dict(request.headers))  # noqa: S310 - http(s) only
            with urllib.request.urlopen(signed, timeout=30) as response:  # noqa: S310 # nosec B310
                body: dict[str, Any] = json.loads(response.read())
                return body
        except urllib.error.HTTPError as error:
            if error.code == 410:
                raise FeedExpired(error.read().decode()) from None
            raise

    def pages(self, path: str, params: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a directory list (``cursor`` → ``next_cursor`` until it is null)."""
        query = dict(params or {})
        while True:
            page = self.get(path, query)
            yield from page["data"]
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]


class TenantCopy:
    """One tenant's users, groups and memberships in SQLite, kept in sync from the feed."""

    def __init__(self, db_path: str, api: ManagementApi, tenant: str, page_size: int = 100) -> None:
        self.db = sqlite3.connect(db_path)
        self.db.executescript(SCHEMA)
        self.api = api
        self.tenant = tenant
        self.page_size = page_size

    # -- state ---------------------------------------------------------------------------------
    def _state(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_state(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, value))

    # -- 1. back-fill ---------------------------------------------------------------------------
    def backfill(self) -> None:
        """Copy the directory, and remember where the feed was before the copy began."""
        cursor, seq = self._feed_end()
        base = f"/tenants/{quote(self.tenant)}"
        with self.db:  # one transaction: the copy is replaced whole or not at all
            for table in ("users", "groups", "memberships", "applied"):
                self.db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            for user in self.api.pages(f"{base}/users", {"limit": "200"}):
                self._put_user(user, seq)
            for group in self.api.pages(f"{base}/groups", {"limit": "200"}):
                self._put_group(group, seq)
                for member in self.api.pages(f"{base}/groups/{quote(group['id'])}/members", {"limit": "200"}):
                    self._put_membership(group["id"], member["value"], seq, deleted=False)
            self._set_state("cursor", cursor)

    def _feed_end(self) -> tuple[str, int]:
        """The cursor after the newest event, and its sequence: page through without applying."""
        after: str | None = None
        seq = 0
        while True:
            page = self.api.get(f"/tenants/{quote(self.tenant)}/events", self._feed_params(after, 200))
            after = page["next_cursor"]
            if not page["data"]:
                return str(after), seq
            seq = int(page["data"][-1]["sequence"])

    # -- 2. follow the feed ---------------------------------------------------------------------
    def sync(self) -> int:
        """Back-fill on the first run (or after a 410), then apply every new event; returns how many."""
        if self._state("cursor") is None:
            self.backfill()
        try:
            return self._follow()
        except FeedExpired:
            self.backfill()  # 3. reconcile: the events after our cursor may be gone
            return self._follow()

    def _follow(self) -> int:
        applied = 0
        while True:
            page = self.api.get(
                f"/tenants/{quote(self.tenant)}/events", self._feed_params(self._state("cursor"))
            )
            with self.db:  # the page's changes and the new cursor commit together
                for event in page["data"]:
                    applied += self.apply(event)
                self._set_state("cursor", page["next_cursor"])
            if not page["data"]:
                return applied

    def _feed_params(self, after: str | None, limit: int | None = None) -> dict[str, str]:
        params = {"limit": str(limit or self.page_size)}
        if after:
            params["after"] = after
        return params

    def apply(self, event: Mapping[str, Any]) -> int:
        """Apply one feed event ({"id", "sequence", "type", "data"}) to the rows it is newer than;
        1 if it was not applied before. Runs inside the caller's transaction."""
        event_id, seq = str(event["id"]), int(event["sequence"])
        if self.db.execute("SELECT 1 FROM applied WHERE id = ?", (event_id,)).fetchone():
            return 0  # a duplicate: the same page read twice, a retried sync
        kind, data = str(event["type"]), event["data"]
        if kind in (
            "scim.user.created",
            "scim.user.updated",
            "scim.user.deactivated",
            "scim.user.reactivated",
        ):
            self._put_user(data["resource"], seq)
        elif kind == "scim.user.deleted":
            self._tombstone("users", data["resourceId"], seq)
            self._end_memberships("member_id", data["resourceId"], seq)
        elif kind in ("scim.group.created", "scim.group.updated"):
            self._put_group(data["resource"], seq)
        elif kind == "scim.group.deleted":
            self._tombstone("groups", data["resourceId"], seq)
            self._end_memberships("group_id", data["resourceId"], seq)
            self._end_memberships("member_id", data["resourceId"], seq)  # as a nested member
        elif kind in ("scim.group.member_added", "scim.group.member_removed"):
            removed = kind == "scim.group.member_removed"
            self._put_membership(data["group"]["value"], data["member"]["value"], seq, deleted=removed)
        # Other types (scim.tenant.*, scim.token.*) change nothing this copy keeps.
        self.db.execute("INSERT INTO applied (id) VALUES (?)", (event_id,))
        return 1

    # Each write below touches a row only if the event is newer than what the row holds.
    def _put_user(self, user: Mapping[str, Any], seq: int) -> None:
        active = int(user.get("active", True) is not False)
        self.db.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (id) DO UPDATE SET"
            " user_name = excluded.user_name, active = excluded.active, document = excluded.document,"
            " seq = excluded.seq, deleted = 0"
            " WHERE excluded.seq > users.seq",
            (user["id"], user["userName"], active, json.dumps(user), seq),
        )

    def _put_group(self, group: Mapping[str, Any], seq: int) -> None:
        self.db.execute(
            "INSERT INTO groups VALUES (?, ?, ?, 0) ON CONFLICT (id) DO UPDATE SET display_name ="
            " excluded.display_name, seq = excluded.seq, deleted = 0 WHERE excluded.seq > groups.seq",
            (group["id"], group["displayName"], seq),
        )

    def _put_membership(self, group_id: str, member_id: str, seq: int, *, deleted: bool) -> None:
        self.db.execute(
            "INSERT INTO memberships VALUES (?, ?, ?, ?) ON CONFLICT (group_id, member_id) DO UPDATE SET"
            " seq = excluded.seq, deleted = excluded.deleted WHERE excluded.seq > memberships.seq",
            (group_id, member_id, seq, int(deleted)),
        )

    def _tombstone(self, table: str, resource_id: str, seq: int) -> None:
        self.db.execute(
            f"INSERT INTO {table} (id, seq, deleted) VALUES (?, ?, 1) ON CONFLICT (id) DO UPDATE SET"  # noqa: S608
            f" seq = excluded.seq, deleted = 1 WHERE excluded.seq > {table}.seq",
            (resource_id, seq),
        )

    def _end_memberships(self, column: str, resource_id: str, seq: int) -> None:
        # The deletion ends every membership of the resource (no member_removed events follow).
        self.db.execute(
            f"UPDATE memberships SET deleted = 1, seq = ? WHERE {column} = ? AND seq < ?",  # noqa: S608
            (seq, resource_id, seq),
        )

    # -- 4. webhooks ----------------------------------------------------------------------------
    def receive_webhook(self, secret: str, headers: Mapping[str, str], body: bytes) -> int:
        """Verify a webhook delivery (Standard Webhooks: webhook-id, webhook-timestamp,
        webhook-signature), then sync from the feed; returns the events applied.

        The push is the signal, the feed is the order: webhooks are retried for a day and so can
        arrive late and out of order (an old `member_added` after its `member_removed`), while the
        feed gives every event once, in order. Raises standardwebhooks' WebhookVerificationError
        for a bad signature or a timestamp more than 5 minutes off: answer 400, apply nothing."""
        payload = Webhook(secret).verify(body, dict(headers))
        event = _event_of(payload)
        if self.db.execute("SELECT 1 FROM applied WHERE id = ?", (event["id"],)).fetchone():
            return 0  # already applied: a redelivery or a replay; no need to read the feed
        return self.sync()

    # -- reading the copy -----------------------------------------------------------------------
    def users(self) -> dict[str, tuple[str, bool]]:
        rows = self.db.execute("SELECT id, user_name, active FROM users WHERE deleted = 0")
        return {uid: (name, bool(active)) for uid, name, active in rows}

    def memberships(self) -> set[tuple[str, str]]:
        rows = self.db.execute("SELECT group_id, member_id FROM memberships WHERE deleted = 0")
        return {(g, m) for g, m in rows}


def _event_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A webhook body as a feed event. The stack's webhooks send the Standard Webhooks payload
    ``{"type", "timestamp", "data"}`` (docs/webhooks.md), whose ``data.idempotencyKey`` is the
    feed's id (and the ``webhook-id``); an EventBridge event (``detail-type``, ``detail``), e.g.
    from an API destination, is read the same way."""
    if "data" in payload and "type" in payload:
        data = payload["data"]
        return {"id": data["idempotencyKey"], "type": payload["type"], "data": data}
    detail = payload["detail"]
    return {"id": detail["idempotencyKey"], "type": payload["detail-type"], "data": detail}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--api", required=True, help="the management API's base URL")
    parser.add_argument("--region", required=True)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--db", required=True, help="the SQLite file of the copy")
    parser.add_argument("--reconcile", action="store_true", help="back-fill again before syncing")
    args = parser.parse_args(argv)
    copy = TenantCopy(args.db, ManagementApi(args.api, args.region), args.tenant)
    if args.reconcile:
        copy.backfill()
    print(f"{copy.sync()} event(s) applied; {len(copy.users())} users, {len(copy.memberships())} memberships")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
