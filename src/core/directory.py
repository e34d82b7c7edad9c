"""Directory reads for the SaaS backend (the management API's users and groups routes).

One query engine with the SCIM API: filters are parsed, validated against the tenant's schemas
and key-planned by `core.query.listing` (``id``/``userName``/``externalId``/``displayName eq``
read by key), cursors are the SCIM API's signed cursors (`listing.sign_cursor`), and every
resource is the SCIM document `core.representation.to_wire` gives, so a user here is byte for byte
what ``GET /Users/{id}?excludedAttributes=groups`` answers. What differs is the envelope:
``{"data": [...], "next_cursor": ...}`` lists, no ``totalResults``, and a bounded page for every
filter (`ListContext.bounded`): each page costs a constant number of DynamoDB calls whatever the
tenant's size.

Memberships are never inside a document (a group may hold 100,000 members): they are paged lists
of SCIM member references (RFC 7643 §4.2 ``members``, §4.1.2 ``groups``), and a single user or
group read carries the first page of them with the cursor to the rest.

No HTTP, no environment: the handler passes the stores, the SCIM base URL and the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import roles
from core.errors import BadRequest, InvalidFilter
from core.filter import parse_filter, referenced_paths
from core.groups.service import GroupService
from core.management import Page, require_tenant
from core.query.listing import InvalidCursor, ListContext, list_resources, open_cursor, sign_cursor
from core.query.request import SearchRequest
from core.representation import location, to_wire
from core.resource_service import Caller, ResourceService
from core.store.keys import Kind
from core.store.memberships_table import Member, Membership, MembershipTable
from core.store.resources_table import ResourceTable, StoredResource
from core.store.tenants_table import TenantTable
from core.tenants import Tenant
from core.users import UserService

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
INLINE_MEMBERSHIPS = 50  # the first page of a user's groups / a group's members in its read
_MEMBERSHIP_FILTERS = {Kind.USER: "groups", Kind.GROUP: "members"}
_ROUTES = {Kind.USER: "/users/{id}/groups", Kind.GROUP: "/groups/{id}/members"}


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


@dataclass(frozen=True, slots=True)
class Reader:
    """The tenant a read is for, as the SCIM services see a caller (its profile narrows the
    schemas a filter is validated against)."""

    tenant: Tenant
    caller: Caller


class Directory:
    def __init__(
        self,
        tenants: TenantTable,
        resources: ResourceTable,
        memberships: MembershipTable,
        users: UserService,
        groups: GroupService,
        *,
        scim_base_url: str,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._tenants = tenants
        self._resources = resources
        self._memberships = memberships
        self._services: dict[Kind, ResourceService] = {Kind.USER: users, Kind.GROUP: groups}
        self._scim_base_url = scim_base_url.rstrip("/")
        self._now = now

    # -- resources ----------------------------------------------------------------------------
    def reader(self, tenant_id: str) -> Reader:
        """The tenant (404 if unknown or deleted): one GetItem, which also gives its profile."""
        tenant = require_tenant(self._tenants, tenant_id)
        caller = Caller(
            tenant_id=tenant_id,
            token_id="",  # nosec B106 - reads write nothing, so no actor is recorded
            request_id="",
            base_url=f"{self._scim_base_url}/{tenant_id}",
            profile=tenant.profile,
        )
        return Reader(tenant, caller)

    def resources_page(
        self, tenant_id: str, kind: Kind, *, filter_text: str | None, limit: int, cursor: str | None
    ) -> Page:
        """Users or groups in id order, optionally filtered (SCIM filter grammar, RFC 7644
        §3.4.2.2). A filter no key answers may give short (even empty) pages with a next cursor."""
        who = self.reader(tenant_id).caller
        service = self._services[kind]
        text = filter_text.strip() if filter_text else None
        if text:
            _refuse_membership_filter(kind, text)
        ctx = ListContext(
            table=self._resources,
            tenant_id=tenant_id,
            kind=kind,
            schemas=service.schemas_for(who),
            to_wire=lambda r: to_wire(r, who.base_url),
            now=self._now,
            bounded=True,
        )
        # cursor "" asks the engine for cursor paging from the start (RFC 9865 §2.1).
        request = SearchRequest(filter=text or None, count=check_limit(limit), cursor=cursor or "")
        result = list_resources(ctx, request)
        return Page([self.resource_view(who, r) for r in result.resources], result.next_cursor)

    def resource_view(self, who: Caller, resource: StoredResource) -> dict[str, Any]:
        """The one representation of a user or group here: its SCIM document (all attributes,
        extensions included; `meta` as the SCIM API gives it). Extend it here, nowhere else.

        A user also carries `effectiveRoles` (docs/management-api.md, "Roles from groups"): not a
        SCIM attribute, so the SCIM API never shows it. None stored means no membership change
        since the tenant's mappings were set, so no mapped group: the default role, if any."""
        document = to_wire(resource, who.base_url)
        if resource.kind is Kind.USER:
            stored = resource.effective_roles
            document["effectiveRoles"] = (
                roles.decode(stored) if stored is not None else roles.effective_roles(who.profile, [])
            )
        return document

    def user(self, tenant_id: str, user_id: str) -> dict[str, Any]:
        """``{"user": <SCIM User>, "groups": <the first page of its direct groups>}``."""
        who = self.reader(tenant_id).caller
        user = self._resources.require(tenant_id, Kind.USER, user_id)
        groups = self._groups_page(who, user_id, INLINE_MEMBERSHIPS, None)
        return {"user": self.resource_view(who, user), "groups": groups.to_json()}

    def group(self, tenant_id: str, group_id: str) -> dict[str, Any]:
        """``{"group": <SCIM Group without members>, "members": <the first page of members>}``."""
        who = self.reader(tenant_id).caller
        group = self._resources.require(tenant_id, Kind.GROUP, group_id)
        members = self._members_page(who, group_id, INLINE_MEMBERSHIPS, None)
        return {"group": self.resource_view(who, group), "members": members.to_json()}

    # -- memberships --------------------------------------------------------------------------
    def user_groups(self, tenant_id: str, user_id: str, *, limit: int, cursor: str | None) -> Page:
        who = self.reader(tenant_id).caller
        after = self._after(tenant_id, _user_groups_scope(user_id), cursor)
        if after is None:  # a cursor was issued for an existing user; the first page checks
            self._resources.require(tenant_id, Kind.USER, user_id)
        return self._groups_page(who, user_id, check_limit(limit), after)

    def group_members(self, tenant_id: str, group_id: str, *, limit: int, cursor: str | None) -> Page:
        who = self.reader(tenant_id).caller
        after = self._after(tenant_id, _members_scope(group_id), cursor)
        if after is None:
            self._resources.require(tenant_id, Kind.GROUP, group_id)
        return self._members_page(who, group_id, check_limit(limit), after)

    def _groups_page(self, who: Caller, user_id: str, limit: int, after: str | None) -> Page:
        found, last = self._memberships.groups_of_page(who.tenant_id, user_id, limit=limit, after=after)
        data = [_group_ref(who, m) for m in found]
        return Page(data, self._cursor(who.tenant_id, _user_groups_scope(user_id), last))

    def _members_page(self, who: Caller, group_id: str, limit: int, after: str | None) -> Page:
        found, last = self._memberships.members_page(who.tenant_id, group_id, limit=limit, after=after)
        data = [_member_ref(who, m) for m in found]
        return Page(data, self._cursor(who.tenant_id, _members_scope(group_id), last))

    def _cursor(self, tenant_id: str, scope: str, last: str | None) -> str | None:
        return sign_cursor(tenant_id, scope, {"a": last}, self._now()) if last is not None else None

    def _after(self, tenant_id: str, scope: str, cursor: str | None) -> str | None:
        state = open_cursor(tenant_id, scope, cursor, self._now())
        after = state.get("a")
        if cursor and not isinstance(after, str):
            raise InvalidCursor("The cursor is not valid.")
        return after


def _user_groups_scope(user_id: str) -> str:
    return f"USER-GROUPS#{user_id}"


def _members_scope(group_id: str) -> str:
    return f"GROUP-MEMBERS#{group_id}"


def _refuse_membership_filter(kind: Kind, text: str) -> None:
    """``groups``/``members`` are not in the stored documents: filtering on them would silently
    match nothing, so the paged membership routes are named instead (400, not an empty list)."""
    attribute = _MEMBERSHIP_FILTERS[kind]
    if any(p.attr.lower() == attribute for p in referenced_paths(parse_filter(text))):
        raise InvalidFilter(
            f"filter on {attribute!r} is not supported here; read memberships with GET /tenants/{{t}}"
            f"{_ROUTES[kind]}"
        )


def _group_ref(who: Caller, m: Membership) -> dict[str, Any]:
    """RFC 7643 §4.1.2: a user's group, as the SCIM User's ``groups`` attribute spells one."""
    ref: dict[str, Any] = {
        "value": m.group_id,
        "$ref": location(who.base_url, Kind.GROUP, m.group_id),
        "type": "direct",
    }
    if m.group_display:
        ref["display"] = m.group_display
    return ref


def _member_ref(who: Caller, m: Member) -> dict[str, Any]:
    """RFC 7643 §4.2: a group member, as the SCIM Group's ``members`` attribute spells one."""
    kind = Kind.USER if m.member_type == "User" else Kind.GROUP
    ref: dict[str, Any] = {
        "value": m.member_id,
        "$ref": location(who.base_url, kind, m.member_id),
        "type": m.member_type,
    }
    if m.display:
        ref["display"] = m.display
    return ref
