"""Per-tenant rate limiting over HTTP (issue 8): each tenant has its own usage plan bucket.

The local gateway emulates API Gateway's usage plan step: the authorizer names the tenant's API
key (``usageIdentifierKey``), and each key has a token bucket sized by the template's
TenantRateLimit / TenantBurstLimit. The session gateway throttles nothing by default (test suites
hammer one tenant), so these tests switch a bucket on with a frozen clock: counts, not timing.
"""

from __future__ import annotations

import pytest

from scimctl.gateway import RunningGateway, Throttle, TokenBuckets, usage_plan_throttle
from scimctl.local_aws import local_refs
from scimctl.template import load_template
from tests.conftest import ROOT
from tests.integration.conftest import ScimHttp, assert_scim_error, new_tenant

pytestmark = pytest.mark.integration

BURST = 3


@pytest.fixture
def throttled(running: RunningGateway, monkeypatch: pytest.MonkeyPatch) -> RunningGateway:
    buckets = TokenBuckets(Throttle(rate=1.0, burst=BURST), clock=lambda: 0.0)  # no refill
    monkeypatch.setattr(running.gateway, "tenant_buckets", buckets)
    return running


def client(running: RunningGateway) -> ScimHttp:
    tenant, token = new_tenant(running)
    return ScimHttp(running.tenant_url_of(tenant), token)


def test_a_tenant_over_its_burst_gets_429_with_retry_after_and_others_do_not(
    throttled: RunningGateway,
) -> None:
    noisy, quiet = client(throttled), client(throttled)
    statuses = [noisy.get("/Users").status for _ in range(BURST + 4)]
    assert statuses == [200] * BURST + [429] * 4
    refused = noisy.get("/Users")
    assert_scim_error(refused, 429)
    assert refused.headers["retry-after"] == "1"
    # Another tenant's bucket is untouched by the noisy one.
    assert [quiet.get("/Users").status for _ in range(BURST)] == [200] * BURST


def test_tenants_get_distinct_usage_plan_keys(running: RunningGateway) -> None:
    first, _ = new_tenant(running)
    second, _ = new_tenant(running)
    keys = {running.admin.require_tenant(t).api_key for t in (first, second)}
    assert None not in keys
    assert len(keys) == 2


def test_bucket_size_and_rate_come_from_the_template_parameters() -> None:
    template = load_template(ROOT / "template.yaml", {"TenantRateLimit": "7", "TenantBurstLimit": "9"})
    assert usage_plan_throttle(template, local_refs(template)) == Throttle(rate=7.0, burst=9)
    default = load_template(ROOT / "template.yaml")
    throttle = usage_plan_throttle(default, local_refs(default))
    assert throttle == Throttle(
        rate=float(default.parameters["TenantRateLimit"]), burst=int(default.parameters["TenantBurstLimit"])
    )
