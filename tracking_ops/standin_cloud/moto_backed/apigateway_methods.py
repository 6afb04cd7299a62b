"""API Gateway REST APIs in moto, part two: methods, integrations, method responses and
integration responses. moto has no UpdateMethod/UpdateIntegration: an update puts the
declared definition again (moto's Put* replace what is there)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from tracking_ops.standin_cloud.moto_backed import Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.apigateway_rest import gateway, gone
from tracking_ops.standin_cloud.moto_backed.compute_shapes import present, reported

METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
METHOD_RESPONSE = "aws:apigateway/methodResponse:MethodResponse"
INTEGRATION_RESPONSE = "aws:apigateway/integrationResponse:IntegrationResponse"

# engine name -> boto3 name, per type (the address: restApi, resourceId, httpMethod,
# and statusCode for the responses, is common to all four).
METHOD_FIELDS = {
    "authorization": "authorizationType",
    "operationName": "operationName",
    "requestValidatorId": "requestValidatorId",
    "requestModels": "requestModels",
    "requestParameters": "requestParameters",
    "apiKeyRequired": "apiKeyRequired",
    "authorizerId": "authorizerId",
}
# put_integration's names; get_integration answers the integration's method as httpMethod.
INTEGRATION_FIELDS = {
    "type": "type",
    "integrationHttpMethod": "integrationHttpMethod",
    "uri": "uri",
    "requestTemplates": "requestTemplates",
    "requestParameters": "requestParameters",
    "passthroughBehavior": "passthroughBehavior",
    "timeoutInMillis": "timeoutInMillis",
}
INTEGRATION_READ_AS = {"integrationHttpMethod": "httpMethod"}
RESPONSE_FIELDS = {
    "responseParameters": "responseParameters",
    "responseTemplates": "responseTemplates",
    "responseModels": "responseModels",
    "selectionPattern": "selectionPattern",
}


def _address(inputs: Properties, status: bool) -> Properties:
    address = {
        "restApiId": inputs["restApi"],
        "resourceId": inputs["resourceId"],
        "httpMethod": inputs["httpMethod"],
    }
    if status:
        address["statusCode"] = inputs["statusCode"]
    return address


class PutBackend:
    """A part of a method put as declared (created and updated alike), read, deleted."""

    prefix: str
    fields: dict[str, str]
    read_as: dict[str, str] = {}
    status = False
    put: str
    get: str
    remove: str

    def _call(self, cloud: Cloud, operation: str) -> Callable[..., Any]:
        return getattr(gateway(cloud), operation)

    def _id(self, inputs: Properties) -> str:
        return "-".join([self.prefix, *(str(v) for v in _address(inputs, self.status).values())])

    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        return self._id(inputs), self.update(cloud, "", {}, inputs)

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            found = self._held(cloud, state)
        except ClientError as error:
            return gone(error)
        if found is None:
            return None
        current = {key: found.get(self.read_as.get(key, boto)) for key, boto in self.fields.items()}
        return reported(current, state)

    def _held(self, cloud: Cloud, state: Properties) -> Properties | None:
        return self._call(cloud, self.get)(**_address(state, self.status))

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        values = present({boto: news.get(key) for key, boto in self.fields.items()})
        self._call(cloud, self.put)(**_address(news, self.status), **values)
        return {}

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        # Gone already (its method or integration was put anew): moto would fail a delete.
        if self.read(cloud, resource_id, state) is not None:
            self._call(cloud, self.remove)(**_address(state, self.status))


@backs(METHOD)
class MethodBackend(PutBackend):
    """moto's PutMethod makes the method anew, without its integration and responses:
    an update puts those back as moto held them (AWS's UpdateMethod keeps them)."""

    prefix, fields = "agm", METHOD_FIELDS
    put, get, remove = "put_method", "get_method", "delete_method"

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        client = gateway(cloud)
        address = _address(news, False)
        held = client.get_method(**address) if resource_id else {}
        super().update(cloud, resource_id, olds, news)
        for code, response in (held.get("methodResponses") or {}).items():
            client.put_method_response(
                **address, statusCode=code, **_fields(response, RESPONSE_FIELDS)
            )
        integration = held.get("methodIntegration")
        if integration:
            values = _fields(integration, INTEGRATION_FIELDS, INTEGRATION_READ_AS)
            client.put_integration(**address, **values)
            for code, response in (integration.get("integrationResponses") or {}).items():
                client.put_integration_response(
                    **address, statusCode=code, **_fields(response, RESPONSE_FIELDS)
                )
        return {}


def _fields(held: Properties, fields: dict[str, str], read_as: dict[str, str] | None = None):
    """What moto answered, as the Put call's arguments."""
    read_as = read_as or {}
    return present({boto: held.get(read_as.get(key, boto)) for key, boto in fields.items()})


@backs(INTEGRATION)
class IntegrationBackend(PutBackend):
    prefix, fields, read_as = "agi", INTEGRATION_FIELDS, INTEGRATION_READ_AS
    put, get, remove = "put_integration", "get_integration", "delete_integration"

    def _held(self, cloud: Cloud, state: Properties) -> Properties | None:
        # Through the method: moto answers GetIntegration of a deleted one with nothing.
        method = gateway(cloud).get_method(**_address(state, False))
        integration = method.get("methodIntegration")
        return integration if integration and integration.get("type") else None


@backs(METHOD_RESPONSE)
class MethodResponseBackend(PutBackend):
    prefix, status = "agmr", True
    fields = {key: RESPONSE_FIELDS[key] for key in ("responseParameters", "responseModels")}
    put, get, remove = "put_method_response", "get_method_response", "delete_method_response"

    def _held(self, cloud: Cloud, state: Properties) -> Properties | None:
        # Read through the method: moto fails GetMethodResponse of a missing code (500).
        method = gateway(cloud).get_method(**_address(state, False))
        return (method.get("methodResponses") or {}).get(state["statusCode"])


@backs(INTEGRATION_RESPONSE)
class IntegrationResponseBackend(PutBackend):
    prefix, status = "agir", True
    fields = {
        key: RESPONSE_FIELDS[key]
        for key in ("responseParameters", "responseTemplates", "selectionPattern")
    }
    put, get = "put_integration_response", "get_integration_response"
    remove = "delete_integration_response"

    def _held(self, cloud: Cloud, state: Properties) -> Properties | None:
        # Through the method, as for method responses (moto fails a missing code).
        method = gateway(cloud).get_method(**_address(state, False))
        integration = method.get("methodIntegration") or {}
        return (integration.get("integrationResponses") or {}).get(state["statusCode"])
