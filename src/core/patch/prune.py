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

from core.errors import InvalidFilter, InvalidPath
from core.patch.engine import PatchOperation
from core.patch.paths import resolve_target, schema_named
from core.schema.model import Schema

_ECHOED = frozenset({"schemas", "id", "meta"})


def _resolves(schemas: Sequence[Schema], path: str) -> bool:
    try:
        resolve_target(schemas, path)
    except (InvalidPath, InvalidFilter):
        return False
    return True


def prune_operations(
    operations: Sequence[PatchOperation], kept: Sequence[Schema], full: Sequence[Schema]
) -> list[PatchOperation]:
    """The operations limited to what `kept` holds; empty when nothing is left to do."""
    pruned: list[PatchOperation] = []
    for op in operations:
        if op.path is not None:
            if _resolves(kept, op.path) or not _resolves(full, op.path):
                pruned.append(op)
            continue
        value = op.value
        if isinstance(value, Mapping) and value:  # an empty one is the engine's to refuse
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
        pruned.append(PatchOperation(op.op, None, value))
    return pruned
