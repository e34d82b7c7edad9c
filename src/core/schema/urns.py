"""Schema URIs registered by RFC 7643 §10.2 and RFC 7644 §8, as IANA lists them.

RFC 7643 §3: "The "schemas" attribute [...] Each String value must be a unique URI." URNs are compared
case-insensitively here (RFC 8141 §3: the "urn" prefix and NID are case-insensitive, and SCIM clients
vary the case of the rest as well).
"""

from __future__ import annotations

from typing import Final

# Resources (RFC 7643 §4).
USER_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_SCHEMA: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# Service provider configuration (RFC 7643 §5, §6, §7).
SERVICE_PROVIDER_CONFIG_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:Schema"

# Protocol messages (RFC 7644 §3.4.2, §3.4.3, §3.5.2, §3.7, §3.12).
LIST_RESPONSE_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:Error"
