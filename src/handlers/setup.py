"""The setup page and its API (docs/setup-page.md): thin routes over `core.setup_links` and
`core.setup_desk`, on the stack's SetupApi.

The page is three static files and the IdP steps (`handlers/setup_page/`), served with a strict
CSP. Every ``/setup/api/*`` route but the redemption needs the session cookie; the tenant comes
from that session only (no route has a tenant in its path or body). Writes also need the
``X-Setup-Request`` header and, when the browser sends one, a same-origin ``Origin``: with
``SameSite=Strict`` that is the CSRF defence (a cross-site form cannot set a custom header, and a
cross-site ``fetch`` with one needs a CORS preflight this API never answers).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import BadRequest, ScimError
from core.setup_desk import SetupDesk
from core.setup_links import Session, SessionRefused, SetupLinks
from core.store.audit_table import AuditTable
from handlers import aws_clients
from handlers.management import management, setup_links
from handlers.observability import lambda_entry, logger
from handlers.problem import json_response, problem_router
from handlers.requests import json_body
from handlers.routing import Response
from handlers.settings import setup_settings

app = problem_router()

COOKIE: Final = "__Secure-scim-setup"
CSRF_HEADER: Final = "X-Setup-Request"
PAGE_DIR: Final = Path(__file__).with_name("setup_page")
_ASSETS: Final = {
    "": ("index.html", "text/html; charset=utf-8"),
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "app.css": ("app.css", "text/css; charset=utf-8"),
    "idp.json": ("idp.json", "application/json"),
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Redeem(_Body):
    link: str = Field(min_length=1, max_length=200)


class CreateToken(_Body):
    name: str = Field(min_length=1, max_length=100)


M = TypeVar("M", bound=_Body)


def parse(model: type[M]) -> M:
    try:
        return model.model_validate(json_body(app))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadRequest(f"{where}: {first['msg']}") from None


# -- wiring -----------------------------------------------------------------------------------
@cache
def desk() -> SetupDesk:
    settings = setup_settings()
    return SetupDesk(management(), AuditTable(aws_clients.audit_dynamodb(), settings.table_name))


def links() -> SetupLinks:
    return setup_links()


@cache
def asset(name: str) -> str:
    return (PAGE_DIR / name).read_text(encoding="utf-8")


def security_headers() -> dict[str, str]:
    """On every answer: nothing framed, cached, or leaked through Referer; only our own scripts."""
    logo = setup_settings().saas_logo_url
    logo_origin = f"{urlsplit(logo).scheme}://{urlsplit(logo).netloc}" if logo else ""
    images = f"img-src 'self' {logo_origin}".strip()
    return {
        "Content-Security-Policy": f"default-src 'self'; {images}; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'; object-src 'none'",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def cookie_path() -> str:
    """The setup API's path as the browser sees it: /<stage>/setup/api on the execute-api host, or
    below a custom domain's base path (what ``requestContext.path`` holds before /setup/api/)."""
    path = str(app.request.request_context.get("path") or "")
    prefix, found, _ = path.partition("/setup/api/")
    if found:
        return f"{prefix}/setup/api"
    stage = str(app.request.request_context.get("stage") or "")
    return f"/{stage}/setup/api" if stage else "/setup/api"


def cookie(value: str, expires_at: datetime | None) -> str:
    max_age = 0 if expires_at is None else max(0, int((expires_at - datetime.now(UTC)).total_seconds()))
    return f"{COOKIE}={value}; Path={cookie_path()}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"


def session_cookie() -> str | None:
    raw = app.request.header("Cookie") or ""
    values = [
        part.strip()[len(COOKIE) + 1 :] for part in raw.split(";") if part.strip().startswith(COOKIE + "=")
    ]
    return values[0] if len(values) == 1 else None  # two of ours: neither is trusted


def check_csrf() -> None:
    if app.request.header(CSRF_HEADER) != "1":
        raise CrossSite(f"a setup write needs the {CSRF_HEADER} header")
    origin = app.request.header("Origin")
    host = app.request.header("Host") or ""
    proto = app.request.header("X-Forwarded-Proto") or "https"
    if origin is not None and origin != f"{proto}://{host}":
        raise CrossSite("a setup write must come from the setup page's own origin")


class CrossSite(ScimError):
    status = 403


def session() -> Session:
    if app.request.method not in ("GET", "HEAD"):
        check_csrf()
    found = links().session(session_cookie())
    logger.append_keys(actor=found.actor, tenant_id=found.tenant_id)
    return found


def with_session(status: int, body: Any, current: Session) -> Response:
    """An answer that also slides the cookie with the session."""
    return json_response(status, body, {"Set-Cookie": cookie(session_cookie() or "", current.expires_at)})


# -- the page ---------------------------------------------------------------------------------
def _static(name: str) -> Callable[[], Response]:
    def route() -> Response:
        file, content_type = _ASSETS[name]
        body = asset(file)
        if name == "":
            # The page's own path (/<stage>/setup, or a custom domain's base path): its files and
            # API are below it. Only that path is put in, and only into attributes we wrote.
            base = str(app.request.request_context.get("path") or "/setup").rstrip("/")
            body = body.replace("{{base}}", html.escape(base, quote=True))
        return Response(status_code=200, body=body, content_type=content_type)

    return route


app.get("/setup")(_static(""))
for _name in ("app.js", "app.css", "idp.json"):
    app.get(f"/setup/{_name}")(_static(_name))


@app.get("/setup/api/branding")
def branding() -> Response:
    """The SaaS's name, logo and accent colour (stack parameters): the page sets them as text."""
    settings = setup_settings()
    return json_response(
        200,
        {
            "name": settings.saas_name,
            "logo_url": settings.saas_logo_url,
            "accent": settings.saas_accent_colour,
        },
    )


# -- the setup API ----------------------------------------------------------------------------
@app.post("/setup/api/session")
def redeem() -> Response:
    check_csrf()
    body = parse(Redeem)
    opened = links().redeem(body.link, app.request.request_id)
    logger.info(
        "setup link redeemed", extra={"tenant": opened.session.tenant_id, "link": opened.session.link_id}
    )
    overview = desk().overview(opened.session)
    return json_response(201, overview, {"Set-Cookie": cookie(opened.cookie, opened.session.expires_at)})


@app.get("/setup/api/overview")
def overview() -> Response:
    current = session()
    return with_session(200, desk().overview(current), current)


@app.get("/setup/api/tokens")
def tokens() -> Response:
    current = session()
    return with_session(200, {"data": desk().tokens(current), "next_cursor": None}, current)


@app.post("/setup/api/tokens")
def create_token() -> Response:
    current = session()
    body = parse(CreateToken)
    return with_session(201, desk().issue_token(current, body.name, app.request.request_id), current)


@app.delete("/setup/api/tokens/<token_id>")
def revoke_token(token_id: str) -> Response:
    current = session()
    desk().revoke_token(current, token_id, app.request.request_id)
    return Response(
        status_code=204, headers={"Set-Cookie": cookie(session_cookie() or "", current.expires_at)}
    )


@app.get("/setup/api/health")
def health() -> Response:
    current = session()
    return with_session(200, desk().health(current), current)


@app.get("/setup/api/log")
def log() -> Response:
    current = session()
    errors_only = app.request.query.get("errors") in ("1", "true")
    cursor = app.request.query.get("cursor")  # opaque, checked against the session's tenant
    return with_session(200, desk().log(current, errors_only=errors_only, cursor=cursor), current)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = app.resolve(event, context)
    result["headers"] = security_headers() | dict(result.get("headers") or {})
    if result.get("statusCode") == 401:
        # An ended session: forget the cookie (a stale one would only be refused again).
        result["headers"]["Set-Cookie"] = cookie("", None)
    return result


__all__ = ["SessionRefused", "lambda_handler"]
