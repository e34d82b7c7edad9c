"""AWS calls per management API route (`python -m bench.management`), counted with `bench.meter`.

The real handler (`handlers.management`) in process with moto, warm (each route is called once
before it is measured), on a tenant with two tokens and a short audit trail. Counts, not seconds:
the same on any machine. Writes bench/results/management.json.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from bench import environment

environment.apply()

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench.meter import AwsMeter, Stopwatch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASE_EVENT = json.loads((ROOT / "events/ManagementFunction/list-tenants.json").read_text())
EXTRA_ENV = {"SCIM_API_ID": "bench00000", "SCIM_STAGE_NAME": "v1", "STACK_NAME": "scim-bench"}


class _Context:
    function_name = "bench-management"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-management"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _event(
    method: str, resource: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    event = copy.deepcopy(BASE_EVENT)
    params = {}
    for template, actual in zip(resource.split("/"), path.split("/"), strict=True):
        if template.startswith("{"):
            params[template.strip("{}")] = actual
    event.update(resource=resource, path=path, httpMethod=method, pathParameters=params or None)
    event["requestContext"].update(resourcePath=resource, httpMethod=method, path=f"/v1{path}")
    event["headers"] = dict(event["headers"]) | {"Content-Type": "application/json"} | (headers or {})
    event["body"] = None if body is None else json.dumps(body)
    return event


def main() -> int:
    import os  # noqa: PLC0415

    os.environ.update(EXTRA_ENV)
    sys.path.insert(0, str(ROOT / "src"))
    from handlers import aws_clients, management  # noqa: PLC0415
    from scimctl.template import load_template, table_create_kwargs  # noqa: PLC0415

    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=os.environ["TABLE_NAME"], **table_create_kwargs(load_template(ROOT / "template.yaml"))
        )
        stopwatch = Stopwatch()
        meter = AwsMeter(stopwatch)
        for label, client in (
            ("dynamodb", aws_clients.dynamodb()),
            ("audit", aws_clients.audit_dynamodb()),
            ("secretsmanager", aws_clients.secretsmanager()),
            ("apigateway", aws_clients.apigateway()),
        ):
            meter.attach(client, label)

        def call(event: dict[str, Any]) -> dict[str, Any]:
            result: dict[str, Any] = management.lambda_handler(event, _Context())
            assert result["statusCode"] < 300, result
            return result

        n = iter(range(1, 1000))
        routes: dict[str, Any] = {
            "POST /tenants": lambda: _event("POST", "/tenants", "/tenants", {"tenant_id": f"t{next(n)}"}),
            "POST /tenants (Idempotency-Key)": lambda: _event(
                "POST",
                "/tenants",
                "/tenants",
                {"tenant_id": f"t{next(n)}"},
                {"Idempotency-Key": f"key-{next(n):06d}-abcdefghij"},
            ),
            "POST /tenants (retry, same key)": lambda: _event(
                "POST",
                "/tenants",
                "/tenants",
                {"tenant_id": "retried"},
                {"Idempotency-Key": "retry-key-0123456789"},
            ),
            "GET /tenants": lambda: _event("GET", "/tenants", "/tenants"),
            "GET /tenants/{t}": lambda: _event("GET", "/tenants/{tenant}", "/tenants/acme"),
            "PATCH /tenants/{t} (name)": lambda: _event(
                "PATCH", "/tenants/{tenant}", "/tenants/acme", {"name": f"Acme {next(n)}"}
            ),
            "POST /tenants/{t}/tokens": lambda: _event(
                "POST", "/tenants/{tenant}/tokens", "/tenants/acme/tokens", {"name": "okta"}
            ),
            "POST /tenants/{t}/tokens (Idempotency-Key)": lambda: _event(
                "POST",
                "/tenants/{tenant}/tokens",
                "/tenants/acme/tokens",
                {"name": "okta"},
                {"Idempotency-Key": f"tok-{next(n):06d}-abcdefghij"},
            ),
            "GET /tenants/{t}/tokens": lambda: _event(
                "GET", "/tenants/{tenant}/tokens", "/tenants/acme/tokens"
            ),
            "GET /tenants/{t}/health": lambda: _event(
                "GET", "/tenants/{tenant}/health", "/tenants/acme/health"
            ),
            "GET /tenants/{t}/audit": lambda: _event("GET", "/tenants/{tenant}/audit", "/tenants/acme/audit"),
        }
        call(_event("POST", "/tenants", "/tenants", {"tenant_id": "acme"}))
        for _ in range(2):
            call(_event("POST", "/tenants/{tenant}/tokens", "/tenants/acme/tokens", {"name": "seed"}))
        results: dict[str, dict[str, Any]] = {}
        for name, build in routes.items():
            call(build())  # warm (and, for the retry, the first attempt)
            meter.take()
            call(build())
            results[name] = _row(meter.take())
        # DELETE routes once each (they cannot repeat on the same item).
        tokens = json.loads(call(_event("GET", "/tenants/{tenant}/tokens", "/tenants/acme/tokens"))["body"])[
            "data"
        ]
        meter.take()
        call(
            _event(
                "DELETE",
                "/tenants/{tenant}/tokens/{token_id}",
                f"/tenants/acme/tokens/{tokens[0]['token_id']}",
            )
        )
        results["DELETE /tenants/{t}/tokens/{id}"] = _row(meter.take())
        call(_event("DELETE", "/tenants/{tenant}", "/tenants/acme"))
        results["DELETE /tenants/{t}"] = _row(meter.take())
    out = ROOT / "bench" / "results" / "management.json"
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


def _row(counts: Any) -> dict[str, Any]:
    return {
        "dynamodb": counts.total("dynamodb"),
        "audit_dynamodb": counts.total("audit"),
        "secretsmanager": counts.total("secretsmanager"),
        "apigateway": counts.total("apigateway"),
        "operations": [f"{label}:{op}" for label, op in counts.calls],
    }


if __name__ == "__main__":
    sys.exit(main())
