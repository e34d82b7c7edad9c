"""What this service supports, as advertised by the discovery endpoints.

Discovery must never claim a feature the service does not honour (RFC 7643 §5), so each flag
is switched on by the change that implements it. Tenant profiles (issue 5) will narrow this
per tenant.
"""

from __future__ import annotations

from core.discovery import BulkCapability, FilterCapability, ServiceCapabilities


def service_capabilities() -> ServiceCapabilities:
    # Foundation only: no resource endpoints are deployed yet, so no resource types, no PATCH,
    # no filtering, no ETags. The Users and Groups changes switch these on as they land.
    return ServiceCapabilities(
        patch=False,
        bulk=BulkCapability(supported=False),
        filter=FilterCapability(supported=False, max_results=0),
        change_password=False,
        sort=False,
        etag=False,
        resource_types=(),
        documentation_uri=None,
    )
