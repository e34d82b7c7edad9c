"""The management API's one place where exceptions become responses: RFC 9457 problem details.

Every error body is ``application/problem+json`` with ``type``, ``title``, ``status`` and
``detail``; ``type`` names the kind of problem under one documented base URI
(docs/management-api.md#problems). Unexpected exceptions are logged and answered as a 500 that
reveals nothing; an AWS outage is a 503 with Retry-After.
"""

from __future__ import annotations

import json
import sys
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from core.errors import ScimError, ServiceUnavailable
from handlers.observability import logger, metrics
from handlers.routing import Response, Router

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
PROBLEM_BASE = "https://github.com/serverless-scim/serverless-scim/blob/main/docs/management-api.md#"


def json_response(status: int, body: Any | None = None, headers: dict[str, str] | None = None) -> Response:
    text = "" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Response(
        status_code=status, content_type=JSON if body is not None else None, body=text, headers=headers or {}
    )


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    title = HTTPStatus(status).phrase
    body = {
        "type": PROBLEM_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Response(status_code=status, content_type=PROBLEM_JSON, body=text, headers=headers or {})


def problem_router() -> Router:
    return Router(on_error=_on_error, on_not_found=_on_not_found)


def _on_error(error: Exception) -> Response:
    if isinstance(error, ScimError):
        if error.status >= 500:
            logger.warning("request failed", extra={"status": error.status, "detail": error.detail})
        return problem(error.status, error.detail, error.headers)
    if _is_aws_outage(error):
        logger.warning("AWS dependency failed", extra={"error": type(error).__name__})
        outage = ServiceUnavailable()
        return problem(outage.status, outage.detail, outage.headers)
    logger.exception("unhandled exception")
    metrics.add_metric(name="UnhandledErrors", unit=MetricUnit.Count, value=1)
    return problem(500, "The service could not complete the request.")


def _is_aws_outage(error: Exception) -> bool:
    exceptions = sys.modules.get("botocore.exceptions")
    if exceptions is None or not isinstance(error, (exceptions.ClientError, exceptions.BotoCoreError)):
        return False
    from core.store.aws_errors import is_transient  # noqa: PLC0415 - botocore is loaded by now

    return is_transient(error)


def _on_not_found() -> Response:
    return problem(404, "No management API route matches this method and path.")
