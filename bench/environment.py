"""Process environment for benchmarks: what the stack sets on Lambda, plus fake AWS credentials.

Applied before any handler module is imported (powertools reads its settings at import). The log
level is the stack's default (INFO), so handlers log as much as they do in production.
"""

from __future__ import annotations

import os

BENCH_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "TABLE_NAME": "scim-bench",
    "SECRETS_PREFIX": "scim/scim-bench/",
    "POWERTOOLS_TRACE_DISABLED": "1",  # no X-Ray daemon here; see docs/performance.md
    "POWERTOOLS_METRICS_NAMESPACE": "ScimBench",
    "POWERTOOLS_SERVICE_NAME": "scim",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "SCIM_BASE_URL": "https://api.example.com/v1/scim/v2",
}


def apply() -> None:
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.pop("AWS_PROFILE", None)
