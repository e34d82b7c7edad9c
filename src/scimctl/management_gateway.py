"""The local management API: template.yaml's `ManagementApi` served next to the SCIM API.

A `LocalGateway` (same proxy events, in-process functions, gateway responses) for the management
API's routes, with API Gateway's AWS_IAM step in front: every request must carry a SigV4
signature (service ``execute-api``, the local region, access key id ``local``, secret ``local``)
that `scimctl.sigv4_check` verifies with botocore's signer, else it gets API Gateway's 403. The
verified caller is the proxy event's ``requestContext.identity`` (``userArn``
``arn:aws:iam::<account>:user/local``), the actor of every write.

Known difference from AWS: the management function's FlushStageAuthorizersCache call reaches moto,
not the SCIM gateway; so after every management write the SCIM gateway's authorizer cache is
flushed here (what the call does in AWS).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Final

from scimctl import local_reset
from scimctl.gateway import (
    Headers,
    LocalGateway,
    LocalResponse,
    _display_host,
    _GatewayHTTPServer,
    _header,
    _Request,
)
from scimctl.sigv4_check import LOCAL_ACCESS_KEY, Refusal, SignedRequest, verify
from scimctl.template import DEFAULT_ACCOUNT_ID, Route, load_template

MANAGEMENT_API: Final = "ManagementApi"
LOCAL_MANAGEMENT_API_ID: Final = "mgmtlocal0"
LOCAL_USER_ARN: Final = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/{LOCAL_ACCESS_KEY}"
OPENAPI_DOCUMENT: Final = Path("docs") / "management-openapi.json"


class ManagementGateway(LocalGateway):
    """API Gateway for the management API: SigV4 first, then the routes of `ManagementApi`."""

    def __init__(
        self,
        template_path: Path | str,
        *,
        stage: str = "v1",
        region: str = "us-east-1",
        parameters: Mapping[str, str] | None = None,
        scim: LocalGateway | None = None,
    ) -> None:
        super().__init__(template_path, stage=stage, region=region, parameters=parameters)
        self.template = load_template(template_path, parameters, api=MANAGEMENT_API)
        self.serve_api_beside(scim, LOCAL_MANAGEMENT_API_ID)  # AWS_IAM: SigV4 below
        self.after_management_write: Callable[[], object] | None = None

    def handle(
        self,
        method: str,
        raw_path: str,
        headers: Headers,
        body: bytes,
        source_ip: str = "127.0.0.1",
    ) -> LocalResponse:
        pairs = tuple(headers.items()) if isinstance(headers, Mapping) else tuple(headers)
        if method.upper() == "GET" and raw_path.partition("?")[0] == "/openapi.json":
            return self._openapi(pairs)  # local only, as the SCIM gateway's: no auth
        host = _header(pairs, "Host") or "127.0.0.1"
        checked = verify(SignedRequest(method.upper(), f"http://{host}{raw_path}", pairs, body), self.region)
        if isinstance(checked, Refusal):
            body_out = json.dumps({"message": checked.message}, separators=(",", ":")).encode()
            return LocalResponse(
                403,
                (("Content-Type", "application/json"), ("x-amzn-ErrorType", checked.error_type)),
                body_out,
            )
        response = super().handle(method, raw_path, pairs, body, source_ip)
        if method.upper() not in ("GET", "HEAD", "OPTIONS") and self.after_management_write is not None:
            self.after_management_write()
        return response

    def _base_event(self, request: _Request, route: Route, params: dict[str, str]) -> dict[str, Any]:
        event = super()._base_event(request, route, params)
        # What API Gateway puts there for a SigV4-authenticated IAM user.
        event["requestContext"]["identity"] |= {
            "accessKey": LOCAL_ACCESS_KEY,
            "accountId": DEFAULT_ACCOUNT_ID,
            "caller": f"AIDALOCAL:{LOCAL_ACCESS_KEY}",
            "user": f"AIDALOCAL:{LOCAL_ACCESS_KEY}",
            "userArn": LOCAL_USER_ARN,
        }
        return event

    def _openapi(self, headers: Sequence[tuple[str, str]]) -> LocalResponse:
        path = self.template.path.resolve().parent / OPENAPI_DOCUMENT
        document = json.loads(path.read_text(encoding="utf-8"))
        host = _header(headers, "Host") or "127.0.0.1"
        document["servers"] = [{"url": f"http://{host}/{self.stage}", "description": "scimctl serve"}]
        return LocalResponse(
            200, (("Content-Type", "application/json"),), json.dumps(document, indent=2).encode()
        )


def start_management(
    stack: ExitStack,
    scim: LocalGateway,
    *,
    host: str,
    api_url: str,
    log_requests: bool,
    port: int = 0,
    setup_page_url: str = "",
) -> str:
    """Serve the management API next to a started SCIM gateway (same moto, same functions' code);
    returns its base URL. Stopped by `stack`."""
    gateway = ManagementGateway(
        scim.template.path,
        stage=scim.stage,
        region=scim.region,
        parameters=dict(scim.template.parameters),
        scim=scim,
    )
    # Tenants' scim_base_url: the local SCIM API (in AWS, the SCIM API's invoke URL).
    gateway.environment["SCIM_BASE_URL"] = api_url
    if setup_page_url:  # setup links open the local setup page (scimctl.setup_gateway)
        gateway.environment["SETUP_PAGE_URL"] = setup_page_url
    gateway.environment["WEBHOOK_QUEUE_URL"] = scim.environment["WEBHOOK_QUEUE_URL"]  # redeliveries
    gateway.after_write = scim.after_write  # the provisioning events pump, when on

    def after_management_write() -> None:
        scim.flush_authorizer_cache()  # what FlushStageAuthorizersCache does in AWS

    gateway.after_management_write = after_management_write
    stack.enter_context(gateway)
    stack.callback(local_reset.install(gateway))  # POST /tenants/{t}/reset's worker, in a thread
    httpd = _GatewayHTTPServer((host, port), gateway, log_requests)
    stack.callback(httpd.server_close)
    thread = threading.Thread(target=httpd.serve_forever, name="local-management-api", daemon=True)
    thread.start()
    stack.callback(thread.join, 5)
    stack.callback(httpd.shutdown)
    return f"http://{_display_host(host)}:{httpd.server_port}/{scim.stage}"
