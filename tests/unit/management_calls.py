"""Management API requests through the real handler, shaped as API Gateway sends them after
AWS_IAM (the base is events/ManagementFunction/list-tenants.json): for the unit tests."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from handlers import management
from tests.conftest import ROOT
from tests.support import FakeContext

BASE_EVENT = json.loads((ROOT / "events/ManagementFunction/list-tenants.json").read_text())


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    text: str
    headers: dict[str, str]

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def call(
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request through the handler, shaped as API Gateway sends it after AWS_IAM."""
    event = copy.deepcopy(BASE_EVENT)
    parts = path.strip("/").split("/")
    resource = "/" + "/".join(
        {1: "{tenant}", 3: "{token_id}"}.get(i, part) if len(parts) > i and i in (1, 3) else part
        for i, part in enumerate(parts)
    )
    params = {name: parts[i] for i, name in ((1, "tenant"), (3, "token_id")) if len(parts) > i}
    event.update(resource=resource, path=path, httpMethod=method, pathParameters=params or None)
    event["requestContext"].update(resourcePath=resource, httpMethod=method, path=f"/v1{path}")
    event["queryStringParameters"] = query or None
    all_headers = dict(event["headers"]) | {"Content-Type": "application/json"} | (headers or {})
    event["headers"] = all_headers
    event["multiValueHeaders"] = {k: [v] for k, v in all_headers.items()}
    event["body"] = None if body is None else json.dumps(body)
    result = management.lambda_handler(event, FakeContext("ManagementFunction"))
    text = result.get("body") or ""
    return Answer(
        result["statusCode"], json.loads(text) if text else None, text, dict(result.get("headers") or {})
    )
