"""The tracking table through the provider into moto: every declared setting there,
an update applied, a hand change seen by read, a delete gone."""

from __future__ import annotations

import pytest

from tests.functional.standin_cloud.engine_calls import Resource, synth_one
from tracking_ops.standin_cloud.moto_backed.dynamodb import TABLE
from tracking_stacks.registry import Layer


@pytest.fixture
def table(provider):
    name, inputs = synth_one(Layer.DATA, TABLE)
    return Resource(provider, TABLE, name, inputs)


def _described(cloud, table):
    return cloud.client("dynamodb").describe_table(TableName=table.id)["Table"]


def test_the_table_in_moto_has_every_declared_setting(cloud, table):
    inputs = table.inputs
    assert table.id == inputs["name"]
    found = _described(cloud, table)
    assert {k["KeyType"]: k["AttributeName"] for k in found["KeySchema"]} == {
        "HASH": inputs["hashKey"],
        "RANGE": inputs["rangeKey"],
    }
    assert {(a["AttributeName"], a["AttributeType"]) for a in found["AttributeDefinitions"]} == {
        (a["name"], a["type"]) for a in inputs["attributes"]
    }
    assert found["BillingModeSummary"]["BillingMode"] == inputs["billingMode"]
    (index,) = found["GlobalSecondaryIndexes"]
    (declared,) = inputs["globalSecondaryIndexes"]
    assert index["IndexName"] == declared["name"]
    assert [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]] == [
        (k["attributeName"], k["keyType"]) for k in declared["keySchemas"]
    ]
    assert index["Projection"] == {
        "ProjectionType": declared["projectionType"],
        "NonKeyAttributes": declared["nonKeyAttributes"],
    }
    assert found["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": inputs["streamViewType"],
    }
    assert found["SSEDescription"]["Status"] == "ENABLED"
    assert found["DeletionProtectionEnabled"] is inputs["deletionProtectionEnabled"]
    client = cloud.client("dynamodb")
    backups = client.describe_continuous_backups(TableName=table.id)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    ttl = client.describe_time_to_live(TableName=table.id)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": inputs["ttl"]["attributeName"]}
    tags = client.list_tags_of_resource(ResourceArn=found["TableArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == inputs["tags"]
    # The outputs other resources are wired from are moto's.
    assert table.outputs["arn"] == found["TableArn"]
    assert table.outputs["streamArn"] == found["LatestStreamArn"]


def test_a_fresh_read_reports_no_drift(table):
    found = table.read()
    for key, value in table.inputs.items():
        assert found[key] == value, key


def test_an_update_reaches_moto(cloud, table):
    table.update(
        streamEnabled=False,
        deletionProtectionEnabled=True,
        pointInTimeRecovery={"enabled": False},
        tags={**table.inputs["tags"], "Owner": "ops"},
    )
    found = _described(cloud, table)
    assert not found.get("StreamSpecification", {}).get("StreamEnabled")
    assert found["DeletionProtectionEnabled"] is True
    client = cloud.client("dynamodb")
    backups = client.describe_continuous_backups(TableName=table.id)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "DISABLED"
    tags = client.list_tags_of_resource(ResourceArn=found["TableArn"])["Tags"]
    assert {"Key": "Owner", "Value": "ops"} in tags
    assert table.read()["streamEnabled"] is False


def test_a_new_index_is_created_and_a_dropped_one_deleted(cloud, table):
    extra = {
        "name": "by_sk",
        "keySchemas": [{"attributeName": "sk", "keyType": "HASH"}],
        "projectionType": "KEYS_ONLY",
    }
    table.update(globalSecondaryIndexes=[extra])
    (index,) = _described(cloud, table)["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by_sk"


def test_a_hand_change_in_moto_is_what_read_reports(cloud, table):
    client = cloud.client("dynamodb")
    client.update_continuous_backups(
        TableName=table.id,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )
    client.update_table(TableName=table.id, StreamSpecification={"StreamEnabled": False})
    found = table.read()
    assert found["pointInTimeRecovery"] == {"enabled": False}
    assert found["streamEnabled"] is False
    assert found["ttl"] == table.inputs["ttl"]  # untouched stays as declared


def test_delete_removes_it_and_read_then_says_gone(cloud, table):
    table.delete()
    assert table.id not in cloud.client("dynamodb").list_tables()["TableNames"]
    assert table.read() is None
