"""SigV4 verification for the local management API, as API Gateway's AWS_IAM authorization does it.

The signature is recomputed with botocore's own signer (`botocore.auth.SigV4Auth`) over the
request as received: the headers the client signed (its ``SignedHeaders``), its ``X-Amz-Date``
and the body, under the one local credential (access key id ``local``, secret ``local``). Nothing
of SigV4 is re-implemented here: this module only parses the Authorization header and compares.

Refusals carry API Gateway's texts (403 each): no Authorization header → "Missing Authentication
Token"; an unknown access key → "The security token included in the request is invalid."; a
wrong region or service in the scope, a stale date or a different signature → the corresponding
message, the last with the canonical request and string to sign API Gateway would quote.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

LOCAL_ACCESS_KEY: Final = "local"
LOCAL_SECRET_KEY: Final = "local"  # noqa: S105 - the documented local credential
SERVICE: Final = "execute-api"
MAX_SKEW: Final = timedelta(minutes=15)  # SigV4's window: a signature older or newer is refused

MISSING_TOKEN: Final = "Missing Authentication Token"  # noqa: S105 - a message
INVALID_TOKEN: Final = "The security token included in the request is invalid."  # noqa: S105
MISMATCH: Final = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True, slots=True)
class Refusal:
    error_type: str  # x-amzn-ErrorType
    message: str


@dataclass(frozen=True, slots=True)
class Caller:
    access_key: str


class _AsSigned(SigV4Auth):
    """botocore's signer over exactly the headers the client said it signed."""

    def __init__(self, credentials: Credentials, region: str, signed: Sequence[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = list(signed)

    def headers_to_sign(self, request: AWSRequest) -> object:  # type: ignore[override]
        headers = super().headers_to_sign(request)
        # botocore leaves out user-agent and the like; a client that signed them signed them.
        for name in self._signed:
            if name not in headers and name in request.headers:
                headers[name] = request.headers[name]
        for name in [n for n in headers if n not in self._signed]:
            del headers[name]
        return headers


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What the client sent: the request and its signature's parameters."""

    method: str
    url: str  # http://<host><raw path and query>
    headers: Sequence[tuple[str, str]]
    body: bytes


def verify(request: SignedRequest, region: str, now: datetime | None = None) -> Caller | Refusal:
    """The caller, or why API Gateway would refuse the request (always a 403)."""
    parsed = _authorization(request.headers, region)
    if isinstance(parsed, Refusal):
        return parsed
    stamp = _header(request.headers, "X-Amz-Date") or ""
    refused = _stale(stamp, parsed["date"], now or datetime.now(UTC))
    return refused or _signature(request, region, stamp, parsed)


def _authorization(headers: Sequence[tuple[str, str]], region: str) -> dict[str, str] | Refusal:
    authorization = _header(headers, "Authorization")
    if authorization is None:
        return Refusal("MissingAuthenticationTokenException", MISSING_TOKEN)
    parsed = _AUTH.fullmatch(authorization.strip())
    if parsed is None:
        return Refusal(
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. "
            f"Authorization={authorization.split(' ')[0]}",
        )
    access_key, date, scope_region, scope_service, terminator = (parsed["credential"].split("/") + [""] * 5)[
        :5
    ]
    if access_key != LOCAL_ACCESS_KEY:
        return Refusal("UnrecognizedClientException", INVALID_TOKEN)
    if scope_region != region:
        return Refusal(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{scope_region}'. ",
        )
    if scope_service != SERVICE or terminator != "aws4_request":
        return Refusal(
            "InvalidSignatureException", f"Credential should be scoped to correct service: '{SERVICE}'. "
        )
    return {"date": date, "signed": parsed["signed"], "signature": parsed["signature"]}


def _stale(stamp: str, scope_date: str, now: datetime) -> Refusal | None:
    try:
        signed_at = datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        return Refusal("IncompleteSignatureException", MISMATCH)
    if abs(now - signed_at) <= MAX_SKEW and stamp.startswith(scope_date):
        return None
    return Refusal(
        "InvalidSignatureException",
        f"Signature expired: {stamp} is now earlier than "
        f"{(now - MAX_SKEW).strftime(SIGV4_TIMESTAMP)} ({now.strftime(SIGV4_TIMESTAMP)} - 15 min.)",
    )


def _signature(request: SignedRequest, region: str, stamp: str, parsed: dict[str, str]) -> Caller | Refusal:
    signed = parsed["signed"].split(";")
    aws_request = AWSRequest(
        method=request.method,
        url=request.url,
        data=request.body,
        headers={k: v for k, v in request.headers if k.lower() in signed},
    )
    aws_request.context["timestamp"] = stamp
    signer = _AsSigned(Credentials(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY), region, signed)
    canonical = signer.canonical_request(aws_request)
    string_to_sign = signer.string_to_sign(aws_request, canonical)
    expected = signer.signature(string_to_sign, aws_request)
    if hmac.compare_digest(expected, parsed["signature"]):
        return Caller(LOCAL_ACCESS_KEY)
    return Refusal(
        "InvalidSignatureException",
        f"{MISMATCH}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
        f"The String-to-Sign should have been\n'{string_to_sign}'\n",
    )


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers if k.lower() == wanted), None)
