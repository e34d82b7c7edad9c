"""The management API (docs/management-api.md): thin routes over `core.management.Management`.

API Gateway has already authenticated the caller (AWS_IAM on every method, the API's resource
policy); the caller's IAM principal ARN (``requestContext.identity.userArn``) is the actor of
every write. Bodies are JSON, validated by the models below; errors are RFC 9457 problem details
(`handlers.problem`); lists are ``{"data": [...], "next_cursor": ...}``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import BadRequest
from core.events.journal import Journal, TypeFilter
from core.idempotency import IdempotencyKey
from core.management import Management, Stamp
from core.profiles import Profile, preset
from core.setup_links import DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, MIN_TTL_SECONDS, SetupLinks
from core.store.audit_table import AuditTable
from core.store.idempotency_table import IdempotencyTable
from core.store.setup_links_table import SetupLinkTable
from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from core.tenants import TenantStatus
from core.webhooks.config import WebhookConfig
from core.webhooks.redeliver import Redelivery
from core.webhooks.targets import WebhookTargets
from handlers import aws_clients, reset_worker, signing_keys, webhook_queue
from handlers.observability import lambda_entry, logger, metrics
from handlers.problem import json_response, problem_router
from handlers.requests import header, json_body
from handlers.routing import Response
from handlers.settings import management_settings, webhook_settings

app = problem_router()
signing_keys.install()  # cursors are signed with the stack's key, as the SCIM API's are

DEFAULT_LIMIT = 50


# -- request bodies ---------------------------------------------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateTenant(_Body):
    tenant_id: str
    name: str | None = Field(None, min_length=1, max_length=200)
    preset: str | None = None
    profile: dict[str, Any] | None = None
    external_id: str | None = Field(None, min_length=1, max_length=200)


class UpdateTenant(_Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    status: Literal["active", "disabled"] | None = None
    profile: dict[str, Any] | None = None


class PutWebhook(_Body):
    url: str = Field(min_length=1, max_length=2048)
    # Write-only; omitted: keep the current secret, or generate one (answered once) if none.
    secret: str | None = Field(None, min_length=1, max_length=200, repr=False)
    rotate: bool = False  # generate a new secret; the previous one still signs for 24 hours


class Redeliver(_Body):
    after: str | None = Field(None, max_length=1024)  # a feed cursor; none: from the oldest kept
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=200)
    types: str | None = Field(None, max_length=1000)  # as the feed's ``types``: scim.user.*,…


class CreateToken(_Body):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class CreateSetupLink(_Body):
    ttl_seconds: int = Field(DEFAULT_TTL_SECONDS, ge=MIN_TTL_SECONDS, le=MAX_TTL_SECONDS)
    return_url: str | None = Field(None, min_length=1, max_length=2000)


M = TypeVar("M", bound=_Body)


def parse(model: type[M]) -> tuple[M, dict[str, Any]]:
    body = json_body(app)
    try:
        return model.model_validate(body), body
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadRequest(f"{where}: {first['msg']}") from None


def chosen_profile(name: str | None, document: dict[str, Any] | None) -> Profile | None:
    try:
        if document is not None:
            return Profile.model_validate(document)
        return preset(name) if name is not None else None
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise BadRequest(f"profile: {first['msg']}") from None
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


# -- wiring -----------------------------------------------------------------------------------
@cache
def management() -> Management:
    settings = management_settings()
    db = aws_clients.dynamodb()
    apigw = aws_clients.apigateway()

    def flush() -> None:
        # Best effort: if the flush fails, a revoked token or disabled tenant still stops working
        # within AuthorizerCacheTtl (the template's bound); the write itself has happened.
        try:
            apigw.flush_stage_authorizers_cache(restApiId=settings.scim_api_id, stageName=settings.scim_stage)
        except (ClientError, BotoCoreError) as exc:
            logger.warning("authorizer cache not flushed", extra={"error": type(exc).__name__})
            metrics.add_metric(name="AuthorizerCacheFlushFailures", unit=MetricUnit.Count, value=1)

    usage_plan = None
    if settings.usage_plan_id:
        from core.store.usage_plan_keys import UsagePlanKeys  # noqa: PLC0415 - only for tenant creates

        usage_plan = UsagePlanKeys(apigw, settings.usage_plan_id, settings.stack_name)
    return Management(
        TenantTable(db, settings.table_name),
        TokenHashStore(aws_clients.secretsmanager(), settings.secrets_prefix),
        flush_authorizer_cache=flush,
        usage_plan=usage_plan,
        audit=AuditTable(aws_clients.audit_dynamodb(), settings.table_name),
        idempotency=IdempotencyTable(db, settings.table_name),
        audit_retention_days=settings.audit_retention_days,
        scim_base_url=settings.scim_base_url,
        resets=reset_worker.tenant_reset(settings.table_name),
        start_reset_worker=lambda tenant, reset_id: reset_worker.start(
            settings.tenant_reset_function, tenant, reset_id
        ),
        role_recompute=reset_worker.role_recompute(settings.table_name),
        start_roles_worker=reset_worker.roles_worker(settings.tenant_reset_function),
    )


@cache
def setup_links() -> SetupLinks:
    settings = management_settings()
    table = SetupLinkTable(aws_clients.dynamodb(), settings.table_name)
    return SetupLinks(table, management(), page_url=settings.setup_page_url)


@cache
def webhooks() -> WebhookConfig:
    settings = webhook_settings()
    store = WebhookTargets(aws_clients.secretsmanager(), settings.secrets_prefix)
    return WebhookConfig(
        store,
        management().require_tenant,
        record=management().record_write,
        allow_loopback=settings.webhook_allow_loopback,
    )


@cache
def redelivery() -> Redelivery:
    settings = management_settings()
    queue_url = webhook_settings().webhook_queue_url
    return Redelivery(
        journal(),
        lambda envelopes: webhook_queue.enqueue(queue_url, envelopes),
        source=f"scim.{settings.stack_name}",
        require_tenant=management().require_tenant,
    )


@cache
def journal() -> Journal:
    settings = management_settings()
    return Journal(aws_clients.dynamodb(), settings.table_name, settings.event_retention_days)


def stamp() -> Stamp:
    """The caller (API Gateway's SigV4 identity) and the request, for items, audit and events."""
    identity = app.request.request_context.get("identity") or {}
    actor = str(identity.get("userArn") or identity.get("caller") or "unknown")
    logger.append_keys(actor=actor)
    return Stamp(actor=actor, request_id=app.request.request_id)


def idempotency_key() -> IdempotencyKey | None:
    return IdempotencyKey.parse(header(app, "Idempotency-Key"))


def limit() -> int:
    raw = app.request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit():
        raise BadRequest("limit must be an integer between 1 and 200")
    return int(raw)


def cursor() -> str | None:
    return app.request.query.get("cursor") or None


def since() -> str:
    """``since`` as the audit trail's sort keys spell time (ISO 8601 UTC, milliseconds)."""
    raw = app.request.query.get("since", "")
    if not raw:
        return ""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest("since must be an ISO 8601 date-time, e.g. 2026-01-31T09:00:00Z") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- tenants ----------------------------------------------------------------------------------
@app.post("/tenants")
def create_tenant() -> Response:
    key = idempotency_key()
    body, raw = parse(CreateTenant)
    status, answer = management().create_tenant_once(
        key,
        raw,
        tenant_id=body.tenant_id,
        display_name=body.name,
        profile=chosen_profile(body.preset, body.profile),
        external_id=body.external_id,
        stamp=stamp(),
    )
    return json_response(status, answer)


@app.get("/tenants")
def list_tenants() -> Response:
    return json_response(200, management().tenants_page(limit(), cursor()).to_json())


@app.get("/tenants/<tenant>")
def get_tenant(tenant: str) -> Response:
    found = management().require_tenant(tenant)
    return json_response(200, management().tenant_view(found))


@app.patch("/tenants/<tenant>")
def update_tenant(tenant: str) -> Response:
    body, _ = parse(UpdateTenant)
    if body.name is None and body.status is None and body.profile is None:
        raise BadRequest("give at least one of name, status, profile")
    updated = management().update_tenant(
        tenant,
        display_name=body.name,
        status=TenantStatus(body.status) if body.status else None,
        profile=chosen_profile(None, body.profile),
        stamp=stamp(),
    )
    return json_response(200, management().tenant_view(updated))


@app.delete("/tenants/<tenant>")
def delete_tenant(tenant: str) -> Response:
    management().delete_tenant(tenant, stamp())
    return Response(status_code=204)


@app.post("/tenants/<tenant>/reset")
def reset_tenant(tenant: str) -> Response:
    # 202: the deletions run in the TenantReset function; health shows their progress.
    return json_response(202, management().reset_tenant(tenant, stamp()))


# -- tokens -----------------------------------------------------------------------------------
@app.post("/tenants/<tenant>/tokens")
def create_token(tenant: str) -> Response:
    key = idempotency_key()
    body, raw = parse(CreateToken)
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    status, answer = management().issue_token_once(
        key, raw, tenant_id=tenant, name=body.name, expires_in=expires, stamp=stamp()
    )
    # The token is in this answer only: never cached by a proxy, never logged.
    return json_response(status, answer, {"Cache-Control": "no-store"})


@app.get("/tenants/<tenant>/tokens")
def list_tokens(tenant: str) -> Response:
    return json_response(200, management().tokens_page(tenant, limit(), cursor()).to_json())


@app.delete("/tenants/<tenant>/tokens/<token_id>")
def revoke_token(tenant: str, token_id: str) -> Response:
    management().revoke_token(tenant, token_id, stamp())
    return Response(status_code=204)


# -- health and audit -------------------------------------------------------------------------
@app.get("/tenants/<tenant>/health")
def health(tenant: str) -> Response:
    return json_response(200, management().health(tenant))


@app.get("/tenants/<tenant>/audit")
def audit(tenant: str) -> Response:
    page = management().audit_page(
        tenant, since=since(), resource_id=app.request.query.get("user"), limit=limit(), cursor=cursor()
    )
    return json_response(200, page.to_json())


# -- setup links (docs/setup-page.md) ----------------------------------------------------------
@app.post("/tenants/<tenant>/setup-links")
def create_setup_link(tenant: str) -> Response:
    key = idempotency_key()
    body, raw = parse(CreateSetupLink)
    links, who = setup_links(), stamp()
    status, answer = management().create_once(
        key,
        raw,
        tenant_id=tenant,
        operation="create_setup_link",
        create=lambda also_write: links.create(
            tenant, ttl_seconds=body.ttl_seconds, return_url=body.return_url, stamp=who, also_write=also_write
        ),
        view=links.created_view,
    )
    # The link's secret is in this answer only: never cached by a proxy, never logged.
    return json_response(status, answer, {"Cache-Control": "no-store"})


@app.get("/tenants/<tenant>/setup-links")
def list_setup_links(tenant: str) -> Response:
    # A tenant holds a handful (an expired link's item leaves a day later): one page, no cursor.
    return json_response(200, {"data": setup_links().list(tenant), "next_cursor": None})


@app.delete("/tenants/<tenant>/setup-links/<link_id>")
def revoke_setup_link(tenant: str, link_id: str) -> Response:
    setup_links().revoke(tenant, link_id, stamp())
    return Response(status_code=204)


# -- webhooks (docs/webhooks.md) --------------------------------------------------------------
def _put_webhook(tenant: str | None) -> Response:
    body, _ = parse(PutWebhook)
    view = webhooks().put(tenant, body.url, body.secret, rotate=body.rotate, stamp=stamp())
    logger.info("webhook target set", extra={"scope": view["scope"], "actor": stamp().actor})
    # A generated secret is in this answer only: never cached by a proxy, never logged.
    return json_response(200, view, {"Cache-Control": "no-store"})


@app.get("/tenants/<tenant>/webhook")
def get_tenant_webhook(tenant: str) -> Response:
    return json_response(200, webhooks().get(tenant))


@app.put("/tenants/<tenant>/webhook")
def put_tenant_webhook(tenant: str) -> Response:
    return _put_webhook(tenant)


@app.delete("/tenants/<tenant>/webhook")
def delete_tenant_webhook(tenant: str) -> Response:
    webhooks().delete(tenant, stamp=stamp())
    return Response(status_code=204)


@app.post("/tenants/<tenant>/webhook/redeliver")
def redeliver_tenant_webhooks(tenant: str) -> Response:
    # Idempotent by nature: a repeated page is delivered again with the same webhook-ids.
    idempotency_key()  # a malformed key is still a 400, as on every POST
    body, _ = parse(Redeliver)
    answer = redelivery().page(tenant, after=body.after, limit=body.limit, types=body.types)
    logger.info("webhooks redelivered", extra={"count": answer["redelivered"], "actor": stamp().actor})
    return json_response(202, answer)


@app.get("/webhook")
def get_stack_webhook() -> Response:
    return json_response(200, webhooks().get(None))


@app.put("/webhook")
def put_stack_webhook() -> Response:
    return _put_webhook(None)


@app.delete("/webhook")
def delete_stack_webhook() -> Response:
    webhooks().delete(None, stamp=stamp())
    logger.info("webhook target removed", extra={"scope": "stack", "actor": stamp().actor})
    return Response(status_code=204)


# -- the event feed (core.events.journal) -------------------------------------------------------
@app.get("/tenants/<tenant>/events")
def tenant_events(tenant: str) -> Response:
    management().require_tenant(tenant)  # 404 for a tenant that never existed, as every route
    query = app.request.query
    page = journal().tenant_page(
        tenant, after=query.get("after") or None, limit=limit(), types=TypeFilter.parse(query.get("types"))
    )
    return json_response(200, page.to_json())


@app.get("/events")
def stack_events() -> Response:
    query = app.request.query
    page = journal().stack_page(
        after=query.get("after") or None, limit=limit(), types=TypeFilter.parse(query.get("types"))
    )
    return json_response(200, page.to_json(stack=True))


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
