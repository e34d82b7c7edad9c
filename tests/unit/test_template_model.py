"""template.yaml as models: routes, authorizer, gateway responses, table shape, intrinsics."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from scimctl.local_aws import local_refs
from scimctl.template import (
    CfnLoader,
    TemplateError,
    function_environment,
    load_template,
    resolve,
    table_create_kwargs,
    table_ttl_attribute,
)
from tests.conftest import ROOT, TEMPLATE

SCIM = "application/scim+json"
REFS: dict[str, Any] = {
    "AWS::StackName": "scim-local",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "ScimTable": "scim-local",
    "LogLevel": "INFO",
}


def test_short_tags_load_as_long_form_intrinsics() -> None:
    text = """
    a: !Ref Param
    b: !Sub "x-${AWS::Region}"
    c: !GetAtt Table.Arn
    d: !GetAtt [Table, StreamArn]
    e: !If [IsProd, 1, 2]
    f: !Join [",", [!Ref A, b]]
    g: !Select [0, !Split [",", "p,q"]]
    """
    assert yaml.load(text, Loader=CfnLoader) == {  # noqa: S506 - CfnLoader is a SafeLoader
        "a": {"Ref": "Param"},
        "b": {"Fn::Sub": "x-${AWS::Region}"},
        "c": {"Fn::GetAtt": ["Table", "Arn"]},
        "d": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "e": {"Fn::If": ["IsProd", 1, 2]},
        "f": {"Fn::Join": [",", [{"Ref": "A"}, "b"]]},
        "g": {"Fn::Select": [0, {"Fn::Split": [",", "p,q"]}]},
    }


def test_every_discovery_endpoint_is_a_get_route_of_the_discovery_function() -> None:
    routes = {(r.method, r.path) for r in TEMPLATE.routes if r.function_id == "DiscoveryFunction"}
    paths = {
        "/scim/v2/{tenant}/ServiceProviderConfig",
        "/scim/v2/{tenant}/ResourceTypes",
        "/scim/v2/{tenant}/ResourceTypes/{name}",
        "/scim/v2/{tenant}/Schemas",
        "/scim/v2/{tenant}/Schemas/{urn}",
    }
    # GET serves the document; ANY reaches the function so other methods get a SCIM 405.
    assert routes == {("GET", p) for p in paths} | {("ANY", p) for p in paths}


def test_authorizer_is_the_request_authorizer_cached_by_authorization_header() -> None:
    authorizer = TEMPLATE.authorizer
    assert authorizer is not None
    assert authorizer.function_id == "AuthorizerFunction"
    assert authorizer.handler == "handlers.authorizer.lambda_handler"
    assert authorizer.identity_headers == ("Authorization",)
    assert authorizer.ttl_seconds == 300


def test_parameter_override_changes_the_authorizer_ttl() -> None:
    template = load_template(ROOT / "template.yaml", {"AuthorizerCacheTtl": "0"})
    assert template.authorizer is not None
    assert template.authorizer.ttl_seconds == 0
    assert template.parameters["AuthorizerCacheTtl"] == "0"


def test_unauthorized_gateway_response_is_a_scim_401_with_www_authenticate() -> None:
    response = TEMPLATE.gateway_responses["UNAUTHORIZED"]
    assert response.status_code == 401
    # Single quotes are API Gateway's literal syntax, not part of the value.
    assert response.headers == {"Content-Type": SCIM, "WWW-Authenticate": 'Bearer realm="scim"'}
    assert response.body_template is not None
    body = json.loads(response.body_template)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "401"


@pytest.mark.parametrize("response_type", sorted(TEMPLATE.gateway_responses))
def test_every_gateway_response_is_a_scim_error_whose_status_matches(response_type: str) -> None:
    response = TEMPLATE.gateway_responses[response_type]
    assert response.headers["Content-Type"] == SCIM
    assert response.body_template is not None
    assert json.loads(response.body_template)["status"] == str(response.status_code)
    if response.status_code in (429, 503, 504):
        assert int(response.headers["Retry-After"]) > 0


def test_table_kwargs_are_the_templates_table() -> None:
    props = TEMPLATE.document["Resources"]["ScimTable"]["Properties"]
    kwargs = table_create_kwargs(TEMPLATE)
    assert "TableName" not in kwargs  # the caller names the table
    assert kwargs["KeySchema"] == props["KeySchema"]
    assert kwargs["AttributeDefinitions"] == props["AttributeDefinitions"]
    assert kwargs["GlobalSecondaryIndexes"] == props["GlobalSecondaryIndexes"]
    assert kwargs["BillingMode"] == props["BillingMode"] == "PAY_PER_REQUEST"
    assert kwargs["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": props["StreamSpecification"]["StreamViewType"],
    }
    assert table_ttl_attribute(TEMPLATE) == props["TimeToLiveSpecification"]["AttributeName"]


def test_resolve_ref_and_sub() -> None:
    assert resolve({"Ref": "ScimTable"}, REFS) == "scim-local"
    assert resolve({"Fn::Sub": "scim/${AWS::StackName}/"}, REFS) == "scim/scim-local/"
    assert resolve({"Fn::Sub": ["${Name}-${AWS::Region}", {"Name": {"Ref": "LogLevel"}}]}, REFS) == (
        "INFO-eu-west-1"
    )
    assert resolve({"Fn::Sub": "${!Literal}"}, REFS) == "${Literal}"
    assert resolve({"Fn::GetAtt": ["ScimTable", "Arn"]}, REFS).startswith("arn:aws:")
    assert resolve({"Fn::Join": ["/", [{"Ref": "ScimTable"}, "x"]]}, REFS) == "scim-local/x"
    assert resolve({"Fn::Select": [1, ["a", "b"]]}, REFS) == "b"
    assert resolve({"Fn::If": ["Prod", "p", "d"]}, REFS, {"Prod": False}) == "d"
    assert resolve({"A": {"Ref": "AWS::NoValue"}, "B": 1}, REFS) == {"B": 1}


def test_resolve_fails_loudly_on_an_unknown_name() -> None:
    with pytest.raises(TemplateError, match="Missing"):
        resolve({"Ref": "Missing"}, REFS)
    with pytest.raises(TemplateError, match="Missing"):
        resolve({"Fn::Sub": "${Missing}"}, REFS)


def test_function_environment_merges_globals_and_resolves_for_the_local_stack() -> None:
    refs = local_refs(TEMPLATE, stack_name="scim-local", region="us-east-1")
    env = function_environment(TEMPLATE, "AuthorizerFunction", refs)
    assert env["TABLE_NAME"] == "scim-local"
    assert env["SECRETS_PREFIX"] == "scim/scim-local/"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Scim/scim-local"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert env["TOKEN_HASH_CACHE_SECONDS"] == "60"  # the function's own, from the parameter default
    assert "TOKEN_HASH_CACHE_SECONDS" not in function_environment(TEMPLATE, "DiscoveryFunction", refs)
