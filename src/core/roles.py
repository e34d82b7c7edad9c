"""Roles from groups: a user's effective roles, computed from its groups and the tenant profile.

IT admins assign roles by putting users in IdP groups. The profile's `role_mappings` name a group
(by displayName, externalId or id) and a role; a user's effective roles are the roles of every
mapping that matches one of its groups, direct or indirect (a group nested in a mapped group
counts), distinct, ordered by the mappings' priority (lowest first, so ``roles[0]`` is the primary
role); with none, the profile's `default_role` (if any).

They are recomputed for the users a membership change adds or removes (`RoleService.recompute`),
and stored on the user item with the direct groups they came from (`ResourceTable.set_roles`):
every user event carries them, and a change is ``scim.user.roles_changed`` with the previous and
new roles (`core.events.rules`). The reverse index of a user's groups is eventually consistent, so
it only proposes groups: membership is checked on the membership items (consistent reads) and the
write is conditional on what was read (`RoleService._recompute_one`). The cost per user is
constant whatever the size of its groups: a GetItem, a Query of its direct groups (plus one per
nesting level when the tenant nests groups), two BatchGetItems (its memberships, those groups) and
at most one UpdateItem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from core.errors import ServiceUnavailable
from core.profiles import Profile
from core.store.keys import Kind
from core.store.memberships_table import MembershipTable
from core.store.resources_table import Actor, ResourceTable, RolesState, StoredResource

MAX_NESTING_DEPTH = 10  # as a user's `groups` (core.users): deeper chains are not followed
WRITE_ATTEMPTS = 5  # conditional roles writes per user before giving up (503: the IdP retries)


@dataclass(frozen=True, slots=True)
class GroupFacts:
    id: str
    display_name: str
    external_id: str | None


def uses_roles(profile: Profile) -> bool:
    return bool(profile.role_mappings) or profile.default_role is not None


def effective_roles(profile: Profile, groups: Iterable[GroupFacts]) -> list[str]:
    """The pure rule (module docstring)."""
    groups = list(groups)
    matched = sorted(
        (m for m in profile.role_mappings if any(_matches(m.match, m.group, g) for g in groups)),
        key=lambda m: (m.priority, m.role),
    )
    roles = list(dict.fromkeys(m.role for m in matched))
    if not roles and profile.default_role is not None:
        return [profile.default_role]
    return roles


def _matches(match: str, wanted: str, group: GroupFacts) -> bool:
    if match == "id":
        return group.id == wanted
    if match == "externalId":
        return group.external_id == wanted
    return group.display_name.lower() == wanted.lower()  # displayName is unique case-insensitively


def encode(roles: Sequence[str]) -> str:
    return json.dumps(list(roles), separators=(",", ":"), ensure_ascii=False)


def decode(stored: str | None) -> list[str]:
    return [str(r) for r in json.loads(stored)] if stored else []


class RoleService:
    def __init__(self, resources: ResourceTable, memberships: MembershipTable) -> None:
        self._resources = resources
        self._memberships = memberships

    def recompute(
        self,
        tenant_id: str,
        profile: Profile,
        user_ids: Iterable[str],
        actor: Actor,
        *,
        changed_groups: Sequence[str] = (),
    ) -> list[str]:
        """Recompute and store the roles of these users; returns those whose roles changed. Nothing
        (not one call) for a tenant whose profile maps no roles. `changed_groups`: the groups whose
        membership of these users was just written (checked even if the index does not show them
        yet)."""
        if not uses_roles(profile):
            return []
        changed = []
        for user_id in dict.fromkeys(user_ids):
            if self._recompute_one(tenant_id, profile, user_id, actor, changed_groups):
                changed.append(user_id)
        return changed

    def clear(self, tenant_id: str, user_ids: Iterable[str], actor: Actor) -> list[str]:
        """The profile maps no roles any more: take away the roles these users still hold (a
        GetItem each, and an UpdateItem where there are any); returns those whose roles changed.
        Without this, removing every mapping would leave each user's last roles in place."""
        return [
            user_id
            for user_id in dict.fromkeys(user_ids)
            if self._store(tenant_id, user_id, actor, lambda read: ([], read.roles_from))
        ]

    def _recompute_one(
        self, tenant_id: str, profile: Profile, user_id: str, actor: Actor, changed_groups: Sequence[str]
    ) -> bool:
        """The reverse index (a user's groups) is eventually consistent: a membership written a
        moment ago may be missing from it, or one removed still listed. So the index only proposes
        groups; each proposed group, the groups of this change and the groups the stored roles were
        computed from are then checked on the membership items themselves (consistent), and the
        write is conditional on the stored roles being as read (`_store`). Two recomputes of one
        user in a row or at once therefore each see the other's groups, and the later write wins
        only if it saw the earlier one. Constant calls per user: GetItem, Query, BatchGetItem
        (members), BatchGetItem (groups), UpdateItem (none when nothing moved), plus one Query per
        nesting level when the tenant nests groups."""

        def compute(read: RolesState) -> tuple[list[str], str]:
            proposed = {m.group_id for m in self._memberships.groups_of(tenant_id, user_id)}
            proposed |= set(changed_groups) | set(decode(read.roles_from))
            direct = sorted(self._memberships.groups_among(tenant_id, user_id, proposed))
            nests = bool(direct) and self._memberships.nested_count(tenant_id) > 0
            groups = self._facts(tenant_id, self._with_ancestors(tenant_id, direct) if nests else direct)
            return effective_roles(profile, groups), encode(direct)

        return self._store(tenant_id, user_id, actor, compute)

    def _store(
        self,
        tenant_id: str,
        user_id: str,
        actor: Actor,
        compute: Callable[[RolesState], tuple[list[str], str | None]],
    ) -> bool:
        """Read the user's stored roles, `compute` (roles, the direct groups they come from) from
        what was read, and write them if they moved, conditional on the stored state being as read
        (else read again); True if the roles changed. Nothing (no write, no event) when neither
        moved; a user deleted meanwhile is skipped."""
        for _ in range(WRITE_ATTEMPTS):
            read = self._resources.roles_state(tenant_id, user_id)
            if read is None:
                return False
            roles, came_from = compute(read)
            if roles == decode(read.roles) and came_from == read.roles_from:
                return False
            stored = encode(roles), came_from if came_from is not None else encode([])
            if self._resources.set_roles(tenant_id, user_id, *stored, read=read, actor=actor):
                return roles != decode(read.roles)
        raise ServiceUnavailable("Roles are being recomputed concurrently; retry the request.")

    def change_affects_roles(
        self, tenant_id: str, profile: Profile, group_ids: Sequence[str], known: Sequence[GroupFacts] = ()
    ) -> bool:
        """Whether a change to the users under these groups (a group nested or unnested, deleted,
        renamed) can move anyone's roles: some mapping matches one of them or of their ancestors.
        A bounded number of calls (one Query per ancestor, MAX_NESTING_DEPTH levels, one
        BatchGetItem), whatever the groups' sizes. `known`: groups already read (or deleted)."""
        if not profile.role_mappings:
            return False
        ids = self._with_ancestors(tenant_id, group_ids) - {g.id for g in known}
        return matches_any(profile, [*known, *self._facts(tenant_id, ids)])

    def _with_ancestors(self, tenant_id: str, group_ids: Sequence[str]) -> set[str]:
        seen = set(group_ids)
        frontier = list(seen)
        for _ in range(MAX_NESTING_DEPTH):
            if not frontier:
                break
            parents = [p.group_id for g in frontier for p in self._memberships.groups_of(tenant_id, g)]
            frontier = [p for p in dict.fromkeys(parents) if p not in seen]
            seen.update(frontier)
        return seen

    def _facts(self, tenant_id: str, ids: Iterable[str]) -> list[GroupFacts]:
        wanted = sorted(ids)
        if not wanted:
            return []
        return [facts(g) for g in self._resources.get_many(tenant_id, Kind.GROUP, wanted)]


def facts(group: StoredResource) -> GroupFacts:
    return GroupFacts(group.id, group.name, group.external_id)


def matches_any(profile: Profile, groups: Iterable[GroupFacts]) -> bool:
    groups = list(groups)
    return any(_matches(m.match, m.group, g) for m in profile.role_mappings for g in groups)


def mappings_matching(profile: Profile, group: GroupFacts) -> set[tuple[str, str, str]]:
    """The mappings (match, group, role) this group's attributes satisfy."""
    return {(m.match, m.group, m.role) for m in profile.role_mappings if _matches(m.match, m.group, group)}
