"""Lambda permissions and the stream's event source mapping in moto through the provider."""

from __future__ import annotations

import json

import pytest

from tests.functional.standin_cloud.compute_lifecycle import Life, synthesized_inputs
from tests.functional.standin_cloud.test_lambda_functions import (
    API_FUNCTION,
    function_inputs,
    role_arn,  # noqa: F401 - a fixture
)
from tracking_ops.standin_cloud.moto_backed import lambda_functions as lf
from tracking_ops.standin_cloud.moto_backed import lambda_wiring as lw

PERMISSION = "tracking-invoke-post_track"
MAPPING = "tracking-stream"


@pytest.fixture
def live(provider, cloud, tmp_path, role_arn) -> tuple[Life, Life]:  # noqa: F811
    function = Life(provider, lf.FUNCTION, API_FUNCTION)
    function.create(function_inputs(tmp_path, role_arn))
    alias = Life(provider, lf.ALIAS, "tracking-api-alias")
    alias.create(
        {**synthesized_inputs(lf.ALIAS, "tracking-api-alias"), "functionName": function.id}
    )
    return function, alias


def statements(cloud, function: str, qualifier: str) -> dict[str, dict]:
    """The statements of the function's policy (none: moto answers "not found")."""
    client = cloud.client("lambda")
    try:
        policy = client.get_policy(FunctionName=function, Qualifier=qualifier)
    except client.exceptions.ResourceNotFoundException:
        return {}
    return {s["Sid"]: s for s in json.loads(policy["Policy"])["Statement"]}


def test_a_permission_is_a_statement_of_the_alias_policy_read_and_removed(provider, cloud, live):
    function, alias = live
    declared = synthesized_inputs(lw.PERMISSION, PERMISSION)
    life = Life(provider, lw.PERMISSION, PERMISSION)
    life.create({**declared, "function": function.id})
    found = statements(cloud, function.id, declared["qualifier"])[life.id]
    assert found["Action"] == declared["action"]
    assert found["Principal"] == {"Service": declared["principal"]}
    assert found["Condition"]["ArnLike"]["AWS:SourceArn"] == declared["sourceArn"]
    assert life.unchanged()

    cloud.client("lambda").remove_permission(
        FunctionName=function.id, Qualifier=declared["qualifier"], StatementId=life.id
    )
    assert life.read() is None
    life.create({**declared, "function": function.id})
    life.delete()
    assert life.id not in statements(cloud, function.id, declared["qualifier"])
    assert life.read() is None


@pytest.fixture
def stream_and_dlq(cloud) -> tuple[str, str]:
    table = cloud.client("dynamodb").create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    queue = cloud.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
    dlq = cloud.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    return table["LatestStreamArn"], dlq["Attributes"]["QueueArn"]


def mapping(provider, live, stream_and_dlq) -> tuple[Life, dict]:
    _, alias = live
    stream, dlq = stream_and_dlq
    declared = synthesized_inputs(lw.EVENT_SOURCE_MAPPING, MAPPING)
    inputs = {
        **declared,
        "eventSourceArn": stream,
        "functionName": alias.state["arn"],
        "destinationConfig": {"onFailure": {"destinationArn": dlq}},
    }
    life = Life(provider, lw.EVENT_SOURCE_MAPPING, MAPPING)
    life.create(inputs)
    return life, inputs


def test_the_mapping_is_created_with_bisect_retries_age_and_its_destination(
    provider, cloud, live, stream_and_dlq
):
    life, inputs = mapping(provider, live, stream_and_dlq)
    found = cloud.client("lambda").get_event_source_mapping(UUID=life.id)
    assert found["EventSourceArn"] == inputs["eventSourceArn"]
    assert found["StartingPosition"] == inputs["startingPosition"] == "LATEST"
    assert found["BatchSize"] == inputs["batchSize"]
    assert found["MaximumBatchingWindowInSeconds"] == inputs["maximumBatchingWindowInSeconds"]
    assert found["BisectBatchOnFunctionError"] is True
    assert found["MaximumRetryAttempts"] == inputs["maximumRetryAttempts"]
    assert found["MaximumRecordAgeInSeconds"] == inputs["maximumRecordAgeInSeconds"]
    assert found["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert found["DestinationConfig"]["OnFailure"]["Destination"] == stream_and_dlq[1]
    assert life.state["uuid"] == life.id and life.state["arn"] == found["EventSourceMappingArn"]
    assert life.unchanged()


def test_a_mapping_update_reaches_moto_and_a_change_by_hand_is_read(
    provider, cloud, live, stream_and_dlq
):
    life, _ = mapping(provider, live, stream_and_dlq)
    life.update(batchSize=10, maximumRetryAttempts=2, bisectBatchOnFunctionError=False)
    client = cloud.client("lambda")
    found = client.get_event_source_mapping(UUID=life.id)
    assert (found["BatchSize"], found["MaximumRetryAttempts"]) == (10, 2)
    assert found["BisectBatchOnFunctionError"] is False
    assert life.unchanged()
    life.update(destinationConfig=None)
    assert (
        not client.get_event_source_mapping(UUID=life.id)["DestinationConfig"]
        .get("OnFailure", {})
        .get("Destination")
    )

    client.update_event_source_mapping(UUID=life.id, MaximumRecordAgeInSeconds=60)
    _, read_inputs = life.read()
    assert read_inputs["maximumRecordAgeInSeconds"] == 60
    life.delete()
    assert client.list_event_source_mappings()["EventSourceMappings"] == []
    assert life.read() is None
