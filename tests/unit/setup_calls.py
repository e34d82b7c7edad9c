"""Setup API requests through the real handler, shaped as API Gateway sends them (the base is
events/SetupFunction/get-setup-page.json): for the unit tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from handlers import setup
from tests.support import SETUP_BASE_EVENT, FakeContext, setup_event

BASE_EVENT = SETUP_BASE_EVENT
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
    if raw_cookie is None and cookie is not None:
        raw_cookie = f"{setup.COOKIE}={cookie}"
    event = setup_event(method, path, body, headers=headers, query=query, cookie_header=raw_cookie)
    result = setup.lambda_handler(event, FakeContext("SetupFunction"))
    text = result.get("body") or ""
    content_type = dict(result.get("headers") or {}).get("Content-Type", "")
    parsed = json.loads(text) if text and "json" in content_type else None
    return Answer(result["statusCode"], parsed, text, dict(result.get("headers") or {}))


def redeem(url: str) -> Answer:
    return call("POST", "/setup/api/session", {"link": url.partition("#")[2]}, headers=WRITE)
