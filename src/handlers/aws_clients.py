"""boto3 clients, created on first use (after moto starts in tests) and reused while warm."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

# Retries with backoff and jitter ("standard" mode) that fit well inside the 10 s function timeout;
# what still fails becomes a SCIM 503 that the IdP retries.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=3,
    tcp_keepalive=True,
)


@cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


@cache
def secretsmanager() -> SecretsManagerClient:
    return boto3.client("secretsmanager", config=CLIENT_CONFIG)


# The audit trail is best effort and must not eat the request's time: one retry, short timeouts.
# A client of its own also keeps its calls apart from the request's (benchmarks count those).
AUDIT_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2},
    connect_timeout=1,
    read_timeout=1,
    tcp_keepalive=True,
)


@cache
def audit_dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=AUDIT_CLIENT_CONFIG)


@cache
def events() -> EventBridgeClient:
    # The stream consumer has a minute: the standard retries, then its own retry of rejected entries.
    return boto3.client("events", config=CLIENT_CONFIG)


def reset() -> None:
    """Forget cached clients (tests start a fresh moto mock per test)."""
    dynamodb.cache_clear()
    secretsmanager.cache_clear()
    audit_dynamodb.cache_clear()
    events.cache_clear()
