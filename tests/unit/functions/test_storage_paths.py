"""The write path and the storage error mapping against a recording DynamoDB client:
the exact transaction each case sends, which failure is retried, settled, answered 503
or passed on, and the milestone case chosen after a cancelled transaction (issue 21:
the modules split from the repository keep the strength of its tests)."""

from __future__ import annotations

import pytest
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from tests.helpers import THROTTLING_CODES
from tests.unit.functions.recording_dynamodb import RecordingClient, cancelled, client_error
from tracking_api import store, writes
from tracking_api.domain import Event
from tracking_api.errors import IdempotencyKeyInProgress, StorageUnavailable
from tracking_api.idempotency import IdempotencyKeyTaken, IdempotencyRecord, StoredIdempotency
from tracking_api.writes import EventWriter, MilestoneCase
from tracking_common import table

TABLE = "tracking-unit"
EVENT = Event(
    tracking_id="PKG-1",
    event_id="01JEVENT",
    status="in_transit",
    timestamp=1_700_000_000_000,
    lat=1.5,
    lng=2.5,
    metadata=None,
    received_at=1_700_000_005_000,
)
NOW_S = EVENT.received_at // 1000
RECORD = IdempotencyRecord(
    key="principal#POST /track#key-1",
    request_hash="hash-1",
    response_status=201,
    response_body='{"ok":true}',
    expires_at=NOW_S + 86_400,
)
MILESTONE = table.milestone_attribute(EVENT.status)
CHECK_FAILED = {"Code": "ConditionalCheckFailed"}
PASSED = {"Code": "None"}
CONFLICT = {"Code": "TransactionConflict"}


def writer(client: RecordingClient) -> EventWriter:
    return EventWriter(TABLE, client=client)


def stored_event_item(event_id: str = EVENT.event_id) -> dict:
    return {"Item": {table.ATTR_EVENT_ID: {"S": event_id}}}


EVENT_PUT = {
    "Put": {
        "TableName": TABLE,
        "Item": {
            "pk": {"S": "PKG-1"},
            "sk": {"S": table.event_sort_key(EVENT.timestamp, EVENT.event_id)},
            "event_id": {"S": "01JEVENT"},
            "status": {"S": "in_transit"},
            "ts": {"N": "1700000000000"},
            "lat": {"N": "1.5"},
            "lng": {"N": "2.5"},
            "received_at": {"N": "1700000005000"},
        },
        "ConditionExpression": "attribute_not_exists(#sk)",
        "ExpressionAttributeNames": {"#sk": "sk"},
    }
}
STATE_KEY = {"pk": {"S": "PKG-1"}, "sk": {"S": "STATE"}}
EVENT_KEY = {"pk": EVENT_PUT["Put"]["Item"]["pk"], "sk": EVENT_PUT["Put"]["Item"]["sk"]}


def milestone_update(condition: str, update: str, values: dict) -> dict:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": STATE_KEY,
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {
                "#pk": "pk",
                "#all": "milestones_complete",
                "#m": "first_in_transit",
            },
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


T = {":t": {"N": "1700000000000"}}
YES = {":yes": {"BOOL": True}}
# The four cases' state-item updates, written out as DynamoDB reads them.
UPDATES = {
    MilestoneCase(True, False): milestone_update(
        "(attribute_not_exists(#pk) OR attribute_exists(#all))"
        " AND (attribute_not_exists(#m) OR #m <= :t)",
        "SET #m = if_not_exists(#m, :t), #all = :yes",
        {**T, **YES},
    ),
    MilestoneCase(True, True): milestone_update(
        "(attribute_not_exists(#pk) OR attribute_exists(#all)) AND #m > :t",
        "SET #m = :t, #all = :yes",
        {**T, **YES},
    ),
    MilestoneCase(False, False): milestone_update(
        "(attribute_exists(#pk) AND attribute_not_exists(#all))"
        " AND (attribute_not_exists(#m) OR #m <= :t)",
        "SET #m = if_not_exists(#m, :t)",
        T,
    ),
    MilestoneCase(False, True): milestone_update(
        "(attribute_exists(#pk) AND attribute_not_exists(#all)) AND #m > :t",
        "SET #m = :t",
        T,
    ),
}
IDEMPOTENCY_PUT = {
    "Put": {
        "TableName": TABLE,
        "Item": {
            "pk": {"S": table.idempotency_partition_key(RECORD.key)},
            "sk": {"S": "IDEMPOTENCY"},
            "request_hash": {"S": "hash-1"},
            "response_status": {"N": "201"},
            "response_body": {"S": '{"ok":true}'},
            "expires_at": {"N": str(RECORD.expires_at)},
        },
        "ConditionExpression": "attribute_not_exists(#pk) OR #exp < :now",
        "ExpressionAttributeNames": {"#pk": "pk", "#exp": "expires_at"},
        "ExpressionAttributeValues": {":now": {"N": str(NOW_S)}},
    }
}


# ---- store.py: how a DynamoDB failure maps to the contract --------------------------


def test_cancellation_codes_read_each_reason_in_order_and_a_missing_code_as_none():
    error = cancelled(PASSED, CHECK_FAILED, {"Message": "no code"}, {"Code": ""}, CONFLICT)
    assert store.cancellation_codes(error) == [
        "None",
        "ConditionalCheckFailed",
        "None",
        "None",
        "TransactionConflict",
    ]
    assert store.cancellation_codes(client_error("TransactionCanceledException")) == []


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (client_error("ValidationException"), "ValidationException"),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), "ReadTimeoutError"),
        (ValueError("odd"), "ValueError"),
    ],
)
def test_error_code_is_the_service_code_or_the_exception_class(exc, code):
    assert store.error_code(exc) == code


@pytest.mark.parametrize(
    ("exc", "ambiguous"),
    [
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
        (BotoCoreError(), True),
        (client_error("InternalServerError"), True),
        (client_error("ServiceUnavailable"), True),
        (client_error("ThrottlingException"), False),
        (client_error("ConditionalCheckFailedException"), False),
        (cancelled(CHECK_FAILED), False),
        (ValueError("ServiceUnavailable"), False),
    ],
)
def test_only_a_lost_reply_or_a_service_fault_is_ambiguous(exc, ambiguous):
    assert store.is_ambiguous(exc) is ambiguous


@pytest.mark.parametrize("code", THROTTLING_CODES)
def test_a_failure_a_retry_can_fix_becomes_storage_unavailable(code):
    mapped = store.unavailable(client_error(code))
    assert type(mapped) is StorageUnavailable
    assert mapped.message == store.UNAVAILABLE_MESSAGE


@pytest.mark.parametrize(
    "reason", ["ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"]
)
def test_a_transaction_cancelled_for_capacity_is_storage_unavailable(reason):
    mapped = store.unavailable(cancelled(PASSED, {"Code": reason}))
    assert type(mapped) is StorageUnavailable
    assert mapped.message == store.UNAVAILABLE_MESSAGE


@pytest.mark.parametrize(
    "exc",
    [
        cancelled(CHECK_FAILED, PASSED),
        cancelled(CONFLICT),
        client_error("ValidationException"),
        client_error("ConditionalCheckFailedException"),
        ValueError("ThrottlingException"),
    ],
)
def test_a_failure_a_retry_cannot_fix_is_passed_on_as_it_is(exc):
    assert store.unavailable(exc) is exc


def test_a_client_side_failure_is_storage_unavailable():
    mapped = store.unavailable(BotoCoreError())
    assert type(mapped) is StorageUnavailable
    assert mapped.message == store.UNAVAILABLE_MESSAGE


def test_a_store_uses_the_client_it_is_given_and_maps_its_failures():
    client = RecordingClient(
        reads=[{"Item": {"x": {"S": "1"}}}, client_error("ThrottlingException")]
    )
    repository = store.Store(TABLE, client=client)
    assert repository.table_name == TABLE
    assert repository.client is client
    assert repository._call("get_item", TableName=TABLE, Key=STATE_KEY) == {
        "Item": {"x": {"S": "1"}}
    }
    with pytest.raises(StorageUnavailable) as failed:
        repository._call("get_item", TableName=TABLE, Key=STATE_KEY)
    assert isinstance(failed.value.__cause__, ClientError)
    assert client.gets == [{"TableName": TABLE, "Key": STATE_KEY}] * 2
    assert repository._state_key("PKG-1") == STATE_KEY


def test_a_store_without_a_client_uses_the_containers_client(monkeypatch):
    shared = object()
    monkeypatch.setattr(store, "dynamodb_client", lambda: shared)
    assert store.Store(TABLE).client is shared


@pytest.fixture
def fresh_clients(monkeypatch):
    """The container's cached clients made anew here (in a region), and forgotten after."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for cached in (store.dynamodb_client, writes.settle_client):
        cached.cache_clear()
    yield
    for cached in (store.dynamodb_client, writes.settle_client):
        cached.cache_clear()


def test_the_containers_client_retries_once_within_the_time_budget(fresh_clients):
    client = store.dynamodb_client()
    assert store.dynamodb_client() is client
    config = client.meta.config
    assert config.retries == {"total_max_attempts": 2, "mode": "standard"}
    assert (config.connect_timeout, config.read_timeout) == (0.5, 1)
    assert client.meta.service_model.service_name == "dynamodb"


# ---- writes.py: the transaction ------------------------------------------------------


@pytest.mark.parametrize("case", list(UPDATES), ids=str)
def test_each_milestone_case_sends_its_condition_and_update(case):
    assert writer(RecordingClient())._milestone_update(EVENT, case) == UPDATES[case]


def test_an_update_is_one_transaction_of_the_event_and_the_state_item():
    client = RecordingClient()
    assert writer(client).record(EVENT) is None
    assert client.transactions == [[EVENT_PUT, UPDATES[MilestoneCase()]]]
    assert client.gets == []


def test_an_update_with_a_key_puts_its_record_between_the_event_and_the_state_item():
    client = RecordingClient()
    writer(client).record(EVENT, RECORD)
    assert client.transactions == [[EVENT_PUT, IDEMPOTENCY_PUT, UPDATES[MilestoneCase()]]]


def test_the_event_put_carries_its_metadata_as_json():
    event = Event(**{**EVENT.__dict__, "metadata": {"b": 1, "a": [True, None]}})
    item = writer(RecordingClient())._event_put(event)["Put"]["Item"]
    assert item["metadata_json"] == {"S": '{"b":1,"a":[true,null]}'}


# ---- MilestoneCase.of: the case after a cancelled transaction -----------------------


def test_without_the_state_item_the_cases_are_tried_in_turn():
    case, seen = MilestoneCase(), []
    for _ in range(5):
        case = MilestoneCase.of(None, EVENT, case)
        seen.append((case.complete, case.earlier))
    assert seen == [(True, True), (False, False), (False, True), (True, False), (True, True)]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({}, MilestoneCase(False, False)),
        ({"milestones_complete": {"BOOL": True}}, MilestoneCase(True, False)),
        ({"milestones_complete": {"BOOL": False}}, MilestoneCase(True, False)),
        ({MILESTONE: {"N": str(EVENT.timestamp + 1)}}, MilestoneCase(False, True)),
        ({MILESTONE: {"N": str(EVENT.timestamp)}}, MilestoneCase(False, False)),
        ({MILESTONE: {"N": str(EVENT.timestamp - 1)}}, MilestoneCase(False, False)),
        (
            {"milestones_complete": {"BOOL": True}, MILESTONE: {"N": str(EVENT.timestamp + 5)}},
            MilestoneCase(True, True),
        ),
        # Another status's milestone says nothing about this event's.
        ({"first_delivered": {"N": str(EVENT.timestamp + 5)}}, MilestoneCase(False, False)),
    ],
)
def test_the_returned_state_item_tells_the_case(state, expected):
    for tried in UPDATES:
        assert MilestoneCase.of(state, EVENT, tried) == expected


def test_a_cancelled_milestone_condition_is_sent_again_in_the_state_items_case():
    state = {"milestones_complete": {"BOOL": True}, MILESTONE: {"N": str(EVENT.timestamp + 9)}}
    client = RecordingClient(writes=[cancelled(PASSED, {**CHECK_FAILED, "Item": state}), {}])
    writer(client).record(EVENT)
    assert [items[-1] for items in client.transactions] == [
        UPDATES[MilestoneCase(True, False)],
        UPDATES[MilestoneCase(True, True)],
    ]
    assert [items[0] for items in client.transactions] == [EVENT_PUT, EVENT_PUT]


def test_with_a_key_the_state_items_reason_is_the_third():
    state = {MILESTONE: {"N": "1"}}
    client = RecordingClient(writes=[cancelled(PASSED, PASSED, {**CHECK_FAILED, "Item": state})])
    writer(client).record(EVENT, RECORD)
    assert client.transactions[1] == [
        EVENT_PUT,
        IDEMPOTENCY_PUT,
        UPDATES[MilestoneCase(False, False)],
    ]
    assert client.gets == []


def test_a_state_item_moving_under_every_attempt_ends_in_503_never_stored():
    client = RecordingClient(writes=[cancelled(PASSED, CHECK_FAILED)] * 20)
    with pytest.raises(StorageUnavailable) as failed:
        writer(client).record(EVENT)
    assert failed.value.message == (
        "Could not store the update; retry after the time in Retry-After."
    )
    assert len(client.transactions) == writes.TRANSACTION_CONFLICT_RETRIES + 1 == 7


# ---- writes.py: a failed event condition, a taken key, a conflict -------------------


def test_a_failed_event_condition_after_a_lost_reply_is_success_when_it_is_this_event():
    client = RecordingClient(writes=[cancelled(CHECK_FAILED, PASSED)], reads=[stored_event_item()])
    assert writer(client).record(EVENT) is None
    assert client.gets == [{"TableName": TABLE, "ConsistentRead": True, "Key": EVENT_KEY}]
    assert len(client.transactions) == 1


def test_a_failed_event_condition_on_another_event_is_not_success():
    error = cancelled(CHECK_FAILED, PASSED)
    client = RecordingClient(writes=[error], reads=[stored_event_item("01JOTHER")])
    with pytest.raises(ClientError) as failed:
        writer(client).record(EVENT)
    assert failed.value is error
    assert len(client.transactions) == 1


def test_a_taken_key_raises_with_the_stored_record():
    stored = {
        "Item": {
            "request_hash": {"S": "hash-0"},
            "response_status": {"N": "201"},
            "response_body": {"S": "{}"},
            "expires_at": {"N": str(NOW_S)},
        }
    }
    client = RecordingClient(writes=[cancelled(PASSED, CHECK_FAILED, PASSED)], reads=[stored])
    with pytest.raises(IdempotencyKeyTaken) as taken:
        writer(client).record(EVENT, RECORD)
    assert taken.value.stored == StoredIdempotency("hash-0", 201, "{}")
    assert taken.value.__cause__ is None and taken.value.__suppress_context__
    assert len(client.transactions) == 1
    record_item = IDEMPOTENCY_PUT["Put"]["Item"]
    assert client.gets == [
        {
            "TableName": TABLE,
            "ConsistentRead": True,
            "Key": {"pk": record_item["pk"], "sk": record_item["sk"]},
        }
    ]


def test_a_key_found_taken_then_expired_is_tried_again():
    expired = {"Item": {"expires_at": {"N": str(NOW_S - 1)}}}
    client = RecordingClient(writes=[cancelled(PASSED, CHECK_FAILED, PASSED), {}], reads=[expired])
    assert writer(client).record(EVENT, RECORD) is None
    assert client.transactions == [[EVENT_PUT, IDEMPOTENCY_PUT, UPDATES[MilestoneCase()]]] * 2


def test_a_conflict_is_retried_with_a_growing_pause(monkeypatch):
    pauses: list[float] = []
    monkeypatch.setattr(writes.time, "sleep", pauses.append)
    monkeypatch.setattr(writes.random, "uniform", lambda low, high: (low, high) and 0.01)
    client = RecordingClient(writes=[cancelled(PASSED, CONFLICT)] * 3 + [{}])
    assert writer(client).record(EVENT) is None
    assert len(client.transactions) == 4
    assert pauses == pytest.approx([0.01, 0.02, 0.03])


def test_the_conflict_pause_is_drawn_between_5_and_20_ms(monkeypatch):
    drawn: list[tuple[float, float]] = []
    monkeypatch.setattr(writes.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(
        writes.random, "uniform", lambda low, high: drawn.append((low, high)) or low
    )
    writer(RecordingClient(writes=[cancelled(PASSED, CONFLICT), {}])).record(EVENT)
    assert drawn == [(0.005, 0.02)]


def test_a_key_still_in_conflict_after_the_retries_is_in_progress(monkeypatch):
    monkeypatch.setattr(writes.time, "sleep", lambda seconds: None)
    client = RecordingClient(writes=[cancelled(PASSED, CONFLICT, PASSED)] * 20)
    with pytest.raises(IdempotencyKeyInProgress) as in_progress:
        writer(client).record(EVENT, RECORD)
    assert in_progress.value.message == (
        "A request with this Idempotency-Key is still in progress; retry later."
    )
    assert in_progress.value.headers == {"Retry-After": "1"}
    assert in_progress.value.__cause__ is None
    assert len(client.transactions) == writes.TRANSACTION_CONFLICT_RETRIES + 1


def test_a_parcel_still_in_conflict_after_the_retries_is_passed_on(monkeypatch):
    monkeypatch.setattr(writes.time, "sleep", lambda seconds: None)
    error = cancelled(PASSED, CONFLICT)
    client = RecordingClient(writes=[error] * 20)
    with pytest.raises(ClientError) as failed:
        writer(client).record(EVENT)
    assert failed.value is error
    assert len(client.transactions) == writes.TRANSACTION_CONFLICT_RETRIES + 1


def test_a_transaction_cancelled_for_capacity_is_503_at_once():
    client = RecordingClient(writes=[cancelled({"Code": "ThrottlingError"}, PASSED)])
    with pytest.raises(StorageUnavailable) as failed:
        writer(client).record(EVENT)
    assert failed.value.message == store.UNAVAILABLE_MESSAGE
    assert isinstance(failed.value.__cause__, ClientError)
    assert len(client.transactions) == 1 and client.gets == []


# ---- writes.py: other failures and the settling read --------------------------------


def test_a_throttled_write_is_503_without_a_read():
    client = RecordingClient(writes=[client_error("ThrottlingException")])
    with pytest.raises(StorageUnavailable) as failed:
        writer(client).record(EVENT)
    assert failed.value.message == store.UNAVAILABLE_MESSAGE
    assert client.gets == []


def test_a_refused_write_is_passed_on_without_a_read():
    error = client_error("ValidationException")
    client = RecordingClient(writes=[error])
    with pytest.raises(ClientError) as failed:
        writer(client).record(EVENT)
    assert failed.value is error and client.gets == []


@pytest.mark.parametrize(
    "failure",
    [ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), client_error("InternalServerError")],
    ids=["lost reply", "service fault"],
)
def test_an_ambiguous_write_that_was_stored_is_success(failure):
    client = RecordingClient(writes=[failure], reads=[stored_event_item()])
    assert writer(client).record(EVENT, deadline=None) is None
    assert client.gets == [{"TableName": TABLE, "ConsistentRead": True, "Key": EVENT_KEY}]
    assert len(client.transactions) == 1


@pytest.mark.parametrize(
    "read",
    [{}, stored_event_item("01JOTHER"), client_error("ThrottlingException"), BotoCoreError()],
    ids=["absent", "another event", "read throttled", "read lost"],
)
@pytest.mark.parametrize(
    "failure",
    [lambda: client_error("ServiceUnavailable"), lambda: ReadTimeoutError(endpoint_url="x")],
    ids=["service fault", "lost reply"],
)
def test_an_ambiguous_write_not_found_stored_is_503_caused_by_the_write_failure(read, failure):
    failure = failure()
    client = RecordingClient(writes=[failure], reads=[read])
    with pytest.raises(StorageUnavailable) as failed:
        writer(client).record(EVENT)
    assert failed.value.message == store.UNAVAILABLE_MESSAGE
    assert failed.value.__cause__ is failure
    assert len(client.gets) == 1


@pytest.mark.parametrize(("left", "reads"), [(1.5, True), (1.6, True), (1.4, False), (0, False)])
@pytest.mark.parametrize(
    "failure",
    [lambda: client_error("InternalServerError"), BotoCoreError],
    ids=["service fault", "lost reply"],
)
def test_the_settling_read_runs_only_if_its_worst_case_fits_the_budget(
    monkeypatch, left, reads, failure
):
    monkeypatch.setattr(writes, "clock", lambda: 100.0)
    client = RecordingClient(writes=[failure()], reads=[stored_event_item()])
    if reads:
        writer(client).record(EVENT, deadline=100.0 + left)
        assert len(client.gets) == 1
    else:
        with pytest.raises(StorageUnavailable):
            writer(client).record(EVENT, deadline=100.0 + left)
        assert client.gets == []


def test_without_a_client_of_its_own_the_settling_read_uses_the_one_attempt_client(monkeypatch):
    settle = RecordingClient(reads=[stored_event_item()])
    monkeypatch.setattr(writes, "settle_client", lambda: settle)
    repository = EventWriter(TABLE)
    main = RecordingClient(writes=[BotoCoreError()])
    repository.__dict__["client"] = main  # the container's client, as cached_property keeps it
    assert repository.record(EVENT) is None
    assert main.gets == [] and len(settle.gets) == 1
    assert settle.gets[0] == {"TableName": TABLE, "ConsistentRead": True, "Key": EVENT_KEY}


def test_the_settling_client_makes_one_attempt_within_its_worst_case(fresh_clients):
    client = writes.settle_client()
    assert writes.settle_client() is client
    config = client.meta.config
    assert config.retries == {"total_max_attempts": 1, "mode": "standard"}
    assert config.connect_timeout + config.read_timeout == writes.SETTLE_WORST_CASE_SECONDS
