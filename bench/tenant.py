"""A benchmark tenant from scratch: AWS mocked, table from template.yaml, tenant, token, users.

Secrets Manager is always moto's. DynamoDB is moto's or the in-memory table (`bench.seed`). The
tenant and its token are made with the admin code (`scimctl`), and the real authorizer checks the
token once, so handlers see the context a real request carries.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from moto import mock_aws

from bench.driver import Driver, Sample
from bench.meter import AwsMeter, Stopwatch, moto_excluded
from bench.seed import Backend, SeededTenant, tenant_items
from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from handlers import authorizer, aws_clients, resources, settings
from scimctl.admin import Admin
from scimctl.template import load_template, table_create_kwargs

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class BenchTenant:
    driver: Driver
    seeded: SeededTenant
    authorization: Sample  # the authorizer's first (uncached) invocation
    token: str


def reset_handler_state() -> None:
    """Forget every per-container cache, as a cold start would."""
    aws_clients.reset()
    settings.reset()
    authorizer.authenticator.cache_clear()
    resources.reset()


@contextmanager
def bench_tenant(backend: Backend, users: int, spare: int, tenant_id: str = "bench") -> Iterator[BenchTenant]:
    reset_handler_state()
    stopwatch = Stopwatch()
    table = os.environ["TABLE_NAME"]
    with mock_aws(), moto_excluded(stopwatch):
        backend.create_table(table, table_create_kwargs(load_template(ROOT / "template.yaml")))
        admin_db = boto3.client("dynamodb")
        backend.serve(admin_db, stopwatch)
        admin = Admin(
            TenantTable(admin_db, table),
            TokenHashStore(boto3.client("secretsmanager"), os.environ["SECRETS_PREFIX"]),
        )
        admin.create_tenant(tenant_id)
        token = admin.issue_token(tenant_id, "bench").token
        seeded, items = tenant_items(table, tenant_id, users, spare)
        backend.load(table, items)

        meter = AwsMeter(stopwatch)
        for label, client in (
            ("dynamodb", aws_clients.dynamodb()),
            ("audit", aws_clients.audit_dynamodb()),
            ("secretsmanager", aws_clients.secretsmanager()),
        ):
            if label != "secretsmanager":
                backend.serve(client, stopwatch)
            meter.attach(client, label)
        memory = backend.memory
        driver = Driver(tenant_id, meter, stopwatch, memory.reset if memory else lambda: None)
        authorization = driver.authorize(token)
        yield BenchTenant(driver, seeded, authorization, token)
    reset_handler_state()
