"""The local gateway's demo tenant and its token, kept across restarts with `--data-dir`.

On a first start the tenant is created and a token issued, written (mode 0600) to the token file
and printed. On later starts over the same data, the token in that file is used again as long as
it still authenticates (same tenant, not revoked or expired, its hash still stored), so an IdP or
a `curl` alias pointed at the laptop keeps working after a restart; otherwise a new one is issued.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from core import profiles
from core.store.tenants_table import TenantTable
from core.store.token_hashes import TokenHashStore
from core.tokens import parse_token, verify_token
from scimctl.admin import Admin

DEMO_TENANT: Final = "demo"
DEMO_TOKEN_NAME: Final = "local-demo"  # noqa: S105 - a label
DEMO_TOKEN_FILE: Final = "demo-token"  # noqa: S105 - a file name, in the data directory


@dataclass(frozen=True)
class DemoToken:
    token: str
    reused: bool  # True: the one from the token file, issued by an earlier start


def ensure_demo_tenant(
    admin: Admin,
    table: TenantTable,
    hashes: TokenHashStore,
    *,
    preset: str,
    token_file: Path | None,
    reuse: bool,
) -> DemoToken:
    """The demo tenant (created if missing) and a token for it (reused if `reuse` allows)."""
    if table.get_tenant(DEMO_TENANT) is None:
        admin.create_tenant(DEMO_TENANT, "Demo tenant", profiles.preset(preset))
    if reuse and token_file is not None and token_file.exists():
        stored = token_file.read_text(encoding="utf-8").strip()
        if still_authenticates(stored, table, hashes):
            return DemoToken(stored, reused=True)
    token = admin.issue_token(DEMO_TENANT, DEMO_TOKEN_NAME).token
    if token_file is not None:
        write_secret(token_file, token)
    return DemoToken(token, reused=False)


def still_authenticates(text: str, table: TenantTable, hashes: TokenHashStore) -> bool:
    parsed = parse_token(text)
    if parsed is None or parsed.tenant_id != DEMO_TENANT:
        return False
    _, meta = table.get_tenant_and_token(DEMO_TENANT, parsed.token_id)
    if meta is None or meta.state(datetime.now(UTC)) != "active":
        return False
    return verify_token(parsed, hashes.get_hashes(DEMO_TENANT))


def write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT
