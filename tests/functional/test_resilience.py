"""Failures of what the function depends on: storage, SSM, and its own bugs."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
from types import SimpleNamespace

import pytest
from botocore.stub import Stubber

from tests.conftest import reset_function_state
from tests.helpers import THROTTLING_CODES, update
from tracking_api import api as api_module
from tracking_common import table
from tracking_common.runtime_config import PARAMETERS_EXTENSION
from tracking_stacks import definitions as defs


def dead_endpoint() -> str:
    """A loopback port nothing listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class TestStorageOutage:
    def test_unreachable_storage_is_503_with_retry_after_and_nothing_half_written(
        self, api, monkeypatch
    ):
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dead_endpoint())
        reset_function_state()

        reply = api.track(update(), headers={"Idempotency-Key": "during-outage"})

        assert (reply.status, reply.error_code) == (503, "storage_unavailable")
        assert reply.body["error"]["message"] == (
            "Tracking storage is unavailable; retry after the time in Retry-After."
        )
        assert int(reply.headers["Retry-After"]) >= 1
        assert "Traceback" not in reply.raw.decode()

        monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
        reset_function_state()
        retried = api.track(update(), headers={"Idempotency-Key": "during-outage"})
        assert retried.status == 201 and "Idempotent-Replayed" not in retried.headers
        assert len(api.status("tracking_id=PKG-1").body["updates"]) == 1

    def test_reads_during_outage_are_503(self, api, monkeypatch):
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dead_endpoint())
        reset_function_state()
        for query in ("tracking_id=PKG-1",):
            assert api.status(query).status == 503
        assert api.request("GET", "/shipments", query="status=pending").status == 503


# For tests of what the settings' extension answers, not of its timeouts.
PATIENT_EXTENSION_SECONDS = 30.0


@contextlib.contextmanager
def storage_fails(operations: list[tuple[str, str]], exact: bool = True):
    """The function's DynamoDB client answers exactly these operations, in this order,
    with these error codes (as after the SDK's retries). Any other call, or one left
    unanswered, fails the test: a Stubber's own "unexpected call" error is a
    BotoCoreError, which maps to 503 whatever the code does, so it must never be
    what a test sees. ``exact=False``: calls run in parallel and the first failure
    cancels the rest, so at least one (and only stubbed operations) must be called."""
    client = api_module.repository(api_module.settings_loader().get().table_name).client
    with Stubber(client) as stub:
        for operation, code in operations:
            if code == "TransactionCanceledException/ConditionalCheckFailed":
                stub.add_client_error(
                    operation,
                    service_error_code="TransactionCanceledException",
                    http_status_code=400,
                    modeled_fields={
                        "CancellationReasons": [
                            {"Code": "None"},
                            {"Code": "ConditionalCheckFailed"},
                        ]
                    },
                )
            else:
                stub.add_client_error(operation, service_error_code=code, http_status_code=400)
        calls: list[str] = []

        def record(model, **_):  # fires before the Stubber answers (before-call)
            calls.append(model.name)

        client.meta.events.register("before-parameter-build", record)
        try:
            yield
        finally:
            client.meta.events.unregister("before-parameter-build", record)
        if exact:
            stub.assert_no_pending_responses()
        stubbed = {client.meta.method_to_api_mapping[op] for op, _ in operations}
        assert calls and set(calls) <= stubbed, calls


def warm(api) -> None:
    """Settings and clients of a warm container (SSM is not behind the stubbed client)."""
    assert api.track(update(tracking_id="warm")).status == 201


def assert_503(reply) -> None:
    assert (reply.status, reply.error_code) == (503, "storage_unavailable"), reply.body
    assert int(reply.headers["Retry-After"]) >= 1


class TestStorageFailureMapping:
    """Each request path, with the exact DynamoDB operation it calls failing."""

    @pytest.mark.parametrize("code", THROTTLING_CODES)
    def test_throttled_write_of_an_update_is_503(self, api, code):
        warm(api)
        with storage_fails([("transact_write_items", code)]):
            reply = api.track(update())
        assert_503(reply)

    @pytest.mark.parametrize("code", THROTTLING_CODES)
    def test_throttled_transaction_of_a_keyed_update_is_503(self, api, code):
        warm(api)
        with storage_fails([("transact_write_items", code)]):
            reply = api.track(update(), headers={"Idempotency-Key": f"k-{code}"})
        assert_503(reply)

    @pytest.mark.parametrize("code", THROTTLING_CODES)
    def test_throttled_read_of_the_idempotency_record_on_replay_is_503(self, api, code):
        warm(api)
        key = {"Idempotency-Key": "replayed"}
        with storage_fails(
            [
                ("transact_write_items", "TransactionCanceledException/ConditionalCheckFailed"),
                ("get_item", code),
            ]
        ):
            reply = api.track(update(), headers=key)
        assert_503(reply)

    @pytest.mark.parametrize("code", THROTTLING_CODES)
    def test_throttled_status_query_is_503(self, api, code):
        warm(api)
        with storage_fails([("query", code)]):
            reply = api.status("tracking_id=warm")
        assert_503(reply)

    @pytest.mark.parametrize("code", THROTTLING_CODES)
    def test_throttled_shipments_query_is_503(self, api, code):
        warm(api)
        # One query per shard of the status index, in parallel: every one fails.
        with storage_fails([("query", code)] * table.STATUS_INDEX_SHARDS, exact=False):
            reply = api.request("GET", "/shipments", query="status=in_transit")
        assert_503(reply)

    def test_throttled_read_of_the_milestones_is_503(self, api):
        """With milestones, GET /status reads the page and the parcel's state item; a
        throttled state item is a 503 (not a body without, or with wrong, milestones)."""
        warm(api)
        client = api_module.repository(api_module.settings_loader().get().table_name).client
        page = client.query(
            TableName=api_module.settings_loader().get().table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :e)",
            ExpressionAttributeValues={":pk": {"S": "warm"}, ":e": {"S": "E#"}},
        )
        assert page["Items"]
        with Stubber(client) as stub:
            stub.add_response("query", {"Items": page["Items"], "Count": page["Count"]})
            stub.add_client_error("get_item", service_error_code="ThrottlingException")
            reply = api.status("tracking_id=warm")  # enhanced_tracking is on in dev
            stub.assert_no_pending_responses()
        assert_503(reply)

    @pytest.mark.parametrize(
        "code", ["ThrottlingException", "ProvisionedThroughputExceededException"]
    )
    def test_a_batch_item_whose_write_is_throttled_is_reported_503_alone(self, api, code):
        warm(api)
        with storage_fails([("transact_write_items", code)]):
            reply = api.request(
                "POST", "/track/batch", body={"updates": [update(tracking_id="B1")]}
            )
        assert reply.status == 200
        (result,) = reply.body["results"]
        assert (result["status"], result["error"]["code"]) == (503, "storage_unavailable")

    @pytest.mark.parametrize(
        ("operation", "call"),
        [
            ("transact_write_items", lambda api: api.track(update())),
            ("query", lambda api: api.status("tracking_id=warm")),
        ],
    )
    def test_a_request_storage_rejects_as_invalid_is_a_500_not_a_retry_later(
        self, api, operation, call
    ):
        """Only throttling and outages are 503: a bug (a malformed request) must not
        tell clients to retry forever."""
        warm(api)
        with storage_fails([(operation, "ValidationException")]):
            reply = call(api)
        assert (reply.status, reply.error_code) == (500, "internal_error")
        assert "Retry-After" not in reply.headers


class TestSsmOutage:
    def test_cold_start_without_ssm_serves_with_documented_defaults(self, api, monkeypatch):
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", dead_endpoint())
        reset_function_state()

        assert api.track(update()).status == 201
        body = api.status("tracking_id=PKG-1").body
        assert "milestones" not in body  # enhanced_tracking defaults to off
        reply = api.request("POST", "/track/batch", body={"updates": [update()]})
        assert reply.error_code == "feature_disabled"  # batch_processing defaults to off

    def test_warm_container_keeps_last_known_values_when_ssm_fails(self, api, monkeypatch):
        assert api.track(update()).status == 201
        assert "milestones" in api.status("tracking_id=PKG-1").body  # dev flags read from SSM
        loader = api_module.settings_loader()
        # The refresh must land (a timed-out one keeps the old settings, by design): a
        # patient socket, as a busy machine slows the extension's stand-in.
        loader.provider = dataclasses.replace(loader._provider(), timeout=PATIENT_EXTENSION_SECONDS)
        monkeypatch.setattr(loader, "_fresh_until", 0.0)  # the cache expired...
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", dead_endpoint())  # ...and SSM is down

        body = api.status("tracking_id=PKG-1").body

        assert "milestones" in body

    def test_unreachable_extension_is_an_outage_too(self, api, monkeypatch):
        """The Parameters and Secrets extension itself not answering falls back like
        SSM failing behind it."""
        monkeypatch.setenv(PARAMETERS_EXTENSION.port_variable, dead_endpoint().rsplit(":", 1)[1])
        reset_function_state()

        assert api.track(update()).status == 201
        assert "milestones" not in api.status("tracking_id=PKG-1").body  # defaults

    def test_the_extension_answers_only_its_environment_s_session_token(self, api):
        from tracking_api.settings import ParametersExtension, ParameterUnavailable

        name = defs.FEATURE_FLAGS_PARAM.path("dev")
        # What is answered, not how fast: a patient socket (a busy machine slows the stand-in).
        extension = dataclasses.replace(
            ParametersExtension.from_environment(), timeout=PATIENT_EXTENSION_SECONDS
        )
        stored = defs.parameter_values("dev", defs.table_name("dev"))[defs.FEATURE_FLAGS_PARAM]
        assert extension.get(name) == stored
        with pytest.raises(ParameterUnavailable, match="HTTP 401"):
            dataclasses.replace(extension, token="another environment's").get(name)
        with pytest.raises(ParameterUnavailable, match="HTTP 400"):
            extension.get("/tracking/dev/no-such-parameter")

    def test_changed_parameters_are_picked_up_after_the_cache_expires(self, api, aws, monkeypatch):
        api.track(update())
        aws.client("ssm").put_parameter(
            Name=defs.API_CONFIG_PARAM.path("dev"),
            Overwrite=True,
            Type="String",
            Value=defs.api_config_value({"max_request_size": 50}),
        )
        assert api.track(update()).status == 201  # cached: old limit still applies
        loader = api_module.settings_loader()
        monkeypatch.setattr(loader, "_fresh_until", 0.0)
        assert api.track(update()).status == 413


def test_unexpected_error_is_500_without_details(api, monkeypatch):
    def explode(*_, **__):
        raise RuntimeError("secret internal detail")

    api.track(update(tracking_id="warm"))
    repository = api_module.repository(api_module.settings_loader().get().table_name)
    monkeypatch.setattr(repository, "record", explode)

    reply = api.track(update())

    assert (reply.status, reply.error_code) == (500, "internal_error")
    assert "secret internal detail" not in reply.raw.decode()


def test_a_key_held_by_a_request_in_flight_is_409_in_progress(api):
    """DynamoDB cancels a transaction on an item another transaction holds
    (TransactionConflict); after the retries, the contract's 409 says retry later."""
    from tracking_api import repository as repository_module

    api.track(update(tracking_id="warm"))
    client = api_module.repository(api_module.settings_loader().get().table_name).client
    conflict = {"CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]}
    with Stubber(client) as stub:
        for _ in range(repository_module.TRANSACTION_CONFLICT_RETRIES + 1):
            stub.add_client_error(
                "transact_write_items",
                service_error_code="TransactionCanceledException",
                service_message="conflict",
                http_status_code=400,
                response_meta=None,
                modeled_fields=conflict,
            )
        reply = api.track(update(), headers={"Idempotency-Key": "in-flight"})
    assert (reply.status, reply.error_code) == (409, "idempotency_key_in_progress")
    assert reply.body["error"]["message"] == (
        "A request with this Idempotency-Key is still in progress; retry later."
    )
    assert reply.headers["Retry-After"] == "1"
    assert api.status("tracking_id=PKG-1").status == 404  # nothing was stored


def test_a_key_that_keeps_expiring_under_us_is_503_never_a_silent_success(api, monkeypatch):
    from tracking_api import repository as repository_module
    from tracking_api.repository import TrackingRepository

    api.track(update(tracking_id="warm"))
    api.track(update(tracking_id="warm"), headers={"Idempotency-Key": "flaky"})
    # The key's record is found taken, then reads as expired, on every attempt.
    reads: list[str] = []
    monkeypatch.setattr(
        TrackingRepository, "get_idempotency", lambda self, key, now_s: reads.append(key)
    )

    reply = api.track(update(tracking_id="warm"), headers={"Idempotency-Key": "flaky"})

    assert (reply.status, reply.error_code) == (503, "storage_unavailable")
    assert reply.body["error"]["message"] == (
        "Could not store the update; retry after the time in Retry-After."
    )
    # A bounded number of attempts, each one write and one read (of the key as scoped
    # to this caller and route).
    scoped = repository_module.scoped_key("anonymous", "POST /track", "flaky")
    assert reads == [scoped] * (repository_module.TRANSACTION_CONFLICT_RETRIES + 1)
    assert len(api.status("tracking_id=warm").body["updates"]) == 2


def test_a_conflict_that_clears_is_retried_with_growing_short_waits_and_stores_once(
    api, monkeypatch
):
    """A TransactionConflict means nothing was written: the repository tries again after
    a short, growing, random wait, and the update is stored once when the key is free."""
    from tracking_api import writes

    api.track(update(tracking_id="warm"))
    client = api_module.repository(api_module.settings_loader().get().table_name).client
    write = client.transact_write_items
    attempts: list[int] = []
    conflicts = 3

    def conflicting_then_real(**kwargs):
        attempts.append(len(kwargs["TransactItems"]))
        if len(attempts) <= conflicts:
            raise client.exceptions.TransactionCanceledException(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )
        return write(**kwargs)

    waits: list[float] = []
    monkeypatch.setattr(client, "transact_write_items", conflicting_then_real)
    # The repository's own clock only: other threads (moto's, the SDK's) sleep too.
    monkeypatch.setattr(writes, "time", SimpleNamespace(sleep=waits.append))

    reply = api.track(update(), headers={"Idempotency-Key": "contended"})

    assert reply.status == 201, reply.body
    # The event, the key's record and the parcel's milestones, each time.
    assert attempts == [3] * (conflicts + 1)
    assert len(waits) == conflicts
    # Jittered, growing with the attempt, and short: 5-20 ms times the attempt number.
    for attempt, wait in enumerate(waits, start=1):
        assert 0.005 * attempt <= wait <= 0.02 * attempt, waits
    (stored,) = api.status("tracking_id=PKG-1").body["updates"]
    assert stored["event_id"] == reply.body["event_id"]
    replay = api.track(update(), headers={"Idempotency-Key": "contended"})
    assert (replay.headers.get("Idempotent-Replayed"), replay.body) == ("true", reply.body)
