"""EventBridge event buses in moto. The id is the bus's name (pulumi-aws's id); moto
answers its ``arn``."""

from __future__ import annotations

from typing import Any

from tracking_ops.standin_cloud.moto_backed import STATE_ONLY, Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.shapes import (
    ARN,
    NAME,
    TAGS,
    given,
    held_fields,
    tag_changes,
    tag_list,
    tag_map,
)

EVENT_BUS = "aws:cloudwatch/eventBus:EventBus"
SERVICE = "events"
FIELDS = {
    "eventSourceName": "EventSourceName",
    "description": "Description",
    "kmsKeyIdentifier": "KmsKeyIdentifier",
}
STATE_ONLY[f"{EVENT_BUS}#description"] = (
    "set at create; moto has no UpdateEventBus, so a later change (of the description "
    "or kmsKeyIdentifier) stays in the state"
)


def _bus(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_event_bus(Name=name)
    except client.exceptions.ResourceNotFoundException:
        return None


@backs(EVENT_BUS)
class EventBus:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        inputs = given(inputs)
        client = cloud.client(SERVICE)
        bus = inputs.get(NAME, name)
        request = {field: inputs[key] for key, field in FIELDS.items() if key in inputs}
        if inputs.get(TAGS):
            request["Tags"] = tag_list(inputs[TAGS])
        arn = client.create_event_bus(Name=bus, **request)["EventBusArn"]
        return bus, {ARN: arn}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        client = cloud.client(SERVICE)
        held = _bus(client, resource_id)
        if held is None:
            return None
        found: Properties = {NAME: resource_id, ARN: held["Arn"], **held_fields(held, FIELDS)}
        found[TAGS] = tag_map(client.list_tags_for_resource(ResourceARN=held["Arn"])["Tags"])
        return {key: value for key, value in found.items() if key in state or key == ARN}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        client = cloud.client(SERVICE)
        arn = _bus(client, resource_id)["Arn"]
        to_set, to_remove = tag_changes(given(olds), given(news))
        if to_set:
            client.tag_resource(ResourceARN=arn, Tags=tag_list(to_set))
        if to_remove:
            client.untag_resource(ResourceARN=arn, TagKeys=to_remove)
        return {ARN: arn}

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        client = cloud.client(SERVICE)
        if _bus(client, resource_id) is not None:
            client.delete_event_bus(Name=resource_id)
