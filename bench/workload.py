"""`make bench`, part 1: the standard SCIM workload at 1,000, 10,000 and 100,000 users.

    .venv/bin/python -m bench.workload [--sizes 1000,10000,100000] [--reps 30]

Per operation and tenant size: DynamoDB calls (request path, plus the audit write), items read and
written, read and write capacity units (DynamoDB's rules, from item sizes), Secrets Manager
calls, provisioning events, and handler CPU per request without the time spent in AWS stand-ins
(median, p95), next to the scim2-server peer's CPU for the same requests. Prints a table and
writes bench/results/workload.json. Method and cost model: docs/performance.md.

Every size runs on moto patched by `scimctl.moto_dynamodb` (the local gateway's and the tests'
DynamoDB engine); `bench.dynamodb_usage` computes capacity units and stream changes from it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import environment

environment.apply()

from bench.cost_model import cost  # noqa: E402
from bench.driver import Sample  # noqa: E402
from bench.operations import OPERATIONS, Operation, walk_pages  # noqa: E402
from bench.peer import PEER_OPERATIONS, Peer  # noqa: E402
from bench.report import COST_COLUMNS, median_p95_ms, table  # noqa: E402
from bench.tenant import SeedTime, bench_tenant  # noqa: E402
from core.events.rules import events_for_record  # noqa: E402
from handlers import authorizer  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "workload.json"
WARMUP = 2


def counts_of(sample: Sample) -> dict[str, Any]:
    """The deterministic part of one request's cost."""
    c = sample.counts
    row: dict[str, Any] = {
        "dynamodb_calls": c.total("dynamodb"),
        "calls": c.operations("dynamodb"),
        "audit_calls": c.total("audit"),
        "secretsmanager_calls": c.total("secretsmanager"),
        "items_read": c.items_read,
        "items_written": c.items_written,
    }
    consumed = sample.consumed
    row["rcu"] = consumed.read_units
    row["wcu"] = consumed.write_units + consumed.index_write_units
    row["wcu_table"] = consumed.write_units
    row["wcu_indexes"] = consumed.index_write_units
    row["stream_records"] = len(consumed.changes)
    base = os.environ["SCIM_BASE_URL"]
    row["events"] = sum(
        len(events_for_record(change.stream_record(n), base)) for n, change in enumerate(consumed.changes, 1)
    )
    return row


def summarise(name: str, users: int, samples: list[Sample]) -> dict[str, Any]:
    first = counts_of(samples[0])
    median, p95 = median_p95_ms([s.own_cpu_seconds for s in samples])
    sdk_median, sdk_p95 = median_p95_ms([s.cpu_seconds for s in samples])
    return {
        "operation": name,
        "users": users,
        "requests": len(samples),
        **first,
        # A bookmark's expiry moves with the clock, so whether its rewrite is a stream record is not.
        "deterministic": all(_stable(counts_of(s)) == _stable(first) for s in samples),
        "cpu_ms_median": median,  # our code only: whole AWS calls excluded (the measure)
        "cpu_ms_p95": p95,
        "cpu_with_sdk_ms_median": sdk_median,  # plus botocore's work: what Lambda runs and bills
        "cpu_with_sdk_ms_p95": sdk_p95,
    }


def _stable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "stream_records"}


def run_operation(op: Operation, bench: Any, reps: int) -> list[Sample]:
    for i in range(WARMUP):  # warm container: the first requests build caches
        op.run(bench.driver, bench.seeded, reps + i)
    samples = [op.run(bench.driver, bench.seeded, i) for i in range(reps)]
    for sample in samples:
        _checked(op, sample)
    return samples


def run_size(users: int, reps: int, seeds: list[SeedTime] | None = None) -> list[dict[str, Any]]:
    """Every operation on a fresh tenant of `users` users (its seed time appended to `seeds`)."""
    rows: list[dict[str, Any]] = []
    with bench_tenant(users, spare=reps + WARMUP) as bench, frozen_heap():
        if seeds is not None:
            seeds.append(bench.seed)
        samples = []
        for _ in range(reps):  # an uncached authorizer call (API Gateway and warm caches both cold)
            authorizer.authenticator.cache_clear()
            samples.append(bench.driver.authorize(bench.token))
        rows.append(summarise("authorizer, uncached", users, samples))
        pages = walk_pages(bench.driver, bench.seeded)
        returned = sum(len(p.body["Resources"]) for p in pages)
        walk = summarise("startIndex walk, per page", users, pages)
        total_read = sum(p.counts.items_read for p in pages)
        walk |= {
            "deterministic": True,  # pages differ (the last is short); the totals are what matter
            "pages": len(pages),
            "users_returned": returned,
            "walk_dynamodb_calls": sum(p.counts.total("dynamodb") for p in pages),
            "walk_items_read": total_read,
            "items_read_per_user": round(total_read / returned, 4),
            "walk_rcu": sum(p.consumed.read_units for p in pages),
        }
        rows.append(walk)
        for op in OPERATIONS:
            rows.append(summarise(op.name, users, run_operation(op, bench, reps)))
    return rows


@contextmanager
def frozen_heap() -> Iterator[None]:
    """What exists now (the seeded table in moto's state) is left out of garbage
    collection: in Lambda it lives in DynamoDB, not in the function's heap."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def compare_with_peer(users: int, reps: int, rounds: int) -> dict[str, dict[str, float]]:
    """Our handlers and the peer, interleaved: per operation, `rounds` blocks of `reps // rounds`
    requests to each in turn, in one process state (same heap, same clock speed), so a drift of
    the machine during the run moves both sides alike. Each block starts with `WARMUP` requests
    that are not measured, so each side is measured warm, as a container serving its own
    requests is (the first requests after the other side's block find the CPU caches full of
    the other's code and data). Both stores are seeded first and frozen out of the garbage
    collector (`gc.freeze`): collections then cost what each request's own objects cost, not a
    walk over the seeded data (moto's table on our side)."""
    block = max(1, reps // rounds)
    stride = WARMUP + block
    out: dict[str, dict[str, float]] = {}
    with bench_tenant(users, spare=stride * rounds, tenant_id="peer") as bench:
        peer = Peer(users)
        with frozen_heap():
            for op in (o for o in OPERATIONS if o.peer):
                theirs_op = PEER_OPERATIONS[op.name]
                ours: list[float] = []
                theirs: list[float] = []
                for r in range(rounds):
                    first = r * stride
                    for i in range(first, first + WARMUP):
                        _checked(op, op.run(bench.driver, bench.seeded, i))
                    measured = range(first + WARMUP, first + stride)
                    ours += [
                        _checked(op, op.run(bench.driver, bench.seeded, i)).own_cpu_seconds for i in measured
                    ]
                    for i in range(first, first + WARMUP):
                        _peer_checked(op.name, theirs_op(peer, i, users))
                    theirs += [_peer_checked(op.name, theirs_op(peer, i, users))[2] for i in measured]
                ours_median, _ = median_p95_ms(ours)
                theirs_median, theirs_p95 = median_p95_ms(theirs)
                out[op.name] = {
                    "cpu_ms_median": ours_median,
                    "peer_cpu_ms_median": theirs_median,
                    "peer_cpu_ms_p95": theirs_p95,
                    "ratio": round(ours_median / theirs_median, 2),
                }
    return out


def _checked(op: Operation, sample: Sample) -> Sample:
    if sample.status != op.expected_status:
        raise SystemExit(f"{op.name}: status {sample.status}: {sample.body}")
    return sample


def _peer_checked(name: str, result: tuple[int, Any, float]) -> tuple[int, Any, float]:
    if result[0] >= 400:
        raise SystemExit(f"peer {name}: status {result[0]}: {result[1]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--peer-sizes", default="1000,10000")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--peer-reps", type=int, default=60, help="per operation, ours and the peer's each")
    parser.add_argument("--peer-rounds", type=int, default=3, help="interleaved blocks per operation")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # powertools warns about invocations without metrics
    started = time.monotonic()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[dict[str, Any]] = []
    seeds: list[SeedTime] = []
    for size in sizes:
        print(f"running {size:,} users (moto) …", flush=True)
        rows += run_size(size, args.reps, seeds)
        seed = seeds[-1]
        print(
            f"  seeded {seed.items:,} items in {seed.seconds:.2f} s ({seed.cpu_seconds:.2f} s CPU)",
            flush=True,
        )
    peer: dict[int, dict[str, dict[str, float]]] = {}
    for size in (int(s) for s in args.peer_sizes.split(",") if s):
        print(f"peer scim2-server at {size:,} users, interleaved with ours …", flush=True)
        peer[size] = compare_with_peer(size, args.peer_reps, args.peer_rounds)
    for row in rows:
        compared = peer.get(row["users"], {}).get(row["operation"])
        if compared:
            # Our CPU in the interleaved run, next to the peer's: the ratio compares like with like.
            row["cpu_ms_median_vs_peer"] = compared["cpu_ms_median"]
            row["peer_cpu_ms_median"] = compared["peer_cpu_ms_median"]
            row["peer_cpu_ms_p95"] = compared["peer_cpu_ms_p95"]
            row["cpu_ratio_to_peer"] = compared["ratio"]
        row.update(cost(row))
    result: dict[str, Any] = {
        "meta": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(),
            "reps": args.reps,
            "seconds": round(time.monotonic() - started, 1),
            "cpu": "time.thread_time() per invocation minus time inside moto (and its metering)",
            "engine": "moto + scimctl.moto_dynamodb; capacity and changes by bench.dynamodb_usage",
            "seed": {
                str(size): {
                    "items": s.items,
                    "seconds": round(s.seconds, 2),
                    "cpu_seconds": round(s.cpu_seconds, 2),
                }
                for size, s in zip(sizes, seeds, strict=True)
            },
        },
        "rows": rows,
        "peer": {str(k): v for k, v in peer.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(rows))
    print(
        f"\nCost model at {sizes[-1]:,} users (docs/performance.md): "
        "US$ per million requests, latency estimate"
    )
    print(table([r for r in rows if r["users"] == sizes[-1]], COST_COLUMNS))
    walks = [r for r in rows if "items_read_per_user" in r]
    for w in walks:
        print(
            f"startIndex walk, {w['users']:,} users: {w['pages']} pages, "
            f"{w['walk_dynamodb_calls']} DynamoDB calls, "
            f"{w['items_read_per_user']} items read per user returned, {w['walk_rcu']:g} RCU"
        )
    print(f"wrote {args.out} in {result['meta']['seconds']} s")
    for size, s in zip(sizes, seeds, strict=True):
        print(f"seed, {size:,} users: {s.items:,} items in {s.seconds:.2f} s ({s.cpu_seconds:.2f} s CPU)")
    if not all(r["deterministic"] for r in rows):
        raise SystemExit("counts differ between repetitions; see the JSON file")


if __name__ == "__main__":
    main()
