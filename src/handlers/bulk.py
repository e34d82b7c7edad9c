"""The Bulk endpoint (RFC 7644 §3.7) and the search at the root (§3.4.3): thin routes over `core.bulk`."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.bulk import BulkEngine, bulk_response, check_payload_size, parse_bulk_request, search_all
from core.groups.service import member_refs_json
from core.query.request import from_search_body
from core.schema.urns import LIST_RESPONSE_SCHEMA
from core.store.resources_table import StoredResource
from handlers.audit import audit_writes, record_bulk_results
from handlers.http import scim_response, scim_router
from handlers.observability import lambda_entry, logger, metrics
from handlers.requests import body_size, json_body
from handlers.resources import caller, groups_service, list_body, request_projection, users_service
from handlers.routing import Response

app = scim_router()
app.use(middlewares=[audit_writes])  # every write is recorded in the tenant's audit trail


@app.post("/scim/v2/<tenant>/Bulk")
def bulk(tenant: str) -> Response:
    who = caller(app, tenant)
    # Before json_body's own 1 MB cap, so that the 413 names maxPayloadSize (RFC 7644 §3.7.4).
    check_payload_size(body_size(app))
    request = parse_bulk_request(json_body(app))
    engine = BulkEngine(
        who, users_service(), groups_service(), remaining_ms=app.request.context.get_remaining_time_in_millis
    )
    results = engine.run(request)
    record_bulk_results(request.operations, results)
    statuses = Counter(str(r.status) for r in results)
    logger.info(
        "bulk processed",
        extra={"operations": len(request.operations), "processed": len(results), "statuses": dict(statuses)},
    )
    metrics.add_metric(name="BulkOperations", unit=MetricUnit.Count, value=len(results))
    return scim_response(200, bulk_response(results))


@app.post("/scim/v2/<tenant>/.search")
def search_root(tenant: str) -> Response:
    who = caller(app, tenant)
    request = from_search_body(json_body(app))
    found = search_all(who, request, users_service(), groups_service())
    # As GET /Users: a user's `groups` costs one Query, so it is returned only when named.
    wants_groups = any(a.lower().split(".")[0].endswith("groups") for a in request.attributes)
    group_shape = request_projection(groups_service(), request, who)
    wants_members = group_shape.needs("members")

    def groups_of(user: StoredResource) -> dict[str, Any]:
        refs = users_service().groups(who, user.id) if wants_groups else []
        return {"groups": refs} if refs else {}

    def members_of(group: StoredResource) -> dict[str, Any]:
        view = groups_service().view(who, group, wants_members)
        return {"members": member_refs_json(who, view.members)} if view.members else {}

    resources = [
        *list_body(who, found.users, request_projection(users_service(), request, who), groups_of)[
            "Resources"
        ],
        *list_body(who, found.groups, group_shape, members_of)["Resources"],
    ]
    body = {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": found.total,
        "itemsPerPage": len(resources),
        "startIndex": found.start_index,
        "Resources": resources,
    }
    return scim_response(200, body)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
