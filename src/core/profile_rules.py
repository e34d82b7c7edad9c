"""The per-tenant rules of a profile, applied to a normalised User before it is stored.

Each violation is a 400 `invalidValue` whose detail an IT admin can act on, naming the value
and what is expected.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidValue, NotImplementedFeature
from core.profiles import Profile


def apply_user_rules(profile: Profile, doc: dict[str, Any]) -> dict[str, Any]:
    if profile.display_name_from_formatted and not doc.get("displayName"):
        formatted = (doc.get("name") or {}).get("formatted")
        if formatted:
            doc["displayName"] = formatted  # Poggio: name.formatted stands in for displayName
    if profile.username_equals_email:
        _check_username_is_email(doc)
    if profile.roles is not None:
        doc = _apply_roles(profile, doc)
    return doc


def _work_email(doc: dict[str, Any]) -> str | None:
    emails = [e for e in doc.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    for wanted in (
        lambda e: e.get("type") == "work",
        lambda e: e.get("primary") is True,
        lambda e: True,
    ):
        found = next((e["value"] for e in emails if wanted(e)), None)
        if found:
            return str(found)
    return None


def _check_username_is_email(doc: dict[str, Any]) -> None:
    email = _work_email(doc)
    user_name = str(doc.get("userName", ""))
    if email is None:
        raise InvalidValue(
            'A work email is required: map emails[type eq "work"].value (e.g. to mail) in the IdP.'
        )
    if email.lower() != user_name.lower():
        raise InvalidValue(
            f"userName {user_name[:100]!r} must equal the work email {email[:100]!r}: map userName "
            'and emails[type eq "work"].value to the same IdP attribute.'
        )


def _apply_roles(profile: Profile, doc: dict[str, Any]) -> dict[str, Any]:
    assert profile.roles is not None
    allowed = {role.lower(): role for role in profile.roles.allowed}
    roles = doc.get("roles") or []
    canonical = []
    for role in roles:
        value = role.get("value") if isinstance(role, dict) else role
        if not isinstance(value, str) or value.lower() not in allowed:
            raise InvalidValue(
                f"roles value {str(value)[:64]!r} is not one of: {', '.join(profile.roles.allowed)}."
            )
        canonical.append(allowed[value.lower()])
    if not canonical and profile.roles.default:
        canonical = [profile.roles.default]
    if canonical:
        doc["roles"] = list(dict.fromkeys(canonical))
    return doc


def require_groups(profile: Profile) -> None:
    if not profile.groups_enabled:
        # 501: the operation is valid SCIM that this tenant does not offer (RFC 7644 §3.12 uses
        # 501 for unsupported features). Discovery advertises no Group resource type.
        raise NotImplementedFeature(
            "Groups are not enabled for this tenant; turn off group provisioning in the IdP."
        )
