"""`make bench`, part 3: DynamoDB calls per directory read page (issue 16) at 1,000 and 100,000 users.

    .venv/bin/python -m bench.directory [--sizes 1000,100000]

The real handler (`handlers.management_directory`) in process on moto patched by
`scimctl.moto_dynamodb`, on the benchmark tenant of `bench.tenant` (users as Okta and Entra send
them, one group "Everyone" holding every user, 20 empty department groups). Each route is called
once to warm the container, then measured: DynamoDB calls, items read and read capacity units per
page. Counts, not seconds: the same on any machine. Writes bench/results/directory.json; the
numbers are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import environment

environment.apply()

from bench.driver import Driver  # noqa: E402
from bench.seed import EVERYONE, user_name  # noqa: E402
from bench.tenant import bench_tenant  # noqa: E402
from handlers import management_directory  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "directory.json"
BASE_EVENT = json.loads((ROOT / "events/DirectoryFunction/list-groups.json").read_text())
TENANT = "bench"


def _event(resource: str, params: dict[str, str], query: dict[str, str] | None) -> dict[str, Any]:
    event = copy.deepcopy(BASE_EVENT)
    path = resource
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    event.update(resource=resource, path=path, httpMethod="GET", pathParameters=params)
    event["requestContext"].update(resourcePath=resource, httpMethod="GET", path=f"/v1{path}")
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in (query or {}).items()} or None
    return event


Read = Callable[[], dict[str, Any]]  # builds the event of one page (may read earlier pages first)


def _routes(driver: Driver, user_ids: list[str], users: int, everyone: str) -> dict[str, Read]:
    tenant = {"tenant": TENANT}
    middle = user_ids[users // 2]

    def page(resource: str, params: dict[str, str], query: dict[str, str] | None = None) -> Read:
        return lambda: _event(resource, tenant | params, query)

    def second(resource: str, params: dict[str, str], query: dict[str, str]) -> Read:
        """The page after the first: its cursor comes from a first page read (not measured)."""

        def build() -> dict[str, Any]:
            first = driver._invoke(
                management_directory.lambda_handler, _event(resource, tenant | params, query)
            )
            cursor = json.loads(first.body["body"])["next_cursor"]
            assert cursor, "the first page has a next page"
            return _event(resource, tenant | params, query | {"cursor": cursor})

        return build

    users_path, groups_path = "/tenants/{tenant}/users", "/tenants/{tenant}/groups"
    return {
        "GET /users (50)": page(users_path, {}, {"limit": "50"}),
        "GET /users (200)": page(users_path, {}, {"limit": "200"}),
        "GET /users next page (cursor, 200)": second(users_path, {}, {"limit": "200"}),
        "GET /users?filter=userName eq": page(
            users_path, {}, {"filter": f'userName eq "{user_name(users // 2)}"'}
        ),
        "GET /users?filter=externalId eq": page(
            users_path, {}, {"filter": f'externalId eq "ext-{users // 2:06d}"'}
        ),
        "GET /users?filter=id eq": page(users_path, {}, {"filter": f'id eq "{middle}"'}),
        # No key answers these: the filter is evaluated on a bounded window of the partition.
        "GET /users?filter=active eq true (200)": page(
            users_path, {}, {"filter": "active eq true", "limit": "200"}
        ),
        "GET /users?filter=active eq true, next page": second(
            users_path, {}, {"filter": "active eq true", "limit": "200"}
        ),
        # The worst page: nothing matches, so it reads its whole window (2 Queries of 500).
        "GET /users?filter=active eq false (no match)": page(
            users_path, {}, {"filter": "active eq false", "limit": "200"}
        ),
        "GET /users/{id} (with its first groups)": page(users_path + "/{user_id}", {"user_id": middle}),
        "GET /users/{id}/groups": page(users_path + "/{user_id}/groups", {"user_id": middle}),
        "GET /groups": page(groups_path, {}),
        "GET /groups?filter=displayName eq": page(
            groups_path, {}, {"filter": f'displayName eq "{EVERYONE}"'}
        ),
        "GET /groups/{id} (Everyone: first 50 members)": page(
            groups_path + "/{group_id}", {"group_id": everyone}
        ),
        "GET /groups/{id}/members (200)": page(
            groups_path + "/{group_id}/members", {"group_id": everyone}, {"limit": "200"}
        ),
        "GET /groups/{id}/members next page (cursor, 200)": second(
            groups_path + "/{group_id}/members", {"group_id": everyone}, {"limit": "200"}
        ),
    }


def run_size(users: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with bench_tenant(users, spare=0, tenant_id=TENANT) as bench:
        management_directory.reset()  # a cold container: clients of this size's moto
        driver = bench.driver
        routes = _routes(driver, bench.seeded.user_ids, users, bench.seeded.everyone_id)
        for name, build in routes.items():
            driver._invoke(management_directory.lambda_handler, build())  # warm
            sample = driver._invoke(management_directory.lambda_handler, build())
            status = int(sample.body["statusCode"])
            assert status == 200, (name, sample.body)
            body = json.loads(sample.body["body"])
            returned = len(body["data"]) if "data" in body else 1
            rows.append(
                {
                    "route": name,
                    "users": users,
                    "dynamodb_calls": sample.counts.total("dynamodb"),
                    "calls": sample.counts.operations("dynamodb"),
                    "items_read": sample.counts.items_read,
                    "rcu": sample.consumed.read_units,
                    "returned": returned,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = [row for size in sizes for row in run_size(size)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"sizes": sizes, "rows": rows}, indent=2) + "\n")
    width = max(len(r["route"]) for r in rows)
    print(f"{'route':<{width}}  " + "  ".join(f"{f'{s:,} users':>22}" for s in sizes))
    print(f"{'':<{width}}  " + "  ".join(f"{'calls  items    RCU':>22}" for _ in sizes))
    for route in dict.fromkeys(r["route"] for r in rows):
        cells = []
        for size in sizes:
            row = next(r for r in rows if r["route"] == route and r["users"] == size)
            cells.append(f"{row['dynamodb_calls']:>11}  {row['items_read']:>5}  {row['rcu']:>5.1f}")
        print(f"{route:<{width}}  " + "  ".join(f"{c:>22}" for c in cells))
    constant = all(
        len({r["dynamodb_calls"] for r in rows if r["route"] == route}) == 1
        for route in {r["route"] for r in rows}
    )
    print("DynamoDB calls per page constant across sizes:", "yes" if constant else "NO")
    return 0 if constant else 1


if __name__ == "__main__":
    sys.exit(main())
