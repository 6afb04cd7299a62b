"""Queues, queue policies, topics, topic policies and subscriptions through the
provider into moto."""

from __future__ import annotations

import json

import pytest

from tests.functional.standin_cloud.engine_calls import Resource, synth_one
from tracking_ops.standin_cloud.moto_backed.queues import QUEUE, QUEUE_POLICY
from tracking_ops.standin_cloud.moto_backed.topics import SUBSCRIPTION, TOPIC, TOPIC_POLICY
from tracking_stacks.registry import Layer


def _policy(resource: str, sid: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": resource,
                }
            ],
        }
    )


@pytest.fixture
def dlq(provider):
    name, inputs = synth_one(Layer.DATA, QUEUE)
    return Resource(provider, QUEUE, name, inputs)


@pytest.fixture
def topic(provider):
    name, inputs = synth_one(Layer.MONITORING, TOPIC)
    return Resource(provider, TOPIC, name, inputs)


def _attributes(cloud, url):
    return cloud.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]


def test_the_dlq_in_moto_has_the_declared_attributes(cloud, dlq):
    held = _attributes(cloud, dlq.id)
    assert held["MessageRetentionPeriod"] == str(int(dlq.inputs["messageRetentionSeconds"]))
    assert held["VisibilityTimeout"] == str(int(dlq.inputs["visibilityTimeoutSeconds"]))
    assert held["SqsManagedSseEnabled"] == "true"
    assert cloud.client("sqs").list_queue_tags(QueueUrl=dlq.id)["Tags"] == dlq.inputs["tags"]
    assert dlq.outputs["arn"] == held["QueueArn"] and dlq.outputs["url"] == dlq.id
    found = dlq.read()
    for key, value in dlq.inputs.items():
        assert found[key] == value, key


def test_a_queue_update_and_a_hand_change(cloud, dlq):
    dlq.update(visibilityTimeoutSeconds=60, sqsManagedSseEnabled=False, tags={"Owner": "ops"})
    held = _attributes(cloud, dlq.id)
    assert (held["VisibilityTimeout"], held["SqsManagedSseEnabled"]) == ("60", "false")
    assert cloud.client("sqs").list_queue_tags(QueueUrl=dlq.id)["Tags"] == {"Owner": "ops"}
    cloud.client("sqs").set_queue_attributes(
        QueueUrl=dlq.id, Attributes={"MessageRetentionPeriod": "3600"}
    )
    assert dlq.read()["messageRetentionSeconds"] == 3600
    dlq.delete()
    assert cloud.client("sqs").list_queues().get("QueueUrls", []) == []
    assert dlq.read() is None


def test_a_queue_policy_is_set_read_and_removed(cloud, provider, dlq):
    arn = dlq.outputs["arn"]
    policy = Resource(
        provider, QUEUE_POLICY, "dlq-policy", {"queueUrl": dlq.id, "policy": _policy(arn, "A")}
    )
    assert json.loads(_attributes(cloud, dlq.id)["Policy"]) == json.loads(_policy(arn, "A"))
    policy.update(policy=_policy(arn, "B"))
    assert json.loads(_attributes(cloud, dlq.id)["Policy"])["Statement"][0]["Sid"] == "B"
    assert policy.read()["policy"] == _policy(arn, "B")
    policy.delete()
    assert "Policy" not in _attributes(cloud, dlq.id) or not _attributes(cloud, dlq.id)["Policy"]


def test_the_topic_in_moto_has_its_key_and_tags(cloud, topic):
    sns = cloud.client("sns")
    held = sns.get_topic_attributes(TopicArn=topic.id)["Attributes"]
    assert held["KmsMasterKeyId"] == topic.inputs["kmsMasterKeyId"]
    tags = sns.list_tags_for_resource(ResourceArn=topic.id)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == topic.inputs["tags"]
    assert topic.outputs["arn"] == topic.id == held["TopicArn"]
    found = topic.read()
    for key, value in topic.inputs.items():
        assert found[key] == value, key
    topic.update(displayName="Alarms")
    assert sns.get_topic_attributes(TopicArn=topic.id)["Attributes"]["DisplayName"] == "Alarms"
    sns.set_topic_attributes(TopicArn=topic.id, AttributeName="DisplayName", AttributeValue="x")
    assert topic.read()["displayName"] == "x"
    topic.delete()
    assert sns.list_topics()["Topics"] == [] and topic.read() is None


def test_a_topic_policy_and_a_subscription(cloud, provider, topic):
    sns = cloud.client("sns")
    document = _policy(topic.id, "AlarmsPublish")
    policy = Resource(
        provider, TOPIC_POLICY, "alarms-policy", {"arn": topic.id, "policy": document}
    )
    held = sns.get_topic_attributes(TopicArn=topic.id)["Attributes"]["Policy"]
    assert json.loads(held) == json.loads(document) and policy.read()["policy"] == document
    policy.delete()
    held = sns.get_topic_attributes(TopicArn=topic.id)["Attributes"]["Policy"]
    assert json.loads(held)["Statement"][0]["Sid"] == "__default_statement_ID"

    inputs = {
        "topic": topic.id,
        "protocol": "sqs",
        "endpoint": "arn:aws:sqs:us-east-1:123456789012:q",
    }
    subscription = Resource(
        provider, SUBSCRIPTION, "alarm-1", {**inputs, "rawMessageDelivery": True}
    )
    (listed,) = sns.list_subscriptions_by_topic(TopicArn=topic.id)["Subscriptions"]
    assert listed["SubscriptionArn"] == subscription.id == subscription.outputs["arn"]
    assert (listed["Protocol"], listed["Endpoint"]) == (inputs["protocol"], inputs["endpoint"])
    found = subscription.read()
    assert {key: found[key] for key in subscription.inputs} == subscription.inputs
    subscription.update(rawMessageDelivery=False)
    held = sns.get_subscription_attributes(SubscriptionArn=subscription.id)["Attributes"]
    assert held["RawMessageDelivery"] == "false"
    subscription.delete()
    assert sns.list_subscriptions_by_topic(TopicArn=topic.id)["Subscriptions"] == []
    assert subscription.read() is None
