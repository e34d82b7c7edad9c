"""boto3 clients, created on first use (after moto starts in tests) and reused while warm."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from handlers.aws_retries import RetryLimits
from handlers.aws_retries import install as install_retries

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

# Request path (authorizer, Users, Groups: 10 s Lambda timeout; Bulk: 29 s). Each call gets at most
# 3 attempts (botocore's "standard" retries: exponential backoff with full jitter, plus contended
# transactions, see handlers.aws_retries), and a retry only starts if a whole attempt (connect +
# read timeout) still ends within 5 s of the call's start. DynamoDB answers in milliseconds, so
# throttling and 5xx are retried at once; an endpoint that hangs costs one call 3-5 s, then the
# request answers a SCIM 503 with Retry-After.
REQUEST_CONNECT_TIMEOUT = 1.0
REQUEST_READ_TIMEOUT = 2.0
REQUEST_LIMITS = RetryLimits(max_attempts=3, call_budget_seconds=5.0, attempt_seconds=3.0)
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": REQUEST_LIMITS.max_attempts},
    connect_timeout=REQUEST_CONNECT_TIMEOUT,
    read_timeout=REQUEST_READ_TIMEOUT,
    tcp_keepalive=True,
)

# The events function has 60 s and its own retries of rejected entries (core.events.publisher),
# bounded by the invocation's time budget (handlers.events).
EVENTS_LIMITS = RetryLimits(max_attempts=3, call_budget_seconds=8.0, attempt_seconds=4.0)
EVENTS_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": EVENTS_LIMITS.max_attempts},
    connect_timeout=1.0,
    read_timeout=3.0,
    tcp_keepalive=True,
)


def _client(service: str, config: Config, limits: RetryLimits) -> Any:
    client = boto3.client(service, config=config)  # type: ignore[call-overload]
    install_retries(client, limits)
    return client


@cache
def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb", CLIENT_CONFIG, REQUEST_LIMITS)
    return client


@cache
def secretsmanager() -> SecretsManagerClient:
    client: SecretsManagerClient = _client("secretsmanager", CLIENT_CONFIG, REQUEST_LIMITS)
    return client


# The audit trail is best effort and must not eat the request's time: one retry, short timeouts.
# A client of its own also keeps its calls apart from the request's (benchmarks count those).
AUDIT_LIMITS = RetryLimits(max_attempts=2, call_budget_seconds=2.0, attempt_seconds=2.0)
AUDIT_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": AUDIT_LIMITS.max_attempts},
    connect_timeout=1,
    read_timeout=1,
    tcp_keepalive=True,
)


@cache
def audit_dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb", AUDIT_CLIENT_CONFIG, AUDIT_LIMITS)
    return client


@cache
def events() -> EventBridgeClient:
    client: EventBridgeClient = _client("events", EVENTS_CLIENT_CONFIG, EVENTS_LIMITS)
    return client


def reset() -> None:
    """Forget cached clients (tests start a fresh moto mock per test)."""
    dynamodb.cache_clear()
    secretsmanager.cache_clear()
    audit_dynamodb.cache_clear()
    events.cache_clear()
