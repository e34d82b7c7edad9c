"""Process environment for benchmarks: what Lambda would set, plus fake AWS credentials for moto."""

from __future__ import annotations

import os

BENCH_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "TABLE_NAME": "scim-bench",
    "SECRETS_PREFIX": "scim/scim-bench/",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "ScimBench",
    "POWERTOOLS_SERVICE_NAME": "scim",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


def apply() -> None:
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
