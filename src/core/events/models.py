"""Provisioning events: one pydantic model per EventBridge detail-type, the `Detail` of each event.

Every event carries the same envelope fields (`ProvisioningEvent`): the schema `version`, a stable
`idempotencyKey` (the same stream record always gives the same key, so consumers can drop
duplicates of an at-least-once delivery), the tenant, the resource, when and by which request and
token (the actor; a token id, never a token) it changed, and the names of the attributes that
changed. Lifecycle events of users and groups add `resource`, the full new representation as
SCIM JSON (RFC 7643, with `meta`), never `password`. Membership events add `group` and `member`
references instead: a group of 100,000 members has no representation that fits in an event.

The JSON Schemas under docs/events/ are generated from these models (`json_schemas`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

SCHEMA_VERSION: Final = 1
JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
        # Fields with a default (version, resourceType) are always in the JSON: the schema says so.
        json_schema_serialization_defaults_required=True,
    )


class ScimMeta(_Model):
    """RFC 7643 §3.1 `meta`: `version` is the resource's ETag; it grows with every change."""

    resource_type: Literal["User", "Group"]
    created: str
    last_modified: str
    location: str
    version: str


class ScimResource(BaseModel):
    """A User or Group as SCIM JSON, exactly as ``GET /Users/{id}`` (or ``/Groups/{id}``) returns
    it without ``groups``/``members``; every attribute the tenant stores is kept."""

    # The attributes depend on the tenant's profile and schema extensions: open-ended, except
    # that a password (writeOnly, RFC 7643 §4.1.1) is never there.
    model_config = ConfigDict(
        extra="allow", frozen=True, json_schema_extra={"not": {"required": ["password"]}}
    )

    schemas: list[str] = Field(min_length=1)
    id: str
    meta: ScimMeta


class EventDetail(_Model):
    """The envelope every detail-type shares, provisioning and management alike."""

    detail_type: ClassVar[str]

    version: Literal[1] = Field(SCHEMA_VERSION, description="Version of this detail's schema.")
    idempotency_key: str = Field(
        pattern="^[0-9a-f]{64}$",
        description="Stable per change: a redelivered or replayed event has the same key. Dedupe on it.",
    )
    tenant_id: str = Field(description="The tenant (the last segment of its Tenant URL).")


class ProvisioningEvent(EventDetail):
    """The fields every provisioning (user and group) detail-type shares."""

    resource_type: Literal["User", "Group"]
    resource_id: str = Field(description="The SCIM id of the user or group that changed.")
    occurred_at: str = Field(description="When the change was written (ISO 8601, UTC).")
    request_id: str = Field(description="The API Gateway request id of the SCIM request that caused it.")
    token_id: str = Field(description="The id of the bearer token that made the request (never the token).")
    changed_attributes: list[str] = Field(
        description="Attribute names that changed (extension attributes fully qualified)."
    )


class ResourceEvent(ProvisioningEvent):
    resource: ScimResource = Field(description="The full new (for deletions: the final) representation.")


class UserEvent(ResourceEvent):
    resource_type: Literal["User"] = "User"
    effective_roles: list[str] = Field(
        default_factory=list,
        description="The user's roles from its groups and the tenant's role mappings (lowest priority "
        "first: the first is the primary role); the default role when no mapping matches.",
    )


class GroupEvent(ResourceEvent):
    resource_type: Literal["Group"] = "Group"


class UserCreated(UserEvent):
    detail_type = "scim.user.created"


class UserUpdated(UserEvent):
    detail_type = "scim.user.updated"


class UserDeactivated(UserEvent):
    """`active` went from true to false (and other attributes may have changed with it)."""

    detail_type = "scim.user.deactivated"


class UserReactivated(UserEvent):
    """`active` went from false to true."""

    detail_type = "scim.user.reactivated"


class UserDeleted(UserEvent):
    detail_type = "scim.user.deleted"


class UserRolesChanged(UserEvent):
    """The user's effective roles changed: it joined or left a mapped group (directly or through a
    nested group), or the tenant's role mappings changed. `effectiveRoles` holds the new roles."""

    detail_type = "scim.user.roles_changed"
    previous_roles: list[str] = Field(description="The effective roles before the change.")


class GroupCreated(GroupEvent):
    """Members given at creation follow as `scim.group.member_added` events."""

    detail_type = "scim.group.created"


class GroupUpdated(GroupEvent):
    detail_type = "scim.group.updated"


class GroupDeleted(GroupEvent):
    """The group's memberships end with it; no `member_removed` events are sent for them."""

    detail_type = "scim.group.deleted"


class _Reference(_Model):
    # `display` is left out when unknown: not required in the JSON.
    model_config = ConfigDict(json_schema_serialization_defaults_required=False)


class GroupRef(_Reference):
    value: str = Field(description="The group's id.")
    display: str | None = None
    ref: str = Field(alias="$ref", description="The group's URI.")


class MemberRef(_Reference):
    """RFC 7643 §4.2 `members` sub-attributes."""

    value: str = Field(description="The member's id.")
    type: Literal["User", "Group"]
    display: str | None = None
    ref: str = Field(alias="$ref", description="The member's URI.")


class MemberEvent(ProvisioningEvent):
    resource_type: Literal["Group"] = "Group"
    group: GroupRef
    member: MemberRef


class GroupMemberAdded(MemberEvent):
    detail_type = "scim.group.member_added"


class GroupMemberRemoved(MemberEvent):
    """A member removed from a group that still exists (deleting the user or group is enough to
    end its memberships: `scim.user.deleted` / `scim.group.deleted` cover those)."""

    detail_type = "scim.group.member_removed"


# -- management events: tenants and tokens (written by the management API, `scimctl`, the authorizer)
class ManagementEvent(EventDetail):
    """The fields every tenant and token detail-type shares."""

    occurred_at: str = Field(description="When the change was written (ISO 8601, UTC).")
    request_id: str = Field(description="The API Gateway request id of the management request ('-' if none).")
    actor: str = Field(
        description="Who made the change: the caller's IAM principal ARN (management API), the operator "
        "(scimctl), or 'authorizer' for scim.tenant.connected."
    )
    changed_attributes: list[str] = Field(description="Attribute names that changed.")


class TenantSnapshot(_Model):
    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    tenant_id: str
    name: str
    status: Literal["active", "disabled", "deleted"]
    preset: str
    external_id: str | None = None
    created_at: str
    connected_at: str | None = None


class TenantEvent(ManagementEvent):
    tenant: TenantSnapshot = Field(description="The tenant after the change.")


class TenantCreated(TenantEvent):
    detail_type = "scim.tenant.created"


class TenantUpdated(TenantEvent):
    """Name, profile or status (disabled → active) changed."""

    detail_type = "scim.tenant.updated"


class TenantDisabled(TenantEvent):
    """Its tokens stop working (at once, or within the authorizer cache TTL)."""

    detail_type = "scim.tenant.disabled"


class TenantDeleted(TenantEvent):
    """Tokens revoked; the id is never reused (docs/management-api.md)."""

    detail_type = "scim.tenant.deleted"


class TenantConnected(TenantEvent):
    """The tenant's first successful IdP request (recorded once, by the authorizer)."""

    detail_type = "scim.tenant.connected"


class TokenSnapshot(_Model):
    """A token's metadata: never the token or its hash."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    token_id: str
    name: str
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None


class TokenEvent(ManagementEvent):
    token: TokenSnapshot


class TokenCreated(TokenEvent):
    detail_type = "scim.token.created"


class TokenRevoked(TokenEvent):
    detail_type = "scim.token.revoked"


class TokenExpiring(TokenEvent):
    """A token expires within `threshold_days` (30, 7 or 1): sent once per threshold by the daily
    token expiry check, so the SaaS can remind the tenant's IT admin to rotate it."""

    detail_type = "scim.token.expiring"
    threshold_days: Literal[30, 7, 1] = Field(description="The warning threshold this token has crossed.")


class SetupLinkSnapshot(_Model):
    """A setup link's metadata: never its secret, its hash or its session."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    link_id: str
    created_at: str
    expires_at: str
    redeemed_at: str | None = None


class SetupLinkEvent(ManagementEvent):
    link: SetupLinkSnapshot


class SetupLinkCreated(SetupLinkEvent):
    """A setup link was made for the tenant's IT admin (docs/setup-page.md)."""

    detail_type = "scim.setup.link_created"


class SetupLinkRedeemed(SetupLinkEvent):
    """The link was opened and started a setup session; `actor` is that session."""

    detail_type = "scim.setup.link_redeemed"


EVENT_TYPES: Final[tuple[type[EventDetail], ...]] = (
    UserCreated,
    UserUpdated,
    UserDeactivated,
    UserReactivated,
    UserDeleted,
    UserRolesChanged,
    GroupCreated,
    GroupUpdated,
    GroupDeleted,
    GroupMemberAdded,
    GroupMemberRemoved,
    TenantCreated,
    TenantUpdated,
    TenantDisabled,
    TenantDeleted,
    TenantConnected,
    TokenCreated,
    TokenRevoked,
    TokenExpiring,
    SetupLinkCreated,
    SetupLinkRedeemed,
)
BY_DETAIL_TYPE: Final[dict[str, type[EventDetail]]] = {t.detail_type: t for t in EVENT_TYPES}


def detail_json(event: EventDetail) -> str:
    """The event's `Detail` as EventBridge carries it: compact JSON, SCIM spelling, no nulls."""
    return event.model_dump_json(by_alias=True, exclude_none=True)


def parse_detail(detail_type: str, detail: str | dict[str, Any]) -> EventDetail:
    """A consumer's (or a test's) reading of one event; raises KeyError for an unknown type."""
    model = BY_DETAIL_TYPE[detail_type]
    return model.model_validate_json(detail) if isinstance(detail, str) else model.model_validate(detail)


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema (draft 2020-12) per detail-type, keyed by detail-type (docs/events/)."""
    schemas: dict[str, dict[str, Any]] = {}
    for model in EVENT_TYPES:
        generated = model.model_json_schema(by_alias=True, mode="serialization")
        schema: dict[str, Any] = {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": f"{model.detail_type}.json",
            "title": model.detail_type,
            "description": model.__doc__ or f"The Detail of a {model.detail_type} event.",
        }
        schema.update((k, v) for k, v in generated.items() if k not in schema)
        schemas[model.detail_type] = schema
    return schemas
