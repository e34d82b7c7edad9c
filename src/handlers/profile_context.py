"""The tenant profile the authorizer put in the request context (parsed once per warm container)."""

from __future__ import annotations

from functools import lru_cache

from core.profiles import PRESETS, Profile
from handlers.routing import Router


@lru_cache(maxsize=256)
def tenant_profile(raw: str) -> Profile:
    return Profile.from_json(raw) if raw else PRESETS["default"]


def request_profile(app: Router) -> Profile:
    return tenant_profile(str(app.request.authorizer.get("profile") or ""))
