"""The three PATCH operations of RFC 7644 §3.5.2, as pure functions over one attribute's value.

Each of :func:`add`, :func:`remove` and :func:`replace` takes a :class:`~core.patch.paths.Target`,
the operation's "value" and the attribute's current value, and returns the new value without
changing its arguments: values that do not change are returned as the very same objects, so the
engine recognises a no-op by identity, and :func:`single_primary` recognises which values an
operation wrote. ``None`` (or an empty list or object) means unassigned: RFC 7643 §2.5, "Unassigned
attributes, the null value, or empty array (in the case of a multi-valued attribute) SHALL be
considered to be equivalent in "state"."

Mutability (RFC 7644 §3.5.2): "Each operation against an attribute MUST be compatible with the
attribute's mutability and schema [...] a client MUST NOT modify an attribute that has mutability
"readOnly" or "immutable". However, a client MAY "add" a value to an "immutable" attribute if the
attribute had no previous value." Sub-attributes are checked here, where they are written;
:func:`check_attribute` checks the attribute as a whole. Read-only sub-attributes inside a value
object (``manager.displayName``) are ignored, as on creation; naming one in a path is refused.

Values are not type-checked: a normaliser validates the patched resource afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.errors import InvalidValue, Mutability, NoTarget
from core.patch.paths import Target, creation_template
from core.schema import AttributeDef, AttributeType
from core.schema import Mutability as Mut

# -- add (RFC 7644 §3.5.2.1) ----------------------------------------------------------------------


def add(target: Target, value: Any, current: Any) -> Any:
    """RFC 7644 §3.5.2.1, "Add Operation".

    "The result of the add operation depends upon what the target location indicated by "path"
    references:

    o  If the target location does not exist, the attribute and value are added.
    o  If the target location specifies a complex attribute, a set of sub-attributes SHALL be
       specified in the "value" parameter.
    o  If the target location specifies a multi-valued attribute, a new value is added to the
       attribute.
    o  If the target location specifies a single-valued attribute, the existing value is replaced.
    o  If the target location specifies an attribute that does not exist (has no value), the
       attribute is added with the new value.
    o  If the target location exists, the value is replaced.
    o  If the target location already contains the value specified, no changes SHOULD be made to the
       resource [...]"

    So a complex value is merged into the existing one, and values already present in a
    multi-valued attribute are not added twice. On a valuePath the selected values are updated; when
    none is selected, see :func:`core.patch.paths.creation_template`.

    An empty value (null, [], {}, or values that are all empty) is refused with ``invalidValue``: RFC
    7643 §2.5 makes null and [] "equivalent in "state"" to unassigned, so such an operation carries no
    value to add, which §3.5.2.1 requires ("The operation MUST contain a "value" member whose content
    specifies the value to be added"). Answering 200 with nothing done would tell the client its
    change was made.
    """
    attribute = target.attribute
    if is_empty(value):
        raise _no_value(target)
    if target.value_filter is not None:
        return _write_selected(target, value, current, merge=True)
    if target.sub_attribute is not None:
        return _write_sub_attribute(target, value, current)
    if attribute.multi_valued:
        return _append(attribute, value, current, target)
    if attribute.is_complex:
        if not _complex(attribute, value):
            raise _no_value(target)
        return _put_complex(attribute, value, current)
    return value


def _no_value(target: Target) -> InvalidValue:
    return InvalidValue(
        f"'{target.key}' is given no value (null, [] and {{}} are no value, RFC 7643 §2.5); \"add\" "
        'needs one (RFC 7644 §3.5.2.1). To remove the attribute, use "remove".'
    )


# -- remove (RFC 7644 §3.5.2.2) -------------------------------------------------------------------


def remove(target: Target, value: Any, current: Any) -> Any:
    """RFC 7644 §3.5.2.2, "Remove Operation".

    "o  If the target location is a single-value attribute, the attribute and its associated value is
       removed, and the attribute SHALL be considered unassigned.
    o  If the target location is a multi-valued attribute and no filter is specified, the attribute
       and all values are removed, and the attribute SHALL be considered unassigned.
    o  If the target location is a multi-valued attribute and a complex filter is specified comparing
       a "value", the values matched by the filter are removed. If no other values remain after
       removal of the selected values, the multi-valued attribute SHALL be considered unassigned.
    o  If the target location is a complex multi-valued attribute and a complex filter is specified
       based on the attribute's sub-attributes, the matching records are removed."

    Removing what is not there succeeds without a change: the RFC names no error for it, and IdPs
    retry removals (idempotence). A read-only attribute is refused whether or not it has a value
    ("If an attribute is removed [...] and is defined as [...] a read-only attribute, the server SHALL
    return [...] "mutability""): the resource's ``id`` and ``meta`` are kept outside the stored
    document and ``groups`` comes from the membership index, so "nothing there" would be untrue.

    Tolerance (Microsoft Entra ID, without the ``aadOptscim062020`` flag): "Requests made to remove a
    group member" are sent as ``{"op":"Remove","path":"members","value":[{"value":"u1091"}]}``.
    Removing the whole attribute would empty the group, the most reported SCIM bug in the wild; so a
    "value" on a remove of a multi-valued attribute lists the values to remove, matched by their
    ``value`` sub-attribute (a plain multi-valued attribute's values are matched by equality). The rule
    is the same for every multi-valued attribute. A "value" that cannot say which values it means (an
    object without ``value``, an attribute whose values have no ``value`` sub-attribute), and a "value"
    on any other path, is refused with ``invalidValue`` instead of being ignored.
    """
    attribute = target.attribute
    if attribute.mutability is Mut.READ_ONLY or (
        target.sub_attribute is not None and target.sub_attribute.mutability is Mut.READ_ONLY
    ):
        name = target.key if target.sub_attribute is None else f"{target.key}.{target.sub_attribute.name}"
        raise Mutability(f"'{name}' is readOnly and cannot be removed (RFC 7644 §3.5.2.2).")
    if value is not None and is_empty(value):
        # [] or {} lists nothing: removing nothing would be a silent no-op, removing everything the
        # opposite of what a list asks for (RFC 7643 §2.5 null, though, is an absent "value").
        raise InvalidValue('A "remove" whose "value" lists no value; to remove every value, omit "value".')
    listed = value is not None
    if listed and (
        target.value_filter is not None or target.sub_attribute is not None or not attribute.multi_valued
    ):
        raise InvalidValue(
            'A "remove" takes a "value" only on a whole multi-valued attribute, to list the values to '
            'remove; here the "value" would mean nothing. Send the "remove" without it.'
        )
    if listed:
        return _remove_listed(attribute, value, current)
    if is_empty(current):
        return current
    if target.value_filter is not None:
        return _remove_selected(target, current)
    if target.sub_attribute is not None:
        return _remove_sub_attribute(target, current)
    return None


# -- replace (RFC 7644 §3.5.2.3) ------------------------------------------------------------------


def replace(target: Target, value: Any, current: Any) -> Any:
    """RFC 7644 §3.5.2.3, "Replace Operation".

    "o  If the target location is a single-value attribute, the attributes value is replaced.
    o  If the target location is a multi-valued attribute and no filter is specified, the attribute
       and all values are replaced.
    o  If the target location path specifies an attribute that does not exist, the service provider
       SHALL treat the operation as an "add".
    o  If the target location specifies a complex attribute, a set of sub-attributes SHALL be
       specified in the "value" parameter, which replaces any existing values or adds where an
       attribute did not previously exist. Sub-attributes that are not specified in the "value"
       parameter are left unchanged.
    o  If the target location is a multi-valued attribute and a value selection ("valuePath") filter
       is specified that matches one or more values of the multi-valued attribute, then all matching
       record values SHALL be replaced.
    o  If the target location is a complex multi-valued attribute with a value selection filter
       ("valuePath") and a specific sub-attribute (e.g., "addresses[type eq "work"].streetAddress"),
       the matching sub-attribute of all matching records is replaced.
    o  If the target location is a multi-valued attribute for which a value selection filter
       ("valuePath") has been supplied and no record match was made, the service provider SHALL
       indicate failure by returning HTTP status code 400 and a "scimType" error code of "noTarget"."

    The RFC is silent on null and []; RFC 7643 §2.5 makes them unassigned, so they unassign the
    target, which is how Okta empties a group (``{"op":"replace","path":"members","value":[]}``). An
    empty object for a single-valued complex attribute specifies no sub-attribute, so, as quoted above,
    every sub-attribute is "left unchanged". A complex value whose ``value`` sub-attribute changes is a
    different reference (``manager``) and replaces the old one instead of being merged into it, so no
    ``$ref`` or ``displayName`` of the previous manager stays.
    """
    attribute = target.attribute
    if is_empty(value):
        return _replace_by_nothing(target, value, current)
    if target.value_filter is not None:
        return _write_selected(target, value, current, merge=False)
    if target.sub_attribute is not None:
        return _write_sub_attribute(target, value, current)
    if attribute.multi_valued:
        return _unique(_elements(attribute, value))
    if attribute.is_complex:
        return _put_complex(attribute, value, current)
    return value


def _replace_by_nothing(target: Target, value: Any, current: Any) -> Any:
    """`replace` with null, [] or {}: unassigns, except that {} for a single-valued complex attribute
    names no sub-attribute to replace, so it leaves every one "unchanged" (RFC 7644 §3.5.2.3)."""
    attribute = target.attribute
    names_none = isinstance(value, Mapping) and target.sub_attribute is None
    if names_none and attribute.is_complex and not attribute.multi_valued:
        return current
    return remove(target, None, current)


# -- the attribute as a whole ---------------------------------------------------------------------


def check_attribute(target: Target, before: Any, after: Any) -> None:
    """Refuse a change the attribute's characteristics forbid (RFC 7644 §3.5.2, §3.5.2.2).

    "readOnly": never changed. "immutable": may be added when it has no value, never changed
    afterwards. "required": RFC 7644 §3.5.2.2, "If an attribute is removed or becomes unassigned and
    is defined as a required attribute or a read-only attribute, the server SHALL return [...] a
    "scimType" error code of "mutability"."
    """
    attribute = target.attribute
    guarded = attribute.mutability in (Mut.READ_ONLY, Mut.IMMUTABLE) or attribute.required
    if not guarded or equivalent(attribute, before, after):
        return
    if attribute.mutability is Mut.READ_ONLY:
        raise Mutability(f"'{target.key}' is readOnly and cannot be changed.")
    if attribute.mutability is Mut.IMMUTABLE and not is_empty(before):
        raise Mutability(f"'{target.key}' is immutable: it can be set when it has no value, not changed.")
    if attribute.required and is_empty(after):
        raise Mutability(f"'{target.key}' is required and cannot be removed.")


def single_primary(attribute: AttributeDef, before: Any, after: Any) -> Any:
    """Keep at most one ``primary: true`` value (RFC 7643 §2.4, RFC 7644 §3.5.2).

    RFC 7644 §3.5.2: "For multi-valued attributes, a PATCH operation that sets a value's "primary"
    sub-attribute to "true" SHALL cause the server to automatically set "primary" to "false" for any
    other values in the array." The value set most recently wins: the last flagged value this
    operation wrote (one not present, as the same object, in `before`), else the last flagged one.
    """
    sub = attribute.sub_attribute("primary")
    if sub is None or not isinstance(after, list):
        return after
    flagged = [i for i, element in enumerate(after) if _is_true(_sub_value(element, sub.name))]
    if len(flagged) < 2:
        return after
    previous = {id(element) for element in _as_list(before)}
    written = [i for i in flagged if id(after[i]) not in previous]
    winner = (written or flagged)[-1]
    demoted = set(flagged) - {winner}
    return [
        with_member(element, sub.name, False) if i in demoted else element for i, element in enumerate(after)
    ]


def equivalent(definition: AttributeDef, left: Any, right: Any) -> bool:
    """Whether two values of `definition` are the same state (RFC 7643 §2.5).

    Unassigned, null and empty are one state; sub-attribute names compare ignoring case; booleans
    compare leniently, so Microsoft Entra ID's ``"False"`` equals ``false`` and a PATCH that
    repeats the current value is a no-op.
    """
    return bool(_comparable(definition, left) == _comparable(definition, right))


def is_empty(value: Any) -> bool:
    """Unassigned in the sense of RFC 7643 §2.5: null, an empty array or an empty object."""
    return value is None or (isinstance(value, list | dict) and not value)


def member_key(mapping: Mapping[str, Any], name: str) -> str | None:
    """The key of `mapping` that is `name` ignoring case (RFC 7643 §2.1), or None."""
    if name in mapping:
        return name
    lowered = name.lower()
    return next((key for key in mapping if isinstance(key, str) and key.lower() == lowered), None)


def get_member(mapping: Mapping[str, Any], name: str) -> Any:
    """``mapping[name]`` ignoring the case of the key; None when absent."""
    key = member_key(mapping, name)
    return None if key is None else mapping[key]


def with_member(mapping: Mapping[str, Any], name: str, value: Any) -> dict[str, Any]:
    """A copy of `mapping` with `name` (canonical spelling) set in place of any spelling of it.

    An empty `value` removes the member. The member keeps its position, so documents stay readable.
    """
    lowered = name.lower()
    result: dict[str, Any] = {}
    placed = is_empty(value)
    for key, item in mapping.items():
        if isinstance(key, str) and key.lower() == lowered:
            if not placed:
                result[name] = value
                placed = True
            continue
        result[key] = item
    if not placed:
        result[name] = value
    return result


# -- multi-valued attributes ----------------------------------------------------------------------


def _append(attribute: AttributeDef, value: Any, current: Any, target: Target) -> Any:
    existing = _as_list(current)
    seen = {_fingerprint(element) for element in existing}
    added: list[Any] = []
    elements = _elements(attribute, value)
    if not elements:
        raise _no_value(target)
    for element in elements:
        fingerprint = _fingerprint(element)
        if fingerprint not in seen:
            seen.add(fingerprint)
            added.append(element)
    return [*existing, *added] if added else current


def _write_selected(target: Target, value: Any, current: Any, *, merge: bool) -> Any:
    elements = _as_list(current)
    selects = target.selector()
    hits = [i for i, element in enumerate(elements) if selects(element)]
    if not hits:
        return [*elements, _created(target, value)]
    updated = list(elements)
    for i in hits:
        updated[i] = _update_selected(target, value, elements[i], merge=merge)
    return _compact(updated)


def _update_selected(target: Target, value: Any, element: Any, *, merge: bool) -> dict[str, Any]:
    attribute, sub = target.attribute, target.sub_attribute
    old = element if isinstance(element, Mapping) else {}
    if sub is not None:
        return _set_sub_attribute(attribute, sub, value, old)
    new = _complex(attribute, value)
    if merge:
        return _merge(attribute, new, old)
    _check_replaced_record(attribute, old, new)
    return new


def _created(target: Target, value: Any) -> dict[str, Any]:
    template = creation_template(target)
    if template is None:
        raise NoTarget(f"No value of '{target.key}' matches the filter, so there is nothing to update.")
    created = dict(template)
    if target.sub_attribute is not None:
        created[target.sub_attribute.name] = value
    else:
        created.update(_complex(target.attribute, value))
        created.update(template)
    return created


def _remove_selected(target: Target, current: Any) -> Any:
    elements = _as_list(current)
    selects = target.selector()
    hits = {i for i, element in enumerate(elements) if selects(element)}
    if not hits:
        return current
    sub = target.sub_attribute
    if sub is None:
        return _compact([element for i, element in enumerate(elements) if i not in hits])
    return _compact(
        [
            _set_sub_attribute(target.attribute, sub, None, element) if i in hits else element
            for i, element in enumerate(elements)
        ]
    )


def _remove_listed(attribute: AttributeDef, value: Any, current: Any) -> Any:
    """The values of `current` left when those `value` lists are removed (see :func:`remove`)."""
    items = _elements(attribute, value)
    if not attribute.is_complex:
        if not items:
            raise _unlisted(attribute)
        listed = {_fingerprint(item) for item in items}
        kept = [element for element in _as_list(current) if _fingerprint(element) not in listed]
    else:
        value_sub = attribute.sub_attribute("value")
        keys = [_value_key(value_sub, item) for item in items]
        if value_sub is None or not keys or any(key is None for key in keys):
            raise _unlisted(attribute)
        kept = [element for element in _as_list(current) if _value_key(value_sub, element) not in keys]
    return current if len(kept) == len(_as_list(current)) else _compact(kept)


def _unlisted(attribute: AttributeDef) -> InvalidValue:
    example = f'{attribute.name}[type eq "work"]'
    if attribute.is_complex and attribute.sub_attribute("value") is None:
        return InvalidValue(
            f'The values of \'{attribute.name}\' have no "value" sub-attribute, so a "remove" cannot list '
            f"them: select them with a value filter path, e.g. '{example}'."
        )
    return InvalidValue(
        f'A "remove" with a "value" lists the values of \'{attribute.name}\' to remove, each by its '
        f'"value" sub-attribute; to select values by another sub-attribute use a value filter path, '
        f"e.g. '{example}'."
    )


def _value_key(value_sub: AttributeDef | None, element: Any) -> Any:
    """How a listed value is matched: by its ``value`` sub-attribute (caseExact honoured), or None."""
    if value_sub is None or not isinstance(element, Mapping):
        return None
    found = get_member(element, value_sub.name)
    if isinstance(found, str):
        return found if value_sub.case_exact else found.casefold()
    return found if isinstance(found, bool | int | float | Decimal) else None


# -- sub-attributes and complex values ------------------------------------------------------------


def _write_sub_attribute(target: Target, value: Any, current: Any) -> Any:
    attribute, sub = target.attribute, target.sub_attribute
    assert sub is not None
    if not attribute.multi_valued:
        return _set_sub_attribute(attribute, sub, value, current if isinstance(current, Mapping) else {})
    elements = _as_list(current) or [{}]
    return _compact(
        [
            _set_sub_attribute(attribute, sub, value, element if isinstance(element, Mapping) else {})
            for element in elements
        ]
    )


def _remove_sub_attribute(target: Target, current: Any) -> Any:
    attribute, sub = target.attribute, target.sub_attribute
    assert sub is not None
    if attribute.multi_valued:
        return _compact(
            [
                _set_sub_attribute(attribute, sub, None, element) if isinstance(element, Mapping) else element
                for element in _as_list(current)
            ]
        )
    if not isinstance(current, Mapping):
        return current
    return _set_sub_attribute(attribute, sub, None, current) or None


def _set_sub_attribute(
    attribute: AttributeDef, sub: AttributeDef, value: Any, element: Mapping[str, Any]
) -> dict[str, Any]:
    before = get_member(element, sub.name)
    _check_sub_attribute(attribute, sub, before, value)
    return with_member(element, sub.name, value)


def _check_sub_attribute(attribute: AttributeDef, sub: AttributeDef, before: Any, after: Any) -> None:
    if equivalent(sub, before, after):
        return
    if sub.mutability is Mut.READ_ONLY:
        raise Mutability(f"'{attribute.name}.{sub.name}' is readOnly and cannot be changed.")
    if sub.mutability is Mut.IMMUTABLE and not is_empty(before):
        raise Mutability(
            f"'{attribute.name}.{sub.name}' is immutable: it can be set when it has no value, not changed."
        )


def _check_replaced_record(
    attribute: AttributeDef, before: Mapping[str, Any], after: Mapping[str, Any]
) -> None:
    """A value that replaces `before` whole: immutable sub-attributes keep their value, and read-only
    ones given in `after` must be the value they have (RFC 7644 §3.5.2)."""
    for sub in attribute.sub_attributes:
        given = get_member(after, sub.name)
        if sub.mutability is Mut.IMMUTABLE or (sub.mutability is Mut.READ_ONLY and not is_empty(given)):
            _check_sub_attribute(attribute, sub, get_member(before, sub.name), given)


def _put_complex(attribute: AttributeDef, value: Any, current: Any) -> Any:
    new = _complex(attribute, value)
    if not isinstance(current, Mapping) or _other_reference(attribute, new, current):
        _check_replaced_record(attribute, current if isinstance(current, Mapping) else {}, new)
        return new or current
    return _merge(attribute, new, current)


def _other_reference(attribute: AttributeDef, new: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether `new` names another resource than `current` through its ``value`` sub-attribute."""
    sub = attribute.sub_attribute("value")
    if sub is None:
        return False
    before, after = get_member(current, sub.name), get_member(new, sub.name)
    return not is_empty(before) and not is_empty(after) and not equivalent(sub, before, after)


def _merge(attribute: AttributeDef, new: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for name, item in new.items():
        sub = attribute.sub_attribute(name)
        if sub is None:
            merged = with_member(merged, name, item)
        else:
            merged = _set_sub_attribute(attribute, sub, item, merged)
    return merged


def _complex(attribute: AttributeDef, value: Any) -> dict[str, Any]:
    """A complex value with canonical sub-attribute names and without nulls.

    Entra's member values carry ``"$ref": null``, which is simply unassigned (RFC 7643 §2.5).
    Read-only sub-attributes stay, so that the operation can refuse a change of one (``mutability``).

    Tolerance (Microsoft Entra ID): the enterprise ``manager`` is sent as a bare id,
    ``{"op":"Add","path":"urn:…:enterprise:2.0:User:manager","value":"<id>"}`` (ENTRA-MANAGER in
    docs/scim.md); for ``manager`` only, a string stands for ``{"value": <string>}``. Any other
    complex attribute needs an object.
    """
    if isinstance(value, Mapping):
        return _cleaned(attribute, value)
    value_sub = attribute.sub_attribute("value")
    if isinstance(value, str) and attribute.name == "manager" and value_sub is not None:
        return {value_sub.name: value}
    raise InvalidValue(f"'{attribute.name}' is complex: its value must be an object of its sub-attributes.")


def _cleaned(attribute: AttributeDef, value: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, item in value.items():
        sub = attribute.sub_attribute(name) if isinstance(name, str) else None
        if item is None:
            continue
        cleaned[name if sub is None else sub.name] = item  # an unknown one: the normaliser's to refuse
    return cleaned


def _elements(attribute: AttributeDef, value: Any) -> list[Any]:
    """The values given for a multi-valued attribute: an array (RFC 7643 §2.4), its nulls dropped."""
    if not isinstance(value, list):
        raise InvalidValue(f"'{attribute.name}' is multi-valued: its value must be an array (RFC 7643 §2.4).")
    if not attribute.is_complex:
        return [item for item in value if item is not None]
    return [
        element for element in (_complex(attribute, item) for item in value if item is not None) if element
    ]


def _unique(elements: list[Any]) -> list[Any]:
    seen: set[str] = set()
    unique: list[Any] = []
    for element in elements:
        fingerprint = _fingerprint(element)
        if fingerprint not in seen:
            seen.add(fingerprint)
            unique.append(element)
    return unique


def _compact(elements: list[Any]) -> list[Any] | None:
    """Drop values left empty; an attribute left with no value is unassigned (RFC 7644 §3.5.2.2)."""
    kept = [element for element in elements if not is_empty(element)]
    return kept or None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _fingerprint(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _sub_value(element: Any, name: str) -> Any:
    return get_member(element, name) if isinstance(element, Mapping) else None


def _is_true(value: Any) -> bool:
    return _as_bool(value) is True


def _as_bool(value: Any) -> Any:
    """Tolerance (Microsoft Entra ID): booleans sent as the strings "True" and "False"."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _comparable(definition: AttributeDef, value: Any) -> Any:
    if is_empty(value):
        return None
    if isinstance(value, list):
        items = [_comparable_one(definition, item) for item in value]
        return [item for item in items if item is not None] or None
    return _comparable_one(definition, value)


def _comparable_one(definition: AttributeDef, value: Any) -> Any:
    if isinstance(value, Mapping) and definition.is_complex:
        members: dict[Any, Any] = {}
        for name, item in value.items():
            sub = definition.sub_attribute(name) if isinstance(name, str) else None
            comparable = _comparable(sub, item) if sub is not None else (None if is_empty(item) else item)
            if comparable is not None:
                members[sub.name if sub is not None else name] = comparable
        return members or None
    if definition.type is AttributeType.BOOLEAN:
        return _as_bool(value)
    return value
