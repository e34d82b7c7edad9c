"""The User resource service (RFC 7644 §3.3–3.6) and the user's read-only `groups` attribute."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from core import roles
from core.passwords import hash_password
from core.patch import apply_operations, parse_operations
from core.patch.prune import prune_operations
from core.profile_rules import apply_user_rules
from core.profiles import DeleteBehavior
from core.representation import check_if_match, location, patch_input
from core.resource.normalize import normalize_resource
from core.resource_service import Caller, ResourceService
from core.store.keys import Kind
from core.store.resources_table import StoredResource

MAX_NESTING_DEPTH = 10


def _new_secret(password: str | None, existing: StoredResource) -> str | None:
    return hash_password(password) if password else existing.secret


class UserService(ResourceService):
    kind = Kind.USER
    resource_type = "User"
    name_attribute = "userName"

    def get(self, caller: Caller, resource_id: str) -> StoredResource:
        # With the tenant's group-in-group counter in the same call: the `groups` a read or a
        # write answers with then cost one more call (the reverse index), not two.
        return self.table.require_with_nested_count(caller.tenant_id, self.kind, resource_id)

    def current(self, caller: Caller, resource_id: str) -> StoredResource:
        return super().get(caller, resource_id)  # a DELETE answers 204: no `groups`, no counter

    def create(self, caller: Caller, body: Any) -> StoredResource:
        doc = self._normalize(caller, body, None)
        password = doc.pop("password", None)
        user = self.new_resource(caller, doc, hash_password(password) if password else None)
        # A new user is in no group: its roles are the default role, written with the user so the
        # create event and reads carry them (no later roles_changed; core.roles).
        if roles.uses_roles(caller.profile):
            initial = roles.effective_roles(caller.profile, [])
            user = replace(user, effective_roles=roles.encode(initial), roles_from=roles.encode([]))
        self.table.create(user)
        return user

    def replace(self, caller: Caller, user_id: str, body: Any, if_match: str | None) -> StoredResource:
        def change(existing: StoredResource) -> tuple[dict[str, Any], str | None]:
            doc = self._normalize(caller, body, existing.document)
            # Okta updates profiles with GET then a full PUT; a PUT that omits `active` keeps the
            # stored value rather than silently deactivating the user (docs/scim.md).
            if "active" not in doc and "active" in existing.document:
                doc["active"] = existing.document["active"]
            return doc, doc.pop("password", None)

        return self.write(caller, user_id, if_match, change, _new_secret)[1]

    def patch(
        self, caller: Caller, user_id: str, body: Mapping[str, Any], if_match: str | None
    ) -> StoredResource:
        schemas = self.schemas_for(caller)
        operations = parse_operations(body)  # once: a write that meets a conflict runs `change` again
        # Attributes the tenant does not keep are ignored in PATCH as in POST/PUT (docs/scim.md).
        if caller.profile.unknown_attributes == "ignore":
            operations = prune_operations(operations, schemas, self.schemas)
        if not operations:
            existing = self.get(caller, user_id)
            check_if_match(if_match, existing)
            return existing

        def change(existing: StoredResource) -> tuple[dict[str, Any], str | None]:
            result = apply_operations(patch_input(existing), operations, schemas)
            # A tenant on every RFC attribute: what the operations left untouched is canonical.
            doc = self._normalize(caller, result.resource, existing.document, reuse=schemas is self.schemas)
            return doc, doc.pop("password", None)

        return self.write(caller, user_id, if_match, change, _new_secret)[1]

    def delete(self, caller: Caller, resource_id: str, if_match: str | None) -> StoredResource:
        if caller.profile.delete_behavior is DeleteBehavior.DEACTIVATE:
            # The profile keeps deleted users for audit: DELETE deactivates (Poppulo, Oktopost,
            # Loopio), and a later PATCH active=true reactivates.
            def deactivate(existing: StoredResource) -> tuple[dict[str, Any], str | None]:
                return {**existing.document, "active": False}, None

            return self.write(caller, resource_id, if_match, deactivate)[1]
        return super().delete(caller, resource_id, if_match)

    def _normalize(
        self, caller: Caller, body: Any, existing: dict[str, Any] | None, *, reuse: bool = False
    ) -> dict[str, Any]:
        """Schema validation as the tenant's profile narrows it, then the profile's rules."""
        profile = caller.profile
        doc = normalize_resource(
            body,
            self.schemas_for(caller),
            mode="create" if existing is None else "replace",
            existing=existing,
            unknown=profile.unknown_attributes,
            reuse_existing=reuse,
        )
        return apply_user_rules(profile, doc)

    def groups(self, caller: Caller, user: StoredResource | str) -> list[dict[str, Any]]:
        """RFC 7643 §4.1.2: direct and indirect groups, from the reverse membership index.

        `user` is the user as `get` read it (its `nested_groups` spares reading the tenant's
        counter again) or just its id (list pages: the counter is read when needed).
        """
        user_id = user if isinstance(user, str) else user.id
        direct = self.memberships.groups_of(caller.tenant_id, user_id)
        out = [_group_ref(caller, m.group_id, m.group_display, "direct") for m in direct]
        if not direct:
            return out
        nested = None if isinstance(user, str) else user.nested_groups
        if nested is None:
            nested = self.memberships.nested_count(caller.tenant_id)
        if nested == 0:
            return out  # the common case: no group-in-group memberships in this tenant
        seen = {m.group_id for m in direct}
        frontier = list(seen)
        for _ in range(MAX_NESTING_DEPTH):
            parents = [p for gid in frontier for p in self.memberships.groups_of(caller.tenant_id, gid)]
            frontier = []
            for parent in parents:
                if parent.group_id not in seen:
                    seen.add(parent.group_id)
                    frontier.append(parent.group_id)
                    out.append(_group_ref(caller, parent.group_id, parent.group_display, "indirect"))
            if not frontier:
                break
        return out


def _group_ref(caller: Caller, group_id: str, display: str, kind: str) -> dict[str, Any]:
    ref = {"value": group_id, "$ref": location(caller.base_url, Kind.GROUP, group_id), "type": kind}
    if display:
        ref["display"] = display
    return ref
