"""botocore's standard retries, plus contended DynamoDB transactions, inside a time budget.

`install` keeps botocore's own "standard" retry decision (which errors are transient, the retry
quota, exponential backoff with full jitter) and changes two things:

* A ``TransactionCanceledException`` whose only reasons are ``TransactionConflict`` /
  ``ThrottlingError`` / ``ProvisionedThroughputExceeded`` is retried too (botocore treats it as a
  client error). Nothing of a cancelled transaction was written, so sending it again is safe; two
  IdP workers touching one group item at once is the common cause.
* No retry starts unless it can finish inside the call's budget: the smaller of the client's
  per-call budget and what is left of the invocation's (`core.store.aws_errors.time_budget`). The
  last error then surfaces as usual and becomes a SCIM 503 with Retry-After.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from botocore.retries import standard

from core.store.aws_errors import remaining_budget

CONTENDED_REASONS: Final = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
# Contention clears in milliseconds: DynamoDB's own non-throttling base (25 ms), with full jitter.
CONTENTION_BACKOFF_SECONDS: Final = 0.025
_STARTED = "scim_call_started"  # key in botocore's per-call request context


def _monotonic() -> float:
    return time.monotonic()  # looked up per call, so that tests can drive the clock


def _uniform() -> float:
    return random.random()  # noqa: S311 - jitter, not crypto  # nosec B311


@dataclass(frozen=True, slots=True)
class RetryLimits:
    max_attempts: int  # attempts per call, the first included
    call_budget_seconds: float  # a retry must be able to finish within this, from the call's start
    attempt_seconds: float  # the longest one attempt can take (connect + read timeout)


def cancelled_by_contention(parsed: Any) -> bool:
    """A cancelled transaction that failed only because of contention or throttling."""
    if not isinstance(parsed, dict) or parsed.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    codes = {str(r.get("Code") or "None") for r in parsed.get("CancellationReasons") or []}
    return bool(codes & CONTENDED_REASONS) and codes <= CONTENDED_REASONS | {"None"}


class BudgetedRetries:
    """A ``needs-retry`` handler: seconds to sleep before the next attempt, or None to give up."""

    def __init__(
        self,
        standard_decision: Callable[..., float | None],
        limits: RetryLimits,
        *,
        clock: Callable[[], float] | None = None,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        self._standard = standard_decision
        self._limits = limits
        self._clock = clock or _monotonic
        self._jitter = jitter or _uniform

    def start_clock(self, context: dict[str, Any], **_: Any) -> None:
        context[_STARTED] = self._clock()

    def __call__(self, **kwargs: Any) -> float | None:
        delay = self._standard(**kwargs)
        attempts = int(kwargs.get("attempts") or 1)
        if delay is None and attempts < self._limits.max_attempts:
            response = kwargs.get("response")
            if response is not None and cancelled_by_contention(response[1]):
                delay = self._jitter() * CONTENTION_BACKOFF_SECONDS * 2 ** (attempts - 1)
        if delay is None:
            return None
        return delay if self._fits(kwargs, delay) else None

    def _fits(self, kwargs: dict[str, Any], delay: float) -> bool:
        context = (kwargs.get("request_dict") or {}).get("context") or {}
        started = float(context.get(_STARTED, self._clock()))
        left = self._limits.call_budget_seconds - (self._clock() - started)
        invocation_left = remaining_budget(self._clock)
        if invocation_left is not None:
            left = min(left, invocation_left)
        return delay + self._limits.attempt_seconds <= left


def install(client: Any, limits: RetryLimits) -> BudgetedRetries:
    """Replace the client's retry handler with the budgeted one (same unique id, so only one runs)."""
    service = client.meta.service_model.service_id.hyphenize()
    events = client.meta.events
    unique_id = f"retry-config-{service}"
    # Unregister the handler botocore installed, then let botocore build a fresh standard one (its
    # public entry point, stable across versions) and wrap it.
    events.unregister(f"needs-retry.{service}", unique_id=unique_id)
    standard_handler = standard.register_retry_handler(client, max_attempts=limits.max_attempts)
    events.unregister(f"needs-retry.{service}", unique_id=unique_id)
    budgeted = BudgetedRetries(standard_handler.needs_retry, limits)
    events.register(f"before-call.{service}", budgeted.start_clock)
    events.register(f"needs-retry.{service}", budgeted, unique_id=unique_id)
    return budgeted
