"""The audit trail's record, and a per-request recorder of what each write changed.

An `AuditRecord` answers an IT admin's questions about one write request (or one Bulk operation):
when, which request and token (its id, never the token), what operation on which resource, which
attributes changed, and how it ended (status; scimType and detail for a failure).

`recording()` opens a recorder for the current request (a context variable: one per thread, so
concurrent requests in the local gateway never mix), and the store wrappers in `handlers.audit`
call `note()` after each successful write with the documents before and after (a group's member
changes note themselves: `MembershipTable.change_at_version`, which returns the new version the
wrapper's `change` could not). The handler then knows exactly which attributes a PUT or PATCH
changed without reading the resource again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.resource.diff import changed_attributes

Outcome = Literal["success", "failure"]
MAX_DETAIL = 300  # characters of an error's detail kept: enough to act on, bounded in size


class AuditRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    at: str  # ISO 8601 UTC, millisecond precision: when API Gateway received the request
    request_id: str
    token_id: str
    method: str  # POST, PUT, PATCH, DELETE
    # "User", "Group" (or "Bulk" for a bulk request that failed as a whole); "Tenant" or "Token" for a
    # management write
    resource_type: str
    resource_id: str | None = None
    changed_attributes: tuple[str, ...] = ()
    status: int
    scim_type: str | None = None
    detail: str | None = Field(None, max_length=MAX_DETAIL)
    bulk_index: int | None = None  # the operation's position in a Bulk request
    bulk_id: str | None = None
    # A management API write: the caller's IAM principal ARN (token_id is then empty).
    actor: str | None = None

    @property
    def outcome(self) -> Outcome:
        return "success" if self.status < 400 else "failure"

    @property
    def sort_key(self) -> str:
        # Time first (the partition reads in time order), the request id to be unique, the
        # operation index to keep a Bulk request's operations in request order.
        return f"{self.at}#{self.request_id}#{(self.bulk_index or 0):04d}"


def clip_detail(detail: str | None) -> str | None:
    return None if detail is None else detail[:MAX_DETAIL]


@dataclass(frozen=True, slots=True)
class Change:
    """One write the request made: a resource and the attribute names it changed."""

    resource_type: str  # "User" or "Group"
    resource_id: str
    attributes: tuple[str, ...]
    created: bool = False
    deleted: bool = False


_changes: ContextVar[list[Change] | None] = ContextVar("audit_changes", default=None)


@contextmanager
def recording() -> Iterator[list[Change]]:
    """Collect the changes the code inside makes (nestable: the inner recorder wins)."""
    changes: list[Change] = []
    token = _changes.set(changes)
    try:
        yield changes
    finally:
        _changes.reset(token)


def note(
    resource_type: str,
    resource_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    extra: Sequence[str] = (),
) -> None:
    """Record a successful write (no-op outside `recording()`). A deletion (`after` None) names
    no attributes: the resource is gone, not changed."""
    changes = _changes.get()
    if changes is None:
        return
    names = () if after is None else tuple(sorted({*changed_attributes(before, after), *extra}))
    changes.append(Change(resource_type, resource_id, names, created=before is None, deleted=after is None))


def attributes_of(changes: Sequence[Change], resource_id: str | None) -> tuple[str, ...]:
    """Every attribute name the request changed on one resource."""
    return tuple(sorted({n for c in changes if c.resource_id == resource_id for n in c.attributes}))


def created_id(changes: Sequence[Change], resource_type: str) -> str | None:
    """The id of the resource of that type the request created, if any."""
    return next((c.resource_id for c in changes if c.created and c.resource_type == resource_type), None)
