"""Setup links and setup sessions: the self-serve setup page's security boundary (docs/setup-page.md).

A link is ``<setup page URL>#<tenant>.<link id>.<secret>``: the secret (256 bits from `secrets`)
travels in the URL fragment, which a browser never sends to a server, a proxy or a ``Referer``;
only its SHA-256 is stored (as for tokens: 256 bits need no slow hash), compared in constant time.

The page posts the fragment once (`SetupLinks.redeem`): one conditional write marks the link
redeemed and stores the hash of a fresh session id, so a second use, an expired or a revoked link
is refused with a reason the page can show. The session id (256 bits, minted here whatever cookie
came in: no fixation) is the cookie ``<tenant>.<link id>.<session secret>``; every setup request
reads the link item back (`SetupLinks.session`), so a session is bound to that one tenant and
dies with its link. It slides by an hour of idleness, never past the link's expiry.

No HTTP and no environment: the caller passes the store, the clock and the page's URL.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from core.errors import ScimError
from core.management import Management, ManagementError, TenantNotFound
from core.store.setup_links_table import SetupLinkTable, StoredLink
from core.store.tenants_table import Stamp
from core.tenants import TENANT_ID_PATTERN, is_valid_tenant_id

MIN_TTL_SECONDS = 300
MAX_TTL_SECONDS = 604_800
DEFAULT_TTL_SECONDS = MAX_TTL_SECONDS
SESSION_IDLE = timedelta(hours=1)
# A session's expiry is written again only when it moved by more than this (one write per minute
# at most, not one per request).
_SLIDE_STEP = timedelta(minutes=1)
_SECRET_BYTES = 32
_TENANT = TENANT_ID_PATTERN.pattern.strip("^$")
_CREDENTIAL = re.compile(
    rf"^(?P<tenant>{_TENANT})\.(?P<link>[0-9a-f]{{16}})\.(?P<secret>[A-Za-z0-9_-]{{43}})$"
)
_MAX_CREDENTIAL = 128
_MAX_RETURN_URL = 2000
_LOOPBACK = {"localhost", "127.0.0.1", "[::1]"}

Refusal = Literal["invalid", "used", "expired", "revoked"]
LinkState = Literal["pending", "redeemed", "expired", "revoked"]

# What the page tells the IT admin for each refusal: what happened and what to ask for.
REFUSALS: dict[str, str] = {
    "invalid": "This setup link is not valid. Check that you copied all of it, or ask for a new one.",
    "used": "This setup link was already used. Each link opens the setup page once: "
    "ask the person who sent it for a new link.",
    "expired": "This setup link has expired. Ask the person who sent it for a new link.",
    "revoked": "This setup link was revoked. Ask the person who sent it for a new link.",
}


class SetupLinkNotFound(ManagementError):
    status = 404


class LinkRefused(ScimError):
    """The link cannot open a session (403 on the setup API, with the reason for the page)."""

    status = 403

    def __init__(self, reason: Refusal) -> None:
        super().__init__(REFUSALS[reason])
        self.reason = reason


class SessionRefused(ScimError):
    """No live setup session: no cookie, a forged one, an idle, expired or revoked one."""

    status = 401
    default_detail = "Your setup session has ended. Open a new setup link to continue."


def _hash(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _iso(value: datetime | None) -> str | None:
    return (
        None if value is None else value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def _credential(value: str) -> tuple[str, str, str] | None:
    """(tenant, link id, whole value) of a link fragment or session cookie, or None."""
    if not value or len(value) > _MAX_CREDENTIAL:
        return None
    found = _CREDENTIAL.fullmatch(value)
    if found is None or not is_valid_tenant_id(found["tenant"]):
        return None
    return found["tenant"], found["link"], value


def check_return_url(url: str | None) -> str | None:
    """An https URL (http only to loopback, for `scimctl serve`): the page links to it, so no
    ``javascript:`` or other scheme can ever get there."""
    if url is None:
        return None
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and (parts.hostname or "") in {h.strip("[]") for h in _LOOPBACK}
    if len(url) > _MAX_RETURN_URL or not parts.netloc or not (parts.scheme == "https" or loopback):
        raise ManagementError("return_url must be an https URL of at most 2000 characters")
    return url


@dataclass(frozen=True, slots=True)
class CreatedLink:
    link: StoredLink
    url: str  # holds the secret: answered once, never stored or logged


@dataclass(frozen=True, slots=True)
class Session:
    """A live setup session: the tenant comes from here and from nowhere else."""

    tenant_id: str
    link_id: str
    expires_at: datetime
    return_url: str | None

    @property
    def actor(self) -> str:
        """Who acts in audit records and events (the link, never the cookie)."""
        return f"setup-session:{self.link_id}"

    def stamp(self, request_id: str) -> Stamp:
        return Stamp(actor=self.actor, request_id=request_id)


@dataclass(frozen=True, slots=True)
class Opened:
    session: Session
    cookie: str  # the session id: set as an HttpOnly cookie, never stored


def link_state(link: StoredLink, now: datetime) -> LinkState:
    if link.revoked_at is not None:
        return "revoked"
    if link.redeemed_at is not None:
        return "redeemed"
    return "expired" if link.expires_at <= now else "pending"


class SetupLinks:
    def __init__(
        self,
        table: SetupLinkTable,
        management: Management,
        *,
        page_url: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._table = table
        self._management = management
        self._page_url = page_url
        self._now = now

    # -- the management API's side --------------------------------------------------------------
    def create(
        self,
        tenant_id: str,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        return_url: str | None = None,
        stamp: Stamp | None = None,
        also_write: Callable[[CreatedLink], list[Any]] | None = None,
    ) -> CreatedLink:
        if not MIN_TTL_SECONDS <= ttl_seconds <= MAX_TTL_SECONDS:
            raise ManagementError(f"ttl_seconds must be between {MIN_TTL_SECONDS} and {MAX_TTL_SECONDS}")
        if not self._page_url:
            raise ManagementError(
                "this function has no SETUP_PAGE_URL: setup links are made by the management API"
            )
        tenant = self._management.require_tenant(tenant_id)
        if not tenant.active:
            raise ManagementError(f"tenant {tenant_id!r} is disabled; enable it before sending a setup link")
        link_id = secrets.token_hex(8)
        credential = f"{tenant_id}.{link_id}.{secrets.token_urlsafe(_SECRET_BYTES)}"
        now = self._now()
        link = StoredLink(
            tenant_id=tenant_id,
            link_id=link_id,
            secret_hash=_hash(credential),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
            return_url=check_return_url(return_url),
            created_by=stamp.actor if stamp else None,
        )
        created = CreatedLink(link, f"{self._page_url}#{credential}")
        self._table.put(link, stamp, also_write(created) if also_write else ())
        changed = ("expires_at", "return_url") if link.return_url else ("expires_at",)
        self._audit(stamp, tenant_id, "POST", link_id, changed, 201)
        return created

    def _audit(  # noqa: PLR0917 - one audit record's fields
        self,
        stamp: Stamp | None,
        tenant_id: str,
        method: str,
        link_id: str,
        changed: tuple[str, ...],
        status: int,
    ) -> None:
        self._management.record_write(
            stamp,
            tenant_id,
            method=method,
            resource_type="SetupLink",
            resource_id=link_id,
            changed=changed,
            status=status,
        )

    def created_view(self, created: CreatedLink) -> dict[str, Any]:
        return {"id": created.link.link_id, "url": created.url, "expires_at": _iso(created.link.expires_at)}

    def view(self, link: StoredLink) -> dict[str, Any]:
        """A link as listed: never its secret, nor its session."""
        return {
            "id": link.link_id,
            "state": link_state(link, self._now()),
            "created_at": _iso(link.created_at),
            "expires_at": _iso(link.expires_at),
            "redeemed_at": _iso(link.redeemed_at),
            "revoked_at": _iso(link.revoked_at),
            "return_url": link.return_url,
        }

    def list(self, tenant_id: str) -> list[dict[str, Any]]:
        self._management.require_tenant(tenant_id)
        return [self.view(link) for link in self._table.list(tenant_id)]

    def revoke(self, tenant_id: str, link_id: str, stamp: Stamp | None = None) -> None:
        """Revoke the link and, with the same write, the session it opened."""
        self._management.require_tenant(tenant_id)
        if not re.fullmatch(r"[0-9a-f]{16}", link_id):
            raise SetupLinkNotFound(f"setup link {link_id!r} does not exist for tenant {tenant_id!r}")
        try:
            self._table.revoke(tenant_id, link_id, self._now(), stamp)
        except ScimError as exc:
            if exc.status == 404:
                raise SetupLinkNotFound(str(exc.detail)) from exc
            raise
        self._audit(stamp, tenant_id, "DELETE", link_id, ("revoked_at",), 204)

    # -- the setup page's side --------------------------------------------------------------------
    def redeem(self, fragment: str, request_id: str) -> Opened:
        """Trade a link's fragment for a new session, once (LinkRefused says why not)."""
        parsed = _credential(fragment)
        if parsed is None:
            raise LinkRefused("invalid")
        tenant_id, link_id, credential = parsed
        link = self._table.get(tenant_id, link_id)
        if link is None or not hmac.compare_digest(link.secret_hash, _hash(credential)):
            raise LinkRefused("invalid")
        now = self._now()
        state = link_state(link, now)
        if state != "pending":
            raise LinkRefused("used" if state == "redeemed" else state)
        try:
            tenant = self._management.require_tenant(tenant_id)
        except TenantNotFound:
            raise LinkRefused("revoked") from None
        if not tenant.active:
            raise LinkRefused("revoked")
        # Minted here, whatever cookie the browser sent: a session id is never chosen by a client.
        cookie = f"{tenant_id}.{link_id}.{secrets.token_urlsafe(_SECRET_BYTES)}"
        expires = min(now + SESSION_IDLE, link.expires_at)
        session = Session(tenant_id, link_id, expires, link.return_url)
        if not self._table.redeem(
            tenant_id, link_id, link.secret_hash, _hash(cookie), expires, now, session.stamp(request_id)
        ):
            raise LinkRefused("used")  # another tab or a replay won the conditional write
        self._audit(session.stamp(request_id), tenant_id, "PATCH", link_id, ("redeemed_at",), 200)
        return Opened(session, cookie)

    def session(self, cookie: str | None) -> Session:
        """The live session a cookie names (sliding its idle expiry), or SessionRefused."""
        parsed = _credential(cookie or "")
        if parsed is None:
            raise SessionRefused()
        tenant_id, link_id, credential = parsed
        link = self._table.get(tenant_id, link_id)
        now = self._now()
        if (
            link is None
            or link.session_hash is None
            or not hmac.compare_digest(link.session_hash, _hash(credential))
            or link.revoked_at is not None
            or link.session_expires_at is None
            or link.session_expires_at <= now
            or link.expires_at <= now
        ):
            raise SessionRefused()
        until = min(now + SESSION_IDLE, link.expires_at)
        if until - link.session_expires_at >= _SLIDE_STEP:
            self._table.slide(tenant_id, link_id, link.session_hash, until)
        else:
            until = link.session_expires_at
        return Session(tenant_id, link_id, until, link.return_url)
