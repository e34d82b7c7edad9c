"""`make bench`, the event feed (issue 16): DynamoDB calls per feed page, and the journal's writes.

    .venv/bin/python -m bench.feed [--sizes 1000,100000]

For each size N, a tenant whose journal holds N `scim.user.created` events (one per user, as an
import of N users leaves it) and a second tenant's events interleaved in the stack feed; then the
real management handler (`handlers.management`, in process on moto patched by
`scimctl.moto_dynamodb`), warm, serves: the first page, a page in the middle (by cursor), the
newest page, a type-filtered page, and the stack feed's pages. Then the events function's journal
(`core.events.journal.Journal.append`) writes stream batches of 100 records as Lambda delivers
them: one tenant's 100 events, 100 events of 10 tenants, and the same batch retried (all already
journaled). Counts, not seconds: the same on any machine. Writes bench/results/feed.json; the
numbers are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import environment

environment.apply()

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench.management import EXTRA_ENV, _Context, _event  # noqa: E402
from bench.meter import AwsMeter, Stopwatch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "feed.json"
TENANT, OTHER = "bench", "other"


def _user_created(tenant: str, n: int) -> Any:
    from core.events.models import ScimMeta, ScimResource, UserCreated  # noqa: PLC0415

    uid = hashlib.sha256(f"{tenant}/{n}".encode()).hexdigest()
    url = f"https://api.example.com/v1/scim/v2/{tenant}/Users/{uid}"
    meta = ScimMeta(resource_type="User", created="t", last_modified="t", location=url, version='W/"1"')
    return UserCreated(
        idempotency_key=uid,
        tenant_id=tenant,
        resource_id=uid,
        occurred_at="2026-12-02T07:00:00Z",
        request_id=f"r{n}",
        token_id="okta",  # noqa: S106 # nosec B106 - a token id, never a token
        changed_attributes=["active", "emails", "name", "userName"],
        resource=ScimResource.model_validate(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": uid,
                "userName": f"user{n:06d}@example.com",
                "name": {"givenName": "Bench", "familyName": f"User{n}"},
                "emails": [{"value": f"user{n:06d}@example.com", "type": "work", "primary": True}],
                "active": True,
                "meta": meta.model_dump(by_alias=True),
            }
        ),
    )


def run_size(users: int) -> list[dict[str, Any]]:
    from handlers import aws_clients, management  # noqa: PLC0415
    from scimctl.template import load_template, table_create_kwargs  # noqa: PLC0415

    rows: list[dict[str, Any]] = []
    with mock_aws():
        aws_clients.reset()
        management.management.cache_clear()
        management.journal.cache_clear()
        table = os.environ["TABLE_NAME"]
        boto3.client("dynamodb").create_table(
            TableName=table, **table_create_kwargs(load_template(ROOT / "template.yaml"))
        )
        stopwatch = Stopwatch()
        meter = AwsMeter(stopwatch)
        meter.attach(aws_clients.dynamodb(), "dynamodb")

        def call(event: dict[str, Any]) -> dict[str, Any]:
            result: dict[str, Any] = management.lambda_handler(event, _Context())
            assert result["statusCode"] == 200, result
            body: dict[str, Any] = json.loads(result["body"])
            return body

        _seed_tenants()
        _seed_journal(table, users)

        def page(path: str, resource: str, query: dict[str, str]) -> dict[str, Any]:
            event = _event("GET", resource, path)
            event["queryStringParameters"] = query or None
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
            return call(event)

        tenant_path, tenant_resource = f"/tenants/{TENANT}/events", "/tenants/{tenant}/events"
        middle = _cursor_at(page, tenant_path, tenant_resource, users // 2)
        end = _cursor_at(page, tenant_path, tenant_resource, users - 100)
        pages: dict[str, Callable[[], dict[str, Any]]] = {
            "GET /tenants/{t}/events (first page, 100)": lambda: page(
                tenant_path, tenant_resource, {"limit": "100"}
            ),
            "GET /tenants/{t}/events (middle, cursor, 200)": lambda: page(
                tenant_path, tenant_resource, {"limit": "200", "after": middle}
            ),
            "GET /tenants/{t}/events (newest 100, cursor)": lambda: page(
                tenant_path, tenant_resource, {"limit": "100", "after": end}
            ),
            "GET /tenants/{t}/events?types=scim.group.* (no match)": lambda: page(
                tenant_path, tenant_resource, {"limit": "100", "types": "scim.group.*"}
            ),
            "GET /events (first page, 100)": lambda: page("/events", "/events", {"limit": "100"}),
        }
        for name, read in pages.items():
            read()  # warm
            meter.take()
            body = read()
            counts = meter.take()
            rows.append(
                {
                    "what": name,
                    "users": users,
                    "dynamodb_calls": counts.total("dynamodb"),
                    "calls": counts.operations("dynamodb"),
                    "items_read": counts.items_read,
                    "returned": len(body["data"]),
                }
            )
        rows.extend(_writes(users, table, meter))
    return rows


def _seed_tenants() -> None:
    from handlers import management  # noqa: PLC0415

    for tenant in (TENANT, OTHER):
        result = management.lambda_handler(
            _event("POST", "/tenants", "/tenants", {"tenant_id": tenant}), _Context()
        )
        assert result["statusCode"] == 201, result


def _seed_journal(table: str, users: int) -> None:
    """The journal an import of `users` users leaves (and one event of another tenant per ten),
    written directly (not measured): the items `Journal.append` writes and the counters, minus the
    id markers, which no read touches. Seeding 100,000 events through `append` would take the
    bench half an hour on moto."""
    from core.events.journal import Journal  # noqa: PLC0415
    from core.store.batch import batch_write  # noqa: PLC0415

    client = boto3.client("dynamodb")
    journal = Journal(client, table)
    counters = {TENANT: 0, OTHER: 0}
    requests: list[dict[str, Any]] = []
    stack = 0
    moment = time.time()
    for n in range(users):
        for tenant in (TENANT, OTHER) if n % 10 == 0 else (TENANT,):
            counters[tenant] += 1
            stack += 1
            items = journal._event_items(_user_created(tenant, n), counters[tenant], stack, moment, 2**31)
            record, _marker, pointer = (i["Put"]["Item"] for i in items)
            requests += [{"PutRequest": {"Item": record}}, {"PutRequest": {"Item": pointer}}]
        if len(requests) >= 2500:
            batch_write(client, table, requests)
            requests = []
    from core.events.journal import STACK_COUNTER_KEY, tenant_counter_key  # noqa: PLC0415

    for tenant, last in counters.items():
        item = tenant_counter_key(tenant) | {"seq": {"N": str(last)}, "tenantId": {"S": tenant}}
        requests.append({"PutRequest": {"Item": item}})
    requests.append({"PutRequest": {"Item": STACK_COUNTER_KEY | {"seq": {"N": str(stack)}}}})
    batch_write(client, table, requests)


def _cursor_at(page: Callable[..., dict[str, Any]], path: str, resource: str, position: int) -> str:
    """The cursor after event `position` (read in pages of 200, not measured)."""
    after: str | None = None
    read = 0
    while read < position:
        query = {"limit": str(min(200, position - read))} | ({"after": after} if after else {})
        body = page(path, resource, query)
        read += len(body["data"])
        after = body["next_cursor"]
    return str(after)


def _writes(users: int, table: str, meter: AwsMeter) -> list[dict[str, Any]]:
    """The journal's DynamoDB calls and items written per stream batch of 100 records."""
    from core.events.journal import Journal  # noqa: PLC0415

    client = boto3.client("dynamodb")
    meter.attach(client, "journal")
    journal = Journal(client, table)
    written: list[int] = []

    def count_items(params: dict[str, Any], **_: Any) -> None:
        written.append(len(params.get("TransactItems", [])))

    client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", count_items)
    one_tenant = [_user_created("writes", users + n) for n in range(100)]
    ten_tenants = [_user_created(f"w{n % 10}", users + n) for n in range(100)]
    rows = []
    for name, batch in (
        ("journal a batch: 100 events of one tenant", one_tenant),
        ("journal a batch: 100 events of 10 tenants", ten_tenants),
        ("journal the same batch again (a Lambda retry)", ten_tenants),
    ):
        meter.take()
        written.clear()
        appended = journal.append(batch)
        counts = meter.take()
        rows.append(
            {
                "what": name,
                "users": users,
                "dynamodb_calls": counts.total("journal"),
                "calls": counts.operations("journal"),
                "items_written": sum(written),
                "events": appended.journaled,
                "transactions": appended.transactions,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    args = parser.parse_args(argv)
    os.environ.update(EXTRA_ENV)
    sys.path.insert(0, str(ROOT / "src"))
    from scimctl import moto_dynamodb  # noqa: PLC0415

    moto_dynamodb.install()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = [row for size in sizes for row in run_size(size)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"sizes": sizes, "rows": rows}, indent=2) + "\n")
    width = max(len(r["what"]) for r in rows)
    print(f"{'':<{width}}  " + "  ".join(f"{f'{s:,} users':>24}" for s in sizes))
    for what in dict.fromkeys(r["what"] for r in rows):
        cells = []
        for size in sizes:
            row = next(r for r in rows if r["what"] == what and r["users"] == size)
            extra = f"{row['items_written']} items" if "items_written" in row else f"{row['returned']} events"
            cells.append(f"{row['dynamodb_calls']} calls, {extra}")
        print(f"{what:<{width}}  " + "  ".join(f"{c:>24}" for c in cells))
    constant = all(
        len({r["dynamodb_calls"] for r in rows if r["what"] == what}) == 1
        for what in {r["what"] for r in rows}
    )
    print("DynamoDB calls per page and per batch constant across sizes:", "yes" if constant else "NO")
    return 0 if constant else 1


if __name__ == "__main__":
    sys.exit(main())
