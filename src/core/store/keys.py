"""Every DynamoDB key of the single table. Each partition key begins with the tenant.

| item            | PK                  | SK                 | GSI1PK     | GSI1SK   |
|-----------------|---------------------|--------------------|------------|----------|
| tenant          | ``T#<tenant>``      | ``TENANT``         | ``TENANTS``| tenant   |
| token metadata  | ``T#<tenant>``      | ``TOKEN#<id>``     |            |          |

The tenant registry row in GSI1 is read only by the admin CLI (``scimctl tenant list``); no
request path queries it. Resource items (users, groups, memberships, uniqueness guards) are
added by their issues with keys under the same ``T#<tenant>`` prefix.
"""

from __future__ import annotations

from core.tenants import is_valid_tenant_id

TENANT_SK = "TENANT"
TOKEN_SK_PREFIX = "TOKEN#"  # noqa: S105 - a key prefix, not a secret
TENANT_INDEX = "GSI1"
TENANT_INDEX_PK = "TENANTS"


def tenant_pk(tenant_id: str) -> str:
    # Validated here as well as at the edge: a key must never be built from an unchecked slug.
    if not is_valid_tenant_id(tenant_id):
        raise ValueError(f"invalid tenant id: {tenant_id!r}")
    return f"T#{tenant_id}"


def token_sk(token_id: str) -> str:
    return f"{TOKEN_SK_PREFIX}{token_id}"
