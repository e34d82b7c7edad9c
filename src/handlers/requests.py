"""Reading a SCIM request out of the API Gateway event: body, headers, list parameters."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from core.errors import InvalidSyntax, PayloadTooLarge, UnsupportedMediaType

# Well under API Gateway's 10 MB: no SCIM request needs more, and parsing costs Lambda time.
MAX_BODY_BYTES = 1_048_576
_JSON_TYPES = ("application/scim+json", "application/json")


def header(app: APIGatewayRestResolver, name: str) -> str | None:
    headers = app.current_event.headers or {}
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def raw_body(app: APIGatewayRestResolver) -> str | None:
    event = app.current_event
    return event.decoded_body if event.is_base64_encoded else event.body


def body_size(app: APIGatewayRestResolver) -> int:
    """The request body's size in bytes, as the client sent it."""
    raw = raw_body(app)
    return 0 if raw is None else len(raw.encode())


def json_body(app: APIGatewayRestResolver) -> Any:
    """The request body as JSON; any failure is a SCIM 400/413/415, never a 500."""
    raw = raw_body(app)
    if raw is None or raw.strip() == "":
        raise InvalidSyntax("The request body is empty; a JSON object is required.")
    if body_size(app) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    content_type = (header(app, "Content-Type") or "").split(";")[0].strip().lower()
    # Lenient: some IdPs send no Content-Type, or text/json; anything clearly not JSON is refused.
    if content_type and not (content_type in _JSON_TYPES or content_type.endswith("json")):
        raise UnsupportedMediaType()
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidSyntax("The request body is not valid JSON.") from None


def query_params(app: APIGatewayRestResolver) -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})
