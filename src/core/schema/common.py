"""Common attributes: RFC 7643 §3.1.

"Each SCIM resource (Users, Groups, etc.) includes the following common attributes. With the exception
of the "ServiceProviderConfig" and "ResourceType" server discovery endpoints and their associated
resources, these attributes MUST be defined for all resources, including any extended resource types."
They belong to no schema (RFC 7643 §8.7.1 lists none of them), so they are kept apart and the path
resolver consults them for every resource.
"""

from __future__ import annotations

from core.schema.model import AttributeDef, AttributeType, Mutability, Returned, Uniqueness

ID = AttributeDef(
    name="id",
    description="A unique identifier for a SCIM resource as defined by the service provider.",
    # §3.1: "This attribute has "caseExact" as "true", a mutability of "readOnly", and a "returned"
    # characteristic of "always"." Unique across the tenant's resources, hence uniqueness server.
    case_exact=True,
    mutability=Mutability.READ_ONLY,
    returned=Returned.ALWAYS,
    uniqueness=Uniqueness.SERVER,
)

EXTERNAL_ID = AttributeDef(
    name="externalId",
    description="A String that is an identifier for the resource as defined by the provisioning client.",
    # §3.1: "This attribute has "caseExact" as "true" and a mutability of "readWrite"."
    case_exact=True,
)

META = AttributeDef(
    name="meta",
    type=AttributeType.COMPLEX,
    description="A complex attribute containing resource metadata.",
    # §3.1: "All "meta" sub-attributes are assigned by the service provider (have a "mutability" of
    # "readOnly")".
    mutability=Mutability.READ_ONLY,
    sub_attributes=(
        AttributeDef(
            name="resourceType",
            description="The name of the resource type of the resource.",
            case_exact=True,
            mutability=Mutability.READ_ONLY,
        ),
        AttributeDef(
            name="created",
            type=AttributeType.DATE_TIME,
            description='The "DateTime" that the resource was added to the service provider.',
            mutability=Mutability.READ_ONLY,
        ),
        AttributeDef(
            name="lastModified",
            type=AttributeType.DATE_TIME,
            description="The most recent DateTime that the details of this resource were updated at the "
            "service provider.",
            mutability=Mutability.READ_ONLY,
        ),
        AttributeDef(
            name="location",
            type=AttributeType.REFERENCE,
            reference_types=("uri",),
            description="The URI of the resource being returned.",
            case_exact=True,
            mutability=Mutability.READ_ONLY,
        ),
        AttributeDef(
            name="version",
            description="The version of the resource being returned.",
            # An entity tag (RFC 7232 §2.3): compared byte for byte.
            case_exact=True,
            mutability=Mutability.READ_ONLY,
        ),
    ),
)

COMMON_ATTRIBUTES: tuple[AttributeDef, ...] = (ID, EXTERNAL_ID, META)

_BY_NAME = {attr.name.lower(): attr for attr in COMMON_ATTRIBUTES}


def common_attribute(name: str) -> AttributeDef | None:
    """The common attribute called `name` (id, externalId, meta), ignoring case, or None."""
    return _BY_NAME.get(name.lower())
