"""SQS queues and queue policies in moto. A queue's id is its URL (pulumi-aws's id), so
is a queue policy's; the outputs moto answers are ``arn`` and ``url``."""

from __future__ import annotations

from typing import Any

from tracking_ops.standin_cloud.moto_backed import Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.shapes import (
    ARN,
    NAME,
    TAGS,
    as_declared,
    given,
    number,
    tag_changes,
)

QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SERVICE = "sqs"
POLICY = "Policy"
QUEUE_ARN = "QueueArn"

# pulumi-aws's property -> SQS's attribute, and how the attribute's text reads back.
INTEGER, BOOLEAN, TEXT = int, bool, str
ATTRIBUTES: dict[str, tuple[str, type]] = {
    "delaySeconds": ("DelaySeconds", INTEGER),
    "maxMessageSize": ("MaximumMessageSize", INTEGER),
    "messageRetentionSeconds": ("MessageRetentionPeriod", INTEGER),
    "receiveWaitTimeSeconds": ("ReceiveMessageWaitTimeSeconds", INTEGER),
    "visibilityTimeoutSeconds": ("VisibilityTimeout", INTEGER),
    "policy": (POLICY, TEXT),
    "redrivePolicy": ("RedrivePolicy", TEXT),
    "redriveAllowPolicy": ("RedriveAllowPolicy", TEXT),
    "sqsManagedSseEnabled": ("SqsManagedSseEnabled", BOOLEAN),
    "kmsMasterKeyId": ("KmsMasterKeyId", TEXT),
    "kmsDataKeyReusePeriodSeconds": ("KmsDataKeyReusePeriodSeconds", INTEGER),
    "fifoQueue": ("FifoQueue", BOOLEAN),
    "contentBasedDeduplication": ("ContentBasedDeduplication", BOOLEAN),
    "deduplicationScope": ("DeduplicationScope", TEXT),
    "fifoThroughputLimit": ("FifoThroughputLimit", TEXT),
}
FIFO_SUFFIX = ".fifo"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(number(value))


def _attributes(inputs: Properties) -> dict[str, str]:
    return {
        attribute: _text(inputs[key])
        for key, (attribute, _) in ATTRIBUTES.items()
        if key in inputs and not (attribute == "FifoQueue" and not inputs[key])
    }


def _parsed(text: str, kind: type) -> Any:
    if kind is BOOLEAN:
        return text.lower() == "true"
    if kind is INTEGER:
        return int(text)
    return text


def _held(client: Any, url: str) -> dict[str, str] | None:
    try:
        return client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    except client.exceptions.QueueDoesNotExist:
        return None


@backs(QUEUE)
class Queue:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        inputs = given(inputs)
        client = cloud.client(SERVICE)
        queue = inputs.get(NAME) or (name + FIFO_SUFFIX if inputs.get("fifoQueue") else name)
        request: dict[str, Any] = {"QueueName": queue, "Attributes": _attributes(inputs)}
        if inputs.get(TAGS):
            request["tags"] = inputs[TAGS]
        url = client.create_queue(**request)["QueueUrl"]
        return url, self._answer(client, url)

    @staticmethod
    def _answer(client: Any, url: str) -> Properties:
        held = _held(client, url)
        return {ARN: held[QUEUE_ARN], "url": url}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        client = cloud.client(SERVICE)
        held = _held(client, resource_id)
        if held is None:
            return None
        found: Properties = {NAME: resource_id.rsplit("/", 1)[-1], ARN: held[QUEUE_ARN]}
        for key, (attribute, kind) in ATTRIBUTES.items():
            if attribute in held:
                value = _parsed(held[attribute], kind)
                found[key] = as_declared(state.get(key), value) if kind is TEXT else value
        found[TAGS] = client.list_queue_tags(QueueUrl=resource_id).get("Tags", {})
        return {key: value for key, value in found.items() if key in state or key == ARN}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        olds, news = given(olds), given(news)
        client = cloud.client(SERVICE)
        attributes = {
            attribute: text
            for attribute, text in _attributes(news).items()
            if _attributes(olds).get(attribute) != text
        }
        for key, (attribute, kind) in ATTRIBUTES.items():
            if key in olds and key not in news and kind is TEXT:
                attributes[attribute] = ""  # a removed policy or key: cleared
        if attributes:
            client.set_queue_attributes(QueueUrl=resource_id, Attributes=attributes)
        to_set, to_remove = tag_changes(olds, news)
        if to_set:
            client.tag_queue(QueueUrl=resource_id, Tags=to_set)
        if to_remove:
            client.untag_queue(QueueUrl=resource_id, TagKeys=to_remove)
        return self._answer(client, resource_id)

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        client = cloud.client(SERVICE)
        if _held(client, resource_id) is not None:
            client.delete_queue(QueueUrl=resource_id)


@backs(QUEUE_POLICY)
class QueuePolicy:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        url = inputs["queueUrl"]
        cloud.client(SERVICE).set_queue_attributes(
            QueueUrl=url, Attributes={POLICY: inputs["policy"]}
        )
        return url, {}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        held = _held(cloud.client(SERVICE), resource_id)
        if held is None or not held.get(POLICY):
            return None
        return {"queueUrl": resource_id, "policy": as_declared(state.get("policy"), held[POLICY])}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        self.create(cloud, resource_id, news)
        return {}

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        client = cloud.client(SERVICE)
        if _held(client, resource_id) is not None:
            client.set_queue_attributes(QueueUrl=resource_id, Attributes={POLICY: ""})
