"""What each Lambda handler imports at cold start: nothing its requests do not need (docs/cold-start.md).

Each handler is imported in a fresh interpreter, with the environment Lambda gives it (LAMBDA_TASK_ROOT
set, so powertools' Tracer would patch as it does when deployed), and the test reads `sys.modules`.
X-Ray tracing is opt-in (the stack's EnableTracing, `TRACING_ENABLED`): off, no function imports the
X-Ray SDK; on, the Tracer patches botocore before the first client. Module sets, not timings: the
result is the same on any machine. `bench/coldstart.py` measures the time.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
HANDLERS = (
    "authorizer",
    "discovery",
    "users",
    "groups",
    "bulk",
    "events",
    "management",
    "management_directory",
    "setup",
)

# Never in a Lambda function: dev tools, the admin CLI, tests, and what only X-Ray's patch_all loads.
NEVER = (
    "moto",
    "yaml",
    "scimctl",
    "tests",
    "bench",
    "pytest",
    "jsonschema",
    "hypothesis",
    "scim2_models",
    "requests",
    "sqlite3",  # imported only to be patched by X-Ray: the Tracer patches botocore alone
    "aws_xray_sdk.ext.sqlite3",
    "aws_xray_sdk.ext.httplib",
)

# Never with tracing off (the template's default): the X-Ray SDK costs 160-290 ms of import.
NEVER_UNTRACED = ("aws_xray_sdk",)

# Never at all: functions make plain botocore clients (handlers.aws_clients); boto3 would add
# s3transfer and its resource layer to every cold start.
NEVER_SDK_EXTRAS = ("boto3", "s3transfer")

# Never: the API functions route with handlers.routing (one dict lookup on API Gateway's matched
# resource); powertools' resolver cost about 0.08 ms of CPU per request (docs/performance.md).
NO_RESOLVER = ("aws_lambda_powertools.event_handler",)

# Per handler: what its requests never use. Each is a measurable share of the import (bench/coldstart.py).
NOT_NEEDED = {
    # The setup page's function: the management code plus the setup session (docs/setup-page.md).
    # (core.events comes with handlers.management's event feed since the feed's merge.)
    "setup": (
        "aws_lambda_powertools.utilities.idempotency",
        "aws_lambda_powertools.utilities.batch",
        "handlers.resources",
        "handlers.audit",
        "core.auth",
        "core.filter",
        "core.patch",
        "core.bulk",
        "core.users",
        "core.groups",
        "core.query.listing",
    ),
    "management": (
        "aws_lambda_powertools.utilities.idempotency",  # core.idempotency: one GetItem, one transaction
        "aws_lambda_powertools.utilities.batch",
        "handlers.resources",
        "handlers.audit",
        "core.auth",
        # the feed reads the journal (core.events.journal), never the event models or rules
        "core.events.models",
        "core.events.rules",
        "core.events.publisher",
        "core.filter",
        "core.patch",
        "core.bulk",
        "core.users",
        "core.groups",
        "core.query.listing",
    ),
    "authorizer": (
        "handlers.routing",  # no REST routes: it answers API Gateway's authorizer call
        "aws_lambda_powertools.utilities.batch",
        "core.filter",
        "core.patch",
        "core.bulk",
        "core.users",
        "core.groups",
        "core.events",
        "core.audit",
        "core.query.listing",
        "handlers.resources",
    ),
    "discovery": (
        "boto3",  # no AWS call: the profile rides in the authorizer's context
        "urllib3",
        "core.store",  # core.capabilities reads CURSOR_TIMEOUT_SECONDS from core.limits
        "core.query.listing",
        "core.filter",
        "handlers.aws_clients",
        "core.auth",
        "core.tokens",
        "core.bulk",
        "core.patch",
        "core.users",
        "core.groups",
        "core.events",
        "core.audit",
        "handlers.resources",
        "aws_lambda_powertools.utilities.batch",
    ),
    "users": (
        "core.bulk",  # core.capabilities reads the Bulk limits from core.limits
        "core.auth",
        "core.tokens",
        "core.events",
        "aws_lambda_powertools.utilities.batch",
    ),
    "groups": (
        "core.bulk",
        "core.auth",
        "core.tokens",
        "core.events",
        "aws_lambda_powertools.utilities.batch",
    ),
    "bulk": (
        "core.auth",
        "core.tokens",
        "core.events",
        "aws_lambda_powertools.utilities.batch",
    ),
    "management_directory": (
        "handlers.audit",  # reads only: no audit record, no recording stores
        "handlers.resources",
        "core.bulk",
        "core.auth",
        "core.events",
        "aws_lambda_powertools.utilities.batch",
    ),
    "events": (
        "handlers.routing",  # a stream consumer, no REST routes
        "core.filter",
        "core.patch",
        "core.bulk",
        "core.users",
        "core.groups",
        "core.audit",
        "core.auth",
        "core.query.listing",
        "handlers.resources",
    ),
}

# What each handler does need: proves the probe imported the real thing.
NEEDED = {
    "authorizer": ("core.auth", "handlers.aws_clients"),
    "discovery": ("core.discovery", "handlers.routing"),
    "users": ("core.users", "handlers.audit"),
    "groups": ("core.groups.service", "handlers.audit"),
    "bulk": ("core.bulk", "handlers.audit"),
    "events": ("core.events", "aws_lambda_powertools.utilities.batch"),
    "management": (
        "core.management",
        "handlers.problem",
        "core.store.tenants_table",
        "core.events.journal",
    ),
    "setup": ("core.setup_links", "core.setup_desk", "handlers.problem", "core.store.setup_links_table"),
    "management_directory": ("core.directory", "core.query.listing", "handlers.problem"),
}

LAMBDA_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "TABLE_NAME": "scim-imports",
    "SECRETS_PREFIX": "scim/scim-imports/",
    "POWERTOOLS_SERVICE_NAME": "scim",
    "POWERTOOLS_METRICS_NAMESPACE": "ScimImports",
    "LAMBDA_TASK_ROOT": str(SRC),
}


@cache
def imported_by(handler: str, *, traced: bool = False) -> frozenset[str]:
    """`sys.modules` after importing handlers.<handler> in a fresh interpreter.

    `traced`: with TRACING_ENABLED=true, and after creating the function's first boto3 client
    (where the Tracer patches botocore), for the handlers that have one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "PYTHON", "TRACING_"))}
    env |= LAMBDA_ENV | {"PYTHONPATH": str(SRC), "PYTHONDONTWRITEBYTECODE": "1"}
    code = f"import json, sys; import handlers.{handler}"
    if traced:
        env["TRACING_ENABLED"] = "true"
        code += "; from handlers import aws_clients; aws_clients.dynamodb()"
    code += "; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], env=env, cwd=SRC, capture_output=True, text=True, check=True
    )
    return frozenset(json.loads(out.stdout))


def loaded(modules: frozenset[str], name: str) -> bool:
    return name in modules or any(m.startswith(f"{name}.") for m in modules)


@pytest.mark.parametrize("handler", HANDLERS)
def test_handler_imports_what_its_requests_need(handler: str) -> None:
    modules = imported_by(handler)
    assert f"handlers.{handler}" in modules
    assert [m for m in NEEDED[handler] if not loaded(modules, m)] == []


@pytest.mark.parametrize("handler", HANDLERS)
def test_tracing_off_imports_no_xray(handler: str) -> None:
    modules = imported_by(handler)
    assert [m for m in NEVER_UNTRACED if loaded(modules, m)] == []


@pytest.mark.parametrize("handler", [h for h in HANDLERS if h != "discovery"])
def test_tracing_on_patches_botocore_only(handler: str) -> None:
    modules = imported_by(handler, traced=True)
    assert "aws_xray_sdk.ext.botocore" in modules  # AWS calls are X-Ray subsegments
    assert [m for m in NEVER if loaded(modules, m)] == []


def test_discovery_imports_no_botocore_module() -> None:
    """Discovery makes no AWS call. Only botocore's package itself is loaded: powertools' own
    `__init__` imports it (to register its user agent), whatever the function uses."""
    modules = imported_by("discovery")
    assert sorted(m for m in modules if m.startswith("botocore.")) == []


@pytest.mark.parametrize("handler", HANDLERS)
def test_handler_never_imports_dev_tools_or_unused_patches(handler: str) -> None:
    modules = imported_by(handler)
    assert [m for m in NEVER if loaded(modules, m)] == []


@pytest.mark.parametrize("handler", HANDLERS)
def test_handler_never_imports_boto3(handler: str) -> None:
    modules = imported_by(handler, traced=handler != "discovery")  # with its first client made
    assert [m for m in NEVER_SDK_EXTRAS if loaded(modules, m)] == []


@pytest.mark.parametrize("handler", HANDLERS)
def test_handler_never_imports_the_powertools_resolver(handler: str) -> None:
    modules = imported_by(handler, traced=handler != "discovery")
    assert [m for m in NO_RESOLVER if loaded(modules, m)] == []


@pytest.mark.parametrize("handler", HANDLERS)
def test_handler_does_not_import_what_its_requests_never_use(handler: str) -> None:
    modules = imported_by(handler)
    assert [m for m in NOT_NEEDED[handler] if loaded(modules, m)] == []


def test_no_boto3_resource_in_the_lambda_package() -> None:
    """boto3 resources cost more at cold start than clients (their models load on creation)."""
    found = []
    for path in sorted([*SRC.glob("core/**/*.py"), *SRC.glob("handlers/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "resource" and isinstance(node.ctx, ast.Load):
                owner = ast.unparse(node.value)
                if owner == "boto3" or owner.endswith(("session", "Session()")):
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert found == []
