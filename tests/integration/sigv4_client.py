"""A management API client over real HTTP, signing each request with botocore's SigV4 signer."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.integration.conftest import HttpResponse, _lower


class ManagementHttp:
    def __init__(
        self,
        base_url: str,
        access_key: str = "local",
        secret: str = "local",  # noqa: S107 - the documented local credential
        region: str = "us-east-1",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = Credentials(access_key, secret)
        self.region = region

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        signed: bool = True,
    ) -> HttpResponse:
        url = f"{self.base_url}{path}"
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        sent = {"Accept": "application/json", **({"Content-Type": "application/json"} if data else {})}
        sent |= dict(headers or {})
        if signed:
            aws = AWSRequest(method=method, url=url, data=data, headers=sent)
            SigV4Auth(self.credentials, "execute-api", self.region).add_auth(aws)
            sent = dict(aws.headers.items())
        request = urllib.request.Request(url, data=data, method=method, headers=sent)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback only
                return HttpResponse(response.status, _lower(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, _lower(error.headers.items()), error.read())

    def get(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> HttpResponse:
        return self.request("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> HttpResponse:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("DELETE", path, **kwargs)
