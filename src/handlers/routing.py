"""Dispatching API Gateway REST proxy events to route functions, for the SCIM API functions.

API Gateway has already matched the request to one of the stack's resources (``event["resource"]``,
e.g. ``/scim/v2/{tenant}/Users/{id}``), so a route is found with one dictionary lookup on
(method, resource) instead of trying every route's regular expression on the path. Path values are
taken from the request path, still percent-encoded, as the routes expect (they `unquote` them).

This replaces powertools' ``APIGatewayRestResolver`` on the request path: it measured about 0.08 ms
of CPU per request (event wrappers, regex routing, middleware frames, response building), a
quarter of a lookup's handler CPU (docs/performance.md). What stays the same: one request at a time
per container (``Router.request`` is the current one, as ``current_event`` was), routes as
``@app.get("/scim/v2/<tenant>/Users/<user_id>")``, middlewares ``(app, next) -> Response``, and
the proxy response API Gateway expects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

_PLACEHOLDER: Final = re.compile(r"^(?:<([^>]+)>|\{([^}+]+)\+?\})$")
# Lambda's synchronous response limit is 6 MiB + 100 bytes of serialised proxy result (the Python
# runtime writes JSON with ASCII escapes). A bigger result fails the invocation, and API Gateway
# answers INTEGRATION_FAILURE, a 503 the IdP retries for ever (DataBiosphere/azul#8258), so the
# router answers a final SCIM error instead (handlers.http).
MAX_PROXY_RESULT_BYTES: Final = 6 * 1024 * 1024


@dataclass(slots=True)
class Response:
    """A proxy response: status, text body (already serialised), headers."""

    status_code: int
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def to_proxy(self) -> dict[str, Any]:
        headers = dict(self.headers)
        if self.content_type:
            headers.setdefault("Content-Type", self.content_type)
        return {
            "statusCode": self.status_code,
            "headers": headers,
            "body": self.body or "",
            "isBase64Encoded": False,
        }


class Request:
    """The parts of a proxy event the routes read; headers by lower-case name, built once."""

    __slots__ = ("_headers", "arguments", "context", "event", "method", "request_context", "route")

    def __init__(self, event: Mapping[str, Any], context: Any) -> None:
        self.event = event
        self.context = context  # the LambdaContext (remaining time for Bulk)
        self.method: str = str(event.get("httpMethod") or "").upper()
        ctx = event.get("requestContext")
        self.request_context: Mapping[str, Any] = ctx if isinstance(ctx, Mapping) else {}
        self._headers: dict[str, str] | None = None
        self.route = ""  # the matched route, as registered ("/scim/v2/<tenant>/Users/<user_id>")
        self.arguments: dict[str, str] = {}  # its placeholders' values, still percent-encoded

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            lowered: dict[str, str] = {}
            raw = self.event.get("headers")
            for key, value in raw.items() if isinstance(raw, Mapping) else ():
                lowered.setdefault(str(key).lower(), value)  # the first of names differing in case
            self._headers = lowered
        return self._headers

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def resource(self) -> str:
        return str(self.event.get("resource") or "")

    @property
    def path(self) -> str:
        return str(self.event.get("path") or "")

    @property
    def body(self) -> str | None:
        body = self.event.get("body")
        return body if isinstance(body, str) else None

    @property
    def is_base64_encoded(self) -> bool:
        return bool(self.event.get("isBase64Encoded"))

    @property
    def query(self) -> dict[str, str]:
        return dict(self.event.get("queryStringParameters") or {})

    @property
    def path_parameters(self) -> dict[str, str]:
        return dict(self.event.get("pathParameters") or {})

    @property
    def authorizer(self) -> Mapping[str, Any]:
        found = self.request_context.get("authorizer")
        return found if isinstance(found, Mapping) else {}

    @property
    def request_id(self) -> str:
        return str(self.request_context.get("requestId") or "")

    @property
    def request_time_epoch(self) -> int | None:
        value = self.request_context.get("requestTimeEpoch")
        return value if isinstance(value, int) else None


RouteFunction = Callable[..., Response]
Middleware = Callable[["Router", Callable[["Router"], Response]], Response]
ErrorHandler = Callable[[Exception], Response]


@dataclass(frozen=True, slots=True)
class _Route:
    path: str
    segments: tuple[str | None, ...]  # literal segment, or None for a placeholder
    names: tuple[str, ...]  # the route function's parameter for each placeholder, in order
    function: RouteFunction

    def arguments(self, path: str) -> dict[str, str] | None:
        """The placeholders' values in `path` (matched from its end: a base path may precede)."""
        parts = path.strip("/").split("/")
        if len(parts) < len(self.segments):
            return None
        parts = parts[len(parts) - len(self.segments) :]
        values: list[str] = []
        for part, literal in zip(parts, self.segments, strict=True):
            if literal is None:
                if not part:
                    return None
                values.append(part)
            elif part != literal:
                return None
        return dict(zip(self.names, values, strict=True))


@lru_cache(maxsize=128)  # a function's resources are few; parsed once each
def _shape(path: str) -> tuple[tuple[str | None, ...], tuple[str, ...]]:
    segments: list[str | None] = []
    names: list[str] = []
    for part in path.strip("/").split("/"):
        found = _PLACEHOLDER.match(part)
        if found:
            segments.append(None)
            names.append(found.group(1) or found.group(2))
        else:
            segments.append(part)
    return tuple(segments), tuple(names)


class Router:
    """Routes of one Lambda function; `resolve` turns a proxy event into a proxy response."""

    def __init__(
        self,
        on_error: ErrorHandler,
        on_not_found: Callable[[], Response],
        on_too_large: Callable[[], Response] | None = None,
    ) -> None:
        self._routes: dict[tuple[str, tuple[str | None, ...]], _Route] = {}
        self._middlewares: list[Middleware] = []
        self._on_error = on_error
        self._on_not_found = on_not_found
        self._on_too_large = on_too_large
        self.request: Request = Request({}, None)

    def route(self, path: str, method: str | Iterable[str]) -> Callable[[RouteFunction], RouteFunction]:
        methods = [method] if isinstance(method, str) else list(method)

        def register(function: RouteFunction) -> RouteFunction:
            segments, names = _shape(path)
            for m in methods:
                self._routes[(m.upper(), segments)] = _Route(path, segments, names, function)
            return function

        return register

    def get(self, path: str) -> Callable[[RouteFunction], RouteFunction]:
        return self.route(path, "GET")

    def post(self, path: str) -> Callable[[RouteFunction], RouteFunction]:
        return self.route(path, "POST")

    def put(self, path: str) -> Callable[[RouteFunction], RouteFunction]:
        return self.route(path, "PUT")

    def patch(self, path: str) -> Callable[[RouteFunction], RouteFunction]:
        return self.route(path, "PATCH")

    def delete(self, path: str) -> Callable[[RouteFunction], RouteFunction]:
        return self.route(path, "DELETE")

    def use(self, middlewares: Iterable[Middleware]) -> None:
        """Middlewares run around every route, first registered outermost."""
        self._middlewares.extend(middlewares)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        self.request = request = Request(event, context)
        try:
            response = self._dispatch(request)
        except Exception as error:  # every failure is a SCIM error response (handlers.http)
            response = self._on_error(error)
        proxy = response.to_proxy()
        if self._on_too_large is not None and not fits_lambda_response(proxy):
            return self._on_too_large().to_proxy()
        return proxy

    def _dispatch(self, request: Request) -> Response:
        found = self._find(request)
        if found is None:
            return self._on_not_found()
        route, arguments = found
        request.route, request.arguments = route.path, arguments

        def call_route(_: Router) -> Response:
            return route.function(**arguments)

        chain: Callable[[Router], Response] = call_route
        for middleware in reversed(self._middlewares):
            chain = _bind(middleware, chain)
        return chain(self)

    def _find(self, request: Request) -> tuple[_Route, dict[str, str]] | None:
        # API Gateway's matched resource first: one lookup. The path is the fallback for events
        # without it (hand-written test events).
        route = self._routes.get((request.method, _shape(request.resource)[0])) if request.resource else None
        if route is not None:
            arguments = route.arguments(request.path)
            if arguments is not None:
                return route, arguments
        for (method, _), candidate in self._routes.items():
            if method == request.method:
                arguments = candidate.arguments(request.path)
                if arguments is not None:
                    return candidate, arguments
        return None


def fits_lambda_response(proxy: Mapping[str, Any]) -> bool:
    """Whether the proxy result stays within Lambda's response limit once serialised.

    A character is at most 12 bytes of ASCII-escaped JSON (a surrogate pair), so a body under half
    a megabyte needs no serialisation: the common case costs nothing.
    """
    body = proxy.get("body") or ""
    if len(body) * 12 + 65_536 < MAX_PROXY_RESULT_BYTES:
        return True
    return len(json.dumps(proxy, separators=(",", ":"))) <= MAX_PROXY_RESULT_BYTES


def _bind(middleware: Middleware, following: Callable[[Router], Response]) -> Callable[[Router], Response]:
    return lambda app: middleware(app, following)
