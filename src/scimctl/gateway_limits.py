"""API Gateway REST's and Lambda's hard limits, as the local gateway enforces them.

The sources are those of ../shared/research/api-gateway-fidelity.md (short names in brackets) and
docs/architecture.md, "Local gateway vs API Gateway":

* 10 MB request body: API Gateway answers 413 itself, with a body that a gateway response cannot
  customise [Notes-2023, zenn]; captured as ``text; charset=utf-8`` "HTTP content length exceeded
  10485760 bytes." (koki-develop/lgtm-generator#10).
* 6 MB Lambda invoke payload, measured on the whole event [Lambda-Invoke]; Lambda refuses a bigger
  one ("Request must be smaller than 6291456 bytes for the InvokeFunction operation", zaccharles,
  "Deep Dive: Lambda's Request Payload Size Limit") and API Gateway answers 413
  ``{"message": "Request Too Long"}`` with ``x-amzn-ErrorType: BadRequestException``, again not
  customisable (koki-develop/lgtm-generator#10, captured).
* 6 MB Lambda response (6 MiB + 100 bytes): a bigger proxy result is a function error, and API
  Gateway answers ``INTEGRATION_FAILURE`` (502 by default; DataBiosphere/azul#8258, captured).
* 29 s integration timeout [Quotas]: past it, ``INTEGRATION_TIMEOUT``; a function's own
  ``Timeout`` ends it earlier as a function error, ``INTEGRATION_FAILURE`` [Lambda-APIGW].
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, Final

MAX_BODY_BYTES: Final = 10 * 1024 * 1024  # API Gateway REST payload limit
LAMBDA_REQUEST_BYTES: Final = 6_291_456  # "Request must be smaller than 6291456 bytes"
LAMBDA_RESPONSE_BYTES: Final = 6 * 1024 * 1024 + 100
INTEGRATION_TIMEOUT_SECONDS: Final = 29.0

# Gateway responses whose body and status API Gateway does not let a template customise.
NOT_CUSTOMISABLE: Final = frozenset({"REQUEST_TOO_LARGE"})
# What API Gateway sends for a body over 10 MB (before any of the API's own processing).
BODY_OVER_10_MB: Final = (
    413,
    (("Content-Type", "text; charset=utf-8"),),
    b"HTTP content length exceeded 10485760 bytes.",
)


def payload_bytes(payload: Any) -> int:
    """Size of an invoke payload as JSON; the Lambda runtimes serialise with ASCII escapes."""
    return len(json.dumps(payload, separators=(",", ":")))


def within(payload: Any, limit: int, text: str | None) -> bool:
    """Whether ``payload`` (which carries ``text``) fits in ``limit`` bytes of JSON.

    A character takes at most 12 bytes in ASCII-escaped JSON (a surrogate pair), so a short text
    needs no serialisation: the common case costs nothing.
    """
    if text is None or len(text) * 12 + 65_536 < limit:
        return True
    return payload_bytes(payload) <= limit


class FunctionTimedOut(Exception):
    """The function ran past its own ``Timeout`` (Lambda: "Task timed out after N seconds")."""


class IntegrationTimedOut(Exception):
    """The function did not answer within API Gateway's integration timeout."""


class _RunClock:
    """Seconds an invocation has run, not counting the time it queued for the invocation lock.

    Lambda would run concurrent requests in more containers; locally they wait for one another
    (scimctl.gateway.LocalFunction), and that wait must not count against any timeout.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0.0
        self._since: float | None = time.monotonic()

    def pause(self) -> None:
        with self._lock:
            if self._since is not None:
                self._total += time.monotonic() - self._since
                self._since = None

    def resume(self) -> None:
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()

    def seconds(self) -> float:
        with self._lock:
            running = 0.0 if self._since is None else time.monotonic() - self._since
            return self._total + running


_current = threading.local()


def queued() -> None:
    """Called by an invocation about to wait for its turn (or to load its handler: Lambda's init)."""
    clock: _RunClock | None = getattr(_current, "clock", None)
    if clock is not None:
        clock.pause()


def running() -> None:
    """Called by an invocation when its handler starts."""
    clock: _RunClock | None = getattr(_current, "clock", None)
    if clock is not None:
        clock.resume()


def call_with_deadline(call: Callable[[], Any], function_timeout: float, integration_timeout: float) -> Any:
    """``call()``, or the timeout that ends it first (its queueing time not counted).

    Python cannot stop a thread, so a call past its deadline keeps running in the background (as a
    Lambda invocation keeps running after API Gateway has answered); its result is dropped.
    """
    outcome: list[Any] = []
    failure: list[BaseException] = []
    done = threading.Event()
    clock = _RunClock()
    limit = min(function_timeout, integration_timeout)

    def run() -> None:
        _current.clock = clock
        try:
            outcome.append(call())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="local-invocation", daemon=True).start()
    while not done.wait(max(0.0, limit - clock.seconds())):
        if clock.seconds() >= limit:
            if function_timeout < integration_timeout:
                raise FunctionTimedOut(f"Task timed out after {function_timeout:.2f} seconds")
            raise IntegrationTimedOut(f"no answer within {integration_timeout:.2f} seconds")
    if failure:
        raise failure[0]
    return outcome[0]
