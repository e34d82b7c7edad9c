"""The Group resource service (RFC 7643 §4.2, RFC 7644 §3.3–3.6) with members as separate items.

Members are stored one item per (group, member) (`core.store.memberships_table`); the group
item holds only the group's own attributes. Reads that do not want `members` (Entra's
``excludedAttributes=members``) never touch the member items.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from core.errors import InvalidValue, NotFound, ScimError
from core.groups.member_plan import MemberPlan, MemberRef, member_refs, plan
from core.patch import apply_patch
from core.profile_rules import require_groups
from core.query.listing import ListResult
from core.query.request import SearchRequest
from core.representation import check_if_match, location, patch_input
from core.resource.normalize import normalize_resource
from core.resource_service import Caller, ResourceService
from core.roles import RoleService, facts, mappings_matching, uses_roles
from core.store.keys import Kind
from core.store.memberships_table import Member, MembershipTable
from core.store.resources_table import Actor, StoredResource

# Members returned inline by a group read. Larger groups are read with
# GET /Users?filter=groups.value eq "<id>" (paged); see docs/scim.md.
MAX_INLINE_MEMBERS = 10_000
FIRST_CHUNK = 95  # member items written in the group's create transaction (100-item limit)


_MemberChanges = tuple[list[Member], list[Member]]  # (to add, to remove)
# Starts the tenant's resumable role recompute (core.role_recompute, with its worker): the handlers
# bind core.role_recompute.start_job to the worker's Invoke. None: no worker here (roles stay as computed).
RecomputeStarter = Callable[[str], object]


@dataclass(frozen=True, slots=True)
class GroupView:
    group: StoredResource
    members: list[Member] | None  # None: not read (projection excluded them, or too many)


class GroupService(ResourceService):
    kind = Kind.GROUP
    resource_type = "Group"
    name_attribute = "displayName"

    def __init__(
        self, *args: Any, start_role_recompute: RecomputeStarter | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._start_role_recompute = start_role_recompute

    @property
    def _members(self) -> MembershipTable:
        return self.memberships

    # -- reads -------------------------------------------------------------------------------
    def view(self, caller: Caller, group: StoredResource, with_members: bool) -> GroupView:
        if not with_members:
            return GroupView(group, None)
        members = self._members.members(caller.tenant_id, group.id, limit=MAX_INLINE_MEMBERS + 1)
        return GroupView(group, None if len(members) > MAX_INLINE_MEMBERS else members)

    # -- writes ------------------------------------------------------------------------------
    def create(self, caller: Caller, body: Any) -> GroupView:
        require_groups(caller.profile)
        doc = normalize_resource(body, self.schemas_for(caller), mode="create")
        refs = member_refs(doc.pop("members", []))
        group = self.new_resource(caller, doc)
        members = self._resolve(caller, refs, group.id)
        first, rest = members[:FIRST_CHUNK], members[FIRST_CHUNK:]
        puts = [
            {"Put": {"TableName": self._table_name, "Item": item}}
            for item in self._members.items(
                caller.tenant_id, group.id, group.name, first, caller.actor(group.created)
            )
        ]
        nested = sum(1 for m in first if m.member_type == "Group")
        if nested:
            puts.append(self._members.nested_update(caller.tenant_id, nested))
        self.table.create(group, puts)
        if rest:  # very large initial lists: the rest in further transactions
            try:
                group = self._write_members(caller, group, rest, [], at=group.created)
            except ScimError:
                # A create is all or nothing: a group left with part of its members would look
                # complete to the IdP's retry (409). Undo it; the retried POST starts afresh.
                self.delete(caller, group.id, None)
                raise
        # The first chunk's users (the rest's were recomputed as they were written).
        self._recompute_roles(caller, group, first, caller.actor(group.created))
        return GroupView(group, members)

    def replace(self, caller: Caller, group_id: str, body: Any, if_match: str | None) -> StoredResource:
        require_groups(caller.profile)
        existing = self.get(caller, group_id)
        check_if_match(if_match, existing)
        first = normalize_resource(body, self.schemas_for(caller), mode="replace", existing=existing.document)
        current = self._members.members(caller.tenant_id, group_id, limit=MAX_INLINE_MEMBERS + 1)
        if len(current) > MAX_INLINE_MEMBERS and "members" not in first:
            raise InvalidValue(
                f"This group has more than {MAX_INLINE_MEMBERS} members; change its membership with PATCH."
            )
        wanted = MemberPlan()
        wanted.replace(member_refs(first.get("members", [])))
        # Validated before anything is written: an unknown member leaves the group untouched.
        to_add, to_remove = self._member_changes(caller, group_id, wanted, current)

        def change(existing: StoredResource) -> tuple[dict[str, Any], str | None]:
            doc = normalize_resource(
                body, self.schemas_for(caller), mode="replace", existing=existing.document
            )
            doc.pop("members", None)
            return doc, None

        before, after = self.write(caller, group_id, if_match, change)
        after = self._write_members(caller, after, to_add, to_remove)
        self._after_rename(caller, before, after)
        return after

    def patch(
        self, caller: Caller, group_id: str, body: Mapping[str, Any], if_match: str | None
    ) -> StoredResource:
        require_groups(caller.profile)
        group_patch = plan(body, self.schemas_for(caller))
        before, changes = self._read_for_patch(caller, group_id, group_patch.members, if_match)
        after = before
        if group_patch.attribute_patch is not None:
            attribute_patch = group_patch.attribute_patch

            def change(existing: StoredResource) -> tuple[dict[str, Any], str | None]:
                result = apply_patch(patch_input(existing), attribute_patch, self.schemas_for(caller))
                doc = normalize_resource(
                    result.resource, self.schemas_for(caller), mode="replace", existing=existing.document
                )
                doc.pop("members", None)
                return doc, None

            before, after = self.write(caller, group_id, if_match, change)
        after = self._write_members(caller, after, *changes)
        self._after_rename(caller, before, after)
        return after

    def _read_for_patch(
        self, caller: Caller, group_id: str, wanted: MemberPlan, if_match: str | None
    ) -> tuple[StoredResource, _MemberChanges]:
        """The group and its (members to add, members to remove), validated before anything is
        written: an unknown member leaves the group untouched."""
        if wanted.empty or wanted.replace_all is not None or wanted.filtered_removals:
            group = self.get(caller, group_id)
            check_if_match(if_match, group)
            return group, ([], []) if wanted.empty else self._member_changes(caller, group_id, wanted, None)
        # Named adds and removals (Okta, Entra): the group and every member check in one call.
        adds = builtins.list(wanted.adds.values())
        checks = self._members.group_with_checks(
            caller.tenant_id,
            group_id,
            user_ids=[r.value for r in adds if r.type != "Group"],
            member_ids=sorted(wanted.removes),
        )
        if checks.group is None:
            raise NotFound(f"Group {group_id[:64]!r} not found.")
        check_if_match(if_match, checks.group)
        return checks.group, (self._resolve(caller, adds, group_id, checks.users), checks.present)

    def get(self, caller: Caller, resource_id: str) -> StoredResource:
        require_groups(caller.profile)
        return super().get(caller, resource_id)

    def list(self, caller: Caller, request: SearchRequest) -> ListResult:
        require_groups(caller.profile)
        return super().list(caller, request)

    def delete(self, caller: Caller, resource_id: str, if_match: str | None) -> StoredResource:
        # Asked before the delete, while the group and its place among groups still exist: its
        # members (and those of groups nested in it) lose the roles it or an ancestor gave.
        affects_roles = self._affects_roles(caller, [resource_id])
        group = super().delete(caller, resource_id, if_match)
        self._members.delete_all_of_group(caller.tenant_id, resource_id)
        if affects_roles:
            self._recompute_tenant_roles(caller)
        return group

    # -- members -----------------------------------------------------------------------------
    def _member_changes(
        self, caller: Caller, group_id: str, wanted: MemberPlan, current: builtins.list[Member] | None
    ) -> tuple[builtins.list[Member], builtins.list[Member]]:
        """(members to add, members to remove) for `wanted`; raises if any new member is unknown."""
        tenant = caller.tenant_id
        if (wanted.replace_all is not None or wanted.filtered_removals) and current is None:
            current = self._members.members(tenant, group_id)
        if wanted.replace_all is not None:
            assert current is not None
            present = {m.member_id for m in current}
            to_add = [r for r in wanted.replace_all.values() if r.value not in present]
            to_remove = [m for m in current if m.member_id not in wanted.replace_all]
        else:
            to_add = list(wanted.adds.values())
            removed_ids = set(wanted.removes)
            for select in wanted.filtered_removals:
                assert current is not None
                removed_ids |= {
                    m.member_id for m in current if select({"value": m.member_id, "type": m.member_type})
                }
            to_remove = self._known(tenant, group_id, removed_ids, current)
        return self._resolve(caller, to_add, group_id), to_remove

    def _write_members(
        self,
        caller: Caller,
        group: StoredResource,
        add: builtins.list[Member],
        remove: builtins.list[Member],
        at: str | None = None,
    ) -> StoredResource:
        """Write the member changes; returns the group as they left it (its new version and
        lastModified come from the conditional bumps, so no read of the group follows)."""
        if not add and not remove:
            return group
        actor = caller.actor(at or self.clock())
        version = self._members.change_at_version(
            caller.tenant_id, group.id, group.name, actor, group.version, add=add, remove=remove
        )
        if version is None:
            return group  # every step was a no-op: nothing written
        self._recompute_roles(caller, group, [*add, *remove], actor)
        return replace(
            group,
            version=version,
            last_modified=actor.at,
            request_id=actor.request_id,
            token_id=actor.token_id,
        )

    def _recompute_roles(
        self, caller: Caller, group: StoredResource, members: Sequence[Member], actor: Actor
    ) -> None:
        """The effective roles of the users these changes added or removed (core.roles): a constant
        number of calls per user, whatever the group's size; none if the profile maps no roles.

        A nested group added or removed moves the roles of every user under it, however many: not
        walked here, but a tenant-wide recompute job started when the group or one of its
        ancestors is mapped (a bounded number of calls to find out)."""
        if not uses_roles(caller.profile):
            return
        users = [m.member_id for m in members if m.member_type == "User"]
        if users:
            RoleService(self.table, self._members).recompute(
                caller.tenant_id, caller.profile, users, actor, changed_groups=[group.id]
            )
        if any(m.member_type == "Group" for m in members) and self._affects_roles(caller, [group.id], group):
            self._recompute_tenant_roles(caller)

    def _affects_roles(
        self, caller: Caller, group_ids: Sequence[str], known: StoredResource | None = None
    ) -> bool:
        if self._start_role_recompute is None or not caller.profile.role_mappings:
            return False  # not one call for a tenant that maps no roles
        roles = RoleService(self.table, self._members)
        return roles.change_affects_roles(
            caller.tenant_id, caller.profile, group_ids, [facts(known)] if known is not None else []
        )

    def _recompute_tenant_roles(self, caller: Caller) -> None:
        if self._start_role_recompute is not None:
            self._start_role_recompute(caller.tenant_id)

    def _known(
        self, tenant: str, group_id: str, ids: set[str], current: builtins.list[Member] | None
    ) -> builtins.list[Member]:
        """The members among `ids` (removing a non-member is a no-op, not an error)."""
        if current is not None:
            return [m for m in current if m.member_id in ids]
        return self._members.present(tenant, group_id, sorted(ids))

    def _resolve(
        self, caller: Caller, refs: Sequence[MemberRef], group_id: str, users: set[str] | None = None
    ) -> builtins.list[Member]:
        """Every member must be a User or Group of this tenant; otherwise nothing changes (400).

        `users`: which refs not typed "Group" are users, when already read with the group."""
        if any(r.value == group_id for r in refs):
            raise InvalidValue("A group cannot be a member of itself.")
        tenant = caller.tenant_id
        if users is None:
            users = self.table.existing_ids(tenant, Kind.USER, [r.value for r in refs if r.type != "Group"])
        maybe_groups = [
            r.value for r in refs if r.type == "Group" or (r.type is None and r.value not in users)
        ]
        groups = self.table.existing_ids(tenant, Kind.GROUP, maybe_groups) if maybe_groups else set()
        missing = [r.value for r in refs if r.value not in users and r.value not in groups]
        if missing:
            listed = ", ".join(repr(m[:64]) for m in missing[:5])
            raise InvalidValue(
                f"No User or Group with id {listed} exists in this tenant; nothing was changed."
            )
        return [Member(r.value, "User" if r.value in users else "Group", r.display) for r in refs]

    def _after_rename(self, caller: Caller, before: StoredResource, after: StoredResource) -> None:
        if before.name != after.name:
            self._members.rename_group(caller.tenant_id, after.id, after.name)
        # A new displayName or externalId can match a mapping the old did not, or no longer match
        # one: the roles of every user under the group move (no call unless they do).
        profile = caller.profile
        if self._start_role_recompute is not None and mappings_matching(
            profile, facts(before)
        ) != mappings_matching(profile, facts(after)):
            self._recompute_tenant_roles(caller)

    @property
    def _table_name(self) -> str:
        return self.table.table_name


def member_refs_json(caller: Caller, members: list[Member]) -> list[dict[str, Any]]:
    kinds = {"User": Kind.USER, "Group": Kind.GROUP}
    refs = []
    for m in members:
        ref = {"value": m.member_id, "$ref": location(caller.base_url, kinds[m.member_type], m.member_id)}
        ref["type"] = m.member_type
        if m.display:
            ref["display"] = m.display
        refs.append(ref)
    return refs
