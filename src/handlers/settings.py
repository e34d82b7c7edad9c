"""Each function's environment, validated once per container (a bad deploy fails loudly at invoke)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class CommonSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    secrets_prefix: str = Field(alias="SECRETS_PREFIX", min_length=1)
    # The function that runs a tenant reset's and a role recompute's batches (invoked
    # asynchronously): the management function, Groups and Bulk start it.
    tenant_reset_function: str = Field("", alias="TENANT_RESET_FUNCTION")


class AuthorizerSettings(CommonSettings):
    token_hash_cache_seconds: int = Field(60, alias="TOKEN_HASH_CACHE_SECONDS", ge=0, le=900)
    # The usage plan key of tenants created before per-tenant keys (the stack's shared bucket).
    shared_api_key: str = Field("", alias="SHARED_API_KEY")


class AuditSettings(CommonSettings):
    # Days an audit record is kept (the stack's AuditRetentionDays); DynamoDB's TTL removes it then.
    audit_retention_days: int = Field(90, alias="AUDIT_RETENTION_DAYS", ge=1, le=3650)


class EventsSettings(BaseModel):
    """The events function's environment (it reads the stream, not the table)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    event_source: str = Field(alias="EVENT_SOURCE", min_length=1)
    # https://<api>.execute-api.<region>.<suffix>/<stage>/scim/v2: events' meta.location and $ref.
    scim_base_url: str = Field(alias="SCIM_BASE_URL", pattern=r"^https?://")
    # The event journal (the feed) lives in the stack's table, kept EventRetentionDays.
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    event_retention_days: int = Field(30, alias="EVENT_RETENTION_DAYS", ge=1, le=3650)


class ManagementSettings(AuditSettings):
    """The management function's environment."""

    # https://<api>.execute-api.<region>.<suffix>/<stage>/scim/v2: each tenant's scim_base_url.
    scim_base_url: str = Field(alias="SCIM_BASE_URL", pattern=r"^https?://")
    # The SCIM API whose authorizer cache a revocation or a disabled tenant flushes.
    scim_api_id: str = Field(alias="SCIM_API_ID", min_length=1)
    scim_stage: str = Field(alias="SCIM_STAGE_NAME", min_length=1)
    # The tenants' usage plan: each new tenant gets its own key in it (its own throttling bucket).
    usage_plan_id: str = Field("", alias="TENANT_USAGE_PLAN_ID")
    stack_name: str = Field(alias="STACK_NAME", min_length=1)
    # https://<setup api>/<stage>/setup: the page a setup link opens (its secret after the "#").
    # Empty in the setup function itself (it never creates links; its own URL would be a cycle).
    setup_page_url: str = Field("", alias="SETUP_PAGE_URL", pattern=r"^(https?://.+)?$")
    # The event feed's retention (EventRetentionDays): older cursors are answered 410.
    event_retention_days: int = Field(30, alias="EVENT_RETENTION_DAYS", ge=1, le=3650)


class TenantResetSettings(CommonSettings):
    """The tenant reset function's environment."""

    # Batches per invocation before it hands over to a fresh invocation of itself.
    batches_per_invocation: int = Field(20, alias="RESET_BATCHES_PER_INVOCATION", ge=1, le=1000)


@cache
def tenant_reset_settings() -> TenantResetSettings:
    return TenantResetSettings.model_validate(dict(os.environ))


class SetupSettings(ManagementSettings):
    """The setup page's function: the management function's settings plus the SaaS's branding
    (stack parameters, shown as text by the page, never as HTML)."""

    saas_name: str = Field(alias="SAAS_NAME", min_length=1, max_length=100)
    saas_logo_url: str = Field(
        "", alias="SAAS_LOGO_URL", pattern=r"^(https://[^\s\"'<>]+)?$", max_length=1000
    )
    saas_accent_colour: str = Field("#2f5bd3", alias="SAAS_ACCENT_COLOUR", pattern=r"^#[0-9a-fA-F]{6}$")


@cache
def setup_settings() -> SetupSettings:
    return SetupSettings.model_validate(dict(os.environ))


class WebhookSettings(CommonSettings):
    """The webhooks function's environment (and the management function's webhook routes)."""

    # SQS queue the bus's rule feeds (its URL): each failed attempt's back-off is set on it.
    webhook_queue_url: str = Field("", alias="WEBHOOK_QUEUE_URL")
    # Seconds a warm function keeps a tenant's target (URL and secrets) before re-reading it.
    webhook_target_cache_seconds: int = Field(60, alias="WEBHOOK_TARGET_CACHE_SECONDS", ge=0, le=900)
    # Only the local gateway sets this: http and loopback receivers (never in template.yaml).
    webhook_allow_loopback: bool = Field(False, alias="WEBHOOK_ALLOW_LOOPBACK")


@cache
def webhook_settings() -> WebhookSettings:
    return WebhookSettings.model_validate(dict(os.environ))


class DirectorySettings(CommonSettings):
    """The directory function's environment (read-only management routes)."""

    # https://<api>.execute-api.<region>.<suffix>/<stage>/scim/v2: each resource's meta.location.
    scim_base_url: str = Field(alias="SCIM_BASE_URL", pattern=r"^https?://")


@cache
def directory_settings() -> DirectorySettings:
    return DirectorySettings.model_validate(dict(os.environ))


@cache
def management_settings() -> ManagementSettings:
    return ManagementSettings.model_validate(dict(os.environ))


@cache
def common_settings() -> CommonSettings:
    return CommonSettings.model_validate(dict(os.environ))


@cache
def authorizer_settings() -> AuthorizerSettings:
    return AuthorizerSettings.model_validate(dict(os.environ))


@cache
def audit_settings() -> AuditSettings:
    return AuditSettings.model_validate(dict(os.environ))


@cache
def events_settings() -> EventsSettings:
    return EventsSettings.model_validate(dict(os.environ))


def reset() -> None:
    common_settings.cache_clear()
    authorizer_settings.cache_clear()
    audit_settings.cache_clear()
    events_settings.cache_clear()
    management_settings.cache_clear()
    tenant_reset_settings.cache_clear()
    setup_settings.cache_clear()
    webhook_settings.cache_clear()
    directory_settings.cache_clear()
