"""Fuzz the local gateway with schemathesis, from the OpenAPI description it serves (docs/openapi.json).

Every operation of the description gets a bounded number of generated requests, valid by the
schema (positive) and invalid (negative), sent over real HTTP with a token of a fresh tenant.
Invariant (issue 8): no input produces a 5xx, and every error is an RFC 7644 §3.12 SCIM error
(application/scim+json, "status" equal to the HTTP status) without any traceback text.

Bounded and repeatable: derandomized Hypothesis, `EXAMPLES` per operation and mode, no database.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import product
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from scimctl.gateway import RunningGateway
from tests.conftest import ROOT
from tests.integration.conftest import ERROR_SCHEMA, SCIM_JSON, USER_SCHEMA, ScimHttp

pytestmark = pytest.mark.integration

EXAMPLES = 8  # per operation, mode and id: about 460 requests, under a minute
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "site-packages")


def test_the_gateway_serves_its_openapi_description(running: RunningGateway) -> None:
    response = requests.get(f"{running.base_url}/openapi.json", timeout=10)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["servers"][0]["url"] == f"{running.api_url}/{{tenant}}"
    kept = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert document["paths"] == kept["paths"]


def test_fuzzed_requests_never_get_a_server_error(running: RunningGateway, fresh_tenant: ScimHttp) -> None:
    schema = schemathesis.openapi.from_url(f"{running.base_url}/openapi.json")
    auth = {"Authorization": f"Bearer {fresh_tenant.token}"}
    # Operations on /Users/{id} and /Groups/{id} are also fuzzed on a resource that exists, so that
    # generated PUT and PATCH bodies reach the services rather than a 404.
    existing = {
        "/Users/{id}": fresh_tenant.post("/Users", {"schemas": [USER_SCHEMA], "userName": "fuzz"}).json["id"],
        "/Groups/{id}": fresh_tenant.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "fuzz"}).json[
            "id"
        ],
    }
    statuses: Counter[int] = Counter()
    session = requests.Session()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19  # every route of template.yaml that the description covers

    for operation in operations:
        pinned = [None, {"id": existing[operation.path]}] if operation.path in existing else [None]
        for mode, path_parameters in product((GenerationMode.POSITIVE, GenerationMode.NEGATIVE), pinned):
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def send(case: Any) -> None:
                response = case.call(
                    base_url=fresh_tenant.base_url, headers=auth, session=session, timeout=30
                )
                statuses[response.status_code] += 1
                case.validate_response(response, checks=[not_a_server_error], headers=auth)
                assert_scim_error_if_error(response)

            send()

    total = sum(statuses.values())
    print(
        f"\nschemathesis: {total} requests, {len(operations)} operations, statuses {sorted(statuses.items())}"
    )
    assert total > 0
    assert all(status < 500 for status in statuses)


def assert_scim_error_if_error(response: Any) -> None:
    """`response` is schemathesis's: lower-cased header names, each with a list of values."""
    text = response.text
    assert not any(marker in text for marker in TRACE_MARKERS), text
    if response.status_code < 400:
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.split(";")[0].strip() == SCIM_JSON, (response.status_code, response.text)
    document = response.json()
    assert document["schemas"] == [ERROR_SCHEMA], document
    assert document["status"] == str(response.status_code), document
