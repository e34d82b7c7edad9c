"""Observability singletons shared by every handler (one Logger, Tracer and Metrics per process).

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE (set per stack in template.yaml).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

# Request bodies and headers are never logged at INFO: they may hold tokens or personal data.
logger = Logger(log_uncaught_exceptions=True)
# Only botocore: every call leaving a function is an AWS SDK call. Patching everything X-Ray knows
# (the default) also imports and wraps sqlite3 and http.client at cold start, for nothing.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
