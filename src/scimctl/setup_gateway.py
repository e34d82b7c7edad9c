"""The local setup page: template.yaml's `SetupApi` served next to the SCIM and management APIs.

A `LocalGateway` (same proxy events, in-process functions, gateway responses) for the setup API's
routes. They have no authorizer and no IAM: the function checks the session cookie itself, as in
AWS. Served on the SCIM port + 3 (moto + 1, the management API + 2), any free port with port 0.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Final

from scimctl.gateway import (
    Headers,
    LocalGateway,
    LocalResponse,
    _display_host,
    _GatewayHTTPServer,
)
from scimctl.template import load_template

SETUP_API: Final = "SetupApi"
LOCAL_SETUP_API_ID: Final = "setuplocal"


class SetupGateway(LocalGateway):
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
        self.template = load_template(template_path, parameters, api=SETUP_API)
        self.serve_api_beside(scim, LOCAL_SETUP_API_ID)
        self.after_setup_write: Callable[[], object] | None = None

    def handle(
        self, method: str, raw_path: str, headers: Headers, body: bytes, source_ip: str = "127.0.0.1"
    ) -> LocalResponse:
        response = super().handle(method, raw_path, headers, body, source_ip)
        if method.upper() not in ("GET", "HEAD", "OPTIONS") and self.after_setup_write is not None:
            self.after_setup_write()
        return response


class BoundSetup:
    """The setup API's HTTP server, bound (so its URL is known) but not yet serving."""

    def __init__(
        self, stack: ExitStack, scim: LocalGateway, *, host: str, port: int, log_requests: bool
    ) -> None:
        self.gateway = SetupGateway(
            scim.template.path,
            stage=scim.stage,
            region=scim.region,
            parameters=dict(scim.template.parameters),
            scim=scim,
        )
        self._stack = stack
        self._httpd = _GatewayHTTPServer((host, port), self.gateway, log_requests)
        stack.callback(self._httpd.server_close)
        self.url = f"http://{_display_host(host)}:{self._httpd.server_port}/{scim.stage}/setup"

    def start(self, scim: LocalGateway, environment: Mapping[str, str]) -> None:
        self.gateway.environment |= dict(environment)
        self.gateway.after_write = scim.after_write  # setup links' and tokens' events, when on

        # What FlushStageAuthorizersCache does in AWS: a token revoked from the page stops at once.
        self.gateway.after_setup_write = scim.flush_authorizer_cache
        self._stack.enter_context(self.gateway)
        thread = threading.Thread(target=self._httpd.serve_forever, name="local-setup-page", daemon=True)
        thread.start()
        self._stack.callback(thread.join, 5)
        self._stack.callback(self._httpd.shutdown)
