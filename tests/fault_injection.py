"""AWS faults injected below botocore's retry handler, on the handlers' real clients (issue 8).

A `before-send` hook answers an attempt itself, the way the service would on the wire: a crafted
HTTP response (throttling, a cancelled transaction, a 5xx, a PutEvents partial failure) or a
raised connection error (read/connect timeout, endpoint unreachable). botocore then parses it and
runs its real retry handler, so retries, backoff and the retry budget are the production ones.
Attempts that are not faulted go on to moto. Sleeps are recorded instead of slept.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse

FOREVER = 10**9
# moto's stubber (also a `before-send` handler) ignores a URL that names no AWS service, so an
# attempt answered here never also reaches moto's backend: a faulted write is never half-applied.
_UNROUTABLE = "https://fault-injected.invalid/"

Answer = Callable[[AWSPreparedRequest], AWSResponse]


def json_error(status: int, code: str, message: str = "injected", **extra: Any) -> Answer:
    """An error as the JSON protocols (DynamoDB, Secrets Manager, EventBridge) send it."""

    def answer(request: AWSPreparedRequest) -> AWSResponse:
        body = {"__type": f"com.amazonaws.service#{code}", "message": message, **extra}
        return _response(status, body)

    return answer


def throttling(code: str = "ThrottlingException") -> Answer:
    return json_error(400, code, "Rate of requests exceeds the allowed throughput.")


def server_error(status: int = 500) -> Answer:
    code = "InternalServerError" if status == 500 else "ServiceUnavailable"
    return json_error(status, code, "injected server error")


def transaction_cancelled(reason: str) -> Answer:
    """TransactionCanceledException: `reason` on the first item, "None" on every other one."""

    def answer(request: AWSPreparedRequest) -> AWSResponse:
        items = json.loads(request.body or b"{}").get("TransactItems", [])
        reasons = [{"Code": reason if i == 0 else "None"} for i in range(len(items))]
        message = f"Transaction cancelled, please refer cancellation reasons for specific reasons [{reason}]"
        body = {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": message,
            "CancellationReasons": reasons,
        }
        return _response(400, body)

    return answer


def put_events_rejecting(marker: str, code: str = "ThrottlingException") -> Answer:
    """A PutEvents 200 that rejects every entry whose Detail contains `marker` (FailedEntryCount > 0)
    and accepts the others (they count as published; moto does not see this call)."""

    def answer(request: AWSPreparedRequest) -> AWSResponse:
        entries = json.loads(request.body or b"{}")["Entries"]
        results = [
            {"ErrorCode": code, "ErrorMessage": "injected"}
            if marker in e["Detail"]
            else {"EventId": f"injected-{i}"}
            for i, e in enumerate(entries)
        ]
        failed = sum(1 for r in results if "ErrorCode" in r)
        return _response(200, {"FailedEntryCount": failed, "Entries": results})

    return answer


def read_timeout(request: AWSPreparedRequest) -> AWSResponse:
    raise ReadTimeoutError(endpoint_url=request.url)


def connect_timeout(request: AWSPreparedRequest) -> AWSResponse:
    raise ConnectTimeoutError(endpoint_url=request.url)


def endpoint_unreachable(request: AWSPreparedRequest) -> AWSResponse:
    raise EndpointConnectionError(endpoint_url=request.url)


def json_response(status: int, body: dict[str, Any]) -> AWSResponse:
    """Any JSON-protocol answer, e.g. a BatchGetItem that left keys unprocessed."""
    return _response(status, body)


def _response(status: int, body: dict[str, Any]) -> AWSResponse:
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault-injected"}
    return AWSResponse(_UNROUTABLE, status, headers, MockRawResponse(json.dumps(body)))  # type: ignore[arg-type]


@dataclass
class Fault:
    operation: str  # botocore operation name, e.g. "TransactWriteItems"
    answer: Answer
    times: int = FOREVER  # how many attempts it answers; then the service recovers
    answered: int = 0
    # Only the attempts whose request this accepts (e.g. one transaction of several); None: all.
    when: Callable[[AWSPreparedRequest], bool] | None = None


@dataclass
class FaultInjector:
    """Counts every attempt per operation and answers the ones a fault covers."""

    faults: list[Fault] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)

    def attach(self, client: Any) -> FaultInjector:
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register_first(f"before-send.{service}", self._before_send)
        return self

    def fail(
        self,
        operation: str,
        answer: Answer,
        times: int = FOREVER,
        when: Callable[[AWSPreparedRequest], bool] | None = None,
    ) -> FaultInjector:
        self.faults.append(Fault(operation, answer, times, when=when))
        return self

    def recover(self) -> None:
        """The outage ends: every later attempt goes to moto."""
        self.faults.clear()

    def _before_send(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rpartition(".")[2]
        self.attempts[operation] += 1
        for fault in self.faults:
            if fault.operation != operation or (fault.when is not None and not fault.when(request)):
                continue
            if fault.answered < fault.times:
                fault.answered += 1
                self.injected[operation] += 1
                request.url = _UNROUTABLE
                return fault.answer(request)  # a raised connection error propagates from here
        return None
