"""DynamoDB stream record → provisioning events: the rules, as a pure function over the record.

Every write of the service already leaves in the table what an event needs (who, what, when):
resource items carry their document, version and actor (`requestId`, `tokenId`); a deletion
writes a tombstone with the final document and the deleting actor; a member removal writes a
membership tombstone. So the rules only read stream images:

* INSERT of a user or group item → ``scim.user.created`` / ``scim.group.created``.
* MODIFY of a user item → ``scim.user.deactivated`` when `active` goes true → false,
  ``scim.user.reactivated`` when it goes false → true, else ``scim.user.updated``.
* MODIFY of a group item → ``scim.group.updated``.
* MODIFY of a user whose document did not change but whose effective roles did (`core.roles`) →
  ``scim.user.roles_changed`` with the previous and new roles.
* MODIFY whose document did not change → nothing (a membership change bumps the group's version;
  a password change only replaces its hash).
* REMOVE of a user or group item → nothing: the tombstone written in the same transaction carries
  the final representation and the deleting actor, and its INSERT → ``scim.user.deleted`` /
  ``scim.group.deleted``.
* INSERT of a membership item → ``scim.group.member_added``; INSERT of a membership tombstone (a
  member removed) → ``scim.group.member_removed``.
* Tenant and token items → management events (`core.events.management_rules`).
* Everything else → nothing: uniqueness guards, counters, page bookmarks, idempotency records,
  audit records, expiring tombstones, a membership REMOVE (its group or member was
  deleted: that resource's ``deleted`` event covers it) or MODIFY (a group rename refreshing its
  name on the member items).

A tombstone may be MODIFY rather than INSERT when a resource is deleted twice under one id within
the tombstone's lifetime (ids are UUIDs, so only imported data does that); it is still a deletion.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.events import management_rules
from core.events.models import (
    EventDetail,
    GroupCreated,
    GroupDeleted,
    GroupMemberAdded,
    GroupMemberRemoved,
    GroupRef,
    GroupUpdated,
    MemberRef,
    ProvisioningEvent,
    ResourceEvent,
    ScimResource,
    UserCreated,
    UserDeactivated,
    UserDeleted,
    UserReactivated,
    UserRolesChanged,
    UserUpdated,
)
from core.representation import location, to_wire
from core.resource.diff import changed_attributes
from core.store.keys import Kind
from core.store.resources_table import ROLES_ATTRIBUTE, StoredResource, stored_resource

Image = dict[str, Any]  # DynamoDB JSON: {"attr": {"S": "…"}, …}


class StreamChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    keys: dict[str, dict[str, Any]] = Field(alias="Keys")
    sequence_number: str = Field(alias="SequenceNumber", min_length=1)
    new_image: Image | None = Field(None, alias="NewImage")
    old_image: Image | None = Field(None, alias="OldImage")


class StreamRecord(BaseModel):
    """The parts of a DynamoDB stream record (NEW_AND_OLD_IMAGES) that the rules read."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_name: Literal["INSERT", "MODIFY", "REMOVE"] = Field(alias="eventName")
    dynamodb: StreamChange


@dataclass(frozen=True, slots=True)
class _Change:
    record: StreamRecord
    api_base_url: str  # https://<api>/<stage>/scim/v2, without the tenant

    @property
    def new(self) -> Image:
        return self.record.dynamodb.new_image or {}

    @property
    def old(self) -> Image:
        return self.record.dynamodb.old_image or {}

    def idempotency_key(self) -> str:
        # Keys + sequence number identify one change of one item: a retried or replayed record has
        # the same ones, so it gets the same key; no two changes share one.
        keys = self.record.dynamodb.keys
        parts = [_text(keys, "PK"), _text(keys, "SK"), self.record.dynamodb.sequence_number]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    def base_url(self, tenant_id: str) -> str:
        return f"{self.api_base_url}/{tenant_id}"


def events_for_record(record: Mapping[str, Any], api_base_url: str) -> list[EventDetail]:
    """The events one stream record stands for (zero or one today). Raises for a malformed record
    (pydantic.ValidationError, KeyError, ValueError): that record can never be published."""
    change = _Change(StreamRecord.model_validate(record), api_base_url.rstrip("/"))
    image = change.new or change.old
    rule = _RULES.get((change.record.event_name, _text(image, "kind")))
    event = rule(change) if rule is not None else None
    return [event] if event is not None else []


# -- users and groups ---------------------------------------------------------------------------
_CREATED: dict[Kind, type[ResourceEvent]] = {Kind.USER: UserCreated, Kind.GROUP: GroupCreated}
_DELETED: dict[Kind, type[ResourceEvent]] = {Kind.USER: UserDeleted, Kind.GROUP: GroupDeleted}


def _created(change: _Change) -> ProvisioningEvent:
    res = stored_resource(change.new)
    names = changed_attributes(None, res.document)
    return _resource_event(_CREATED[res.kind], change, res, names, occurred_at=res.created)


def _modified(change: _Change) -> ProvisioningEvent | None:
    before, after = json.loads(_text(change.old, "doc")), stored_resource(change.new)
    if before == after.document:
        previous = _roles(_text(change.old, ROLES_ATTRIBUTE) or None)
        if after.kind is Kind.USER and previous != _roles(after.effective_roles):
            return _resource_event(
                UserRolesChanged,
                change,
                after,
                ["effectiveRoles"],
                occurred_at=after.last_modified,
                previous_roles=previous,
            )
        return None  # only the version moved (a membership change) or the password hash changed
    names = changed_attributes(before, after.document)
    event_type: type[ResourceEvent] = GroupUpdated
    if after.kind is Kind.USER:
        event_type = _user_modification(_active(before), _active(after.document))
    return _resource_event(event_type, change, after, names, occurred_at=after.last_modified)


def _user_modification(was_active: bool, is_active: bool) -> type[ResourceEvent]:
    if was_active and not is_active:
        return UserDeactivated
    if is_active and not was_active:
        return UserReactivated
    return UserUpdated


def _active(doc: Mapping[str, Any]) -> bool:
    # RFC 7643 §4.1.1 gives `active` no default; a user created without it is treated as active,
    # so that a later `active: false` is reported as the deactivation it is.
    return doc.get("active") is not False


def _deleted(change: _Change) -> ProvisioningEvent:
    tombstone = change.new
    res = stored_resource({**tombstone, "kind": tombstone["resourceKind"]})
    deleted_at = _text(tombstone, "deletedAt") or res.last_modified
    return _resource_event(_DELETED[res.kind], change, res, [], occurred_at=deleted_at)


def _resource_event(
    event_type: type[ResourceEvent],
    change: _Change,
    res: StoredResource,
    names: list[str],
    *,
    occurred_at: str,
    **extra: Any,
) -> ProvisioningEvent:
    wire = to_wire(res, change.base_url(res.tenant_id))
    # Defence in depth: the service never stores a password in the document (only its hash,
    # in another attribute), and an event must never carry one even if a future writer did.
    wire = {k: v for k, v in wire.items() if k.lower() != "password"}
    return event_type(
        idempotency_key=change.idempotency_key(),
        tenant_id=res.tenant_id,
        resource_id=res.id,
        occurred_at=occurred_at,
        request_id=res.request_id,
        token_id=res.token_id,
        changed_attributes=[n for n in names if n.lower() != "password"],
        resource=ScimResource.model_validate(wire),
        **({"effective_roles": _roles(res.effective_roles)} if res.kind is Kind.USER else {}),
        **extra,
    )


# -- memberships --------------------------------------------------------------------------------
def _member_added(change: _Change) -> ProvisioningEvent:
    return _member_event(GroupMemberAdded, change)


def _member_removed(change: _Change) -> ProvisioningEvent:
    return _member_event(GroupMemberRemoved, change)


def _member_event(
    event_type: type[GroupMemberAdded | GroupMemberRemoved], change: _Change
) -> ProvisioningEvent:
    item = change.new
    tenant_id, group_id, member_id = _text(item, "tenantId"), _text(item, "groupId"), _text(item, "memberId")
    member_type = "Group" if _text(item, "memberType") == "Group" else "User"
    base = change.base_url(tenant_id)
    return event_type(
        idempotency_key=change.idempotency_key(),
        tenant_id=tenant_id,
        resource_id=group_id,
        occurred_at=_text(item, "at"),
        request_id=_text(item, "requestId"),
        token_id=_text(item, "tokenId"),
        changed_attributes=["members"],
        group=GroupRef(
            value=group_id,
            display=_text(item, "groupDisplay") or None,
            ref=location(base, Kind.GROUP, group_id),
        ),
        member=MemberRef(
            value=member_id,
            type=member_type,
            display=_text(item, "memberDisplay") or None,
            ref=location(base, Kind(member_type.upper()), member_id),
        ),
    )


def _text(image: Mapping[str, Any], name: str) -> str:
    value = image.get(name)
    return str(value.get("S", "")) if isinstance(value, dict) else ""


_Rule = Callable[[_Change], EventDetail | None]
_RULES: dict[tuple[str, str], _Rule] = {
    # Tenants and tokens: core.events.management_rules.
    ("INSERT", "tenant"): management_rules.tenant_created,
    ("MODIFY", "tenant"): management_rules.tenant_modified,
    ("INSERT", "token"): management_rules.token_created,
    ("MODIFY", "token"): management_rules.token_modified,
    ("INSERT", "setup-link"): management_rules.setup_link_created,
    ("MODIFY", "setup-link"): management_rules.setup_link_modified,
    ("INSERT", Kind.USER.value): _created,
    ("INSERT", Kind.GROUP.value): _created,
    ("MODIFY", Kind.USER.value): _modified,
    ("MODIFY", Kind.GROUP.value): _modified,
    ("INSERT", "tombstone"): _deleted,
    ("MODIFY", "tombstone"): _deleted,
    ("INSERT", "membership"): _member_added,
    ("INSERT", "membership-tombstone"): _member_removed,
}


def _roles(stored: str | None) -> list[str]:
    """Effective roles as `core.roles` stores them (a JSON array); absent: none computed yet."""
    return [str(r) for r in json.loads(stored)] if stored else []
