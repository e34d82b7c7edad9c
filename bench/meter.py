"""What one handler invocation costs: AWS calls and items (from botocore's events) and CPU time.

CPU is `time.thread_time()` around the invocation minus the thread time spent standing in for
AWS: inside moto's request handling (its botocore stub, with the capacity metering around it) and
inside these counting hooks. botocore's own work (building, signing and parsing each request) stays in:
a Lambda function does that work too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.core.botocore_stubber import BotocoreStubber


class Stopwatch:
    """Thread CPU time, minus the time spent in `excluded()` blocks (nested blocks count once).

    `excluded()` is a reusable object, not a generator context manager: each block reads the clock
    first thing on entry and last thing on exit, so the harness's own bookkeeping stays out."""

    def __init__(self) -> None:
        self.excluded_seconds = 0.0
        self._block = _Excluded(self)

    def excluded(self) -> AbstractContextManager[None]:
        return self._block

    def exclude(self, seconds: float) -> None:
        """Count `seconds` (read by the caller, outside any `excluded()` block) as excluded."""
        self.excluded_seconds += seconds


class _Excluded(AbstractContextManager[None]):
    __slots__ = ("_depth", "_since", "_watch")

    def __init__(self, watch: Stopwatch) -> None:
        self._watch = watch
        self._depth = 0
        self._since = 0.0

    def __enter__(self) -> None:
        now = time.thread_time()
        if self._depth == 0:
            self._since = now
        self._depth += 1

    def __exit__(self, *_: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._watch.excluded_seconds += time.thread_time() - self._since


Observer = Callable[[Any, Callable[[], Any]], Any]  # (request, moto's handling) -> moto's answer


@contextmanager
def moto_excluded(stopwatch: Stopwatch, observer: Observer | None = None) -> Iterator[None]:
    """Count moto's handling of each request as AWS time, not the handler's; `observer` (what
    each DynamoDB request consumed: `bench.dynamodb_usage`) runs around it, in the same time."""
    original: Callable[..., Any] = BotocoreStubber.process_request

    def timed(self: BotocoreStubber, request: Any) -> Any:
        with stopwatch.excluded():
            if observer is None:
                return original(self, request)
            return observer(request, lambda: original(self, request))

    BotocoreStubber.process_request = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]


@dataclass
class CallCounts:
    """AWS calls by client label ("dynamodb", "audit", "secretsmanager") and operation."""

    calls: list[tuple[str, str]] = field(default_factory=list)  # in the order they were made
    items_read: int = 0
    items_written: int = 0

    def total(self, *labels: str) -> int:
        return sum(1 for label, _ in self.calls if label in labels)

    def operations(self, *labels: str) -> list[str]:
        return [op for label, op in self.calls if label in labels]


class AwsMeter:
    """Counts the calls of the clients it is attached to (botocore events; moto or not), and the
    thread time of each whole call (`sdk_seconds`): from the client's entry into the call
    (``_make_api_call``, where botocore starts its bookkeeping, before its first event) to its
    return or raise. botocore's events alone would leave its pre-request work (operation lookup,
    request context, auth resolution: about 25 µs a call here) on the handler's side."""

    def __init__(self, stopwatch: Stopwatch) -> None:
        self.stopwatch = stopwatch
        self.counts = CallCounts()
        self.sdk_seconds = 0.0

    def attach(self, client: Any, label: str) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        events = client.meta.events

        # The counting hooks' own bookkeeping is excluded from the +SDK time too.
        def before(model: Any, params: dict[str, Any], **_: Any) -> None:
            started = time.thread_time()
            self.counts.calls.append((label, model.name))
            if service == "dynamodb":
                self.counts.items_written += _items_written(model.name, params)
            self.stopwatch.exclude(time.thread_time() - started)

        def after(model: Any, parsed: dict[str, Any], **_: Any) -> None:
            started = time.thread_time()
            if service == "dynamodb":
                self.counts.items_read += _items_read(parsed)
            self.stopwatch.exclude(time.thread_time() - started)

        events.register_first(f"before-parameter-build.{service}", before)
        events.register_first(f"after-call.{service}", after)
        call = client._make_api_call  # the bound method every client operation goes through

        def timed_call(operation_name: str, api_params: dict[str, Any]) -> Any:
            started = time.thread_time()
            try:
                return call(operation_name, api_params)
            finally:
                self.sdk_seconds += time.thread_time() - started

        client._make_api_call = timed_call

    def take(self) -> CallCounts:
        counts, self.counts = self.counts, CallCounts()
        return counts


def _items_written(operation: str, params: dict[str, Any]) -> int:
    if operation in {"PutItem", "DeleteItem", "UpdateItem"}:
        return 1
    if operation == "BatchWriteItem":
        return sum(len(v) for v in params.get("RequestItems", {}).values())
    if operation == "TransactWriteItems":
        return sum(1 for i in params.get("TransactItems", []) if "ConditionCheck" not in i)
    return 0


def _items_read(parsed: dict[str, Any]) -> int:
    if "Items" in parsed:
        return len(parsed["Items"])
    if "Item" in parsed:
        return 1
    if "Responses" in parsed and isinstance(parsed["Responses"], dict):
        return sum(len(v) for v in parsed["Responses"].values())
    return 0
