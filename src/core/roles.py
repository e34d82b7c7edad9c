"""Roles from groups: a user's effective roles, computed from its groups and the tenant profile.

IT admins assign roles by putting users in IdP groups. The profile's `role_mappings` name a group
(by displayName, externalId or id) and a role; a user's effective roles are the roles of every
mapping that matches one of its groups, direct or indirect (a group nested in a mapped group
counts), distinct, ordered by the mappings' priority (lowest first, so ``roles[0]`` is the primary
role); with none, the profile's `default_role` (if any).

They are recomputed for the users a membership change adds or removes (`RoleService.recompute`),
and stored on the user item (`ResourceTable.set_roles`): every user event carries them, and a change
is ``scim.user.roles_changed`` with the previous and new roles (`core.events.rules`). The cost per
user is constant whatever the size of its groups: one Query of its direct groups (plus one per
nesting level when the tenant nests groups), one BatchGetItem of those groups, one UpdateItem.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.profiles import Profile
from core.store.keys import Kind
from core.store.memberships_table import MembershipTable
from core.store.resources_table import Actor, ResourceTable, StoredResource

MAX_NESTING_DEPTH = 10  # as a user's `groups` (core.users): deeper chains are not followed


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

    def recompute(self, tenant_id: str, profile: Profile, user_ids: Iterable[str], actor: Actor) -> list[str]:
        """Recompute and store the roles of these users; returns those whose roles changed. Nothing
        (not one call) for a tenant whose profile maps no roles."""
        if not uses_roles(profile):
            return []
        changed = []
        for user_id in dict.fromkeys(user_ids):
            roles = effective_roles(profile, self._groups_of(tenant_id, user_id))
            if self._resources.set_roles(tenant_id, user_id, encode(roles), actor):
                changed.append(user_id)
        return changed

    def _groups_of(self, tenant_id: str, user_id: str) -> list[GroupFacts]:
        """The user's direct and indirect groups, with the attributes mappings match on."""
        direct = [m.group_id for m in self._memberships.groups_of(tenant_id, user_id)]
        nests = bool(direct) and self._memberships.nested_count(tenant_id) > 0
        seen = self._with_ancestors(tenant_id, direct) if nests else set(direct)
        return self._facts(tenant_id, seen)

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
