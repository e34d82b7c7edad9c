"""Invoke the real Lambda handlers in process, as API Gateway would, and meter each invocation.

Every request carries the context the real authorizer returned for a real token of the tenant
(tenant id, token id, profile), and its own request id and time. Handler output (powertools logs
and EMF metrics, at the stack's INFO level) goes to /dev/null: it is written, as on Lambda, but
not shown.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import FakeContext, proxy_event

from bench.dynamodb_usage import Consumed
from bench.meter import AwsMeter, CallCounts, Stopwatch
from handlers import authorizer, groups, users
from handlers.observability import logger

ROOT = Path(__file__).resolve().parent.parent
AUTHORIZER_EVENT = ROOT / "events/AuthorizerFunction/request.json"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class Sample:
    """One invocation: its answer and what it cost."""

    status: int
    body: Any
    cpu_seconds: float  # the handler's thread time, botocore's work included (what Lambda bills)
    own_cpu_seconds: float  # the same without whole AWS calls (no SDK work either)
    counts: CallCounts
    consumed: Consumed  # capacity units and item changes (bench.dynamodb_usage)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    handler = logger.registered_handler
    with open(os.devnull, "w") as sink:
        previous = handler.setStream(sink)  # type: ignore[attr-defined]
        stdout, sys.stdout = sys.stdout, sink
        try:
            yield
        finally:
            sys.stdout = stdout
            handler.setStream(previous)  # type: ignore[attr-defined]


class Driver:
    def __init__(
        self, tenant_id: str, meter: AwsMeter, stopwatch: Stopwatch, consumed: Callable[[], Consumed]
    ):
        self.tenant_id = tenant_id
        self.meter = meter
        self.stopwatch = stopwatch
        self._consumed = consumed
        self._requests = itertools.count(1)
        self.context: dict[str, Any] = {}

    def authorize(self, token: str) -> Sample:
        """Run the authorizer on a real token; later requests carry the context it returns."""
        event = json.loads(AUTHORIZER_EVENT.read_text())
        event["headers"]["Authorization"] = f"Bearer {token}"
        event["methodArn"] = event["methodArn"].replace("/demo/", f"/{self.tenant_id}/")
        event["path"] = event["path"].replace("/demo/", f"/{self.tenant_id}/")
        event["pathParameters"] = {"tenant": self.tenant_id}
        sample = self._invoke(authorizer.lambda_handler, event)
        policy = sample.body
        self.context = {**policy["context"], "principalId": policy["principalId"]}
        return sample

    def call(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Sample:
        resource, params = _route(self.tenant_id, path)
        event = proxy_event(method, resource, params, body=body, query=query)
        n = next(self._requests)
        event["requestContext"]["authorizer"] = dict(self.context)
        event["requestContext"]["requestId"] = f"bench-{n:07d}"
        event["requestContext"]["requestTimeEpoch"] += n
        handler = groups.lambda_handler if "/Groups" in resource else users.lambda_handler
        sample = self._invoke(handler, event)
        text = sample.body.get("body") or ""
        sample.status = int(sample.body["statusCode"])
        sample.body = json.loads(text) if text else None
        return sample

    def _invoke(self, handler: Handler, event: dict[str, Any]) -> Sample:
        self.meter.take()
        self._consumed()
        context = FakeContext("bench")
        # The timed window holds the handler call only: silencing the log stream and the context
        # object are the harness's work, done outside it.
        with quiet():
            excluded_before = self.stopwatch.excluded_seconds
            sdk_before = self.meter.sdk_seconds
            start = time.thread_time()
            result = handler(event, context)
            spent = time.thread_time() - start
        cpu = spent - (self.stopwatch.excluded_seconds - excluded_before)
        own = spent - (self.meter.sdk_seconds - sdk_before)
        return Sample(200, result, cpu, own, self.meter.take(), self._consumed())


def _route(tenant_id: str, path: str) -> tuple[str, dict[str, str]]:
    """'/Users/<id>' → ('/scim/v2/{tenant}/Users/{id}', params)."""
    kind, _, resource_id = path.strip("/").partition("/")
    params = {"tenant": tenant_id}
    resource = f"/scim/v2/{{tenant}}/{kind}"
    if resource_id:
        params["id"] = resource_id
        resource += "/{id}"
    return resource, params
