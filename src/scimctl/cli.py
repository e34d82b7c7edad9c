"""`scimctl`: tenants, tokens and the local gateway.

    scimctl serve [--host 127.0.0.1] [--port 8000] [--data-dir DIR [--reset]] [--token-file F]
                  [--events-file F] [--webhook-url URL --webhook-secret whsec_…]
    scimctl [--env us|eu|local | --stack S --region R] tenant create|list|show|disable|enable|restore|reset …
    scimctl [target] token issue|list|revoke|revoke-all|index-expiry …
    scimctl [target] audit TENANT [--since 1h|ISO] [--user ID] [--json]
    scimctl [target] events replay --since T [--until T] [--rule R] [--tenant T]
    scimctl [target] events redrive [--max-messages N]

Without --env/--stack, commands talk to the running local gateway (`make serve`).
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from core.errors import ScimError
from core.profiles import PRESETS, Profile, preset
from core.resource_service import utc_now
from core.role_recompute import RoleRecompute
from core.store.audit_table import AuditTable
from core.store.memberships_table import MembershipTable
from core.store.reset_records import ResetRecords
from core.store.resources_table import ResourceTable
from core.store.tenants_table import Stamp, TenantTable
from core.store.token_hashes import TokenHashStore
from core.tenant_reset import TenantReset
from core.tenants import Tenant, TenantStatus
from core.token_expiry import index_legacy_tokens
from core.tokens import TokenMetadata
from core.webhooks.delivery import RetrySchedule
from scimctl import audit_cli, events_redrive, events_replay, tenant_restore
from scimctl.admin import Admin, AdminError
from scimctl.stack import DEFAULT_STATE_FILE, StackError, StackTarget, resolve_target
from scimctl.usage_plan import UsagePlanKeys

_DURATION = re.compile(r"^(\d+)([dhm])$")


def parse_duration(text: str) -> timedelta:
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90d, 12h or 30m")
    amount, unit = int(match[1]), match[2]
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]


def _retry_schedule(text: str) -> RetrySchedule:
    try:
        return RetrySchedule.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_webhook_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--webhook-url",
        help="deliver every event as a signed webhook (Standard Webhooks) to this URL (docs/webhooks.md)",
    )
    serve.add_argument("--webhook-secret", help="the signing secret for --webhook-url: whsec_<base64>")
    serve.add_argument(
        "--webhook-retry-schedule",
        type=_retry_schedule,
        help="seconds between attempts, e.g. 1,1,1 (default: AWS's, 5 s to 10 h over 27.6 h)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scimctl", description="Serverless SCIM administration")
    parser.add_argument(
        "--env", help="samconfig environment (us, eu) or 'local' (default: the local gateway)"
    )
    parser.add_argument("--stack", help="CloudFormation stack name (overrides the environment's)")
    parser.add_argument("--region", help="AWS region (overrides the environment's)")
    parser.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the local gateway (moto in process)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--token-file", type=Path, help="also write the demo token to this file (mode 0600)")
    serve.add_argument(
        "--events-file", type=Path, help="append each provisioning event (its PutEvents entry) to this file"
    )
    serve.add_argument(
        "--preset", default="default", choices=sorted(PRESETS), help="profile of the demo tenant"
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        help="keep tenants, tokens, users, groups and the audit trail here across restarts "
        "(default: in memory only); the demo token goes to DIR/demo-token, events to DIR/events.jsonl",
    )
    serve.add_argument("--reset", action="store_true", help="with --data-dir: start with empty data")
    serve.add_argument(
        "--throttle",
        action="store_true",
        help="enforce the per-tenant usage plan rate (TenantRateLimit/TenantBurstLimit) as API Gateway does",
    )
    _add_webhook_options(serve)
    audit_cli.add_parser(sub)
    events = sub.add_parser("events", help="provisioning events").add_subparsers(dest="action", required=True)
    events_replay.add_parser(events)
    events_redrive.add_parser(events)

    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(dest="action", required=True)
    create = tenant.add_parser("create", help="create a tenant")
    create.add_argument("tenant_id")
    create.add_argument("--name", help="display name (default: the tenant id)")
    create.add_argument("--preset", default="default", help=f"profile preset: {', '.join(sorted(PRESETS))}")
    create.add_argument("--audience", choices=["users", "advocates"], help="oktopost only: which tenant URL")
    tenant.add_parser("list", help="list tenants")
    profile = tenant.add_parser("profile", help="show or replace a tenant's profile (JSON or YAML)")
    profile.add_argument("tenant_id")
    profile.add_argument(
        "--set", dest="profile_file", type=Path, help="replace it with this file ('-' reads stdin)"
    )
    profile.add_argument("--preset", dest="profile_preset", help="replace it with a preset")
    profile.add_argument("--format", choices=["json", "yaml"], default="json")
    restore = tenant.add_parser(
        "restore", help="copy a disabled tenant's data back from a point-in-time restored table"
    )
    restore.add_argument("tenant_id")
    restore.add_argument("--from-table", required=True, help="the table the point-in-time restore created")
    restore.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")
    for action in ("show", "disable", "enable"):
        tenant.add_parser(action).add_argument("tenant_id")
    tenant.add_parser(
        "api-key", help="give a tenant created before per-tenant throttling its own usage plan key"
    ).add_argument("tenant_id")
    tenant.add_parser(
        "reset",
        help="delete the tenant's users, groups and memberships (tokens, profile and audit stay); "
        "resumes a reset that is running",
    ).add_argument("tenant_id")

    _add_token_parser(sub)
    return parser


def _add_token_parser(sub: Any) -> None:
    token = sub.add_parser("token", help="manage bearer tokens").add_subparsers(dest="action", required=True)
    issue = token.add_parser("issue", help="issue a token (printed once, never shown again)")
    issue.add_argument("tenant_id")
    issue.add_argument("--name", default="idp", help="label, e.g. 'okta-prod'")
    issue.add_argument("--expires-in", type=parse_duration, help="e.g. 365d; default: no expiry")
    token.add_parser("list", help="list a tenant's tokens (metadata only)").add_argument("tenant_id")
    revoke = token.add_parser("revoke", help="revoke a token")
    revoke.add_argument("tenant_id")
    revoke.add_argument("token_id")
    token.add_parser(
        "revoke-all", help="revoke every token of a tenant (the tenant stays enabled)"
    ).add_argument("tenant_id")
    token.add_parser(
        "index-expiry",
        help="put expiring tokens issued before the expiry warnings existed in their index "
        "(once after upgrading; safe to repeat)",
    )


def make_admin(target: StackTarget) -> Admin:
    flush = None
    if target.api_id and target.stage_name:
        apigw = target.client("apigateway")
        api_id, stage = target.api_id, target.stage_name

        def flush() -> None:
            apigw.flush_stage_authorizers_cache(restApiId=api_id, stageName=stage)

    usage_plan = None
    if target.usage_plan_id:
        usage_plan = UsagePlanKeys(target.client("apigateway"), target.usage_plan_id, target.stack_name)
    db = target.client("dynamodb")
    recompute = RoleRecompute.on_table(db, target.table_name, utc_now)

    def run_roles(tenant_id: str, job_id: str) -> None:
        # A mapping change's recompute runs here, as `tenant reset` runs its batches: the same core
        # code as the TenantReset function; interrupted, the job stays recorded and resumable.
        recompute.run(tenant_id, job_id, lambda _batches: True)

    return Admin(
        TenantTable(db, target.table_name),
        TokenHashStore(target.client("secretsmanager"), target.secrets_prefix),
        flush_authorizer_cache=flush,
        usage_plan=usage_plan,
        audit=AuditTable(db, target.table_name),
        default_stamp=functools.cache(lambda: operator_stamp(target)),
        resets=tenant_reset(target),
        role_recompute=recompute,
        start_roles_worker=run_roles,
    )


def operator_stamp(target: StackTarget) -> Stamp:
    """The operator's IAM principal (STS), the actor of scimctl's writes in the audit trail and events."""
    try:
        arn = str(target.client("sts").get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError):
        arn = "scimctl"  # no STS answer (offline, or a local endpoint without it): still attributed
    return Stamp(actor=arn, request_id="scimctl")


def tenant_view(tenant: Tenant, target: StackTarget) -> dict[str, Any]:
    return {
        "tenant": tenant.tenant_id,
        "name": tenant.display_name,
        "status": tenant.status.value,
        "preset": tenant.profile.preset,
        "created": tenant.created_at.isoformat(),
        "tenantUrl": target.tenant_url(tenant.tenant_id),
    }


def token_view(meta: TokenMetadata) -> dict[str, Any]:
    return {
        "tokenId": meta.token_id,
        "name": meta.name,
        "state": meta.state(datetime.now(UTC)),
        "created": meta.created_at.isoformat(),
        "expires": meta.expires_at.isoformat() if meta.expires_at else None,
        "revoked": meta.revoked_at.isoformat() if meta.revoked_at else None,
        "lastUsed": meta.last_used_at.isoformat() if meta.last_used_at else None,
    }


def emit(rows: list[dict[str, Any]] | dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows if isinstance(rows, list) else [rows]:
        print("  ".join(f"{k}={v}" for k, v in row.items() if v is not None))


def load_profile(path: Path) -> Profile:
    """A profile from a JSON or YAML file, with errors an operator can act on."""
    text = sys.stdin.read() if str(path) == "-" else path.read_text()
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else _yaml_load(text)
        return Profile.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise AdminError(f"invalid profile: {exc}") from exc


def _yaml_load(text: str) -> Any:
    import yaml  # noqa: PLC0415 - only for YAML profiles

    return yaml.safe_load(text)


def show_profile(profile: Profile, fmt: str) -> None:
    data = profile.model_dump(mode="json")
    if fmt == "yaml":
        import yaml  # noqa: PLC0415 - only for YAML output

        print(yaml.safe_dump(data, sort_keys=False), end="")
    else:
        print(json.dumps(data, indent=2))


def run_profile(args: argparse.Namespace, admin: Admin) -> None:
    if args.profile_file is not None or args.profile_preset is not None:
        try:
            new = load_profile(args.profile_file) if args.profile_file else preset(args.profile_preset)
        except ValueError as exc:
            raise AdminError(str(exc)) from exc
        tenant = admin.set_profile(args.tenant_id, new)
    else:
        tenant = admin.require_tenant(args.tenant_id)
    show_profile(tenant.profile, args.format)


def run_tenant(args: argparse.Namespace, admin: Admin, target: StackTarget) -> None:
    if args.action == "create":
        try:
            chosen = preset(args.preset, args.audience)
        except ValueError as exc:
            raise AdminError(str(exc)) from exc
        emit(tenant_view(admin.create_tenant(args.tenant_id, args.name, chosen), target), args.json)
    elif args.action == "profile":
        run_profile(args, admin)
    elif args.action == "restore":
        result = tenant_restore.restore_tenant(
            admin,
            target.client("dynamodb"),
            tenant_id=args.tenant_id,
            live_table=target.table_name,
            restored_table=args.from_table,
            dry_run=args.dry_run,
        )
        emit(
            {"tenant": result.tenant, "restored": result.restored, "removed": result.removed}
            | {"dryRun": result.dry_run},
            args.json,
        )
    elif args.action == "list":
        emit([tenant_view(t, target) for t in admin.list_tenants()], args.json)
    elif args.action == "show":
        emit(tenant_view(admin.require_tenant(args.tenant_id), target), args.json)
    elif args.action == "api-key":
        emit(tenant_view(admin.ensure_api_key(args.tenant_id), target), args.json)
    elif args.action == "reset":
        emit(run_reset(admin, target, args.tenant_id), args.json)
    else:
        status = TenantStatus.DISABLED if args.action == "disable" else TenantStatus.ACTIVE
        emit(tenant_view(admin.set_tenant_status(args.tenant_id, status), target), args.json)


def run_reset(admin: Admin, target: StackTarget, tenant_id: str) -> dict[str, Any]:
    """`tenant reset`: the management API's reset, its batches run here until it completes (the same
    core code as the TenantReset function; Ctrl-C leaves it running, and running this again resumes)."""
    started = admin.reset_tenant(tenant_id)
    reset = tenant_reset(target)
    record = reset.run(tenant_id, started["reset_id"], lambda _batches: True)
    return record.view() if record is not None else started


def tenant_reset(target: StackTarget) -> TenantReset:
    db = target.client("dynamodb")
    return TenantReset(
        ResourceTable(db, target.table_name),
        MembershipTable(db, target.table_name),
        ResetRecords(db, target.table_name),
        utc_now,
    )


def run_token(args: argparse.Namespace, admin: Admin, target: StackTarget) -> None:
    if args.action == "issue":
        issued = admin.issue_token(args.tenant_id, args.name, args.expires_in)
        view = token_view(issued.metadata) | {
            "token": issued.token,
            "tenantUrl": target.tenant_url(args.tenant_id),
        }
        emit(view, args.json)
        if not args.json:
            print("Store this token now: it is shown once and cannot be retrieved again.", file=sys.stderr)
    elif args.action == "list":
        emit([token_view(t) for t in admin.list_tokens(args.tenant_id)], args.json)
    elif args.action == "index-expiry":
        table = TenantTable(target.client("dynamodb"), target.table_name)
        emit({"indexed": index_legacy_tokens(table)}, args.json)
    elif args.action == "revoke-all":
        revoked = admin.revoke_all_tokens(args.tenant_id)
        emit({"tenant": args.tenant_id, "revoked": revoked}, args.json)
    else:
        admin.revoke_token(args.tenant_id, args.token_id)
        emit({"tokenId": args.token_id, "state": "revoked"}, args.json)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from scimctl.gateway import serve  # noqa: PLC0415 - moto loads only for this command

        serve(
            host=args.host,
            port=args.port,
            token_file=args.token_file,
            state_file=args.state_file,
            events_file=args.events_file or (args.data_dir / "events.jsonl" if args.data_dir else None),
            preset=args.preset,
            throttle_tenants=args.throttle,
            data_dir=args.data_dir,
            reset=args.reset,
            webhook_url=args.webhook_url,
            webhook_secret=args.webhook_secret,
            webhook_schedule=args.webhook_retry_schedule,
        )
        return 0
    try:
        target = resolve_target(args.env, args.stack, args.region, args.state_file)
        admin = make_admin(target)
        if args.command == "audit":
            audit_cli.run_audit(args, target)
        elif args.command == "events":
            if args.action == "replay":
                return events_replay.run_replay(args, target)
            return events_redrive.run_redrive(args, target)
        elif args.command == "tenant":
            run_tenant(args, admin, target)
        else:
            run_token(args, admin, target)
    except (AdminError, StackError) as exc:
        print(f"scimctl: {exc}", file=sys.stderr)
        return 2
    except ScimError as exc:
        print(f"scimctl: {exc.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
