"""Tenant reset: delete a tenant's users, groups and memberships in bounded, resumable batches.

Tokens, the profile, the tenant row and the audit trail stay, so the IdP keeps its Tenant URL and
token and simply provisions again. The reset record (`core.store.reset_records`) is the lock (one
running reset per tenant, a conditional write) and the progress; the work itself keeps no cursor:

* each batch starts again from the beginning of what is left (a Query of the groups' partition,
  then of the users'), so a batch that fails halfway is simply run again: what it deleted is gone,
  what it did not is found again;
* every resource goes through the same delete transaction as a SCIM DELETE (conditional on its
  version; tombstone, uniqueness guard and counters in the same transaction), so each deleted user
  or group yields exactly one ``scim.user.deleted`` / ``scim.group.deleted`` event, even when two
  workers overlap (the second one's transaction fails its condition and deletes nothing);
* groups go first, each drained of its membership items before it is deleted: membership items
  are removed with BatchWriteItem, whose REMOVE records are no events (the group's ``deleted``
  event covers them, as for a SCIM DELETE of a group), so a reset emits no ``member_removed``
  events. Every batch looks at the groups first, so a group the IdP creates meanwhile is drained
  and deleted too, and no membership outlives the reset; users then have none to clean up and go
  `DELETE_MANY` per transaction.

Costs per batch are bounded whatever the tenant's size: one Query and at most `batch_size` users
in `batch_size / DELETE_MANY` transactions, or one page of `drain_size` membership items, then one
UpdateItem of the record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from core.store.keys import Kind
from core.store.memberships_table import MembershipTable
from core.store.reset_records import Progress, ResetRecord, ResetRecords
from core.store.resources_table import DELETE_MANY, Actor, ResourceTable, StoredResource, VersionConflict

__all__ = ["ResetAlreadyRunning", "TenantReset"]

BATCH_SIZE = 100  # users or groups deleted per batch
DRAIN_SIZE = 1000  # membership items removed per batch (one Query page, 40 BatchWriteItem calls)


class ResetAlreadyRunning(Exception):
    def __init__(self, record: ResetRecord) -> None:
        self.record = record
        super().__init__(f"reset {record.reset_id} of tenant {record.tenant_id!r} is running")


@dataclass(frozen=True, slots=True)
class _Batch:
    progress: Progress
    done: bool


class TenantReset:
    def __init__(
        self,
        resources: ResourceTable,
        memberships: MembershipTable,
        records: ResetRecords,
        clock: Callable[[], str],
        *,
        batch_size: int = BATCH_SIZE,
        drain_size: int = DRAIN_SIZE,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._resources = resources
        self._memberships = memberships
        self._records = records
        self._clock = clock
        self._batch_size = batch_size
        self._drain_size = drain_size
        self._new_id = new_id

    def start(self, tenant_id: str, requested_by: str) -> tuple[ResetRecord, bool]:
        """(the running reset, whether this call started it): a reset already running is returned
        as it is (POST /reset is idempotent), a completed one is followed by a new one."""
        now = self._clock()
        record = ResetRecord(
            tenant_id=tenant_id,
            reset_id=self._new_id(),
            status="running",
            phase="groups",
            requested_by=requested_by,
            started_at=now,
            updated_at=now,
        )
        running = self._records.start(record)
        return (record, True) if running is None else (running, False)

    def status(self, tenant_id: str) -> ResetRecord | None:
        return self._records.get(tenant_id)

    def run(self, tenant_id: str, reset_id: str, keep_going: Callable[[int], bool]) -> ResetRecord | None:
        """Run batches while `keep_going(batches run so far)`; returns the record after the last one
        (None if the tenant has no such reset). Raises what a batch raises (ServiceUnavailable): the
        batch is simply run again by the next attempt."""
        record = self._records.get(tenant_id)
        batches = 0
        while record is not None and record.reset_id == reset_id and record.status == "running":
            if not keep_going(batches):
                return record
            batch = self._batch(tenant_id, reset_id)
            if not self._records.advance(tenant_id, reset_id, batch.progress, self._clock(), done=batch.done):
                return self._records.get(tenant_id)  # another worker finished it
            batches += 1
            record = self._records.get(tenant_id)
        return record

    # -- one batch -------------------------------------------------------------------------------
    def _batch(self, tenant_id: str, reset_id: str) -> _Batch:
        # No token made these deletions: the events name the reset instead.
        actor = Actor(request_id=f"reset:{reset_id}", token_id="", at=self._clock())  # nosec B106
        groups = self._resources.page(tenant_id, Kind.GROUP, limit=self._batch_size).items
        if groups:
            return _Batch(self._delete_groups(tenant_id, groups, actor), done=False)
        users = self._resources.page(tenant_id, Kind.USER, limit=self._batch_size).items
        if users:
            deleted = sum(
                self._delete_many(users[i : i + DELETE_MANY], actor)
                for i in range(0, len(users), DELETE_MANY)
            )
            return _Batch(Progress("users", users=deleted), done=False)
        # Page bookmarks point into the deleted partitions: startIndex paging starts afresh.
        more = self._records.clear_bookmarks(tenant_id, self._drain_size)
        return _Batch(Progress("bookmarks" if more else "done"), done=not more)

    def _delete_groups(self, tenant_id: str, groups: list[StoredResource], actor: Actor) -> Progress:
        deleted = removed = 0
        for group in groups:
            drained, more = self._memberships.drain_group(tenant_id, group.id, self._drain_size)
            removed += drained
            if more:  # a large group: its next members in the next batch, before its deletion
                break
            deleted += self._delete(group, actor)
        return Progress("groups", groups=deleted, memberships=removed)

    def _delete_many(self, resources: list[StoredResource], actor: Actor) -> int:
        """Delete them in one transaction; if one changed meanwhile, one by one instead."""
        try:
            self._resources.delete_many(resources, actor)
        except VersionConflict:
            return sum(self._delete(r, actor) for r in resources)
        return len(resources)

    def _delete(self, resource: StoredResource, actor: Actor) -> int:
        """1 if this call deleted it; 0 if it changed or went meanwhile (the next batch sees it)."""
        try:
            self._resources.delete(resource, actor)  # conditional on the version the page read
        except VersionConflict:
            return 0
        return 1
