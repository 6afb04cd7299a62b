"""The stream notifier against moto: what it publishes, and partial batch failures."""

from __future__ import annotations

import json

import pytest

from tests.functional.test_resilience import dead_endpoint
from tests.helpers import now_ms
from tracking_common import table
from tracking_common.runtime_config import EVENT_DETAIL_TYPE, EVENT_SOURCE
from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID
from tracking_ops.local import proxy
from tracking_ops.measure.raw_requests import sample_event_item
from tracking_stacks import definitions as defs


def image(tracking_id: str, status: str | None, ts: int = 1, event_id: str = "E1") -> dict:
    item = {table.PARTITION_KEY: {"S": tracking_id}, table.SORT_KEY: {"S": table.STATE_SORT_KEY}}
    if status is not None:
        item |= {
            table.ATTR_STATUS: {"S": status},
            table.ATTR_TIMESTAMP: {"N": str(ts)},
            table.ATTR_EVENT_ID: {"S": event_id},
        }
    return item


def record(
    sequence: str, new: dict, old: dict | None = None, sort_key: str = table.STATE_SORT_KEY
) -> dict:
    keys = {table.PARTITION_KEY: new[table.PARTITION_KEY], table.SORT_KEY: {"S": sort_key}}
    dynamodb = {
        "Keys": keys,
        "NewImage": new,
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old:
        dynamodb["OldImage"] = old
    return {
        "eventID": sequence,
        "eventName": "MODIFY" if old else "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:{MOCK_ACCOUNT_ID}:table/t/stream/x",
    }


@pytest.fixture
def observed(aws):
    """An SQS queue receiving every event put on the dev bus."""
    sqs, events = aws.client("sqs"), aws.client("events")
    url = sqs.create_queue(QueueName="observer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = defs.event_bus_name("dev")
    events.put_rule(
        Name="all", EventBusName=bus, EventPattern=json.dumps({"source": [EVENT_SOURCE]})
    )
    events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    def read() -> list[dict]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return read


@pytest.fixture
def notify(aws):
    from tracking_notifier import handler as module

    # A new container: clients of this test's stand-in (a client cached by an earlier
    # session, e.g. mutation testing's, would reach a server that is gone).
    module.events_client.cache_clear()
    module.ssm_provider.cache_clear()
    module.dynamodb_client.cache_clear()

    def call(records: list[dict]) -> dict:
        context = proxy.LambdaContext(
            function_name="n", timeout_ms=defs.NOTIFIER_FUNCTION.timeout_s * 1000
        )
        return module.handler({"Records": records}, context)

    yield call
    module.events_client.cache_clear()
    module.ssm_provider.cache_clear()
    module.dynamodb_client.cache_clear()


def test_status_change_is_published_with_previous_and_new_status(notify, observed):
    ts = now_ms()
    result = notify([record("1", image("P1", "delivered", ts, "E9"), image("P1", "in_transit"))])

    assert result == {"batchItemFailures": []}
    (event,) = observed()
    assert (event["source"], event["detail-type"]) == (EVENT_SOURCE, EVENT_DETAIL_TYPE)
    assert event["detail"] == {
        "tracking_id": "P1",
        "previous_status": "in_transit",
        "new_status": "delivered",
        "event_time": ts,
        "event_id": "E9",
    }


def event_record(sequence: str, new: dict) -> dict:
    return record(sequence, new, sort_key=new[table.SORT_KEY]["S"])


def state_item(aws, tracking_id: str) -> dict | None:
    return (
        aws.client("dynamodb")
        .get_item(
            TableName=defs.table_name("dev"),
            ConsistentRead=True,
            Key={
                table.PARTITION_KEY: {"S": tracking_id},
                table.SORT_KEY: {"S": table.STATE_SORT_KEY},
            },
        )
        .get("Item")
    )


def test_non_changes_are_not_published(notify, observed):
    same = record("1", image("P1", "pending", 2), image("P1", "pending", 1))
    keys_only = record("3", image("P3", None))

    assert notify([same, keys_only]) == {"batchItemFailures": []}
    assert observed() == []


def test_new_events_move_the_current_state_forward_only(notify, aws):
    ts = now_ms()
    records = [
        event_record("1", sample_event_item("P1", "in_transit", ts, "01B")),
        event_record("2", sample_event_item("P1", "delivered", ts + 10, "01C")),
        event_record("3", sample_event_item("P1", "pending", ts - 10, "01A")),  # late and older
        event_record("4", sample_event_item("P1", "failed", ts + 10, "01A")),  # same time, lower id
    ]

    assert notify(records) == {"batchItemFailures": []}

    state = state_item(aws, "P1")
    assert (state[table.ATTR_STATUS]["S"], state[table.ATTR_EVENT_ID]["S"]) == ("delivered", "01C")
    shard = table.status_shard("P1")
    assert state[table.STATUS_INDEX_PARTITION_KEY]["S"] == f"delivered#{shard}"
    assert state[table.STATUS_INDEX_SORT_KEY]["S"] == table.status_index_sort_key(ts + 10, "P1")


def test_a_broken_event_record_fails_with_every_later_one_left_for_the_retry(notify, aws):
    """Lambda redelivers from the lowest failed sequence number on: the records after
    it are reported failed unprocessed, not done twice."""
    broken = sample_event_item("BAD", "pending", now_ms(), "01X")
    del broken[table.ATTR_LAT]
    records = [
        event_record("1", sample_event_item("OK1", "pending", now_ms(), "01Y")),
        event_record("2", broken),
        event_record("3", sample_event_item("OK2", "pending", now_ms(), "01Z")),
    ]

    assert notify(records) == {
        "batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]
    }
    assert state_item(aws, "OK1")
    assert not state_item(aws, "BAD") and not state_item(aws, "OK2")


def test_a_poison_record_fails_from_itself_on(notify, observed):
    poison = image("BAD", "pending")
    poison[table.ATTR_TIMESTAMP] = {"S": "not-a-number"}
    records = [
        record("1", image("P1", "pending")),
        record("2", poison),
        record("3", image("P3", "in_transit")),
    ]

    result = notify(records)

    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]}
    assert [e["detail"]["tracking_id"] for e in observed()] == ["P1"]


def test_flag_off_publishes_nothing(notify, observed, aws):
    aws.client("ssm").put_parameter(
        Name=defs.FEATURE_FLAGS_PARAM.path("dev"),
        Overwrite=True,
        Type="String",
        Value=defs.feature_flags_value({}),
    )
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    assert notify([record("1", image("P1", "pending"))]) == {"batchItemFailures": []}
    assert observed() == []
    parameters.clear_caches()


def test_eventbridge_failure_reports_every_change_failed(notify, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", dead_endpoint())
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    # All records failing raises, so Lambda retries the batch (bisecting) and the
    # mapping sends what keeps failing to the DLQ.
    with pytest.raises(BatchProcessingError):
        notify([record("1", image("P1", "pending")), record("2", image("P2", "failed"))])
