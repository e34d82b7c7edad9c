"""The request router of the SCIM API functions (handlers.routing): dispatch, errors, middlewares,
the request's headers and the proxy response."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core.errors import ERROR_SCHEMA, InvalidValue
from handlers.http import scim_router
from handlers.observability import metrics
from handlers.routing import Request, Response, Router
from tests.support import FakeContext, proxy_event

USER_RESOURCE = "/scim/v2/{tenant}/Users/{id}"
USER_ROUTE = "/scim/v2/<tenant>/Users/<user_id>"


@pytest.fixture(autouse=True)
def no_metrics_left() -> Iterator[None]:
    """scim_router counts unhandled errors as a metric: never leak one into another test."""
    yield
    metrics.clear_metrics()


def plain_router() -> Router:
    return Router(
        on_error=lambda error: Response(599, body=f"error:{type(error).__name__}"),
        on_not_found=lambda: Response(598, body="not found"),
    )


def recording_router(calls: list[tuple[str, dict[str, str]]]) -> Router:
    """A router whose routes record (route name, keyword arguments) and answer 200."""
    app = plain_router()

    def recorder(name: str) -> Callable[..., Response]:
        def route(**kwargs: str) -> Response:
            calls.append((name, kwargs))
            return Response(200, body=name)

        return route

    app.get(USER_ROUTE)(recorder("get_user"))
    app.get("/scim/v2/<tenant>/Users/.search")(recorder("search"))  # after <user_id>: order matters
    app.get("/scim/v2/<tenant>/Users")(recorder("list_users"))
    app.get("/scim/v2/<tenant>/Groups/<group_id>")(recorder("get_group"))
    return app


def resolve(app: Router, event: dict[str, Any]) -> dict[str, Any]:
    return app.resolve(event, FakeContext())


def scim_error(result: dict[str, Any], status: int) -> dict[str, Any]:
    assert result["statusCode"] == status, result["body"]
    assert result["headers"]["Content-Type"] == "application/scim+json"
    body: dict[str, Any] = json.loads(result["body"])
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    return body


# -- dispatch -----------------------------------------------------------------------------------
def test_dispatch_by_resource_passes_percent_encoded_path_values_named_as_in_the_route() -> None:
    calls: list[tuple[str, dict[str, str]]] = []
    app = recording_router(calls)

    result = resolve(app, proxy_event("GET", USER_RESOURCE, {"tenant": "t1", "id": "a%2Fb"}))

    assert (result["statusCode"], result["body"]) == (200, "get_user")
    assert calls == [("get_user", {"tenant": "t1", "user_id": "a%2Fb"})]


def test_the_matched_resource_decides_over_the_order_of_the_routes() -> None:
    calls: list[tuple[str, dict[str, str]]] = []
    app = recording_router(calls)
    event = proxy_event("GET", "/scim/v2/{tenant}/Users/.search", {"tenant": "t1"})

    resolve(app, event)

    # Trying the routes in order on the path alone would have taken <user_id> = ".search".
    assert calls == [("search", {"tenant": "t1"})]


@pytest.mark.parametrize("resource", [None, "", "/not/a/{known}/resource"])
def test_without_a_known_resource_the_path_is_matched(resource: str | None) -> None:
    calls: list[tuple[str, dict[str, str]]] = []
    app = recording_router(calls)
    event = proxy_event("GET", "/scim/v2/{tenant}/Groups/{id}", {"tenant": "t1", "id": "g%201"})
    if resource is None:
        del event["resource"]
    else:
        event["resource"] = resource

    result = resolve(app, event)

    assert result["statusCode"] == 200
    assert calls == [("get_group", {"tenant": "t1", "group_id": "g%201"})]


@pytest.mark.parametrize("with_resource", [True, False])
def test_a_base_path_before_the_route_still_matches(with_resource: bool) -> None:
    calls: list[tuple[str, dict[str, str]]] = []
    app = recording_router(calls)
    event = proxy_event("GET", USER_RESOURCE, {"tenant": "t1", "id": "x"})
    event["path"] = "/v1/scim/v2/t1/Users/x"
    if not with_resource:
        del event["resource"]

    result = resolve(app, event)

    assert result["statusCode"] == 200
    assert calls == [("get_user", {"tenant": "t1", "user_id": "x"})]


@pytest.mark.parametrize(
    "path",
    [
        "/scim/v2/t1/Nothing/x",
        "/scim/v2/t1",
        "/Users/x",
        "/scim/v2/t1/Users/x/extra",
        "/scim/v2//Users/x",
        "/",
    ],
)
def test_an_unknown_path_is_the_not_found_response(path: str) -> None:
    calls: list[tuple[str, dict[str, str]]] = []
    app = recording_router(calls)
    event = proxy_event("GET", USER_RESOURCE, {"tenant": "t1", "id": "x"})
    event["path"] = path
    del event["resource"]

    result = resolve(app, event)

    assert (result["statusCode"], result["body"]) == (598, "not found")
    assert calls == []


def test_a_known_path_with_another_method_is_the_not_found_response() -> None:
    calls: list[tuple[str, dict[str, str]]] = []
    app = recording_router(calls)

    result = resolve(app, proxy_event("DELETE", USER_RESOURCE, {"tenant": "t1", "id": "x"}))

    assert (result["statusCode"], result["body"]) == (598, "not found")
    assert calls == []


def test_scim_router_answers_an_unknown_path_or_method_with_a_scim_404() -> None:
    app = scim_router()
    app.get(USER_ROUTE)(lambda tenant, user_id: Response(200, body="found"))
    unknown_path = proxy_event("GET", "/scim/v2/{tenant}/Widgets/{id}", {"tenant": "t1", "id": "x"})
    wrong_method = proxy_event("PUT", USER_RESOURCE, {"tenant": "t1", "id": "x"})

    for event in (unknown_path, wrong_method):
        body = scim_error(resolve(app, event), 404)
        assert "scimType" not in body


def test_an_empty_placeholder_does_not_match() -> None:
    calls: list[tuple[str, dict[str, str]]] = []
    app = recording_router(calls)
    event = proxy_event("GET", USER_RESOURCE, {"tenant": "t1", "id": ""})  # path /scim/v2/t1/Users/

    result = resolve(app, event)

    # The trailing slash is stripped, so the path is the collection, not a user with an empty id.
    assert calls == [("list_users", {"tenant": "t1"})]
    assert result["statusCode"] == 200


def test_a_route_registered_for_several_methods_answers_each() -> None:
    app = plain_router()
    seen: list[str] = []

    @app.route("/scim/v2/<tenant>/Bulk", method=["post", "PUT"])
    def bulk(tenant: str) -> Response:
        seen.append(app.request.method)
        return Response(200, body=tenant)

    for method in ("POST", "PUT"):
        result = resolve(app, proxy_event(method, "/scim/v2/{tenant}/Bulk", {"tenant": "t1"}))
        assert (result["statusCode"], result["body"]) == (200, "t1")
    missing = resolve(app, proxy_event("GET", "/scim/v2/{tenant}/Bulk", {"tenant": "t1"}))

    assert seen == ["POST", "PUT"]
    assert missing["statusCode"] == 598


# -- errors -------------------------------------------------------------------------------------
def test_a_scim_error_becomes_its_status_and_scim_type() -> None:
    app = scim_router()

    @app.get(USER_ROUTE)
    def get_user(tenant: str, user_id: str) -> Response:
        raise InvalidValue(f"bad value for {user_id}")

    body = scim_error(resolve(app, proxy_event("GET", USER_RESOURCE, {"tenant": "t1", "id": "u1"})), 400)

    assert body["scimType"] == "invalidValue"
    assert body["detail"] == "bad value for u1"


def test_an_unexpected_exception_is_a_scim_500_that_reveals_nothing() -> None:
    app = scim_router()

    @app.get(USER_ROUTE)
    def get_user(tenant: str, user_id: str) -> Response:
        raise RuntimeError("secret-internal-detail")

    result = resolve(app, proxy_event("GET", USER_RESOURCE, {"tenant": "t1", "id": "u1"}))

    body = scim_error(result, 500)
    assert "scimType" not in body
    assert "secret-internal-detail" not in result["body"]
    assert "RuntimeError" not in result["body"]


def test_the_error_handler_gets_the_exception_raised_by_a_middleware() -> None:
    errors: list[Exception] = []

    def on_error(error: Exception) -> Response:
        errors.append(error)
        return Response(500)

    app = Router(on_error=on_error, on_not_found=lambda: Response(404))
    app.get(USER_ROUTE)(lambda tenant, user_id: Response(200))
    failure = ValueError("in middleware")

    def failing(_: Router, following: Callable[[Router], Response]) -> Response:
        raise failure

    app.use([failing])

    result = resolve(app, proxy_event("GET", USER_RESOURCE, {"tenant": "t1", "id": "u1"}))

    assert result["statusCode"] == 500
    assert errors == [failure]


# -- middlewares --------------------------------------------------------------------------------
def test_middlewares_run_in_registration_order_around_the_route_and_see_the_request() -> None:
    app = plain_router()
    trace: list[str] = []

    def middleware(name: str) -> Callable[[Router, Callable[[Router], Response]], Response]:
        def run(router: Router, following: Callable[[Router], Response]) -> Response:
            trace.append(f"{name}:before:{router.request.header('X-Probe')}")
            response = following(router)
            trace.append(f"{name}:after:{response.status_code}")
            response.headers[f"X-{name}"] = "1"
            return response

        return run

    @app.get(USER_ROUTE)
    def get_user(tenant: str, user_id: str) -> Response:
        trace.append(f"route:{app.request.path}")
        return Response(201)

    app.use([middleware("first")])
    app.use([middleware("second"), middleware("third")])
    event = proxy_event("GET", USER_RESOURCE, {"tenant": "t1", "id": "u1"}, headers={"x-probe": "p1"})

    result = resolve(app, event)

    assert trace == [
        "first:before:p1",
        "second:before:p1",
        "third:before:p1",
        "route:/scim/v2/t1/Users/u1",
        "third:after:201",
        "second:after:201",
        "first:after:201",
    ]
    assert {"X-first", "X-second", "X-third"} <= set(result["headers"])


def test_a_middleware_may_answer_without_calling_the_route() -> None:
    app = plain_router()
    called: list[str] = []

    @app.get(USER_ROUTE)
    def get_user(tenant: str, user_id: str) -> Response:
        called.append(user_id)
        return Response(200)

    app.use([lambda router, following: Response(403, body=router.request.method)])

    result = resolve(app, proxy_event("GET", USER_RESOURCE, {"tenant": "t1", "id": "u1"}))

    assert (result["statusCode"], result["body"]) == (403, "GET")
    assert called == []


def test_app_request_is_the_current_request() -> None:
    app = plain_router()
    seen: list[tuple[str, Any, Any]] = []

    @app.get(USER_ROUTE)
    def get_user(tenant: str, user_id: str) -> Response:
        request = app.request
        seen.append((request.request_id, request.authorizer.get("tenantId"), request.context.function_name))
        return Response(200)

    first = proxy_event("GET", USER_RESOURCE, {"tenant": "t1", "id": "u1"})
    first["requestContext"]["requestId"] = "req-1"
    second = proxy_event("GET", USER_RESOURCE, {"tenant": "t2", "id": "u1"})
    second["requestContext"]["requestId"] = "req-2"
    app.resolve(first, FakeContext("one"))
    app.resolve(second, FakeContext("two"))

    assert seen == [("req-1", "t1", "one"), ("req-2", "t2", "two")]


# -- Request ------------------------------------------------------------------------------------
def test_request_headers_are_lower_cased_first_of_a_case_variant_kept_built_once() -> None:
    event = {"headers": {"Content-Type": "application/json", "X-Dup": "first", "x-dup": "second"}}
    request = Request(event, None)

    headers = request.headers

    assert headers == {"content-type": "application/json", "x-dup": "first"}
    assert request.headers is headers
    assert request.header("CONTENT-TYPE") == "application/json"
    assert request.header("missing") is None


@pytest.mark.parametrize("raw", [None, "not a mapping", []])
def test_request_without_headers_has_none(raw: Any) -> None:
    assert Request({"headers": raw}, None).headers == {}


def test_request_reads_the_parts_of_the_proxy_event() -> None:
    event = proxy_event(
        "patch", USER_RESOURCE, {"tenant": "t1", "id": "u1"}, body={"a": 1}, query={"attributes": "userName"}
    )
    event["requestContext"]["requestTimeEpoch"] = 1234

    request = Request(event, None)

    assert request.method == "PATCH"
    assert (request.resource, request.path) == (USER_RESOURCE, "/scim/v2/t1/Users/u1")
    assert json.loads(request.body or "") == {"a": 1}
    assert request.query == {"attributes": "userName"}
    assert request.path_parameters == {"tenant": "t1", "id": "u1"}
    assert request.authorizer["tenantId"] == "t1"
    assert request.request_time_epoch == 1234
    assert request.is_base64_encoded is False


def test_an_empty_event_is_an_empty_request() -> None:
    request = Request({}, None)

    assert (request.method, request.resource, request.path, request.request_id) == ("", "", "", "")
    assert (request.body, request.request_time_epoch) == (None, None)
    assert (request.query, request.path_parameters, dict(request.authorizer)) == ({}, {}, {})


# -- Response -----------------------------------------------------------------------------------
def test_to_proxy_with_a_content_type_and_a_body() -> None:
    response: Response = Response(201, body='{"a":1}', headers={"ETag": 'W/"1"'}, content_type="x/y")

    assert response.to_proxy() == {
        "statusCode": 201,
        "headers": {"ETag": 'W/"1"', "Content-Type": "x/y"},
        "body": '{"a":1}',
        "isBase64Encoded": False,
    }
    assert response.headers == {"ETag": 'W/"1"'}  # the response's own headers are left alone


def test_to_proxy_without_a_body_or_content_type() -> None:
    proxy = Response(204).to_proxy()

    assert proxy == {"statusCode": 204, "headers": {}, "body": "", "isBase64Encoded": False}


def test_to_proxy_keeps_an_explicit_content_type_header() -> None:
    proxy = Response(200, headers={"Content-Type": "text/plain"}, content_type="x/y").to_proxy()

    assert proxy["headers"] == {"Content-Type": "text/plain"}


# -- Lambda's 6 MB response limit ---------------------------------------------------------------
def big_body_router(body: str) -> Router:
    app = scim_router()
    app.get(USER_ROUTE)(lambda **_: Response(200, body=body, content_type="application/scim+json"))
    return app


@pytest.mark.parametrize(
    "body",
    [
        "a" * (6 * 1024 * 1024),  # over the limit once the proxy result's other fields are added
        '"' * (3 * 1024 * 1024 + 1),  # each quote is two bytes of JSON
        "é" * (1024 * 1024 + 1),  # \u00e9: six bytes each, as the Python runtime writes them
    ],
)
def test_a_response_over_lambdas_6_mb_is_a_final_400_too_many(body: str) -> None:
    """Lambda's response limit (6 MiB + 100 bytes, zaccharles "Deep Dive: Lambda's payload size
    limits"): a bigger result is an INTEGRATION_FAILURE in API Gateway (DataBiosphere/azul#8258),
    which this template answers 503 + Retry-After, so the IdP would retry it for ever."""
    event = proxy_event("GET", USER_RESOURCE, {"tenant": "demo", "id": "u1"})
    result = resolve(big_body_router(body), event)
    assert scim_error(result, 400)["scimType"] == "tooMany"


def test_a_response_under_the_limit_is_left_alone() -> None:
    body = "a" * (5 * 1024 * 1024)
    event = proxy_event("GET", USER_RESOURCE, {"tenant": "demo", "id": "u1"})
    result = resolve(big_body_router(body), event)
    assert result["statusCode"] == 200
    assert result["body"] == body
    assert len(json.dumps(result)) < 6 * 1024 * 1024 + 100
