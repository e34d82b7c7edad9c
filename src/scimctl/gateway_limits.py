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


def call_with_deadline(call: Callable[[], Any], function_timeout: float, integration_timeout: float) -> Any:
    """``call()``, or the timeout that ends it first.

    Python cannot stop a thread, so a call past its deadline keeps running in the background (as a
    Lambda invocation keeps running after API Gateway has answered); its result is dropped.
    """
    outcome: list[Any] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="local-invocation", daemon=True).start()
    if not done.wait(min(function_timeout, integration_timeout)):
        if function_timeout < integration_timeout:
            raise FunctionTimedOut(f"Task timed out after {function_timeout:.2f} seconds")
        raise IntegrationTimedOut(f"no answer within {integration_timeout:.2f} seconds")
    if failure:
        raise failure[0]
    return outcome[0]
