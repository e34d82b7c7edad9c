"""Every limit on the size and shape of client input, in one place (docs/scim.md, "Limits").

Each breach is a SCIM error (RFC 7644 §3.12), never a 500; the module that enforces a limit is named
next to it. RFC 7644 §3.12 names ``tooLarge`` only for bodies over the service's size (413), so the
other limits are 400s with the scimType of what was too big: a filter is ``invalidFilter``, a PATCH
path ``invalidPath``, a body's structure ``invalidSyntax``, a value or a count of values
``invalidValue``. ``tooMany`` is left for what RFC 7644 reserves it for: a filter that matches more
than the service will process.

The numbers are far above what any IdP sends (Okta and Microsoft Entra ID send a few KB and a
handful of PATCH operations) and low enough that no input costs more than a few milliseconds of CPU
or a few MB of memory, or comes near Python's recursion limit. This module imports nothing from the
project, so any module may import it.
"""

from __future__ import annotations

from typing import Final

# -- request bodies (handlers.requests.json_body) ---------------------------------------------------
# 413 tooLarge. Well under API Gateway's 10 MB: no SCIM request needs more, and parsing costs time.
MAX_BODY_BYTES: Final = 1_048_576
# 400 invalidSyntax. Objects and arrays nested deeper than this: a User is 4 levels deep, a Bulk
# request carrying a PATCH of group members about 9. Checked before the text is parsed, so neither
# the parser nor any later recursive walk can run out of stack.
MAX_JSON_DEPTH: Final = 32

# -- filters and PATCH paths (core.filter.parser) -----------------------------------------------------
# 400 invalidFilter for a filter, invalidPath for a PATCH path.
MAX_FILTER_LENGTH: Final = 4096  # characters
MAX_FILTER_DEPTH: Final = 32  # nested "(", "not (" and "[" around a term
MAX_FILTER_TERMS: Final = 200  # comparisons and "pr" tests, inside brackets included

# -- query parameters (core.query.request) -----------------------------------------------------------
# 400 invalidValue for any other parameter (attributes, sortBy, cursor) longer than this.
MAX_PARAM_LENGTH: Final = 4096

# -- PATCH (core.patch.engine, core.groups.member_plan) ---------------------------------------------
# 400 invalidValue: more operations in one PatchOp request.
MAX_PATCH_OPERATIONS: Final = 1000
# 400 invalidValue: group members added, removed or replaced by one request (each one is an item).
MAX_MEMBERS_PER_REQUEST: Final = 10_000

# -- attribute values (core.resource.coerce, applied by normalize on POST, PUT and after PATCH) ------
# 400 invalidValue.
MAX_STRING_LENGTH: Final = 2048  # characters in one string, reference or binary value
MAX_VALUES: Final = 100  # values of one multi-valued attribute (emails, phoneNumbers, roles, …)

# -- Bulk (core.bulk; advertised in ServiceProviderConfig "bulk") ----------------------------------
# 413 tooLarge, as RFC 7644 §3.7.4 requires for both.
BULK_MAX_OPERATIONS: Final = 1000
BULK_MAX_PAYLOAD_BYTES: Final = MAX_BODY_BYTES

# -- cursors (core.query.listing; advertised in ServiceProviderConfig "pagination") ----------------
# Seconds a cursor stays valid; an older one is refused with a 400. Here rather than in listing,
# so that discovery reads it without importing the store (and botocore).
CURSOR_TIMEOUT_SECONDS: Final = 3600
