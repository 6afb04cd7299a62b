"""tracking-data: the table and the DLQ, resource by resource."""

from __future__ import annotations

import pytest

from tracking_common import table
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.layer_data
TABLE, QUEUE = "aws:dynamodb/table:Table", "aws:sqs/queue:Queue"


def test_table_keys_let_same_timestamp_updates_coexist(dev):
    inputs = dev.one(Layer.DATA, TABLE)["inputs"]
    assert (inputs["hashKey"], inputs["rangeKey"]) == (table.PARTITION_KEY, table.SORT_KEY)
    assert inputs["rangeKey"] != "timestamp"  # seed defect 5


def test_table_is_on_demand_with_stream_pitr_sse_and_ttl(dev):
    inputs = dev.one(Layer.DATA, TABLE)["inputs"]
    assert inputs["name"] == "tracking-table-dev"
    assert inputs["billingMode"] == "PAY_PER_REQUEST"
    assert (inputs["streamEnabled"], inputs["streamViewType"]) == (True, "NEW_AND_OLD_IMAGES")
    assert inputs["pointInTimeRecovery"] == {"enabled": True}
    assert inputs["serverSideEncryption"] == {"enabled": True}
    assert inputs["ttl"] == {"attributeName": table.TTL_ATTRIBUTE, "enabled": True}


def test_status_index_is_sharded_and_projects_only_what_shipments_returns(dev):
    (index,) = dev.one(Layer.DATA, TABLE)["inputs"]["globalSecondaryIndexes"]
    assert index["name"] == table.STATUS_INDEX
    assert {k["keyType"]: k["attributeName"] for k in index["keySchemas"]} == {
        "HASH": table.STATUS_INDEX_PARTITION_KEY,
        "RANGE": table.STATUS_INDEX_SORT_KEY,
    }
    assert index["projectionType"] == "INCLUDE"
    assert set(index["nonKeyAttributes"]) == {table.ATTR_TIMESTAMP, table.ATTR_LAT, table.ATTR_LNG}
    assert table.STATUS_INDEX_SHARDS > 1
    assert {table.status_shard(f"P{i}") for i in range(200)} == set(
        range(table.STATUS_INDEX_SHARDS)
    )


def test_table_definition_is_the_one_the_local_runtime_uses(dev):
    attributes = dev.one(Layer.DATA, TABLE)["inputs"]["attributes"]
    assert [(a["name"], a["type"]) for a in attributes] == [
        (a["AttributeName"], a["AttributeType"])
        for a in table.TABLE_DEFINITION["AttributeDefinitions"]
    ]


def test_dlq_is_encrypted_and_keeps_messages_14_days(dev):
    inputs = dev.one(Layer.DATA, QUEUE)["inputs"]
    assert inputs["name"] == "tracking-dlq-dev"
    assert inputs["sqsManagedSseEnabled"] is True
    assert inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    # Not SQS's default of 30 s: at least six times the notifier's timeout (definitions.py).
    assert inputs["visibilityTimeoutSeconds"] == 300


def test_dev_can_be_torn_down(dev):
    for resource in (dev.one(Layer.DATA, TABLE), dev.one(Layer.DATA, QUEUE)):
        assert resource["protect"] is False
    assert dev.one(Layer.DATA, TABLE)["inputs"]["deletionProtectionEnabled"] is False


def test_prod_protects_table_and_dlq(prod):
    table_resource = prod.one(Layer.DATA, TABLE)
    assert table_resource["inputs"]["deletionProtectionEnabled"] is True
    assert table_resource["protect"] is True
    assert prod.one(Layer.DATA, QUEUE)["protect"] is True


def test_outputs_are_the_real_names_and_arns(dev):
    outputs = dev.layer(Layer.DATA).outputs
    assert outputs["table_name"] == "tracking-table-dev"
    assert outputs["table_stream_arn"].startswith(outputs["table_arn"] + "/stream/")
    assert outputs["dlq_name"] == "tracking-dlq-dev"


def test_named_resources_replace_delete_first_only_where_a_gap_is_acceptable():
    """issue 23, item 10: the table, the DLQ and the stream mapping cannot exist twice;
    dev and branch envs replace them delete-first, staging and prod refuse at review."""
    from tests.unit.stacks.conftest import synthesized
    from tracking_stacks.definitions import SELF_COLLIDING_TYPES

    for env, expected in (("dev", True), ("staging", False), ("prod", False)):
        s = synthesized(env)
        named = [
            r
            for layer in (Layer.DATA, Layer.COMPUTE)
            for r in s.layer(layer).resources
            if r["type"] in SELF_COLLIDING_TYPES
        ]
        assert {r["type"] for r in named} == set(SELF_COLLIDING_TYPES), env
        assert all(r["delete_before_replace"] is expected for r in named), env
