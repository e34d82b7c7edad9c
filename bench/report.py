"""Rows of measurements → the printed table (the JSON file holds the same rows, and more)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

COLUMNS = (
    ("operation", "operation", 28),
    ("users", "users", 7),
    ("dynamodb_calls", "DDB calls", 9),
    ("audit_calls", "+audit", 6),
    ("secretsmanager_calls", "SM", 3),
    ("items_read", "read", 6),
    ("items_written", "written", 7),
    ("rcu", "RCU", 6),
    ("wcu", "WCU", 5),
    ("events", "events", 6),
    ("cpu_ms_median", "CPU ms", 7),
    ("cpu_ms_p95", "p95", 6),
    ("cpu_with_sdk_ms_median", "+SDK ms", 7),
    ("cpu_ms_median_vs_peer", "ours*", 6),
    ("peer_cpu_ms_median", "peer ms", 7),
    ("cpu_ratio_to_peer", "ratio", 5),
)


COST_COLUMNS = (
    ("operation", "operation", 28),
    ("round_trips", "trips", 5),
    ("latency_ms_estimate", "est. ms", 7),
    ("usd_per_million", "$/M req", 8),
    ("usd_per_million_api_gateway", "APIGW", 6),
    ("usd_per_million_lambda", "Lambda", 7),
    ("usd_per_million_dynamodb", "DynamoDB", 8),
    ("usd_per_million_secrets_manager", "SM", 5),
    ("usd_per_million_eventbridge", "EB", 5),
    ("usd_per_million_events_function", "EvFn", 5),
)


def median_p95_ms(seconds: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return round(statistics.median(ordered) * 1000, 2), round(p95 * 1000, 2)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, int]] = COLUMNS) -> str:
    header = " ".join(
        title.rjust(width) if i else title.ljust(width) for i, (_, title, width) in enumerate(columns)
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = []
        for i, (key, _, width) in enumerate(columns):
            value = row.get(key)
            text = "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
            cells.append(text.rjust(width) if i else text.ljust(width)[:width])
        lines.append(" ".join(cells))
    return "\n".join(lines)
