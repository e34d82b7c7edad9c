"""Shared fixtures: moto for every AWS call, a table built from template.yaml, fresh caches.

The environment is set before any handler module is imported, as Lambda would set it.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent
TABLE_NAME = "scim-test"
SECRETS_PREFIX = "scim/scim-test/"

for key, value in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "TABLE_NAME": TABLE_NAME,
    "SECRETS_PREFIX": SECRETS_PREFIX,
    "POWERTOOLS_SERVICE_NAME": "scim",
    "POWERTOOLS_METRICS_NAMESPACE": "ScimTest",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_DEV": "0",
}.items():
    os.environ[key] = value
os.environ.pop("AWS_PROFILE", None)

from core.store.tenants_table import TenantTable  # noqa: E402
from core.store.token_hashes import TokenHashStore  # noqa: E402
from handlers import authorizer, aws_clients, settings  # noqa: E402
from handlers.observability import logger  # noqa: E402
from scimctl.admin import Admin  # noqa: E402
from scimctl.template import load_template, table_create_kwargs  # noqa: E402

TEMPLATE = load_template(ROOT / "template.yaml")


def reset_handler_state() -> None:
    """Forget every per-container cache, as a cold start would."""
    aws_clients.reset()
    settings.reset()
    authorizer.authenticator.cache_clear()


@pytest.fixture
def aws() -> Iterator[None]:
    reset_handler_state()
    with mock_aws():
        boto3.client("dynamodb").create_table(TableName=TABLE_NAME, **table_create_kwargs(TEMPLATE))
        yield
    reset_handler_state()


@pytest.fixture
def table(aws: None) -> TenantTable:
    return TenantTable(boto3.client("dynamodb"), TABLE_NAME)


@pytest.fixture
def hashes(aws: None) -> TokenHashStore:
    return TokenHashStore(boto3.client("secretsmanager"), SECRETS_PREFIX)


@pytest.fixture
def admin(table: TenantTable, hashes: TokenHashStore) -> Admin:
    return Admin(table, hashes)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Everything the powertools Logger writes during the test (its handler binds stdout at import)."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)
