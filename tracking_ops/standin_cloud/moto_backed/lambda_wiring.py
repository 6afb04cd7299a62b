"""What calls a Lambda function, in moto: resource-policy permissions (principal, source
ARN, qualifier) and event source mappings (stream, starting position, batch size and
window, bisect on error, retries, record age, response types, on-failure destination)."""

from __future__ import annotations

import json
from typing import Any

from tracking_ops.standin_cloud.moto_backed import STATE_ONLY, Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.compute_shapes import (
    TAGS,
    changed,
    is_not_found,
    present,
    reported,
)
from tracking_ops.standin_cloud.moto_backed.lambda_functions import LAMBDA

PERMISSION = "aws:lambda/permission:Permission"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
SOURCE_ARN_CONDITION = ("ArnLike", "AWS:SourceArn")

DESTINATION = "destinationConfig"
DISABLED = "Disabled"
# Mapping settings: engine name -> boto3 name (same value on both sides).
MAPPING_SETTINGS = {
    "batchSize": "BatchSize",
    "maximumBatchingWindowInSeconds": "MaximumBatchingWindowInSeconds",
    "bisectBatchOnFunctionError": "BisectBatchOnFunctionError",
    "maximumRetryAttempts": "MaximumRetryAttempts",
    "maximumRecordAgeInSeconds": "MaximumRecordAgeInSeconds",
    "functionResponseTypes": "FunctionResponseTypes",
    "enabled": "Enabled",
}
STATE_ONLY[f"{EVENT_SOURCE_MAPPING}#functionResponseTypes (update)"] = (
    "moto's UpdateEventSourceMapping ignores FunctionResponseTypes: the types set at "
    "create are the ones moto holds"
)
# Set only at create (the replacement properties of REPLACE_ON_CHANGE).
MAPPING_CREATE_ONLY = {
    "eventSourceArn": "EventSourceArn",
    "startingPosition": "StartingPosition",
}


def _lambda(cloud: Cloud) -> Any:
    return cloud.client(LAMBDA)


def _qualified(inputs: Properties) -> Properties:
    return present({"FunctionName": inputs["function"], "Qualifier": inputs.get("qualifier")})


@backs(PERMISSION)
class PermissionBackend:
    """A statement of the function's resource policy; its id is the statement id."""

    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        statement_id = inputs.get("statementId") or name
        _lambda(cloud).add_permission(
            **_qualified(inputs),
            StatementId=statement_id,
            Action=inputs["action"],
            Principal=inputs["principal"],
            **present(
                {
                    "SourceArn": inputs.get("sourceArn"),
                    "SourceAccount": inputs.get("sourceAccount"),
                }
            ),
        )
        return statement_id, {"statementId": statement_id}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            policy = _lambda(cloud).get_policy(**_qualified(state))["Policy"]
        except Exception as error:
            if is_not_found(error):
                return None
            raise
        statements = json.loads(policy).get("Statement", [])
        found = next((s for s in statements if s.get("Sid") == resource_id), None)
        if found is None:
            return None
        principal = found.get("Principal")
        condition, key = SOURCE_ARN_CONDITION
        current = {
            "statementId": resource_id,
            "action": found.get("Action"),
            "principal": principal.get("Service", principal.get("AWS"))
            if isinstance(principal, dict)
            else principal,
            "sourceArn": found.get("Condition", {}).get(condition, {}).get(key),
        }
        return reported(current, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        return {"statementId": resource_id}  # every property it sets replaces it

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        _lambda(cloud).remove_permission(**_qualified(state), StatementId=resource_id)


def _destination(config: Any) -> Properties | None:
    """pulumi-aws's ``destinationConfig`` as boto3's ``DestinationConfig``."""
    target = ((config or {}).get("onFailure") or {}).get("destinationArn")
    return {"OnFailure": {"Destination": target}} if target else None


def _settings(inputs: Properties, names: dict[str, str]) -> Properties:
    return present({boto: inputs.get(key) for key, boto in names.items()})


@backs(EVENT_SOURCE_MAPPING)
class EventSourceMappingBackend:
    """A mapping; its id is its UUID (as pulumi-aws's)."""

    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        arguments = {
            "FunctionName": inputs["functionName"],
            **_settings(inputs, MAPPING_CREATE_ONLY),
            **_settings(inputs, MAPPING_SETTINGS),
        }
        if _destination(inputs.get(DESTINATION)):
            arguments["DestinationConfig"] = _destination(inputs[DESTINATION])
        if inputs.get(TAGS):
            arguments["Tags"] = inputs[TAGS]
        created = _lambda(cloud).create_event_source_mapping(**arguments)
        return created["UUID"], self._answer(created)

    @staticmethod
    def _answer(mapping: Properties) -> Properties:
        return {
            "uuid": mapping["UUID"],
            "arn": mapping["EventSourceMappingArn"],
            "functionArn": mapping["FunctionArn"],
            "state": mapping["State"],
            "enabled": mapping["State"] != DISABLED,
        }

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            found = _lambda(cloud).get_event_source_mapping(UUID=resource_id)
        except Exception as error:
            if is_not_found(error):
                return None
            raise
        names = {**MAPPING_CREATE_ONLY, **MAPPING_SETTINGS}
        current: Properties = {key: found.get(boto) for key, boto in names.items()}
        current["enabled"] = found.get("State") != DISABLED
        target = found.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        current[DESTINATION] = {"onFailure": {"destinationArn": target}} if target else None
        current["state"] = found.get("State")
        return reported(current, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        arguments = {
            boto: news.get(key)
            for key, boto in MAPPING_SETTINGS.items()
            if changed(olds, news, key) and news.get(key) is not None
        }
        if changed(olds, news, DESTINATION):
            arguments["DestinationConfig"] = _destination(news.get(DESTINATION)) or {
                "OnFailure": {}
            }
        if changed(olds, news, "functionName"):
            arguments["FunctionName"] = news["functionName"]
        client = _lambda(cloud)
        if arguments:
            client.update_event_source_mapping(UUID=resource_id, **arguments)
        return self._answer(client.get_event_source_mapping(UUID=resource_id))

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        _lambda(cloud).delete_event_source_mapping(UUID=resource_id)
