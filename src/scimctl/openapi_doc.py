"""``docs/openapi.json`` as the local gateway serves it at ``/openapi.json``.

The file names the deployed API (``https://{apiHost}/{stage}/scim/v2/{tenant}``); served locally,
its ``servers`` is this gateway instead, so a tool that reads the description (schemathesis, an
API client) talks to the local stack. Not part of the deployed API: template.yaml has no such route.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DOCUMENT = Path("docs") / "openapi.json"  # relative to the directory of template.yaml


@cache
def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def openapi_json(template_path: Path, stage_url: str) -> bytes:
    """The description with one server, ``<stage_url>/scim/v2/{tenant}`` (tenant ``demo`` by default)."""
    document = dict(_load(template_path.resolve().parent / DOCUMENT))
    document["servers"] = [
        {
            "url": f"{stage_url.rstrip('/')}/scim/v2/{{tenant}}",
            "description": "This local gateway (scimctl serve)",
            "variables": {"tenant": {"default": "demo"}},
        }
    ]
    return json.dumps(document, indent=2, ensure_ascii=False).encode()
