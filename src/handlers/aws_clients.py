"""AWS SDK clients, created on first use (after moto starts in tests) and reused while warm.

Plain botocore clients, the ones boto3.client() returns: importing boto3 also imports s3transfer
and boto3's resource layer (65-100 ms of every cold start), for nothing a function uses."""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.session import Session, get_session

from handlers.aws_retries import RetryLimits
from handlers.aws_retries import install as install_retries
from handlers.observability import patch_aws_sdk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

# Request path (authorizer, Users, Groups: 10 s Lambda timeout; Bulk: 25 s). Each call gets at most
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


def _session() -> Session:
    boto3: Any = sys.modules.get("boto3")
    if boto3 is not None:
        # Already loaded by the process (tests, benchmarks, the local gateway: moto imports it):
        # share its default session, exactly what boto3.client() used, with its warm loaders.
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        shared: Session = boto3.DEFAULT_SESSION._session
        return shared
    return _own_session()


@cache
def _own_session() -> Session:
    # One session per container, as boto3's default session: clients share its loaders and
    # credentials (resolved once, from the function's environment).
    return get_session()


def _client(service: str, config: Config, limits: RetryLimits) -> Any:
    patch_aws_sdk()  # X-Ray subsegments for AWS calls, when tracing is on
    client = _session().create_client(service, config=config)
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


@cache
def sqs() -> Any:
    """The webhooks function's: each failed attempt's back-off (ChangeMessageVisibility)."""
    return _client("sqs", CLIENT_CONFIG, REQUEST_LIMITS)


@cache
def apigateway() -> Any:
    """The management function's: authorizer cache flushes and tenants' usage plan keys."""
    return _client("apigateway", CLIENT_CONFIG, REQUEST_LIMITS)


@cache
def lambda_() -> Any:
    """Starts a tenant reset's worker (an asynchronous Invoke: it answers at once)."""
    return _client("lambda", CLIENT_CONFIG, REQUEST_LIMITS)


def reset() -> None:
    """Forget cached clients and the session (tests start a fresh moto mock per test)."""
    _own_session.cache_clear()
    dynamodb.cache_clear()
    secretsmanager.cache_clear()
    audit_dynamodb.cache_clear()
    events.cache_clear()
    apigateway.cache_clear()
    lambda_.cache_clear()
    sqs.cache_clear()
