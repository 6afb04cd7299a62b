"""API Gateway REST APIs in moto through the provider, with dev's declared inputs."""

from __future__ import annotations

import json

import pytest

from tests.functional.standin_cloud.compute_lifecycle import Life, synthesized_inputs
from tracking_ops.standin_cloud.moto_backed import apigateway_methods as agm
from tracking_ops.standin_cloud.moto_backed import apigateway_rest as agr
from tracking_ops.standin_cloud.moto_backed import apigateway_stage as ags

HEALTH = "get_health"


def part(provider, token: str, name: str, **wiring) -> Life:
    life = Life(provider, token, name)
    life.create({**synthesized_inputs(token, name), **wiring})
    return life


@pytest.fixture
def api(provider) -> Life:
    return part(provider, agr.REST_API, "tracking-rest-api")


@pytest.fixture
def health(provider, api) -> Life:
    """The /health resource under the API's root."""
    return part(
        provider,
        agr.RESOURCE,
        "tracking-resource-health",
        restApi=api.id,
        parentId=api.state["rootResourceId"],
    )


def test_the_rest_api_has_moto_ids_and_arns_and_is_read_updated_deleted(provider, cloud, api):
    client = cloud.client("apigateway")
    found = client.get_rest_api(restApiId=api.id)
    assert found["name"] == api.inputs["name"] and found["description"] == api.inputs["description"]
    assert found["endpointConfiguration"]["types"] == ["REGIONAL"]
    assert found["tags"] == api.inputs["tags"]
    assert api.state["rootResourceId"] == found["rootResourceId"]
    account = cloud.client("sts").get_caller_identity()["Account"]
    assert api.state["executionArn"] == f"arn:aws:execute-api:us-east-1:{account}:{api.id}"
    assert api.unchanged()
    api.update(description="changed")
    assert client.get_rest_api(restApiId=api.id)["description"] == "changed"
    client.update_rest_api(
        restApiId=api.id,
        patchOperations=[{"op": "replace", "path": "/description", "value": "hand"}],
    )
    assert api.read()[1]["description"] == "hand"
    api.delete()
    assert client.get_rest_apis()["items"] == [] and api.read() is None


def test_resources_models_validators_and_gateway_responses(provider, cloud, api, health):
    client = cloud.client("apigateway")
    assert client.get_resource(restApiId=api.id, resourceId=health.id)["path"] == "/health"
    assert health.unchanged()

    model = part(provider, agr.MODEL, "tracking-model-BatchRequest", restApi=api.id)
    found = client.get_model(restApiId=api.id, modelName=model.inputs["name"])
    assert json.loads(found["schema"]) == json.loads(model.inputs["schema"])
    assert model.unchanged()
    model.update(schema=json.dumps({"type": "object"}))
    found = client.get_model(restApiId=api.id, modelName=model.inputs["name"])
    assert json.loads(found["schema"]) == {"type": "object"} and model.unchanged()

    validator = part(
        provider, agr.REQUEST_VALIDATOR, "tracking-validate-parameters", restApi=api.id
    )
    found = client.get_request_validator(restApiId=api.id, requestValidatorId=validator.id)
    assert (found["validateRequestBody"], found["validateRequestParameters"]) == (False, True)
    validator.update(validateRequestBody=True)
    found = client.get_request_validator(restApiId=api.id, requestValidatorId=validator.id)
    assert found["validateRequestBody"] is True and validator.unchanged()

    response = part(provider, agr.RESPONSE, "tracking-response-bad_request_body", restApiId=api.id)
    found = client.get_gateway_response(restApiId=api.id, responseType="BAD_REQUEST_BODY")
    assert found["statusCode"] == response.inputs["statusCode"]
    assert found["responseTemplates"] == response.inputs["responseTemplates"]
    assert found["responseParameters"] == response.inputs["responseParameters"]
    assert response.unchanged()
    client.put_gateway_response(restApiId=api.id, responseType="BAD_REQUEST_BODY", statusCode="422")
    assert response.read()[1]["statusCode"] == "422"

    for life in (response, validator, model, health):
        life.delete()
        assert life.read() is None


def test_the_health_route_method_mock_integration_and_its_responses(provider, cloud, api, health):
    client = cloud.client("apigateway")
    wiring = {"restApi": api.id, "resourceId": health.id}
    validator = part(
        provider, agr.REQUEST_VALIDATOR, "tracking-validate-parameters", restApi=api.id
    )
    method = part(
        provider, agm.METHOD, f"tracking-method-{HEALTH}", **wiring, requestValidatorId=validator.id
    )
    found = client.get_method(restApiId=api.id, resourceId=health.id, httpMethod="GET")
    assert found["authorizationType"] == method.inputs["authorization"]
    assert found["operationName"] == HEALTH and found["requestValidatorId"] == validator.id
    assert method.unchanged()
    integration = part(provider, agm.INTEGRATION, f"tracking-integration-{HEALTH}", **wiring)
    found = client.get_integration(restApiId=api.id, resourceId=health.id, httpMethod="GET")
    assert found["type"] == "MOCK"
    assert found["requestTemplates"] == integration.inputs["requestTemplates"]
    assert integration.unchanged()
    method_response = part(
        provider, agm.METHOD_RESPONSE, f"tracking-method-response-{HEALTH}", **wiring
    )
    found = client.get_method_response(
        restApiId=api.id, resourceId=health.id, httpMethod="GET", statusCode="200"
    )
    assert found["responseParameters"] == method_response.inputs["responseParameters"]
    answer = part(
        provider, agm.INTEGRATION_RESPONSE, f"tracking-integration-response-{HEALTH}", **wiring
    )
    found = client.get_integration_response(
        restApiId=api.id, resourceId=health.id, httpMethod="GET", statusCode="200"
    )
    assert found["responseTemplates"] == answer.inputs["responseTemplates"]
    assert answer.unchanged() and method_response.unchanged()

    method.update(operationName="renamed")
    found = client.get_method(restApiId=api.id, resourceId=health.id, httpMethod="GET")
    assert found["operationName"] == "renamed"
    answer.update(responseTemplates={"application/json": '{"status": "down"}'})
    found = client.get_integration_response(
        restApiId=api.id, resourceId=health.id, httpMethod="GET", statusCode="200"
    )
    assert found["responseTemplates"] == {"application/json": '{"status": "down"}'}
    client.put_integration(
        restApiId=api.id,
        resourceId=health.id,
        httpMethod="GET",
        type="HTTP",
        integrationHttpMethod="GET",
        uri="http://127.0.0.1/",
    )
    assert integration.read()[1]["type"] == "HTTP"
    for life in (answer, method_response, integration, method):
        life.delete()
        assert life.read() is None


@pytest.fixture
def stage(provider, cloud, api, health) -> Life:
    part(provider, agm.METHOD, f"tracking-method-{HEALTH}", restApi=api.id, resourceId=health.id)
    part(
        provider,
        agm.INTEGRATION,
        f"tracking-integration-{HEALTH}",
        restApi=api.id,
        resourceId=health.id,
    )
    deployment = part(provider, ags.DEPLOYMENT, "tracking-deployment", restApi=api.id)
    assert cloud.client("apigateway").get_deployment(restApiId=api.id, deploymentId=deployment.id)
    return part(provider, ags.STAGE, "tracking-stage", restApi=api.id, deployment=deployment.id)


def test_the_stage_has_its_deployment_access_logs_tracing_and_tags(provider, cloud, api, stage):
    client = cloud.client("apigateway")
    found = client.get_stage(restApiId=api.id, stageName=stage.inputs["stageName"])
    assert found["deploymentId"] == stage.inputs["deployment"]
    assert found["tracingEnabled"] is True
    assert found["accessLogSettings"] == stage.inputs["accessLogSettings"]
    assert found["tags"] == stage.inputs["tags"]
    assert stage.state["invokeUrl"].startswith(f"https://{api.id}.execute-api.")
    assert stage.unchanged()

    second = part(provider, ags.DEPLOYMENT, "tracking-deployment", restApi=api.id)
    stage.update(deployment=second.id, xrayTracingEnabled=False, variables={"v": "1"})
    found = client.get_stage(restApiId=api.id, stageName=stage.inputs["stageName"])
    assert (found["deploymentId"], found["tracingEnabled"]) == (second.id, False)
    assert found["variables"] == {"v": "1"} and stage.unchanged()
    client.update_stage(
        restApiId=api.id,
        stageName=stage.inputs["stageName"],
        patchOperations=[{"op": "replace", "path": "/accessLogSettings/format", "value": "x"}],
    )
    assert stage.read()[1]["accessLogSettings"]["format"] == "x"
    stage.delete()
    assert client.get_stages(restApiId=api.id)["item"] == [] and stage.read() is None


def test_method_settings_throttle_the_stage_and_a_change_by_hand_is_read(
    provider, cloud, api, stage
):
    client = cloud.client("apigateway")
    wiring = {"restApi": api.id, "stageName": stage.inputs["stageName"]}
    settings = part(provider, ags.METHOD_SETTINGS, "tracking-method-settings", **wiring)
    health = part(provider, ags.METHOD_SETTINGS, f"tracking-method-settings-{HEALTH}", **wiring)
    held = client.get_stage(restApiId=api.id, stageName=wiring["stageName"])["methodSettings"]
    for life in (settings, health):
        declared = life.inputs["settings"]
        path = life.inputs["methodPath"]
        assert held[path]["throttlingRateLimit"] == declared["throttlingRateLimit"]
        assert held[path]["throttlingBurstLimit"] == declared["throttlingBurstLimit"]
        assert held[path]["metricsEnabled"] is True
        assert life.unchanged()
    settings.update(settings={**settings.inputs["settings"], "throttlingBurstLimit": 7})
    held = client.get_stage(restApiId=api.id, stageName=wiring["stageName"])["methodSettings"]
    assert held["*/*"]["throttlingBurstLimit"] == 7 and settings.unchanged()
    client.update_stage(
        restApiId=api.id,
        stageName=wiring["stageName"],
        patchOperations=[{"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1"}],
    )
    assert settings.read()[1]["settings"]["throttlingRateLimit"] == 1


def test_the_account_setting_names_the_logging_role(provider, cloud):
    role = cloud.client("iam").create_role(
        RoleName="logs",
        AssumeRolePolicyDocument=synthesized_inputs("aws:iam/role:Role")["assumeRolePolicy"],
    )["Role"]["Arn"]
    life = Life(provider, agr.ACCOUNT, "tracking-account")
    life.create({"cloudwatchRoleArn": role})
    assert cloud.client("apigateway").get_account()["cloudwatchRoleArn"] == role
    # pulumi-aws's output is a list of blocks: a mapping fails the program's type check.
    throttle = cloud.client("apigateway").get_account()["throttleSettings"]
    assert life.state["throttleSettings"] == [throttle]
    assert life.unchanged()
    life.delete()
    assert not cloud.client("apigateway").get_account().get("cloudwatchRoleArn")
