"""The standard workload: one request per SCIM operation, as Okta and Entra send them.

Each operation is a function of the repetition number `i`, so repetitions touch different users
(a second `active: false` on one user would be a no-op and write nothing) and every run of the
benchmark sends the same requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.driver import Driver, Sample
from bench.seed import EVERYONE, SeededTenant, user_document, user_name

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAGE = 100


@dataclass(frozen=True)
class Operation:
    name: str
    run: Callable[[Driver, SeededTenant, int], Sample]
    expected_status: int = 200
    peer: bool = False  # also sent to the scim2-server peer


def member(tenant: SeededTenant, i: int) -> int:
    """A user index in Everyone, spread over the tenant, different for each repetition."""
    span = tenant.size - tenant.spare
    return tenant.spare + (i * 7919) % span


def _create(d: Driver, t: SeededTenant, i: int) -> Sample:
    name = f"new{i:05d}-{t.size}@example.com"
    return d.call("POST", "/Users", user_document(name, 900_000 + i, externalId=f"new-{i}"))


def _get(d: Driver, t: SeededTenant, i: int) -> Sample:
    return d.call("GET", f"/Users/{t.user_ids[member(t, i)]}")


def _lookup(d: Driver, t: SeededTenant, i: int) -> Sample:
    return d.call("GET", "/Users", query={"filter": f'userName eq "{user_name(member(t, i))}"'})


def _lookup_none(d: Driver, t: SeededTenant, i: int) -> Sample:
    return d.call("GET", "/Users", query={"filter": f'userName eq "nobody{i}@example.com"'})


def _put(d: Driver, t: SeededTenant, i: int) -> Sample:
    k = member(t, i + 1000)
    doc = user_document(user_name(k), k, displayName=f"Renamed {k}", id=t.user_ids[k])
    return d.call("PUT", f"/Users/{t.user_ids[k]}", doc)


def _patch(op: dict[str, object], offset: int) -> Callable[[Driver, SeededTenant, int], Sample]:
    def run(d: Driver, t: SeededTenant, i: int) -> Sample:
        body = {"schemas": [PATCH_OP], "Operations": [op | ({"value": f"Given{i}"} if "path" in op else {})]}
        return d.call("PATCH", f"/Users/{t.user_ids[member(t, i + offset)]}", body)

    return run


def _list_page(d: Driver, t: SeededTenant, i: int) -> Sample:
    return d.call("GET", "/Users", query={"startIndex": "1", "count": str(PAGE)})


def _member_add(d: Driver, t: SeededTenant, i: int) -> Sample:
    ops = [{"op": "add", "path": "members", "value": [{"value": t.user_ids[i % t.spare]}]}]
    return d.call("PATCH", f"/Groups/{t.everyone_id}", {"schemas": [PATCH_OP], "Operations": ops})


def _member_remove(d: Driver, t: SeededTenant, i: int) -> Sample:
    ops = [{"op": "remove", "path": f'members[value eq "{t.user_ids[i % t.spare]}"]'}]
    return d.call("PATCH", f"/Groups/{t.everyone_id}", {"schemas": [PATCH_OP], "Operations": ops})


def _group_lookup(d: Driver, t: SeededTenant, i: int) -> Sample:
    query = {"filter": f'displayName eq "{EVERYONE}"', "excludedAttributes": "members"}
    return d.call("GET", "/Groups", query=query)


OPERATIONS: tuple[Operation, ...] = (
    Operation("create user", _create, 201, peer=True),
    Operation("get user", _get, peer=True),
    Operation("userName eq", _lookup, peer=True),
    Operation("userName eq, no match", _lookup_none, peer=True),
    Operation("PUT user", _put, peer=True),
    Operation("PATCH replace", _patch({"op": "replace", "path": "name.givenName"}, 2000), peer=True),
    Operation("PATCH active false", _patch({"op": "replace", "value": {"active": False}}, 3000), peer=True),
    Operation("list page of 100", _list_page, peer=True),
    Operation("group member add", _member_add, 204),
    Operation("group member remove", _member_remove, 204),
    Operation("displayName eq, no members", _group_lookup),
)


def walk_pages(d: Driver, t: SeededTenant) -> list[Sample]:
    """GET /Users?startIndex=…&count=100 until a page comes back empty (as Okta imports)."""
    pages: list[Sample] = []
    start = 1
    while True:
        page = d.call("GET", "/Users", query={"startIndex": str(start), "count": str(PAGE)})
        pages.append(page)
        found = len(page.body["Resources"])
        if not found:
            return pages
        start += found
