"""The local gateway (`make serve`): API Gateway REST in front of the real handlers, on a laptop.

`LocalGateway.handle` does, socket-free, what API Gateway does for this stack: stage and route
matching from `template.yaml`, the 10 MB payload limit, the Lambda REQUEST authorizer with its
decision cache and IAM policy evaluation, the REST proxy event (payload format 1.0), the
function invoked in process, and the template's gateway responses for every failure.

`start_gateway` runs it over HTTP on loopback with moto (`scimctl.local_aws`) and a seeded demo
tenant, in background threads, and returns a handle that tests use as a fixture; `serve` is the
blocking command-line form that prints the Tenant URL and token and stops on Ctrl-C or SIGTERM.

The limits (10 MB body, 6 MB invoke payload both ways, 29 s integration timeout and each
function's own Timeout) are in `scimctl.gateway_limits`. Known differences from AWS, each with its
reason, are in docs/architecture.md ("Local gateway vs API Gateway"): among them, every function
shares one process (and so one environment, the union of theirs, checked to agree) and runs one
invocation at a time, and there is no stage-wide throttling (the per-tenant usage plan bucket is
emulated, opt-in: `TokenBuckets`).
"""

from __future__ import annotations

import base64
import functools
import importlib
import json
import logging
import re
import signal
import socket
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, Final
from urllib.parse import unquote_plus

from core.errors import ScimError
from core.setup_links import SetupLinks
from core.store.setup_links_table import SetupLinkTable
from core.store.tenants_table import Stamp, TenantTable
from core.store.token_hashes import TokenHashStore
from core.webhooks.delivery import RETRY_SCHEDULE, RetrySchedule
from core.webhooks.signature import InvalidWebhookSecret
from scimctl import gateway_limits
from scimctl.admin import Admin
from scimctl.demo_tenant import DEMO_TENANT, DEMO_TOKEN_FILE, ensure_demo_tenant
from scimctl.gateway_limits import (
    BODY_OVER_10_MB,
    INTEGRATION_TIMEOUT_SECONDS,
    LAMBDA_REQUEST_BYTES,
    LAMBDA_RESPONSE_BYTES,
    MAX_BODY_BYTES,
    NOT_CUSTOMISABLE,
    FunctionTimedOut,
    IntegrationTimedOut,
    call_with_deadline,
    within,
)
from scimctl.local_aws import (
    DEFAULT_STATE_FILE,
    LOCAL_API_ID,
    STACK_NAME,
    LocalAws,
    env_overlay,
    local_aws,
    local_refs,
)
from scimctl.local_events import events_pump
from scimctl.local_store import Loaded, LocalStore, StoreError
from scimctl.local_webhooks import LocalWebhooks
from scimctl.openapi_doc import openapi_json
from scimctl.template import (
    API_TYPE,
    DEFAULT_ACCOUNT_ID,
    USAGE_PLAN_TYPE,
    Function,
    Route,
    Template,
    TemplateError,
    function_environment,
    load_template,
    resolve,
)
from scimctl.usage_plan import UsagePlanKeys

log = logging.getLogger("scimctl.gateway")

UNAUTHORIZED_MESSAGE: Final = "Unauthorized"  # the one authorizer error API Gateway answers 401
_ERROR_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:Error"

# Local-only environment: no X-Ray daemon and no CloudWatch agent on a laptop.
LOCAL_ONLY_ENV: Final[Mapping[str, str]] = {
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_DISABLED": "1",
    # Webhook targets on this machine (http, loopback) are fine locally, never in AWS.
    "WEBHOOK_ALLOW_LOOPBACK": "true",
}

# What API Gateway answers when the template does not customise a response type:
# (status, $context.error.message).
_BUILTIN_RESPONSES: Final[Mapping[str, tuple[int, str | None]]] = {
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None),
    "AUTHORIZER_FAILURE": (500, None),
    "API_CONFIGURATION_ERROR": (500, None),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
    "BAD_REQUEST_PARAMETERS": (400, "Invalid request parameters"),
    "DEFAULT_4XX": (400, None),
    "DEFAULT_5XX": (500, None),
    "EXPIRED_TOKEN": (403, None),
    # GR-types says 504; captured answers are 502 with responseType INTEGRATION_FAILURE
    # (DataBiosphere/azul#8258) and Lambda's page says 502 for a function error (Lambda-APIGW).
    "INTEGRATION_FAILURE": (502, "Internal server error"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "INVALID_API_KEY": (403, "Forbidden"),
    "INVALID_SIGNATURE": (403, None),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "RESOURCE_NOT_FOUND": (404, "Not Found"),
    "THROTTLED": (429, "Too Many Requests"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type"),
    "WAF_FILTERED": (403, "Forbidden"),
}
# x-amzn-ErrorType on API Gateway's own answers, where a captured response shows it.
_ERROR_TYPES: Final[Mapping[str, str]] = {
    "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",  # SO-1376
    "INTEGRATION_FAILURE": "InternalServerErrorException",  # rePost-5xx
    "REQUEST_TOO_LARGE": "BadRequestException",  # koki-develop/lgtm-generator#10
}

# A Lambda authorizer that raises anything but "Unauthorized", or returns something that is not
# a valid policy, is an "Authorizer Configuration Error" for API Gateway (500
# AuthorizerConfigurationException), not AUTHORIZER_FAILURE.
AUTHORIZER_ERROR: Final = "AUTHORIZER_CONFIGURATION_ERROR"
# A function error or a malformed proxy result.
INTEGRATION_ERROR: Final = "INTEGRATION_FAILURE"

_PROXY_RESULT_KEYS: Final = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)
_HOP_BY_HOP: Final = frozenset({"content-length", "transfer-encoding", "keep-alive"})
# Proxy-result headers API Gateway renames to x-amzn-Remapped-<name> (Notes-2023 for
# WWW-Authenticate; the remap table of "Amazon API Gateway important notes"): a function cannot
# send them. Gateway responses can, which is why every 401 is one (docs/architecture.md).
_REMAPPED: Final = frozenset({"authorization", "connection", "date", "server", "www-authenticate"})
_TEMPLATE_VARS: Final = re.compile(
    r"\$context\.(error\.messageString|error\.message|error\.responseType|requestId)"
)

Headers = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class LocalResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def json(self) -> Any:
        return json.loads(self.body)


# ---------------------------------------------------------------------------------------- routing
@dataclass(frozen=True, slots=True)
class _Resource:
    """An API Gateway resource (path template) and its methods."""

    path: str
    segments: tuple[tuple[int, str], ...]  # (kind, text): 0 literal, 1 {param}, 2 {param+}
    methods: Mapping[str, Route]

    @property
    def specificity(self) -> tuple[int, ...]:
        # Literal segments win over parameters, parameters over greedy ones, position by position.
        return tuple(kind for kind, _ in self.segments)

    def match(self, parts: Sequence[str]) -> tuple[tuple[str, str], ...] | None:
        params: list[tuple[str, str]] = []
        for index, (kind, text) in enumerate(self.segments):
            if kind == 2:
                rest = parts[index:]
                if not rest:
                    return None
                params.append((text, "/".join(rest)))
                return tuple(params)
            if index >= len(parts):
                return None
            if kind == 0 and parts[index] != text:
                return None
            if kind == 1:
                params.append((text, parts[index]))
        return tuple(params) if len(parts) == len(self.segments) else None


def _segments(path: str) -> tuple[tuple[int, str], ...]:
    segments: list[tuple[int, str]] = []
    for part in path.strip("/").split("/"):
        if part.startswith("{") and part.endswith("+}"):
            segments.append((2, part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            segments.append((1, part[1:-1]))
        elif part:
            segments.append((0, part))
    return tuple(segments)


class Router:
    """Resource matching as API Gateway does it: most specific resource first, then its method."""

    def __init__(self, routes: Sequence[Route]) -> None:
        by_path: dict[str, dict[str, Route]] = {}
        for route in routes:
            methods = by_path.setdefault(route.path, {})
            if route.method in methods:
                raise TemplateError(f"two functions serve {route.method} {route.path}")
            methods[route.method] = route
        resources = [_Resource(path, _segments(path), methods) for path, methods in by_path.items()]
        self._resources = sorted(resources, key=lambda r: r.specificity)
        # IdPs repeat the same few URLs; ids vary, so the cache is bounded.
        self.match = functools.lru_cache(maxsize=4096)(self._match)

    def _match(self, method: str, path: str) -> tuple[Route, tuple[tuple[str, str], ...]] | None:
        parts = [p for p in path.split("/") if p]
        for resource in self._resources:
            params = resource.match(parts)
            if params is None:
                continue
            # The most specific resource decides: a method it lacks is not looked up elsewhere.
            route = resource.methods.get(method) or resource.methods.get("ANY")
            return (route, params) if route is not None else None
        return None


def parse_query(query: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """(queryStringParameters, multiValueQueryStringParameters) as a REST API builds them.

    Keys and values are form-decoded: ``+`` is a space and ``%2B`` a plus (the Live-v1 capture in
    ../shared/research/api-gateway-fidelity.md: ``literalPlus=a+b`` → "a b"; aws/aws-cdk#19827),
    which is how Entra ID encodes the spaces of a filter. A raw ``;`` separates pairs as ``&`` does
    (Notes-2023: it "results in the data being split"). A key without ``=`` has the value ""
    (Entra ID appends ``?aadOptscim062020`` to the Tenant URL); None, not {}, when there is no
    query at all.
    """
    if not query:
        return None, None
    multi: dict[str, list[str]] = {}
    for pair in re.split("[&;]", query):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        multi.setdefault(unquote_plus(key), []).append(unquote_plus(value))
    if not multi:
        return None, None
    return {k: v[-1] for k, v in multi.items()}, multi


# ---------------------------------------------------------------------------------------- policies
def _arn_pattern(resource: str) -> re.Pattern[str]:
    # IAM wildcards: * is any run of characters (including "/"), ? exactly one.
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True, slots=True)
class _Policy:
    principal_id: str
    allow: tuple[re.Pattern[str], ...]
    deny: tuple[re.Pattern[str], ...]
    context: Mapping[str, str | None]
    usage_key: str | None = None  # usageIdentifierKey: the usage plan key (API key source AUTHORIZER)

    def permits(self, method_arn: str) -> bool:
        if any(p.fullmatch(method_arn) for p in self.deny):  # an explicit Deny wins
            return False
        return any(p.fullmatch(method_arn) for p in self.allow)


class InvalidAuthorizerResult(Exception):
    """The authorizer's output is not a policy API Gateway accepts."""


def _context_value(key: str, value: Any) -> str | None:
    if value is None:
        return None  # passed through as null (DT-69823, a live test)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise InvalidAuthorizerResult(f"context value {key!r} must be a string, number or boolean")


def parse_policy(result: Any) -> _Policy:
    """Validate an authorizer's output and compile its statements."""
    if not isinstance(result, dict) or not isinstance(result.get("policyDocument"), dict):
        raise InvalidAuthorizerResult("no policyDocument")
    if result.get("principalId") in (None, ""):
        raise InvalidAuthorizerResult("no principalId")
    allow: list[re.Pattern[str]] = []
    deny: list[re.Pattern[str]] = []
    for statement in _as_list(result["policyDocument"].get("Statement") or []):
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            raise InvalidAuthorizerResult("a statement has no valid Effect")
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        if not any(a in ("*", "execute-api:*", "execute-api:Invoke") for a in actions):
            continue
        patterns = [_arn_pattern(str(r)) for r in _as_list(statement.get("Resource", []))]
        (allow if statement["Effect"] == "Allow" else deny).extend(patterns)
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise InvalidAuthorizerResult("context must be an object")
    return _Policy(
        principal_id=str(result["principalId"]),
        allow=tuple(allow),
        deny=tuple(deny),
        context={str(k): _context_value(str(k), v) for k, v in context.items()},
        usage_key=str(result["usageIdentifierKey"]) if result.get("usageIdentifierKey") else None,
    )


_DENIED: Final = "denied"  # a cached "Unauthorized" answer
_Decision = _Policy | str


class AuthorizerCache:
    """API Gateway's decision cache: keyed by the identity-source values, expiring after the TTL."""

    def __init__(self, ttl_seconds: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, _Decision]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> _Decision | None:
        if self.ttl_seconds <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: tuple[str, ...], decision: _Decision) -> None:
        if self.ttl_seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= 10_000:
                self._entries.clear()  # bounded memory; a miss only costs an authorizer call
            self._entries[key] = (self._clock() + self.ttl_seconds, decision)

    def flush(self) -> None:
        with self._lock:
            self._entries.clear()


# ---------------------------------------------------------------------------------------- throttling
@dataclass(frozen=True, slots=True)
class Throttle:
    rate: float  # tokens per second
    burst: int  # bucket size


def usage_plan_throttle(template: Template, refs: Mapping[str, Any]) -> Throttle | None:
    """The template's usage plan throttle (TenantRateLimit / TenantBurstLimit), if any."""
    for _, props in template.resources_of_type(USAGE_PLAN_TYPE):
        spec = resolve(dict(props.get("Throttle") or {}), refs)
        if spec:
            return Throttle(rate=float(spec["RateLimit"]), burst=int(spec["BurstLimit"]))
    return None


def api_key_required(template: Template) -> bool:
    for _, props in template.resources_of_type(API_TYPE):
        return bool((props.get("Auth") or {}).get("ApiKeyRequired"))
    return False


class TokenBuckets:
    """One token bucket per usage plan key, as API Gateway throttles each key of a usage plan."""

    def __init__(self, throttle: Throttle, clock: Callable[[], float] = time.monotonic) -> None:
        self.throttle = throttle
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.throttle.burst), now))
            tokens = min(float(self.throttle.burst), tokens + (now - last) * self.throttle.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            return allowed


# ---------------------------------------------------------------------------------------- functions
@dataclass(frozen=True, slots=True)
class LocalLambdaContext:
    """What the Lambda runtime passes as ``context`` (the attributes powertools reads)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline: float  # time.monotonic() at which the function would time out
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


LambdaHandler = Callable[[dict[str, Any], Any], Any]


class LocalFunction:
    """One Lambda function: its handler imported once, invoked as a warm container would be.

    A Lambda container runs one invocation at a time, and handlers rely on it: module-level
    state (boto3 clients, settings) is created lazily, the routers keep the current request on
    the function's module-level ``Router`` and the Logger's keys are shared by every function in the
    process. So with ``lock`` shared by all functions and ``serialize`` on (the default), one
    invocation runs at a time; requests still interleave everywhere else (HTTP, the gateway's
    own steps). Without ``serialize``, only the first (cold) invocation is serialised.
    """

    def __init__(
        self, function: Function, *, stack_name: str, region: str, lock: threading.RLock, serialize: bool
    ) -> None:
        self.function = function
        self.name = f"{stack_name}-{function.logical_id}"
        self.arn = f"arn:aws:lambda:{region}:{DEFAULT_ACCOUNT_ID}:function:{self.name}"
        self._handler: LambdaHandler | None = None
        self._warm = False
        self._lock = lock
        self._serialize = serialize

    def _load(self) -> LambdaHandler:
        module_name, _, attribute = self.function.handler.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute)
        if not callable(handler):
            raise TemplateError(f"{self.function.handler} is not callable")
        return handler  # type: ignore[no-any-return]

    def _context(self) -> LocalLambdaContext:
        return LocalLambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.function.memory_mb,
            aws_request_id=str(uuid.uuid4()),
            deadline=time.monotonic() + self.function.timeout_seconds,
            log_group_name=f"/aws/lambda/{self.name}",
        )

    def invoke(self, event: dict[str, Any]) -> Any:
        handler = self._handler
        if handler is not None and self._warm and not self._serialize:
            return handler(event, self._context())
        # Waiting for the lock, and the cold start's import (Lambda's init phase), count against
        # no timeout: the clock (and the context's remaining time) starts with the handler.
        gateway_limits.queued()
        with self._lock:
            if self._handler is None:
                self._handler = self._load()
            gateway_limits.running()
            try:
                return self._handler(event, self._context())
            finally:
                self._warm = True


def reset_warm_state(packages: set[str]) -> None:
    """Clear module-level ``functools.cache`` results in these packages, as a cold start would.

    Handlers cache boto3 clients and settings per container; a gateway starting (or stopping)
    in a process that already imported them must not reuse clients bound to another moto mock
    or settings read from another environment.
    """
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in packages:
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()


# ---------------------------------------------------------------------------------------- gateway
@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str  # without the stage, still percent-encoded (as REST APIs pass it)
    headers: tuple[tuple[str, str], ...]
    body: bytes
    query: str
    source_ip: str
    request_id: str
    started: float  # epoch seconds


class LocalGateway:
    """API Gateway REST, as configured in ``template.yaml``, in front of in-process functions.

    Use as a context manager (or `start` / `close`): starting applies the functions'
    environment to this process and forgets handlers' warm state; closing restores both.
    """

    def __init__(
        self,
        template_path: Path | str,
        *,
        stage: str = "v1",
        region: str = "us-east-1",
        cache_ttl: int | None = None,
        stack_name: str = STACK_NAME,
        table_name: str | None = None,
        parameters: Mapping[str, str] | None = None,
        serialize_invocations: bool = True,
        throttle_tenants: bool = False,
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
    ) -> None:
        self.template: Template = load_template(template_path, parameters)
        self.integration_timeout = integration_timeout  # tests shorten it
        self.stage = stage
        self.region = region
        self.api_id = LOCAL_API_ID
        self.refs = local_refs(self.template, stack_name=stack_name, region=region, table_name=table_name)
        self.router = Router(self.template.routes)
        self.authorizer = self.template.authorizer
        ttl = cache_ttl if cache_ttl is not None else (self.authorizer.ttl_seconds if self.authorizer else 0)
        self.authorizer_cache = AuthorizerCache(ttl)
        throttle = usage_plan_throttle(self.template, self.refs)
        self.api_key_required = api_key_required(self.template)
        # Opt-in (`scimctl serve --throttle`, the rate-limit tests): test suites hammer one tenant.
        self.tenant_buckets = TokenBuckets(throttle) if throttle is not None and throttle_tenants else None
        lock = threading.RLock()
        self._invoke_lock = lock
        # Called after each request that reached a function: the events pump (local_events).
        self.after_write: Callable[[], object] | None = None
        self.functions = {
            fid: LocalFunction(
                f, stack_name=stack_name, region=region, lock=lock, serialize=serialize_invocations
            )
            for fid, f in self.template.functions.items()
        }
        self.binary_media_types = _binary_media_types(self.template)
        self.environment = self._union_environment()
        self._code_dirs = self._code_directories()
        self._exit: ExitStack | None = None

    def serve_api_beside(self, scim: LocalGateway | None, api_id: str) -> None:
        """Make this gateway serve another REST API of the template (the management or setup API)
        in the SCIM gateway's process: one invocation at a time across the APIs, because the
        handlers share process-wide state (powertools singletons, clients), as LocalFunction
        explains. No Lambda authorizer, no API key and no usage-plan throttle on those APIs."""
        if scim is not None:
            self._invoke_lock = scim._invoke_lock
            for function in self.functions.values():
                function._lock = scim._invoke_lock
        self.router = Router(self.template.routes)
        self.api_id = api_id
        self.authorizer = None
        self.api_key_required = False
        self.tenant_buckets = None

    # -- lifecycle --------------------------------------------------------------------------
    def _union_environment(self) -> dict[str, str]:
        # All functions share this process, so they must agree on every variable they share.
        union: dict[str, str] = {}
        owner: dict[str, str] = {}
        for function_id in self.template.functions:
            for name, value in function_environment(self.template, function_id, self.refs).items():
                if name in union and union[name] != value:
                    raise TemplateError(
                        f"{name} differs between {owner[name]} ({union[name]!r}) and {function_id} "
                        f"({value!r}); the local gateway runs every function in one process"
                    )
                union[name], owner[name] = value, function_id
        return union | dict(LOCAL_ONLY_ENV)

    def _code_directories(self) -> list[str]:
        base = self.template.path.resolve().parent
        dirs = {str((base / f.code_uri).resolve()) for f in self.template.functions.values() if f.code_uri}
        return sorted(d for d in dirs if Path(d).is_dir())

    def _handler_packages(self) -> set[str]:
        return {f.handler.split(".")[0] for f in self.template.functions.values()}

    def start(self) -> LocalGateway:
        if self._exit is not None:
            return self
        stack = ExitStack()
        stack.enter_context(env_overlay(self.environment))
        for code_dir in self._code_dirs:
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)
                stack.callback(sys.path.remove, code_dir)
        packages = self._handler_packages()
        stack.callback(reset_warm_state, packages)
        reset_warm_state(packages)
        self._exit = stack
        return self

    def close(self) -> None:
        if self._exit is not None:
            self._exit.close()
            self._exit = None

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flush_authorizer_cache(self) -> None:
        """What ``FlushStageAuthorizersCache`` does; `Admin` calls it when it revokes a token."""
        self.authorizer_cache.flush()

    # -- requests ---------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        raw_path: str,
        headers: Headers,
        body: bytes,
        source_ip: str = "127.0.0.1",
    ) -> LocalResponse:
        """Answer one request as API Gateway and the function behind it would."""
        if self._exit is None:
            raise RuntimeError("LocalGateway.start() (or `with`) must run before handle()")
        path, _, query = raw_path.partition("?")
        request = _Request(
            method=method.upper(),
            path=path,
            headers=tuple(headers.items()) if isinstance(headers, Mapping) else tuple(headers),
            body=body,
            query=query,
            source_ip=source_ip,
            request_id=str(uuid.uuid4()),
            started=time.time(),
        )
        if request.method == "GET" and path == "/openapi.json":  # local only: the API description, no auth
            host = _header(request.headers, "Host") or "127.0.0.1"
            description = openapi_json(self.template.path, f"http://{host}/{self.stage}")
            return LocalResponse(200, (("Content-Type", "application/json"),), description)
        if len(body) > MAX_BODY_BYTES:
            return self.body_over_limit()
        prefix = f"/{self.stage}"
        if not (path == prefix or path.startswith(prefix + "/")):
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", request.request_id)
        request = replace(request, path=path[len(prefix) :] or "/")
        matched = self.router.match(request.method, request.path)
        if matched is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", request.request_id)
        route, params = matched
        authorizer_context: dict[str, Any] | None = None
        if route.authorizer is not None:
            decision = self._authorize(request, route, dict(params))
            if isinstance(decision, LocalResponse):
                return decision
            authorizer_context = decision
        return self._integrate(request, route, dict(params), authorizer_context)

    @staticmethod
    def body_over_limit() -> LocalResponse:
        """A body over 10 MB: API Gateway's own 413, never the template's (gateway_limits)."""
        status, headers, body = BODY_OVER_10_MB
        return LocalResponse(status, headers, body)

    def gateway_response(self, response_type: str, request_id: str | None = None) -> LocalResponse:
        """The template's gateway response for this type (or its DEFAULT_4XX/5XX), rendered."""
        request_id = request_id or str(uuid.uuid4())
        status, message = _BUILTIN_RESPONSES.get(response_type, (500, None))
        responses = self.template.gateway_responses
        spec = None
        if response_type not in NOT_CUSTOMISABLE:
            spec = responses.get(response_type) or responses.get(
                "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
            )
        error_type = _ERROR_TYPES.get(response_type)
        if spec is None:
            body = json.dumps({"message": message}).encode()
            headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
            if error_type:
                headers.append(("x-amzn-ErrorType", error_type))
            return LocalResponse(status, tuple(headers), body)
        values = {
            "error.responseType": response_type,
            "error.message": message or "",
            "error.messageString": json.dumps(message),
            "requestId": request_id,
        }
        text = _TEMPLATE_VARS.sub(lambda m: values[m[1]], spec.body_template or "")
        headers = list(spec.headers.items())
        if _header(headers, "Content-Type") is None:
            headers.append(("Content-Type", "application/json"))
        headers.append(("x-amzn-RequestId", request_id))
        if error_type:
            headers.append(("x-amzn-ErrorType", error_type))
        return LocalResponse(spec.status_code or status, tuple(headers), text.encode())

    # -- authorizer -------------------------------------------------------------------------
    def method_arn(self, method: str, path: str) -> str:
        return (
            f"arn:aws:execute-api:{self.region}:{DEFAULT_ACCOUNT_ID}:{self.api_id}/{self.stage}/"
            f"{method}/{path.lstrip('/')}"
        )

    def _authorize(
        self, request: _Request, route: Route, params: dict[str, str]
    ) -> dict[str, Any] | LocalResponse:
        """The authorizer's context for the integration, or the gateway response that refuses."""
        authorizer = self.template.authorizers[route.authorizer or ""]
        # The last value of a repeated header, as in the event's `headers`: the cache key and what
        # the authorizer sees must be the same value (audit D7).
        identity = tuple(_last_header(request.headers, name) or "" for name in authorizer.identity_headers)
        # API Gateway answers this itself, without invoking the authorizer, only when caching is on
        # (Auth-ids); with caching off the identity sources are optional.
        if not all(identity) and self.authorizer_cache.ttl_seconds > 0:
            return self.gateway_response("UNAUTHORIZED", request.request_id)
        started = time.perf_counter()
        decision = self.authorizer_cache.get(identity)
        if decision is None:
            decision = self._invoke_authorizer(authorizer.function_id, request, route, params)
            if decision is None:
                return self.gateway_response(AUTHORIZER_ERROR, request.request_id)
            self.authorizer_cache.put(identity, decision)  # "Unauthorized" is cached as well
        if not isinstance(decision, _Policy):
            return self.gateway_response("UNAUTHORIZED", request.request_id)
        if not decision.permits(self.method_arn(request.method, request.path)):
            return self.gateway_response("ACCESS_DENIED", request.request_id)
        refused = self._usage_plan_refusal(decision)
        if refused is not None:
            return self.gateway_response(refused, request.request_id)
        latency = int((time.perf_counter() - started) * 1000)
        return {**decision.context, "principalId": decision.principal_id, "integrationLatency": latency}

    def _usage_plan_refusal(self, decision: _Policy) -> str | None:
        """The usage plan step: no key named → INVALID_API_KEY; the key's bucket dry → THROTTLED."""
        if not self.api_key_required:
            return None
        if decision.usage_key is None:
            return "INVALID_API_KEY"
        if self.tenant_buckets is not None and not self.tenant_buckets.take(decision.usage_key):
            return "THROTTLED"
        return None

    def _invoke_authorizer(
        self, function_id: str, request: _Request, route: Route, params: dict[str, str]
    ) -> _Decision | None:
        """A policy, _DENIED for "Unauthorized", or None when the authorizer failed (not cached)."""
        event = self._authorizer_event(request, route, params)
        try:
            result = self._invoke(function_id, event)
        except Exception as exc:
            if str(exc) == UNAUTHORIZED_MESSAGE:
                return _DENIED
            log.warning("authorizer %s failed: %r", function_id, exc)
            return None
        try:
            return parse_policy(result)
        except InvalidAuthorizerResult as exc:
            log.warning("authorizer %s returned an invalid result: %s", function_id, exc)
            return None

    def _authorizer_event(self, request: _Request, route: Route, params: dict[str, str]) -> dict[str, Any]:
        return {
            "type": "REQUEST",
            "methodArn": self.method_arn(request.method, request.path),
            **self._base_event(request, route, params),
        }

    # -- integration ------------------------------------------------------------------------
    def _base_event(self, request: _Request, route: Route, params: dict[str, str]) -> dict[str, Any]:
        headers = _forwarded_headers(request)
        multi: dict[str, list[str]] = {}
        for name, value in headers:
            multi.setdefault(name, []).append(value)
        single = {name: values[-1] for name, values in multi.items()}
        query, multi_query = parse_query(request.query)
        host = single.get("Host") or _header(headers, "Host") or "localhost"
        started = datetime.fromtimestamp(request.started, UTC)
        return {
            "resource": route.path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": single or None,
            "multiValueHeaders": multi or None,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": DEFAULT_ACCOUNT_ID,
                "apiId": self.api_id,
                "resourceId": f"{zlib.crc32(route.path.encode()):08x}"[:6],
                "resourcePath": route.path,
                "httpMethod": request.method,
                "path": f"/{self.stage}{request.path}",
                "stage": self.stage,
                "requestId": request.request_id,
                "extendedRequestId": request.request_id,
                "requestTime": started.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(request.started * 1000),
                "identity": {
                    "sourceIp": request.source_ip,
                    "userAgent": _header(request.headers, "User-Agent"),
                    "accessKey": None,
                    "accountId": None,
                    "caller": None,
                    "user": None,
                    "userArn": None,
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "principalOrgId": None,
                    # Present (null without a client certificate or API key) in Live-v1.
                    "apiKey": None,
                    "apiKeyId": None,
                    "clientCert": None,
                },
                "domainName": host,
                "domainPrefix": host.split(".")[0],
                "protocol": "HTTP/1.1",
            },
        }

    def _integrate(
        self, request: _Request, route: Route, params: dict[str, str], authorizer: dict[str, Any] | None
    ) -> LocalResponse:
        event = self._base_event(request, route, params)
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        binary = _matches(_header(request.headers, "Content-Type"), self.binary_media_types)
        event["body"], event["isBase64Encoded"] = _event_body(request.body, binary)
        if not within(event, LAMBDA_REQUEST_BYTES, event["body"]):
            # Lambda refuses the invoke; API Gateway's 413 is not customisable (gateway_limits).
            return self.gateway_response("REQUEST_TOO_LARGE", request.request_id)
        failure = INTEGRATION_ERROR
        try:
            result = self._invoke(route.function_id, event)
            if isinstance(result, dict) and not within(result, LAMBDA_RESPONSE_BYTES, result.get("body")):
                raise ValueError("the result is over Lambda's 6 MB response limit")
            accept = _header(request.headers, "Accept")
            return _proxy_response(
                result, request.request_id, decode_base64=_matches(accept, self.binary_media_types)
            )
        except IntegrationTimedOut:
            log.error("%s: no answer within %.0f s", route.function_id, self.integration_timeout)
            failure = "INTEGRATION_TIMEOUT"
        except (FunctionTimedOut, ValueError) as exc:  # function errors for API Gateway (Lambda-APIGW)
            log.error("%s: %s", route.function_id, exc)
        except Exception:
            # Lambda reports an unhandled error; API Gateway answers with its own 5xx.
            log.exception("%s failed", route.function_id)
        finally:
            if failure != "INTEGRATION_TIMEOUT":  # the function still holds the invocation lock
                self._after_write(request.method)
        return self.gateway_response(failure, request.request_id)

    def _invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        """Invoke a function under its own Timeout and API Gateway's integration timeout."""
        function = self.functions[function_id]
        return call_with_deadline(
            lambda: function.invoke(event), function.function.timeout_seconds, self.integration_timeout
        )

    def _after_write(self, method: str) -> None:
        # Under the invocation lock, as the functions run: the events handler shares their
        # process-wide state (powertools singletons), and the lock order stays invocation → AWS.
        if self.after_write is None or method in ("GET", "HEAD", "OPTIONS"):
            return
        with self._invoke_lock:
            try:
                self.after_write()
            except Exception:  # the events file is a side channel: never fail the request for it
                log.exception("publishing local events failed")


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers if k.lower() == wanted), None)


def _last_header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in reversed(headers) if k.lower() == wanted), None)


def _binary_media_types(template: Template) -> tuple[str, ...]:
    """The API's BinaryMediaTypes (none in this stack's template); SAM writes "/" as "~1"."""
    for _, props in template.resources_of_type(API_TYPE):
        return tuple(str(t).replace("~1", "/").lower() for t in props.get("BinaryMediaTypes") or ())
    return ()


def _matches(media_type: str | None, patterns: Sequence[str]) -> bool:
    """Whether a Content-Type or any type of an Accept header matches a binary media type."""
    if not media_type or not patterns:
        return False
    for candidate in media_type.lower().split(","):
        kind = candidate.split(";")[0].strip()
        for pattern in patterns:
            main, _, sub = pattern.partition("/")
            if pattern in (kind, "*/*") or (sub == "*" and kind.startswith(main + "/")):
                return True
    return False


def _forwarded_headers(request: _Request) -> list[tuple[str, str]]:
    """The request headers plus the X-Forwarded-* that API Gateway adds."""
    forwarded = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port"}
    headers = [(k, v) for k, v in request.headers if k.lower() not in forwarded]
    prior = _header(request.headers, "X-Forwarded-For")
    host = _header(request.headers, "Host") or ""
    port = host.rpartition(":")[2] if ":" in host else "80"
    headers += [
        ("X-Forwarded-For", f"{prior}, {request.source_ip}" if prior else request.source_ip),
        ("X-Forwarded-Port", port),
        ("X-Forwarded-Proto", "http"),
    ]
    return headers


def _event_body(body: bytes, binary: bool) -> tuple[str | None, bool]:
    """Base64 only for a binary media type; otherwise text, whatever the bytes (ministack-767,
    checked on AWS). How AWS renders bytes that are not UTF-8 is undocumented: replaced here."""
    if not body:
        return None, False
    if binary:
        return base64.b64encode(body).decode("ascii"), True
    return body.decode("utf-8", errors="replace"), False


def _remapped(name: str) -> str:
    return f"x-amzn-Remapped-{name}" if name.lower() in _REMAPPED else name


def _header_value(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"header {name!r} has a {type(value).__name__} value")
    return str(value)


def _status_code(value: Any) -> int:
    # A string of digits is accepted as well (LS-11199, tested on AWS).
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ValueError(f"statusCode {value!r} is not an HTTP status")
    return value


def _proxy_response(result: Any, request_id: str, *, decode_base64: bool = False) -> LocalResponse:
    """A REST API's reading of a Lambda proxy result; ValueError when it would be malformed.

    ``decode_base64``: the request's Accept matches a binary media type; otherwise an
    ``isBase64Encoded`` body is sent as the base64 text it is (ministack-767).
    """
    if not isinstance(result, dict):
        raise ValueError(f"result is a {type(result).__name__}, not an object")
    unknown = set(result) - _PROXY_RESULT_KEYS
    if unknown:
        raise ValueError(f"unexpected fields {sorted(unknown)}")
    status = _status_code(result.get("statusCode"))
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError("body must be a string")
    raw = b"" if body is None else body.encode("utf-8")
    if result.get("isBase64Encoded") and decode_base64:
        raw = base64.b64decode(raw, validate=True)
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise ValueError("headers and multiValueHeaders must be objects")
    # As API Gateway merges them (Proxy-fmt): both lists, an identical name and value once.
    headers: list[tuple[str, str]] = []
    for name, value in [(str(k), _header_value(k, v)) for k, vs in multi.items() for v in _as_list(vs)] + [
        (str(k), _header_value(k, v)) for k, v in single.items()
    ]:
        if (name, value) not in headers:
            headers.append((name, value))
    headers = [(_remapped(k), v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
    if _header(headers, "Content-Type") is None:
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-RequestId", request_id))
    return LocalResponse(status, tuple(headers), raw)


# ---------------------------------------------------------------------------------------- HTTP
_READ_CAP = 2 * MAX_BODY_BYTES  # read and discard at most this much of an oversized body


class _GatewayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # IdPs and test suites open many connections at once

    def __init__(self, address: tuple[str, int], gateway: LocalGateway, log_requests: bool) -> None:
        self.gateway = gateway
        self.log_requests = log_requests
        super().__init__(address, _GatewayRequestHandler)


class _GatewayRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as IdPs use it
    server_version = "scimctl-local-gateway"
    timeout = 120  # idle keep-alive connections do not hold a thread forever
    server: _GatewayHTTPServer

    def _dispatch(self) -> None:
        started = time.perf_counter()
        gateway = self.server.gateway
        body = self._read_body()
        if body is None:
            response = gateway.body_over_limit()
            self.close_connection = True
        else:
            try:
                response = gateway.handle(
                    self.command, self.path, list(self.headers.items()), body, self.client_address[0]
                )
            except Exception:  # a gateway bug; never leave the client without an answer
                log.exception("local gateway error")
                response = gateway.gateway_response("DEFAULT_5XX")
        if self.server.log_requests:
            elapsed = (time.perf_counter() - started) * 1000
            # Never headers, query strings or bodies: they carry tokens and personal data. Logged
            # before the response is sent, so a client that has its answer also has the line.
            print(
                f"{self.command} {self.path.partition('?')[0]} {response.status} {elapsed:.0f}ms",
                file=sys.stderr,
                flush=True,
            )
        self._send(response)

    def _read_body(self) -> bytes | None:
        """The request body; None when it is over the limit (it is then read and discarded)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            length = 0
        if length <= MAX_BODY_BYTES + 1:
            return self.rfile.read(length)
        remaining = min(length, _READ_CAP)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)
        return None

    def _read_chunked(self) -> bytes | None:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            chunk_size = int(line.split(b";")[0].strip() or b"0", 16)
            if chunk_size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            size += chunk_size
            data = self.rfile.read(chunk_size)
            self.rfile.readline(8)  # CRLF after the chunk
            if size <= MAX_BODY_BYTES + 1:
                parts.append(data)
            elif size > _READ_CAP:
                self.close_connection = True
                return None
        return b"".join(parts) if size <= MAX_BODY_BYTES + 1 else None

    def _send(self, response: LocalResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a request line over 64 KB: 414, a malformed one: 400) as SCIM
        errors rather than its HTML page, so that every answer of the local API is SCIM JSON."""
        detail = message or HTTPStatus(code).phrase
        body = json.dumps({"schemas": [_ERROR_SCHEMA], "status": str(code), "detail": detail}).encode()
        self.close_connection = True
        self._send(LocalResponse(code, (("Content-Type", "application/scim+json"),), body))

    # Every method goes to API Gateway, which decides what the template routes.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        return None  # _dispatch logs one line per request, without the query string


# ---------------------------------------------------------------------------------------- serve
def default_template_path() -> Path:
    """``template.yaml`` in the current directory (``make serve``), else the repository's."""
    here = Path("template.yaml")
    return here if here.exists() else Path(__file__).resolve().parents[2] / "template.yaml"


@dataclass
class RunningGateway:
    """A gateway serving HTTP in background threads; `stop` ends it (idempotent)."""

    base_url: str  # http://127.0.0.1:<port>
    api_url: str  # <base_url>/<stage>/scim/v2: the Tenant URL without the tenant
    tenant_url: str  # the demo tenant's Tenant URL
    token: str  # the demo tenant's bearer token
    admin: Admin  # flushes this gateway's authorizer cache when it revokes a token
    gateway: LocalGateway
    aws: LocalAws
    state_file: Path | None
    events_file: Path | None  # the PutEvents entries the events handler made, one JSON per line
    _exit: ExitStack = field(repr=False)
    webhooks: LocalWebhooks | None = None  # signed webhook deliveries (--webhook-url, or targets set later)
    webhook_url: str | None = None
    data_dir: Path | None = None  # where the data is kept across restarts (None: in memory only)
    token_file: Path | None = None
    token_reused: bool = False  # the token is the one an earlier start issued (--data-dir)
    store: LocalStore | None = None
    loaded: Loaded | None = None  # what the start read back from data_dir
    management_url: str = ""  # the management API's base URL (SigV4: scimctl.management_gateway)
    setup_url: str = ""  # the setup page (scimctl.setup_gateway)
    setup_link: str = ""  # a one-time setup link for the demo tenant, made by this start

    @property
    def port(self) -> int:
        return int(self.base_url.rpartition(":")[2])

    def tenant_url_of(self, tenant_id: str) -> str:
        return f"{self.api_url}/{tenant_id}"

    def stop(self) -> None:
        self._exit.close()

    def __enter__(self) -> RunningGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - only compared, never bound  # nosec B104


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("", _ALL_INTERFACES) else host


def _wait_until_accepting(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((_display_host(host), port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def start_gateway(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    aws_port: int | None = None,
    token_file: Path | None = None,
    state_file: Path | None = None,
    stage: str = "v1",
    template_path: Path | None = None,
    cache_ttl: int | None = None,
    log_requests: bool = True,
    events_file: Path | None = None,
    preset: str = "default",
    parameters: Mapping[str, str] | None = None,
    throttle_tenants: bool = False,
    data_dir: Path | None = None,
    reset: bool = False,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_schedule: RetrySchedule | None = None,
) -> RunningGateway:
    """Start moto, seed the demo tenant and serve HTTP in background threads.

    ``port=0`` picks a free port (tests); moto's HTTP API listens on ``aws_port``, by default
    the gateway's port + 1 (any free port when ``port`` is 0). With ``data_dir`` the data is
    read back from there and kept there (`scimctl.local_store`; ``reset`` starts empty), and the
    demo token is kept in ``data_dir/demo-token`` unless ``token_file`` names another file.
    """
    gateway = LocalGateway(
        template_path or default_template_path(),
        stage=stage,
        cache_ttl=cache_ttl,
        parameters=parameters,
        throttle_tenants=throttle_tenants,
    )
    with ExitStack() as stack:
        # Bound (and listening) first: the state file names the port it got.
        httpd = _GatewayHTTPServer((host, port), gateway, log_requests)
        stack.callback(httpd.server_close)
        base_url = f"http://{_display_host(host)}:{httpd.server_port}"
        api_url = f"{base_url}/{stage}/scim/v2"
        if aws_port is None:
            aws_port = httpd.server_port + 1 if port else 0
        aws = stack.enter_context(
            local_aws(
                gateway.template,
                host="127.0.0.1",  # moto's API stays on loopback whatever the gateway's host
                port=aws_port,
                region=gateway.region,
                stack_name=STACK_NAME,
                state_file=state_file,
                api_url=api_url,
            )
        )
        store = loaded = None
        if data_dir is not None:
            store = LocalStore(data_dir, reset=reset)
            stack.callback(store.close)  # after the HTTP server stopped: the last writes are kept
            loaded = store.load(aws)
            store.start()
            token_file = token_file or data_dir / DEMO_TOKEN_FILE
        # Redeliveries (POST /tenants/{t}/webhook/redeliver) go to this queue, as in AWS.
        gateway.environment["WEBHOOK_QUEUE_URL"] = webhook_queue_url(aws)
        webhooks = None
        if webhook_url is not None:
            webhooks = start_local_webhooks(aws, webhook_url, webhook_secret, webhook_schedule)
            stack.callback(webhooks.stop)
        # Always on: the events function journals every event (the management API's feed) before
        # it publishes; the entries go to the events file when there is one, and to the local
        # webhooks (`--webhook-url`).
        # In AWS the events function's SCIM_BASE_URL is the API's URL; here the API is this.
        gateway.environment["SCIM_BASE_URL"] = api_url
        on_published = webhooks.submit if webhooks is not None else None
        gateway.after_write = events_pump(aws, events_file, on_published).pump
        stack.enter_context(gateway)
        admin = Admin(
            TenantTable(aws.client("dynamodb"), aws.table_name),
            TokenHashStore(aws.client("secretsmanager"), aws.secrets_prefix),
            flush_authorizer_cache=gateway.flush_authorizer_cache,
            usage_plan=(
                UsagePlanKeys(aws.client("apigateway"), aws.usage_plan_id, aws.stack_name)
                if aws.usage_plan_id
                else None
            ),
        )
        from scimctl.management_gateway import start_management  # noqa: PLC0415 - it imports this module
        from scimctl.setup_gateway import BoundSetup  # noqa: PLC0415 - it imports this module

        # The setup page: port + 3, bound first so that the management API's links can name it.
        setup = BoundSetup(stack, gateway, host=host, port=port + 3 if port else 0, log_requests=log_requests)
        # The management API next to it: port + 2 (moto has + 1), any free port when port is 0.
        management_url = start_management(
            stack,
            gateway,
            host=host,
            api_url=api_url,
            log_requests=log_requests,
            port=port + 2 if port else 0,
            setup_page_url=setup.url,
        )
        setup.start(gateway, {"SCIM_BASE_URL": api_url, "SETUP_PAGE_URL": setup.url})
        demo = ensure_demo_tenant(
            admin,
            TenantTable(aws.client("dynamodb"), aws.table_name),
            TokenHashStore(aws.client("secretsmanager"), aws.secrets_prefix),
            preset=preset,
            token_file=token_file,
            reuse=data_dir is not None,
        )
        token = demo.token
        # A fresh one-time setup link for the demo tenant on every start (docs/setup-page.md).
        setup_link = (
            SetupLinks(SetupLinkTable(aws.client("dynamodb"), aws.table_name), admin, page_url=setup.url)
            .create(DEMO_TENANT, stamp=Stamp(actor="scimctl:serve"))
            .url
        )
        if token_file is not None and data_dir is None:
            stack.callback(_remove_quietly, token_file)  # the data goes, so does its token
        thread = threading.Thread(target=httpd.serve_forever, name="local-gateway", daemon=True)
        thread.start()
        stack.callback(thread.join, 5)
        stack.callback(httpd.shutdown)
        _wait_until_accepting(host, httpd.server_port)
        return RunningGateway(
            base_url=base_url,
            api_url=api_url,
            tenant_url=f"{api_url}/{DEMO_TENANT}",
            token=token,
            admin=admin,
            gateway=gateway,
            aws=aws,
            state_file=state_file,
            events_file=events_file,
            webhooks=webhooks,
            webhook_url=webhook_url,
            _exit=stack.pop_all(),
            data_dir=data_dir,
            token_file=token_file,
            token_reused=demo.reused,
            store=store,
            loaded=loaded,
            management_url=management_url,
            setup_url=setup.url,
            setup_link=setup_link,
        )
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack does not swallow errors


def start_local_webhooks(
    aws: LocalAws, url: str, secret: str | None, schedule: RetrySchedule | None
) -> LocalWebhooks:
    """Set the stack-wide target in moto's Secrets Manager (as `PUT /webhook` would) and start
    the delivery thread."""
    from core.webhooks.signature import check_secret  # noqa: PLC0415 - only with webhooks
    from core.webhooks.targets import WebhookTargets  # noqa: PLC0415
    from core.webhooks.urls import check_url  # noqa: PLC0415
    from handlers.webhook_http import UrllibSender  # noqa: PLC0415

    check_url(url, allow_loopback=True)
    if secret is None:
        raise InvalidWebhookSecret("--webhook-url needs --webhook-secret (whsec_...)")
    targets = WebhookTargets(aws.client("secretsmanager"), aws.secrets_prefix)
    targets.put(None, url, check_secret(secret))
    sqs, queue_url = aws.client("sqs"), webhook_queue_url(aws)

    def inbox() -> list[dict[str, Any]]:
        """Redeliveries the local management API queued (WebhooksQueue's part, locally)."""
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        for message in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"]) for message in got]

    return LocalWebhooks(
        targets.for_tenant, UrllibSender(allow_loopback=True), schedule or RETRY_SCHEDULE, inbox=inbox
    ).start()


def webhook_queue_url(aws: LocalAws) -> str:
    """The local stand-in for WebhooksQueue in moto's SQS (created on first use)."""
    return str(aws.client("sqs").create_queue(QueueName=f"{aws.stack_name}-WebhooksQueue")["QueueUrl"])


def _remove_quietly(path: Path) -> None:
    with suppress(OSError):
        path.unlink()


def banner(running: RunningGateway) -> str:
    if running.data_dir is None:
        kept = "moto in-process; data is lost on exit"
    else:
        kept = f"moto in-process; data kept in {running.data_dir}, --reset starts empty"
    # A later start over the same data does not print the token again: it says where it is.
    token = f"the same as before, in {running.token_file}" if running.token_reused else running.token
    set_token = f"TOKEN=$(cat {running.token_file}); " if running.token_file else ""
    try_it = f'{set_token}curl -H "Authorization: Bearer $TOKEN" {running.tenant_url}/ServiceProviderConfig'
    return (
        f"Serverless SCIM local gateway ({kept})\n"
        f"Tenant URL:  {running.tenant_url}\n"
        + (f"Management API: {running.management_url}\n" if running.management_url else "")
        + (f"Webhooks:    {running.webhook_url} (signed, Standard Webhooks)\n" if running.webhook_url else "")
        + f"Token:       {token}\n"
        f"Try:         {try_it}\n"
        + (
            f"Setup link:  {running.setup_link} (one use; the IT admin's page)\n"
            if running.setup_link
            else ""
        )
        + (
            f"Events:      {running.events_file} (one PutEvents entry per line)\n"
            if running.events_file
            else ""
        )
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    token_file: Path | None = None,
    state_file: Path | None = None,
    stage: str = "v1",
    on_ready: Callable[[RunningGateway], None] | None = None,
    events_file: Path | None = None,
    preset: str = "default",
    throttle_tenants: bool = False,
    data_dir: Path | None = None,
    reset: bool = False,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_schedule: RetrySchedule | None = None,
) -> None:
    """Run the local gateway until Ctrl-C or SIGTERM; the state file is removed on the way out."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        try:
            running = start_gateway(
                host,
                port,
                token_file=token_file,
                state_file=state_file or DEFAULT_STATE_FILE,
                stage=stage,
                events_file=events_file,
                preset=preset,
                throttle_tenants=throttle_tenants,
                data_dir=data_dir,
                reset=reset,
                webhook_url=webhook_url,
                webhook_secret=webhook_secret,
                webhook_schedule=webhook_schedule,
            )
        except (StoreError, ScimError) as exc:
            print(f"scimctl: {getattr(exc, 'detail', exc)}", file=sys.stderr)
            raise SystemExit(2) from exc
        except OSError as exc:  # most often: the port is taken by another `make serve`
            print(f"scimctl: cannot start the local gateway on {host}:{port}: {exc}", file=sys.stderr)
            raise SystemExit(2) from exc
        try:
            sys.stdout.write(banner(running))
            sys.stdout.flush()
            if on_ready is not None:
                on_ready(running)
            while not stop.wait(0.5):
                pass
        finally:
            running.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
