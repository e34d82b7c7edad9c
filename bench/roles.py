"""DynamoDB calls of a group membership change with and without role mappings (issue 18), on the
"Everyone" group of the bench tenant (every user but the spare ones: 100,000 members at 100k).

`python -m bench.roles [--users 1000 100000]`: for each size, the calls of adding a spare user to
Everyone and removing it again, first on the default profile, then with Everyone mapped to a role
(`role_mappings`). The extra calls of roles must be the same at every size. Counts, not seconds;
writes bench/results/roles.json.
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

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
RESULTS = Path(__file__).resolve().parent / "results" / "roles.json"
MAPPED = Profile(role_mappings=(RoleMapping(group=EVERYONE, role="member"),))


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
