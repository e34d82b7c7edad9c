"""Every DynamoDB key of the single table. Each partition key begins with the tenant.

| item | PK | SK | GSI1 (PK / SK) | GSI2 (PK / SK) |
| --- | --- | --- | --- | --- |
| tenant | ``T#<t>`` | ``TENANT`` | ``TENANTS`` / ``<t>`` |  |
| token metadata | ``T#<t>`` | ``TOKEN#<id>`` | ``TOKENS#EXPIRY`` / expiry time (if any) |  |
| reset record | ``T#<t>`` | ``RESET`` |  |  |
| role recompute job | ``T#<t>`` | ``ROLES`` |  |  |
| resource counter | ``T#<t>`` | ``COUNT#<K>`` |  |  |
| user / group | ``T#<t>#<K>`` | ``<id>`` | ``T#<t>#<K>`` / name | same / externalId |
| uniqueness guard | ``T#<t>#<K>#NAME#<name>`` | ``UNIQUE`` |  |  |
| page bookmark | ``T#<t>#PAGE`` | ``<digest>`` |  |  |
| membership | ``T#<t>#GROUP#<g>#M`` | ``<member id>`` | ``T#<t>#MEMBER#<m>`` / ``<g>`` |  |
| nested counter | ``T#<t>`` | ``COUNT#NESTED`` |  |  |
| inactive users counter | ``T#<t>`` | ``COUNT#USER#INACTIVE`` |  |  |
| tombstone | ``T#<t>#TOMB`` | ``<K>#<id>`` or ``M#<g>#<m>#<time>`` |  |  |
| audit record | ``T#<t>#AUDIT`` | ``<time>#<request id>#<n>`` | ``T#<t>#AUDIT#<id>`` / same SK |  |
| idempotency record | ``T#<t>#IDEM`` | ``<key digest>`` |  |  |
| setup link (and its session) | ``T#<t>#SETUP`` | ``LINK#<link id>`` |  |  |
| journaled event (the feed) | ``T#<t>#EVENTS`` | ``<sequence, 15 digits>`` |  |  |
| event id marker / feed counter | ``T#<t>#EVENTS#ID`` | ``<event id>`` / ``#COUNT`` |  |  |
| stack feed pointer | ``STACK#EVENTS`` | ``<stack sequence>`` |  |  |
| stack feed counter | ``STACK#EVENTS#ID`` | ``#COUNT`` |  |  |

The two ``STACK#`` partitions are the one exception to the tenant-first rule: the stack-wide
feed (``GET /events``) has one order for every tenant; its items are pointers (tenant, sequence)
and hold no tenant data (core.events.journal).

``<K>`` is ``USER`` or ``GROUP``; ``name`` is the lower-cased ``userName`` or ``displayName`` (both
are unique case-insensitively). The tenant registry row in GSI1 is read only by the admin CLI
(``scimctl tenant list``); no request path queries it, and no request path scans.
"""

from __future__ import annotations

from enum import StrEnum

from core.tenants import is_valid_tenant_id

TENANT_SK = "TENANT"
TOKEN_SK_PREFIX = "TOKEN#"  # noqa: S105 - a key prefix, not a secret  # nosec B105
TENANT_INDEX = "GSI1"
TENANT_INDEX_PK = "TENANTS"
NAME_INDEX = "GSI1"
EXTERNAL_ID_INDEX = "GSI2"
UNIQUE_SK = "UNIQUE"
# GSI1 registry of tokens that expire, by expiry time: sparse (only tokens with an expiry that are
# not revoked), read only by the daily token expiry check, like the TENANTS registry.
TOKEN_EXPIRY_INDEX_PK = "TOKENS#EXPIRY"  # noqa: S105 - a key, not a secret  # nosec B105


class Kind(StrEnum):
    USER = "USER"
    GROUP = "GROUP"


def tenant_pk(tenant_id: str) -> str:
    # Validated here as well as at the edge: a key must never be built from an unchecked slug.
    if not is_valid_tenant_id(tenant_id):
        raise ValueError(f"invalid tenant id: {tenant_id!r}")
    return f"T#{tenant_id}"


def token_sk(token_id: str) -> str:
    return f"{TOKEN_SK_PREFIX}{token_id}"


def resources_pk(tenant_id: str, kind: Kind) -> str:
    return f"{tenant_pk(tenant_id)}#{kind.value}"


def counter_sk(kind: Kind) -> str:
    return f"COUNT#{kind.value}"


def name_guard_pk(tenant_id: str, kind: Kind, name_key: str) -> str:
    return f"{resources_pk(tenant_id, kind)}#NAME#{name_key}"


def members_pk(tenant_id: str, group_id: str) -> str:
    """The partition of one group's membership items: one item per member (DESIGN.md)."""
    return f"{resources_pk(tenant_id, Kind.GROUP)}#{group_id}#M"


def member_of_pk(tenant_id: str, member_id: str) -> str:
    """GSI1 partition of the reverse index: every group a user or group is a direct member of."""
    return f"{tenant_pk(tenant_id)}#MEMBER#{member_id}"


NESTED_COUNTER_SK = "COUNT#NESTED"
# Users whose `active` is false, kept by the same writes as the user counter (health: active/inactive).
INACTIVE_USERS_COUNTER_SK = "COUNT#USER#INACTIVE"


def tombstones_pk(tenant_id: str) -> str:
    """Deletions leave a short-lived tombstone (who deleted what) for the provisioning events."""
    return f"{tenant_pk(tenant_id)}#TOMB"


def bookmarks_pk(tenant_id: str) -> str:
    return f"{tenant_pk(tenant_id)}#PAGE"


def audit_pk(tenant_id: str) -> str:
    """A tenant's audit trail, in time order (``scimctl audit``)."""
    return f"{tenant_pk(tenant_id)}#AUDIT"


def audit_resource_pk(tenant_id: str, resource_id: str) -> str:
    """GSI1 partition of one resource's audit records (``scimctl audit --user ID``)."""
    return f"{audit_pk(tenant_id)}#{resource_id}"


def idempotency_pk(tenant_id: str) -> str:
    """A tenant's idempotency records (management API POSTs), keyed by the key's digest."""
    return f"{tenant_pk(tenant_id)}#IDEM"


def setup_pk(tenant_id: str) -> str:
    """A tenant's setup links, each holding the hash of its secret and of its one session."""
    return f"{tenant_pk(tenant_id)}#SETUP"


def setup_link_sk(link_id: str) -> str:
    return f"LINK#{link_id}"
