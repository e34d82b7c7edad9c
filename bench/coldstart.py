"""Cold start per Lambda handler: import time with and without bytecode, first request, heaviest imports.

`python -m bench.coldstart [--runs N]` measures, for every function in template.yaml and for a bare
powertools handler (boto3 client, Logger, Metrics, REST resolver, one route), each in a fresh
interpreter per run (median of N):

- import: ``importlib.import_module(handler)`` timed inside the child, under ``-X importtime``
  (whose stderr gives the per-package breakdown). Twice: *no pyc* (an empty PYTHONPYCACHEPREFIX but
  for the standard library, PYTHONDONTWRITEBYTECODE=1: every module of the code package and the
  layer is compiled, as Lambda does with what `sam build` ships) and *pyc* (a warmed prefix).
  Modules the Lambda layer does not have (awscrt, pyOpenSSL, requests… installed here by dev tools)
  are made unimportable, so the import set is the one the function gets.
- first request: a child imports moto (and so boto3; DynamoDB patched by `scimctl.moto_dynamodb`,
  the engine of the local gateway, the tests and the workload) and seeds the table, bus, tenant, token and
  signing key, then forks one process per target, which imports its handler and serves one event
  from events/<Function>/ (creating every boto3 client the handler makes lazily), then the same
  event again (warm). Only the handler's own work is on the clock. Needs os.fork (Linux, macOS).

`--python` runs the import children in another interpreter, e.g. a Python 3.13 virtualenv holding
only layer/requirements.txt (the runtime's version and exactly the layer's packages).

Tracing is on as in the template (``Tracing: Active``): LAMBDA_TASK_ROOT is set, so powertools'
Tracer patches as it does on Lambda; segments go to the default daemon address on loopback.
Writes bench/results/coldstart.json and prints a Markdown table (docs/cold-start.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
RESULTS = ROOT / "bench" / "results" / "coldstart.json"

# The cold-start budget per handler (docs/cold-start.md): relative to the bare powertools handler
# measured in the same run, so that it holds on any machine, for the bytecode `sam build` ships.
IMPORT_BUDGET_RATIO = 1.5  # handler import CPU time / bare powertools handler import CPU time
FIRST_REQUEST_BUDGET_MS = 100.0  # CPU time of the first invocation after the import

BASELINE = "BarePowertools"
BASELINE_MODULE = "bare_powertools_handler"
BASELINE_SOURCE = '''
"""A bare powertools handler: the floor any API function here pays."""
import os

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver()
dynamodb = boto3.client("dynamodb")


@app.get("/scim/v2/<tenant>/ServiceProviderConfig")
def service_provider_config(tenant):
    key = {"PK": {"S": f"TENANT#{tenant}"}, "SK": {"S": "TENANT"}}
    dynamodb.get_item(TableName=os.environ["TABLE_NAME"], Key=key)
    metrics.add_metric(name="Reads", unit=MetricUnit.Count, value=1)
    return {"tenant": tenant}


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
'''

# One representative event per function: what an IdP's first call to a cold function looks like.
EVENTS = {
    "AuthorizerFunction": "AuthorizerFunction/request.json",
    "DiscoveryFunction": "DiscoveryFunction/get-service-provider-config.json",
    "UsersFunction": "UsersFunction/filter-users-by-username.json",
    "GroupsFunction": "GroupsFunction/filter-groups-by-display-name-entra.json",
    "BulkFunction": "BulkFunction/bulk-create-user-and-group.json",
    "EventsFunction": "EventsFunction/stream-user-created-then-deactivated.json",
    "ManagementFunction": "ManagementFunction/list-tenants.json",
    "SetupFunction": "SetupFunction/get-setup-page.json",
    "DirectoryFunction": "DirectoryFunction/list-groups.json",
    BASELINE: "DiscoveryFunction/get-service-provider-config.json",
}

# Concrete values for what template.yaml's Globals and functions set (intrinsics resolved by hand).
FUNCTION_ENV = {
    "TABLE_NAME": "scim-coldstart",
    "SECRETS_PREFIX": "scim/scim-coldstart/",
    "POWERTOOLS_SERVICE_NAME": "scim",
    "POWERTOOLS_METRICS_NAMESPACE": "Scim/coldstart",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "AUDIT_RETENTION_DAYS": "90",
    "TOKEN_HASH_CACHE_SECONDS": "60",
    "EVENT_BUS_NAME": "scim-coldstart-provisioning",
    "EVENT_SOURCE": "scim.scim-coldstart",
    "SCIM_BASE_URL": "https://api.example.com/v1/scim/v2",
    "SCIM_API_ID": "coldstart0",
    "SCIM_STAGE_NAME": "v1",
    "TENANT_USAGE_PLAN_ID": "",
    "STACK_NAME": "scim-coldstart",
    "SETUP_PAGE_URL": "https://setup.example.com/v1/setup",
    "SAAS_NAME": "Our SaaS",
    "SAAS_LOGO_URL": "",
    "SAAS_ACCENT_COLOUR": "#2f5bd3",
    "SHARED_API_KEY": "scim-coldstart-shared-tenant-bucket",
    "TRACING_ENABLED": "false",  # the template's default (EnableTracing=false)
    # Replaced in the request probe by the ARN of a secret created in moto (read on first request).
    "SIGNING_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:coldstart-signing",
}
LAMBDA_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "coldstart",
    "AWS_SECRET_ACCESS_KEY": "coldstart",
    "AWS_SESSION_TOKEN": "coldstart",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "LAMBDA_TASK_ROOT": str(SRC),  # powertools' Tracer: "on Lambda", so it patches as deployed
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "_X_AMZN_TRACE_ID": "Root=1-67a00000-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1",
}

# Child 1: import only. Modules outside the layer are made unimportable first.
IMPORT_PROBE = """
import importlib, json, sys, time
absent = frozenset(filter(None, sys.argv[3].split(",")))
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in absent:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the Lambda layer)", name=name)
        return None
sys.meta_path.insert(0, Absent())
before = len(sys.modules)
wall, cpu = time.perf_counter(), time.process_time()
importlib.import_module(sys.argv[1])
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
with open(sys.argv[2], "w") as out:
    json.dump({"wall_ms": wall * 1000, "cpu_ms": cpu * 1000, "modules": len(sys.modules) - before}, out)
"""


@dataclass(frozen=True)
class Target:
    name: str  # the template's logical id, or BASELINE
    module: str
    event: Path


@dataclass
class ImportRun:
    wall_ms: float
    cpu_ms: float
    modules: int
    self_us_by_package: dict[str, int]
    top_cumulative: list[tuple[str, int]]


@dataclass
class Summary:
    target: Target
    no_pyc: list[ImportRun] = field(default_factory=list)
    pyc: list[ImportRun] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)


# -- what to measure ------------------------------------------------------------------------------
def targets(baseline_dir: Path) -> list[Target]:
    from scimctl.template import load_template  # noqa: PLC0415 (dev-only; keeps the probe imports lean)

    template = load_template(ROOT / "template.yaml")
    found = []
    for name, function in sorted(template.functions.items()):
        for key in sorted(set(function.environment) - set(FUNCTION_ENV)):
            # A variable added to the template since: a placeholder, said out loud.
            print(
                f"warning: {name}: no value for {key} in bench/coldstart.py; using a placeholder",
                file=sys.stderr,
            )
            FUNCTION_ENV[key] = f"coldstart-{key.lower()}"
        found.append(Target(name, function.handler.rpartition(".")[0], ROOT / "events" / EVENTS[name]))
    (baseline_dir / f"{BASELINE_MODULE}.py").write_text(BASELINE_SOURCE)
    return [*found, Target(BASELINE, BASELINE_MODULE, ROOT / "events" / EVENTS[BASELINE])]


def layer_distributions() -> set[str]:
    """layer/requirements.txt and everything it pulls in, as installed here (extras followed)."""
    from packaging.requirements import Requirement  # noqa: PLC0415

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    lines = (ROOT / "layer" / "requirements.txt").read_text().splitlines()
    todo = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        if norm(req.name) in seen:
            continue
        seen.add(norm(req.name))
        for spec in metadata.requires(req.name) or []:
            dep = Requirement(spec)
            envs = [{"extra": e} for e in req.extras] or [{"extra": ""}]
            if dep.marker is None or any(dep.marker.evaluate(env) for env in envs):
                todo.append(dep)
    return seen


def modules_absent_from_layer() -> list[str]:
    """Top-level modules installed here only by dev tools: the layer does not have them."""
    layer = layer_distributions()
    ours = {"core", "handlers", "scimctl"}
    absent = set()
    for module, dists in metadata.packages_distributions().items():
        names = {re.sub(r"[-_.]+", "-", d).lower() for d in dists}
        if module not in ours and not names & layer and module not in sys.stdlib_module_names:
            absent.add(module)
    return sorted(absent)


# -- children -------------------------------------------------------------------------------------
def child_env(pycache: Path | None, write_bytecode: bool, baseline_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "POWERTOOLS_", "AWS_"))}
    env |= FUNCTION_ENV | LAMBDA_ENV
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(baseline_dir), str(ROOT)])
    env["PYTHONHASHSEED"] = "0"
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def parse_importtime(stderr: str, module: str) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Self time per top-level package, and the imports with the largest cumulative time."""
    by_package: dict[str, int] = defaultdict(int)
    cumulative: list[tuple[str, int]] = []
    for line in stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        self_us, cum_us, name = int(parts[0]), int(parts[1]), parts[2].strip()
        top = name.partition(".")[0]
        group = "stdlib" if top.lstrip("_") in sys.stdlib_module_names or top in {"encodings"} else top
        by_package[group] += self_us
        if name != module:
            cumulative.append((name, cum_us))
    cumulative.sort(key=lambda item: -item[1])
    return dict(by_package), cumulative[:10]


def run_import(
    python: str, target: Target, env: Mapping[str, str], absent: Sequence[str], work: Path
) -> ImportRun:
    out = work / "import.json"
    proc = subprocess.run(  # noqa: S603 - our own probe, in a chosen interpreter
        [python, "-X", "importtime", "-c", IMPORT_PROBE, target.module, str(out), ",".join(absent)],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{target.name}: import failed\n{proc.stderr[-3000:]}")
    result = json.loads(out.read_text())
    by_package, top = parse_importtime(proc.stderr, target.module)
    return ImportRun(result["wall_ms"], result["cpu_ms"], result["modules"], by_package, top)


def run_requests(items: Sequence[Target], env: Mapping[str, str], work: Path) -> dict[str, dict[str, Any]]:
    """One child loads moto and seeds the table once, then forks a fresh process per target."""
    out = work / "requests"
    out.mkdir(exist_ok=True)
    spec = [[t.name, t.module, str(t.event)] for t in items]
    proc = subprocess.run(  # noqa: S603 - this module, as its own probe
        [sys.executable, "-m", "bench.coldstart", "--request-probe", json.dumps(spec), str(out)],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    results = {t.name: out / f"{t.name}.json" for t in items}
    missing = [name for name, path in results.items() if not path.exists()]
    if proc.returncode != 0 or missing:
        raise SystemExit(f"first request failed for {missing or 'a target'}\n{proc.stderr[-3000:]}")
    found = {name: json.loads(path.read_text()) for name, path in results.items()}
    for path in results.values():
        path.unlink()
    return found


# -- the request probe (runs in a child) ----------------------------------------------------------
def request_probe(spec: Sequence[Sequence[str]], out: Path) -> None:
    """moto and the seed data first, outside the clock; then, per target, a forked process imports
    the handler and serves its event twice (the fork has not imported any handler)."""
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    from scimctl import moto_dynamodb  # noqa: PLC0415

    moto_dynamodb.install()  # the project's one DynamoDB engine, patched before any clock starts
    mock = mock_aws()
    mock.start()
    token = _seed(boto3)
    failed = 0
    for name, module, event_path in spec:
        pid = os.fork()
        if pid == 0:  # the child: a cold handler in a warm moto
            code = 0
            try:
                _serve(module, Path(event_path), token, out / f"{name}.json")
            except BaseException as error:  # reported to the parent through the exit code
                print(f"{name}: {error!r}", file=sys.stderr)
                code = 1
            sys.stderr.flush()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        failed += status != 0
    mock.stop()
    sys.exit(1 if failed else 0)


def _serve(module: str, event_path: Path, token: str, out: Path) -> None:
    import importlib  # noqa: PLC0415

    event = json.loads(event_path.read_text())
    if "methodArn" in event:  # the authorizer: a real token, so the whole Allow path runs
        event["headers"]["Authorization"] = f"Bearer {token}"
    context = _Context(module)
    clocks = [(time.perf_counter(), time.process_time())]
    handler = importlib.import_module(module).lambda_handler
    clocks.append((time.perf_counter(), time.process_time()))
    first = handler(json.loads(json.dumps(event)), context)
    clocks.append((time.perf_counter(), time.process_time()))
    handler(json.loads(json.dumps(event)), context)
    clocks.append((time.perf_counter(), time.process_time()))
    _check(module, first)
    wall = [(b[0] - a[0]) * 1000 for a, b in itertools.pairwise(clocks)]
    cpu = [(b[1] - a[1]) * 1000 for a, b in itertools.pairwise(clocks)]
    out.write_text(
        json.dumps(
            {
                "import_with_moto_ms": wall[0],
                "first_request_ms": wall[1],
                "second_request_ms": wall[2],
                "import_with_moto_cpu_ms": cpu[0],
                "first_request_cpu_ms": cpu[1],
                "second_request_cpu_ms": cpu[2],
                "status": _status(first),
            }
        )
    )


def _seed(boto3: Any) -> str:
    """The table, the bus, tenant demo and a token for it (the authorizer's event carries it)."""
    from core.store.tenants_table import TenantTable  # noqa: PLC0415
    from core.store.token_hashes import TokenHashStore  # noqa: PLC0415
    from scimctl.admin import Admin  # noqa: PLC0415
    from scimctl.template import load_template, table_create_kwargs  # noqa: PLC0415

    table = FUNCTION_ENV["TABLE_NAME"]
    db = boto3.client("dynamodb")
    db.create_table(TableName=table, **table_create_kwargs(load_template(ROOT / "template.yaml")))
    boto3.client("events").create_event_bus(Name=FUNCTION_ENV["EVENT_BUS_NAME"])
    admin = Admin(
        TenantTable(db, table), TokenHashStore(boto3.client("secretsmanager"), FUNCTION_ENV["SECRETS_PREFIX"])
    )
    admin.create_tenant("demo")
    secret = boto3.client("secretsmanager").create_secret(Name="coldstart-signing", SecretString="k" * 64)
    os.environ["SIGNING_KEY_SECRET_ARN"] = secret["ARN"]
    return admin.issue_token("demo", "coldstart").token


def _status(response: Any) -> str:
    if isinstance(response, dict) and "statusCode" in response:
        return str(response["statusCode"])
    if isinstance(response, dict) and "policyDocument" in response:
        return str(response["policyDocument"]["Statement"][0]["Effect"])
    if isinstance(response, dict) and "batchItemFailures" in response:
        return f"batchItemFailures={len(response['batchItemFailures'])}"
    return type(response).__name__


def _check(module: str, response: Any) -> None:
    status = _status(response)
    if status not in {"200", "201", "Allow", "batchItemFailures=0"}:
        raise SystemExit(f"{module}: the first request did not succeed ({status}): {response}")


class _Context:
    """The LambdaContext fields powertools reads."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.aws_request_id = "00000000-0000-0000-0000-000000000000"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "coldstart"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


# -- bytecode caches ------------------------------------------------------------------------------
def prepare_caches(
    python: str, items: Sequence[Target], absent: Sequence[str], work: Path, baseline_dir: Path
) -> tuple[Path, Path]:
    """A prefix with every module compiled, and one with only the standard library compiled.

    Lambda's runtime ships the standard library's bytecode; only what `sam build` packages lacks it.
    """
    full, stdlib_only = work / "pyc-all", work / "pyc-stdlib"
    env = child_env(full, True, baseline_dir)
    for target in items:
        run_import(python, target, env, absent, work)
    where = [python, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"]
    found = subprocess.run(where, capture_output=True, text=True, check=True)  # noqa: S603 - fixed code
    stdlib = Path(found.stdout.strip()).resolve()
    mirror = full / stdlib.relative_to(stdlib.anchor)
    destination = stdlib_only / stdlib.relative_to(stdlib.anchor)
    destination.parent.mkdir(parents=True)
    shutil.copytree(mirror, destination)
    return full, stdlib_only


# -- report ---------------------------------------------------------------------------------------
def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def heaviest(runs: Sequence[ImportRun], n: int = 8) -> list[tuple[str, float, float]]:
    """Per top-level package: median self time (ms, wall, from -X importtime) and median share of
    the import's total self time (robust to the machine's load), largest first."""
    packages = {p for run in runs for p in run.self_us_by_package}
    totals = [sum(run.self_us_by_package.values()) or 1 for run in runs]
    rows = []
    for package in packages:
        values = [run.self_us_by_package.get(package, 0) for run in runs]
        share = median([v / t for v, t in zip(values, totals, strict=True)])
        rows.append((package, median(values) / 1000, share))
    return sorted(rows, key=lambda row: -row[2])[:n]


def _median_of(runs: Sequence[Mapping[str, Any]], key: str) -> float:
    return round(median([float(r[key]) for r in runs]), 1)


def summarise(summary: Summary) -> dict[str, Any]:
    no_pyc_cpu = median([r.cpu_ms for r in summary.no_pyc])
    pyc_cpu = median([r.cpu_ms for r in summary.pyc])
    first_cpu = _median_of(summary.requests, "first_request_cpu_ms")
    return {
        "function": summary.target.name,
        "module": summary.target.module,
        "event": str(summary.target.event.relative_to(ROOT)),
        "import_no_pyc_cpu_ms": round(no_pyc_cpu, 1),
        "import_pyc_cpu_ms": round(pyc_cpu, 1),
        "import_no_pyc_wall_ms": round(median([r.wall_ms for r in summary.no_pyc]), 1),
        "import_pyc_wall_ms": round(median([r.wall_ms for r in summary.pyc]), 1),
        "compile_share": round(1 - pyc_cpu / no_pyc_cpu, 3),
        "modules_imported": summary.pyc[0].modules,
        "first_request_cpu_ms": first_cpu,
        "first_request_wall_ms": _median_of(summary.requests, "first_request_ms"),
        "second_request_cpu_ms": _median_of(summary.requests, "second_request_cpu_ms"),
        "import_with_moto_preloaded_cpu_ms": _median_of(summary.requests, "import_with_moto_cpu_ms"),
        "first_request_status": summary.requests[0]["status"],
        "heaviest_imports_pyc": [
            [p, round(ms, 1), round(share, 3)] for p, ms, share in heaviest(summary.pyc)
        ],
        "heaviest_imports_no_pyc": [
            [p, round(ms, 1), round(share, 3)] for p, ms, share in heaviest(summary.no_pyc)
        ],
        "top_cumulative_imports_ms_pyc": [
            [m, round(us / 1000, 1)] for m, us in summary.pyc[-1].top_cumulative
        ],
        "runs": {
            "import_no_pyc_cpu_ms": [round(r.cpu_ms, 1) for r in summary.no_pyc],
            "import_pyc_cpu_ms": [round(r.cpu_ms, 1) for r in summary.pyc],
            "first_request_cpu_ms": [round(r["first_request_cpu_ms"], 1) for r in summary.requests],
        },
    }


def judge(rows: Sequence[dict[str, Any]]) -> None:
    """Each row against the budget: its import relative to the baseline's, and its first request."""
    base = next(row for row in rows if row["function"] == BASELINE)
    for row in rows:
        row["import_pyc_vs_baseline"] = round(row["import_pyc_cpu_ms"] / base["import_pyc_cpu_ms"], 2)
        row["import_no_pyc_vs_baseline"] = round(
            row["import_no_pyc_cpu_ms"] / base["import_no_pyc_cpu_ms"], 2
        )
        row["within_budget"] = (
            row["import_pyc_vs_baseline"] <= IMPORT_BUDGET_RATIO
            and row["first_request_cpu_ms"] <= FIRST_REQUEST_BUDGET_MS
        )


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "| function | import, no pyc | import, pyc | × baseline (pyc) | compiling | first request "
        "| warm request | heaviest imports, pyc (share of self time) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        top = ", ".join(f"{p} {share:.0%}" for p, _, share in row["heaviest_imports_pyc"][:5])
        lines.append(
            f"| {row['function']} | {row['import_no_pyc_cpu_ms']:.0f} | {row['import_pyc_cpu_ms']:.0f} "
            f"| {row['import_pyc_vs_baseline']:.2f} | {row['compile_share']:.0%} "
            f"| {row['first_request_cpu_ms']:.0f} | {row['second_request_cpu_ms']:.0f} | {top} |"
        )
    return "\n".join(lines)


def measure(python: str, runs: int, request_runs: int) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        work = Path(tmp)
        baseline_dir = work / "baseline"
        baseline_dir.mkdir()
        items = targets(baseline_dir)
        absent = modules_absent_from_layer()
        full, stdlib_only = prepare_caches(python, items, absent, work, baseline_dir)
        summaries = {t.name: Summary(t) for t in items}
        no_pyc_env = child_env(stdlib_only, False, baseline_dir)
        pyc_env = child_env(full, False, baseline_dir)
        request_env = child_env(full, False, baseline_dir)
        # Interleaved (run, target) so that drift in machine load spreads over every target.
        for _ in range(runs):
            for target in items:
                summaries[target.name].no_pyc.append(run_import(python, target, no_pyc_env, absent, work))
                summaries[target.name].pyc.append(run_import(python, target, pyc_env, absent, work))
        for _ in range(request_runs):
            for name, result in run_requests(items, request_env, work).items():
                summaries[name].requests.append(result)
    rows = [summarise(s) for s in summaries.values()]
    judge(rows)
    return {
        "import_python": subprocess.run(  # noqa: S603 - fixed code
            [python, "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip(),
        "request_python": sys.version.split()[0],
        "platform": sys.platform,
        "machine": os.uname().machine,
        "cpus": os.cpu_count(),
        "runs": runs,
        "request_runs": request_runs,
        "seconds": round(time.perf_counter() - started, 1),
        "modules_absent_from_layer": absent,
        "budget": {
            "import_pyc_vs_baseline": IMPORT_BUDGET_RATIO,
            "first_request_cpu_ms": FIRST_REQUEST_BUDGET_MS,
        },
        "results": rows,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per handler and mode")
    parser.add_argument("--request-runs", type=int, default=2, help="moto processes for the first requests")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter for the import runs, e.g. a Python 3.13 venv holding only layer/requirements.txt",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--request-probe", nargs=2, metavar=("TARGETS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.request_probe:
        spec, out = args.request_probe
        request_probe(json.loads(spec), Path(out))
        return
    report = measure(args.python, args.runs, args.request_runs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report["results"]))
    print(f"\nCPU ms, median of {report['runs']} fresh interpreters ({report['request_runs']} for requests);")
    print(f"{report['seconds']} s; wrote {args.output}")
    over = [r["function"] for r in report["results"] if not r["within_budget"] and r["function"] != BASELINE]
    if over:
        raise SystemExit(f"over the cold-start budget: {', '.join(over)}")


if __name__ == "__main__":
    main()
