"""tracking-api: methods, validation from the function's schema, gateway responses, stage."""

from __future__ import annotations

import json
import re

import pytest

from tracking_api.schema_export import ROUTES, operation_id, request_models
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.layer_api
METHOD, INTEGRATION = "aws:apigateway/method:Method", "aws:apigateway/integration:Integration"


def routes_by_method(synthesized) -> dict[tuple[str, str], dict]:
    """Method inputs by (HTTP method, path), through the operationName each carries."""
    by_operation = {operation_id(route): (route["method"], route["path"]) for route in ROUTES}
    return {
        by_operation[m["inputs"]["operationName"]]: m["inputs"]
        for m in synthesized.of_type(Layer.API, METHOD)
    }


def test_the_resources_are_the_tree_of_the_route_paths(dev):
    """One resource per path segment, each under the resource of its parent path (AWS:
    a path part is one segment, without '/'), and each method on its route's resource."""
    root = dev.one(Layer.API, "aws:apigateway/restApi:RestApi")["state"]["rootResourceId"]
    resources = {  # by id, which the mocks derive from the logical name
        f"{r['name']}-id": r["inputs"]
        for r in dev.of_type(Layer.API, "aws:apigateway/resource:Resource")
    }

    def full_path(resource_id: str) -> str:
        if resource_id == root:
            return ""
        inputs = resources[resource_id]
        assert "/" not in inputs["pathPart"] and inputs["pathPart"], inputs
        return f"{full_path(inputs['parentId'])}/{inputs['pathPart']}"

    paths = {full_path(resource_id): resource_id for resource_id in resources}
    # Logical names are state keys (a renamed one is replaced on the next deploy): each
    # is the path's, '/' as '-'.
    for path, resource_id in paths.items():
        assert resource_id == f"tracking-resource{path.replace('/', '-')}-id", path
    prefixes = {
        "/".join(route["path"].split("/")[: i + 1])
        for route in ROUTES
        for i in range(1, route["path"].count("/") + 1)
    }
    assert set(paths) == prefixes
    for (_, path), inputs in routes_by_method(dev).items():
        assert inputs["resourceId"] == paths[path], path


def test_every_route_is_a_method_with_iam_auth_except_health(dev):
    methods = routes_by_method(dev)
    assert set(methods) == {(r["method"], r["path"]) for r in ROUTES}
    for (http, path), inputs in methods.items():
        expected = "NONE" if path == "/health" else "AWS_IAM"
        assert inputs["authorization"] == expected, (http, path)


def test_body_routes_validate_against_models_derived_from_the_pydantic_models(dev):
    models = {
        m["inputs"]["name"]: json.loads(m["inputs"]["schema"])
        for m in dev.of_type(Layer.API, "aws:apigateway/model:Model")
    }
    assert models == request_models()
    assert models["TrackingUpdate"]["$schema"] == "http://json-schema.org/draft-04/schema#"
    methods = routes_by_method(dev)
    assert methods[("POST", "/track")]["requestModels"] == {"application/json": "TrackingUpdate"}
    assert methods[("POST", "/track/batch")]["requestModels"] == {
        "application/json": "BatchRequest"
    }


def without_descriptions(node):
    if isinstance(node, dict):
        return {k: without_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [without_descriptions(v) for v in node]
    return node


# What API Gateway must validate, written out from the contract (DESIGN.md section 3),
# independent of the code that derives the models from Pydantic.
DRAFT4 = "http://json-schema.org/draft-04/schema#"
EXPECTED_MODELS = {
    "TrackingUpdate": {
        "$schema": DRAFT4,
        "title": "TrackingUpdate",
        "type": "object",
        "additionalProperties": False,
        "required": ["tracking_id", "status", "location"],
        "properties": {
            "tracking_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"},
            "status": {"type": "string", "enum": ["pending", "in_transit", "delivered", "failed"]},
            "location": {
                "type": "object",
                "additionalProperties": False,
                "required": ["lat", "lng"],
                "properties": {
                    "lat": {"type": "number", "minimum": -90, "maximum": 90},
                    "lng": {"type": "number", "minimum": -180, "maximum": 180},
                },
            },
            "metadata": {"type": "object", "additionalProperties": True},
            "timestamp": {"type": "integer", "minimum": 0},
        },
    },
    "BatchRequest": {
        "$schema": DRAFT4,
        "title": "BatchRequest",
        "type": "object",
        "additionalProperties": False,
        "required": ["updates"],
        "properties": {
            "updates": {
                "type": "array",
                "minItems": 1,
                "maxItems": 25,
                "items": {},  # the envelope only: each item is the function's to check
            }
        },
    },
}


def synthesized_models(synthesized) -> dict[str, dict]:
    return {
        m["inputs"]["name"]: json.loads(m["inputs"]["schema"])
        for m in synthesized.of_type(Layer.API, "aws:apigateway/model:Model")
    }


def test_gateway_models_are_the_contracts_schemas_in_draft_4(dev):
    models = {name: without_descriptions(m) for name, m in synthesized_models(dev).items()}
    assert models == EXPECTED_MODELS
    for model in dev.of_type(Layer.API, "aws:apigateway/model:Model"):
        assert model["inputs"]["contentType"] == "application/json"


VALID = {"tracking_id": "PKG-1", "status": "in_transit", "location": {"lat": 52.5, "lng": 13.4}}


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        (VALID, True),
        ({**VALID, "metadata": {"k": [1]}, "timestamp": 1_700_000_000_000}, True),
        ({**VALID, "location": {"lat": -90, "lng": 180}}, True),
        ({**VALID, "tracking_id": "-x"}, False),
        ({**VALID, "tracking_id": "a" * 101}, False),
        ({**VALID, "status": "lost"}, False),
        ({**VALID, "location": {"lat": 90.01, "lng": 0}}, False),
        ({**VALID, "location": {"lat": 0, "lng": -180.5}}, False),
        ({**VALID, "location": {"lat": "12", "lng": 0}}, False),
        ({**VALID, "location": {"lat": 0}}, False),
        ({**VALID, "location": {"lat": 0, "lng": 0, "alt": 1}}, False),
        ({**VALID, "unknown": 1}, False),
        ({**VALID, "metadata": "text"}, False),
        ({**VALID, "timestamp": 1.5}, False),
        ({**VALID, "timestamp": -1}, False),
        ({k: v for k, v in VALID.items() if k != "status"}, False),
    ],
)
def test_the_gateway_accepts_and_rejects_tracking_updates_as_the_contract_says(dev, body, valid):
    from jsonschema import Draft4Validator

    schema = synthesized_models(dev)["TrackingUpdate"]
    Draft4Validator.check_schema(schema)
    assert Draft4Validator(schema).is_valid(body) is valid


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"updates": [VALID]}, True),
        ({"updates": [{"anything": 1}] * 25}, True),  # items are the function's to check
        ({"updates": []}, False),
        ({"updates": [VALID] * 26}, False),
        ({"updates": "x"}, False),
        ({"updates": ["x", 42, None]}, True),  # per item: the function answers each
        ({"updates": [VALID], "other": 1}, False),
        ({}, False),
    ],
)
def test_the_gateway_accepts_and_rejects_batches_as_the_contract_says(dev, body, valid):
    from jsonschema import Draft4Validator

    assert Draft4Validator(synthesized_models(dev)["BatchRequest"]).is_valid(body) is valid


def test_required_query_parameters_are_validated_at_the_gateway(dev):
    methods = routes_by_method(dev)
    assert methods[("GET", "/status")]["requestParameters"] == {
        "method.request.querystring.tracking_id": True,
        "method.request.querystring.limit": False,
        "method.request.querystring.cursor": False,
    }
    validators = {
        v["inputs"]["name"]: v
        for v in dev.of_type(Layer.API, "aws:apigateway/requestValidator:RequestValidator")
    }
    flags = {
        name: (
            v["inputs"].get("validateRequestBody", False),
            v["inputs"].get("validateRequestParameters", False),
        )
        for name, v in validators.items()
    }
    # A method with a body checks it and its query; one without checks its query.
    assert flags == {"body-and-parameters": (True, True), "parameters": (False, True)}
    validator_ids = {name: f"{v['name']}-id" for name, v in validators.items()}  # mocks' ids
    bodies = {(route["method"], route["path"]): route["body"] for route in ROUTES}
    for route, inputs in methods.items():
        expected = "body-and-parameters" if bodies[route] else "parameters"
        assert inputs["requestValidatorId"] == validator_ids[expected], route


def test_every_signed_route_is_a_lambda_proxy_to_the_api_function(dev):
    invoke_arn = dev.layer(Layer.COMPUTE).outputs["api_alias_invoke_arn"]
    integrations = [
        i for i in dev.of_type(Layer.API, INTEGRATION) if not i["name"].endswith("-get_health")
    ]
    assert len(integrations) == len(ROUTES) - 1
    for integration in integrations:
        inputs = integration["inputs"]
        assert (inputs["type"], inputs["integrationHttpMethod"]) == ("AWS_PROXY", "POST")
        assert inputs["uri"] == invoke_arn


def test_gateway_responses_use_the_error_shape(dev):
    responses = {
        r["inputs"]["responseType"]: r["inputs"]
        for r in dev.of_type(Layer.API, "aws:apigateway/response:Response")
    }
    assert responses["BAD_REQUEST_BODY"]["statusCode"] == "400"
    assert responses["REQUEST_TOO_LARGE"]["statusCode"] == "413"
    assert responses["UNSUPPORTED_MEDIA_TYPE"]["statusCode"] == "415"
    for response_type, inputs in responses.items():
        template = inputs["responseTemplates"]["application/json"]
        # messageString is substituted already quoted: the template is JSON once it is.
        rendered = json.loads(template.replace("$context.error.messageString", '"m"'))
        assert set(rendered["error"]) == {"code", "message"}, response_type
    assert (
        json.loads(
            responses["BAD_REQUEST_BODY"]["responseTemplates"]["application/json"].replace(
                "$context.error.messageString", '"m"'
            )
        )["error"]["code"]
        == "validation_error"
    )


def test_deployment_redeploys_when_the_definition_changes(dev, monkeypatch):
    from tests.unit.stacks.conftest import Synthesized
    from tracking_api import schema_export
    from tracking_ops.deploy.synth import synth_all

    deployment = dev.one(Layer.API, "aws:apigateway/deployment:Deployment")
    trigger = deployment["inputs"]["triggers"]
    assert len(trigger["redeployment"]) == 64  # seed defect 6
    # A new trigger replaces the deployment: a new snapshot, the stage moved onto it.
    assert deployment["replace_on_changes"] == ["triggers"]
    replaced_on_change = [r["name"] for r in dev.all_resources() if r["replace_on_changes"]]
    assert replaced_on_change == [deployment["name"]]

    # A query parameter becomes required: the method changes, so must the snapshot.
    changed = [dict(route) for route in schema_export.ROUTES]
    status = next(i for i, r in enumerate(changed) if r["path"] == "/status")
    changed[status]["query"] = [(q, True, t) for q, _, t in changed[status]["query"]]
    monkeypatch.setattr(schema_export, "ROUTES", tuple(changed))
    import sys

    sys.modules.pop("components", None)
    again = Synthesized(synth_all("dev"))
    new = again.one(Layer.API, "aws:apigateway/deployment:Deployment")["inputs"]["triggers"]
    assert new["redeployment"] != trigger["redeployment"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_rest_api_is_regional_and_says_what_it_is(env, request):
    rest_api = request.getfixturevalue(env).one(Layer.API, "aws:apigateway/restApi:RestApi")
    assert rest_api["inputs"]["name"] == f"tracking-api-{env}"
    assert rest_api["inputs"]["description"] == "Logistics tracking API"
    # Regional: callers are services and couriers' backends in the region; an
    # edge-optimized API would add an AWS-managed CloudFront hop in front.
    assert rest_api["inputs"]["endpointConfiguration"] == {"types": "REGIONAL"}


def test_the_redeployment_hash_is_stable_and_takes_any_value():
    """The same definition must hash the same whatever order its properties resolve in
    (else every deploy redeploys), and a value JSON cannot encode must not fail it."""
    from decimal import Decimal

    from tracking_ops.deploy.synth import load_components

    snapshot_hash = load_components(Layer.API).snapshot_hash
    part = {"kind": "Model", "name": "TrackingUpdate", "schema": "{}"}
    assert snapshot_hash([part]) == snapshot_hash([dict(reversed(part.items()))])
    assert snapshot_hash([part]) != snapshot_hash([part | {"name": "BatchRequest"}])
    assert snapshot_hash([{"kind": "Stage", "rate": Decimal("0.5")}]) == snapshot_hash(
        [{"kind": "Stage", "rate": "0.5"}]
    )


def test_stage_has_access_logs_tracing_and_throttling_per_env(dev, prod):
    stage = dev.one(Layer.API, "aws:apigateway/stage:Stage")["inputs"]
    logs = dev.one(Layer.API, "aws:cloudwatch/logGroup:LogGroup")
    assert stage["xrayTracingEnabled"] is True
    assert stage["stageName"] == "dev"
    assert stage["accessLogSettings"]["destinationArn"] == logs["state"]["arn"]
    assert render_access_log(stage["accessLogSettings"]["format"], "x")["requestId"] == "x"

    def settings(s):
        return s.stage_method_settings()["inputs"]["settings"]

    assert settings(dev)["throttlingRateLimit"] < settings(prod)["throttlingRateLimit"]
    # The stage's throttling and metrics apply to every method on every path.
    method_settings = dev.stage_method_settings()
    assert method_settings["inputs"]["methodPath"] == "*/*"
    assert settings(prod)["metricsEnabled"] is True
    assert logs["inputs"]["retentionInDays"] == 14
    assert (
        prod.one(Layer.API, "aws:cloudwatch/logGroup:LogGroup")["inputs"]["retentionInDays"] == 90
    )


def test_lambda_permissions_are_scoped_to_this_api_stage_and_route(dev):
    permissions = dev.of_type(Layer.API, "aws:lambda/permission:Permission")
    execution_arn = next(
        r for r in dev.layer(Layer.API).resources if r["type"] == "aws:apigateway/restApi:RestApi"
    )["state"]["executionArn"]
    assert sorted(p["inputs"]["sourceArn"] for p in permissions) == sorted(
        f"{execution_arn}/dev/{r['method']}{r['path']}" for r in ROUTES if r["auth"] != "NONE"
    )
    for permission in permissions:
        assert permission["inputs"]["principal"] == "apigateway.amazonaws.com"
        assert permission["inputs"]["action"] == "lambda:InvokeFunction"
        assert permission["inputs"]["function"] == "tracking-api-dev"
    # One per route, named by its operation (logical names key the deployed state).
    assert sorted(p["name"] for p in permissions) == sorted(
        f"tracking-invoke-{operation_id(route)}" for route in ROUTES if route["auth"] != "NONE"
    )


def test_the_account_logging_role_has_the_managed_policy_api_gateway_needs(dev):
    role = next(r for r in dev.of_type(Layer.API, "aws:iam/role:Role"))
    assert role["inputs"]["name"] == "tracking-apigateway-logging-dev"
    assert json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    # API Gateway verifies the role by creating /aws/apigateway/welcome, and
    # logs:DescribeLogGroups only works on `*`: AWS's managed policy for it.
    assert dev.of_type(Layer.API, "aws:iam/rolePolicy:RolePolicy") == []
    attachment = dev.one(Layer.API, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment["inputs"]["policyArn"] == (
        "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    )
    assert attachment["inputs"]["role"] == "tracking-apigateway-logging-dev"
    account = dev.one(Layer.API, "aws:apigateway/account:Account")
    assert account["inputs"]["cloudwatchRoleArn"] == role["state"]["arn"]
    # Logical names key the deployed state: renamed, each would be replaced.
    assert (role["name"], attachment["name"], account["name"]) == (
        "tracking-gateway-logging-role",
        "tracking-gateway-logging-policy",
        "tracking-account",
    )
    access_logs = dev.one(Layer.API, "aws:cloudwatch/logGroup:LogGroup")["inputs"]["name"]
    assert access_logs.startswith("/aws/apigateway/")


def test_an_env_sharing_an_account_can_leave_the_logging_role_to_another(monkeypatch):
    from tests.unit.stacks.conftest import Synthesized
    from tracking_ops.deploy import synth

    read = synth.read_stack_config

    def without_role(layer, env):
        config = dict(read(layer, env))
        if layer is Layer.API:
            config["tracking-api:manage_account_logging_role"] = False
        return config

    monkeypatch.setattr(synth, "read_stack_config", without_role)
    synthesized = Synthesized(synth.synth_all("dev"))
    assert synthesized.of_type(Layer.API, "aws:apigateway/account:Account") == []
    assert synthesized.of_type(Layer.API, "aws:iam/role:Role") == []


# ---- GET /health: answered by API Gateway, with a throttle of its own (issue 23, item 2)


def _health(synthesized, typ: str) -> list[dict]:
    return [r for r in synthesized.of_type(Layer.API, typ) if r["name"].endswith("-get_health")]


def test_health_is_answered_by_api_gateway_itself_without_the_function(each_env):
    """A MOCK integration: an unsigned call never invokes (nor bills) the function."""
    env, synthesized = each_env
    (integration,) = _health(synthesized, INTEGRATION)
    assert integration["inputs"]["type"] == "MOCK", env
    assert "uri" not in integration["inputs"]
    assert json.loads(integration["inputs"]["requestTemplates"]["application/json"]) == {
        "statusCode": 200
    }
    (answer,) = _health(synthesized, "aws:apigateway/integrationResponse:IntegrationResponse")
    assert answer["inputs"]["statusCode"] == "200"
    assert json.loads(answer["inputs"]["responseTemplates"]["application/json"]) == {"status": "ok"}
    (method_response,) = _health(synthesized, "aws:apigateway/methodResponse:MethodResponse")
    assert method_response["inputs"]["statusCode"] == "200"
    # and API Gateway may not invoke the function for it
    permissions = synthesized.of_type(Layer.API, "aws:lambda/permission:Permission")
    assert not [p for p in permissions if p["inputs"]["sourceArn"].endswith("/GET/health")], env
    assert len(permissions) == len(ROUTES) - 1


def test_health_has_a_method_throttle_tighter_than_the_stage(each_env):
    env, synthesized = each_env
    (own,) = _health(synthesized, "aws:apigateway/methodSettings:MethodSettings")
    stage = synthesized.stage_method_settings()["inputs"]["settings"]
    assert own["inputs"]["methodPath"] == "health/GET"
    settings = own["inputs"]["settings"]
    assert settings["throttlingRateLimit"] < stage["throttlingRateLimit"], env
    assert settings["throttlingBurstLimit"] < stage["throttlingBurstLimit"], env
    assert settings["throttlingRateLimit"] <= 10


def test_the_health_answer_is_the_functions_own(dev):
    """The gateway's body is what the function's /health answers (the contract)."""
    from tracking_api import models

    (answer,) = _health(dev, "aws:apigateway/integrationResponse:IntegrationResponse")
    body = json.loads(answer["inputs"]["responseTemplates"]["application/json"])
    assert models.HealthResponse.model_validate(body).model_dump(mode="json") == body


# ---- access logs: one valid JSON object per line, whatever the values (issue 23, item 4)

# What API Gateway may put in each variable the format uses (its developer guide's
# $context reference). Free text can hold anything, quotes and newlines included;
# the *String variables are substituted already quoted and escaped.
HOSTILE = 'he said "no"\n\\ }{ \u2028'
FREE_TEXT = {"$context.error.message", "$context.identity.userAgent"}
AWS_QUOTED = {"$context.error.messageString"}
CONSTRAINED = {  # variable: a worst-case value from its documented character set
    "$context.requestId": "8f3c5c1e-0b9a-4d2e-9d5e-1f2a3b4c5d6e",
    "$context.identity.sourceIp": "2001:db8::1",
    "$context.identity.caller": "AROAEXAMPLE:session+=,.@-name",
    "$context.requestTime": "07/Dec/2026:04:51:00 +0000",
    "$context.httpMethod": "POST",
    "$context.resourcePath": "/track/batch",
    "$context.status": "429",
    "$context.responseLength": "-",
    "$context.responseLatency": "12",
    "$context.integration.latency": "-",
}
VARIABLE = re.compile(r"\$context\.[A-Za-z.]+")


def render_access_log(fmt: str, hostile: str) -> dict:
    """One access-log line as API Gateway writes it, with ``hostile`` wherever a variable
    may carry free text; then parsed (fails on anything that is not one JSON object)."""

    def value(match: re.Match) -> str:
        variable = match.group(0)
        if variable in AWS_QUOTED:
            return json.dumps(hostile)
        if variable in FREE_TEXT:
            return hostile
        assert variable in CONSTRAINED, f"classify {variable} (free text or constrained)"
        return hostile if hostile == "x" else CONSTRAINED[variable]

    # json.loads is strict: a raw newline inside a string (a line split in two) fails too.
    return json.loads(VARIABLE.sub(value, fmt))


@pytest.mark.parametrize("hostile", ['"', "\n", HOSTILE, '"},"status":"200'])
def test_every_access_log_line_is_json_whatever_the_error_message_holds(each_env, hostile):
    env, synthesized = each_env
    fmt = synthesized.one(Layer.API, "aws:apigateway/stage:Stage")["inputs"]["accessLogSettings"][
        "format"
    ]
    line = render_access_log(fmt, hostile)
    assert line["error"] == hostile, env
    assert line["status"] == CONSTRAINED["$context.status"]


def test_the_access_log_format_quotes_only_what_api_gateway_does_not():
    from tracking_stacks import api_gateway

    planted = {**api_gateway.ACCESS_LOG_FIELDS, "error": "$context.error.message"}
    with pytest.raises(json.JSONDecodeError):
        render_access_log(api_gateway.access_log_format(planted), HOSTILE)


def test_the_access_log_format_is_one_object_with_every_field_under_its_own_name():
    # Built here, not read from the stage: the stage's format is made once at import.
    from tracking_stacks import api_gateway

    fields = api_gateway.ACCESS_LOG_FIELDS
    line = render_access_log(api_gateway.access_log_format(fields), HOSTILE)
    assert list(line) == list(fields)
    for key, variable in fields.items():
        if variable in FREE_TEXT | AWS_QUOTED:
            assert line[key] == HOSTILE, key
        else:
            assert line[key] == CONSTRAINED[variable], key


def test_the_account_logging_setting_and_its_role_outlive_an_envs_destroy(dev, prod):
    """pulumi-aws 7 resets API Gateway's account setting when its Account is deleted:
    destroying dev would stop every other env's access logs (issue 23, item 6)."""
    for synthesized in (dev, prod):
        resources = synthesized.layer(Layer.API).resources
        account_level = [
            r
            for r in resources
            if r["type"] == "aws:apigateway/account:Account" or "gateway-logging" in r["name"]
        ]
        assert {r["type"] for r in account_level} == {
            "aws:apigateway/account:Account",
            "aws:iam/role:Role",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        }
        assert all(r["retain_on_delete"] for r in account_level), account_level
        # and nothing env-level is retained: an env's destroy removes all of its own
        assert not [
            r["name"] for r in resources if r["retain_on_delete"] and r not in account_level
        ]
