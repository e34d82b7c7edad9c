"""Answering list and search requests from DynamoDB (RFC 7644 §3.4.2, RFC 9865).

Plans, cheapest first:
1. **Key lookup**: a filter whose top-level ``and`` chain has ``id eq``, ``<name> eq``
   (userName / displayName) or ``externalId eq`` reads just those items: one DynamoDB call
   whatever the tenant's size. The whole filter is still evaluated on what was read.
2. **Walk**: no filter, sorted by id (default) or by name: one Query per page, in key order.
   ``startIndex`` paging remembers where each page ended (a bookmark item keyed by the page's
   start), so walking a tenant costs about one item read per user returned instead of re-reading
   every earlier page; ``totalResults`` comes from a counter item kept in the write transactions.
   Cursor paging carries the position in the cursor itself.
3. **Partition read**: any other filter or sort reads the tenant's resources of that kind page
   by page and evaluates the filter in memory; ``totalResults`` is exact.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from core import signing
from core.errors import BadRequest, InvalidValue
from core.filter import And, AttrPath, Compare, Filter, ValuePath, parse_filter
from core.filter.ast import chain_operands
from core.filter.evaluator import matches, validate
from core.limits import CURSOR_TIMEOUT_SECONDS  # re-exported: its home was here
from core.query.attribute_info import attribute_info
from core.query.request import SearchRequest
from core.schema.model import Schema
from core.schema.registry import resolve_path
from core.store.keys import Kind, resources_pk
from core.store.memberships_table import MembershipTable
from core.store.resources_table import ResourceTable, StoredResource

BOOKMARK_TTL_SECONDS = 3600
READ_BATCH = 500
NAME_ATTRIBUTES = {Kind.USER: "userName", Kind.GROUP: "displayName"}


class InvalidCursor(BadRequest):
    """RFC 9865 §2.3: an unknown, tampered or expired cursor is 400 invalidCursor / expiredCursor."""

    scim_type = "invalidCursor"


class ExpiredCursor(InvalidCursor):
    scim_type = "expiredCursor"


@dataclass(frozen=True, slots=True)
class ListResult:
    resources: list[StoredResource]
    total: int
    start_index: int
    next_cursor: str | None = None
    items_read: int = 0


@dataclass(frozen=True, slots=True)
class ListContext:
    table: ResourceTable
    tenant_id: str
    kind: Kind
    schemas: Sequence[Schema]
    to_wire: Callable[[StoredResource], dict[str, Any]]
    memberships: MembershipTable | None = None
    now: Callable[[], float] = time.time
    # Cursor pages without totalResults (the management API's directory reads): a filter that no
    # key answers reads at most FILTER_PAGE_READS Queries per page instead of the whole partition,
    # so a page may hold fewer than `count` matches and still have a next cursor.
    bounded: bool = False


def list_resources(ctx: ListContext, req: SearchRequest) -> ListResult:
    info = attribute_info(ctx.schemas)
    expr = parse_filter(req.filter) if req.filter else None
    if expr is not None:
        validate(expr, info)
    sort_key = _sort_key(ctx, req.sort_by)
    if expr is not None:
        lookup = _key_lookup(ctx, expr)
        if lookup is not None:
            candidates, rest = lookup
            found = [r for r in candidates if rest is None or matches(rest, ctx.to_wire(r), info)]
            return _slice(ctx, req, _sorted(ctx, found, sort_key, req.descending), len(candidates))
    if expr is None and sort_key in {None, "name"}:
        return _walk(ctx, req, by_name=sort_key == "name")
    if ctx.bounded and expr is not None and sort_key is None and req.cursor is not None:
        return _filtered_walk(ctx, req, expr, info)
    everything, read = _read_all(ctx)
    if expr is not None:
        everything = [r for r in everything if matches(expr, ctx.to_wire(r), info)]
    return _slice(ctx, req, _sorted(ctx, everything, sort_key, req.descending), read)


# -- plan 1: keys ---------------------------------------------------------------------------
def _key_lookup(ctx: ListContext, expr: Filter) -> tuple[list[StoredResource], Filter | None] | None:
    """Candidates read by key, and what of the filter is left to evaluate on them."""
    conjuncts = chain_operands(expr) if isinstance(expr, And) else [expr]
    for index, term in enumerate(conjuncts):
        others = conjuncts[:index] + conjuncts[index + 1 :]
        rest: Filter | None = reduce(And, others) if others else None
        membership = _membership_lookup(ctx, term)
        if membership is not None:
            # The membership term was answered by keys; the documents read carry no member lists.
            return membership, rest
        if not (isinstance(term, Compare) and term.op == "eq" and isinstance(term.value, str)):
            continue
        target = _canonical(ctx, term.path)
        if target == "id":
            found = ctx.table.get(ctx.tenant_id, ctx.kind, term.value)
            return ([found] if found else []), expr
        if target == NAME_ATTRIBUTES[ctx.kind]:
            return ctx.table.find_by_name(ctx.tenant_id, ctx.kind, term.value), expr
        if target == "externalId":
            return ctx.table.find_by_external_id(ctx.tenant_id, ctx.kind, term.value), expr
    return None


def _membership_lookup(ctx: ListContext, term: Filter) -> list[StoredResource] | None:
    """``members[value eq "x"]`` / ``members.value eq "x"`` on Groups, ``groups…`` on Users."""
    if ctx.memberships is None:
        return None
    attribute = "members" if ctx.kind is Kind.GROUP else "groups"
    member_id = _value_eq(term, attribute)
    if member_id is None:
        return None
    if ctx.kind is Kind.GROUP:
        ids = [m.group_id for m in ctx.memberships.groups_of(ctx.tenant_id, member_id)]
    else:
        ids = [
            m.member_id for m in ctx.memberships.members(ctx.tenant_id, member_id) if m.member_type == "User"
        ]
    return ctx.table.get_many(ctx.tenant_id, ctx.kind, ids)


def _value_eq(term: Filter, attribute: str) -> str | None:
    if isinstance(term, ValuePath) and term.path.attr.lower() == attribute:
        inner = term.filter
        if isinstance(inner, Compare) and inner.op == "eq" and inner.path.attr.lower() == "value":
            return inner.value if isinstance(inner.value, str) else None
        return None
    if (
        isinstance(term, Compare)
        and term.op == "eq"
        and term.path.attr.lower() == attribute
        and (term.path.sub_attr or "").lower() == "value"
        and isinstance(term.value, str)
    ):
        return term.value
    return None


def _canonical(ctx: ListContext, path: AttrPath) -> str | None:
    if path.sub_attr is not None:
        return None
    resolved = resolve_path(ctx.schemas, f"{path.schema}:{path.attr}" if path.schema else path.attr)
    if resolved is None or resolved.extension or resolved.sub_attribute is not None:
        return None
    return resolved.attribute.name


# -- plan 2: walk in key order ----------------------------------------------------------------
def _walk(ctx: ListContext, req: SearchRequest, *, by_name: bool) -> ListResult:
    total = ctx.table.count(ctx.tenant_id, ctx.kind)
    if req.count == 0:
        return ListResult([], total, req.start_index)
    if req.cursor is not None:
        return _walk_cursor(ctx, req, total, by_name=by_name)
    start_key: dict[str, Any] | None = None
    read = 0
    if req.start_index > 1:
        if req.start_index > total:
            return ListResult([], total, req.start_index)
        start_key = ctx.table.get_bookmark(ctx.tenant_id, _bookmark(ctx, req, req.start_index, by_name))
        if start_key is None:
            start_key, read = _skip(ctx, req.start_index - 1, by_name, req.descending)
    page = ctx.table.page(
        ctx.tenant_id,
        ctx.kind,
        limit=req.count,
        start_key=start_key,
        by_name=by_name,
        descending=req.descending,
    )
    next_start = req.start_index + len(page.items)
    if page.last_key and next_start <= total:
        expires = int(ctx.now()) + BOOKMARK_TTL_SECONDS
        ctx.table.put_bookmark(
            ctx.tenant_id, _bookmark(ctx, req, next_start, by_name), page.last_key, expires
        )
    return ListResult(page.items, total, req.start_index, items_read=read + page.items_read)


def _skip(ctx: ListContext, n: int, by_name: bool, descending: bool) -> tuple[dict[str, Any] | None, int]:
    """No bookmark (a client jumping ahead): read past the first n items once."""
    key: dict[str, Any] | None = None
    read = 0
    while read < n:
        page = ctx.table.page(
            ctx.tenant_id,
            ctx.kind,
            limit=min(READ_BATCH, n - read),
            start_key=key,
            by_name=by_name,
            descending=descending,
        )
        read += page.items_read
        key = page.last_key
        if key is None:
            break
    return key, read


def _bookmark(ctx: ListContext, req: SearchRequest, start_index: int, by_name: bool) -> str:
    basis = f"{ctx.kind.value}|{'name' if by_name else 'id'}|{req.descending}|{start_index}"
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def _walk_cursor(ctx: ListContext, req: SearchRequest, total: int, *, by_name: bool) -> ListResult:
    state: dict[str, Any] = _decode_cursor(ctx, req.cursor) if req.cursor else {}
    position = _position(state)
    start_key = _start_key(ctx, state.get("k"), by_name=by_name)
    page = ctx.table.page(
        ctx.tenant_id,
        ctx.kind,
        limit=req.count,
        start_key=start_key,
        by_name=by_name,
        descending=req.descending,
    )
    next_position = position + len(page.items)
    next_cursor = None
    if page.last_key and next_position <= total:
        next_cursor = _encode_cursor(ctx, {"k": page.last_key, "p": next_position})
    return ListResult(page.items, total, position, next_cursor=next_cursor, items_read=page.items_read)


def _position(state: dict[str, Any]) -> int:
    position = state.get("p", 1)
    if not isinstance(position, int) or position < 1:
        raise InvalidCursor("The cursor is not valid.")
    return position


def _start_key(ctx: ListContext, key: Any, *, by_name: bool = False) -> dict[str, Any] | None:
    """The DynamoDB key inside a cursor: only string attributes, only this tenant's partition, and
    the key shape of the Query it continues (a name-order cursor holds the index's key too; given
    to an id-order Query, DynamoDB would refuse it, a 500)."""
    if key is None:
        return None
    pk = resources_pk(ctx.tenant_id, ctx.kind)
    expected = {"PK", "SK", "GSI1PK", "GSI1SK"} if by_name else {"PK", "SK"}
    if not isinstance(key, dict) or set(key) != expected:
        raise InvalidCursor("The cursor is not valid.")
    for name, value in key.items():
        if not (isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str)):
            raise InvalidCursor("The cursor is not valid.")
        if name.endswith("PK") and value["S"] != pk:
            raise InvalidCursor("The cursor is not valid.")
    return key


# -- plan 2b: a bounded filtered walk (cursor pages without totals) --------------------------
FILTER_PAGE_READS = 2  # Queries of READ_BATCH items a bounded filtered page may read


def _filtered_walk(ctx: ListContext, req: SearchRequest, expr: Filter, info: Any) -> ListResult:
    """Id order from the cursor's key, the filter evaluated on each item, at most `count` matches
    and FILTER_PAGE_READS Queries: a constant cost per page whatever the tenant's size. The cursor
    names the last item examined, so the next page starts right after it (no gap, no repeat)."""
    state: dict[str, Any] = _decode_cursor(ctx, req.cursor) if req.cursor else {}
    start_key = _start_key(ctx, state.get("k"))
    found: list[StoredResource] = []
    read = 0
    last: dict[str, Any] | None = start_key
    for _ in range(FILTER_PAGE_READS):
        page = ctx.table.page(ctx.tenant_id, ctx.kind, limit=READ_BATCH, start_key=last)
        read += page.items_read
        last = page.last_key
        for index, res in enumerate(page.items):
            if matches(expr, ctx.to_wire(res), info):
                found.append(res)
                if len(found) == req.count:
                    more = index + 1 < len(page.items) or page.last_key is not None
                    key = {"PK": {"S": resources_pk(ctx.tenant_id, ctx.kind)}, "SK": {"S": res.id}}
                    cursor = _encode_cursor(ctx, {"k": key}) if more else None
                    return ListResult(found, len(found), 1, next_cursor=cursor, items_read=read)
        if last is None:
            break
    cursor = _encode_cursor(ctx, {"k": last}) if last is not None else None
    return ListResult(found, len(found), 1, next_cursor=cursor, items_read=read)


# -- plan 3: read the partition ---------------------------------------------------------------
def _read_all(ctx: ListContext) -> tuple[list[StoredResource], int]:
    items: list[StoredResource] = []
    key: dict[str, Any] | None = None
    while True:
        page = ctx.table.page(ctx.tenant_id, ctx.kind, limit=READ_BATCH, start_key=key)
        items.extend(page.items)
        key = page.last_key
        if key is None:
            return items, len(items)


def _slice(ctx: ListContext, req: SearchRequest, found: list[StoredResource], read: int) -> ListResult:
    total = len(found)
    if req.cursor is not None:
        offset = _decode_cursor(ctx, req.cursor).get("o", 0) if req.cursor else 0
        if not isinstance(offset, int) or offset < 0:
            raise InvalidCursor("The cursor is not valid.")
        chunk = found[offset : offset + req.count]
        following = offset + len(chunk)
        next_cursor = _encode_cursor(ctx, {"o": following}) if following < total and req.count else None
        return ListResult(chunk, total, offset + 1, next_cursor=next_cursor, items_read=read)
    start = req.start_index - 1
    return ListResult(found[start : start + req.count], total, req.start_index, items_read=read)


def _sort_key(ctx: ListContext, sort_by: str | None) -> str | None:
    """None (id order), "name" (the index order) or a canonical attribute path."""
    if not sort_by:
        return None
    resolved = resolve_path(ctx.schemas, sort_by)
    if resolved is None:
        raise InvalidValue(f"sortBy {sort_by[:64]!r} is not an attribute of this resource type.")
    if resolved.attribute.name == NAME_ATTRIBUTES[ctx.kind] and resolved.sub_attribute is None:
        return "name"
    return resolved.path


def _sorted(
    ctx: ListContext, items: list[StoredResource], sort_key: str | None, descending: bool
) -> list[StoredResource]:
    if sort_key is None:
        return sorted(items, key=lambda r: r.id, reverse=descending)
    if sort_key == "name":
        return sorted(items, key=lambda r: r.name_key, reverse=descending)

    def value(res: StoredResource) -> tuple[int, str]:
        # RFC 7644 §3.4.2.3: resources without the attribute sort last (ascending) or first.
        found = _lookup(ctx.to_wire(res), sort_key)
        return (0, found.lower()) if found is not None else (1, "")

    ordered = sorted(items, key=value)
    return list(reversed(ordered)) if descending else ordered


def _lookup(doc: dict[str, Any], dotted: str) -> str | None:
    current: Any = doc
    for part in dotted.split("."):
        if isinstance(current, list):
            primary = next((v for v in current if isinstance(v, dict) and v.get("primary")), None)
            current = primary or (current[0] if current else None)
        if not isinstance(current, dict):
            return None
        current = next((v for k, v in current.items() if k.lower() == part.lower()), None)
    if isinstance(current, list):
        current = current[0] if current else None
    if isinstance(current, dict):
        current = current.get("value")
    return None if current is None else str(current)


# -- cursors (RFC 9865) ---------------------------------------------------------------------
# A cursor is ``base64url(payload) "." base64url(MAC)``: the payload (tenant, resource type, issue
# time, position) is readable but not forgeable. The MAC is keyed per tenant (`core.signing`), so
# an edited cursor, one made up from a DynamoDB key, or another tenant's cursor is 400
# invalidCursor before anything in it is used.
CURSOR_MAC_BYTES = 16
MAX_CURSOR_LENGTH = 2048


def _encode_cursor(ctx: ListContext, state: dict[str, Any]) -> str:
    return sign_cursor(ctx.tenant_id, ctx.kind.value, state, ctx.now())


def _decode_cursor(ctx: ListContext, cursor: str | None) -> dict[str, Any]:
    return open_cursor(ctx.tenant_id, ctx.kind.value, cursor, ctx.now())


def sign_cursor(tenant_id: str, scope: str, state: dict[str, Any], now: float) -> str:
    """A cursor for one list (`scope`: the resource type, or e.g. a group's member list)."""
    payload = {"t": tenant_id, "r": scope, "i": int(now), **state}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    mac = signing.keyring().mac(tenant_id, "cursor", [scope, raw], CURSOR_MAC_BYTES)
    return f"{signing.b64url(raw)}.{signing.b64url(mac)}"


def open_cursor(tenant_id: str, scope: str, cursor: str | None, now: float) -> dict[str, Any]:
    """The state `sign_cursor` put in, or InvalidCursor / ExpiredCursor (400)."""
    if not cursor:
        return {}
    body, _, tag = cursor.partition(".")
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw, mac = signing.b64url_decode(body), signing.b64url_decode(tag)
    except ValueError:
        raise InvalidCursor("The cursor is not valid.") from None
    if len(mac) != CURSOR_MAC_BYTES or not signing.keyring().verify(tenant_id, "cursor", [scope, raw], mac):
        raise InvalidCursor("The cursor is not valid.")
    try:
        state = json.loads(raw)
    except ValueError:
        raise InvalidCursor("The cursor is not valid.") from None
    # Signed for this tenant and type already; checked again so a key mix-up can never widen it.
    if not isinstance(state, dict) or state.get("t") != tenant_id or state.get("r") != scope:
        raise InvalidCursor("The cursor is not valid.")
    issued = state.get("i", 0)
    if not isinstance(issued, int) or now - issued > CURSOR_TIMEOUT_SECONDS:
        raise ExpiredCursor("The cursor has expired; start again without a cursor.")
    return state
