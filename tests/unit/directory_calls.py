"""Directory reads through the real handler (`handlers.management_directory`), shaped as API
Gateway sends them after AWS_IAM (the base is events/DirectoryFunction/list-groups.json)."""

from __future__ import annotations

import copy
import json
from typing import Any

from handlers import management_directory
from tests.conftest import ROOT
from tests.support import FakeContext
from tests.unit.management_calls import Answer

BASE_EVENT = json.loads((ROOT / "events/DirectoryFunction/list-groups.json").read_text())
_NAMES = {"users": "user_id", "groups": "group_id"}


def read(path: str, query: dict[str, str] | None = None) -> Answer:
    """GET `path` (e.g. ``/tenants/acme/users/<id>/groups``) through the directory function."""
    event = copy.deepcopy(BASE_EVENT)
    parts = path.strip("/").split("/")
    params = {"tenant": parts[1]}
    template = ["tenants", "{tenant}", *parts[2:]]
    if len(parts) > 3:
        name = _NAMES[parts[2]]
        params[name] = parts[3]
        template[3] = "{" + name + "}"
    resource = "/" + "/".join(template)
    event.update(resource=resource, path=path, httpMethod="GET", pathParameters=params)
    event["requestContext"].update(resourcePath=resource, httpMethod="GET", path=f"/v1{path}")
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in (query or {}).items()} or None
    result = management_directory.lambda_handler(event, FakeContext("DirectoryFunction"))
    text = result.get("body") or ""
    return Answer(
        result["statusCode"], json.loads(text) if text else None, text, dict(result.get("headers") or {})
    )


def walk(path: str, limit: int, query: dict[str, str] | None = None) -> tuple[list[Any], int]:
    """Every item of a list, following next_cursor with pages of `limit`; and the page count."""
    items: list[Any] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = dict(query or {}) | {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        answer = read(path, params)
        assert answer.status == 200, answer.text
        assert len(answer.body["data"]) <= limit
        items.extend(answer.body["data"])
        pages += 1
        cursor = answer.body["next_cursor"]
        if cursor is None:
            return items, pages
