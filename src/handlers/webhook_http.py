"""The webhook sender: one POST with urllib3 (already in the package through botocore).

- Timeouts: 3 s to connect, 10 s to read; no retries here (the schedule retries,
  `core.webhooks.delivery`) and redirects are never followed (a 3xx is a failed attempt).
- SSRF: the host is resolved here and every address checked (`core.webhooks.urls.check_address`);
  the connection goes to the first checked address, with the URL's host as the TLS server name
  and `Host` header, so what was checked is what is reached (no DNS rebinding between the two).
- TLS: certificates verified against the system's trust store, hostname checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping

import urllib3
from urllib3.exceptions import HTTPError

from core.webhooks.delivery import SendFailed
from core.webhooks.urls import InvalidWebhookUrl, check_address, check_url, host_and_port

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0


class UrllibSender:
    def __init__(self, *, allow_loopback: bool = False) -> None:
        self._allow_loopback = allow_loopback
        self._timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        try:
            check_url(url, allow_loopback=self._allow_loopback)
        except InvalidWebhookUrl as exc:
            raise SendFailed(exc.detail) from None
        parts, host, port = host_and_port(url)
        address = self._resolve(host, port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        pool: urllib3.HTTPConnectionPool
        if parts.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address,
                port,
                timeout=self._timeout,
                retries=False,
                cert_reqs="CERT_REQUIRED",
                server_hostname=host,
                assert_hostname=host,
            )
        else:  # only a loopback receiver, locally (check_url)
            pool = urllib3.HTTPConnectionPool(address, port, timeout=self._timeout, retries=False)
        host_header = host if port == (443 if parts.scheme == "https" else 80) else f"{host}:{port}"
        try:
            with pool:
                response = pool.urlopen(
                    "POST",
                    path,
                    body=body,
                    headers={**headers, "Host": host_header},
                    redirect=False,
                    retries=False,
                    assert_same_host=False,
                    preload_content=False,
                )
                response.drain_conn()  # the receiver's body is never read into memory or logged
                response.release_conn()
                return int(response.status)
        except HTTPError as exc:
            raise SendFailed(type(exc).__name__) from None

    def _resolve(self, host: str, port: int) -> str:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise SendFailed(f"cannot resolve host: {type(exc).__name__}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise SendFailed("host has no address")
        try:
            for address in addresses:  # every one: a name must not mix public and private answers
                check_address(address, allow_loopback=self._allow_loopback)
        except InvalidWebhookUrl as exc:
            raise SendFailed(exc.detail) from None
        return str(addresses[0])
