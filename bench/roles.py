"""DynamoDB calls of a group membership change with and without role mappings (issue 18), on the
"Everyone" group of the bench tenant (every user but the spare ones: 100,000 members at 100k).

`python -m bench.roles [--users 1000 100000]`: for each size, the calls of adding a spare user to
Everyone and removing it again, first on the default profile, then with Everyone mapped to a role
(`role_mappings`); then, mapped, of nesting a one-user group in Everyone and taking it out, and of
deleting a mapped group: those start the tenant's role recompute job (its worker's Invoke is
recorded here, not run: the job's calls are per user, in the background). The extra calls of
roles must be the same at every size. Counts, not seconds; writes bench/results/roles.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench import environment

environment.apply()

from bench.seed import EVERYONE  # noqa: E402
from bench.tenant import bench_tenant  # noqa: E402
from core.profiles import Profile, RoleMapping  # noqa: E402
from handlers import reset_worker  # noqa: E402

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
RESULTS = Path(__file__).resolve().parent / "results" / "roles.json"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
MAPPED = Profile(
    role_mappings=(RoleMapping(group=EVERYONE, role="member"), RoleMapping(group="Squad", role="squad"))
)


def measure(users: int) -> dict[str, Any]:
    out: dict[str, Any] = {"users": users, "group_members": users - 10}
    with bench_tenant(users, spare=10) as bench:
        driver, seeded = bench.driver, bench.seeded
        group_id = seeded.everyone_id
        for label, profile in (("default profile", None), ("Everyone mapped to a role", MAPPED)):
            if profile is not None:
                driver.context["profile"] = profile.to_json()
            for op, body in (
                ("add", [{"op": "add", "path": "members", "value": [{"value": seeded.user_ids[1]}]}]),
                ("remove", [{"op": "remove", "path": f'members[value eq "{seeded.user_ids[1]}"]'}]),
            ):
                sample = driver.call("PATCH", f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": body})
                assert sample.status == 204, sample.body
                out[f"{label}: member {op}"] = sample.counts.operations("dynamodb")
        out.update(_group_changes(bench.driver, group_id, seeded.user_ids[2]))
    return out


def _group_changes(driver: Any, everyone: str, user_id: str) -> dict[str, Any]:
    """Mapped: a group nested in Everyone and taken out, a mapped group deleted (each starts the
    role recompute: one job write and the worker's Invoke, whatever the groups' sizes)."""
    out: dict[str, Any] = {}
    started: list[dict[str, str]] = []
    reset_worker.set_starter(started.append)
    try:
        for name in ("Team", "Squad"):
            made = driver.call(
                "POST", "/Groups", {"schemas": [GROUP], "displayName": name, "members": [{"value": user_id}]}
            )
            assert made.status == 201, made.body
            out.setdefault("_ids", []).append(made.body["id"])
        team, squad = out.pop("_ids")
        for op, body in (
            ("add", [{"op": "add", "path": "members", "value": [{"value": team}]}]),
            ("remove", [{"op": "remove", "path": f'members[value eq "{team}"]'}]),
        ):
            before = len(started)
            sample = driver.call("PATCH", f"/Groups/{everyone}", {"schemas": [PATCH], "Operations": body})
            assert sample.status == 204, sample.body
            assert len(started) == before + 1, "the change starts the role recompute"
            out[f"mapped: nested group {op}"] = sample.counts.operations("dynamodb")
        before = len(started)
        sample = driver.call("DELETE", f"/Groups/{squad}")
        assert sample.status == 204, sample.body
        assert len(started) == before + 1
        out["mapped: mapped group delete"] = sample.counts.operations("dynamodb")
    finally:
        reset_worker.set_starter(None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 100_000])
    args = parser.parse_args(argv)
    results = [measure(n) for n in args.users]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
