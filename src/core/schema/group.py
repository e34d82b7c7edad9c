"""The Group resource schema: RFC 7643 §4.2, attribute for attribute as RFC 7643 §8.7.1 represents it.

§4.2: "members: A list of members of the Group. While values MAY be added or removed, sub-attributes
of members are "immutable"." §8.7.1 declares "displayName" with "required": false although §4.2 and
its description say REQUIRED; the prose wins here (and /Schemas says so), because the service keys
a group's case-insensitive uniqueness on it. §8.7.1 lists no
"display" sub-attribute for members, but §2.4 makes "display" a default sub-attribute of every
multi-valued attribute and Okta's group push sends it; it is immutable like its siblings.
"""

from __future__ import annotations

from core.schema.model import AttributeDef, AttributeType, Mutability, Schema
from core.schema.urns import GROUP_SCHEMA

GROUP = Schema(
    id=GROUP_SCHEMA,
    name="Group",
    description="Group",
    attributes=(
        AttributeDef(
            name="displayName", required=True, description="A human-readable name for the Group.  REQUIRED."
        ),
        AttributeDef(
            name="members",
            type=AttributeType.COMPLEX,
            multi_valued=True,
            description="A list of members of the Group.",
            sub_attributes=(
                AttributeDef(
                    name="value",
                    description="Identifier of the member of this Group.",
                    mutability=Mutability.IMMUTABLE,
                ),
                AttributeDef(
                    name="$ref",
                    type=AttributeType.REFERENCE,
                    reference_types=("User", "Group"),
                    description="The URI corresponding to a SCIM resource that is a member of this Group.",
                    mutability=Mutability.IMMUTABLE,
                ),
                AttributeDef(
                    name="type",
                    description="A label indicating the type of resource, e.g., 'User' or 'Group'.",
                    canonical_values=("User", "Group"),
                    mutability=Mutability.IMMUTABLE,
                ),
                AttributeDef(
                    name="display",
                    description="A human-readable name for the group member, primarily used for display "
                    "purposes.",
                    mutability=Mutability.IMMUTABLE,
                ),
            ),
        ),
    ),
)
