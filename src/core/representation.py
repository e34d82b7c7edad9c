"""Stored resource → SCIM wire document (meta, location, version), and ETags (RFC 7644 §3.14)."""

from __future__ import annotations

from typing import Any

from core import signing
from core.errors import PreconditionFailed
from core.schema.urns import GROUP_SCHEMA, USER_SCHEMA
from core.signing import b64url, b64url_decode
from core.store.keys import Kind
from core.store.resources_table import StoredResource

ENDPOINTS = {Kind.USER: "Users", Kind.GROUP: "Groups"}
RESOURCE_TYPES = {Kind.USER: "User", Kind.GROUP: "Group"}
CORE_SCHEMAS = {Kind.USER: USER_SCHEMA, Kind.GROUP: GROUP_SCHEMA}


ETAG_MAC_BYTES = 9  # 72 bits: forging one takes ~2^71 requests, each a 412


def etag_for(tenant_id: str, kind: Kind, resource_id: str, version: int) -> str:
    """``W/"<version>.<MAC>"``: the same for the same version (so caches and If-None-Match work),
    and tamper-evident: the MAC binds tenant, resource type, id and version, so an edited, guessed
    or other tenant's ETag never matches. Weak: representations of one version may differ in
    attributes projected away."""
    mac = signing.keyring().mac(tenant_id, "etag", (kind.value, resource_id, str(version)), ETAG_MAC_BYTES)
    return f'W/"{version}.{b64url(mac)}"'


def etag(res: StoredResource) -> str:
    return etag_for(res.tenant_id, res.kind, res.id, res.version)


def location(base_url: str, kind: Kind, resource_id: str) -> str:
    return f"{base_url}/{ENDPOINTS[kind]}/{resource_id}"


def to_wire(res: StoredResource, base_url: str, version: str | None = None) -> dict[str, Any]:
    """`version`: the resource's ETag when the caller already computed it (it is an HMAC)."""
    document = res.document
    doc: dict[str, Any] = {"schemas": document.get("schemas") or [CORE_SCHEMAS[res.kind]], "id": res.id}
    doc.update(document)
    doc["schemas"] = document.get("schemas") or [CORE_SCHEMAS[res.kind]]  # update() replaced it
    doc["meta"] = {
        "resourceType": RESOURCE_TYPES[res.kind],
        "created": res.created,
        "lastModified": res.last_modified,
        "location": location(base_url, res.kind, res.id),
        "version": version or etag(res),
    }
    return doc


def patch_input(res: StoredResource) -> dict[str, Any]:
    """The document a PATCH is applied to: the stored attributes and the resource's ``id``.

    The store keeps ``id`` outside the document; the PATCH engine needs it to tell an echo of the
    resource's own id (Okta's group rename) from a change of a readOnly attribute (RFC 7644 §3.5.2,
    ``mutability``). Normalisation drops it again (readOnly input is ignored). Only the top level is
    new: the stored values are shared, as the engine never writes into them.
    """
    return {"id": res.id, **res.document}


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()][:MAX_TAGS]


MAX_TAGS = 20  # a header listing more is not a client we need to serve precisely


def _same(tag: str, res: StoredResource) -> bool:
    # Weak comparison (RFC 9110 §8.8.3.2): W/"3.x" and "3.x" name the same version.
    if tag == "*":
        return True
    opaque = tag.removeprefix("W/")
    if len(opaque) < 2 or opaque[0] != '"' or opaque[-1] != '"':
        return False
    version, _, mac = opaque[1:-1].partition(".")
    if version != str(res.version):
        return False  # stale (or not ours): no MAC work, no key re-read
    try:
        raw = b64url_decode(mac)
    except ValueError:
        return False
    if len(raw) != ETAG_MAC_BYTES:
        return False
    parts = (res.kind.value, res.id, str(res.version))
    return signing.keyring().verify(res.tenant_id, "etag", parts, raw)


def check_if_match(header: str | None, res: StoredResource) -> None:
    """RFC 7644 §3.14: a stale, forged or foreign If-Match is 412 Precondition Failed."""
    if header is not None and not any(_same(t, res) for t in _tags(header)):
        raise PreconditionFailed(f"The resource is at version {etag(res)}; If-Match was {header[:64]!r}.")


def not_modified(if_none_match: str | None, res: StoredResource) -> bool:
    """GET with If-None-Match naming the current version (genuinely, MAC included) → 304."""
    return if_none_match is not None and any(_same(t, res) for t in _tags(if_none_match))
