"""The tenant profile the authorizer put in the request context (parsed once per warm container)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from core.profiles import PRESETS, Profile


@lru_cache(maxsize=256)
def tenant_profile(raw: str) -> Profile:
    return Profile.from_json(raw) if raw else PRESETS["default"]


def request_profile(app: APIGatewayRestResolver) -> Profile:
    authorizer: dict[str, Any] = dict(app.current_event.request_context.authorizer or {})
    return tenant_profile(str(authorizer.get("profile") or ""))
