"""SCIM exception types (RFC 7644 §3.12). Each carries its HTTP status and `scimType`.

Core code raises these; exactly one module (`handlers.http`) turns them into responses.
"""

from __future__ import annotations

from typing import Any, ClassVar

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """Base of every error that becomes a SCIM error response."""

    status: ClassVar[int] = 500
    scim_type: ClassVar[str | None] = None
    default_detail: ClassVar[str] = "The service could not complete the request."

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        self.detail = detail or self.default_detail
        self.headers = dict(headers or {})
        super().__init__(self.detail)

    def to_document(self) -> dict[str, Any]:
        return error_document(self.status, self.detail, self.scim_type)


def error_document(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    """RFC 7644 §3.12 error body; `status` is a string there, not a number."""
    doc: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        doc["scimType"] = scim_type
    return doc


class BadRequest(ScimError):
    status = 400
    default_detail = "The request is not valid."


class InvalidFilter(BadRequest):
    scim_type = "invalidFilter"
    default_detail = (
        "The specified filter syntax is invalid or the attribute and comparison are not supported."
    )


class TooMany(BadRequest):
    scim_type = "tooMany"
    default_detail = "The filter yields more results than the server is willing to return."


class Mutability(BadRequest):
    scim_type = "mutability"
    default_detail = "The request tries to modify an immutable or read-only attribute."


class InvalidSyntax(BadRequest):
    scim_type = "invalidSyntax"
    default_detail = "The request body is not a valid SCIM message."


class InvalidPath(BadRequest):
    scim_type = "invalidPath"
    default_detail = "The path attribute is invalid or malformed."


class NoTarget(BadRequest):
    scim_type = "noTarget"
    default_detail = "The path did not yield an attribute or attribute value that could be operated on."


class InvalidValue(BadRequest):
    scim_type = "invalidValue"
    default_detail = "A required value was missing, or the value specified was not compatible."


class InvalidVersion(BadRequest):
    scim_type = "invalidVers"
    default_detail = "The specified SCIM protocol version is not supported."


class Unauthorized(ScimError):
    status = 401
    default_detail = "Authorization failure. The bearer token is missing, invalid, expired or revoked."

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="scim"', **(headers or {})})


class Forbidden(ScimError):
    status = 403
    default_detail = "The operation is not permitted for this tenant."


class Sensitive(Forbidden):
    scim_type = "sensitive"
    default_detail = "The request cannot be completed because it would expose sensitive information."


class NotFound(ScimError):
    status = 404
    default_detail = "Resource not found."


class MethodNotAllowed(ScimError):
    status = 405
    default_detail = "The HTTP method is not supported on this endpoint."


class Conflict(ScimError):
    status = 409
    default_detail = "The request conflicts with the current state of the resource."


class Uniqueness(Conflict):
    scim_type = "uniqueness"
    default_detail = "One or more of the attribute values are already in use or are reserved."


class PreconditionFailed(ScimError):
    status = 412
    default_detail = "The resource has changed: the If-Match version does not match."


class PayloadTooLarge(ScimError):
    status = 413
    scim_type = "tooLarge"
    default_detail = "The request body is larger than the service accepts."


class UnsupportedMediaType(ScimError):
    status = 415
    default_detail = "The request body must be application/scim+json or application/json."


class TooManyRequests(ScimError):
    status = 429
    default_detail = "Too many requests. Retry after the interval in the Retry-After header."


class InternalError(ScimError):
    status = 500
    default_detail = "The service encountered an unexpected error. The request id identifies it in the logs."


class NotImplementedFeature(ScimError):
    status = 501
    default_detail = "The requested operation is not supported by this service."


class ServiceUnavailable(ScimError):
    """A dependency (DynamoDB, Secrets Manager) is failing: IdPs retry on 503, never on 401."""

    status = 503
    default_detail = "The service is temporarily unavailable. Retry after the interval in Retry-After."

    def __init__(
        self, detail: str | None = None, *, retry_after: int = 5, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after), **(headers or {})})
