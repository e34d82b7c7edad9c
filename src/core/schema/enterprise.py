"""The Enterprise User extension: RFC 7643 §4.3, attribute for attribute as RFC 7643 §8.7.1 represents it.

"The following SCIM extension defines attributes commonly used in representing users that belong to,
or act on behalf of, a business or enterprise." Its attributes live in a resource under the key
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" (RFC 7643 §3.3). §4.3 calls
"manager.value" and "manager.$ref" REQUIRED in prose, but §8.7.1 declares them "required": false;
the characteristics below follow §8.7.1, which is what a client reads from /Schemas.
"""

from __future__ import annotations

from core.schema.model import AttributeDef, AttributeType, Mutability, Schema
from core.schema.urns import ENTERPRISE_USER_SCHEMA

ENTERPRISE_USER = Schema(
    id=ENTERPRISE_USER_SCHEMA,
    name="EnterpriseUser",
    description="Enterprise User",
    attributes=(
        AttributeDef(
            name="employeeNumber",
            description="Numeric or alphanumeric identifier assigned to a person, typically based on order "
            "of hire or association with an organization.",
        ),
        AttributeDef(name="costCenter", description="Identifies the name of a cost center."),
        AttributeDef(name="organization", description="Identifies the name of an organization."),
        AttributeDef(name="division", description="Identifies the name of a division."),
        AttributeDef(name="department", description="Identifies the name of a department."),
        AttributeDef(
            name="manager",
            type=AttributeType.COMPLEX,
            description="The User's manager.  A complex type that optionally allows service providers to "
            "represent organizational hierarchy by referencing the 'id' attribute of another User.",
            sub_attributes=(
                AttributeDef(
                    name="value",
                    description="The id of the SCIM resource representing the User's manager.  REQUIRED.",
                ),
                AttributeDef(
                    name="$ref",
                    type=AttributeType.REFERENCE,
                    reference_types=("User",),
                    description="The URI of the SCIM resource representing the User's manager.  REQUIRED.",
                ),
                AttributeDef(
                    name="displayName",
                    description="The displayName of the User's manager.  OPTIONAL and READ-ONLY.",
                    mutability=Mutability.READ_ONLY,
                ),
            ),
        ),
    ),
)
