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


# The keys every invocation sets. Any other key a request appends (tenant_id, token_id: handlers.http,
# handlers.authorizer) is removed when the next invocation starts, so a request never logs the
# previous request's tenant (what powertools' clear_state does, without rebuilding the formatter).
_INVOCATION_KEYS = (
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "correlation_id",
)
_BASE_KEYS = frozenset(logger.get_current_keys()) | frozenset(_INVOCATION_KEYS)
_invoked = False


def _is_cold_start() -> bool:
    global _invoked
    first, _invoked = not _invoked, True
    return first and os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "provisioned-concurrency"


def _begin(event: Any, context: Any, correlation_id: bool) -> None:
    """The log keys of this invocation: the Lambda context's, the request id, no previous tenant."""
    formatter = logger.registered_formatter  # looked up once: the Logger finds it on every call
    appended = [key for key in formatter.get_current_keys() if key not in _BASE_KEYS]
    if appended:
        formatter.remove_keys(appended)
    formatter.append_keys(
        cold_start=_is_cold_start(),
        function_name=getattr(context, "function_name", None),
        function_memory_size=getattr(context, "memory_limit_in_mb", None),
        function_arn=getattr(context, "invoked_function_arn", None),
        function_request_id=getattr(context, "aws_request_id", None),
        correlation_id=_request_id(event) if correlation_id else None,
    )


def lambda_entry(handler: Handler, *, correlation_id: bool = True) -> Handler:
    """A Lambda entry point: structured log context (cold start, function, request id as
    correlation id), metrics flushed as EMF after each invocation that added any, an X-Ray
    segment when on.

    The same keys and EMF output as powertools' ``inject_lambda_context(clear_state=True)`` and
    ``log_metrics``, at a fraction of their CPU per request (they rebuild the context model and
    the formatter's keys, and warn on every invocation without metrics): docs/performance.md."""
    inner: Callable[..., Any] = handler
    if tracing_enabled():
        inner = _tracer().capture_lambda_handler(inner, capture_response=False)

    @functools.wraps(handler)
    def entry(event: Any, context: Any) -> Any:
        _begin(event, context, correlation_id)
        try:
            return inner(event, context)
        finally:
            if metrics.metric_set:
                metrics.flush_metrics()

    return cast(Handler, entry)
