"""The stack's signing key (cursors, ETags): read from Secrets Manager once per container.

`install()` registers `stack_keyring` with `core.signing`; its loader runs on the first request
that signs or verifies something (never at import, never for discovery or the authorizer). The
secret's ARN comes from ``SIGNING_KEY_SECRET_ARN``. Outside Lambda without it (benchmarks, unit
tests) a random per-process key is used; inside Lambda a missing variable is a broken deploy and
fails loudly.
"""

from __future__ import annotations

import os
import secrets
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from core import signing
from core.store.aws_errors import unavailable_on_outage
from handlers import aws_clients
from handlers.observability import logger

SECRET_ENV = "SIGNING_KEY_SECRET_ARN"  # noqa: S105 - a variable name  # nosec B105
_PROCESS_KEY = secrets.token_bytes(32)


class SigningSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    secret_arn: str | None = Field(None, alias=SECRET_ENV, min_length=1)
    lambda_function: str | None = Field(None, alias="AWS_LAMBDA_FUNCTION_NAME")


def load_master_key() -> bytes:
    settings = SigningSettings.model_validate({k: v for k, v in os.environ.items() if v})
    if settings.secret_arn is None:
        if settings.lambda_function is not None:
            raise RuntimeError(f"{SECRET_ENV} is not set: the function cannot sign cursors or ETags")
        logger.warning("no signing key configured; using a random per-process key")
        return _PROCESS_KEY
    with unavailable_on_outage("Secrets Manager"):
        out = aws_clients.secretsmanager().get_secret_value(SecretId=settings.secret_arn)
    logger.debug("signing key loaded")
    return str(out.get("SecretString") or "").encode()


@cache
def stack_keyring() -> signing.KeyRing:
    return signing.KeyRing(load_master_key)


def install() -> None:
    signing.install(stack_keyring)
