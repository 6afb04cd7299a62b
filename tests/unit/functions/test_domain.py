"""Domain rules of the API function: no AWS involved."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracking_api import domain
from tracking_api.errors import InvalidJson, ValidationFailed
from tracking_api.idempotency import request_hash, scoped_key
from tracking_common import table

NOW = 1_800_000_000_000
tracking_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", fullmatch=True)


def test_event_ids_are_ulids_ordered_by_time():
    earlier, later = domain.new_event_id(NOW), domain.new_event_id(NOW + 1)
    assert re.fullmatch(domain.EVENT_ID_PATTERN, earlier)
    assert earlier < later


def test_event_ids_do_not_repeat():
    assert len({domain.new_event_id(NOW) for _ in range(10_000)}) == 10_000


@given(tracking_id=tracking_ids, ts=st.integers(0, 10**13 - 1))
def test_event_sort_keys_are_valid_cursor_positions(tracking_id, ts):
    sort_key = table.event_sort_key(ts, domain.new_event_id(ts))
    scope = domain.status_scope(tracking_id)
    cursor = domain.encode_cursor(scope, sort_key)
    assert domain.decode_cursor(cursor, scope, domain.EVENT_POSITION) == sort_key


@given(a=tracking_ids, b=tracking_ids)
def test_a_cursor_is_only_accepted_by_its_own_parcel(a, b):
    sort_key = table.event_sort_key(NOW, domain.new_event_id(NOW))
    cursor = domain.encode_cursor(domain.status_scope(a), sort_key)
    if a == b:
        assert domain.decode_cursor(cursor, domain.status_scope(b), domain.EVENT_POSITION)
    else:
        with pytest.raises(ValidationFailed):
            domain.decode_cursor(cursor, domain.status_scope(b), domain.EVENT_POSITION)


@given(st.text(max_size=200))
@settings(max_examples=300)
def test_arbitrary_text_is_never_accepted_as_a_cursor_position_it_was_not(text):
    scope = domain.status_scope("P1")
    try:
        position = domain.decode_cursor(text, scope, domain.EVENT_POSITION)
    except ValidationFailed:
        return
    # Whatever decodes is a well-formed event key of this parcel's scope.
    assert domain.EVENT_POSITION.fullmatch(position)


@given(position=st.text(max_size=60))
def test_a_forged_cursor_cannot_carry_a_foreign_key(position):
    forged = domain.encode_cursor(domain.status_scope("P1"), position)
    if domain.EVENT_POSITION.fullmatch(position):
        assert domain.decode_cursor(forged, domain.status_scope("P1"), domain.EVENT_POSITION)
    else:
        with pytest.raises(ValidationFailed):
            domain.decode_cursor(forged, domain.status_scope("P1"), domain.EVENT_POSITION)


def test_cursor_reveals_no_table_internals_beyond_the_position():
    sort_key = table.event_sort_key(NOW, domain.new_event_id(NOW))
    cursor = domain.encode_cursor(domain.status_scope("P1"), sort_key)
    assert set(json.loads(__import__("base64").urlsafe_b64decode(cursor + "=="))) == {"s", "p"}
    assert table.PARTITION_KEY not in cursor


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "{", "[1,]"])
def test_non_rfc_json_is_invalid(text):
    with pytest.raises(InvalidJson):
        domain.parse_json(text)


def test_request_hash_ignores_formatting_but_not_content():
    a = request_hash(json.loads('{"b": 1, "a": [1, 2]}'))
    b = request_hash(json.loads('{ "a" : [1,2], "b":1 }'))
    c = request_hash({"a": [2, 1], "b": 1})
    assert a == b != c


@pytest.mark.parametrize("spelling", ["52", "52.0", "5.2e1", "520e-1", "52.000"])
def test_request_hash_is_one_per_json_number_whatever_its_spelling(spelling):
    same = request_hash(domain.parse_json(f'{{"lat": {spelling}, "x": "é"}}'))
    assert same == request_hash(domain.parse_json('{"x":"\\u00e9","lat":52}'))
    assert same != request_hash(domain.parse_json('{"x":"é","lat":52.5}'))


def test_idempotency_keys_are_scoped_to_caller_and_route_and_batch_keys_cannot_collide():
    track = scoped_key("accessKey:A", "POST /track", "K#0")
    assert track != scoped_key("accessKey:B", "POST /track", "K#0")  # another caller
    assert track != scoped_key("accessKey:A", "POST /track/batch", "K", 0)  # a batch item
    assert scoped_key("accessKey:A", "POST /track/batch", "K#0") != scoped_key(
        "accessKey:A", "POST /track/batch", "K", 0
    )
    assert track == scoped_key("accessKey:A", "POST /track", "K#0")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("1", True),
        ("100", True),
        ("0", False),
        ("101", False),
        ("01", True),
        (" 5", False),
        ("5.0", False),
        ("-3", False),
        ("", False),
    ],
)
def test_limit_parsing(value, ok):
    if ok:
        assert domain.parse_limit(value, 50, 100) == int(value)
    else:
        with pytest.raises(ValidationFailed):
            domain.parse_limit(value, 50, 100)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (52.123456789, 52.1234568),
        (-3.8e-165, 0.0),
        (-0.0, 0.0),
        (90.0, 90.0),
        (-179.99999996, -180.0),
        (13.4, 13.4),
    ],
)
def test_coordinates_are_kept_to_7_decimals(sent, stored):
    assert domain.coordinate(sent) == stored
    assert str(domain.coordinate(sent)) != "-0.0"


def error_of(call, *args) -> tuple[str, str, list]:
    with pytest.raises(ValidationFailed) as error:
        call(*args)
    return error.value.code, error.value.message, error.value.details


@pytest.mark.parametrize("value", [None, "", "-x", "a" * 101, "has space", "ok\n"])
def test_an_invalid_tracking_id_is_a_validation_error_naming_the_field(value):
    assert error_of(domain.require_tracking_id, value) == (
        "validation_error",
        "Query parameter tracking_id is missing or invalid.",
        [
            {
                "field": "tracking_id",
                "reason": "string_pattern_mismatch",
                "message": "Query parameter tracking_id must be a string of 1 to 100 letters, "
                "digits, '_', '.' or '-' that starts with a letter or digit.",
            }
        ],
    )


@pytest.mark.parametrize("value", ["P", "PKG-1", "a" * 100, "a.b_c-d"])
def test_a_valid_tracking_id_is_returned(value):
    assert domain.require_tracking_id(value) == value


@pytest.mark.parametrize("value", [None, "", "lost", "PENDING"])
def test_an_invalid_status_is_a_validation_error_listing_the_statuses(value):
    assert error_of(domain.require_status, value) == (
        "validation_error",
        "Query parameter status is missing or invalid.",
        [
            {
                "field": "status",
                "reason": "enum",
                "message": "Query parameter status must be one of pending, in_transit, "
                "delivered, failed.",
            }
        ],
    )


def test_a_limit_out_of_range_names_the_maximum():
    assert error_of(domain.parse_limit, "0", 50, 100) == (
        "validation_error",
        "Query parameter limit must be an integer from 1 to 100.",
        [
            {
                "field": "limit",
                "reason": "range",
                "message": "Query parameter limit must be an integer from 1 to 100.",
            }
        ],
    )


@pytest.mark.parametrize("value", ["", "a" * 129, "has space", "é", "tab\there"])
def test_a_malformed_idempotency_key_is_a_validation_error(value):
    assert error_of(domain.validate_idempotency_key, value) == (
        "validation_error",
        "Header Idempotency-Key must be 1 to 128 visible ASCII characters.",
        [
            {
                "field": "Idempotency-Key",
                "reason": "pattern",
                "message": "Idempotency-Key must be 1 to 128 visible ASCII characters "
                "('!' to '~', no spaces).",
            }
        ],
    )


@pytest.mark.parametrize("value", [None, "!", "~" * 128, "key-1"])
def test_a_valid_idempotency_key_or_none_is_returned(value):
    assert domain.validate_idempotency_key(value) == value


def test_a_foreign_cursor_is_a_validation_error_saying_what_to_use():
    cursor = domain.encode_cursor(domain.status_scope("A"), "E#0000000000001#" + "0" * 26)
    assert error_of(
        domain.decode_cursor, cursor, domain.status_scope("B"), domain.EVENT_POSITION
    ) == (
        "validation_error",
        "Query parameter cursor is not a cursor returned by this query.",
        [
            {
                "field": "cursor",
                "reason": "invalid_cursor",
                "message": "cursor must be the next_cursor of the previous page of this "
                "same query, unchanged.",
            }
        ],
    )


def test_scopes_name_their_query():
    assert domain.status_scope("P1") == "status:P1"
    assert domain.shipments_scope("pending") == "shipments:pending"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_json_constant_is_named_in_the_error(constant):
    with pytest.raises(InvalidJson, match=f"{constant} is not a JSON number"):
        domain.parse_json(f'{{"a": {constant}}}')


def test_an_event_item_has_every_attribute_in_dynamodb_form():
    item = table.event_item(
        tracking_id="P-1",
        timestamp=1_700_000_000_123,
        event_id="01ARZ3NDEKTSV4RRFFQ69G5FAV",
        status="in_transit",
        lat=52.5200001,
        lng=-0.1,
        received_at=1_700_000_000_456,
    )
    assert item == {
        table.PARTITION_KEY: {"S": "P-1"},
        table.SORT_KEY: {"S": "E#1700000000123#01ARZ3NDEKTSV4RRFFQ69G5FAV"},
        table.ATTR_EVENT_ID: {"S": "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
        table.ATTR_STATUS: {"S": "in_transit"},
        table.ATTR_TIMESTAMP: {"N": "1700000000123"},
        table.ATTR_LAT: {"N": "52.5200001"},
        table.ATTR_LNG: {"N": "-0.1"},
        table.ATTR_RECEIVED_AT: {"N": "1700000000456"},
    }
    with_metadata = table.event_item(**{**_event_fields(item), "metadata_json": '{"a":1}'})
    assert with_metadata == {**item, table.ATTR_METADATA: {"S": '{"a":1}'}}


def _event_fields(item: dict) -> dict:
    return {
        "tracking_id": item[table.PARTITION_KEY]["S"],
        "timestamp": int(item[table.ATTR_TIMESTAMP]["N"]),
        "event_id": item[table.ATTR_EVENT_ID]["S"],
        "status": item[table.ATTR_STATUS]["S"],
        "lat": float(item[table.ATTR_LAT]["N"]),
        "lng": float(item[table.ATTR_LNG]["N"]),
        "received_at": int(item[table.ATTR_RECEIVED_AT]["N"]),
    }


def test_a_request_fingerprint_is_the_same_in_every_version():
    """Idempotency records outlive a deploy: a retry that arrives after one must hash as
    the stored request did. The canonical form is compact, key-sorted UTF-8 JSON with
    integral numbers as integers (the route is part of the scoped key, not of this)."""
    canonical = '{"a":[1,2],"b":{"c":"é","d":null}}'.encode()
    payload = {"b": {"d": None, "c": "é"}, "a": [1.0, 2]}
    assert request_hash(payload) == hashlib.sha256(canonical).hexdigest()


def test_an_invalid_update_names_every_invalid_field_once_in_its_message():
    update = {
        "tracking_id": "PKG-1",
        "status": "lost",
        "location": {"lat": 91, "lng": "east"},
    }
    with pytest.raises(ValidationFailed) as failed:
        domain.validate_update(update, NOW)
    assert failed.value.message == "Invalid tracking update: location.lat, location.lng, status."
    assert [d["field"] for d in failed.value.details] == ["status", "location.lat", "location.lng"]


def test_an_error_about_the_whole_body_names_the_body():
    from pydantic import ValidationError

    from tracking_api.models import BatchRequest

    with pytest.raises(ValidationError) as invalid:
        BatchRequest.model_validate([{"tracking_id": "PKG-1"}])
    details = domain.validation_details(invalid.value)
    assert details == [
        {
            "field": "body",
            "reason": "model_type",
            "message": "body is not valid; it must be a JSON object.",
        }
    ]
    assert [d["field"] for d in domain.validation_details(invalid.value, ("x",))] == ["x"]


def test_a_cursor_needs_no_escaping_in_a_query_string():
    """next_cursor goes back as ?cursor=...: no base64 padding, only URL-safe characters
    (three scopes of lengths that cover every length modulo 3, padded or not)."""
    sort_key = table.event_sort_key(NOW, domain.new_event_id(NOW))
    for tracking_id in ("P", "PP", "PPP"):
        scope = domain.status_scope(tracking_id)
        cursor = domain.encode_cursor(scope, sort_key)
        assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor), cursor
        assert domain.decode_cursor(cursor, scope, domain.EVENT_POSITION) == sort_key


def test_an_event_id_is_a_ulid_carrying_its_millisecond():
    """The ULID layout (ulid/spec): 48 bits of milliseconds, then 80 random bits, in
    Crockford's base32; any ULID tool reads the time back."""
    crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    ids = {domain.new_event_id(NOW) for _ in range(20)}
    assert len(ids) == 20
    for event_id in ids:
        assert len(event_id) == 26 and set(event_id) <= set(crockford), event_id
        value = 0
        for char in event_id:
            value = value * 32 + crockford.index(char)
        assert value >> 80 == NOW, event_id


def test_a_body_that_is_not_an_object_is_refused_saying_so():
    for body in ([], "text", 3, None):
        with pytest.raises(ValidationFailed) as failed:
            domain.validate_update(body, NOW, ("updates", 2))
        assert failed.value.message == "The request body must be a JSON object."
        assert failed.value.details == [
            {
                "field": "updates.2",
                "reason": "object_type",
                "message": "updates.2 is not valid; it must be a JSON object.",
            }
        ]
    with pytest.raises(ValidationFailed) as failed:
        domain.validate_update([], NOW)
    assert [d["field"] for d in failed.value.details] == ["body"]


VALID = {"tracking_id": "PKG-1", "status": "in_transit", "location": {"lat": 1.5, "lng": 2.5}}


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (-domain.MAX_PAST_MS - 1, False),
        (-domain.MAX_PAST_MS, True),  # exactly 30 days old
        (domain.MAX_FUTURE_MS, True),  # exactly 5 minutes ahead
        (domain.MAX_FUTURE_MS + 1, False),
    ],
)
def test_a_timestamp_is_accepted_up_to_exactly_each_limit(offset, ok):
    update = {**VALID, "timestamp": NOW + offset}
    if ok:
        assert domain.validate_update(update, NOW).timestamp == NOW + offset
    else:
        with pytest.raises(ValidationFailed) as failed:
            domain.validate_update(update, NOW, ("updates", 0))
        assert failed.value.message == "Invalid tracking update: timestamp."
        assert failed.value.details == [
            {
                "field": "updates.0.timestamp",
                "reason": "timestamp_out_of_range",
                "message": "updates.0.timestamp is not valid; it must be an integer number "
                "of epoch milliseconds within the last 30 days and at most 5 minutes ahead.",
            }
        ]


def test_a_valid_update_is_checked_without_pydantic():
    """The fast path (fastcheck) for a valid body: pydantic's model is for invalid ones."""
    update = domain.validate_update(VALID, NOW)
    assert type(update) is domain.Update
    assert (update.tracking_id, update.status, update.location) == (
        "PKG-1",
        "in_transit",
        domain.Point(1.5, 2.5),
    )
