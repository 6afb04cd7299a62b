"""The DLQ as AWS fills it for a DynamoDB stream (metadata only), and `invoke
replay-dlq` recovering from it while the stream still has the records."""

from __future__ import annotations

import json
import time

import pytest
from invoke import Context, Exit

from tracking_ops.operate import dlq
from tracking_ops.tasks import recover
from tracking_stacks import definitions as defs

# The keys of AWS's on-failure message for a DynamoDB stream event source mapping.
AWS_MESSAGE_KEYS = {
    "requestContext",
    "responseContext",
    "version",
    "timestamp",
    "DDBStreamBatchInfo",
}
AWS_BATCH_INFO_KEYS = {
    "shardId",
    "startSequenceNumber",
    "endSequenceNumber",
    "approximateArrivalOfFirstRecord",
    "approximateArrivalOfLastRecord",
    "batchSize",
    "streamArn",
}
AWS_REQUEST_CONTEXT_KEYS = {"requestId", "functionArn", "condition", "approximateInvokeCount"}


class ProjectionDown(RuntimeError):
    pass


def dlq_url(aws) -> str:
    return aws.client("sqs").get_queue_url(QueueName=defs.dlq_name("dev"))["QueueUrl"]


def peek(aws) -> list[dict]:
    """Every DLQ message, left visible for the replay."""
    sqs, found = aws.client("sqs"), {}
    for _ in range(5):
        for m in sqs.receive_message(
            QueueUrl=dlq_url(aws), MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", []):
            found[m["MessageId"]] = json.loads(m["Body"])
    return list(found.values())


def store_event(aws, tracking_id: str) -> None:
    """One update's event item, and nothing else on the stream: POST /track also moves
    its parcel's state item (milestones) in the same transaction, a second stream
    record these tests of the DLQ's ranges would have to count around."""
    from tracking_api import domain
    from tracking_common import table

    at = time.time_ns() // 1_000_000
    aws.client("dynamodb").put_item(
        TableName=defs.table_name("dev"),
        Item=table.event_item(
            tracking_id=tracking_id,
            timestamp=at,
            event_id=domain.new_event_id(at),
            status="in_transit",
            lat=52.52,
            lng=13.4,
            received_at=at,
        ),
    )


def listed(api, status: str) -> list[str]:
    items = api.request("GET", "/shipments", query=f"status={status}").body["items"]
    return sorted(i["tracking_id"] for i in items)


@pytest.fixture
def failed_projection(aws, api, project_stream, monkeypatch):
    """Two updates whose projection failed until the mapping gave up: in the DLQ."""
    from tracking_notifier import handler as notifier

    def down(state):
        raise ProjectionDown("table unreachable")

    monkeypatch.setattr(notifier, "project", down)
    for parcel in ("LOST-1", "LOST-2"):  # one batch each: a message each
        store_event(aws, parcel)
        project_stream()
    monkeypatch.undo()  # the projection works again; the stand-in env is kept below
    for name, value in {**aws.aws_environment(), **aws.function_environment()}.items():
        monkeypatch.setenv(name, value)
    return peek(aws)


def test_the_stand_in_sends_exactly_what_aws_sends_to_the_dlq(failed_projection, aws):
    assert len(failed_projection) == 2
    stream_arn = aws.client("dynamodb").describe_table(TableName=defs.table_name("dev"))["Table"][
        "LatestStreamArn"
    ]
    for message in failed_projection:
        assert set(message) == AWS_MESSAGE_KEYS  # no record data (the old stand-in sent keys)
        assert set(message["requestContext"]) == AWS_REQUEST_CONTEXT_KEYS
        assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert message["requestContext"]["functionArn"].endswith(":function:tracking-notifier-dev")
        assert message["version"] == "1.0"
        info = message["DDBStreamBatchInfo"]
        assert set(info) == AWS_BATCH_INFO_KEYS
        assert info["streamArn"] == stream_arn
        assert info["startSequenceNumber"] == info["endSequenceNumber"]
        assert info["batchSize"] == 1
        assert info["approximateArrivalOfFirstRecord"].endswith("Z")


def test_replay_recovers_every_record_still_in_the_stream_and_empties_the_dlq(
    failed_projection, aws, api
):
    # Given two parcels whose projection failed: not listed, their messages in the DLQ
    assert listed(api, "in_transit") == []
    starts = sorted(m["DDBStreamBatchInfo"]["startSequenceNumber"] for m in failed_projection)

    # When the DLQ is replayed
    report = dlq.replay(
        aws.client("sqs"), aws.client("dynamodbstreams"), dlq_url(aws), dlq.in_process_notifier()
    )

    # Then both are projected, their messages deleted, nothing reported lost
    assert sorted(report.recovered) == starts
    assert (report.lost, report.deleted, report.kept) == ({}, 2, 0)
    assert listed(api, "in_transit") == ["LOST-1", "LOST-2"]
    assert peek(aws) == []

    # And replaying again changes nothing (the projection is idempotent)
    assert (
        dlq.replay(
            aws.client("sqs"),
            aws.client("dynamodbstreams"),
            dlq_url(aws),
            dlq.in_process_notifier(),
        ).recovered
        == []
    )


def test_a_batch_failing_from_its_first_record_is_one_range_and_replays_whole(
    aws, api, project_stream, monkeypatch
):
    # Given two updates in one batch whose projection fails: Lambda's checkpoint is
    # the first record, so one message covers the range from it to the batch's end
    from tracking_notifier import handler as notifier

    def down(state):
        raise ProjectionDown("table unreachable")

    monkeypatch.setattr(notifier, "project", down)
    for parcel in ("RANGE-1", "RANGE-2"):
        store_event(aws, parcel)
    project_stream()
    monkeypatch.undo()
    for name, value in {**aws.aws_environment(), **aws.function_environment()}.items():
        monkeypatch.setenv(name, value)
    (message,) = peek(aws)
    info = message["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2
    assert int(info["startSequenceNumber"]) < int(info["endSequenceNumber"])

    # When it is replayed, both records of the range are projected and the message goes
    report = dlq.replay(
        aws.client("sqs"), aws.client("dynamodbstreams"), dlq_url(aws), dlq.in_process_notifier()
    )
    assert len(report.recovered) == 2 and report.recovered[0] == info["startSequenceNumber"]
    assert (report.lost, report.deleted, report.kept) == ({}, 1, 0)
    assert listed(api, "in_transit") == ["RANGE-1", "RANGE-2"]


def test_what_the_stream_no_longer_has_is_reported_by_sequence_number_and_kept(
    failed_projection, aws, api
):
    # Given one message whose stream is gone (a table since replaced; records past
    # the stream's 24 hours answer the same way: nothing left to read)
    sqs = aws.client("sqs")
    gone = json.loads(json.dumps(failed_projection[0]))
    info = gone["DDBStreamBatchInfo"]
    info["streamArn"] = info["streamArn"].replace(defs.table_name("dev"), "tracking-replaced-dev")
    sqs.send_message(QueueUrl=dlq_url(aws), MessageBody=json.dumps(gone))

    # When the task replays the DLQ
    with pytest.raises(Exit) as failed:
        recover.replay_dlq(Context(), env="dev", endpoint=aws.endpoint)

    # Then the others are recovered, the gone one is named, and its message stays
    assert "1 records or ranges not recovered" in str(failed.value)
    assert listed(api, "in_transit") == ["LOST-1", "LOST-2"]
    (kept,) = peek(aws)
    assert kept["DDBStreamBatchInfo"]["streamArn"] == info["streamArn"]


def test_a_record_the_notifier_fails_on_again_is_reported_and_its_message_kept(
    failed_projection, aws
):
    def still_failing(records):
        return {records[0]["dynamodb"]["SequenceNumber"]}

    report = dlq.replay(
        aws.client("sqs"), aws.client("dynamodbstreams"), dlq_url(aws), still_failing
    )

    assert report.recovered == []
    assert sorted(report.lost) == sorted(
        m["DDBStreamBatchInfo"]["startSequenceNumber"] for m in failed_projection
    )
    assert set(report.lost.values()) == {"the notifier failed on it again"}
    assert (report.deleted, report.kept) == (0, 2)
    assert len(peek(aws)) == 2


def test_a_message_that_is_not_a_stream_failure_is_reported_not_deleted(aws):
    aws.client("sqs").send_message(QueueUrl=dlq_url(aws), MessageBody="not json")
    report = dlq.replay(
        aws.client("sqs"), aws.client("dynamodbstreams"), dlq_url(aws), lambda records: set()
    )
    assert list(report.lost.values()) == ["not a DynamoDB stream on-failure message"]
    assert report.kept == 1


def test_without_credentials_the_task_says_so_in_one_line(no_aws_credentials):
    with pytest.raises(Exit) as failed:
        recover.replay_dlq(Context(), env="dev")
    assert failed.value.code == 1
    assert "No AWS credentials" in str(failed.value) and "\n" not in str(failed.value)
