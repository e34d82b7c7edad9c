"""The third-party SCIM compliance checker scim2-tester, run over HTTP against the local gateway.

`check_server` reads the discovery endpoints, builds the resource models from the published
schemas, then creates, reads, lists, searches, replaces, patches and deletes resources of every
advertised resource type. It runs once per module, against a tenant of its own; each check (one
checker function, for one resource type) is then one pytest case, whose failure lists every
result of that check with its reason and the exchange that produced it.

scim2-client's network engine needs httpx2, which the project does not depend on, so the client
here is a small scim2-client engine over `urllib` (`UrllibSCIMClient`).

Resource-type checks run for the resource types the server advertises: a Group case is skipped
only when discovery truthfully lists no Group resource type (and /ResourceTypes/Group is a 404).
scim2-tester 0.5 has no Bulk check.
"""

from __future__ import annotations

import json
import urllib.error
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from scim2_client import BaseSyncSCIMClient
from scim2_client.errors import RequestNetworkException
from scim2_tester import CheckResult, Status, check_server

from scimctl.gateway import RunningGateway
from tests.integration.conftest import ScimHttp, assert_scim_error, new_tenant

pytestmark = pytest.mark.integration

PASSING = frozenset({Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE})

# What `check_server` runs once, and what it runs for each advertised resource type (scim2-tester
# 0.5.2: `scim2_tester.checker.check_server`, `scim2_tester.checkers.resource.resource_type_tests`).
DISCOVERY_CHECKS = (
    "service_provider_config_endpoint",
    "service_provider_config_endpoint_methods",
    "query_all_resource_types",
    "query_resource_type_by_id",
    "resource_types_schema_validation",
    "access_invalid_resource_type",
    "resource_types_endpoint_methods",
    "query_all_schemas",
    "access_schema_by_id",
    "access_invalid_schema",
    "schemas_endpoint_methods",
    "random_url",
)
RESOURCE_CHECKS = (
    "object_creation",
    "object_query",
    "object_query_without_id",
    "object_query_with_attributes",
    "object_list_with_attributes",
    "search_with_attributes",
    "object_replacement",
    "object_deletion",
    "check_add_attribute",
    "check_remove_attribute",
    "check_replace_attribute",
)
RESOURCE_TYPES = ("User", "Group")

# Checks we believe the checker gets wrong, with the RFC section; none at present. (The discovery
# endpoints answer other methods with a SCIM 405 and `Allow: GET`, which the checker expects.)
CHECKER_WRONG: dict[str, str] = {}


# ---------------------------------------------------------------------------------------- the client
@dataclass(frozen=True)
class _Headers:
    values: Mapping[str, str]  # lower-cased names

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values.get(key.lower(), default)


@dataclass(frozen=True)
class UrllibResponse:
    """scim2-client's `RawResponse`, and what the checker shows as a failed check's data."""

    method: str
    url: str
    request_body: Any
    status_code: int
    headers: _Headers
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    def __repr__(self) -> str:
        sent = "" if self.request_body is None else f" {json.dumps(self.request_body)[:2000]}"
        return f"<{self.method} {self.url}{sent} -> {self.status_code} {self.text[:2000]}>"


class UrllibSCIMClient(BaseSyncSCIMClient):
    """A scim2-client engine over `ScimHttp` (urllib): real HTTP, no extra dependency."""

    def __init__(self, http: ScimHttp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.http = http

    def _full_url(self, url: str) -> str:
        return url if urlsplit(url).scheme else f"{self.http.base_url}/{url.lstrip('/')}"

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base, url = urlsplit(self.http.base_url), urlsplit(self._full_url(endpoint))
        inside = f"{url.path.rstrip('/')}/".startswith(f"{base.path.rstrip('/')}/")
        dots = {".", ".."} & set(url.path.split("/"))
        return (url.scheme, url.netloc) == (base.scheme, base.netloc) and inside and not dots

    def request(self, method: str, url: str, **kwargs: Any) -> UrllibResponse:
        params = {k: str(v) for k, v in (kwargs.get("params") or {}).items()}
        body = kwargs.get("json")
        try:
            response = self.http.request(
                method, self._full_url(url), body, params=params, headers=kwargs.get("headers")
            )
        except (urllib.error.URLError, OSError) as exc:
            error = RequestNetworkException()
            error.add_note(str(exc))
            raise error from exc
        return UrllibResponse(
            method=method,
            url=self.http.url(self._full_url(url), params),
            request_body=body,
            status_code=response.status,
            headers=_Headers(response.headers),
            text=response.text,
        )


# ---------------------------------------------------------------------------------------- the run
@dataclass(frozen=True)
class CheckRun:
    results: Mapping[tuple[str | None, str], list[CheckResult]]
    advertised: frozenset[str]  # resource type names the server's discovery lists
    http: ScimHttp


@pytest.fixture(scope="module")
def check_run(running: RunningGateway) -> CheckRun:
    tenant, token = new_tenant(running, prefix="tester")
    http = ScimHttp(running.tenant_url_of(tenant), token)
    results: dict[tuple[str | None, str], list[CheckResult]] = defaultdict(list)
    for result in check_server(UrllibSCIMClient(http)):
        results[(result.resource_type, result.title or "")].append(result)
    listed = http.get("/ResourceTypes")
    assert listed.status == 200, listed.text
    advertised = frozenset(rt["name"] for rt in listed.json["Resources"])
    return CheckRun(dict(results), advertised, http)


def describe(results: list[CheckResult]) -> str:
    lines = []
    for result in results:
        if result.status not in PASSING:
            lines.append(f"- {result.status.name}: {result.reason}\n  data: {result.data!r}"[:4000])
    return "\n".join(lines)


def assert_all_pass(results: list[CheckResult]) -> None:
    assert results, "the checker produced no result for this check"
    failing = [r for r in results if r.status not in PASSING]
    assert not failing, f"{len(failing)} of {len(results)} results fail:\n{describe(results)}"


def _case(resource_type: str | None, check: str) -> Any:
    marks = []
    if check in CHECKER_WRONG:
        marks.append(pytest.mark.xfail(strict=True, reason=CHECKER_WRONG[check]))
    ident = f"{resource_type or 'discovery'}-{check}"
    return pytest.param(resource_type, check, marks=marks, id=ident)


CASES = [_case(None, check) for check in DISCOVERY_CHECKS] + [
    _case(resource_type, check) for resource_type in RESOURCE_TYPES for check in RESOURCE_CHECKS
]


@pytest.mark.parametrize(("resource_type", "check"), CASES)
def test_check(check_run: CheckRun, resource_type: str | None, check: str) -> None:
    if resource_type is not None and resource_type not in check_run.advertised:
        # Skipped only because the server truthfully does not serve this resource type.
        assert (resource_type, check) not in check_run.results
        assert_scim_error(check_run.http.get(f"/ResourceTypes/{resource_type}"), 404)
        pytest.skip(f"the server advertises no {resource_type} resource type")
    assert_all_pass(check_run.results.get((resource_type, check), []))


def test_every_result_belongs_to_a_case(check_run: CheckRun) -> None:
    """A check this module does not know (a newer scim2-tester) must not pass unseen."""
    known = {(None, check) for check in DISCOVERY_CHECKS} | {
        (resource_type, check) for resource_type in RESOURCE_TYPES for check in RESOURCE_CHECKS
    }
    assert set(check_run.results) <= known
    assert "User" in check_run.advertised
    assert check_run.advertised <= set(RESOURCE_TYPES)
    for resource_type in check_run.advertised:
        assert {check for rt, check in check_run.results if rt == resource_type} == set(RESOURCE_CHECKS)
