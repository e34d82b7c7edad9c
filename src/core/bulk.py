"""Requests that span resource types: ``POST /Bulk`` (RFC 7644 §3.7) and ``POST /.search`` (§3.4.3).

Both are pure orchestration over `UserService` and `GroupService`: every operation goes through
the same service call, with the same `Caller`, as the single-resource endpoint would make, so
every rule (schema validation, uniqueness, membership checks, If-Match, tenant isolation) applies
unchanged. Nothing here speaks HTTP; the handler serialises what this module returns.

Bulk, quoting RFC 7644 §3.7 where it speaks:

* "The service provider MUST continue performing as many changes as possible and disregard
  partial failures. The client MAY override this behavior by specifying a value for the
  "failOnErrors" attribute." ``failOnErrors`` (an integer ≥ 1) stops processing after that many
  errors; the response holds the operations processed until then.
* "A service provider MAY elect to optimize the sequence of operations received [...] the service
  provider MUST ensure that the client's intent is preserved and the same stateful result is
  achieved as for non-optimized processing." Operations run in request order, except that an
  operation referencing a ``bulkId`` runs after the POST that defines it (the POST is moved just
  before its first user). The response lists operations in request order.
* §3.7.2: "The "bulkId" attribute value must be prepended with the literal "bulkId:" [...] The
  service provider MUST replace the string "bulkId:qwerty" with the permanent resource id once
  created." Any string value equal to ``bulkId:<id>`` anywhere in ``data`` (``members[].value``,
  ``manager.value``, PATCH values), and a ``bulkId:<id>`` path segment (``/Groups/bulkId:<id>``),
  is replaced. Only POST operations define ``bulkId`` values that can be referenced.
* §3.7.1: "The service provider MUST try to resolve circular cross-references between resources
  in a single bulk job but MAY stop after a failed attempt and instead return HTTP status code 409
  (Conflict)." This service does not break cycles by creating and then patching: every operation
  on a cycle of ``bulkId`` references (A's data names B and B's names A, or A names itself) fails
  with 409. A reference to a ``bulkId`` that no POST defines, or whose POST failed, is also 409:
  the value cannot be resolved. These carry ``scimType`` ``invalidValue`` (the unresolvable value
  is the cause); the RFC fixes only the status.
* §3.7.3: "The "status" attribute MUST include the code attribute that holds the HTTP response
  code that would have been returned if a single HTTP request would have been used." So a POST is
  201, PUT 200, PATCH 200 for a User and 204 for a Group (what ``PATCH /Groups/{id}`` answers),
  DELETE 204; a failure carries the SCIM error document as ``response``. "A "location" attribute
  that includes the resource's endpoint MUST be returned for all operations except for failed POST
  operations (which have no location)."
* §3.7.4: maxOperations and maxPayloadSize; "If either limit is exceeded, the service provider
  MUST return HTTP response code 413 (Payload Too Large). The returned response MUST specify the
  limit exceeded in the body of the error response."

A time budget guards the function's Timeout (25 s, under API Gateway's 29 s): when the caller's
remaining time falls under `TIME_MARGIN_MS`, the operations not yet attempted are answered 503
(retry them) instead of letting the whole request time out with the outcome of every operation
unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final
from urllib.parse import unquote

from core.errors import (
    Conflict,
    InvalidSyntax,
    InvalidValue,
    PayloadTooLarge,
    ScimError,
    ServiceUnavailable,
)
from core.filter import And, AttrPath, Compare, Filter, Or, Present, ValuePath, parse_filter
from core.filter.ast import chain_operands
from core.groups.service import GroupService
from core.limits import BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES
from core.query.attribute_info import SchemaAttributeInfo, attribute_info
from core.query.listing import ListResult
from core.query.request import SearchRequest
from core.representation import etag, location
from core.resource_service import Caller, ResourceService
from core.schema.registry import resolve_path
from core.schema.urns import BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA
from core.store.keys import Kind
from core.store.resources_table import StoredResource
from core.users import UserService

MAX_OPERATIONS: Final = BULK_MAX_OPERATIONS  # core.limits lists every input limit
MAX_PAYLOAD_BYTES: Final = BULK_MAX_PAYLOAD_BYTES
BULK_ID_PREFIX: Final = "bulkId:"
# Stop starting operations when less than this is left of the invocation: a DynamoDB transaction,
# a cold start's init time (counted by API Gateway, not by Lambda) and the response all fit in it.
TIME_MARGIN_MS: Final = 5000

_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ENDPOINTS: Final = {"users": Kind.USER, "groups": Kind.GROUP}


class UnresolvedReference(Conflict):
    """A ``bulkId`` reference that cannot be resolved (RFC 7644 §3.7.1, §3.7.2): 409."""

    scim_type = "invalidValue"
    default_detail = "A bulkId reference cannot be resolved."


# -- the request ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BulkOperation:
    """One entry of ``Operations``; `problem` is set when the entry itself is malformed."""

    index: int
    method: str | None
    path: str | None = None
    bulk_id: str | None = None
    version: str | None = None
    data: Any = None
    references: frozenset[str] = frozenset()
    problem: ScimError | None = None


@dataclass(frozen=True, slots=True)
class BulkRequest:
    operations: tuple[BulkOperation, ...]
    fail_on_errors: int | None = None


def check_payload_size(size: int) -> None:
    """RFC 7644 §3.7.4: a body over maxPayloadSize is 413 ``tooLarge``, naming the limit."""
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"The size of the bulk operation ({size} bytes) exceeds the maxPayloadSize ({MAX_PAYLOAD_BYTES})."
        )


def parse_bulk_request(body: Any) -> BulkRequest:
    """A BulkRequest body; attribute names and the schema URN are matched case-insensitively.

    Problems with the request as a whole are raised (400, or 413 for too many operations); a
    malformed operation becomes that operation's error and the others still run.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("The bulk request body must be a JSON object.")
    fields = _lowered(body)
    schemas = fields.get("schemas")
    if not isinstance(schemas, list) or BULK_REQUEST_SCHEMA.lower() not in {str(s).lower() for s in schemas}:
        raise InvalidSyntax(f"A bulk request must list the schema {BULK_REQUEST_SCHEMA}.")
    operations = fields.get("operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("A bulk request needs a non-empty 'Operations' list.")
    if len(operations) > MAX_OPERATIONS:
        raise PayloadTooLarge(
            f"The bulk request has {len(operations)} operations; maxOperations is {MAX_OPERATIONS}."
        )
    parsed = tuple(_operation(index, raw) for index, raw in enumerate(operations))
    _check_unique_bulk_ids(parsed)
    return BulkRequest(parsed, _fail_on_errors(fields.get("failonerrors")))


def _lowered(raw: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(key).lower(): value for key, value in raw.items()}


def _fail_on_errors(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValue("failOnErrors must be an integer of at least 1.")
    return value


def _operation(index: int, raw: Any) -> BulkOperation:
    if not isinstance(raw, dict):
        return BulkOperation(index, None, problem=InvalidSyntax("Each operation must be a JSON object."))
    fields = _lowered(raw)
    method = fields.get("method")
    op = BulkOperation(
        index=index,
        method=method.upper() if isinstance(method, str) else None,
        path=fields.get("path") if isinstance(fields.get("path"), str) else None,
        bulk_id=fields.get("bulkid") if isinstance(fields.get("bulkid"), str) else None,
        version=fields.get("version") if isinstance(fields.get("version"), str) else None,
        data=fields.get("data"),
    )
    problem = _problem(op, fields)
    references = frozenset(_path_references(op.path or "")) | frozenset(_data_references(op.data))
    return replace(op, problem=problem, references=references)


def _problem(op: BulkOperation, fields: dict[str, Any]) -> ScimError | None:
    """What makes one operation unusable, checked before anything runs."""
    if op.method not in _METHODS:
        return InvalidSyntax("An operation's 'method' must be POST, PUT, PATCH or DELETE.")
    if op.path is None:
        return InvalidSyntax("An operation needs a 'path', e.g. /Users or /Groups/{id}.")
    for key, name in (("bulkid", "bulkId"), ("version", "version")):
        if fields.get(key) is not None and not isinstance(fields[key], str):
            return InvalidSyntax(f"An operation's '{name}' must be a string.")
    if op.method == "POST" and not op.bulk_id:
        return InvalidSyntax("A POST operation needs a 'bulkId' (RFC 7644 §3.7).")
    if op.method != "DELETE" and not isinstance(op.data, dict):
        return InvalidSyntax(f"A {op.method} operation needs 'data', a JSON object.")
    return None


def _check_unique_bulk_ids(operations: Sequence[BulkOperation]) -> None:
    seen: set[str] = set()
    for op in operations:
        if op.bulk_id is None:
            continue
        if op.bulk_id in seen:
            raise InvalidValue(
                f"bulkId {op.bulk_id[:64]!r} appears in more than one operation; "
                "bulkIds must be unique within a bulk request."
            )
        seen.add(op.bulk_id)


def _path_references(path: str) -> Iterator[str]:
    for segment in path.split("/"):
        if segment.startswith(BULK_ID_PREFIX):
            yield segment[len(BULK_ID_PREFIX) :]


def _data_references(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str) and current.startswith(BULK_ID_PREFIX):
            yield current[len(BULK_ID_PREFIX) :]
        elif isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def _substitute(value: Any, ids: Mapping[str, str]) -> Any:
    """`value` with every ``"bulkId:<id>"`` string replaced by the created resource's id."""
    if isinstance(value, str) and value.startswith(BULK_ID_PREFIX):
        return ids.get(value[len(BULK_ID_PREFIX) :], value)
    if isinstance(value, dict):
        return {key: _substitute(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, ids) for item in value]
    return value


# -- the order --------------------------------------------------------------------------------
def execution_plan(operations: Sequence[BulkOperation]) -> tuple[list[int], set[int]]:
    """(the order to run the operations in, the operations on a cycle of bulkId references).

    A depth-first walk in request order that emits each operation after the POSTs it references
    (RFC 7644 §3.7: the server may reorder if the result is the same). A reference back to an
    operation still on the walk's stack closes a cycle: every operation on that stretch of the
    stack is marked. Every operation not marked runs after all the POSTs it references.
    """
    creators = {op.bulk_id: op.index for op in operations if op.method == "POST" and op.bulk_id}
    deps = [sorted({creators[r] for r in op.references if r in creators}) for op in operations]
    state = [0] * len(operations)  # 0: not seen, 1: on the stack, 2: emitted
    order: list[int] = []
    cyclic: set[int] = set()
    for root in range(len(operations)):
        if state[root] == 0:
            _walk(root, deps, state, order, cyclic)
    return order, cyclic


def _walk(root: int, deps: list[list[int]], state: list[int], order: list[int], cyclic: set[int]) -> None:
    state[root] = 1
    stack: list[tuple[int, Iterator[int]]] = [(root, iter(deps[root]))]
    while stack:
        node, edges = stack[-1]
        following = next(edges, None)
        if following is None:
            stack.pop()
            state[node] = 2
            order.append(node)
        elif state[following] == 0:
            state[following] = 1
            stack.append((following, iter(deps[following])))
        elif state[following] == 1:
            on_stack = [n for n, _ in stack]
            cyclic.update(on_stack[on_stack.index(following) :])


# -- running it -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OperationResult:
    """One entry of the BulkResponse's ``Operations`` (RFC 7644 §3.7.3)."""

    index: int
    method: str | None
    bulk_id: str | None
    status: int
    location: str | None = None
    version: str | None = None
    response: dict[str, Any] | None = None  # the SCIM error document of a failed operation

    @property
    def failed(self) -> bool:
        return self.response is not None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.location:
            out["location"] = self.location
        if self.method:
            out["method"] = self.method
        if self.bulk_id is not None:
            out["bulkId"] = self.bulk_id
        if self.version:
            out["version"] = self.version
        out["status"] = str(self.status)  # a string, as in every example of RFC 7644 §3.7.3
        if self.response is not None:
            out["response"] = self.response
        return out


def bulk_response(results: Sequence[OperationResult]) -> dict[str, Any]:
    return {"schemas": [BULK_RESPONSE_SCHEMA], "Operations": [r.to_json() for r in results]}


@dataclass(frozen=True, slots=True)
class _Target:
    kind: Kind
    resource_id: str | None  # None for a POST
    data: Any


@dataclass
class BulkEngine:
    """Runs one `BulkRequest` for one caller (an engine per request: it remembers the bulkIds).

    `remaining_ms` reports the invocation's time left (the Lambda context's clock).
    """

    caller: Caller
    users: UserService
    groups: GroupService
    remaining_ms: Callable[[], int] | None = None
    _created: dict[str, str] = field(default_factory=dict, init=False)  # bulkId → new resource id
    _creators: dict[str, int] = field(default_factory=dict, init=False)  # bulkId → its POST's index

    def run(self, request: BulkRequest) -> list[OperationResult]:
        """The results of the processed operations, in request order."""
        order, cyclic = execution_plan(request.operations)
        self._creators = {
            op.bulk_id: op.index for op in request.operations if op.method == "POST" and op.bulk_id
        }
        results: dict[int, OperationResult] = {}
        errors = 0
        for position, index in enumerate(order):
            if self._out_of_time():
                for rest in order[position:]:
                    results[rest] = _failure(request.operations[rest], None, self.caller, _NOT_ATTEMPTED)
                break
            result = self._execute(request.operations[index], index in cyclic)
            results[index] = result
            errors += result.failed
            if request.fail_on_errors is not None and errors >= request.fail_on_errors:
                break
        return [results[index] for index in sorted(results)]

    def _out_of_time(self) -> bool:
        return self.remaining_ms is not None and self.remaining_ms() < TIME_MARGIN_MS

    def _execute(self, op: BulkOperation, in_cycle: bool) -> OperationResult:
        target: _Target | None = None
        try:
            if op.problem is not None:
                raise op.problem
            target = self._target(op, in_cycle)
            return self._dispatch(op, target)
        except ScimError as error:
            return _failure(op, target, self.caller, error)

    def _target(self, op: BulkOperation, in_cycle: bool) -> _Target:
        for reference in sorted(op.references):
            if reference not in self._created:
                raise self._unresolved(reference, in_cycle)
        path = "/".join(
            self._created[s[len(BULK_ID_PREFIX) :]] if s.startswith(BULK_ID_PREFIX) else s
            for s in (op.path or "").split("/")
        )
        kind, resource_id = _parse_path(op.method or "", path)
        data = _substitute(op.data, self._created) if op.references else op.data
        return _Target(kind, resource_id, data)

    def _unresolved(self, reference: str, in_cycle: bool) -> UnresolvedReference:
        shown = f"bulkId:{reference[:64]}"
        if reference not in self._creators:
            return UnresolvedReference(f"{shown!r} is not the bulkId of any POST operation in this request.")
        if in_cycle:
            return UnresolvedReference(
                f"{shown!r} is part of a circular chain of bulkId references; this service does not "
                "resolve circular references (RFC 7644 §3.7.1). Create the resources first, then link them."
            )
        return UnresolvedReference(f"The operation with {shown!r} did not succeed, so its id is unknown.")

    def _dispatch(self, op: BulkOperation, target: _Target) -> OperationResult:
        if op.method == "POST":
            created = self._create(target)
            self._created[op.bulk_id or ""] = created.id
            return _success(op, created, self.caller, 201)
        assert target.resource_id is not None
        if op.method == "DELETE":
            self._service(target).delete(self.caller, target.resource_id, op.version)
            return OperationResult(
                op.index,
                op.method,
                op.bulk_id,
                204,
                location(self.caller.base_url, target.kind, target.resource_id),
            )
        if op.method == "PUT":
            replaced = self._service(target).replace(self.caller, target.resource_id, target.data, op.version)
            return _success(op, replaced, self.caller, 200)
        patched = self._service(target).patch(self.caller, target.resource_id, target.data, op.version)
        # The status PATCH /Groups/{id} answers on its own is 204 (see handlers.groups).
        return _success(op, patched, self.caller, 200 if target.kind is Kind.USER else 204)

    def _service(self, target: _Target) -> UserService | GroupService:
        return self.users if target.kind is Kind.USER else self.groups

    def _create(self, target: _Target) -> StoredResource:
        if target.kind is Kind.USER:
            return self.users.create(self.caller, target.data)
        return self.groups.create(self.caller, target.data).group


_NOT_ATTEMPTED = ServiceUnavailable(
    "This operation was not attempted: the bulk request ran out of time. Send it again.", retry_after=1
)


def _parse_path(method: str, path: str) -> tuple[Kind, str | None]:
    """``/Users`` or ``/Groups`` for a POST; ``/Users/{id}`` or ``/Groups/{id}`` otherwise."""
    parts = path.strip().strip("/").split("/")
    kind = _ENDPOINTS.get(parts[0].lower())
    if method == "POST":
        if kind is None or len(parts) != 1:
            raise InvalidValue(f"The path of a POST must be /Users or /Groups, not {path[:64]!r}.")
        return kind, None
    if kind is None or len(parts) != 2 or not parts[1]:
        raise InvalidValue(
            f"The path of a {method} must be /Users/{{id}} or /Groups/{{id}}, not {path[:64]!r}."
        )
    return kind, unquote(parts[1])


def _success(op: BulkOperation, resource: StoredResource, caller: Caller, status: int) -> OperationResult:
    return OperationResult(
        op.index,
        op.method,
        op.bulk_id,
        status,
        location=location(caller.base_url, resource.kind, resource.id),
        version=etag(resource),
    )


def _failure(op: BulkOperation, target: _Target | None, caller: Caller, error: ScimError) -> OperationResult:
    where = None
    if target is not None and target.resource_id is not None:
        where = location(caller.base_url, target.kind, target.resource_id)
    return OperationResult(op.index, op.method, op.bulk_id, error.status, where, response=error.to_document())


# -- POST /.search at the root (RFC 7644 §3.4.3) ------------------------------------------------
@dataclass(frozen=True, slots=True)
class RootSearchResult:
    """Users, then Groups: one page of their concatenation."""

    users: ListResult
    groups: ListResult
    start_index: int

    @property
    def total(self) -> int:
        return self.users.total + self.groups.total


def search_all(
    caller: Caller, request: SearchRequest, users: UserService, groups: GroupService
) -> RootSearchResult:
    """RFC 7644 §3.4.3: "When a POST is sent to the root [...] the search is across all resource types.

    The filter applies to each type on its own; a term naming an attribute a type does not have
    matches nothing there, and a type that the filter can therefore never match is not read at
    all. ``sortBy`` orders within each type (a type without that attribute keeps its default
    order). ``startIndex`` and ``count`` page through Users followed by Groups, and
    ``totalResults`` is the sum. Cursor paging (RFC 9865) cannot span two types: a ``cursor`` is
    400 ``invalidValue``.
    """
    if request.cursor is not None:
        raise InvalidValue(
            "Cursor paging is not supported by a search at the root; use startIndex and count, or "
            "search /Users/.search and /Groups/.search."
        )
    expr = parse_filter(request.filter) if request.filter else None
    first = _search_type(caller, users, request, expr, start_index=request.start_index, count=request.count)
    after = max(1, request.start_index - first.total)
    rest = max(0, request.count - len(first.resources))
    if not caller.profile.groups_enabled:  # a groups-off tenant has only Users to search
        return RootSearchResult(first, ListResult([], 0, after), request.start_index)
    second = _search_type(caller, groups, request, expr, start_index=after, count=rest)
    return RootSearchResult(first, second, request.start_index)


def _search_type(
    caller: Caller,
    service: ResourceService,
    request: SearchRequest,
    expr: Filter | None,
    *,
    start_index: int,
    count: int,
) -> ListResult:
    if expr is not None and never_matches(expr, attribute_info(service.schemas_for(caller))):
        return ListResult([], 0, start_index)
    sort_by = (
        request.sort_by
        if request.sort_by and resolve_path(service.schemas_for(caller), request.sort_by)
        else None
    )
    return service.list(caller, replace(request, start_index=start_index, count=count, sort_by=sort_by))


def never_matches(expr: Filter, info: SchemaAttributeInfo) -> bool:
    """True when `expr` can match no resource whose schemas are described by `info`.

    Proven only from attributes the schemas do not define (stored documents hold no others): a
    comparison other than ``ne`` with a non-null value, ``pr``, or ``[…]`` on such an attribute is
    false for every resource. ``and`` fails when any operand does, ``or`` when all do; ``not``
    proves nothing.
    """
    if isinstance(expr, And | Or):
        verdicts = (never_matches(term, info) for term in chain_operands(expr))
        return any(verdicts) if isinstance(expr, And) else all(verdicts)
    if isinstance(expr, Compare):
        return expr.op != "ne" and expr.value is not None and _undefined(expr.path, info)
    if isinstance(expr, Present | ValuePath):
        return _undefined(expr.path, info)
    return False  # not (…) proves nothing


def _undefined(path: AttrPath, info: SchemaAttributeInfo) -> bool:
    return info.info(path.schema, path.attr, path.sub_attr) is None
