"""template.yaml as typed models: the local gateway and the tests read everything from here.

`template.yaml` is the single source of truth for routes, the authorizer, gateway responses, the
table's shape and each function's environment. This module loads it with a YAML loader that
keeps CloudFormation short tags (``!Ref X`` becomes ``{"Ref": "X"}``, as the JSON form would be),
exposes frozen models of the parts a local run needs, and resolves intrinsic functions against a
dict of local values (`resolve`), so nothing here hard-codes a route, a key or a variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

FUNCTION_TYPE = "AWS::Serverless::Function"
API_TYPE = "AWS::Serverless::Api"
TABLE_TYPE = "AWS::DynamoDB::Table"
EVENT_BUS_TYPE = "AWS::Events::EventBus"
SECRET_TYPE = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type  # nosec B105
USAGE_PLAN_TYPE = "AWS::ApiGateway::UsagePlan"

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account
NO_VALUE = "AWS::NoValue"


class TemplateError(Exception):
    """The template cannot be read or resolved; the message names the offending part."""


# ---------------------------------------------------------------------------------------- loading
# Short tag → long form. Every CloudFormation intrinsic and condition function, so that a new one
# in the template is kept as data instead of failing the load.
_SHORT_TAGS: dict[str, str] = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "ForEach",
            "GetAtt",
            "GetAZs",
            "If",
            "ImportValue",
            "Join",
            "Length",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
            "ToJsonString",
            "Transform",
        )
    },
}


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags into their long-form dicts."""


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = _SHORT_TAGS.get(tag_suffix)
    if key is None:
        raise yaml.constructor.ConstructorError(None, None, f"unknown tag !{tag_suffix}", node.start_mark)
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if key == "Fn::GetAtt":  # "!GetAtt Res.Attr" is the list form ["Res", "Attr"]
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {key: value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_document(path: Path) -> dict[str, Any]:
    """The raw template, intrinsics in long form."""
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader  # nosec B506
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return document


# ---------------------------------------------------------------------------------------- models
@dataclass(frozen=True, slots=True)
class Route:
    """One ``Type: Api`` event of a function: what API Gateway routes to which handler."""

    method: str  # upper case; "ANY" matches every method
    path: str  # API Gateway path template, e.g. /scim/v2/{tenant}/Users/{id}
    function_id: str
    handler: str  # "handlers.users.lambda_handler"
    authorizer: str | None = None  # None: no Lambda authorizer (public, or AWS_IAM)
    iam: bool = False  # AWS_IAM: API Gateway checks the caller's SigV4 signature and IAM policies


@dataclass(frozen=True, slots=True)
class Authorizer:
    """A Lambda REQUEST authorizer of the API."""

    name: str
    function_id: str
    handler: str
    identity_headers: tuple[str, ...]
    ttl_seconds: int  # 0 disables API Gateway's decision cache


@dataclass(frozen=True, slots=True)
class GatewayResponse:
    """What API Gateway answers itself for an error type (UNAUTHORIZED, DEFAULT_5XX, …)."""

    type: str
    status_code: int | None  # None: keep the status of the error
    headers: Mapping[str, str]
    body_template: str | None


@dataclass(frozen=True, slots=True)
class Function:
    logical_id: str
    handler: str
    code_uri: str | None
    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, Any]  # Globals merged with the function's own; unresolved


@dataclass(frozen=True, slots=True)
class Template:
    path: Path
    document: Mapping[str, Any]
    parameters: Mapping[str, str]  # defaults merged with overrides, as strings
    functions: Mapping[str, Function]
    routes: tuple[Route, ...]
    authorizers: Mapping[str, Authorizer]
    gateway_responses: Mapping[str, GatewayResponse]
    stage_name: str | None = None
    api_id: str | None = None  # logical id of the API that carries the routes
    default_authorizer: str | None = None

    @property
    def authorizer(self) -> Authorizer | None:
        """The API's default authorizer (the one every route uses unless it opts out)."""
        if self.default_authorizer is not None:
            return self.authorizers.get(self.default_authorizer)
        return next(iter(self.authorizers.values()), None)

    def resources_of_type(self, resource_type: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for logical_id, resource in self.document["Resources"].items():
            if isinstance(resource, dict) and resource.get("Type") == resource_type:
                yield logical_id, resource.get("Properties") or {}

    def base_refs(
        self,
        *,
        stack_name: str,
        region: str,
        account_id: str = DEFAULT_ACCOUNT_ID,
        resource_names: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Values for `resolve`: pseudo parameters, parameters, and a local name per resource.

        A resource not in ``resource_names`` is named ``<stack>-<logical id>``, as CloudFormation
        would generate a physical name.
        """
        refs: dict[str, Any] = {
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        refs |= {logical_id: f"{stack_name}-{logical_id}" for logical_id in self.document["Resources"]}
        refs |= dict(self.parameters)
        refs |= dict(resource_names or {})
        return refs


# ---------------------------------------------------------------------------------------- parsing
def load_template(
    path: Path | str, parameters: Mapping[str, str] | None = None, api: str | None = None
) -> Template:
    """Read and model a SAM template; ``parameters`` override the parameters' defaults.

    ``api`` chooses the REST API whose routes, authorizers and gateway responses are modelled (a
    logical id; default: the first ``AWS::Serverless::Api``, the SCIM API)."""
    path = Path(path)
    document = load_document(path)
    params = {
        name: _scalar(spec.get("Default"))
        for name, spec in (document.get("Parameters") or {}).items()
        if isinstance(spec, dict) and "Default" in spec
    }
    params |= {k: str(v) for k, v in (parameters or {}).items()}
    refs: dict[str, Any] = dict(params)
    functions = _functions(document)
    api_id, api_props = _api(document, api)
    authorizers = _authorizers(api_props, functions, refs)
    default_authorizer = (api_props.get("Auth") or {}).get("DefaultAuthorizer")
    stage = api_props.get("StageName")
    return Template(
        path=path,
        document=MappingProxyType(document),
        parameters=MappingProxyType(params),
        functions=MappingProxyType(functions),
        routes=tuple(_routes(document, functions, default_authorizer, api_id, api is None)),
        authorizers=MappingProxyType(authorizers),
        gateway_responses=MappingProxyType(_gateway_responses(api_props, refs)),
        stage_name=str(resolve(stage, refs)) if stage is not None else None,
        api_id=api_id,
        default_authorizer=str(default_authorizer) if default_authorizer else None,
    )


def _scalar(value: Any) -> str:
    # CloudFormation parameters are strings on the wire, whatever YAML made of them.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_scalar(v) for v in value)
    return str(value)


def _functions(document: Mapping[str, Any]) -> dict[str, Function]:
    globals_ = (document.get("Globals") or {}).get("Function") or {}
    global_env = ((globals_.get("Environment") or {}).get("Variables")) or {}
    functions: dict[str, Function] = {}
    for logical_id, resource in document["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") != FUNCTION_TYPE:
            continue
        props = resource.get("Properties") or {}
        handler = props.get("Handler", globals_.get("Handler"))
        if not isinstance(handler, str):
            raise TemplateError(f"function {logical_id} has no Handler")
        own_env = ((props.get("Environment") or {}).get("Variables")) or {}
        code_uri = props.get("CodeUri", globals_.get("CodeUri"))
        functions[logical_id] = Function(
            logical_id=logical_id,
            handler=handler,
            code_uri=code_uri if isinstance(code_uri, str) else None,
            timeout_seconds=int(props.get("Timeout", globals_.get("Timeout", 3))),
            memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
            environment=MappingProxyType({**global_env, **own_env}),
        )
    return functions


def _api(document: Mapping[str, Any], wanted: str | None) -> tuple[str | None, Mapping[str, Any]]:
    for logical_id, resource in document["Resources"].items():
        if isinstance(resource, dict) and resource.get("Type") == API_TYPE and wanted in (None, logical_id):
            return logical_id, resource.get("Properties") or {}
    if wanted is not None:
        raise TemplateError(f"no {API_TYPE} {wanted} in the template")
    return None, {}


def _routes(
    document: Mapping[str, Any],
    functions: Mapping[str, Function],
    default_authorizer: str | None,
    api_id: str | None,
    include_implicit: bool,
) -> Iterator[Route]:
    for logical_id, function in functions.items():
        events = (document["Resources"][logical_id].get("Properties") or {}).get("Events") or {}
        for event in events.values():
            if not isinstance(event, dict) or event.get("Type") != "Api":
                continue
            props = event.get("Properties") or {}
            rest_api = props.get("RestApiId")
            owner = rest_api.get("Ref") if isinstance(rest_api, dict) else rest_api
            # The chosen API's routes only (an event without RestApiId is SAM's implicit API).
            if owner != api_id and not (owner is None and include_implicit):
                continue
            # A per-route "Auth: {Authorizer: NONE}" opens the route, as in SAM.
            chosen = (props.get("Auth") or {}).get("Authorizer", default_authorizer)
            iam = chosen == "AWS_IAM"
            yield Route(
                method=str(props["Method"]).upper(),
                path=str(props["Path"]),
                function_id=logical_id,
                handler=function.handler,
                authorizer=None if chosen in (None, "NONE") or iam else str(chosen),
                iam=iam,
            )


def _authorizers(
    api_props: Mapping[str, Any], functions: Mapping[str, Function], refs: Mapping[str, Any]
) -> dict[str, Authorizer]:
    found: dict[str, Authorizer] = {}
    for name, spec in ((api_props.get("Auth") or {}).get("Authorizers") or {}).items():
        arn = spec.get("FunctionArn")
        if not (isinstance(arn, dict) and "Fn::GetAtt" in arn):
            raise TemplateError(f"authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn")
        function_id = arn["Fn::GetAtt"][0]
        if function_id not in functions:
            raise TemplateError(f"authorizer {name}: {function_id} is not a function of this template")
        identity = spec.get("Identity") or {}
        ttl = resolve(identity.get("ReauthorizeEvery", 300), refs)  # SAM's default is 300 s
        found[name] = Authorizer(
            name=name,
            function_id=function_id,
            handler=functions[function_id].handler,
            identity_headers=tuple(str(h) for h in identity.get("Headers") or ()),
            ttl_seconds=int(ttl),
        )
    return found


def _strip_quotes(value: str) -> str:
    # API Gateway header values are mapping expressions: 'literal' is a static string.
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value


def _gateway_responses(api_props: Mapping[str, Any], refs: Mapping[str, Any]) -> dict[str, GatewayResponse]:
    found: dict[str, GatewayResponse] = {}
    for response_type, spec in (api_props.get("GatewayResponses") or {}).items():
        headers = ((spec.get("ResponseParameters") or {}).get("Headers")) or {}
        templates = spec.get("ResponseTemplates") or {}
        body = templates.get("application/json", next(iter(templates.values()), None))
        status = spec.get("StatusCode")
        found[response_type] = GatewayResponse(
            type=response_type,
            status_code=int(resolve(status, refs)) if status is not None else None,
            headers=MappingProxyType({k: _strip_quotes(str(resolve(v, refs))) for k, v in headers.items()}),
            body_template=None if body is None else str(body),
        )
    return found


# ---------------------------------------------------------------------------------------- table
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")


def table_properties(template: Template, logical_id: str | None = None) -> tuple[str, Mapping[str, Any]]:
    """(logical id, Properties) of the template's DynamoDB table (the only one, or ``logical_id``)."""
    tables = dict(template.resources_of_type(TABLE_TYPE))
    if logical_id is not None:
        if logical_id not in tables:
            raise TemplateError(f"no DynamoDB table {logical_id} in {template.path}")
        return logical_id, tables[logical_id]
    if len(tables) != 1:
        raise TemplateError(f"expected one DynamoDB table in {template.path}, found {sorted(tables)}")
    return next(iter(tables.items()))


def table_create_kwargs(template: Template, logical_id: str | None = None) -> dict[str, Any]:
    """``create_table`` arguments (all but TableName) translated from the table's Properties."""
    _, props = table_properties(template, logical_id)
    props = resolve(dict(props), dict(template.parameters))
    kwargs: dict[str, Any] = {key: props[key] for key in _TABLE_KEYS if props.get(key)}
    billing = props.get("BillingMode", "PROVISIONED")
    kwargs["BillingMode"] = billing
    if billing == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    stream = props.get("StreamSpecification")
    if stream:
        # CloudFormation's form has no StreamEnabled: a specification means "enabled".
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return kwargs


def table_ttl_attribute(template: Template, logical_id: str | None = None) -> str | None:
    """The TTL attribute, when the table enables one (set with a separate API call)."""
    _, props = table_properties(template, logical_id)
    spec = props.get("TimeToLiveSpecification") or {}
    return str(spec["AttributeName"]) if spec.get("Enabled") and spec.get("AttributeName") else None


# ---------------------------------------------------------------------------------------- resolving
def function_environment(template: Template, function_id: str, refs: Mapping[str, Any]) -> dict[str, str]:
    """A function's environment (Globals + its own variables) with every intrinsic resolved."""
    conditions = evaluate_conditions(template, refs)
    env = resolve(dict(template.functions[function_id].environment), refs, conditions)
    return {str(k): _scalar(v) for k, v in env.items()}


def evaluate_conditions(template: Template, refs: Mapping[str, Any]) -> dict[str, bool]:
    """The template's Conditions against local values (a condition may use another one)."""
    pending = dict(template.document.get("Conditions") or {})
    done: dict[str, bool] = {}
    while pending:
        progressed = False
        for name, spec in list(pending.items()):
            try:
                done[name] = bool(resolve(spec, refs, done))
            except TemplateError:
                continue  # refers to a condition not evaluated yet
            del pending[name]
            progressed = True
        if not progressed:
            raise TemplateError(f"cannot evaluate conditions {sorted(pending)}")
    return done


_SUB_VAR = re.compile(r"\$\{(!?)([^}]*)\}")


def resolve(value: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool] | None = None) -> Any:
    """Resolve Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::Select, Fn::If (and condition functions).

    ``refs`` maps parameters, pseudo parameters and resource logical ids to local values;
    ``"<Resource>.<Attr>"`` entries answer GetAtt, anything else gets a placeholder ARN. An
    unknown name raises TemplateError: a variable silently left empty would hide a typo.
    """
    if isinstance(value, list):
        items = (resolve(v, refs, conditions) for v in value)
        return [v for v in items if v is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        intrinsic = _INTRINSICS.get(key)
        if intrinsic is not None:
            return intrinsic(arg, refs, conditions or {})
    resolved = {k: resolve(v, refs, conditions) for k, v in value.items()}
    return {k: v for k, v in resolved.items() if v is not _NO_VALUE}


class _NoValue:
    def __repr__(self) -> str:
        return NO_VALUE


_NO_VALUE = _NoValue()


def _ref(name: Any, refs: Mapping[str, Any], _: Mapping[str, bool]) -> Any:
    if name == NO_VALUE:
        return _NO_VALUE
    if name not in refs:
        raise TemplateError(f"!Ref {name}: no local value")
    return refs[name]


def _get_att(arg: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> Any:
    parts = arg.split(".", 1) if isinstance(arg, str) else resolve(arg, refs, conditions)
    resource, attribute = str(parts[0]), str(parts[1])
    known = refs.get(f"{resource}.{attribute}")
    if known is not None:
        return known
    region = refs.get("AWS::Region", "us-east-1")
    account = refs.get("AWS::AccountId", DEFAULT_ACCOUNT_ID)
    return f"arn:aws:local:{region}:{account}:{resource}/{attribute}"


def _sub(arg: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> str:
    if isinstance(arg, list):
        text, variables = str(arg[0]), resolve(arg[1] if len(arg) > 1 else {}, refs, conditions)
        scope: Mapping[str, Any] = {**refs, **variables}
    else:
        text, scope = str(arg), refs

    def substitute(match: re.Match[str]) -> str:
        literal, name = match[1], match[2]
        if literal:  # ${!Name} is the literal text ${Name}
            return "${" + name + "}"
        if name in scope:
            return _scalar(scope[name])
        if "." in name:
            return _scalar(_get_att(name, scope, conditions))
        raise TemplateError(f"!Sub ${{{name}}}: no local value")

    return _SUB_VAR.sub(substitute, text)


def _join(arg: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> str:
    delimiter, items = arg
    return str(delimiter).join(_scalar(v) for v in resolve(items, refs, conditions))


def _select(arg: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> Any:
    index, items = resolve(arg, refs, conditions)
    return items[int(index)]


def _split(arg: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> list[str]:
    delimiter, text = resolve(arg, refs, conditions)
    return str(text).split(str(delimiter))


def _condition(name: Any, _: Mapping[str, Any], conditions: Mapping[str, bool]) -> bool:
    if name not in conditions:
        raise TemplateError(f"condition {name}: no local value")
    return conditions[name]


def _if(arg: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> Any:
    name, when_true, when_false = arg
    return resolve(when_true if _condition(name, refs, conditions) else when_false, refs, conditions)


def _equals(arg: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> bool:
    left, right = resolve(arg, refs, conditions)
    return _scalar(left) == _scalar(right)


def _and(arg: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> bool:
    return all(resolve(arg, refs, conditions))


def _or(arg: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> bool:
    return any(resolve(arg, refs, conditions))


def _not(arg: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> bool:
    return not resolve(arg, refs, conditions)[0]


_Intrinsic = Callable[[Any, Mapping[str, Any], Mapping[str, bool]], Any]


def _unsupported(name: str) -> _Intrinsic:
    def fail(arg: Any, refs: Mapping[str, Any], conditions: Mapping[str, bool]) -> Any:
        raise TemplateError(f"{name} is not supported locally")

    return fail


_INTRINSICS: dict[str, _Intrinsic] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Fn::Not": _not,
    "Condition": _condition,
    **{name: _unsupported(name) for name in ("Fn::ImportValue", "Fn::FindInMap", "Fn::GetAZs", "Fn::Cidr")},
}
