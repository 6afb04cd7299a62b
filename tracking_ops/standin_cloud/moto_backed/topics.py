"""SNS topics, topic policies and subscriptions in moto. Ids as pulumi-aws has them: a
topic's (and its policy's) is the topic ARN, a subscription's its ARN."""

from __future__ import annotations

import json
from typing import Any

from tracking_ops.standin_cloud.moto_backed import STATE_ONLY, Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.shapes import (
    ARN,
    NAME,
    TAGS,
    as_declared,
    given,
    tag_changes,
    tag_list,
    tag_map,
)

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
SERVICE = "sns"
POLICY = "Policy"
NOT_FOUND = "NotFoundException"
FIFO_SUFFIX = ".fifo"

TOPIC_ATTRIBUTES = {
    "displayName": "DisplayName",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "policy": POLICY,
    "deliveryPolicy": "DeliveryPolicy",
    "signatureVersion": "SignatureVersion",
    "tracingConfig": "TracingConfig",
    "contentBasedDeduplication": "ContentBasedDeduplication",
}
SUBSCRIPTION_ATTRIBUTES = {
    "rawMessageDelivery": "RawMessageDelivery",
    "filterPolicy": "FilterPolicy",
    "filterPolicyScope": "FilterPolicyScope",
    "redrivePolicy": "RedrivePolicy",
    "deliveryPolicy": "DeliveryPolicy",
    "subscriptionRoleArn": "SubscriptionRoleArn",
}
STATE_ONLY[f"{SUBSCRIPTION}#pendingConfirmation"] = (
    "moto confirms every subscription at once, an email one too (AWS keeps it pending "
    "until the link is followed)"
)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _topic_attributes(client: Any, arn: str) -> dict[str, str] | None:
    try:
        return client.get_topic_attributes(TopicArn=arn)["Attributes"]
    except client.exceptions.NotFoundException:
        return None


def _default_policy(arn: str, owner: str) -> str:
    """SNS's own policy of a new topic (what a deleted TopicPolicy leaves)."""
    return json.dumps(
        {
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [
                {
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        f"SNS:{action}"
                        for action in (
                            "GetTopicAttributes",
                            "SetTopicAttributes",
                            "AddPermission",
                            "RemovePermission",
                            "DeleteTopic",
                            "Subscribe",
                            "ListSubscriptionsByTopic",
                            "Publish",
                        )
                    ],
                    "Resource": arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": owner}},
                }
            ],
        }
    )


@backs(TOPIC)
class Topic:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        inputs = given(inputs)
        client = cloud.client(SERVICE)
        topic = inputs.get(NAME) or (name + FIFO_SUFFIX if inputs.get("fifoTopic") else name)
        attributes = {
            field: _text(inputs[key]) for key, field in TOPIC_ATTRIBUTES.items() if key in inputs
        }
        if inputs.get("fifoTopic"):
            attributes["FifoTopic"] = "true"
        arn = client.create_topic(
            Name=topic, Attributes=attributes, Tags=tag_list(inputs.get(TAGS))
        )["TopicArn"]
        return arn, self._answer(client, arn)

    @staticmethod
    def _answer(client: Any, arn: str) -> Properties:
        return {ARN: arn, "owner": _topic_attributes(client, arn)["Owner"]}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        client = cloud.client(SERVICE)
        held = _topic_attributes(client, resource_id)
        if held is None:
            return None
        found: Properties = {NAME: resource_id.rsplit(":", 1)[-1], ARN: resource_id}
        for key, field in TOPIC_ATTRIBUTES.items():
            if field in held:
                found[key] = as_declared(state.get(key), held[field])
        tags = client.list_tags_for_resource(ResourceArn=resource_id)["Tags"]
        found[TAGS] = tag_map(tags)
        return {key: value for key, value in found.items() if key in state or key == ARN}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        olds, news = given(olds), given(news)
        client = cloud.client(SERVICE)
        for key, field in TOPIC_ATTRIBUTES.items():
            if olds.get(key) != news.get(key):
                value = _text(news[key]) if key in news else ""
                client.set_topic_attributes(
                    TopicArn=resource_id, AttributeName=field, AttributeValue=value
                )
        to_set, to_remove = tag_changes(olds, news)
        if to_set:
            client.tag_resource(ResourceArn=resource_id, Tags=tag_list(to_set))
        if to_remove:
            client.untag_resource(ResourceArn=resource_id, TagKeys=to_remove)
        return self._answer(client, resource_id)

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        cloud.client(SERVICE).delete_topic(TopicArn=resource_id)


@backs(TOPIC_POLICY)
class TopicPolicy:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        client = cloud.client(SERVICE)
        client.set_topic_attributes(
            TopicArn=inputs[ARN], AttributeName=POLICY, AttributeValue=inputs["policy"]
        )
        return inputs[ARN], {"owner": _topic_attributes(client, inputs[ARN])["Owner"]}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        held = _topic_attributes(cloud.client(SERVICE), resource_id)
        if held is None:
            return None
        return {ARN: resource_id, "policy": as_declared(state.get("policy"), held.get(POLICY))}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        return self.create(cloud, resource_id, news)[1]

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        client = cloud.client(SERVICE)
        held = _topic_attributes(client, resource_id)
        if held is not None:
            client.set_topic_attributes(
                TopicArn=resource_id,
                AttributeName=POLICY,
                AttributeValue=_default_policy(resource_id, held["Owner"]),
            )


def _subscription(client: Any, arn: str) -> dict[str, str] | None:
    try:
        return client.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    except client.exceptions.NotFoundException:
        return None


@backs(SUBSCRIPTION)
class TopicSubscription:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        inputs = given(inputs)
        client = cloud.client(SERVICE)
        arn = client.subscribe(
            TopicArn=inputs["topic"],
            Protocol=inputs["protocol"],
            Endpoint=inputs["endpoint"],
            Attributes={
                field: _text(inputs[key])
                for key, field in SUBSCRIPTION_ATTRIBUTES.items()
                if key in inputs
            },
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return arn, self._answer(client, arn)

    @staticmethod
    def _answer(client: Any, arn: str) -> Properties:
        held = _subscription(client, arn)
        return {
            ARN: arn,
            "ownerId": held.get("Owner", ""),
            "pendingConfirmation": held.get("PendingConfirmation") == "true",
            "confirmationWasAuthenticated": held.get("ConfirmationWasAuthenticated") == "true",
        }

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        held = _subscription(cloud.client(SERVICE), resource_id)
        if held is None:
            return None
        found: Properties = {
            "topic": held["TopicArn"],
            "protocol": held["Protocol"],
            "endpoint": held["Endpoint"],
        }
        for key, field in SUBSCRIPTION_ATTRIBUTES.items():
            if field in held and key in state:
                value = held[field]
                found[key] = value == "true" if isinstance(state[key], bool) else value
                found[key] = as_declared(state[key], found[key])
        return found

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        olds, news = given(olds), given(news)
        client = cloud.client(SERVICE)
        for key, field in SUBSCRIPTION_ATTRIBUTES.items():
            if olds.get(key) != news.get(key):
                client.set_subscription_attributes(
                    SubscriptionArn=resource_id,
                    AttributeName=field,
                    AttributeValue=_text(news[key]) if key in news else "",
                )
        return self._answer(client, resource_id)

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        client = cloud.client(SERVICE)
        if _subscription(client, resource_id) is not None:
            client.unsubscribe(SubscriptionArn=resource_id)
