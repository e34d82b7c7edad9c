"""``scimctl audit TENANT [--since 1h|ISO] [--user ID] [--json]``: a tenant's audit trail.

Answers an IT admin's questions from the records the Users, Groups and Bulk functions write:

* "When was this user deactivated, and by which token?" → ``scimctl audit acme --user <id>``
  (every write to that user, oldest first; a deactivation is a PATCH or PUT whose changed
  attributes include ``active``; the TOKEN column names the token id).
* "What did the IdP send in the last hour, and what failed?" → ``scimctl audit acme --since 1h``
  (failures show their status, scimType and detail; the last line counts them).

Without ``--since`` it reads the last 24 hours, or a resource's whole trail with ``--user``. Works
against the local gateway and deployed stacks, like the other commands (``--env``).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from core.audit import AuditRecord
from core.store.audit_table import AuditTable
from core.tenants import is_valid_tenant_id
from scimctl.admin import AdminError
from scimctl.stack import StackTarget

_AGO = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
DEFAULT_WINDOW = timedelta(hours=24)
CHANGED_WIDTH = 48


def parse_since(text: str, now: datetime | None = None) -> str:
    """``1h``/``30m``/``7d`` ago or an ISO 8601 time → the ISO UTC form audit records sort by."""
    value = text.strip()
    match = _AGO.fullmatch(value)
    if match:
        moment = (now or datetime.now(UTC)) - timedelta(**{_UNITS[match[2]]: int(match[1])})
    else:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is neither a duration (30m, 1h, 7d) nor an ISO 8601 time"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return iso(moment)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def add_parser(commands: Any) -> None:
    audit = commands.add_parser("audit", help="a tenant's audit trail (every write request), oldest first")
    audit.add_argument("tenant_id")
    audit.add_argument(
        "--since",
        type=parse_since,
        help="30m, 1h, 7d or an ISO 8601 time (default: 24h, or everything with --user)",
    )
    audit.add_argument(
        "--user", "--resource", dest="resource_id", help="only this user's (or group's) records"
    )
    audit.add_argument("--limit", type=int, default=1000, help="at most this many records (default 1000)")
    # Also accepted after the command; SUPPRESS keeps `scimctl --json audit …` working.
    audit.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )


def run_audit(args: argparse.Namespace, target: StackTarget) -> None:
    if not is_valid_tenant_id(args.tenant_id):
        raise AdminError(f"invalid tenant id {args.tenant_id!r}")
    since = args.since
    if since is None:
        since = "" if args.resource_id else iso(datetime.now(UTC) - DEFAULT_WINDOW)
    table = AuditTable(target.client("dynamodb"), target.table_name)
    records = table.read(args.tenant_id, since=since, resource_id=args.resource_id, limit=args.limit)
    if args.json:
        print(json.dumps([record_view(r) for r in records], indent=2))
    else:
        print(render_table(records))


def record_view(record: AuditRecord) -> dict[str, Any]:
    view: dict[str, Any] = {
        "at": record.at,
        "requestId": record.request_id,
        "tokenId": record.token_id,
        "method": record.method,
        "resourceType": record.resource_type,
        "resourceId": record.resource_id,
        "changedAttributes": list(record.changed_attributes),
        "status": record.status,
        "outcome": record.outcome,
        "scimType": record.scim_type,
        "detail": record.detail,
        "bulkIndex": record.bulk_index,
        "bulkId": record.bulk_id,
    }
    return {k: v for k, v in view.items() if v is not None}


_COLUMNS = ("TIME", "STATUS", "OPERATION", "RESOURCE", "CHANGED", "TOKEN", "REQUEST", "ERROR")


def _row(record: AuditRecord) -> tuple[str, ...]:
    operation = f"{record.method} {record.resource_type}"
    if record.bulk_index is not None:
        operation = f"Bulk[{record.bulk_index}] {operation}"
    changed = ",".join(record.changed_attributes) or "-"
    if len(changed) > CHANGED_WIDTH:
        changed = changed[: CHANGED_WIDTH - 1] + "…"
    error = ": ".join(p for p in (record.scim_type, record.detail) if p)
    return (
        record.at,
        str(record.status),
        operation,
        record.resource_id or "-",
        changed,
        record.token_id or "-",
        record.request_id,
        error,
    )


def render_table(records: Sequence[AuditRecord]) -> str:
    """Aligned columns, one record per line, then how many requests failed."""
    if not records:
        return "No audit records in this window."
    rows = [_COLUMNS, *(_row(r) for r in records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in rows
    ]
    failed = sum(1 for r in records if r.outcome == "failure")
    lines.append(f"{len(records)} record(s), {failed} failed")
    return "\n".join(lines)
