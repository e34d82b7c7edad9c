"""Each function's environment, validated once per container (a bad deploy fails loudly at invoke)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class CommonSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    secrets_prefix: str = Field(alias="SECRETS_PREFIX", min_length=1)


class AuthorizerSettings(CommonSettings):
    token_hash_cache_seconds: int = Field(60, alias="TOKEN_HASH_CACHE_SECONDS", ge=0, le=900)


@cache
def common_settings() -> CommonSettings:
    return CommonSettings.model_validate(dict(os.environ))


@cache
def authorizer_settings() -> AuthorizerSettings:
    return AuthorizerSettings.model_validate(dict(os.environ))


def reset() -> None:
    common_settings.cache_clear()
    authorizer_settings.cache_clear()
