"""The audit trail: every write request, and every Bulk operation, recorded for its tenant.

`audit_writes` is a powertools middleware (``app.use(middlewares=[audit_writes])``) on the Users,
Groups and Bulk functions. Around each POST, PUT, PATCH and DELETE on a resource it records the
changes the request made (`core.audit.recording`, fed by the `Recording*Table` stores that
`handlers.resources` builds the services with) and, once the route has answered or raised, writes
one `AuditRecord`: time, request id, token id, method, resource, changed attribute names, status
and outcome, with the error's scimType and detail for a failure. A Bulk request records one
record per operation (`record_bulk_results`).

It never fails the request: an audit write that fails is logged and counted
(`AuditWriteFailures`), and the response goes out unchanged. Searches (POST …/.search) are reads
and are not recorded. A request whose path tenant is not the token's tenant (a 401) is not
recorded either: the record would land in a tenant the caller has no right to write to; the API
access log has it.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aws_lambda_powertools.metrics import MetricUnit

from core.audit import AuditRecord, Change, attributes_of, clip_detail, created_id, note, recording
from core.errors import InternalError, ScimError
from core.representation import RESOURCE_TYPES
from core.resource_service import utc_now
from core.store.audit_table import AuditTable
from core.store.resources_table import Actor, ResourceTable, StoredResource
from core.tenants import is_valid_tenant_id
from handlers import aws_clients
from handlers.observability import logger, metrics
from handlers.routing import Response, Router
from handlers.settings import audit_settings

if TYPE_CHECKING:  # the Users and Groups functions never load the Bulk engine
    from core.bulk import BulkOperation, OperationResult

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ENDPOINT_TYPES = {"Users": "User", "Groups": "Group", "Bulk": "Bulk"}
_DAY_SECONDS = 86_400


# -- what each write changed ------------------------------------------------------------------
class RecordingResourceTable(ResourceTable):
    """The resource store, noting each successful write for the request's audit record."""

    def create(self, res: StoredResource, extra: Sequence[Any] = ()) -> None:
        super().create(res, extra)
        flags = [
            name
            for name, on in (("members", any(map(_is_membership_put, extra))), ("password", res.secret))
            if on
        ]
        note(RESOURCE_TYPES[res.kind], res.id, None, res.document, flags)

    def replace(self, old: StoredResource, new: StoredResource) -> None:
        super().replace(old, new)
        # The password is not in the document (only its hash, elsewhere): its name still counts.
        flags = ("password",) if old.secret != new.secret else ()
        note(RESOURCE_TYPES[new.kind], new.id, old.document, new.document, flags)

    def delete(self, res: StoredResource, actor: Actor) -> None:
        super().delete(res, actor)
        note(RESOURCE_TYPES[res.kind], res.id, res.document, None)


def _is_membership_put(item: Any) -> bool:
    kind = (item.get("Put") or {}).get("Item", {}).get("kind", {}) if isinstance(item, dict) else {}
    return isinstance(kind, dict) and kind.get("S") == "membership"


# -- the middleware ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Request:
    tenant_id: str
    request_id: str
    token_id: str
    method: str
    resource_type: str
    resource_id: str | None
    at: str


@dataclass(frozen=True, slots=True)
class _Scope:
    request: _Request
    changes: list[Change]
    operations: list[AuditRecord] | None  # a Bulk request's records, once its operations ran


_scope: ContextVar[_Scope | None] = ContextVar("audit_scope", default=None)


def audit_writes(app: Router, next_middleware: Callable[[Router], Response]) -> Response:
    """Record the request if it is a write: after the route answers, or when it raises."""
    request = _audited_request(app)
    if request is None:
        return next_middleware(app)
    with recording() as changes:
        scope = _Scope(request, changes, [] if request.resource_type == "Bulk" else None)
        token = _scope.set(scope)
        try:
            response = next_middleware(app)
        except ScimError as error:
            _write(_records(scope, error.status, error))
            raise
        except Exception:
            _write(_records(scope, InternalError.status, InternalError()))
            raise
        finally:
            _scope.reset(token)
    _write(_records(scope, response.status_code, None))
    return response


def _audited_request(app: Router) -> _Request | None:
    request = app.request
    if request.method not in WRITE_METHODS:
        return None
    parts = request.route.strip("/").split("/")  # scim, v2, <tenant>, Users, <user_id>
    resource_type = _ENDPOINT_TYPES.get(parts[3]) if len(parts) > 3 else None
    if resource_type is None or parts[-1] == ".search":
        return None
    authorizer = request.authorizer
    tenant_id = str(authorizer.get("tenantId") or "")
    arguments = request.arguments
    if not is_valid_tenant_id(tenant_id) or arguments.get("tenant") != tenant_id:
        return None
    resource_id = next((value for name, value in arguments.items() if name != "tenant"), None)
    epoch_ms = request.request_time_epoch
    return _Request(
        tenant_id=tenant_id,
        request_id=request.request_id,
        token_id=str(authorizer.get("tokenId") or ""),
        method=request.method,
        resource_type=resource_type,
        resource_id=unquote(resource_id) if resource_id else None,
        at=_iso(epoch_ms / 1000) if epoch_ms else utc_now(),
    )


def _iso(epoch_seconds: float) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _records(scope: _Scope, status: int, error: ScimError | None) -> list[AuditRecord]:
    if scope.operations:  # a Bulk request that ran: one record per operation
        return scope.operations
    request = scope.request
    resource_id = request.resource_id or created_id(scope.changes, request.resource_type)
    return [
        AuditRecord(
            tenant_id=request.tenant_id,
            at=request.at,
            request_id=request.request_id,
            token_id=request.token_id,
            method=request.method,
            resource_type=request.resource_type,
            resource_id=resource_id,
            changed_attributes=attributes_of(scope.changes, resource_id),
            status=status,
            scim_type=error.scim_type if error else None,
            detail=clip_detail(error.detail) if error else None,
        )
    ]


def _write(records: list[AuditRecord]) -> None:
    """Best effort: a failure is logged and counted, never raised."""
    try:
        settings = audit_settings()
        expires_at = int(time.time()) + settings.audit_retention_days * _DAY_SECONDS
        AuditTable(aws_clients.audit_dynamodb(), settings.table_name).put(records, expires_at)
    except Exception as exc:
        # Only the error's type: a record (and an error about it) may hold personal data.
        logger.warning(
            "audit record not written", extra={"error": type(exc).__name__, "records": len(records)}
        )
        metrics.add_metric(name="AuditWriteFailures", unit=MetricUnit.Count, value=1)


# -- Bulk -------------------------------------------------------------------------------------
def record_bulk_results(operations: Sequence[BulkOperation], results: Sequence[OperationResult]) -> None:
    """Called by the Bulk route once its operations ran: one audit record per operation.

    Each operation's changed attributes are the changes recorded for its resource, taken in order
    (operations on one resource run in request order; a failed operation changed nothing).
    """
    scope = _scope.get()
    if scope is None or scope.operations is None:
        return
    pending: dict[str, deque[Change]] = defaultdict(deque)
    for noted in scope.changes:
        pending[noted.resource_id].append(noted)
    for result in results:
        op = operations[result.index]
        resource_type, resource_id = _bulk_target(op, result)
        queue = pending[resource_id] if resource_id else deque()
        change = queue.popleft() if queue and not result.failed else None
        error = result.response or {}
        scope.operations.append(
            AuditRecord(
                tenant_id=scope.request.tenant_id,
                at=scope.request.at,
                request_id=scope.request.request_id,
                token_id=scope.request.token_id,
                method=result.method or "",
                resource_type=resource_type,
                resource_id=resource_id,
                changed_attributes=change.attributes if change else (),
                status=result.status,
                scim_type=error.get("scimType"),
                detail=clip_detail(error.get("detail")),
                bulk_index=result.index,
                bulk_id=op.bulk_id,
            )
        )


def _bulk_target(op: BulkOperation, result: OperationResult) -> tuple[str, str | None]:
    """(resource type, id) of an operation: from its result's location, else from its path."""
    path = (result.location or op.path or "").split("?")[0]
    parts = [p for p in path.split("/") if p]
    endpoint = next((i for i, p in enumerate(parts) if p in ("Users", "Groups")), None)
    if endpoint is None:
        return "Bulk", None
    resource_id = parts[endpoint + 1] if endpoint + 1 < len(parts) else None
    return _ENDPOINT_TYPES[parts[endpoint]], unquote(resource_id) if resource_id else None
