"""Stored resource → SCIM wire document (meta, location, version), and ETags (RFC 7644 §3.14)."""

from __future__ import annotations

from typing import Any

from core.errors import PreconditionFailed
from core.schema.urns import GROUP_SCHEMA, USER_SCHEMA
from core.store.keys import Kind
from core.store.resources_table import StoredResource

ENDPOINTS = {Kind.USER: "Users", Kind.GROUP: "Groups"}
RESOURCE_TYPES = {Kind.USER: "User", Kind.GROUP: "Group"}
CORE_SCHEMAS = {Kind.USER: USER_SCHEMA, Kind.GROUP: GROUP_SCHEMA}


def etag(version: int) -> str:
    # Weak: two representations with one version may differ in attributes projected away.
    return f'W/"{version}"'


def location(base_url: str, kind: Kind, resource_id: str) -> str:
    return f"{base_url}/{ENDPOINTS[kind]}/{resource_id}"


def to_wire(res: StoredResource, base_url: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"schemas": res.document.get("schemas") or [CORE_SCHEMAS[res.kind]], "id": res.id}
    doc.update((k, v) for k, v in res.document.items() if k != "schemas")
    doc["meta"] = {
        "resourceType": RESOURCE_TYPES[res.kind],
        "created": res.created,
        "lastModified": res.last_modified,
        "location": location(base_url, res.kind, res.id),
        "version": etag(res.version),
    }
    return doc


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def _same(tag: str, version: int) -> bool:
    # Weak comparison (RFC 9110 §8.8.3.2): W/"3" and "3" name the same version.
    return tag == "*" or tag.removeprefix("W/") == f'"{version}"'


def check_if_match(header: str | None, version: int) -> None:
    """RFC 7644 §3.14: a stale If-Match is 412 Precondition Failed."""
    if header is not None and not any(_same(t, version) for t in _tags(header)):
        raise PreconditionFailed(f"The resource is at version {etag(version)}; If-Match was {header[:64]!r}.")


def not_modified(if_none_match: str | None, version: int) -> bool:
    """GET with If-None-Match naming the current version → 304 Not Modified."""
    return if_none_match is not None and any(_same(t, version) for t in _tags(if_none_match))
