"""The tenant profile the authorizer put in the request context (parsed once per warm container)."""

from __future__ import annotations

from functools import lru_cache

from core.profiles import PRESETS, Profile
from handlers.routing import Router


@lru_cache(maxsize=256)
def tenant_profile(raw: str) -> Profile:
    if not raw:
        return PRESETS["default"]
    profile = Profile.from_json(raw)
    # A tenant on an unchanged preset gets the preset object itself: services recognise the
    # default profile by identity and skip narrowing its schemas.
    preset = PRESETS.get(profile.preset)
    return preset if preset == profile else profile


def request_profile(app: Router) -> Profile:
    return tenant_profile(str(app.request.authorizer.get("profile") or ""))
