"""The User resource schema: RFC 7643 §4.1, attribute for attribute as RFC 7643 §8.7.1 represents it.

Every characteristic is copied from §8.7.1, including its quirks, because clients compare what
/Schemas says with the RFC: "display" is readWrite although its description says READ-ONLY, and
"groups.$ref" may reference a "User" or a "Group". The one addition is "addresses.primary": §8.7.1
leaves it out, but §2.4 gives every multi-valued attribute a "primary" sub-attribute and the §8.2
example sends one for an address, so a filter such as `addresses[primary eq true]` must resolve.
"""

from __future__ import annotations

from core.schema.model import AttributeDef, AttributeType, Mutability, Returned, Schema, Uniqueness
from core.schema.urns import USER_SCHEMA

_DISPLAY = "A human-readable name, primarily used for display purposes.  READ-ONLY."
_PRIMARY = (
    "A Boolean value indicating the 'primary' or preferred attribute value for this attribute{eg}.  "
    "The primary attribute value 'true' MUST appear no more than once."
)


def _display() -> AttributeDef:
    return AttributeDef(name="display", description=_DISPLAY)


def _type(description: str, canonical_values: tuple[str, ...] = ()) -> AttributeDef:
    return AttributeDef(name="type", description=description, canonical_values=canonical_values)


def _primary(example: str = "") -> AttributeDef:
    return AttributeDef(
        name="primary",
        type=AttributeType.BOOLEAN,
        description=_PRIMARY.format(eg=f", e.g., {example}" if example else ""),
    )


def _plural(name: str, description: str, *sub_attributes: AttributeDef) -> AttributeDef:
    """A readWrite multi-valued complex attribute (RFC 7643 §2.4), as §8.7.1 declares all but groups."""
    return AttributeDef(
        name=name,
        type=AttributeType.COMPLEX,
        multi_valued=True,
        description=description,
        sub_attributes=sub_attributes,
    )


def _name_part(name: str, description: str) -> AttributeDef:
    return AttributeDef(name=name, description=description)


_NAME = AttributeDef(
    name="name",
    type=AttributeType.COMPLEX,
    description="The components of the user's real name.  Providers MAY return just the full name as a "
    "single string in the formatted sub-attribute, or they MAY return just the individual component "
    "attributes using the other sub-attributes, or they MAY return both.  If both variants are returned, "
    "they SHOULD be describing the same name, with the formatted name indicating how the component "
    "attributes should be combined.",
    sub_attributes=(
        _name_part(
            "formatted",
            "The full name, including all middle names, titles, and suffixes as appropriate, formatted for "
            "display (e.g., 'Ms. Barbara J Jensen, III').",
        ),
        _name_part(
            "familyName",
            "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given "
            "the full name 'Ms. Barbara J Jensen, III').",
        ),
        _name_part(
            "givenName",
            "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given "
            "the full name 'Ms. Barbara J Jensen, III').",
        ),
        _name_part(
            "middleName",
            "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III').",
        ),
        _name_part(
            "honorificPrefix",
            "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given "
            "the full name 'Ms. Barbara J Jensen, III').",
        ),
        _name_part(
            "honorificSuffix",
            "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given "
            "the full name 'Ms. Barbara J Jensen, III').",
        ),
    ),
)

_EMAILS_DESCRIPTION = (
    "Email addresses for the user.  The value SHOULD be canonicalized by the service provider, e.g., "
    "'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'.  Canonical type values of 'work', 'home', "
    "and 'other'."
)

_EMAILS = _plural(
    "emails",
    _EMAILS_DESCRIPTION,
    AttributeDef(name="value", description=_EMAILS_DESCRIPTION),
    _display(),
    _type("A label indicating the attribute's function, e.g., 'work' or 'home'.", ("work", "home", "other")),
    _primary("the preferred mailing address or primary email address"),
)

_PHONE_NUMBERS = _plural(
    "phoneNumbers",
    "Phone numbers for the User.  The value SHOULD be canonicalized by the service provider according to "
    "the format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'.  Canonical type values of 'work', "
    "'home', 'mobile', 'fax', 'pager', and 'other'.",
    AttributeDef(name="value", description="Phone number of the User."),
    _display(),
    _type(
        "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.",
        ("work", "home", "mobile", "fax", "pager", "other"),
    ),
    _primary("the preferred phone number or primary phone number"),
)

_IMS = _plural(
    "ims",
    "Instant messaging addresses for the User.",
    AttributeDef(name="value", description="Instant messaging address for the User."),
    _display(),
    _type(
        "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.",
        ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
    ),
    _primary("the preferred messenger or primary messenger"),
)

_PHOTOS = _plural(
    "photos",
    "URLs of photos of the User.",
    AttributeDef(
        name="value",
        type=AttributeType.REFERENCE,
        reference_types=("external",),
        description="URL of a photo of the User.",
    ),
    _display(),
    _type(
        "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.",
        ("photo", "thumbnail"),
    ),
    _primary("the preferred photo or thumbnail"),
)

_ADDRESSES = _plural(
    "addresses",
    "A physical mailing address for this User.  Canonical type values of 'work', 'home', and 'other'.  "
    "This attribute is a complex type with the following sub-attributes.",
    AttributeDef(
        name="formatted",
        description="The full mailing address, formatted for display or use with a mailing label.  This "
        "attribute MAY contain newlines.",
    ),
    AttributeDef(
        name="streetAddress",
        description="The full street address component, which may include house number, street name, P.O. "
        "box, and multi-line extended street address information.  This attribute MAY contain newlines.",
    ),
    AttributeDef(name="locality", description="The city or locality component."),
    AttributeDef(name="region", description="The state or region component."),
    AttributeDef(name="postalCode", description="The zip code or postal code component."),
    AttributeDef(name="country", description="The country name component."),
    _type("A label indicating the attribute's function, e.g., 'work' or 'home'.", ("work", "home", "other")),
    # Not in §8.7.1; §2.4 defines it and §8.2 uses it (see the module docstring).
    _primary("the preferred mailing address"),
)

_GROUPS = AttributeDef(
    name="groups",
    type=AttributeType.COMPLEX,
    multi_valued=True,
    description="A list of groups to which the user belongs, either through direct membership, through "
    "nested groups, or dynamically calculated.",
    # §4.1.2: "Group membership changes MUST be applied via the "Group" Resource".
    mutability=Mutability.READ_ONLY,
    sub_attributes=(
        AttributeDef(
            name="value",
            description="The identifier of the User's group.",
            mutability=Mutability.READ_ONLY,
        ),
        AttributeDef(
            name="$ref",
            type=AttributeType.REFERENCE,
            reference_types=("User", "Group"),
            description="The URI of the corresponding 'Group' resource to which the user belongs.",
            mutability=Mutability.READ_ONLY,
        ),
        AttributeDef(name="display", description=_DISPLAY, mutability=Mutability.READ_ONLY),
        AttributeDef(
            name="type",
            description="A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
            canonical_values=("direct", "indirect"),
            mutability=Mutability.READ_ONLY,
        ),
    ),
)

_ENTITLEMENTS = _plural(
    "entitlements",
    "A list of entitlements for the User that represent a thing the User has.",
    AttributeDef(name="value", description="The value of an entitlement."),
    _display(),
    _type("A label indicating the attribute's function."),
    _primary(),
)

_ROLES = _plural(
    "roles",
    "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
    AttributeDef(name="value", description="The value of a role."),
    _display(),
    _type("A label indicating the attribute's function."),
    _primary(),
)

_X509_CERTIFICATES = _plural(
    "x509Certificates",
    "A list of certificates issued to the User.",
    AttributeDef(name="value", type=AttributeType.BINARY, description="The value of an X.509 certificate."),
    _display(),
    _type("A label indicating the attribute's function."),
    _primary(),
)

USER = Schema(
    id=USER_SCHEMA,
    name="User",
    description="User Account",
    attributes=(
        AttributeDef(
            name="userName",
            description="Unique identifier for the User, typically used by the user to directly "
            "authenticate to the service provider.  Each User MUST include a non-empty userName value.  "
            "This identifier MUST be unique across the service provider's entire set of Users.  REQUIRED.",
            required=True,
            uniqueness=Uniqueness.SERVER,
        ),
        _NAME,
        AttributeDef(
            name="displayName",
            description="The name of the User, suitable for display to end-users.  The name SHOULD be the "
            "full name of the User being described, if known.",
        ),
        AttributeDef(
            name="nickName",
            description="The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of "
            "'Robert'.  This attribute SHOULD NOT be used to represent a User's username (e.g., 'bjensen' "
            "or 'mpepperidge').",
        ),
        AttributeDef(
            name="profileUrl",
            type=AttributeType.REFERENCE,
            reference_types=("external",),
            description="A fully qualified URL pointing to a page representing the User's online profile.",
        ),
        AttributeDef(name="title", description='The user\'s title, such as "Vice President."'),
        AttributeDef(
            name="userType",
            description="Used to identify the relationship between the organization and the user.  Typical "
            "values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but "
            "any value may be used.",
        ),
        AttributeDef(
            name="preferredLanguage",
            description="Indicates the User's preferred written or spoken language.  Generally used for "
            "selecting a localized user interface; e.g., 'en_US' specifies the language English and "
            "country US.",
        ),
        AttributeDef(
            name="locale",
            description="Used to indicate the User's default location for purposes of localizing items such "
            "as currency, date time format, or numerical representations.",
        ),
        AttributeDef(
            name="timezone",
            description="The User's time zone in the 'Olson' time zone database format, e.g., "
            "'America/Los_Angeles'.",
        ),
        AttributeDef(
            name="active",
            type=AttributeType.BOOLEAN,
            description="A Boolean value indicating the User's administrative status.",
        ),
        AttributeDef(
            name="password",
            description="The User's cleartext password.  This attribute is intended to be used as a means to "
            "specify an initial password when creating a new User or to reset an existing User's password.",
            mutability=Mutability.WRITE_ONLY,
            returned=Returned.NEVER,
        ),
        _EMAILS,
        _PHONE_NUMBERS,
        _IMS,
        _PHOTOS,
        _ADDRESSES,
        _GROUPS,
        _ENTITLEMENTS,
        _ROLES,
        _X509_CERTIFICATES,
    ),
)
