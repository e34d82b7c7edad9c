"""SCIM resources as data: client JSON → canonical resource (`normalize`), and back (`projection`).

Pure code over dicts and the definitions in `core.schema`: no I/O, standard library only, so it is
cheap to import at Lambda cold start.
"""

from __future__ import annotations

from core.resource.coerce import DEFAULT_MAX_STRING_LENGTH, DEFAULT_MAX_VALUES, Limits
from core.resource.normalize import DEFAULT_LIMITS, Mode, UnknownPolicy, normalize_resource
from core.resource.projection import Projection, parse_attribute_list, project, wanted_attributes

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_STRING_LENGTH",
    "DEFAULT_MAX_VALUES",
    "Limits",
    "Mode",
    "Projection",
    "UnknownPolicy",
    "normalize_resource",
    "parse_attribute_list",
    "project",
    "wanted_attributes",
]
