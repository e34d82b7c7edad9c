"""API Gateway REQUEST authorizer: bearer token → IAM policy scoped to the token's own tenant.

Outcomes (each proven in tests/unit/test_authorizer.py):
- valid token → Allow for ``<api>/<stage>/*/scim/v2/<tenant>`` and ``…/<tenant>/*``, with
  ``tenantId`` and ``tokenId`` in the context that handlers trust. Used on another tenant's URL,
  the policy does not match and API Gateway answers ACCESS_DENIED, mapped to a SCIM 401.
- missing, malformed, unknown, wrong, revoked, expired token or disabled tenant → "Unauthorized"
  (the UNAUTHORIZED gateway response: SCIM 401 with WWW-Authenticate).
- DynamoDB or Secrets Manager outage → the function fails; API Gateway answers with its
  authorizer error response (AUTHORIZER_CONFIGURATION_ERROR for a function error,
  AUTHORIZER_FAILURE otherwise), both mapped to a SCIM 503 with Retry-After: IdPs retry
  instead of giving up.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from core.auth import AuthenticationFailed, Authenticator, Principal
from core.cache import TtlCache
from core.errors import ServiceUnavailable
from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from handlers import aws_clients
from handlers.observability import lambda_entry, logger, metrics
from handlers.settings import authorizer_settings


class Unauthorized(Exception):
    """API Gateway recognises exactly this message as "answer 401"."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@cache
def authenticator() -> Authenticator:
    settings = authorizer_settings()
    return Authenticator(
        table=TenantTable(aws_clients.dynamodb(), settings.table_name),
        hashes=TokenHashStore(aws_clients.secretsmanager(), settings.secrets_prefix),
        hash_cache=TtlCache(max_age=settings.token_hash_cache_seconds),
    )


def header(event: dict[str, Any], name: str) -> str | None:
    # REST APIs pass headers as sent; HTTP header names are case-insensitive.
    headers = event.get("headers") or {}
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if k.lower() == wanted), None)


def usage_key(principal: Principal) -> str:
    """The usage plan key that throttles this tenant (the API's key source is AUTHORIZER)."""
    if principal.api_key:
        return principal.api_key
    # Created before per-tenant keys: fail open into the stack's shared bucket, and say so.
    logger.warning("tenant has no usage plan key; sharing the stack's bucket (scimctl tenant api-key)")
    return authorizer_settings().shared_api_key


def tenant_policy(method_arn: str, principal: Principal) -> dict[str, Any]:
    # methodArn: arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path…>
    arn_prefix, _, _ = method_arn.partition("/")
    stage = method_arn.split("/")[1] if method_arn.count("/") >= 1 else "*"
    base = f"{arn_prefix}/{stage}/*/scim/v2/{principal.tenant_id}"
    return {
        "principalId": f"{principal.tenant_id}|{principal.token_id}",
        "usageIdentifierKey": usage_key(principal),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [base, f"{base}/*"]}
            ],
        },
        # The profile rides along (a few hundred bytes) so handlers need no extra read per request;
        # profile edits flush the authorizer cache like revocations do.
        "context": {
            "tenantId": principal.tenant_id,
            "tokenId": principal.token_id,
            "profile": principal.profile_json,
        },
    }


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        principal = authenticator().authenticate(header(event, "Authorization"))
    except AuthenticationFailed as failure:
        logger.append_keys(tenant_id=failure.tenant_id)
        logger.info("token refused", extra={"reason": failure.reason.value})
        metrics.add_metric(name="AuthFailures", unit=MetricUnit.Count, value=1)
        # The reason as a dimension on its own metric: a shared dimension would leak into the
        # invocation's other metrics.
        with single_metric(name="AuthFailuresByReason", unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="reason", value=failure.reason.value)
        raise Unauthorized from None
    except (ServiceUnavailable, ClientError, BotoCoreError):
        # Raised on purpose: API Gateway answers an authorizer error with a 503 gateway response.
        # A non-transient AWS error (AccessDenied, a KMS failure) is a dependency failure too.
        logger.exception("token store unavailable")
        metrics.add_metric(name="AuthDependencyFailures", unit=MetricUnit.Count, value=1)
        raise
    logger.append_keys(tenant_id=principal.tenant_id, token_id=principal.token_id)
    logger.debug("token accepted")
    metrics.add_metadata(key="tenant_id", value=principal.tenant_id)
    metrics.add_metric(name="AuthSuccesses", unit=MetricUnit.Count, value=1)
    return tenant_policy(str(event.get("methodArn", "")), principal)
