"""One local gateway for the whole integration session, and a small HTTP client for it.

moto's state is process-wide, so a process holds one gateway at a time: every integration module
shares the session's `running` gateway. Tests that write data use a tenant of their own
(`fresh_tenant`), so that no test depends on another's users or cache entries.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import count
from typing import Any, TypeVar
from urllib.parse import quote

import pytest

from core.store.resources_table import ResourceTable, StoredResource
from scimctl.gateway import RunningGateway, start_gateway
from tests.conftest import ROOT

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

T = TypeVar("T")

_tenant_ids = count(1)


# Package scope: the gateway (and its process-wide moto) stops before tests/unit starts its own.
@pytest.fixture(scope="package")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    directory = tmp_path_factory.mktemp("gateway")
    # The gateway also writes its provisioning events (`scimctl serve --events-file`); tests that
    # read them look at their own tenant's only.
    gateway = start_gateway(
        port=0,
        state_file=directory / ".scimctl" / "local.json",
        template_path=ROOT / "template.yaml",
        events_file=directory / "events.jsonl",
    )
    yield gateway
    gateway.stop()


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lower-cased names
    raw: bytes

    @property
    def json(self) -> Any:
        """The parsed body; None when there is none (204, 304)."""
        return json.loads(self.raw) if self.raw else None

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", errors="replace")


class ScimHttp:
    """A SCIM client over real HTTP (urllib), bound to one Tenant URL and bearer token.

    `path` is relative to the Tenant URL ("/Users?filter=…"); query values given in `params` are
    percent-encoded, a raw query in `path` is sent as it is.
    """

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        if params:
            query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
            url += ("&" if "?" in url else "?") + query
        return url

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(self.url(path, params), data=data, method=method)  # noqa: S310
        request.add_header("Accept", SCIM_JSON)
        if data is not None:
            request.add_header("Content-Type", SCIM_JSON)
        if self.token is not None:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback only
                return HttpResponse(response.status, _lower(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, _lower(error.headers.items()), error.read())

    def get(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> HttpResponse:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> HttpResponse:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> HttpResponse:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("DELETE", path, **kwargs)


def _lower(items: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def new_tenant(running: RunningGateway, prefix: str = "it") -> tuple[str, str]:
    """A fresh tenant and its token: no other test sees its users or its cached decisions."""
    tenant = f"{prefix}{next(_tenant_ids)}-{running.port}"
    running.admin.create_tenant(tenant)
    return tenant, running.admin.issue_token(tenant, "integration").token


@pytest.fixture
def fresh_tenant(running: RunningGateway) -> ScimHttp:
    """A SCIM client for a tenant of this test's own."""
    tenant, token = new_tenant(running)
    return ScimHttp(running.tenant_url_of(tenant), token)


def assert_scim_json(response: HttpResponse) -> None:
    """Every SCIM answer with a body is application/scim+json (RFC 7644 §3.1, §8.1)."""
    assert response.headers.get("content-type", "").split(";")[0].strip() == SCIM_JSON, response.headers


def assert_scim_error(response: HttpResponse, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """An RFC 7644 §3.12 error with the expected status (and scimType, when given)."""
    assert response.status == status, response.text
    assert_scim_json(response)
    document: dict[str, Any] = response.json
    assert document["schemas"] == [ERROR_SCHEMA]
    assert document["status"] == str(status)
    if scim_type is not None:
        assert document.get("scimType") == scim_type, document
    return document


# -- races ----------------------------------------------------------------------------------------
def all_at_once(tasks: list[Callable[[], T]]) -> list[T]:
    """Run the tasks in as many threads, released together; results in the tasks' order."""
    barrier = threading.Barrier(len(tasks), timeout=60)

    def run(task: Callable[[], T]) -> T:
        barrier.wait()
        return task()

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        return list(pool.map(run, tasks))


def competing_write_first(
    monkeypatch: pytest.MonkeyPatch, resource_id: str, competing: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[int]:
    """Let another container's write of `resource_id` commit between this request's read and its
    conditional write, once: the document `competing` makes of the stored one, one version up.
    Returns the list that receives the competitor's version (empty until it ran)."""
    real_replace = ResourceTable.replace
    raced: list[int] = []

    def replace_after_a_competing_write(
        self: ResourceTable, old: StoredResource, new: StoredResource
    ) -> None:
        if old.id == resource_id and not raced:
            real_replace(self, old, replace(old, version=old.version + 1, document=competing(old.document)))
            raced.append(old.version + 1)
        real_replace(self, old, new)

    monkeypatch.setattr(ResourceTable, "replace", replace_after_a_competing_write)
    return raced
