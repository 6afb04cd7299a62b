"""POST /track against the real handler and moto (DESIGN.md section 3)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import now_ms, update
from tracking_common import table

DAY_MS = 24 * 3600 * 1000


def test_valid_update_is_created_with_server_assigned_event_id(api):
    reply = api.track(update(metadata={"scanner": "A7"}))

    assert reply.status == 201
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.body
    assert body["tracking_id"] == "PKG-1"
    assert body["status"] == "in_transit"
    assert body["location"] == {"lat": 52.52, "lng": 13.40}
    assert body["metadata"] == {"scanner": "A7"}
    assert len(body["event_id"]) == 26
    assert abs(body["timestamp"] - now_ms()) < 60_000


def test_event_ids_are_unique(api):
    ids = {api.track(update()).body["event_id"] for _ in range(20)}
    assert len(ids) == 20


def test_explicit_timestamp_is_kept(api):
    ts = now_ms() - 3600_000
    assert api.track(update(timestamp=ts)).body["timestamp"] == ts


def test_response_omits_metadata_when_not_sent(api):
    assert "metadata" not in api.track(update()).body


@pytest.mark.parametrize("raw", ["{not json", "", "   ", '{"a": NaN}', '{"a": Infinity}', "\x00"])
def test_body_that_is_not_json_is_400_invalid_json(api, raw):
    reply = api.request("POST", "/track", raw=raw)
    assert (reply.status, reply.error_code) == (400, "invalid_json")
    assert reply.body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (update(tracking_id="-starts-with-dash"), "tracking_id"),
        (update(tracking_id="a" * 101), "tracking_id"),
        (update(tracking_id="has space"), "tracking_id"),
        (update(tracking_id="ok\n"), "tracking_id"),
        (update(status="lost"), "status"),
        (update(lat=90.01), "location.lat"),
        (update(lat=-90.01), "location.lat"),
        (update(lng=180.5), "location.lng"),
        (
            {"tracking_id": "P", "status": "pending", "location": {"lat": "12", "lng": 1}},
            "location.lat",
        ),
        (
            {"tracking_id": "P", "status": "pending", "location": {"lat": True, "lng": 1}},
            "location.lat",
        ),
        ({"tracking_id": "P", "status": "pending", "location": {"lat": 1}}, "location.lng"),
        (
            {"tracking_id": "P", "status": "pending", "location": {"lat": 1, "lng": 2, "alt": 3}},
            "location.alt",
        ),
        ({"status": "pending", "location": {"lat": 1, "lng": 2}}, "tracking_id"),
        (update(unknown_field=1), "unknown_field"),
        (update(metadata="not an object"), "metadata"),
        (update(metadata=None), "metadata"),
        (update(metadata={"blob": "x" * 8200}), "metadata"),
        (update(timestamp="1700000000000"), "timestamp"),
        (update(timestamp=1.5), "timestamp"),
        (update(timestamp=True), "timestamp"),
        ([update()], "body"),
    ],
)
def test_schema_violation_is_400_naming_the_field(api, body, field):
    reply = api.track(body)

    assert reply.status == 400
    assert reply.error_code == "validation_error"
    assert field in {d["field"] for d in reply.body["error"]["details"]}
    assert field in reply.body["error"]["message"] or field == "body"


@pytest.mark.parametrize("offset_ms", [-31 * DAY_MS, 6 * 60 * 1000])
def test_timestamp_outside_the_window_is_400(api, offset_ms):
    reply = api.track(
        update(timestamp=now_ms() + offset_ms)
    )  # the window moves: now, not at import
    assert (reply.status, reply.error_code) == (400, "validation_error")
    assert reply.body["error"]["details"][0]["reason"] == "timestamp_out_of_range"


def test_metadata_just_under_8_kib_is_accepted(api):
    metadata = {"blob": "x" * (8 * 1024 - 20)}
    assert len(json.dumps(metadata, separators=(",", ":"))) <= 8 * 1024
    assert api.track(update(metadata=metadata)).status == 201


def test_timestamp_at_window_edges_is_accepted(api):
    assert api.track(update(timestamp=now_ms() - 30 * DAY_MS + 60_000)).status == 201
    assert api.track(update(timestamp=now_ms() + 4 * 60 * 1000)).status == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_non_json_content_type_is_415(api, content_type):
    reply = api.request("POST", "/track", body=update(), content_type=content_type)
    assert (reply.status, reply.error_code) == (415, "unsupported_media_type")


def test_json_content_type_with_charset_is_accepted(api):
    reply = api.request(
        "POST", "/track", body=update(), content_type="application/json; charset=utf-8"
    )
    assert reply.status == 201


def test_body_over_max_request_size_is_413_and_nothing_stored(api):
    big = update(metadata={"pad": "x" * (64 * 1024)})

    reply = api.track(big)

    assert (reply.status, reply.error_code) == (413, "payload_too_large")
    assert api.status("tracking_id=PKG-1").status == 404


MAX_REQUEST_SIZE = 64 * 1024  # every env's API config (DESIGN.md section 3)


def body_of_exactly(size: int) -> str:
    """A valid update padded with JSON whitespace to exactly ``size`` bytes."""
    text = json.dumps(update())
    return text + " " * (size - len(text.encode()))


@pytest.mark.parametrize(
    ("size", "expected"), [(MAX_REQUEST_SIZE, 201), (MAX_REQUEST_SIZE + 1, 413)]
)
def test_the_size_limit_admits_a_body_of_exactly_the_limit(api, size, expected):
    raw = body_of_exactly(size)
    assert len(raw.encode()) == size

    reply = api.request("POST", "/track", raw=raw)

    assert reply.status == expected, reply.body
    if expected == 413:
        assert reply.error_code == "payload_too_large"
        assert str(MAX_REQUEST_SIZE) in reply.body["error"]["message"]


def test_the_size_limit_counts_bytes_not_characters(api):
    # 2-byte UTF-8 characters: under the limit in characters, over it in bytes.
    text = json.dumps(update(metadata={"note": "é" * 100}), ensure_ascii=False)
    raw = text + " " * (MAX_REQUEST_SIZE - len(text) + 1 - 100)
    assert len(raw) <= MAX_REQUEST_SIZE < len(raw.encode())
    assert api.request("POST", "/track", raw=raw).status == 413


def test_base64_encoded_body_is_decoded(api):
    import base64

    from tracking_ops.local import proxy

    event = proxy.proxy_event(
        "POST", "/track", headers={"Content-Type": "application/json"}, body=json.dumps(update())
    )
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    status, _, _ = proxy.decode_response(api.handler(event, proxy.LambdaContext()))
    assert status == 201


def test_warm_update_is_one_aws_call(api):
    from tests.functional.calls import count_aws_calls

    api.track(update(tracking_id="warm-up"))
    with count_aws_calls() as calls:
        assert api.track(update()).status == 201
    assert calls == ["DynamoDB.TransactWriteItems"]


def test_two_updates_with_the_same_timestamp_are_both_stored(api):
    ts = now_ms() - 1000
    first = api.track(update(status="in_transit", timestamp=ts)).body
    second = api.track(update(status="delivered", timestamp=ts)).body

    history = api.status("tracking_id=PKG-1").body["updates"]

    assert {u["event_id"] for u in history} == {first["event_id"], second["event_id"]}


class TestIdempotency:
    def test_retry_with_same_key_and_body_replays_and_stores_once(self, api):
        key = {"Idempotency-Key": "retry-1"}
        first = api.track(update(), headers=key)
        again = api.track(update(), headers=key)

        assert first.status == again.status == 201
        assert again.body == first.body
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert len(api.status("tracking_id=PKG-1").body["updates"]) == 1

    def test_same_key_with_different_body_is_422(self, api):
        key = {"Idempotency-Key": "retry-2"}
        api.track(update(status="pending"), headers=key)

        reply = api.track(update(status="delivered"), headers=key)

        assert (reply.status, reply.error_code) == (422, "idempotency_key_reused")
        assert reply.body["error"]["message"] == (
            "This Idempotency-Key was used with a different request body."
        )
        assert len(api.status("tracking_id=PKG-1").body["updates"]) == 1

    def test_same_json_formatted_differently_is_the_same_request(self, api):
        key = {"Idempotency-Key": "retry-3"}
        api.request("POST", "/track", raw=json.dumps(update()), headers=key)
        reply = api.request("POST", "/track", raw=json.dumps(update(), indent=4), headers=key)
        assert reply.headers.get("Idempotent-Replayed") == "true"

    @pytest.mark.parametrize("key", ["", "a" * 129, "has space", "tab\there", "é"])
    def test_malformed_key_is_400_and_nothing_stored(self, api, key):
        reply = api.track(update(), headers={"Idempotency-Key": key})
        assert (reply.status, reply.error_code) == (400, "validation_error")
        assert api.status("tracking_id=PKG-1").status == 404

    def test_keys_of_128_visible_characters_are_accepted(self, api):
        assert api.track(update(), headers={"Idempotency-Key": "~" * 128}).status == 201

    @pytest.mark.parametrize("same_body", [True, False])
    def test_an_expired_key_that_ttl_has_not_deleted_yet_is_free_again(
        self, api, monkeypatch, same_body
    ):
        """DynamoDB's TTL deletes expired items up to days late: until then the record
        is still there, and the key must behave as never used (a new update is stored)."""
        from tracking_api import api as api_module

        key = {"Idempotency-Key": "expired"}
        ttl_ms = api_module.settings_loader().get().api.idempotency_ttl_seconds * 1000
        first_received = now_ms() - ttl_ms - 60_000  # the key expired a minute ago
        monkeypatch.setattr(api_module, "now_ms", lambda: first_received)
        first = api.track(update(), headers=key)
        assert first.status == 201
        monkeypatch.undo()
        body = update() if same_body else update(status="pending")

        again = api.track(body, headers=key)

        assert again.status == 201, again.body
        assert "Idempotent-Replayed" not in again.headers
        assert again.body["event_id"] != first.body["event_id"]
        updates = api.status("tracking_id=PKG-1").body["updates"]
        assert {u["event_id"] for u in updates} == {first.body["event_id"], again.body["event_id"]}
        # ...and the key now protects the new update: a retry replays it.
        replay = api.track(body, headers=key)
        assert replay.headers.get("Idempotent-Replayed") == "true"
        assert replay.body == again.body

    def test_a_key_just_before_expiry_still_replays(self, api, monkeypatch):
        from tracking_api import api as api_module

        key = {"Idempotency-Key": "nearly-expired"}
        ttl_ms = api_module.settings_loader().get().api.idempotency_ttl_seconds * 1000
        received = now_ms() - ttl_ms + 120_000  # two minutes of life left
        monkeypatch.setattr(api_module, "now_ms", lambda: received)
        first = api.track(update(), headers=key)
        monkeypatch.undo()

        again = api.track(update(), headers=key)

        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.body == first.body
        assert len(api.status("tracking_id=PKG-1").body["updates"]) == 1

    def test_a_key_deleted_by_ttl_between_the_write_and_the_read_is_used_anew(
        self, api, aws, monkeypatch
    ):
        """The write finds the key taken; before the repository reads the record, TTL
        deletes it. The key is free: the next attempt stores the update, once."""
        from tracking_api.repository import TrackingRepository, scoped_key

        key = {"Idempotency-Key": "vanishing"}
        first = api.track(update(), headers=key)
        read = TrackingRepository.get_idempotency
        reads: list[str] = []

        def deleted_on_first_read(repository, key_value, now_s):
            if not reads:
                aws.client("dynamodb").delete_item(
                    TableName=repository.table_name,
                    Key={
                        table.PARTITION_KEY: {"S": table.idempotency_partition_key(key_value)},
                        table.SORT_KEY: {"S": table.IDEMPOTENCY_SORT_KEY},
                    },
                )
            reads.append(key_value)
            return read(repository, key_value, now_s)

        monkeypatch.setattr(TrackingRepository, "get_idempotency", deleted_on_first_read)

        again = api.track(update(status="pending"), headers=key)

        assert again.status == 201, again.body
        assert "Idempotent-Replayed" not in again.headers
        assert reads == [scoped_key("anonymous", "POST /track", "vanishing")]
        updates = api.status("tracking_id=PKG-1").body["updates"]
        assert {u["event_id"] for u in updates} == {first.body["event_id"], again.body["event_id"]}

    @pytest.mark.parametrize("ms_into_the_second", [0, 999])
    def test_a_key_replays_through_the_second_it_expires_at(
        self, api, monkeypatch, ms_into_the_second
    ):
        """expires_at is a whole second (DynamoDB TTL's unit); the key is taken until that
        second has passed, by the write's condition and by the read alike."""
        from tracking_api import api as api_module

        key = {"Idempotency-Key": "last-second"}
        ttl_s = api_module.settings_loader().get().api.idempotency_ttl_seconds
        first_received = (now_ms() // 1000 - ttl_s - 5) * 1000
        monkeypatch.setattr(api_module, "now_ms", lambda: first_received)
        first = api.track(update(), headers=key)
        expires_at_ms = first_received + ttl_s * 1000
        monkeypatch.setattr(api_module, "now_ms", lambda: expires_at_ms + ms_into_the_second)

        again = api.track(update(), headers=key)

        assert again.headers.get("Idempotent-Replayed") == "true", again.body
        assert again.body == first.body
        # One second later the key is free.
        monkeypatch.setattr(api_module, "now_ms", lambda: expires_at_ms + 1000)
        fresh = api.track(update(), headers=key)
        assert fresh.status == 201
        assert "Idempotent-Replayed" not in fresh.headers

    def test_replay_costs_one_cancelled_transaction_and_one_read(self, api):
        from tests.functional.calls import count_aws_calls

        key = {"Idempotency-Key": "calls"}
        api.track(update(), headers=key)
        with count_aws_calls() as calls:
            api.track(update(), headers=key)
        assert calls == ["DynamoDB.TransactWriteItems", "DynamoDB.GetItem"]


def test_tiny_coordinates_are_stored_as_zero_not_a_server_error(api):
    # Found by fuzzing: DynamoDB cannot store magnitudes below 1e-130.
    reply = api.track(update(lat=-3.810321765501375e-165, lng=163.21705822350591))
    assert reply.status == 201
    assert reply.body["location"] == {"lat": 0.0, "lng": 163.2170582}
    assert api.status("tracking_id=PKG-1").body["location"] == reply.body["location"]


def base64_request(api, data: bytes):
    """POST /track with a body API Gateway passed base64-encoded (any bytes at all)."""
    import base64

    from tests.conftest import Reply
    from tracking_ops.local import proxy

    event = proxy.proxy_event("POST", "/track", headers={"Content-Type": "application/json"})
    event.update(body=base64.b64encode(data).decode(), isBase64Encoded=True)
    return Reply(*proxy.decode_response(api.handler(event, proxy.LambdaContext())))


@pytest.mark.parametrize(
    ("send", "status", "code", "message"),
    [
        (
            lambda api: api.track(update(), content_type="text/plain"),
            415,
            "unsupported_media_type",
            "Content-Type must be application/json.",
        ),
        (
            lambda api: api.request("POST", "/track", raw="  "),
            400,
            "invalid_json",
            "The request body is empty; a JSON object is required.",
        ),
        (
            lambda api: base64_request(api, b'{"tracking_id": "\xff"}'),
            400,
            "invalid_json",
            "The request body is not UTF-8 encoded JSON.",
        ),
    ],
    ids=["media-type", "empty", "not-utf-8"],
)
def test_a_refused_body_says_why(api, send, status, code, message):
    reply = send(api)
    assert (reply.status, reply.error_code, reply.body["error"]["message"]) == (
        status,
        code,
        message,
    )


def test_replies_are_compact_json(api):
    created = api.track(update())
    refused = api.request("POST", "/track", raw="{")
    for reply in (created, refused):
        assert reply.raw == json.dumps(reply.body, separators=(",", ":")).encode()


def test_a_text_body_with_a_lone_surrogate_is_invalid_json_not_a_server_error(api):
    """An event's JSON may carry "\\udcff" (the Lambda runtime's parser keeps it): its
    body is then not UTF-8, which the contract answers 400 invalid_json."""
    from tests.conftest import Reply
    from tracking_api.messages import NOT_UTF8
    from tracking_ops.local import proxy

    event = proxy.proxy_event("POST", "/track", headers={"Content-Type": "application/json"})
    event["body"] = json.dumps(update(metadata={"note": "\udcff"}), ensure_ascii=False)
    reply = Reply(*proxy.decode_response(api.handler(event, proxy.LambdaContext())))
    assert (reply.status, reply.body["error"]) == (
        400,
        {"code": "invalid_json", "message": NOT_UTF8},
    )
