"""The SCIM PATCH engine (RFC 7644 §3.5.2): pure functions from a resource and a PatchOp to a result.

>>> from core.schema import GROUP
>>> body = {
...     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
...     "Operations": [{"op": "Replace", "value": {"id": "g1", "displayName": "Admins"}}],
... }
>>> result = apply_patch({"schemas": [GROUP.id], "id": "g1", "displayName": "admins"}, body, [GROUP])
>>> result.resource["displayName"], sorted(result.changed)
('Admins', ['displayName'])
"""

from core.patch.engine import (
    DEFAULT_MAX_OPERATIONS,
    PatchOperation,
    PatchResult,
    apply_operations,
    apply_patch,
    parse_operations,
)

__all__ = [
    "DEFAULT_MAX_OPERATIONS",
    "PatchOperation",
    "PatchResult",
    "apply_operations",
    "apply_patch",
    "parse_operations",
]
