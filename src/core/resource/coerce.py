"""Type checks and coercion of one simple value: RFC 7643 §2.3 (attribute data types).

One function per `AttributeType`, each taking the client's JSON value and returning the canonical
value or raising `InvalidValue` with a detail that names the attribute path. Error details never echo
more than `MAX_ECHO` characters of what the client sent.
"""

from __future__ import annotations

import binascii
import math
from base64 import b64decode
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from core.errors import InvalidValue
from core.limits import MAX_STRING_LENGTH, MAX_VALUES
from core.schema.model import AttributeDef, AttributeType

MAX_ECHO: Final = 100

DEFAULT_MAX_STRING_LENGTH: Final = MAX_STRING_LENGTH  # core.limits lists every input limit
DEFAULT_MAX_VALUES: Final = MAX_VALUES


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits on client input: characters per string value, values per multi-valued attribute."""

    max_string_length: int = DEFAULT_MAX_STRING_LENGTH
    max_values: int = DEFAULT_MAX_VALUES


def echo(value: object) -> str:
    """`value` as a detail may quote it: its repr, cut to `MAX_ECHO` characters."""
    text = repr(value)
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 3] + "..."


def json_type(value: object) -> str:
    """The JSON name of a Python value's type, for error details that must not echo the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    return "an array" if isinstance(value, list | tuple) else type(value).__name__


def type_error(path: str, expected: str, value: object) -> InvalidValue:
    return InvalidValue(f"Attribute '{path}' must be {expected}, not {json_type(value)}.")


def coerce_simple(definition: AttributeDef, value: Any, path: str, limits: Limits) -> Any:
    """The canonical form of one value of a simple (non-complex) attribute, or `InvalidValue`.

    RFC 7643 §2.3: "When specifying the type of an attribute, the following data types are used". The
    `canonicalValues` characteristic is not enforced here, for `type` sub-attributes or any other: RFC
    7643 §7 calls them "suggested canonical values that MAY be used", and §2.4 says of "type": "service
    providers MAY allow "type" values other than those listed".
    """
    return _COERCERS[definition.type](value, path, limits)


def _string(value: Any, path: str, limits: Limits) -> str:
    """RFC 7643 §2.3.1: "A sequence of zero or more Unicode characters encoded using UTF-8"."""
    if not isinstance(value, str):
        raise type_error(path, "a string", value)
    if len(value) > limits.max_string_length:
        raise InvalidValue(
            f"Attribute '{path}' is longer than {limits.max_string_length} characters ({len(value)})."
        )
    return value


_BOOLEAN_STRINGS: Final = {"true": True, "false": False}


def _boolean(value: Any, path: str, limits: Limits) -> bool:
    """RFC 7643 §2.3.2: "The literal "true" or "false"."

    Microsoft Entra ID sends booleans as strings, e.g. `{"op": "Replace", "path": "active", "value":
    "False"}` (and "True"), so the strings "true"/"false" in any letter case are accepted as well.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _BOOLEAN_STRINGS:
        return _BOOLEAN_STRINGS[value.lower()]
    raise type_error(path, "a boolean", value)


def _integer(value: Any, path: str, limits: Limits) -> int:
    """RFC 7643 §2.3.4: "A whole number with no fractional digits or decimal"; JSON `true` is no number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise type_error(path, "an integer", value)
    if isinstance(value, int):
        return value
    # 3.0 is the number 3 in JSON (RFC 8259 §6 does not tell 3 from 3.0); 3.5 is not an integer.
    if not math.isfinite(value) or value != int(value):
        raise InvalidValue(f"Attribute '{path}' must be an integer, not {echo(value)}.")
    return int(value)


def _decimal(value: Any, path: str, limits: Limits) -> int | float | Decimal:
    """RFC 7643 §2.3.3: "A real number with at least one digit to the left and right of the period".

    The number is kept as parsed (int, float or, when the caller parses with `Decimal`, Decimal).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise type_error(path, "a decimal number", value)
    if not isinstance(value, int) and not math.isfinite(value):
        raise InvalidValue(f"Attribute '{path}' must be a finite number.")
    return value


def _date_time(value: Any, path: str, limits: Limits) -> str:
    """RFC 7643 §2.3.5: "A DateTime value (e.g., 2008-01-23T04:56:22Z). The attribute value MUST be
    encoded as a valid xsd:dateTime".

    Normalised to UTC with a "Z" suffix, so stored values compare as text and as time alike. A value
    without an offset is taken as UTC; a date without a time of day is not an xsd:dateTime.
    """
    text = _string(value, path, limits).strip()
    if "T" not in text.upper():
        raise _bad_date_time(path, value)
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        raise _bad_date_time(path, value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def _bad_date_time(path: str, value: Any) -> InvalidValue:
    return InvalidValue(
        f"Attribute '{path}' must be an xsd:dateTime such as \"2008-01-23T04:56:22Z\", not {echo(value)}."
    )


def _reference(value: Any, path: str, limits: Limits) -> str:
    """RFC 7643 §2.3.7: "A URI for a resource"; its form is not checked (relative URIs are allowed)."""
    return _string(value, path, limits)


def _binary(value: Any, path: str, limits: Limits) -> str:
    """RFC 7643 §2.3.6: "Arbitrary binary data. The attribute value MUST be base64 encoded as specified in
    Section 4 of [RFC4648]." Kept as sent; whitespace (line breaks in a PEM body) is allowed inside.
    """
    text = _string(value, path, limits)
    try:
        b64decode("".join(text.split()), validate=True)
    except binascii.Error:
        raise InvalidValue(f"Attribute '{path}' must be base64 encoded (RFC 4648 §4).") from None
    return text


def _complex(value: Any, path: str, limits: Limits) -> Any:
    # Complex values are walked by core.resource.normalize; reaching here is a bug in the caller.
    raise TypeError(f"{path}: complex values are not simple values")


_COERCERS: Final[dict[AttributeType, Callable[[Any, str, Limits], Any]]] = {
    AttributeType.STRING: _string,
    AttributeType.BOOLEAN: _boolean,
    AttributeType.INTEGER: _integer,
    AttributeType.DECIMAL: _decimal,
    AttributeType.DATE_TIME: _date_time,
    AttributeType.REFERENCE: _reference,
    AttributeType.BINARY: _binary,
    AttributeType.COMPLEX: _complex,
}
