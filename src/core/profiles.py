"""Tenant profiles: what a tenant's SCIM endpoint accepts, stores and advertises.

A profile is stored with the tenant (versioned) and travels to the handlers in the authorizer's
context, so applying it costs no extra DynamoDB call. Presets reproduce the five vendor guides in
`../shared/seeds/` (see docs/idp/ and the acceptance tests in tests/integration/test_preset_*.py).
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.discovery import (
    GROUP_RESOURCE_TYPE,
    USER_RESOURCE_TYPE,
    ServiceCapabilities,
)
from core.schema.enterprise import ENTERPRISE_USER
from core.schema.model import AttributeDef, Schema
from core.schema.registry import resolve_path
from core.schema.user import USER

PROFILE_FORMAT_VERSION = 1


class DeleteBehavior(StrEnum):
    HARD = "hard"  # DELETE removes the user (then 404)
    DEACTIVATE = "deactivate"  # DELETE sets active=false and keeps the user for audit


class RolesRule(BaseModel):
    """`roles` as a string array in the core User schema, limited to the SaaS's role names (Loopio)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed: tuple[str, ...] = Field(min_length=1)
    default: str | None = None

    @model_validator(mode="after")
    def _default_is_allowed(self) -> RolesRule:
        if self.default is not None and self.default not in self.allowed:
            raise ValueError(f"default role {self.default!r} is not one of the allowed roles")
        return self


class RoleMapping(BaseModel):
    """Members of a group (named by displayName, externalId or id) get `role` (core.roles)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group: str = Field(min_length=1, max_length=256)
    match: Literal["displayName", "externalId", "id"] = "displayName"
    role: str = Field(min_length=1, max_length=100)
    # Lower first: a user's effective roles are ordered by it, so roles[0] is the primary role.
    priority: int = Field(100, ge=0, le=10_000)


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = PROFILE_FORMAT_VERSION
    preset: str = "default"
    description: str = ""
    groups_enabled: bool = True
    # Attribute paths the tenant keeps (resolve_path notation); None keeps every RFC attribute.
    kept_attributes: tuple[str, ...] | None = None
    # What happens to attributes outside `kept_attributes`: dropped silently, or a 400.
    unknown_attributes: Literal["ignore", "reject"] = "ignore"
    required_attributes: tuple[str, ...] = ()
    username_equals_email: bool = False
    display_name_from_formatted: bool = False
    roles: RolesRule | None = None
    delete_behavior: DeleteBehavior = DeleteBehavior.HARD
    idp_managed_read_only: bool = False  # SCIM-managed users are read-only in the SaaS's own UI/API
    audience: Literal["users", "advocates"] | None = None
    # Roles from groups (issue 18): a user's effective roles, recomputed when memberships change.
    role_mappings: tuple[RoleMapping, ...] = Field((), max_length=100)
    default_role: str | None = Field(None, min_length=1, max_length=100)  # when no mapping matches

    @field_validator("kept_attributes", "required_attributes")
    @classmethod
    def _known_paths(cls, paths: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for path in paths or ():
            if resolve_path((USER, ENTERPRISE_USER), path) is None and path != "roles":
                raise ValueError(
                    f"{path!r} is not an attribute of the User schema or its enterprise extension"
                )
        return paths

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=False)

    @classmethod
    def from_json(cls, raw: str) -> Profile:
        return cls.model_validate_json(raw)


ALWAYS_KEPT = ("userName", "active", "externalId")

PRESETS: dict[str, Profile] = {
    "default": Profile(preset="default", description="Full RFC 7643 User and Group; groups on."),
    # Popl: Okta pushes users, profile updates and groups; Entra maps name and email only (and the
    # admin turns group provisioning off on the Entra side).
    "popl": Profile(
        preset="popl",
        description="Popl: members from Okta (users, profile updates, groups) or Entra (name and email).",
        kept_attributes=("userName", "name", "displayName", "emails", "active", "externalId"),
    ),
    # Poppulo: create, update (name, email, job title, employee id), deactivate; groups pushed empty
    # then users pushed into them; SCIM-managed users are read-only in Poppulo.
    "poppulo": Profile(
        preset="poppulo",
        description="Poppulo: users with name, email, job title and employee id; empty groups then members.",
        kept_attributes=(
            "userName",
            "name",
            "displayName",
            "emails",
            "title",
            "active",
            "externalId",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        ),
        delete_behavior=DeleteBehavior.DEACTIVATE,
        idp_managed_read_only=True,
    ),
    # Poggio: users only; userName (the email) and displayName, with name.formatted as fallback.
    "poggio": Profile(
        preset="poggio",
        description="Poggio: users only; keeps userName and displayName (name.formatted as fallback).",
        groups_enabled=False,
        kept_attributes=("userName", "displayName", "name.formatted", "active", "externalId"),
        display_name_from_formatted=True,
    ),
    # Oktopost: userName, given and family name and the work email required, userName equal to the
    # email; deactivate and reactivate; two audiences (users, advocates) on separate tenant URLs.
    "oktopost": Profile(
        preset="oktopost",
        description="Oktopost: name and work email required, userName equal to the email; deactivation.",
        groups_enabled=False,
        # Roles cannot be assigned from the IdP ("System assumes the default role"): not kept.
        kept_attributes=("userName", "name", "displayName", "emails", "active", "externalId"),
        required_attributes=("userName", "name.givenName", "name.familyName", "emails"),
        username_equals_email=True,
        delete_behavior=DeleteBehavior.DEACTIVATE,
        audience="users",
    ),
    # Loopio: Okta import (GET list), push new users and profile updates, deprovisioning; roles as a
    # string array in the core User schema, each naming an existing Loopio role.
    "loopio": Profile(
        preset="loopio",
        description="Loopio: users with roles (string array) that must name an existing role.",
        groups_enabled=False,
        roles=RolesRule(allowed=("Admin", "Manager", "Member", "Viewer"), default="Member"),
        delete_behavior=DeleteBehavior.DEACTIVATE,
    ),
}


def preset(name: str, audience: str | None = None) -> Profile:
    try:
        found = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}") from None
    if audience is not None:
        if name != "oktopost":
            raise ValueError("--audience applies to the oktopost preset only")
        return found.model_copy(update={"audience": audience})
    return found


# -- schemas and capabilities as the profile sees them -------------------------------------------------
ROLES_AS_STRINGS = AttributeDef(
    name="roles",
    multi_valued=True,
    description="Role names; each must name an existing role of the application.",
)


def _narrow(schema: Schema, kept: set[str] | None, required: set[str], roles: bool) -> Schema:
    attributes = []
    for attr in schema.attributes:
        qualified = attr.name.lower() if schema is USER else f"{schema.id}:{attr.name}".lower()
        if roles and schema is USER and attr.name == "roles":
            attributes.append(replace(ROLES_AS_STRINGS, required="roles" in required))
            continue
        if (
            kept is not None
            and qualified not in kept
            and not any(k.startswith(qualified + ".") for k in kept)
        ):
            continue
        subs = tuple(
            replace(sub, required=sub.required or f"{qualified}.{sub.name.lower()}" in required)
            for sub in attr.sub_attributes
            if kept is None or qualified in kept or f"{qualified}.{sub.name.lower()}" in kept
        )
        # A required sub-attribute (name.givenName) makes its parent required too: otherwise a body
        # without "name" at all would pass.
        needed = (
            attr.required or qualified in required or any(r.startswith(qualified + ".") for r in required)
        )
        attributes.append(replace(attr, required=needed, sub_attributes=subs))
    return replace(schema, attributes=tuple(attributes))


@lru_cache(maxsize=64)
def capabilities_for(profile: Profile, base: ServiceCapabilities) -> ServiceCapabilities:
    """The discovery capabilities and schemas of a tenant with this profile."""
    kept = (
        None
        if profile.kept_attributes is None
        else {p.lower() for p in (*profile.kept_attributes, *ALWAYS_KEPT)}
    )
    if kept is not None and profile.groups_enabled:
        kept.add("groups")  # a user's memberships come with groups, whatever else is kept
    required = {p.lower() for p in profile.required_attributes}
    user = _narrow(USER, kept, required, roles=profile.roles is not None)
    if not profile.groups_enabled:  # no Group resource type: no membership attribute either
        user = replace(user, attributes=tuple(a for a in user.attributes if a.name != "groups"))
    enterprise = _narrow(ENTERPRISE_USER, kept, required, roles=False)
    # An extension the profile keeps nothing of is not advertised at all.
    user_type = (
        USER_RESOURCE_TYPE if enterprise.attributes else replace(USER_RESOURCE_TYPE, schema_extensions=())
    )
    types = (user_type, GROUP_RESOURCE_TYPE) if profile.groups_enabled else (user_type,)
    schemas = (user, enterprise) if enterprise.attributes else (user,)
    return replace(base, resource_types=types, schemas=schemas)


def is_narrowed(profile: Profile) -> bool:
    return (
        profile.kept_attributes is not None or profile.roles is not None or bool(profile.required_attributes)
    )
