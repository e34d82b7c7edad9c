"""Tenant resets under `scimctl serve`: the TenantReset function run in a thread, as Lambda's
asynchronous Invoke would run it.

`handlers.reset_worker.start` (called by the management function, then by the worker itself to
hand over) is pointed here: each call runs one invocation of the real function in a thread of its
own, under the gateway's invocation lock like every other function, so requests are served between
invocations. A failed invocation is retried twice, as Lambda retries asynchronous invocations;
after each invocation the provisioning events pump runs (the deletions' events).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from scimctl.gateway import LocalGateway

log = logging.getLogger("scimctl.local_reset")
RESET_FUNCTION = "TenantResetFunction"
ATTEMPTS = 3  # Lambda: the invocation and two retries (EventInvokeConfig MaximumRetryAttempts 2)
RETRY_DELAY_SECONDS = 1.0


def install(gateway: LocalGateway) -> Callable[[], None]:
    """Run reset invocations in `gateway`'s process; returns the undo."""
    from handlers import reset_worker  # noqa: PLC0415 - after the gateway set the functions' env

    function = gateway.functions[RESET_FUNCTION]

    def invoke(payload: dict[str, str]) -> None:
        for attempt in range(ATTEMPTS):
            try:
                function.invoke(dict(payload))
                break
            except Exception:  # what Lambda would log and retry
                log.exception("tenant reset invocation failed (attempt %d of %d)", attempt + 1, ATTEMPTS)
                time.sleep(RETRY_DELAY_SECONDS)
        if gateway.after_write is not None:
            with gateway._invoke_lock:  # the lock order every function uses: invocation, then AWS
                try:
                    gateway.after_write()
                except Exception:
                    log.exception("publishing local events failed")

    def start(payload: dict[str, str]) -> None:
        threading.Thread(target=invoke, args=(payload,), name="local-tenant-reset", daemon=True).start()

    reset_worker.set_starter(start)
    return lambda: reset_worker.set_starter(None)
