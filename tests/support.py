"""A LambdaContext stand-in for direct handler invocation in tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class FakeContext:
    function_name: str = "test"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def response_headers(result: dict[str, Any]) -> dict[str, str]:
    """Lower-cased headers of a proxy response, whether single- or multi-value."""
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ", ".join(str(v) for v in values)
    return headers
