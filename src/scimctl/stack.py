"""Where a scimctl command points: a deployed stack (by samconfig environment or flags) or a
running local gateway (its state file)."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

DEFAULT_STATE_FILE = Path(".scimctl/local.json")


class StackError(Exception):
    """The target stack cannot be resolved; the message says what to fix."""


@dataclass(frozen=True)
class StackTarget:
    region: str
    stack_name: str
    table_name: str
    secrets_prefix: str
    api_id: str | None = None
    stage_name: str | None = None
    api_base_url: str | None = None
    endpoint_url: str | None = None  # set for the local gateway's moto endpoint
    usage_plan_id: str | None = None  # per-tenant throttling (template TenantUsagePlan)

    def client(self, service: str) -> Any:
        kwargs: dict[str, Any] = {"region_name": self.region}
        if self.endpoint_url:
            # moto accepts any credentials; never pick up a real profile for local data.
            kwargs |= {
                "endpoint_url": self.endpoint_url,
                "aws_access_key_id": "local",
                # B105: moto's dummy key. A blanket nosec: with the id, bandit warns about the
                # literal's other strings.
                "aws_secret_access_key": "local",  # nosec
            }
        return boto3.client(service, **kwargs)  # type: ignore[call-overload]

    def tenant_url(self, tenant_id: str) -> str | None:
        return f"{self.api_base_url.rstrip('/')}/{tenant_id}" if self.api_base_url else None


def from_state_file(path: Path = DEFAULT_STATE_FILE) -> StackTarget:
    if not path.exists():
        raise StackError(f"no local gateway state at {path}: start one with `make serve` (scimctl serve)")
    state = json.loads(path.read_text())
    return StackTarget(
        region=state["region"],
        stack_name=state["stack_name"],
        table_name=state["table_name"],
        secrets_prefix=state["secrets_prefix"],
        api_base_url=state.get("api_url"),
        endpoint_url=state["endpoint_url"],
        usage_plan_id=state.get("usage_plan_id"),
    )


def samconfig_environment(env: str, samconfig: Path = Path("samconfig.toml")) -> tuple[str, str]:
    """(stack_name, region) of a samconfig environment such as ``us`` or ``eu``."""
    if not samconfig.exists():
        raise StackError(
            f"{samconfig} not found: run scimctl from the project directory or pass --stack/--region"
        )
    config = tomllib.loads(samconfig.read_text())
    params = config.get(env, {}).get("deploy", {}).get("parameters", {})
    if "stack_name" not in params or "region" not in params:
        raise StackError(f"samconfig environment {env!r} has no deploy stack_name/region")
    return str(params["stack_name"]), str(params["region"])


def from_cloudformation(stack_name: str, region: str) -> StackTarget:
    cfn = boto3.client("cloudformation", region_name=region)
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:
        raise StackError(f"cannot describe stack {stack_name!r} in {region}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = {"TableName", "SecretsPrefix"} - outputs.keys()
    if missing:
        raise StackError(
            f"stack {stack_name!r} lacks outputs {sorted(missing)}: is it a Serverless SCIM stack?"
        )
    return StackTarget(
        region=region,
        stack_name=stack_name,
        table_name=outputs["TableName"],
        secrets_prefix=outputs["SecretsPrefix"],
        api_id=outputs.get("ApiId"),
        stage_name=outputs.get("StageName"),
        api_base_url=outputs.get("ApiBaseUrl"),
        usage_plan_id=outputs.get("TenantUsagePlanId"),
    )


def resolve_target(
    env: str | None, stack: str | None, region: str | None, state_file: Path = DEFAULT_STATE_FILE
) -> StackTarget:
    if env == "local" or (env is None and stack is None):
        return from_state_file(state_file)
    if env is not None:
        stack_name, env_region = samconfig_environment(env)
        return from_cloudformation(stack or stack_name, region or env_region)
    if stack is None or region is None:
        raise StackError("pass --env us|eu|local, or both --stack and --region")
    return from_cloudformation(stack, region)
