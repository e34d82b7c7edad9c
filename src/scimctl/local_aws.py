"""AWS for the local gateway: moto in this process, shared over HTTP with other processes.

`local_aws` starts moto's `mock_aws` (fake credentials and region, set only while it runs),
creates the DynamoDB table from `template.yaml` (`table_create_kwargs`), the EventBridge bus, the
signing key secret (random value, as ``GenerateSecretString`` would make) and the tenant usage plan,
and serves moto's HTTP API on a second loopback port so that a separate ``scimctl`` process can
reach the same in-memory data (``endpoint_url`` in the state file). In this process, boto3 calls
with that ``endpoint_url`` are not intercepted by moto (no AWS hostname): they go over loopback
to the same server and so see the same data.

moto is not thread-safe and the gateway serves concurrent clients. One process-wide re-entrant
lock (`AWS_LOCK`) is held around each AWS call, both in-process (moto's botocore stubber) and
over HTTP (the WSGI app): each call is atomic, as in DynamoDB, while requests still interleave
between calls.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

from scimctl import moto_dynamodb
from scimctl.template import (
    API_TYPE,
    DEFAULT_ACCOUNT_ID,
    EVENT_BUS_TYPE,
    SECRET_TYPE,
    USAGE_PLAN_TYPE,
    Template,
    resolve,
    table_create_kwargs,
    table_properties,
    table_ttl_attribute,
)

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

STACK_NAME = "scim-local"
DEFAULT_REGION = "us-east-1"
DEFAULT_STATE_FILE = Path(".scimctl/local.json")
LOCAL_API_ID = "scimlocal0"  # a REST API id has 10 lowercase alphanumerics

AWS_LOCK = threading.RLock()

# Fake credentials, and no way for a developer's real AWS configuration (profile, custom endpoint,
# instance metadata) to leak into a local run.
_LOCAL_AWS_ENV: dict[str, str | None] = {
    "AWS_ACCESS_KEY_ID": "local",
    # B105: moto's dummy key and two variables cleared, no secret. A blanket nosec, because bandit
    # warns about every other string of the literal when the id is given.
    "AWS_SECRET_ACCESS_KEY": "local",  # nosec
    "AWS_SESSION_TOKEN": None,
    "AWS_SECURITY_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_DEFAULT_PROFILE": None,
    "AWS_ENDPOINT_URL": None,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True, slots=True)
class LocalAws:
    """Where the local resources are; written as the state file that ``scimctl`` reads."""

    endpoint_url: str
    region: str
    table_name: str
    secrets_prefix: str
    event_bus_name: str | None
    api_url: str | None
    stack_name: str
    usage_plan_id: str | None = None  # where scimctl adds each tenant's API key

    def client(self, service: str) -> Any:
        """An in-process client (intercepted by moto, no HTTP)."""
        return boto3.client(service, region_name=self.region)  # type: ignore[call-overload]

    def state(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------- env
@contextmanager
def env_overlay(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables; restore the previous values on exit."""
    previous = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ---------------------------------------------------------------------------------------- lock
_patch_guard = threading.Lock()
_patch_depth = 0
_original_stubber_call: Any = None


@contextmanager
def serialized_aws_calls() -> Iterator[None]:
    """Hold `AWS_LOCK` around every in-process AWS call moto answers (nestable)."""
    global _patch_depth, _original_stubber_call  # noqa: PLW0603 - one patch per process
    with _patch_guard:
        if _patch_depth == 0:
            original = BotocoreStubber.__call__
            _original_stubber_call = original

            def locked_call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
                with AWS_LOCK:
                    return original(self, event_name, request, **kwargs)

            BotocoreStubber.__call__ = locked_call  # type: ignore[method-assign]
        _patch_depth += 1
    try:
        yield
    finally:
        with _patch_guard:
            _patch_depth -= 1
            if _patch_depth == 0:
                BotocoreStubber.__call__ = _original_stubber_call  # type: ignore[method-assign]
                _original_stubber_call = None


def locked_wsgi_app(app: WSGIApplication) -> WSGIApplication:
    """The app, run under `AWS_LOCK`; the body is produced inside the lock, as moto builds it."""

    def locked(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with AWS_LOCK:
            result = app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return locked


class _QuietHandler(WSGIRequestHandler):
    # The gateway logs its own requests; moto's per-call lines would drown them.
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@contextmanager
def moto_http_server(host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """moto's HTTP API on ``host:port`` (0: any free port), backed by this process's data."""
    app = locked_wsgi_app(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto-http", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------------------------------- naming
def resource_names(template: Template, *, stack_name: str, region: str, table_name: str) -> dict[str, str]:
    """The local physical name (what ``!Ref`` returns) of the resources that have one."""
    refs = template.base_refs(stack_name=stack_name, region=region)
    table_id, _ = table_properties(template)
    names = {table_id: table_name}
    for logical_id, props in template.resources_of_type(EVENT_BUS_TYPE):
        names[logical_id] = str(resolve(props.get("Name", f"{stack_name}-{logical_id}"), refs))
    for logical_id, _ in template.resources_of_type(API_TYPE):
        names[logical_id] = LOCAL_API_ID
    for logical_id, props in template.resources_of_type(SECRET_TYPE):
        # The name, not an ARN: GetSecretValue takes either, and moto's ARN has a random suffix.
        names[logical_id] = str(resolve(props.get("Name", f"{stack_name}-{logical_id}"), refs))
    return names


def local_refs(
    template: Template,
    *,
    stack_name: str = STACK_NAME,
    region: str = DEFAULT_REGION,
    table_name: str | None = None,
) -> dict[str, Any]:
    """Everything `resolve` needs to evaluate the template for the local stack."""
    names = resource_names(
        template, stack_name=stack_name, region=region, table_name=table_name or stack_name
    )
    return template.base_refs(
        stack_name=stack_name, region=region, account_id=DEFAULT_ACCOUNT_ID, resource_names=names
    )


def _output(template: Template, name: str, refs: Mapping[str, Any]) -> str | None:
    output = (template.document.get("Outputs") or {}).get(name)
    return None if output is None else str(resolve(output["Value"], refs))


# ---------------------------------------------------------------------------------------- resources
def create_resources(template: Template, refs: Mapping[str, Any]) -> str | None:
    """The stateful resources a request can touch: the table (with TTL), the event buses, the
    stack's secrets and the usage plan (whose id it returns)."""
    table_id, _ = table_properties(template)
    table_name = str(refs[table_id])
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(TableName=table_name, **table_create_kwargs(template))
    ttl_attribute = table_ttl_attribute(template)
    if ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
        )
    events = boto3.client("events")
    for logical_id, _ in template.resources_of_type(EVENT_BUS_TYPE):
        events.create_event_bus(Name=str(refs[logical_id]))
    secretsmanager = boto3.client("secretsmanager")
    for logical_id, _ in template.resources_of_type(SECRET_TYPE):
        secretsmanager.create_secret(Name=str(refs[logical_id]), SecretString=secrets.token_urlsafe(48))
    plan_id = None
    for logical_id, props in template.resources_of_type(USAGE_PLAN_TYPE):
        throttle = resolve(dict(props.get("Throttle") or {}), refs)
        plan = boto3.client("apigateway").create_usage_plan(
            name=str(resolve(props.get("UsagePlanName", logical_id), refs)),
            throttle={"rateLimit": float(throttle["RateLimit"]), "burstLimit": int(throttle["BurstLimit"])},
        )
        plan_id = str(plan["id"])
    return plan_id


def write_state(path: Path, state: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: a reader never sees half a file


@contextmanager
def local_aws(
    template: Template,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    region: str = DEFAULT_REGION,
    stack_name: str = STACK_NAME,
    table_name: str | None = None,
    state_file: Path | None = DEFAULT_STATE_FILE,
    api_url: str | None = None,
) -> Iterator[LocalAws]:
    """moto with the template's resources, its HTTP endpoint, and the state file, until exit."""
    refs = local_refs(template, stack_name=stack_name, region=region, table_name=table_name)
    table_id, _ = table_properties(template)
    buses = [str(refs[logical_id]) for logical_id, _ in template.resources_of_type(EVENT_BUS_TYPE)]
    with ExitStack() as stack:
        stack.enter_context(
            env_overlay({**_LOCAL_AWS_ENV, "AWS_DEFAULT_REGION": region, "AWS_REGION": region})
        )
        # Before any boto3 client exists, so that every client of this run is mocked.
        moto_dynamodb.install()
        stack.enter_context(mock_aws())
        stack.enter_context(serialized_aws_calls())
        usage_plan_id = create_resources(template, refs)
        endpoint_url = stack.enter_context(moto_http_server(host, port))
        aws = LocalAws(
            endpoint_url=endpoint_url,
            region=region,
            table_name=str(refs[table_id]),
            secrets_prefix=_output(template, "SecretsPrefix", refs) or f"scim/{stack_name}/",
            event_bus_name=buses[0] if buses else None,
            api_url=api_url,
            stack_name=stack_name,
            usage_plan_id=usage_plan_id,
        )
        if state_file is not None:
            write_state(state_file, aws.state())
            stack.callback(state_file.unlink, missing_ok=True)
        yield aws
