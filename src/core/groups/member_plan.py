"""Turn a Group PatchOp into (a) a PatchOp for the group's own attributes and (b) member changes.

Members are not part of the stored group document (each is its own item), so membership
operations are planned here, in order, against a set of member ids instead of being applied to
a list. Shapes handled (each IdP named where it is the source of a shape):

- ``add`` with path ``members`` and a value list (Okta, Entra ``Add``, OneLogin, JumpCloud); the
  value is an array of at least one member (an empty one, or one object, is ``invalidValue``);
- ``remove`` with path ``members[value eq "<id>"]`` (Okta, Entra);
- ``remove`` with path ``members`` and a value list: removes ONLY the listed members (Entra's
  older form; emptying the group here is the most reported SCIM bug in the wild);
- ``remove`` with path ``members`` and no value: removes every member (RFC 7644 §3.5.2.2);
- ``replace`` with path ``members``: the list becomes the membership; ``[]`` empties the group
  (Okta "push now");
- path-less ``add``/``replace`` whose value has a ``members`` key (treated as the two above), and
  whose other keys (``displayName``, Okta's echoed ``id``) go to the ordinary PATCH engine.
- any other value filter on ``members`` (``members[type eq "Group"]``) is evaluated against the
  current members.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import InvalidValue, Mutability
from core.filter import matches, member_value_lookup
from core.filter.ast import PatchPath
from core.filter.parser import parse_patch_path
from core.patch import PatchOperation, parse_operations
from core.patch.paths import resolve_target
from core.schema.model import Schema
from core.schema.urns import PATCH_OP_SCHEMA

MAX_MEMBERS_PER_REQUEST = 10_000


@dataclass(frozen=True, slots=True)
class MemberRef:
    value: str
    type: str | None = None  # "User" or "Group" when the client said so
    display: str | None = None


@dataclass
class MemberPlan:
    """The net effect of a request's member operations, applied in order."""

    replace_all: dict[str, MemberRef] | None = None  # set when the request fixes the whole list
    adds: dict[str, MemberRef] = field(default_factory=dict)
    removes: set[str] = field(default_factory=set)
    filtered_removals: list[Callable[[Mapping[str, Any]], bool]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.replace_all is None and not self.adds and not self.removes and not self.filtered_removals

    def add(self, refs: Sequence[MemberRef]) -> None:
        for ref in refs:
            if self.replace_all is not None:
                self.replace_all[ref.value] = ref
            else:
                self.adds[ref.value] = ref
                self.removes.discard(ref.value)

    def remove(self, ids: Sequence[str]) -> None:
        for member_id in ids:
            if self.replace_all is not None:
                self.replace_all.pop(member_id, None)
            else:
                self.removes.add(member_id)
                self.adds.pop(member_id, None)

    def replace(self, refs: Sequence[MemberRef]) -> None:
        self.replace_all = {r.value: r for r in refs}
        self.adds.clear()
        self.removes.clear()
        self.filtered_removals.clear()


@dataclass(frozen=True, slots=True)
class GroupPatch:
    attribute_patch: dict[str, Any] | None  # a PatchOp body for the group's own attributes
    members: MemberPlan


def member_refs(value: Any) -> list[MemberRef]:
    """Validate a ``members`` value: a list (or one object) of ``{"value": id, "type"?: …}``."""
    items = value if isinstance(value, list) else [value] if isinstance(value, Mapping) else None
    if items is None:
        raise InvalidValue("'members' must be a list of objects with a 'value'.")
    if len(items) > MAX_MEMBERS_PER_REQUEST:
        raise InvalidValue(f"At most {MAX_MEMBERS_PER_REQUEST} members may be changed in one request.")
    refs: list[MemberRef] = []
    for item in items:
        if item is None:
            continue
        if not isinstance(item, Mapping):
            raise InvalidValue("Each member must be an object with a 'value'.")
        lowered = {str(k).lower(): v for k, v in item.items()}
        member_id = lowered.get("value")
        if not isinstance(member_id, str) or not member_id.strip() or len(member_id) > 256:
            raise InvalidValue("Each member needs a 'value': the id of a User or Group of this tenant.")
        kind = lowered.get("type")
        if kind is not None and (not isinstance(kind, str) or kind.lower() not in {"user", "group"}):
            raise InvalidValue("A member's 'type' must be 'User' or 'Group'.")
        display = lowered.get("display")
        refs.append(
            MemberRef(
                member_id,
                kind.capitalize() if isinstance(kind, str) else None,
                display[:256] if isinstance(display, str) and display else None,
            )
        )
    return refs


def _patch_member_refs(op: str, value: Any) -> list[MemberRef]:
    """The members a PATCH operation lists: an array (RFC 7643 §2.4), as the engine requires of any
    multi-valued attribute. ``replace`` with null or [] empties the group (Okta's push of an empty
    membership); ``add`` and a ``remove`` that carries a value must list at least one member, as an
    empty list would change nothing (an "add" of no value is invalidValue in the engine too)."""
    if value is None and op == "replace":
        return []
    if not isinstance(value, list):
        raise InvalidValue(f"'members' in a PATCH \"{op}\" must be an array of objects with a 'value'.")
    refs = member_refs(value)
    if not refs and op != "replace":
        raise InvalidValue(
            f"'members' is given no value: \"{op}\" needs at least one member (to remove every member, "
            'send "remove" without a "value").'
        )
    return refs


def _is_members_key(key: str) -> bool:
    lowered = key.lower()
    return lowered == "members" or lowered.endswith(":members")


def plan(body: Any, schemas: Sequence[Schema]) -> GroupPatch:
    operations = parse_operations(body)
    attribute_ops: list[dict[str, Any]] = []
    members = MemberPlan()
    for operation in operations:
        if operation.path is None:
            _pathless(operation, attribute_ops, members)
        elif resolve_target(schemas, operation.path).attribute.name == "members":
            _member_op(operation, members)
        else:
            attribute_ops.append({"op": operation.op, "path": operation.path, "value": operation.value})
    patch = {"schemas": [PATCH_OP_SCHEMA], "Operations": attribute_ops} if attribute_ops else None
    return GroupPatch(patch, members)


def _pathless(operation: PatchOperation, attribute_ops: list[dict[str, Any]], members: MemberPlan) -> None:
    value = operation.value
    if not isinstance(value, Mapping) or not value:
        attribute_ops.append({"op": operation.op, "value": value})  # the engine reports the error
        return
    rest = {k: v for k, v in value.items() if not _is_members_key(str(k))}
    for key, member_value in value.items():
        if _is_members_key(str(key)):
            refs = _patch_member_refs(operation.op, member_value)
            if operation.op == "replace":
                members.replace(refs)
            else:
                members.add(refs)
    if rest:
        attribute_ops.append({"op": operation.op, "value": rest})


def _member_op(operation: PatchOperation, members: MemberPlan) -> None:
    assert operation.path is not None
    patch_path: PatchPath = parse_patch_path(operation.path)
    if patch_path.sub_attr is not None:
        # RFC 7643 §4.2: the sub-attributes of members are immutable.
        raise Mutability("Members cannot be edited in place; remove and add them instead.")
    if patch_path.value_filter is not None:
        if operation.op != "remove":
            raise Mutability("Members cannot be edited in place; remove and add them instead.")
        member_id = member_value_lookup(patch_path)
        if member_id is not None:
            members.remove([member_id])
        else:
            members.filtered_removals.append(_selector(patch_path))
        return
    if operation.op == "add":
        members.add(_patch_member_refs("add", operation.value))
    elif operation.op == "replace":
        members.replace(_patch_member_refs("replace", operation.value))
    elif operation.value is not None:  # Entra: remove with a value list removes just those
        members.remove([ref.value for ref in _patch_member_refs("remove", operation.value)])
    else:
        members.replace([])


def _selector(patch_path: PatchPath) -> Callable[[Mapping[str, Any]], bool]:
    value_filter = patch_path.value_filter
    assert value_filter is not None
    return lambda member: matches(value_filter, member)
