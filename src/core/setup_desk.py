"""What the IT admin can do from a setup session: the setup API's one implementation.

Every action takes the tenant from the `Session` (never from a path or a body) and runs the same
`Management` code as the management API, with the session as the actor (``setup-session:<link>``)
in audit records and events.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import BadRequest
from core.management import Management, days_to_expiry
from core.setup_links import Session
from core.store.audit_table import ERRORS_EXAMINED, AuditTable
from core.store.keys import audit_pk

LOG_WINDOW = timedelta(days=30)
LOG_PAGE = 50  # rows per page of the provisioning log: one Query each
MAX_CURSOR_CHARS = 1_024
MAX_SORT_KEY_CHARS = 512
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_LOG_FIELDS = (
    "at",
    "method",
    "resource_type",
    "resource_id",
    "changed_attributes",
    "status",
    "scim_type",
    "detail",
    "actor",
)


class SetupDesk:
    def __init__(
        self,
        management: Management,
        audit: AuditTable | None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._management = management
        self._audit = audit
        self._now = now

    def overview(self, session: Session) -> dict[str, Any]:
        """The tenant as the page shows it: its Tenant URL and what its profile asks the IdP for."""
        tenant = self._management.require_tenant(session.tenant_id)
        profile = tenant.profile
        return {
            "tenant_id": tenant.tenant_id,
            "tenant_name": tenant.display_name,
            "tenant_url": self._management.scim_url(tenant.tenant_id),
            "preset": profile.preset,
            "groups_enabled": profile.groups_enabled,
            "required_attributes": list(profile.required_attributes),
            "kept_attributes": list(profile.kept_attributes) if profile.kept_attributes is not None else None,
            "username_equals_email": profile.username_equals_email,
            "roles": profile.roles.model_dump(mode="json") if profile.roles is not None else None,
            # Roles from groups (issue 18), read-only here: lowest priority first, as core.roles
            # orders a user's effective roles. Group names are the tenant's: the page sets text only.
            "role_mappings": [
                m.model_dump(mode="json") for m in sorted(profile.role_mappings, key=lambda m: m.priority)
            ],
            "default_role": profile.default_role,
            "session_expires_at": _iso(session.expires_at),
            "return_url": session.return_url,
        }

    def tokens(self, session: Session) -> list[dict[str, Any]]:
        """The management API's token views, plus `expires_in_days` for an active token expiring
        within 30 days (the page's "rotate now" warning), else null."""
        now = self._now()
        return [
            self._management.token_view(t) | {"expires_in_days": days_to_expiry(t, now)}
            for t in self._management.list_tokens(session.tenant_id)
        ]

    def issue_token(self, session: Session, name: str, request_id: str) -> dict[str, Any]:
        issued = self._management.issue_token(session.tenant_id, name, stamp=session.stamp(request_id))
        return self._management.issued_view(issued)

    def revoke_token(self, session: Session, token_id: str, request_id: str) -> None:
        # The token's key begins with the session's tenant: another tenant's id is not found.
        self._management.revoke_token(session.tenant_id, token_id, session.stamp(request_id))

    def health(self, session: Session) -> dict[str, Any]:
        return self._management.health(session.tenant_id)

    def log(self, session: Session, *, errors_only: bool, cursor: str | None = None) -> dict[str, Any]:
        """One page of the last 30 days of the tenant's audit trail, newest first: names and
        outcomes, never bodies or values (an audit record holds none). One Query per page whatever
        the tenant's size; `next_cursor` goes on to older records. Errors-only examines at most
        ERRORS_EXAMINED records per page, so a page may be short (even empty) and still have a
        `next_cursor`: `examined` says how many records it looked at."""
        start_key = decode_log_cursor(session.tenant_id, cursor)  # before any read: a bad one is a 400
        self._management.require_tenant(session.tenant_id)
        since = (self._now() - LOG_WINDOW).astimezone(UTC).isoformat(timespec="milliseconds")
        since = since.replace("+00:00", "Z")
        answer: dict[str, Any] = {
            "data": [],
            "next_cursor": None,
            "window_days": LOG_WINDOW.days,
            "errors_only": errors_only,
            "examined": 0,
            "examined_limit": ERRORS_EXAMINED if errors_only else LOG_PAGE,
        }
        # A cursor older than the window (a page left open for days) has nothing after it; DynamoDB
        # would also refuse a start key outside the key condition.
        if self._audit is None or (start_key is not None and start_key < since):
            return answer
        page = self._audit.newest_page(
            session.tenant_id, since=since, limit=LOG_PAGE, start_key=start_key, errors_only=errors_only
        )
        for record in page.records:
            row = record.model_dump(mode="json", include=set(_LOG_FIELDS))
            row["outcome"] = record.outcome
            answer["data"].append(row)
        if page.next_key is not None:
            answer["next_cursor"] = encode_log_cursor(session.tenant_id, page.next_key)
        answer["examined"] = page.examined
        return answer


# -- the log's cursor ---------------------------------------------------------------------------
# base64url of the DynamoDB key to go on after ({"PK", "SK"}). It is not signed: it only says where
# in a partition to start, the Query's partition comes from the session (never from the cursor),
# and a cursor is refused unless its PK is the session's tenant's audit partition. A client that
# edits its SK only moves within records it may read anyway.
def encode_log_cursor(tenant_id: str, sort_key: str) -> str:
    raw = json.dumps({"PK": audit_pk(tenant_id), "SK": sort_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_log_cursor(tenant_id: str, cursor: str | None) -> str | None:
    """The sort key a cursor names, if its key is in the tenant's own audit partition."""
    if cursor is None:
        return None
    refused = BadRequest("cursor: not a cursor of this provisioning log (reload the page)")
    if not cursor or len(cursor) > MAX_CURSOR_CHARS or not _BASE64URL.match(cursor):
        raise refused
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise refused from None
    if not isinstance(key, dict) or set(key) != {"PK", "SK"}:
        raise refused
    pk, sk = key["PK"], key["SK"]
    if pk != audit_pk(tenant_id) or not isinstance(sk, str) or not 0 < len(sk) <= MAX_SORT_KEY_CHARS:
        raise refused
    return sk


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
