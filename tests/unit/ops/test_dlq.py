"""The DLQ replay's parts against fakes of SQS, DynamoDB Streams and Lambda: the
on-failure message word for word, which records a range reads (pages, empty pages, the
range's ends), what each kind of loss is reported as, which messages are deleted or
made visible again, and how a notifier's answer is read."""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID as ACCOUNT
from tracking_ops.operate import dlq

pytestmark = pytest.mark.unit

STREAM = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/tracking-dev/stream/2026-12-07T00:00:00.000"
SHARD = "shardId-00000001"
T0 = datetime(2026, 12, 7, 8, 0, 0, 123456, tzinfo=UTC)


def record(sequence: int, seconds: int = 0, **extra: Any) -> dict[str, Any]:
    """A GetRecords record (boto3 hands ApproximateCreationDateTime as a datetime)."""
    return {
        "eventID": f"ev-{sequence}",
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": str(sequence),
            "ApproximateCreationDateTime": T0 + timedelta(seconds=seconds),
            "Keys": {"pk": {"S": f"P#{sequence}"}},
            **extra,
        },
    }


def gone(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "gone"}}, "GetShardIterator")


class FakeStreams:
    """A shard holding ``records`` (ascending sequence numbers), ``page`` of them per
    GetRecords; ``empty_first`` empty pages before the records, ``empty_after`` after
    them (an open shard), then no NextShardIterator (a closed shard) unless ``open``."""

    def __init__(self, records, page=2, empty_first=0, empty_after=0, open=False, error=None):
        self.records, self.page, self.error = records, page, error
        self.pages = ["empty"] * empty_first
        self.pages += [records[i : i + page] for i in range(0, len(records), page)]
        self.pages += ["empty"] * empty_after
        self.open = open
        self.iterator_requests: list[dict[str, Any]] = []
        self.record_requests: list[dict[str, Any]] = []

    def get_shard_iterator(self, **request):
        self.iterator_requests.append(request)
        if self.error:
            raise self.error
        return {"ShardIterator": "it-0"}

    def get_records(self, **request):
        self.record_requests.append(request)
        number = int(request["ShardIterator"].split("-")[1])
        page = self.pages[number] if number < len(self.pages) else "empty"
        more = number + 1 < len(self.pages) or self.open
        reply: dict[str, Any] = {"Records": [] if page == "empty" else page}
        if more:
            reply["NextShardIterator"] = f"it-{number + 1}"
        return reply


def info(start: int, end: int, size: int | None = None, **extra: Any) -> dict[str, Any]:
    batch = {
        "shardId": SHARD,
        "startSequenceNumber": str(start),
        "endSequenceNumber": str(end),
        "streamArn": STREAM,
        **extra,
    }
    if size is not None:
        batch["batchSize"] = size
    return batch


def body(start: int, end: int, size: int | None = None) -> str:
    return json.dumps({"version": "1.0", dlq.BATCH_INFO: info(start, end, size)})


class Notifier:
    """A deliver function recording its batches; fails the given sequence numbers."""

    def __init__(self, failing=()):
        self.failing, self.batches = set(failing), []

    def __call__(self, records):
        self.batches.append([r["dynamodb"]["SequenceNumber"] for r in records])
        return {r["dynamodb"]["SequenceNumber"] for r in records} & self.failing


# ---- the on-failure message ----------------------------------------------------------


def test_the_message_is_awss_on_failure_document_word_for_word():
    records = [record(100), record(101, 1), record(102, 59)]
    message = dlq.stream_failure_message(
        records,
        shard_id=SHARD,
        stream_arn=STREAM,
        function_name="tracking-notifier-dev",
        invoke_count=3,
        request_id="req-1",
        now=datetime(2026, 12, 7, 9, 30, 15, 987654, tzinfo=timezone(timedelta(hours=2))),
    )
    assert message == {
        "requestContext": {
            "requestId": "req-1",
            "functionArn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:tracking-notifier-dev",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 3,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "version": "1.0",
        "timestamp": "2026-12-07T07:30:15.987Z",
        "DDBStreamBatchInfo": {
            "shardId": SHARD,
            "startSequenceNumber": "100",
            "endSequenceNumber": "102",
            "approximateArrivalOfFirstRecord": "2026-12-07T08:00:00Z",
            "approximateArrivalOfLastRecord": "2026-12-07T08:00:59Z",
            "batchSize": 3,
            "streamArn": STREAM,
        },
    }


def test_the_message_names_the_partition_and_a_function_error_and_other_conditions():
    china = f"arn:aws-cn:dynamodb:cn-north-1:{ACCOUNT}:table/t/stream/x"
    message = dlq.stream_failure_message(
        [record(7)],
        shard_id=SHARD,
        stream_arn=china,
        function_name="fn",
        invoke_count=1,
        condition="RecordAgeExceeded",
        function_error="Unhandled",
    )
    assert message["requestContext"]["functionArn"] == (
        f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:fn"
    )
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    # Without a request id or a time: a fresh UUID, and now in UTC with milliseconds
    assert (
        str(uuid.UUID(message["requestContext"]["requestId"]))
        == (message["requestContext"]["requestId"])
    )
    stamp = datetime.strptime(message["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(hours=1)
    assert len(message["timestamp"]) == len("2026-12-07T07:30:15.987Z")


def test_arrival_times_given_as_epoch_numbers_are_read_as_utc_seconds():
    at = T0.timestamp()
    first, last = record(1), record(2)
    first["dynamodb"]["ApproximateCreationDateTime"] = at
    last["dynamodb"]["ApproximateCreationDateTime"] = int(at) + 61
    del_first = record(3)
    del del_first["dynamodb"]["ApproximateCreationDateTime"]
    batch = dlq.stream_failure_message(
        [first, last], shard_id=SHARD, stream_arn=STREAM, function_name="f", invoke_count=1
    )[dlq.BATCH_INFO]
    assert batch["approximateArrivalOfFirstRecord"] == "2026-12-07T08:00:00Z"
    assert batch["approximateArrivalOfLastRecord"] == "2026-12-07T08:01:01Z"
    unknown = dlq.stream_failure_message(
        [del_first], shard_id=SHARD, stream_arn=STREAM, function_name="f", invoke_count=1
    )[dlq.BATCH_INFO]
    assert unknown["approximateArrivalOfFirstRecord"] == "1970-01-01T00:00:00Z"


def test_a_record_is_handed_to_the_function_as_its_mapping_does():
    original = record(5, seconds=2)
    handed = dlq.lambda_record(original, STREAM)
    assert handed == {
        "eventID": "ev-5",
        "eventName": "INSERT",
        "eventSourceARN": STREAM,
        "dynamodb": {
            "SequenceNumber": "5",
            "ApproximateCreationDateTime": int(T0.timestamp()) + 2,
            "Keys": {"pk": {"S": "P#5"}},
        },
    }
    assert isinstance(original["dynamodb"]["ApproximateCreationDateTime"], datetime)  # unchanged
    epoch = record(6)
    epoch["dynamodb"]["ApproximateCreationDateTime"] = 1_796_630_400
    assert dlq.lambda_record(epoch, STREAM)["dynamodb"]["ApproximateCreationDateTime"] == (
        1_796_630_400
    )


# ---- reading a range ------------------------------------------------------------------


def sequences(records) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in records]


def test_a_range_is_read_from_its_first_sequence_number_to_its_last():
    streams = FakeStreams([record(n) for n in (98, 100, 101, 103, 104, 107, 110)], page=2)

    found = dlq.read_range(streams, info(100, 104))

    assert sequences(found) == ["100", "101", "103", "104"]
    assert all(r["eventSourceARN"] == STREAM for r in found)
    assert streams.iterator_requests == [
        {
            "StreamArn": STREAM,
            "ShardId": SHARD,
            "ShardIteratorType": "AT_SEQUENCE_NUMBER",
            "SequenceNumber": "100",
        }
    ]
    # It stops at the first record past the range: the page holding 107 is the last read
    assert [r["ShardIterator"] for r in streams.record_requests] == ["it-0", "it-1", "it-2"]
    assert {r["Limit"] for r in streams.record_requests} == {1000}


def test_sequence_numbers_compare_as_numbers_not_text():
    streams = FakeStreams([record(n) for n in (9, 10, 99, 100, 1000)], page=5)
    assert sequences(dlq.read_range(streams, info(10, 100))) == ["10", "99", "100"]


def test_a_closed_shard_ends_the_range_where_its_records_end():
    streams = FakeStreams([record(n) for n in (1, 2, 3)], page=2)
    assert sequences(dlq.read_range(streams, info(2, 9))) == ["2", "3"]
    assert len(streams.record_requests) == 2


def test_an_open_shard_is_read_past_a_few_empty_pages_then_given_up_on():
    # Four empty pages, then the records: all read
    patient = FakeStreams([record(n) for n in (1, 2)], page=2, empty_first=4, open=True)
    assert sequences(dlq.read_range(patient, info(1, 5))) == ["1", "2"]
    # After the records, an open shard answers empty pages: five in a row end the read
    assert len(patient.record_requests) == 4 + 1 + dlq.MAX_EMPTY_PAGES
    # Empty pages between records do not add up across them
    spread = FakeStreams([record(1), record(2)], page=1, open=True)
    spread.pages = ["empty"] * 4 + [[record(1)]] + ["empty"] * 4 + [[record(2)]]
    assert sequences(dlq.read_range(spread, info(1, 5))) == ["1", "2"]


def test_a_shard_that_answers_only_empty_pages_yields_nothing_after_five():
    streams = FakeStreams([], open=True)
    assert dlq.read_range(streams, info(1, 5)) == []
    assert len(streams.record_requests) == dlq.MAX_EMPTY_PAGES == 5


# ---- one message ----------------------------------------------------------------------


def test_a_message_whose_records_are_all_recovered_is_done():
    report, notifier = dlq.ReplayReport(), Notifier()
    streams = FakeStreams([record(n) for n in (1, 2, 3, 4)])
    assert dlq.replay_message(body(2, 3, 2), streams, notifier, report) is True
    assert notifier.batches == [["2", "3"]]
    assert (report.recovered, report.lost) == (["2", "3"], {})


def test_a_message_without_a_batch_size_is_done_when_both_ends_were_read():
    report = dlq.ReplayReport()
    streams = FakeStreams([record(n) for n in (1, 2, 3)])
    assert dlq.replay_message(body(1, 3), streams, Notifier(), report) is True
    assert report.lost == {}


@pytest.mark.parametrize(
    "text",
    [
        "not json at all, and longer than the sixty characters that name it in the report",
        json.dumps({"version": "1.0"}),
        json.dumps({dlq.BATCH_INFO: {"shardId": SHARD}}),
        json.dumps({dlq.BATCH_INFO: {"startSequenceNumber": "1"}}),
        json.dumps([1, 2]),
        json.dumps({dlq.BATCH_INFO: None}),
    ],
)
def test_a_message_that_is_not_a_stream_failure_is_named_by_its_start(text):
    report, notifier = dlq.ReplayReport(), Notifier()
    assert dlq.replay_message(text, FakeStreams([]), notifier, report) is False
    assert report.lost == {f"message {text[:60]!r}": "not a DynamoDB stream on-failure message"}
    assert notifier.batches == [] and report.recovered == []


@pytest.mark.parametrize("code", sorted(dlq.STREAM_GONE))
def test_a_range_no_longer_in_the_stream_is_named_with_why(code):
    report, notifier = dlq.ReplayReport(), Notifier()
    streams = FakeStreams([], error=gone(code))
    assert dlq.replay_message(body(10, 12, 3), streams, notifier, report) is False
    assert report.lost == {"10..12": f"no longer in the stream ({code}; records are kept 24 hours)"}
    assert notifier.batches == []
    single = dlq.ReplayReport()
    dlq.replay_message(body(10, 10, 1), streams, notifier, single)
    assert list(single.lost) == ["10"]


def test_another_stream_error_is_raised():
    streams = FakeStreams([], error=gone("ThrottlingException"))
    with pytest.raises(ClientError, match="ThrottlingException"):
        dlq.replay_message(body(1, 2), streams, Notifier(), dlq.ReplayReport())


def test_records_missing_from_the_range_are_counted_and_the_rest_recovered():
    # The message says 4 records from 1 to 6; only 1, 3 and 6 are still there
    report, notifier = dlq.ReplayReport(), Notifier()
    streams = FakeStreams([record(n) for n in (1, 3, 6, 8)])
    assert dlq.replay_message(body(1, 6, 4), streams, notifier, report) is False
    assert report.lost == {"1..6 (found 3 of 4)": "records missing from the stream (kept 24 hours)"}
    assert report.recovered == ["1", "3", "6"] and notifier.batches == [["1", "3", "6"]]


def test_a_range_whose_first_record_was_trimmed_is_incomplete():
    report = dlq.ReplayReport()
    streams = FakeStreams([record(n) for n in (3, 4)])  # 2 is gone
    assert dlq.replay_message(body(2, 4, 2), streams, Notifier(), report) is False
    assert report.lost == {"2..4 (found 2 of 2)": "records missing from the stream (kept 24 hours)"}
    assert report.recovered == ["3", "4"]


def test_a_range_whose_last_record_is_gone_is_incomplete_even_at_its_size():
    report = dlq.ReplayReport()
    streams = FakeStreams([record(n) for n in (2, 3, 5)])  # 4 is gone, 5 is past the end
    assert dlq.replay_message(body(2, 4, 2), streams, Notifier(), report) is False
    assert list(report.lost) == ["2..4 (found 2 of 2)"]


def test_a_range_with_no_record_left_is_lost_whole_and_nothing_is_delivered():
    report, notifier = dlq.ReplayReport(), Notifier()
    streams = FakeStreams([record(9)])
    assert dlq.replay_message(body(2, 4, 3), streams, notifier, report) is False
    assert report.lost == {"2..4": "records missing from the stream (kept 24 hours)"}
    assert notifier.batches == [] and report.recovered == []


def test_records_the_notifier_fails_on_again_are_lost_the_others_recovered():
    report = dlq.ReplayReport()
    streams = FakeStreams([record(n) for n in (1, 2, 3)])
    assert dlq.replay_message(body(1, 3, 3), streams, Notifier({"2"}), report) is False
    assert report.recovered == ["1", "3"]
    assert report.lost == {"2": "the notifier failed on it again"}


def test_more_records_than_the_batch_size_still_complete_it():
    report = dlq.ReplayReport()
    streams = FakeStreams([record(n) for n in (1, 2, 3)])
    assert dlq.replay_message(body(1, 3, 2), streams, Notifier(), report) is True


# ---- the queue ------------------------------------------------------------------------


class FakeSqs:
    """A queue of message bodies; records every call."""

    def __init__(self, bodies):
        self.waiting = [{"Body": b, "ReceiptHandle": f"rh-{i}"} for i, b in enumerate(bodies)]
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def receive_message(self, **request):
        self.calls.append(("receive", request))
        taken = self.waiting[: request["MaxNumberOfMessages"]]
        del self.waiting[: len(taken)]
        return {"Messages": taken} if taken else {}

    def delete_message(self, **request):
        self.calls.append(("delete", request))

    def change_message_visibility(self, **request):
        self.calls.append(("visible", request))


QUEUE = f"http://127.0.0.1:1/{ACCOUNT}/tracking-notifier-dlq-dev"


def test_replay_deletes_what_it_recovered_and_makes_the_rest_visible_at_the_end():
    streams = FakeStreams([record(n) for n in range(1, 9)], page=8)
    sqs = FakeSqs([body(1, 2, 2), body(3, 3, 1), "junk", body(5, 6, 2)])
    progress: list[str] = []

    report = dlq.replay(sqs, streams, QUEUE, Notifier({"3"}), progress.append)

    assert sqs.calls == [
        ("receive", {"QueueUrl": QUEUE, "MaxNumberOfMessages": 10, "VisibilityTimeout": 300,
                     "WaitTimeSeconds": 1}),
        ("delete", {"QueueUrl": QUEUE, "ReceiptHandle": "rh-0"}),
        ("delete", {"QueueUrl": QUEUE, "ReceiptHandle": "rh-3"}),
        ("receive", {"QueueUrl": QUEUE, "MaxNumberOfMessages": 10, "VisibilityTimeout": 300,
                     "WaitTimeSeconds": 1}),
        ("visible", {"QueueUrl": QUEUE, "ReceiptHandle": "rh-1", "VisibilityTimeout": 0}),
        ("visible", {"QueueUrl": QUEUE, "ReceiptHandle": "rh-2", "VisibilityTimeout": 0}),
    ]  # fmt: skip
    assert progress == ["4 messages read, 4 records recovered"]
    assert (report.deleted, report.kept) == (2, 2)
    assert report.lines() == [
        "recovered 4 records; deleted 2 messages, kept 2",
        "not recovered: 3: the notifier failed on it again",
        "not recovered: message 'junk': not a DynamoDB stream on-failure message",
    ]


def test_replay_reads_at_most_max_messages_in_batches_of_ten():
    streams = FakeStreams([record(1)])
    sqs = FakeSqs([body(1, 1, 1)] * 25)
    progress: list[str] = []

    report = dlq.replay(sqs, streams, QUEUE, Notifier(), progress.append, max_messages=12)

    asked = [request["MaxNumberOfMessages"] for kind, request in sqs.calls if kind == "receive"]
    assert asked == [10, 2]
    assert report.deleted == 12 and len(sqs.waiting) == 13
    assert progress == [
        "10 messages read, 10 records recovered",
        "12 messages read, 12 records recovered",
    ]


def test_replay_of_an_empty_queue_reads_once_and_reports_nothing():
    sqs, progress = FakeSqs([]), []
    report = dlq.replay(sqs, FakeStreams([]), QUEUE, Notifier(), progress.append)
    assert [kind for kind, _ in sqs.calls] == ["receive"]
    assert progress == [] and report.lines() == ["recovered 0 records; deleted 0 messages, kept 0"]


def test_replay_reports_progress_nowhere_by_default():
    report = dlq.replay(FakeSqs([body(1, 1, 1)]), FakeStreams([record(1)]), QUEUE, Notifier())
    assert report.recovered == ["1"]


# ---- what a notifier answers ----------------------------------------------------------


def test_a_notifier_result_names_its_failures_and_a_raise_fails_them_all():
    records = [dlq.lambda_record(record(n), STREAM) for n in (1, 2)]
    assert dlq.failed_sequences({"batchItemFailures": [{"itemIdentifier": "2"}]}, records) == {"2"}
    assert dlq.failed_sequences({"batchItemFailures": []}, records) == set()
    assert dlq.failed_sequences({}, records) == set()
    assert dlq.failed_sequences(None, records) == {"1", "2"}
    assert dlq.failed_sequences("oops", iter(records)) == {"1", "2"}


class FakeLambda:
    def __init__(self, payload: bytes, function_error: str | None = None):
        self.payload, self.function_error, self.requests = payload, function_error, []

    def invoke(self, **request):
        self.requests.append(request)
        reply: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(self.payload)}
        if self.function_error:
            reply["FunctionError"] = self.function_error
        return reply


def test_the_deployed_notifier_is_invoked_synchronously_with_the_records():
    records = [record(1), record(2)]  # datetimes and all: sent as text
    client = FakeLambda(json.dumps({"batchItemFailures": [{"itemIdentifier": "1"}]}).encode())

    failed = dlq.deployed_notifier(client, "tracking-notifier-dev")(records)

    assert failed == {"1"}
    (request,) = client.requests
    assert request["FunctionName"] == "tracking-notifier-dev"
    assert request["InvocationType"] == "RequestResponse"
    assert json.loads(request["Payload"]) == {
        "Records": json.loads(json.dumps(records, default=str))
    }
    assert isinstance(request["Payload"], bytes)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b'{"errorMessage": "boom", "errorType": "RuntimeError"}', "Unhandled"),
        (b"", None),
        (b"null", None),
    ],
)
def test_a_deployed_notifier_that_failed_fails_every_record(payload, error):
    client = FakeLambda(payload, error)
    assert dlq.deployed_notifier(client, "fn")([record(1), record(2)]) == {"1", "2"}


def test_a_function_error_fails_every_record_whatever_its_payload_says():
    client = FakeLambda(json.dumps({"batchItemFailures": []}).encode(), "Unhandled")
    assert dlq.deployed_notifier(client, "fn")([record(4)]) == {"4"}


def test_the_in_process_notifier_runs_the_handler_with_the_notifiers_context(monkeypatch):
    from tracking_notifier import handler as notifier
    from tracking_stacks.definitions import NOTIFIER_FUNCTION

    seen: list[tuple[Any, Any]] = []

    def handler(event, context):
        seen.append((event, context))
        return {"batchItemFailures": [{"itemIdentifier": "2"}]}

    monkeypatch.setattr(notifier, "handler", handler)
    records = [dlq.lambda_record(record(n), STREAM) for n in (1, 2)]
    assert dlq.in_process_notifier()(records) == {"2"}
    ((event, context),) = seen
    assert event == {"Records": records}
    assert context.function_name == NOTIFIER_FUNCTION.what
    assert context.timeout_ms == NOTIFIER_FUNCTION.timeout_s * 1000


def test_an_in_process_notifier_that_raises_fails_the_whole_batch(monkeypatch):
    from tracking_notifier import handler as notifier

    def handler(event, context):
        raise RuntimeError("table unreachable")

    monkeypatch.setattr(notifier, "handler", handler)
    records = [dlq.lambda_record(record(n), STREAM) for n in (1, 2)]
    assert dlq.in_process_notifier()(records) == {"1", "2"}


# ---- times in UTC in any zone; the default bound of a replay -------------------------


def test_times_are_written_in_utc_whatever_the_machines_zone(monkeypatch):
    monkeypatch.setenv("TZ", "IST-5:30")  # five and a half hours east, no tzdata needed
    time.tzset()
    try:
        assert dlq._iso(T0, millis=False) == "2026-12-07T08:00:00Z"
        assert dlq._iso(T0, millis=True) == "2026-12-07T08:00:00.123Z"
        epoch = {"dynamodb": {"ApproximateCreationDateTime": T0.timestamp()}}
        assert dlq._arrival(epoch) == "2026-12-07T08:00:00Z"
    finally:
        monkeypatch.undo()  # the zone the process had
        time.tzset()


def test_replay_reads_at_most_a_thousand_messages_by_default():
    sqs = FakeSqs([body(1, 1, 1)] * 1003)
    report = dlq.replay(sqs, FakeStreams([record(1)]), QUEUE, Notifier())
    assert report.deleted == 1000 and len(sqs.waiting) == 3
