"""What AWS does and moto never shows, injected with the fault proxy in front of the
stand-in: hung endpoints, writes applied with their reply lost, throttled
transactions and SSM, and Lambda's stream checkpoints (issue 15)."""

from __future__ import annotations

import json
import time

import pytest
from botocore.config import Config

from tests.conftest import reset_function_state
from tests.e2e.faults import FaultProxy, aws_error
from tests.functional.test_notifier import (  # noqa: F401 - fixtures notify, observed
    event_record,
    image,
    notify,
    observed,
    record,
)
from tests.helpers import update
from tracking_ops.local import proxy
from tracking_ops.measure.raw_requests import sample_event_item
from tracking_stacks import definitions as defs

ENDPOINT_VARIABLES = {
    "dynamodb": "AWS_ENDPOINT_URL_DYNAMODB",
    "ssm": "AWS_ENDPOINT_URL_SSM",
    "events": "AWS_ENDPOINT_URL_EVENTBRIDGE",
}
PUT_ITEM = "DynamoDB_20120810.PutItem"
TRANSACT_WRITE = "DynamoDB_20120810.TransactWriteItems"
GET_PARAMETERS = "AmazonSSM.GetParameters"
GET_PARAMETER = "AmazonSSM.GetParameter"
PUT_EVENTS = "AWSEvents.PutEvents"
# "Well under" the function timeout: the rest is left to answer (and to log).
BUDGET_SHARE = 0.6


@pytest.fixture
def faults(aws, monkeypatch):
    """Point the functions' clients for ``services`` through a fault proxy."""
    proxies: list[FaultProxy] = []

    def through(*services: str) -> FaultProxy:
        fault = FaultProxy()
        fault.forward_to(aws.endpoint)
        proxies.append(fault)
        for service in services:
            monkeypatch.setenv(ENDPOINT_VARIABLES[service], fault.url)
        reset_function_state()
        return fault

    yield through
    for fault in proxies:
        fault.close()
    reset_function_state()


def worst_case_seconds(config: Config) -> float:
    """A call against an endpoint that accepts and never answers (or never accepts):
    every attempt times out, with standard mode's back-off (<= 2^(n-1) s) between."""
    attempts = config.retries["total_max_attempts"]
    backoff = sum(min(2 ** (n - 1), 20) for n in range(1, attempts))
    return attempts * (config.connect_timeout + config.read_timeout) + backoff


# ---- 1. time budget -------------------------------------------------------------


def test_api_time_budget_leaves_time_to_answer_503():
    from tracking_api.repository import CLIENT_CONFIG
    from tracking_api.settings import EXTENSION_TIMEOUT_SECONDS

    # The settings: one call to the extension (connect and read each bounded by the
    # socket timeout), never retried within a request; then storage.
    worst = 2 * EXTENSION_TIMEOUT_SECONDS + worst_case_seconds(CLIENT_CONFIG)
    assert worst <= BUDGET_SHARE * defs.API_FUNCTION.timeout_s


def test_notifier_time_budget_per_record_fits_its_timeout():
    from tracking_notifier import handler as notifier

    record_worst = worst_case_seconds(notifier.SSM_CONFIG) + worst_case_seconds(
        notifier.CLIENT_CONFIG
    )
    assert record_worst * 1000 <= notifier.RECORD_BUDGET_MS
    assert BUDGET_SHARE * defs.NOTIFIER_FUNCTION.timeout_s * 1000 >= notifier.RECORD_BUDGET_MS


def test_hung_ssm_and_storage_answer_503_before_the_function_timeout(api, real_clock, faults):
    fault = faults("dynamodb", "ssm")  # SSM behind the extension's stand-in
    fault.hang(GET_PARAMETER)
    fault.hang(TRANSACT_WRITE)

    started = time.monotonic()
    reply = api.track(update())
    elapsed = time.monotonic() - started

    assert (reply.status, reply.error_code) == (503, "storage_unavailable")
    assert int(reply.headers["Retry-After"]) >= 1
    # On AWS, past the timeout Lambda kills the invocation and API Gateway answers 502.
    assert elapsed < defs.API_FUNCTION.timeout_s


def test_hung_eventbridge_fails_the_batch_before_the_notifier_timeout(aws, faults):
    from tracking_notifier import handler as notifier

    fault = faults("events")
    fault.hang(PUT_EVENTS)
    notifier.events_client.cache_clear()
    records = [
        record(str(n), image(f"P{n}", "in_transit"), image(f"P{n}", "pending")) for n in (1, 2, 3)
    ]
    context = proxy.LambdaContext(timeout_ms=defs.NOTIFIER_FUNCTION.timeout_s * 1000)

    started = time.monotonic()
    failed = None
    try:
        notifier.handler({"Records": records}, context)
    except Exception as exc:  # noqa: BLE001 - every record failed: the batch raises
        failed = exc
    elapsed = time.monotonic() - started
    notifier.events_client.cache_clear()

    assert failed is not None and "All records failed" in str(failed)
    assert fault.seen.count(PUT_EVENTS) == notifier.CLIENT_CONFIG.retries["total_max_attempts"]
    assert elapsed < defs.NOTIFIER_FUNCTION.timeout_s


def test_no_record_starts_without_the_time_it_may_need(
    notify,  # noqa: F811 - the fixtures of test_notifier
    observed,  # noqa: F811
    monkeypatch,
):
    """A record is left for the retry when less than its worst case is left of the
    invocation: a slow batch fails its tail instead of being killed mid-record."""
    from tracking_notifier import handler as notifier

    left_ms = iter([defs.NOTIFIER_FUNCTION.timeout_s * 1000, notifier.RECORD_BUDGET_MS - 1])
    monkeypatch.setattr(
        proxy.LambdaContext, "get_remaining_time_in_millis", lambda self: next(left_ms)
    )
    records = [
        record(str(n), image(f"T{n}", "in_transit"), image(f"T{n}", "pending")) for n in (1, 2, 3)
    ]

    result = notify(records)

    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]}
    assert [e["detail"]["tracking_id"] for e in observed()] == ["T1"]


# ---- 2. a write applied, its reply lost ------------------------------------------


def test_a_write_stored_with_its_reply_lost_is_201_and_stored_once(api, faults):
    fault = faults("dynamodb")
    fault.lose_reply(TRANSACT_WRITE)

    reply = api.track(update())

    assert reply.status == 201, reply.body
    assert fault.seen.count(TRANSACT_WRITE) == 2  # the SDK retried; its condition failed
    stored = api.status("tracking_id=PKG-1").body["updates"]
    assert [u["event_id"] for u in stored] == [reply.body["event_id"]]


def test_a_transaction_stored_with_its_reply_lost_is_201_not_a_replay(api, faults):
    fault = faults("dynamodb")
    fault.lose_reply(TRANSACT_WRITE)

    reply = api.track(update(), headers={"Idempotency-Key": "lost-reply"})

    assert reply.status == 201, reply.body
    assert "Idempotent-Replayed" not in reply.headers
    assert fault.seen.count(TRANSACT_WRITE) == 2
    stored = api.status("tracking_id=PKG-1").body["updates"]
    assert [u["event_id"] for u in stored] == [reply.body["event_id"]]
    again = api.track(update(), headers={"Idempotency-Key": "lost-reply"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.body == reply.body


def test_a_failed_condition_on_someone_elses_item_is_not_taken_for_ours(api, faults, monkeypatch):
    """Only our own event id makes a failed condition a success."""
    from tracking_api.repository import TrackingRepository

    fault = faults("dynamodb")
    fault.answer(
        TRANSACT_WRITE,
        aws_error(
            400,
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[ConditionalCheckFailed, None]",
            CancellationReasons=[{"Code": "ConditionalCheckFailed"}, {"Code": "None"}],
        ),
    )
    monkeypatch.setattr(TrackingRepository, "_is_stored", lambda self, event: False)

    reply = api.track(update())

    assert (reply.status, reply.error_code) == (500, "internal_error")


# ---- 3. throttled transactions ----------------------------------------------------


@pytest.mark.parametrize(
    "reason", ["ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"]
)
def test_a_transaction_cancelled_for_capacity_is_503_with_retry_after(api, faults, reason):
    fault = faults("dynamodb")
    fault.answer(
        TRANSACT_WRITE,
        aws_error(
            400,
            "TransactionCanceledException",
            f"Transaction cancelled, please refer cancellation reasons for specific reasons "
            f"[{reason}, None]",
            CancellationReasons=[{"Code": reason, "Message": "throttled"}, {"Code": "None"}],
        ),
    )

    reply = api.track(update(), headers={"Idempotency-Key": f"throttled-{reason}"})

    assert (reply.status, reply.error_code) == (503, "storage_unavailable")
    assert int(reply.headers["Retry-After"]) >= 1


# ---- 4. no response bodies in traces ----------------------------------------------


@pytest.fixture
def xray_segments(monkeypatch):
    """Tracing on, as in Lambda, with the segments kept in memory instead of sent."""
    from aws_xray_sdk import global_sdk_config
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.context import Context

    sent: list[str] = []

    class Emitter:
        def send_entity(self, entity) -> None:
            sent.append(entity.serialize())

        def set_daemon_address(self, address) -> None:
            pass

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.delenv("POWERTOOLS_TRACER_CAPTURE_RESPONSE", raising=False)
    global_sdk_config.set_sdk_enabled(True)
    previous = (xray_recorder.context, xray_recorder.emitter, xray_recorder.streaming_threshold)
    xray_recorder.configure(context=Context(), emitter=Emitter(), streaming_threshold=1)
    xray_recorder.begin_segment("test")
    yield sent
    xray_recorder.end_segment()
    xray_recorder.context, xray_recorder.emitter = previous[0], previous[1]
    xray_recorder.streaming_threshold = previous[2]
    global_sdk_config.set_sdk_enabled(False)


def test_responses_and_client_metadata_never_reach_the_trace(
    api,
    xray_segments,
    notify,  # noqa: F811 - the fixtures of test_notifier
    observed,  # noqa: F811
):
    """The API function traces nothing itself (Lambda's active tracing records the
    invocation, no SDK sees a body); the notifier's handler subsegment carries
    neither its response nor the records' data."""
    from aws_xray_sdk.core import xray_recorder

    secret = "client-secret-metadata-4711"
    created = api.track(update(tracking_id="TRACED", metadata={"note": secret}))
    assert created.status == 201
    assert secret in api.status("tracking_id=TRACED").raw.decode()
    change = record("9", image("TRACED", "delivered"), image("TRACED", "in_transit"))
    change["dynamodb"]["NewImage"]["metadata"] = {"S": secret}
    assert notify([change]) == {"batchItemFailures": []}

    segment = xray_recorder.current_segment().serialize()
    traced = " ".join([*xray_segments, segment])
    assert "## handler" in traced  # the notifier's subsegment is there...
    assert secret not in traced  # ...without the data it handled or answered
    assert created.body["event_id"] not in traced
    assert "batchItemFailures" not in traced


# ---- 7. stream checkpoints ---------------------------------------------------------


# The notifier's side (every record after a failed one reported failed, unprocessed)
# is in test_notifier.py: test_a_poison_record_fails_from_itself_on and
# test_a_broken_event_record_fails_with_every_later_one_left_for_the_retry.


def put_events_in_table(aws, count: int) -> None:
    client = aws.client("dynamodb")
    for n in range(count):
        image_ = sample_event_item(f"FEED{n}", "pending", 1_700_000_000_000 + n, f"01F{n}")
        client.put_item(TableName=defs.table_name("dev"), Item=image_)


def feeder_recording(aws, fail_sequence_at: int, times: int | None):
    """A StreamFeeder on the stand-in's stream whose notifier fails the record at
    ``fail_sequence_at`` of the first batch ``times`` times (None: always)."""
    from tracking_ops.local.stream_feeder import StreamFeeder

    feeder = StreamFeeder(aws)
    feeder.setup()
    batches: list[list[str]] = []
    failing: list[str] = []

    def handler(event, context):
        sequences = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        batches.append(sequences)
        if not failing:
            failing.append(sequences[fail_sequence_at])
        fails = times is None or len(batches) <= times
        if fails and failing[0] in sequences:
            return {"batchItemFailures": [{"itemIdentifier": failing[0]}]}
        return {"batchItemFailures": []}

    feeder._handler = handler
    return feeder, batches


def test_local_feeder_redelivers_from_the_first_failed_record_on(aws):
    put_events_in_table(aws, 3)
    feeder, batches = feeder_recording(aws, fail_sequence_at=1, times=1)

    feeder.drain()

    first, retried = batches[0], batches[1]
    assert len(first) == 3
    # Lambda checkpoints at the lowest failed sequence number and redelivers all
    # after it, the third record (which succeeded) included.
    assert retried == first[1:]
    assert len(batches) == 2


def test_local_feeder_sends_the_batch_from_the_checkpoint_to_the_dlq(aws):
    from tracking_ops.local.stream_feeder import STREAM_MAX_RETRIES

    put_events_in_table(aws, 3)
    feeder, batches = feeder_recording(aws, fail_sequence_at=1, times=None)

    feeder.drain()

    assert len(batches) == STREAM_MAX_RETRIES + 1
    assert all(batch == batches[0][1:] for batch in batches[1:])
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=defs.dlq_name("dev"))["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    info = json.loads(message["Body"])["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (
        batches[0][1],
        batches[0][2],
    )
    assert info["batchSize"] == 2


# ---- 8. SSM failures ----------------------------------------------------------------


def test_a_cold_start_without_ssm_asks_again_on_the_next_request(api, faults):
    from tracking_api import api as api_module

    fault = faults("ssm")
    fault.answer(GET_PARAMETER, aws_error(400, "ThrottlingException", "Rate exceeded"))
    clock = [1000.0]
    loader = api_module.settings_loader()
    loader._clock = lambda: clock[0]
    assert api.track(update()).status == 201
    assert "milestones" not in api.status("tracking_id=PKG-1").body  # defaults, meanwhile

    fault.clear()  # SSM answers again...
    clock[0] += 2  # ...and two seconds later a request asks it again

    assert "milestones" in api.status("tracking_id=PKG-1").body  # dev's flags, from SSM


def test_ssm_throttling_fails_the_notifier_record_instead_of_dropping_the_event(
    notify,  # noqa: F811 - the fixtures of test_notifier
    observed,  # noqa: F811
    faults,
):
    from aws_lambda_powertools.utilities import parameters

    from tracking_notifier import handler as notifier

    fault = faults("ssm")
    fault.answer(GET_PARAMETER, aws_error(400, "ThrottlingException", "Rate exceeded"))
    notifier.ssm_provider.cache_clear()
    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()
    projected = event_record("6", sample_event_item("P6", "pending", 1_700_000_000_000, "01P6"))
    change = record("7", image("P7", "delivered"), image("P7", "in_transit"))
    later = record("8", image("P8", "delivered"), image("P8", "in_transit"))

    result = notify([projected, change, later])

    assert result == {"batchItemFailures": [{"itemIdentifier": "7"}, {"itemIdentifier": "8"}]}
    assert observed() == []
    fault.clear()
    notifier.ssm_provider.cache_clear()
    parameters.base.DEFAULT_PROVIDERS.clear()
    assert notify([change]) == {"batchItemFailures": []}  # the retry publishes it
    assert [e["detail"]["tracking_id"] for e in observed()] == ["P7"]


# ---- 4. ambiguous failures are settled by a read (issue 22, item 5) ----------------

GET_ITEM = "DynamoDB_20120810.GetItem"


def test_a_write_whose_every_reply_is_lost_is_settled_by_a_read_201_and_stored_once(api, faults):
    """The transaction is applied but no attempt's reply arrives (the SDK gives up with
    a BotoCoreError): a consistent read of the event's key finds it stored, so the
    answer is 201 and the client's retry stores no duplicate."""
    fault = faults("dynamodb")
    fault.lose_reply(TRANSACT_WRITE, times=None)

    reply = api.track(update())

    assert reply.status == 201, reply.body
    assert fault.seen.count(TRANSACT_WRITE) == 2  # both attempts' replies were lost
    assert GET_ITEM in fault.seen  # the settling read
    fault.clear()
    stored = api.status("tracking_id=PKG-1").body["updates"]
    assert [u["event_id"] for u in stored] == [reply.body["event_id"]]


def test_an_ambiguous_failure_of_a_write_that_was_not_applied_is_503(api, faults):
    fault = faults("dynamodb")
    fault.answer(TRANSACT_WRITE, aws_error(500, "InternalServerError", "Internal server error"))

    reply = api.track(update())

    assert (reply.status, reply.error_code) == (503, "storage_unavailable"), reply.body
    assert GET_ITEM in fault.seen  # settled by a read: not stored
    fault.clear()
    assert api.status("tracking_id=PKG-1").status == 404


def test_a_batch_during_a_storage_hang_answers_every_item_within_the_budget(
    api, real_clock, faults
):
    """One time budget for the whole request: the first item's write hangs until the
    SDK gives up, and the items that no longer fit are reported 503, never unknown."""
    fault = faults("dynamodb")
    api.track(update(tracking_id="warm"))  # settings and client of a warm container
    fault.hang(TRANSACT_WRITE)
    items = [update(tracking_id=f"HANG-{i}") for i in range(5)]
    writes_before = fault.seen.count(TRANSACT_WRITE)

    started = time.monotonic()
    reply = api.request("POST", "/track/batch", body={"updates": items})
    elapsed = time.monotonic() - started

    assert reply.status == 200, reply.body
    assert elapsed < defs.API_FUNCTION.timeout_s  # answered before Lambda would kill it
    results = reply.body["results"]
    assert [r["index"] for r in results] == list(range(5))
    assert {(r["status"], r["error"]["code"]) for r in results} == {(503, "storage_unavailable")}
    assert reply.body["failed"] == 5
    # Only the first item was attempted (the SDK's two attempts).
    assert fault.seen.count(TRANSACT_WRITE) - writes_before == 2
