"""A benchmark tenant from scratch: AWS mocked, table from template.yaml, tenant, token, users.

Every AWS service is moto's; DynamoDB is moto patched by `scimctl.moto_dynamodb`, the engine the
local gateway and the tests use, and `bench.dynamodb_usage` meters what each request consumed.
The tenant and its token are made with the admin code (`scimctl`), the users, groups and
memberships are loaded straight into moto's table (`bench.seed`), and the real authorizer checks
the token once, so handlers see the context a real request carries.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from bench.driver import Driver, Sample
from bench.dynamodb_usage import DynamoDBUsage
from bench.meter import AwsMeter, Stopwatch, moto_excluded
from bench.seed import SeededTenant, tenant_items
from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from handlers import authorizer, aws_clients, reset_worker, resources, settings
from scimctl import moto_dynamodb
from scimctl.admin import Admin
from scimctl.template import load_template, table_create_kwargs

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SeedTime:
    """Building the tenant's items and loading them into moto's table."""

    items: int
    seconds: float  # wall clock
    cpu_seconds: float  # process CPU


@dataclass
class BenchTenant:
    driver: Driver
    seeded: SeededTenant
    authorization: Sample  # the authorizer's first (uncached) invocation
    token: str
    seed: SeedTime


def reset_handler_state() -> None:
    """Forget every per-container cache, as a cold start would."""
    aws_clients.reset()
    settings.reset()
    authorizer.authenticator.cache_clear()
    resources.reset()
    reset_worker.tenant_reset.cache_clear()  # their clients too (a role recompute job's write)
    reset_worker.role_recompute.cache_clear()


def moto_table(name: str) -> Table:
    table: Table = dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_REGION"]].get_table(name)
    return table


def _seed(table: str, tenant_id: str, users: int, spare: int) -> tuple[SeededTenant, SeedTime]:
    """The tenant's items, loaded into moto's table. The garbage collector is off meanwhile: the
    load only adds objects, and each full collection would walk every item loaded so far."""
    enabled = gc.isenabled()
    gc.disable()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        seeded, items = tenant_items(table, tenant_id, users, spare)
        count = moto_dynamodb.load_items(moto_table(table), items)
    finally:
        if enabled:
            gc.enable()
    return seeded, SeedTime(count, time.perf_counter() - wall, time.process_time() - cpu)


@contextmanager
def bench_tenant(users: int, spare: int, tenant_id: str = "bench") -> Iterator[BenchTenant]:
    reset_handler_state()
    moto_dynamodb.install()
    stopwatch = Stopwatch()
    table = os.environ["TABLE_NAME"]
    with mock_aws(), DynamoDBUsage() as usage, moto_excluded(stopwatch, usage.answer):
        admin_db = boto3.client("dynamodb")
        admin_db.create_table(TableName=table, **table_create_kwargs(load_template(ROOT / "template.yaml")))
        admin = Admin(
            TenantTable(admin_db, table),
            TokenHashStore(boto3.client("secretsmanager"), os.environ["SECRETS_PREFIX"]),
        )
        admin.create_tenant(tenant_id)
        token = admin.issue_token(tenant_id, "bench").token
        seeded, seed = _seed(table, tenant_id, users, spare)

        meter = AwsMeter(stopwatch)
        for label, client in (
            ("dynamodb", aws_clients.dynamodb()),
            ("audit", aws_clients.audit_dynamodb()),
            ("secretsmanager", aws_clients.secretsmanager()),
        ):
            meter.attach(client, label)
        driver = Driver(tenant_id, meter, stopwatch, usage.reset)
        authorization = driver.authorize(token)
        yield BenchTenant(driver, seeded, authorization, token, seed)
    reset_handler_state()
