"""Map botocore failures to domain errors: an outage is a 503 (IdPs retry), never a 401 or 500."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from botocore.exceptions import BotoCoreError, ClientError

from core.errors import ServiceUnavailable

# Error codes that mean "try again later" rather than "your request is wrong".
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "InternalServiceError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "LimitExceededException",
        "TransactionInProgressException",
        "InternalException",  # EventBridge
        "InternalServerException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "TooManyRequestsException",
    }
)

# When the current invocation must have finished its AWS calls (time.monotonic), if it says so.
_deadline: ContextVar[float | None] = ContextVar("aws_deadline", default=None)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in TRANSIENT_CODES or int(status) >= 500
    # Connection errors, timeouts and the like.
    return isinstance(exc, BotoCoreError)


@contextmanager
def unavailable_on_outage(dependency: str) -> Iterator[None]:
    """Turn transient AWS failures into ServiceUnavailable; let everything else propagate."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        if is_transient(exc):
            raise ServiceUnavailable(f"{dependency} is temporarily unavailable.") from exc
        raise


@contextmanager
def time_budget(seconds: float, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """AWS calls made inside stop retrying once `seconds` have passed (see handlers.aws_retries).

    Nested budgets only ever shorten the outer one.
    """
    outer = _deadline.get()
    deadline = clock() + seconds
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining_budget(clock: Callable[[], float] = time.monotonic) -> float | None:
    """Seconds left in the current time budget, or None when there is none."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - clock()
