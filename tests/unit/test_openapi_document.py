"""docs/openapi.json stays true to what the stack serves: the template's routes and the SCIM schemas.

The description is what schemathesis fuzzes (tests/integration/test_openapi_fuzz.py) and what SaaS
engineers generate clients from, so a route or attribute added to the code must show up here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.schema.enterprise import ENTERPRISE_USER
from core.schema.group import GROUP
from core.schema.user import USER
from scimctl.template import load_template
from tests.conftest import ROOT

TENANT_PREFIX = "/scim/v2/{tenant}"
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))


def _template_operations() -> set[tuple[str, str]]:
    template = load_template(ROOT / "template.yaml")
    operations = set()
    for route in template.routes:
        if route.method == "ANY" or not route.path.startswith(TENANT_PREFIX + "/"):
            continue  # ANY routes only answer 405 for the methods a resource does not support
        operations.add((route.path.removeprefix(TENANT_PREFIX), route.method.lower()))
    return operations


def test_every_routed_operation_is_described_and_nothing_else(document: dict[str, Any]) -> None:
    described = {
        (path, method) for path, item in document["paths"].items() for method in item if method in METHODS
    }
    assert described == _template_operations()


@pytest.mark.parametrize(
    ("component", "schemas"), [("User", (USER, ENTERPRISE_USER)), ("Group", (GROUP,))], ids=["User", "Group"]
)
def test_resource_components_carry_every_schema_attribute(
    document: dict[str, Any], component: str, schemas: tuple[Any, ...]
) -> None:
    properties = document["components"]["schemas"][component]["properties"]
    core, *extensions = schemas
    assert {a.name for a in core.attributes} <= set(properties)
    for extension in extensions:
        described = properties[extension.id]["properties"]
        assert {a.name for a in extension.attributes} <= set(described)
