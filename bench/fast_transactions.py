"""Let benchmarks run DynamoDB transactions on big moto tables.

moto deep-copies every table for each TransactWriteItems, so a single-member PATCH on a
tenant with 100,000 users takes minutes in moto and milliseconds in DynamoDB. For benchmarks
only, this hook executes each transaction item as its own conditional write through a separate
client (so the counted client still sees exactly one TransactWriteItems call) and answers the
counted call itself. Conditions are still evaluated per item; atomicity across items is not
(benchmark workloads never contend). Never used by tests of behaviour.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse


def install(client: Any) -> None:
    raw = boto3.client("dynamodb", region_name=client.meta.region_name)

    def run_items(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        # DynamoDB speaks JSON: the serialised request body is the API parameters.
        for item in json.loads(params["body"])["TransactItems"]:
            ((kind, request),) = item.items()
            {
                "Put": raw.put_item,
                "Delete": raw.delete_item,
                "Update": raw.update_item,
                "ConditionCheck": _noop,
            }[kind](**request)
        return AWSResponse("https://dynamodb.local", 200, {}, None), {
            "ResponseMetadata": {"HTTPStatusCode": 200}
        }

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", run_items)


def _noop(**_: Any) -> None:
    return None
