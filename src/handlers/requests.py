"""Reading a SCIM request out of the API Gateway event: body, headers, list parameters.

`json_body` is the one door for request bodies: whatever bytes arrive, it returns parsed JSON or
raises a SCIM 400 (invalidSyntax), 413 (tooLarge) or 415, never anything that becomes a 500. The
limits it enforces are in `core.limits`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from itertools import accumulate
from typing import Any, Final

from core.errors import InvalidSyntax, PayloadTooLarge, UnsupportedMediaType
from core.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH
from handlers.routing import Router

__all__ = [
    "MAX_BODY_BYTES",
    "body_size",
    "header",
    "json_body",
    "nesting_depth",
    "parse_json",
    "query_params",
    "raw_body",
]

_JSON_TYPES: Final = ("application/scim+json", "application/json")
_NOT_JSON: Final = "The request body is not valid JSON."
# For `nesting_depth`: escapes first (so an escaped quote cannot end a string), then strings (so
# brackets inside them do not count), then everything but brackets. Each pattern is linear.
_ESCAPE: Final = re.compile(r"\\.", re.DOTALL)
_STRING: Final = re.compile(r'"[^"]*"')
_NOT_BRACKET: Final = re.compile(r"[^\[\]{}]+")
_STEP: Final = {"[": 1, "{": 1, "]": -1, "}": -1}
# A \u escape of a UTF-16 surrogate: legal JSON only as a high + low pair (an emoji, say).
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")


def header(app: Router, name: str) -> str | None:
    return app.request.header(name)


def raw_body(app: Router) -> str | None:
    """The body as text; a body that is not UTF-8 (or not base64 when flagged so) is a 400."""
    request = app.request
    if not request.is_base64_encoded or request.body is None:
        return request.body
    try:
        return base64.b64decode(request.body).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidSyntax("The request body is not UTF-8 encoded JSON text (RFC 8259 §8.1).") from None


def body_size(app: Router) -> int:
    """The request body's size in bytes, as the client sent it."""
    request = app.request
    if request.body is None:
        return 0
    if request.is_base64_encoded:
        try:
            return len(base64.b64decode(request.body))
        except binascii.Error:
            return len(request.body)
    if request.body.isascii():
        return len(request.body)
    # surrogatepass: a body holding lone surrogates is measured here and refused by json_body.
    return len(request.body.encode("utf-8", "surrogatepass"))


def json_body(app: Router) -> dict[str, Any]:
    """The request body as JSON; any failure is a SCIM 400/413/415, never a 500."""
    request = app.request
    if request.body is None or request.body.strip() == "":
        raise InvalidSyntax("The request body is empty; a JSON object is required.")
    if body_size(app) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    content_type = (header(app, "Content-Type") or "").split(";")[0].strip().lower()
    # Lenient: some IdPs send no Content-Type, or text/json; anything clearly not JSON is refused.
    if content_type and not (content_type in _JSON_TYPES or content_type.endswith("json")):
        raise UnsupportedMediaType()
    parsed = parse_json(raw_body(app) or "")
    # Every SCIM request body is an object (a resource, PatchOp, SearchRequest or BulkRequest):
    # refused here, before a PUT or PATCH looks up its resource and answers 404 to a malformed body.
    if not isinstance(parsed, dict):
        raise InvalidSyntax("The request body must be a JSON object.")
    return parsed


def parse_json(raw: str) -> Any:
    """Strict JSON (RFC 8259) within `core.limits.MAX_JSON_DEPTH`; any failure is `InvalidSyntax`."""
    if not raw.isascii() and not _is_utf8(raw):
        raise InvalidSyntax("The request body is not UTF-8 encoded JSON text (RFC 8259 §8.1).")
    # Counting every bracket, in strings too, over-counts: only a text that could nest too deep is
    # measured exactly.
    depth = nesting_depth(raw) if raw.count("[") + raw.count("{") > MAX_JSON_DEPTH else 0
    if depth > MAX_JSON_DEPTH:
        raise InvalidSyntax(
            f"The request body nests arrays and objects {depth} deep; at most {MAX_JSON_DEPTH}."
        )
    try:
        parsed = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):  # RecursionError: unreachable within MAX_JSON_DEPTH
        raise InvalidSyntax(_NOT_JSON) from None
    if _SURROGATE_ESCAPE.search(raw) and not _is_utf8(json.dumps(parsed, ensure_ascii=False)):
        raise InvalidSyntax(f"{_NOT_JSON[:-1]}: it escapes an unpaired UTF-16 surrogate.")
    return parsed


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in the JSON `text` (0 for a scalar), in linear time.

    Counted on the text, before parsing: brackets inside strings are skipped, an unbalanced text
    gives the depth it reaches. Python's parser and every recursive walk of its result are thus
    safe from stack exhaustion.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets)), default=0))


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _no_constant(name: str) -> Any:
    # Python accepts NaN, Infinity and -Infinity; JSON (RFC 8259 §6) has no such numbers.
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise ValueError("number out of range")
    return value


def query_params(app: Router) -> dict[str, str]:
    return app.request.query
