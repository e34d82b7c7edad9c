"""Drop the parts of a PatchOp that target attributes a tenant does not keep.

A tenant profile may keep fewer attributes than RFC 7643 defines, and unknown attributes are
ignored by default (docs/scim.md). Entra updates users with PATCH, naming every mapped
attribute, so the same "ignore" must hold there: an operation whose path names an RFC attribute
the profile drops, and a path-less value's keys that name nothing the profile keeps, are removed
before the engine runs. A path that names no attribute of the RFC schemas at all is kept, so the
engine still answers it with 400 invalidPath (a client asking for an impossible change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import InvalidFilter, InvalidPath
from core.patch.engine import parse_operations
from core.patch.paths import resolve_target, schema_named
from core.schema.model import Schema
from core.schema.urns import PATCH_OP_SCHEMA

_ECHOED = frozenset({"schemas", "id", "meta"})


def _resolves(schemas: Sequence[Schema], path: str) -> bool:
    try:
        resolve_target(schemas, path)
    except (InvalidPath, InvalidFilter):
        return False
    return True


def prune_patch(body: Any, kept: Sequence[Schema], full: Sequence[Schema]) -> dict[str, Any] | None:
    """The PatchOp limited to what `kept` holds; None when nothing is left to do."""
    operations: list[dict[str, Any]] = []
    for op in parse_operations(body):
        if op.path is not None:
            if _resolves(kept, op.path) or not _resolves(full, op.path):
                operations.append({"op": op.op, "path": op.path, "value": op.value})
            continue
        value = op.value
        if isinstance(value, Mapping):
            value = {
                k: v
                for k, v in value.items()
                if not isinstance(k, str)
                or k.lower() in _ECHOED
                or schema_named(kept, k) is not None
                or _resolves(kept, k)
            }
            if not value:
                continue
        operations.append({"op": op.op, "value": value})
    return {"schemas": [PATCH_OP_SCHEMA], "Operations": operations} if operations else None
