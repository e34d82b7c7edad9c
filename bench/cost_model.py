"""Measured counts → dollars per million requests and an estimated latency on AWS, per operation.

Prices: us-east-1, on-demand, without free tiers or volume tiers (docs/performance.md lists each
with its source). Latency and Lambda duration are estimates: the measured CPU stretched by the
function's CPU share, plus one assumed round-trip time per sequential AWS call.
"""

from __future__ import annotations

from typing import Any

# https://aws.amazon.com/lambda/pricing/ (Arm)
LAMBDA_PER_REQUEST = 0.20 / 1e6
LAMBDA_PER_GB_SECOND = 0.0000133334
MEMORY_MB = 512  # template.yaml Globals.Function.MemorySize
FULL_VCPU_MB = 1769  # Lambda gives one vCPU at 1,769 MB, proportionally less below
# https://aws.amazon.com/api-gateway/pricing/ (REST API, first 333 million a month)
API_GATEWAY_PER_REQUEST = 3.50 / 1e6
# https://aws.amazon.com/dynamodb/pricing/on-demand/ (Standard table class)
DYNAMODB_PER_READ_UNIT = 0.125 / 1e6
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1e6
# https://aws.amazon.com/secrets-manager/pricing/ ($0.05 per 10,000 API calls)
SECRETS_MANAGER_PER_CALL = 0.05 / 10_000
# https://aws.amazon.com/eventbridge/pricing/ (custom events, per 64 KB chunk)
EVENTBRIDGE_PER_EVENT = 1.00 / 1e6
# The stream consumer (EventsFunction): assumed one invocation of 20 ms per write request, the
# worst case of sparse traffic (a busy tenant's records share batches of up to 100).
EVENTS_FUNCTION_MS = 20.0

# Assumed round trips from a warm function in the same region (AWS: "single-digit milliseconds").
ROUND_TRIP_MS = {"TransactWriteItems": 10.0}
DEFAULT_ROUND_TRIP_MS = 5.0
API_GATEWAY_OVERHEAD_MS = 15.0  # REST API, authorizer answer cached


def lambda_ms(cpu_ms: float, round_trips: list[str]) -> float:
    """Duration of one warm invocation: CPU at the function's share of a vCPU, plus waiting."""
    return cpu_ms * FULL_VCPU_MB / MEMORY_MB + sum(
        ROUND_TRIP_MS.get(c, DEFAULT_ROUND_TRIP_MS) for c in round_trips
    )


def cost(row: dict[str, Any]) -> dict[str, float]:
    """Dollars per million requests of this operation, by service, and the estimated latency."""
    calls = row["calls"] + ["PutItem"] * row["audit_calls"] + ["GetSecretValue"] * row["secretsmanager_calls"]
    duration = lambda_ms(row["cpu_with_sdk_ms_median"], calls)
    writes = row["audit_calls"] > 0
    # The authorizer runs inside a request that API Gateway already counts (on a cache miss only).
    gateway = 0.0 if row["operation"].startswith("authorizer") else API_GATEWAY_PER_REQUEST
    per_request = {
        "api_gateway": gateway,
        "lambda": LAMBDA_PER_REQUEST + LAMBDA_PER_GB_SECOND * MEMORY_MB / 1024 * duration / 1000,
        "dynamodb": row.get("rcu", 0) * DYNAMODB_PER_READ_UNIT + row.get("wcu", 0) * DYNAMODB_PER_WRITE_UNIT,
        "secrets_manager": row["secretsmanager_calls"] * SECRETS_MANAGER_PER_CALL,
        "eventbridge": row.get("events", 0) * EVENTBRIDGE_PER_EVENT,
        "events_function": (
            LAMBDA_PER_REQUEST + LAMBDA_PER_GB_SECOND * MEMORY_MB / 1024 * EVENTS_FUNCTION_MS / 1000
            if writes
            else 0.0
        ),
    }
    out = {f"usd_per_million_{k}": round(v * 1e6, 3) for k, v in per_request.items()}
    out["usd_per_million"] = round(sum(per_request.values()) * 1e6, 2)
    out["lambda_ms_estimate"] = round(duration, 1)
    out["latency_ms_estimate"] = round(API_GATEWAY_OVERHEAD_MS + duration, 1)
    out["round_trips"] = len(calls)
    return out
