"""The parameters of a list or search request (RFC 7644 §3.4.2, §3.4.3; RFC 9865 cursors).

Query strings (GET) and SearchRequest bodies (POST …/.search) become the same `SearchRequest`.
Parameter names are matched case-insensitively: some IdPs send ``StartIndex`` or ``Count``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidSyntax, InvalidValue
from core.limits import MAX_PARAM_LENGTH
from core.schema.urns import SEARCH_REQUEST_SCHEMA

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class SearchRequest:
    filter: str | None = None
    start_index: int = 1
    count: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None  # "" asks for the first page of cursor paging (RFC 9865 §2.1)
    sort_by: str | None = None
    descending: bool = False
    attributes: tuple[str, ...] = ()
    excluded_attributes: tuple[str, ...] = ()


def _split(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    parts = value if isinstance(value, list) else str(value).split(",")
    return tuple(p.strip() for p in parts if isinstance(p, str) and p.strip())


def _integer(name: str, value: Any, default: int) -> int:
    """RFC 7644 §3.4.2.4: startIndex < 1 is 1; negative count is 0. Non-numbers are an error."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidValue(f"{name} must be an integer.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"{name} must be an integer.") from None


def _sort_order(value: Any) -> bool:
    if value is None or value == "":
        return False
    order = str(value).lower()
    if order not in {"ascending", "descending"}:
        raise InvalidValue("sortOrder must be 'ascending' or 'descending'.")
    return order == "descending"


def build_request(params: Mapping[str, Any]) -> SearchRequest:
    p = {str(k).lower(): v for k, v in params.items()}
    for key, value in p.items():
        # A long filter is left to the filter parser, whose limit answers invalidFilter.
        if isinstance(value, str) and len(value) > MAX_PARAM_LENGTH and key != "filter":
            raise InvalidValue(f"Parameter {key!r} is longer than {MAX_PARAM_LENGTH} characters.")
    start = max(1, _integer("startIndex", p.get("startindex"), 1))
    count = min(MAX_PAGE_SIZE, max(0, _integer("count", p.get("count"), DEFAULT_PAGE_SIZE)))
    filter_text = p.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise InvalidValue("filter must be a string.")
    cursor = p.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise InvalidValue("cursor must be a string.")
    sort_by = p.get("sortby")
    return SearchRequest(
        filter=filter_text.strip() or None if filter_text else None,
        start_index=start,
        count=count,
        cursor=cursor,
        sort_by=str(sort_by) if sort_by else None,
        descending=_sort_order(p.get("sortorder")),
        attributes=_split(p.get("attributes")),
        excluded_attributes=_split(p.get("excludedattributes")),
    )


def from_query(params: Mapping[str, str] | None) -> SearchRequest:
    return build_request(params or {})


def from_search_body(body: Any) -> SearchRequest:
    """A POST …/.search body (RFC 7644 §3.4.3)."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The search request body must be a JSON object.")
    declared = body.get("schemas")
    schemas = [str(s).lower() for s in declared] if isinstance(declared, list) else []
    if SEARCH_REQUEST_SCHEMA.lower() not in schemas:
        raise InvalidSyntax(f"A search request must list the schema {SEARCH_REQUEST_SCHEMA}.")
    return build_request({k: v for k, v in body.items() if k.lower() != "schemas"})
