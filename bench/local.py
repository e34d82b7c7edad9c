"""`make bench-local`: the local default under an IdP's initial sync, over real HTTP.

    .venv/bin/python -m bench.local [--users 10000] [--groups 100] [--members 100] [--clients 4]
                                    [--large 100000] [--out bench/results/local.json]

Part 1 starts `scimctl serve --data-dir` (a fresh directory) as a user would, and imports
`--users` users the way Microsoft Entra ID does (a lookup `GET /Users?filter=userName eq "…"`,
encoded as Entra encodes it, then `POST /Users`), then `--groups` groups (a lookup by
displayName with `excludedAttributes=members`, then `POST /Groups`) and `--members` members each
(one `PATCH` add per member), from `--clients` concurrent clients (Entra's parallelism is 4 per
app). It prints, per 1,000 users, the p50/p95 latency of create, lookup and member add, and the
server's resident memory.

Part 2 writes a `--large`-user tenant straight into a store (the store's own item shapes,
`bench.seed`), starts `scimctl serve` on it (the start-up time is printed) and measures lookups
of existing users, zero-result lookups, creates and pages of 100 (`startIndex` walking, as Okta
imports). The verdicts printed at the end are the targets of issue 13. Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "local.json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BLOCK = 1_000


# ---------------------------------------------------------------------------------------- server
@dataclass
class Server:
    process: subprocess.Popen[str]
    tenant_url: str
    token: str
    started_in: float  # seconds from exec to the banner

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match[1]) / 1024 if match else float("nan")


@contextmanager
def serve(data_dir: Path, *, reset: bool) -> Iterator[Server]:
    """`scimctl serve --data-dir` in its own process (its memory is what is measured)."""
    # Port 0: the gateway, moto's API and the management API each take a free port.
    args = [sys.executable, "-m", "scimctl.cli", "serve", "--port", "0", "--data-dir", str(data_dir)]
    workdir = Path(tempfile.mkdtemp(prefix="bench-local-"))  # its state file goes here
    started = time.monotonic()
    errors = (workdir / "stderr").open("w", encoding="utf-8")
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [*args, *(["--reset"] if reset else [])],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"},
    )
    try:
        try:
            tenant_url = _wait_for_banner(process)
        except RuntimeError:
            errors.flush()
            sys.stderr.write((workdir / "stderr").read_text(encoding="utf-8")[-3000:])
            raise
        server = Server(
            process, tenant_url, (data_dir / "demo-token").read_text().strip(), time.monotonic() - started
        )
        threading.Thread(target=_drain, args=(process,), daemon=True).start()
        yield server
    finally:
        process.terminate()
        process.wait(timeout=60)
        errors.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for_banner(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Tenant URL:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"scimctl serve exited ({process.wait()}) before printing its Tenant URL")


def _drain(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for _ in process.stdout:
        pass


# ---------------------------------------------------------------------------------------- client
class Client:
    """One HTTP request at a time; what Entra sends (headers as in its documented requests)."""

    def __init__(self, tenant_url: str, token: str) -> None:
        url = urlsplit(tenant_url)
        self.host, self.port, self.base = url.hostname or "127.0.0.1", url.port or 80, url.path
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, float, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/scim+json; charset=utf-8"
        start = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(method, self.base + path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        elapsed = time.perf_counter() - start
        return response.status, elapsed, json.loads(raw) if raw else None


def entra_filter(attribute: str, value: str) -> str:
    """Entra's encoding: spaces as '+', the quoted value percent-encoded (learn.microsoft.com,
    "Tutorial: Develop and plan provisioning for a SCIM endpoint", "Get user by query")."""
    return f"{attribute}+eq+%22{quote(value, safe='')}%22"


def expect(status: int, wanted: int, what: str, body: Any) -> None:
    if status != wanted:
        raise RuntimeError(f"{what}: {status} (expected {wanted}): {json.dumps(body)[:300]}")


# ---------------------------------------------------------------------------------------- samples
@dataclass
class Samples:
    """Latencies (seconds) per operation and per block of 1,000."""

    by_block: dict[str, dict[int, list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: str, index: int, seconds: float) -> None:
        with self.lock:
            self.by_block[op][index // BLOCK].append(seconds)

    def summary(self, op: str) -> list[dict[str, float]]:
        return [summarise(values, block=block) for block, values in sorted(self.by_block[op].items())]


def summarise(values: list[float], **extra: Any) -> dict[str, Any]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {
        **extra,
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
    }


def run_parallel(clients: int, count: int, work: Callable[[int], None]) -> None:
    indexes = iter(range(count))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                i = next(indexes, None)
            if i is None:
                return
            work(i)

    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result()


# ---------------------------------------------------------------------------------------- part 1
def user_body(i: int, prefix: str = "user") -> dict[str, Any]:
    name = f"{prefix}{i:06d}@example.com"
    return {
        "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": f"{prefix}-ext-{i:06d}",
        "userName": name,
        "active": True,
        "displayName": f"Bench User {i}",
        "emails": [{"primary": True, "type": "work", "value": name}],
        "name": {"formatted": f"Bench User {i}", "familyName": f"User {i}", "givenName": "Bench"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": f"Dept {i % 20}"},
    }


def import_users(
    client: Client,
    samples: Samples,
    ids: list[str],
    *,
    clients: int,
    rss: Callable[[], float],
    memory: list[dict[str, float]],
) -> None:
    created = itertools.count(1)

    def one(i: int) -> None:
        body = user_body(i)
        status, seconds, found = client.send(
            "GET", f"/Users?filter={entra_filter('userName', body['userName'])}"
        )
        expect(status, 200, "lookup", found)
        samples.add("lookup", i, seconds)
        status, seconds, user = client.send("POST", "/Users", body)
        expect(status, 201, "create", user)
        samples.add("create", i, seconds)
        ids[i] = user["id"]
        n = next(created)
        if n % BLOCK == 0:
            memory.append({"users": n, "rss_mb": round(rss(), 1)})

    run_parallel(clients, len(ids), one)


def import_groups(
    client: Client, samples: Samples, ids: list[str], *, groups: int, members: int, clients: int
) -> None:
    group_ids = [""] * groups

    def create(g: int) -> None:
        name = f"Bench Group {g:03d}"
        path = f"/Groups?excludedAttributes=members&filter={entra_filter('displayName', name)}"
        status, _, found = client.send("GET", path)
        expect(status, 200, "group lookup", found)
        status, _, group = client.send("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": name})
        expect(status, 201, "group create", group)
        group_ids[g] = group["id"]

    run_parallel(clients, groups, create)

    def add(k: int) -> None:
        g, m = divmod(k, members)
        body = {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": ids[(g * members + m) % len(ids)]}]}
            ],
        }
        status, seconds, result = client.send("PATCH", f"/Groups/{group_ids[g]}", body)
        expect(status, 204 if result is None else 200, "member add", result)
        samples.add("member add", k, seconds)

    run_parallel(clients, groups * members, add)


def walk_pages(client: Client, pages: int, samples: Samples, op: str) -> None:
    for p in range(pages):
        status, seconds, page = client.send("GET", f"/Users?startIndex={p * 100 + 1}&count=100")
        expect(status, 200, "page", page)
        if len(page.get("Resources", [])) != 100:
            raise RuntimeError(f"page {p}: {len(page.get('Resources', []))} users, expected 100")
        samples.add(op, p, seconds)


def part_one(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    samples = Samples()
    memory: list[dict[str, float]] = []
    ids = [""] * args.users
    with serve(work / "import", reset=True) as server:
        client = Client(server.tenant_url, server.token)
        memory.append({"users": 0, "rss_mb": round(server.rss_mb(), 1)})
        started = time.monotonic()
        import_users(client, samples, ids, clients=args.clients, rss=server.rss_mb, memory=memory)
        users_seconds = time.monotonic() - started
        import_groups(client, samples, ids, groups=args.groups, members=args.members, clients=args.clients)
        walk_pages(client, min(20, args.users // 100), samples, "page of 100")
        final_rss = server.rss_mb()
    return {
        "users": args.users,
        "clients": args.clients,
        "import_seconds": round(users_seconds, 1),
        "create": samples.summary("create"),
        "lookup": samples.summary("lookup"),
        "member add": samples.summary("member add"),
        "page of 100": samples.summary("page of 100"),
        "rss_mb": memory,
        "rss_mb_after_groups": round(final_rss, 1),
    }


# ---------------------------------------------------------------------------------------- part 2
def seed_store(data_dir: Path, users: int) -> tuple[int, float]:
    """A `users`-user demo tenant written straight into a store; returns (items, seconds)."""
    from bench.seed import tenant_items  # noqa: PLC0415 - imports core
    from scimctl.local_store import import_items  # noqa: PLC0415
    from scimctl.template import load_template, table_create_kwargs  # noqa: PLC0415

    kwargs = table_create_kwargs(load_template(ROOT / "template.yaml"))
    key_attributes = tuple(
        dict.fromkeys(
            [k["AttributeName"] for k in kwargs["KeySchema"]]
            + [
                k["AttributeName"]
                for index in kwargs.get("GlobalSecondaryIndexes", [])
                for k in index["KeySchema"]
            ]
        )
    )
    shutil.rmtree(data_dir, ignore_errors=True)
    started = time.monotonic()
    _, items = tenant_items("scim-local", "demo", users, spare=users // 100)
    count = import_items(data_dir, "scim-local", key_attributes, items)
    return count, time.monotonic() - started


def part_two(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    samples = Samples()
    data_dir = work / "large"
    items, seed_seconds = seed_store(data_dir, args.large)
    with serve(data_dir, reset=False) as server:
        client = Client(server.tenant_url, server.token)
        rss_start = server.rss_mb()
        rng = random.Random(13)

        def lookup(i: int) -> None:
            name = f"user{rng.randrange(args.large):06d}@example.com"
            status, seconds, found = client.send("GET", f"/Users?filter={entra_filter('userName', name)}")
            expect(status, 200, "lookup", found)
            if found["totalResults"] != 1:
                raise RuntimeError(f"lookup of {name}: {found['totalResults']} results")
            samples.add("lookup", 0, seconds)

        def create(i: int) -> None:
            body = user_body(i, prefix="new")
            status, seconds, found = client.send(
                "GET", f"/Users?filter={entra_filter('userName', body['userName'])}"
            )
            expect(status, 200, "zero-result lookup", found)
            samples.add("zero-result lookup", 0, seconds)
            status, seconds, user = client.send("POST", "/Users", body)
            expect(status, 201, "create", user)
            samples.add("create", 0, seconds)

        run_parallel(args.clients, BLOCK, lookup)
        run_parallel(args.clients, BLOCK, create)
        walk_pages(client, min(20, args.large // 100), samples, "page of 100")
        rss_end = server.rss_mb()
        started_in = server.started_in
    return {
        "users": args.large,
        "items": items,
        "seed_seconds": round(seed_seconds, 1),
        "start_seconds": round(started_in, 2),
        "rss_mb_start": round(rss_start, 1),
        "rss_mb_end": round(rss_end, 1),
        **{op: samples.summary(op)[0] for op in ("lookup", "zero-result lookup", "create", "page of 100")},
    }


# ---------------------------------------------------------------------------------------- report
def verdicts(one: dict[str, Any], two: dict[str, Any] | None) -> list[tuple[str, bool, str]]:
    first, last = one["create"][0]["p50_ms"], one["create"][-1]["p50_ms"]
    rss = max(m["rss_mb"] for m in one["rss_mb"])
    found = [
        (
            "last 1,000 creates' p50 within 1.5x of the first 1,000's",
            last <= 1.5 * first,
            f"{last} ms vs {first} ms ({last / first:.2f}x)",
        ),
        (f"resident memory at most 1 GB at {one['users']:,} users", rss <= 1024, f"{rss} MB"),
    ]
    if two is not None:
        lookup_1k, create_1k = one["lookup"][0]["p50_ms"], first
        found += [
            (
                f"lookups at {two['users']:,} users within 2x of 1,000",
                two["zero-result lookup"]["p50_ms"] <= 2 * lookup_1k,
                f"{two['zero-result lookup']['p50_ms']} ms vs {lookup_1k} ms",
            ),
            (
                f"creates at {two['users']:,} users within 2x of 1,000",
                two["create"]["p50_ms"] <= 2 * create_1k,
                f"{two['create']['p50_ms']} ms vs {create_1k} ms",
            ),
            (
                f"start-up on the {two['users']:,}-user store at most 10 s",
                two["start_seconds"] <= 10,
                f"{two['start_seconds']} s",
            ),
        ]
    return found


def print_report(one: dict[str, Any], two: dict[str, Any] | None) -> None:
    print(
        f"\nPart 1: {one['users']:,} users imported over HTTP by {one['clients']} clients "
        f"in {one['import_seconds']} s (p50 / p95 ms per 1,000)"
    )
    print(f"{'users':>14} {'create':>15} {'lookup':>15} {'member add':>15} {'RSS MB':>8}")
    rss = {m["users"]: m["rss_mb"] for m in one["rss_mb"]}
    for block in range(len(one["create"])):
        row = [f"{block * BLOCK + 1:,}-{(block + 1) * BLOCK:,}"]
        for op in ("create", "lookup", "member add"):
            cells = one[op]
            row.append(f"{cells[block]['p50_ms']} / {cells[block]['p95_ms']}" if block < len(cells) else "-")
        row.append(str(rss.get((block + 1) * BLOCK, "-")))
        print(f"{row[0]:>14} {row[1]:>15} {row[2]:>15} {row[3]:>15} {row[4]:>8}")
    page = one["page of 100"][0]
    adds = sum(block["n"] for block in one["member add"])
    print(
        f"page of 100 at {one['users']:,} users: {page['p50_ms']} / {page['p95_ms']} ms; "
        f"RSS after {adds:,} member adds: {one['rss_mb_after_groups']} MB"
    )
    if two is not None:
        print(
            f"\nPart 2: {two['users']:,} users ({two['items']:,} items) seeded in {two['seed_seconds']} s; "
            f"start-up {two['start_seconds']} s; RSS {two['rss_mb_start']} MB -> {two['rss_mb_end']} MB"
        )
        for op in ("lookup", "zero-result lookup", "create", "page of 100"):
            print(
                f"{op:>20}: p50 {two[op]['p50_ms']} ms, p95 {two[op]['p95_ms']} ms ({two[op]['n']} requests)"
            )
    print()
    for name, ok, detail in verdicts(one, two):
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--large", type=int, default=100_000, help="0: skip part 2")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        work = Path(tmp)
        one = part_one(args, work)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"import": one}, indent=2) + "\n", encoding="utf-8")
        print_report(one, None)  # part 1 now: part 2 takes a while more
        two = part_two(args, work) if args.large else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"import": one, "large": two}, indent=2) + "\n", encoding="utf-8")
    print_report(one, two)
    return 0 if all(ok for _, ok, _ in verdicts(one, two)) else 1


if __name__ == "__main__":
    sys.exit(main())
