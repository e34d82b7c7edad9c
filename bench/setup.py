"""AWS calls per setup-link and setup-page route (`python -m bench.setup`), counted with `bench.meter`.

The real handlers (`handlers.management` for the links, `handlers.setup` for the page's API) in
process with moto, warm (each route is called once before it is measured), on a tenant with 1,000
users' worth of audit records and a few tokens: the counts do not depend on the tenant's size.
Counts, not seconds. Writes bench/results/setup.json (docs/setup-page.md, "Cost per route").
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from bench import environment

environment.apply()

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from tests.support import SETUP_BASE_EVENT, setup_event  # noqa: E402

from bench.management import EXTRA_ENV, _Context, _event, _row  # noqa: E402
from bench.meter import AwsMeter, Stopwatch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SETUP_EVENT = SETUP_BASE_EVENT
SETUP_ENV = {"SETUP_PAGE_URL": "https://setup.example.com/v1/setup", "SAAS_NAME": "Bench SaaS"}
COOKIE = "__Secure-scim-setup"
WRITE = {"X-Setup-Request": "1", "Origin": f"https://{SETUP_EVENT['headers']['Host']}"}


def _setup_event(
    method: str,
    path: str,
    body: Any = None,
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
    *,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    cookie_header = f"{COOKIE}={cookie}" if cookie else None
    return setup_event(method, path, body, headers=headers, query=query, cookie_header=cookie_header)


def main() -> int:  # noqa: PLR0915 - one scenario, step by step
    os.environ.update(EXTRA_ENV | SETUP_ENV)
    sys.path.insert(0, str(ROOT / "src"))
    from core.audit import AuditRecord  # noqa: PLC0415
    from core.store.audit_table import AuditTable  # noqa: PLC0415
    from handlers import aws_clients, management, setup  # noqa: PLC0415
    from scimctl.template import load_template, table_create_kwargs  # noqa: PLC0415

    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=os.environ["TABLE_NAME"], **table_create_kwargs(load_template(ROOT / "template.yaml"))
        )
        meter = AwsMeter(Stopwatch())
        for label, client in (
            ("dynamodb", aws_clients.dynamodb()),
            ("audit", aws_clients.audit_dynamodb()),
            ("secretsmanager", aws_clients.secretsmanager()),
            ("apigateway", aws_clients.apigateway()),
        ):
            meter.attach(client, label)

        def call(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
            result: dict[str, Any] = handler.lambda_handler(event, _Context())
            assert result["statusCode"] < 300, result
            return result

        def link() -> str:
            made = call(
                management,
                _event("POST", "/tenants/{tenant}/setup-links", "/tenants/acme/setup-links", {}),
            )
            return str(json.loads(made["body"])["url"]).partition("#")[2]

        def session() -> str:
            opened = call(setup, _setup_event("POST", "/setup/api/session", {"link": link()}, headers=WRITE))
            return str(opened["headers"]["Set-Cookie"]).partition(";")[0].partition("=")[2]

        call(management, _event("POST", "/tenants", "/tenants", {"tenant_id": "acme"}))
        for _ in range(3):
            call(
                management,
                _event("POST", "/tenants/{tenant}/tokens", "/tenants/acme/tokens", {"name": "seed"}),
            )
        AuditTable(aws_clients.audit_dynamodb(), os.environ["TABLE_NAME"]).put(
            [
                AuditRecord(
                    tenant_id="acme",
                    at=f"2099-01-01T00:{i // 60:02d}:{i % 60:02d}.000Z",
                    request_id=f"r{i}",
                    token_id="acme.0123456789abcdef",  # noqa: S106 - an id, not a secret
                    method="POST",
                    resource_type="User",
                    resource_id=f"u{i}",
                    status=201 if i % 10 else 409,
                )
                for i in range(1000)
            ],
            4_102_444_800,
        )
        results: dict[str, dict[str, Any]] = {}
        link()  # warm
        meter.take()
        link()
        results["POST /tenants/{t}/setup-links"] = _row(meter.take())
        call(management, _event("GET", "/tenants/{tenant}/setup-links", "/tenants/acme/setup-links"))
        meter.take()
        call(management, _event("GET", "/tenants/{tenant}/setup-links", "/tenants/acme/setup-links"))
        results["GET /tenants/{t}/setup-links (a few links)"] = _row(meter.take())
        fragment = link()
        meter.take()
        opened = call(setup, _setup_event("POST", "/setup/api/session", {"link": fragment}, headers=WRITE))
        results["POST /setup/api/session (redeem)"] = _row(meter.take())
        cookie = str(opened["headers"]["Set-Cookie"]).partition(";")[0].partition("=")[2]
        for path in ("/setup", "/setup/app.js", "/setup/idp.json", "/setup/api/branding"):
            call(setup, _setup_event("GET", path))
            meter.take()
            call(setup, _setup_event("GET", path))
            results[f"GET {path}"] = _row(meter.take())
        for path in ("/setup/api/overview", "/setup/api/tokens", "/setup/api/health", "/setup/api/log"):
            call(setup, _setup_event("GET", path, cookie=cookie))
            meter.take()
            call(setup, _setup_event("GET", path, cookie=cookie))
            results[f"GET {path}"] = _row(meter.take())
        # The log's next page and its errors-only pages (a tenth of the records failed): one
        # Query each, at most 1,000 records examined.
        first = json.loads(call(setup, _setup_event("GET", "/setup/api/log", cookie=cookie))["body"])
        meter.take()
        cursor = {"cursor": first["next_cursor"]}
        call(setup, _setup_event("GET", "/setup/api/log", cookie=cookie, query=cursor))
        results["GET /setup/api/log?cursor= (next page)"] = _row(meter.take())
        call(setup, _setup_event("GET", "/setup/api/log", cookie=cookie, query={"errors": "1"}))
        results["GET /setup/api/log?errors=1"] = _row(meter.take())
        meter.take()
        issued = call(setup, _setup_event("POST", "/setup/api/tokens", {"name": "okta"}, cookie, WRITE))
        results["POST /setup/api/tokens"] = _row(meter.take())
        token_id = json.loads(issued["body"])["token_id"]
        call(setup, _setup_event("DELETE", f"/setup/api/tokens/{token_id}", cookie=cookie, headers=WRITE))
        results["DELETE /setup/api/tokens/{id}"] = _row(meter.take())
        link_id = session().split(".")[1]
        meter.take()
        call(
            management,
            _event(
                "DELETE",
                "/tenants/{tenant}/setup-links/{link_id}",
                f"/tenants/acme/setup-links/{link_id}",
            ),
        )
        results["DELETE /tenants/{t}/setup-links/{id}"] = _row(meter.take())
    out = ROOT / "bench" / "results" / "setup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    width = max(map(len, results))
    print(f"{'route':<{width}}  DynamoDB  audit  SecretsMgr  APIGW")
    for name, row in results.items():
        print(
            f"{name:<{width}}  {row['dynamodb']:>8}  {row['audit_dynamodb']:>5}  "
            f"{row['secretsmanager']:>10}  {row['apigateway']:>5}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
