"""API Gateway REST APIs in moto, part one: the account's CloudWatch role, the API
(``rootResourceId``, ``executionArn``), its resources, models, request validators and
gateway responses."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tracking_ops.standin_cloud.moto_backed import STATE_ONLY, Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.compute_shapes import (
    TAGS,
    changed,
    is_not_found,
    present,
    reported,
)

APIGATEWAY = "apigateway"
ACCOUNT = "aws:apigateway/account:Account"
REST_API = "aws:apigateway/restApi:RestApi"
RESOURCE = "aws:apigateway/resource:Resource"
MODEL = "aws:apigateway/model:Model"
REQUEST_VALIDATOR = "aws:apigateway/requestValidator:RequestValidator"
RESPONSE = "aws:apigateway/response:Response"
ACCOUNT_ID = "api-gateway-account"  # pulumi-aws's id of the (one) account setting
ROLE_ARN_PATH = "/cloudwatchRoleArn"

STATE_ONLY.update(
    {
        f"{RESOURCE}#pathPart (update)": "moto has no UpdateResource: a path part changed "
        "in place stays as created in moto",
        f"{REST_API}#endpointConfiguration (update)": "moto's UpdateRestApi ignores the "
        "endpoint configuration: the types set at create are the ones moto holds",
    }
)


def gateway(cloud: Cloud) -> Any:
    return cloud.client(APIGATEWAY)


def account_id(cloud: Cloud) -> str:
    return cloud.client("sts").get_caller_identity()["Account"]


# moto answers an unknown request validator id with a bad request, not "not found".
UNKNOWN_VALIDATOR = "Invalid Request Validator Id"


def gone(error: Exception) -> None:
    """Re-raise ``error`` unless it says the resource does not exist."""
    if not (is_not_found(error) or UNKNOWN_VALIDATOR in str(error)):
        raise error


def replace_ops(values: Properties) -> list[dict[str, str]]:
    """API Gateway's patch operations setting ``values`` (paths without the slash)."""
    return [
        {"op": "replace", "path": f"/{path}", "value": str(value).lower()}
        if isinstance(value, bool)
        else {"op": "replace", "path": f"/{path}", "value": str(value)}
        for path, value in values.items()
    ]


@backs(ACCOUNT)
class AccountBackend:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        return ACCOUNT_ID, self.update(cloud, ACCOUNT_ID, {}, inputs)

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        found = gateway(cloud).get_account()
        return reported({"cloudwatchRoleArn": found.get("cloudwatchRoleArn")}, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        found = gateway(cloud).update_account(
            patchOperations=[
                {"op": "replace", "path": ROLE_ARN_PATH, "value": news.get("cloudwatchRoleArn", "")}
            ]
        )
        # pulumi-aws's output is a list of one block (AccountThrottleSetting).
        throttle = found.get("throttleSettings")
        return {"throttleSettings": [throttle] if throttle else []}

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        # pulumi-aws 7 resets the setting (the stacks retain it on delete).
        gateway(cloud).update_account(
            patchOperations=[{"op": "replace", "path": ROLE_ARN_PATH, "value": ""}]
        )


@backs(REST_API)
class RestApiBackend:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        types = (inputs.get("endpointConfiguration") or {}).get("types")
        created = gateway(cloud).create_rest_api(
            **present(
                {
                    "name": inputs.get("name") or name,
                    "description": inputs.get("description"),
                    "tags": inputs.get(TAGS),
                    "endpointConfiguration": {"types": [types] if isinstance(types, str) else types}
                    if types
                    else None,
                }
            )
        )
        return created["id"], self._answer(cloud, created["id"])

    @staticmethod
    def _answer(cloud: Cloud, api_id: str) -> Properties:
        found = gateway(cloud).get_rest_api(restApiId=api_id)
        return {
            "name": found["name"],
            "rootResourceId": found["rootResourceId"],
            "executionArn": f"arn:aws:execute-api:{cloud.region}:{account_id(cloud)}:{api_id}",
            "arn": f"arn:aws:apigateway:{cloud.region}::/restapis/{api_id}",
            "createdDate": found["createdDate"].isoformat(),
        }

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            found = gateway(cloud).get_rest_api(restApiId=resource_id)
        except ClientError as error:
            return gone(error)
        types = (found.get("endpointConfiguration") or {}).get("types") or []
        declared = (state.get("endpointConfiguration") or {}).get("types")
        current = {
            "name": found["name"],
            "description": found.get("description"),
            TAGS: found.get("tags") or {},
            "rootResourceId": found["rootResourceId"],
            "endpointConfiguration": {
                "types": types[0] if isinstance(declared, str) and len(types) == 1 else types
            },
        }
        return reported(current, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        values = {
            key: news.get(key, "") for key in ("name", "description") if changed(olds, news, key)
        }
        if values:
            gateway(cloud).update_rest_api(
                restApiId=resource_id, patchOperations=replace_ops(values)
            )
        if changed(olds, news, TAGS) and news.get(TAGS):
            gateway(cloud).tag_resource(
                resourceArn=f"arn:aws:apigateway:{cloud.region}::/restapis/{resource_id}",
                tags=news[TAGS],
            )
        return self._answer(cloud, resource_id)

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        gateway(cloud).delete_rest_api(restApiId=resource_id)


@backs(RESOURCE)
class ResourceBackend:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        created = gateway(cloud).create_resource(
            restApiId=inputs["restApi"], parentId=inputs["parentId"], pathPart=inputs["pathPart"]
        )
        return created["id"], {"path": created["path"]}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            found = gateway(cloud).get_resource(restApiId=state["restApi"], resourceId=resource_id)
        except ClientError as error:
            return gone(error)
        current = {"parentId": found.get("parentId"), "pathPart": found.get("pathPart")}
        return reported({**current, "path": found["path"]}, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        return {}  # see STATE_ONLY: moto cannot change a resource in place

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        gateway(cloud).delete_resource(restApiId=state["restApi"], resourceId=resource_id)


@backs(MODEL)
class ModelBackend:
    """A model; moto has no UpdateModel, so a changed schema is the model made again."""

    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        created = gateway(cloud).create_model(
            **present(
                {
                    "restApiId": inputs["restApi"],
                    "name": inputs.get("name") or name,
                    "contentType": inputs["contentType"],
                    "schema": inputs.get("schema"),
                    "description": inputs.get("description"),
                }
            )
        )
        return created["id"], {"name": created["name"]}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            found = gateway(cloud).get_model(restApiId=state["restApi"], modelName=state["name"])
        except ClientError as error:
            return gone(error)
        current = {
            "name": found["name"],
            "contentType": found.get("contentType"),
            "schema": found.get("schema"),
            "description": found.get("description"),
        }
        return reported(current, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        # The engine keeps the first id; the model is found by its (unchanged) name.
        self.delete(cloud, resource_id, olds)
        return self.create(cloud, news["name"], news)[1]

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        gateway(cloud).delete_model(restApiId=state["restApi"], modelName=state["name"])


VALIDATOR_SETTINGS = ("name", "validateRequestBody", "validateRequestParameters")


@backs(REQUEST_VALIDATOR)
class RequestValidatorBackend:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        created = gateway(cloud).create_request_validator(
            restApiId=inputs["restApi"],
            name=inputs.get("name") or name,
            validateRequestBody=bool(inputs.get("validateRequestBody")),
            validateRequestParameters=bool(inputs.get("validateRequestParameters")),
        )
        return created["id"], {"name": created["name"]}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            found = gateway(cloud).get_request_validator(
                restApiId=state["restApi"], requestValidatorId=resource_id
            )
        except ClientError as error:
            return gone(error)
        return reported({key: found.get(key) for key in VALIDATOR_SETTINGS}, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        values = {
            key: bool(news.get(key)) for key in VALIDATOR_SETTINGS[1:] if changed(olds, news, key)
        }
        if changed(olds, news, "name"):
            values["name"] = news["name"]
        if values:
            gateway(cloud).update_request_validator(
                restApiId=news["restApi"],
                requestValidatorId=resource_id,
                patchOperations=replace_ops(values),
            )
        return {}

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        gateway(cloud).delete_request_validator(
            restApiId=state["restApi"], requestValidatorId=resource_id
        )


@backs(RESPONSE)
class ResponseBackend:
    """A gateway response (pulumi-aws's id: ``aggr-<api>-<type>``); put again to update."""

    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        self.update(cloud, "", {}, inputs)
        return f"aggr-{inputs['restApiId']}-{inputs['responseType']}", {}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            found = gateway(cloud).get_gateway_response(
                restApiId=state["restApiId"], responseType=state["responseType"]
            )
        except ClientError as error:
            return gone(error)
        current = {
            "statusCode": found.get("statusCode"),
            "responseTemplates": found.get("responseTemplates"),
            "responseParameters": found.get("responseParameters"),
        }
        return reported(current, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        gateway(cloud).put_gateway_response(
            **present(
                {
                    "restApiId": news["restApiId"],
                    "responseType": news["responseType"],
                    "statusCode": news.get("statusCode"),
                    "responseTemplates": news.get("responseTemplates"),
                    "responseParameters": news.get("responseParameters"),
                }
            )
        )
        return {}

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        gateway(cloud).delete_gateway_response(
            restApiId=state["restApiId"], responseType=state["responseType"]
        )
