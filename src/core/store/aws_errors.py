"""Map botocore failures to domain errors: an outage is a 503 (IdPs retry), never a 401 or 500."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
    }
)


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
