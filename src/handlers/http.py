"""The one place where SCIM exceptions become HTTP responses, plus request helpers.

Every response body is ``application/scim+json``. Unexpected exceptions are logged with the
correlation id and answered as a SCIM 500 that reveals nothing about the internals.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from core.errors import InternalError, NotFound, ScimError, ServiceUnavailable, TooMany, Unauthorized
from core.tenants import is_valid_tenant_id
from handlers.observability import logger, metrics
from handlers.routing import Response, Router

SCIM_CONTENT_TYPE = "application/scim+json"


def scim_response(status: int, body: Any | None = None, headers: dict[str, str] | None = None) -> Response:
    # Compact separators: smaller responses cost less API Gateway egress and IdP parse time.
    text = "" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Response(status_code=status, content_type=SCIM_CONTENT_TYPE, body=text, headers=headers or {})


def error_response(error: ScimError) -> Response:
    return scim_response(error.status, error.to_document(), error.headers)


def scim_router() -> Router:
    """A function's router: every failure becomes a SCIM error response."""
    return Router(on_error=_on_error, on_not_found=_on_not_found, on_too_large=_on_too_large)


def _on_error(error: Exception) -> Response:
    if isinstance(error, ScimError):
        if error.status >= 500:
            logger.warning("request failed", extra={"status": error.status, "detail": error.detail})
        return error_response(error)
    if _is_aws_outage(error):
        # An AWS failure that no store translated: an outage is still a 503 the IdP retries, not a 500.
        logger.warning("AWS dependency failed", extra={"error": type(error).__name__})
        return error_response(ServiceUnavailable())
    logger.exception("unhandled exception")
    metrics.add_metric(name="UnhandledErrors", unit=MetricUnit.Count, value=1)
    return error_response(InternalError())


def _is_aws_outage(error: Exception) -> bool:
    # Only if botocore is loaded: discovery makes no AWS call and never imports it for this check.
    exceptions = sys.modules.get("botocore.exceptions")
    if exceptions is None or not isinstance(error, (exceptions.ClientError, exceptions.BotoCoreError)):
        return False
    from core.store.aws_errors import is_transient  # noqa: PLC0415 - botocore is loaded by now

    return is_transient(error)


def _on_too_large() -> Response:
    # Final (400), not the retryable 503 a result over Lambda's 6 MB would become; RFC 7644 §3.12
    # tooMany: more results than the service will return at once.
    logger.warning("response over Lambda's 6 MB limit refused")
    return error_response(
        TooMany("The response would exceed 6 MB; request fewer resources (count) or attributes.")
    )


def _on_not_found() -> Response:
    return error_response(NotFound("No SCIM endpoint matches this method and path."))


def request_tenant(app: Router, path_tenant: str) -> str:
    """The tenant the authorizer vouched for; it must equal the tenant in the path.

    API Gateway's policy already enforces this. Checking again keeps a misconfigured stage (or a
    test event without an authorizer) from ever serving another tenant's data.
    """
    context_tenant = app.request.authorizer.get("tenantId") or ""
    if not is_valid_tenant_id(path_tenant) or context_tenant != path_tenant:
        raise Unauthorized()
    logger.append_keys(tenant_id=context_tenant)
    return context_tenant


def tenant_base_url(app: Router, tenant_id: str) -> str:
    """The Tenant URL as the client sees it: scheme, host, stage (or custom-domain base path)."""
    request = app.request
    headers = request.headers
    scheme = headers.get("x-forwarded-proto", "https").split(",")[0].strip() or "https"
    ctx = request.request_context
    host = str(ctx.get("domainName") or headers.get("host", "localhost"))
    full_path = str(ctx.get("path") or request.path)
    marker = f"/scim/v2/{tenant_id}"
    prefix = full_path.split(marker, 1)[0] if marker in full_path else ""
    return f"{scheme}://{host}{prefix}{marker}"
