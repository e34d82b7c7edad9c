"""Observability shared by every handler: one Logger and Metrics per process, X-Ray when enabled.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE (set per stack in template.yaml). X-Ray tracing is opt-in
(``TRACING_ENABLED``, from the stack's EnableTracing parameter): the powertools Tracer and the X-Ray
SDK cost 160-290 ms of import at every cold start, so they are imported only when it is on.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

TRACING_ENV = "TRACING_ENABLED"
_TRUE = frozenset({"1", "true", "yes", "on"})

# Request bodies and headers are never logged at INFO: they may hold tokens or personal data.
logger = Logger(log_uncaught_exceptions=True)
metrics = Metrics()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    return os.environ.get(TRACING_ENV, "false").strip().lower() in _TRUE


@functools.cache
def _tracer() -> Any:
    from aws_lambda_powertools.tracing import Tracer  # noqa: PLC0415 - X-Ray's import only when on

    # Patching is explicit (patch_aws_sdk), botocore only: every call leaving a function is an AWS
    # SDK call; patching everything also imports and wraps sqlite3 and http.client, for nothing.
    return Tracer(auto_patch=False)


@functools.cache
def patch_aws_sdk() -> None:
    """Trace botocore calls as X-Ray subsegments; called once, before the first client."""
    if tracing_enabled():
        _tracer().patch(["botocore"])


def _request_id(event: Any) -> str | None:
    ctx = event.get("requestContext") if isinstance(event, dict) else None
    value = ctx.get("requestId") if isinstance(ctx, dict) else None
    return value if isinstance(value, str) else None


def lambda_entry(handler: Handler, *, correlation_id: bool = True) -> Handler:
    """A Lambda entry point: structured log context (cold start, function, request id as
    correlation id), metrics flushed as EMF after each invocation, an X-Ray segment when on.

    The correlation id is read straight from the event (powertools would compile and run a
    JMESPath expression on every request for the same lookup)."""
    inner: Callable[..., Any] = handler
    if tracing_enabled():
        inner = _tracer().capture_lambda_handler(inner, capture_response=False)
    inner = metrics.log_metrics(inner)
    if correlation_id:
        measured = inner

        @functools.wraps(handler)
        def with_correlation_id(event: Any, context: Any) -> Any:
            logger.set_correlation_id(_request_id(event))
            return measured(event, context)

        inner = with_correlation_id
    return cast(Handler, logger.inject_lambda_context(inner, clear_state=True))
