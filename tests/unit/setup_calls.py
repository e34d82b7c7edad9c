"""Setup API requests through the real handler, shaped as API Gateway sends them (the base is
events/SetupFunction/get-setup-page.json): for the unit tests."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from handlers import setup
from tests.conftest import ROOT
from tests.support import FakeContext

BASE_EVENT = json.loads((ROOT / "events/SetupFunction/get-setup-page.json").read_text())
HOST = BASE_EVENT["headers"]["Host"]
ORIGIN = f"https://{HOST}"
WRITE = {"X-Setup-Request": "1", "Origin": ORIGIN}


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    text: str
    headers: dict[str, str]

    @property
    def cookie(self) -> str | None:
        """The session id the answer sets (None if it sets none or clears it)."""
        raw = self.headers.get("Set-Cookie", "")
        value = raw.partition(";")[0].partition("=")[2]
        return value or None


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    raw_cookie: str | None = None,
) -> Answer:
    """One request to the setup function; `path` below the stage ("/setup/api/tokens")."""
    event = copy.deepcopy(BASE_EVENT)
    resource, params = path, None
    if path.startswith("/setup/api/tokens/"):
        resource, params = "/setup/api/tokens/{token_id}", {"token_id": path.rsplit("/", 1)[1]}
    event.update(resource=resource, path=path, httpMethod=method, pathParameters=params)
    event["requestContext"].update(resourcePath=resource, httpMethod=method, path=f"/v1{path}")
    event["queryStringParameters"] = query or None
    all_headers = dict(event["headers"]) | (headers or {})
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    if cookie is not None or raw_cookie is not None:
        all_headers["Cookie"] = raw_cookie if raw_cookie is not None else f"{setup.COOKIE}={cookie}"
    event["headers"] = all_headers
    event["multiValueHeaders"] = {k: [v] for k, v in all_headers.items()}
    event["body"] = None if body is None else json.dumps(body)
    result = setup.lambda_handler(event, FakeContext("SetupFunction"))
    text = result.get("body") or ""
    content_type = dict(result.get("headers") or {}).get("Content-Type", "")
    parsed = json.loads(text) if text and "json" in content_type else None
    return Answer(result["statusCode"], parsed, text, dict(result.get("headers") or {}))


def redeem(url: str) -> Answer:
    return call("POST", "/setup/api/session", {"link": url.partition("#")[2]}, headers=WRITE)
