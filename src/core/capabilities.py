"""What this service supports, as advertised by the discovery endpoints.

Discovery must never claim a feature the service does not honour (RFC 7643 §5), so each flag
is switched on by the change that implements it. Tenant profiles (issue 5) will narrow this
per tenant.
"""

from __future__ import annotations

from functools import cache

from core.discovery import (
    GROUP_RESOURCE_TYPE,
    USER_RESOURCE_TYPE,
    BulkCapability,
    CursorCapability,
    FilterCapability,
    ServiceCapabilities,
)

# From core.limits, not core.bulk: the Bulk engine (and the group and PATCH code it imports) stays
# off the import path of discovery, Users and Groups.
# CURSOR_TIMEOUT_SECONDS likewise: core.query.listing would import the store and botocore.
from core.limits import BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES, CURSOR_TIMEOUT_SECONDS
from core.query.request import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


@cache
def service_capabilities() -> ServiceCapabilities:
    return ServiceCapabilities(
        patch=True,
        bulk=BulkCapability(
            supported=True, max_operations=BULK_MAX_OPERATIONS, max_payload_size=BULK_MAX_PAYLOAD_BYTES
        ),
        filter=FilterCapability(supported=True, max_results=MAX_PAGE_SIZE),
        change_password=False,  # IdPs set passwords through PUT/PATCH; no separate endpoint
        sort=True,
        etag=True,
        cursor_paging=CursorCapability(
            supported=True,
            default_page_size=DEFAULT_PAGE_SIZE,
            max_page_size=MAX_PAGE_SIZE,
            cursor_timeout=CURSOR_TIMEOUT_SECONDS,
        ),
        resource_types=(USER_RESOURCE_TYPE, GROUP_RESOURCE_TYPE),
        documentation_uri=None,
    )
