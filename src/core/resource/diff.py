"""Which attributes differ between two canonical SCIM documents (for events and the audit trail).

Names are reported as a client would write them in a PATCH path: a core attribute by its name
("active", "name"), an extension attribute by its fully qualified name
("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", RFC 7644 §3.10),
because an extension's attributes live in one object under its URN (RFC 7643 §3.3) and "the
extension changed" would not tell a consumer what to look at. ``schemas`` is left out: it follows
from the attributes present. Pure code over data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

_IGNORED = frozenset({"schemas", "id", "meta"})


def changed_attributes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """Sorted names of the attributes whose values differ (a missing document is an empty one)."""
    old, new = before or {}, after or {}
    return sorted(set(_changes(old, new)))


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
    for key in old.keys() | new.keys():
        if key in _IGNORED or old.get(key) == new.get(key):
            continue
        before, after = old.get(key), new.get(key)
        if _is_extension(key) and isinstance(before or {}, dict) and isinstance(after or {}, dict):
            inner_old, inner_new = before or {}, after or {}
            yield from (f"{key}:{name}" for name in _top_level(inner_old, inner_new))
        else:
            yield key


def _top_level(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
    return (key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def _is_extension(key: str) -> bool:
    return key.lower().startswith("urn:")
