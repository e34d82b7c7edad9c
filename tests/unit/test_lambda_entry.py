"""The Lambda entry point every handler is wrapped in (handlers.observability.lambda_entry): the
log keys of each invocation, cold start, and the metrics flushed as EMF after it."""

from __future__ import annotations

import functools
import io
import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from handlers import observability
from handlers.observability import lambda_entry, logger, metrics
from tests.support import FakeContext

NAMESPACE = "ScimTest"
APPENDED = ("tenant_id", "token_id", "user_id")


@pytest.fixture(autouse=True)
def clean_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    monkeypatch.setattr(observability, "_invoked", False)  # as in a fresh container
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
    logger.remove_keys(APPENDED)


def api_event(request_id: str) -> dict[str, Any]:
    return {"httpMethod": "GET", "requestContext": {"requestId": request_id}}


def log_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    """The JSON log lines written since the last call, and the buffer emptied."""
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    buffer.seek(0)
    buffer.truncate()
    return lines


def emf_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF documents printed on stdout since the last call."""
    found: list[dict[str, Any]] = []
    for line in capsys.readouterr().out.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and "_aws" in document:
            found.append(document)
    return found


def logging_handler(message: str = "inside") -> Callable[[dict[str, Any], Any], str]:
    def handler(event: dict[str, Any], context: Any) -> str:
        logger.info(message)
        return "done"

    return handler


# -- log keys -------------------------------------------------------------------------------------
def test_log_lines_carry_the_context_the_request_id_and_cold_start_once(log_output: io.StringIO) -> None:
    entry = lambda_entry(logging_handler())

    assert entry(api_event("api-req-1"), FakeContext("users-fn", aws_request_id="lambda-req-1")) == "done"
    entry(api_event("api-req-2"), FakeContext("users-fn", aws_request_id="lambda-req-2"))

    first, second = log_lines(log_output)
    assert first["message"] == "inside"
    assert (first["function_name"], first["function_request_id"], first["correlation_id"]) == (
        "users-fn",
        "lambda-req-1",
        "api-req-1",
    )
    assert first["function_memory_size"] == 512
    assert first["function_arn"].endswith(":function:users-fn")
    assert first["cold_start"] is True
    assert (second["function_request_id"], second["correlation_id"]) == ("lambda-req-2", "api-req-2")
    assert second["cold_start"] is False


def test_without_correlation_id_no_key_even_after_an_api_invocation(log_output: io.StringIO) -> None:
    api = lambda_entry(logging_handler("api"))
    stream = functools.partial(lambda_entry, correlation_id=False)(logging_handler("stream"))

    stream({"Records": []}, FakeContext("events-fn"))
    api(api_event("api-req-1"), FakeContext("users-fn"))
    stream(api_event("api-req-2"), FakeContext("events-fn"))  # a request id, but not to be used

    first, middle, last = log_lines(log_output)
    assert "correlation_id" not in first
    assert middle["correlation_id"] == "api-req-1"
    assert last["message"] == "stream"
    assert "correlation_id" not in last
    assert last["function_name"] == "events-fn"


@pytest.mark.parametrize("event", [{}, {"requestContext": "x"}, {"requestContext": {"requestId": 7}}, []])
def test_an_event_without_a_request_id_logs_no_correlation_id(log_output: io.StringIO, event: Any) -> None:
    lambda_entry(logging_handler())(event, FakeContext())

    (line,) = log_lines(log_output)
    assert "correlation_id" not in line


def test_request_keys_of_one_invocation_are_gone_in_the_next(log_output: io.StringIO) -> None:
    def handler(event: dict[str, Any], context: Any) -> None:
        if event["requestContext"]["requestId"] == "first":
            logger.append_keys(tenant_id="t1", token_id="t1.0123456789abcdef", user_id="u1")
        logger.info("inside")

    entry = lambda_entry(handler)
    entry(api_event("first"), FakeContext())
    entry(api_event("second"), FakeContext())

    first, second = log_lines(log_output)
    assert (first["tenant_id"], first["token_id"]) == ("t1", "t1.0123456789abcdef")
    assert first["user_id"] == "u1"
    assert not set(APPENDED) & set(second)  # any key a request appended, as clear_state would
    assert second["correlation_id"] == "second"


def test_provisioned_concurrency_is_never_a_cold_start(
    log_output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    entry = lambda_entry(logging_handler())

    entry(api_event("a"), FakeContext())
    entry(api_event("b"), FakeContext())

    assert [line["cold_start"] for line in log_lines(log_output)] == [False, False]


def test_cold_start_is_once_per_process_not_per_handler(log_output: io.StringIO) -> None:
    lambda_entry(logging_handler("one"))(api_event("a"), FakeContext())
    lambda_entry(logging_handler("two"))(api_event("b"), FakeContext())

    assert [(line["message"], line["cold_start"]) for line in log_lines(log_output)] == [
        ("one", True),
        ("two", False),
    ]


def test_the_wrapper_keeps_the_handlers_name() -> None:
    def lambda_handler(event: dict[str, Any], context: Any) -> None:
        return None

    assert lambda_entry(lambda_handler).__name__ == "lambda_handler"


# -- metrics --------------------------------------------------------------------------------------
def add_metric(name: str, value: float = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def test_metrics_added_by_the_handler_are_printed_once_as_emf(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(event: dict[str, Any], context: Any) -> str:
        add_metric("X")
        add_metric("X")
        return "ok"

    capsys.readouterr()
    result = lambda_entry(handler)(api_event("a"), FakeContext())

    assert result == "ok"
    (document,) = emf_lines(capsys)
    assert document["X"] == [1.0, 1.0]
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    assert {"Name": "X", "Unit": "Count"} in directive["Metrics"]
    assert metrics.metric_set == {}  # flushed: the next invocation starts empty


def test_metrics_are_flushed_when_the_handler_raises(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(event: dict[str, Any], context: Any) -> None:
        add_metric("X", 3)
        raise LookupError("boom")

    capsys.readouterr()
    with pytest.raises(LookupError, match="boom"):
        lambda_entry(handler)(api_event("a"), FakeContext())

    (document,) = emf_lines(capsys)
    assert document["X"] == [3.0]
    assert metrics.metric_set == {}


def test_each_invocation_flushes_only_its_own_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(event: dict[str, Any], context: Any) -> None:
        add_metric(event["requestContext"]["requestId"])

    entry = lambda_entry(handler)
    capsys.readouterr()
    entry(api_event("First"), FakeContext())
    entry(api_event("Second"), FakeContext())

    first, second = emf_lines(capsys)
    assert "First" in first
    assert "Second" not in first
    assert "Second" in second
    assert "First" not in second


def test_no_metrics_no_emf_and_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # the project's pytest config ignores powertools' warning
        lambda_entry(logging_handler())(api_event("a"), FakeContext())

    assert emf_lines(capsys) == []
    assert [str(w.message) for w in caught] == []
