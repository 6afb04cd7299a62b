"""Hostile and odd input against the domain rules (issue 22): numbers that do not fit
the store, sizes in bytes, bounded cursors, strict flags, sentences as messages."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from tracking_api import domain, jsonvalues, messages
from tracking_api.contract import MAX_METADATA_BYTES, metadata_size
from tracking_api.errors import ValidationFailed
from tracking_common.runtime_config import FeatureFlags

NOW = 1_700_000_000_000
VALID = {"tracking_id": "PKG-1", "status": "in_transit", "location": {"lat": 1.5, "lng": 2.5}}


def failure(payload_text: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as failed:
        domain.validate_update(domain.parse_json(payload_text), NOW)
    return failed.value


# ---- item 1: every number accepted is finite and fits DynamoDB ---------------------


@pytest.mark.parametrize(
    ("number", "field"),
    [
        ("1e400", "metadata.w"),  # parses as infinity
        ("-1e400", "metadata.w"),
        ("1e-400", "metadata.w"),  # would silently become 0
        ("1e126", "metadata.w"),  # DynamoDB's magnitude ends below 1E+126
        ("1e-131", "metadata.w"),
        ("123456789012345678901234567890123456789", "metadata.w"),  # 39 digits
    ],
)
def test_a_number_the_store_cannot_hold_is_a_validation_error_naming_its_field(number, field):
    error = failure(
        '{"tracking_id":"P","status":"pending","location":{"lat":1,"lng":2},'
        f'"metadata":{{"w":{number}}}}}'
    )
    assert error.code == "validation_error"
    assert [d["field"] for d in error.details] == [field]
    assert error.details[0]["reason"] == "number_not_storable"
    assert "38 significant digits" in error.details[0]["message"]


def test_an_infinite_coordinate_is_refused_as_out_of_range():
    error = failure('{"tracking_id":"P","status":"pending","location":{"lat":1e400,"lng":2}}')
    assert [d["field"] for d in error.details] == ["location.lat"]


@pytest.mark.parametrize(
    "number", ["0", "-0.0", "1e125", "1e-130", "12345678901234567890123456789012345678", "1e40"]
)
def test_numbers_the_store_holds_are_accepted(number):
    text = json.dumps(VALID)[:-1] + f', "metadata": {{"n": {number}}}}}'
    update = domain.validate_update(domain.parse_json(text), NOW)
    assert update.metadata == {"n": json.loads(number)}


def test_a_response_is_never_written_with_nan_or_infinity():
    with pytest.raises(ValueError):
        jsonvalues.dumps({"w": float("inf")})
    assert jsonvalues.dumps({"w": 1.5}) == '{"w":1.5}'


def test_stored_json_from_before_the_check_reads_as_strict_json():
    """An item stored before numbers were checked may hold Infinity: it reads as null."""
    value = jsonvalues.loads_stored('{"w":Infinity,"x":1e400,"y":NaN,"z":[1.5]}')
    assert value == {"w": None, "x": None, "y": None, "z": [1.5]}
    json.loads(jsonvalues.dumps(value))


# ---- item 6: metadata is limited in UTF-8 bytes ------------------------------------


def test_metadata_size_counts_utf8_bytes_not_ascii_escapes():
    text = "é" * 3000  # 6,000 bytes of UTF-8; 18,000 as \\u00e9 escapes
    assert metadata_size({"t": text}) == len('{"t":""}') + 6000
    update = {**VALID, "metadata": {"t": text}}
    assert domain.validate_update(update, NOW).metadata == {"t": text}


def test_metadata_one_byte_over_the_limit_is_refused_at_both_checks():
    filler = "x" * (MAX_METADATA_BYTES - len('{"t":""}') - 1)
    at_limit = {"t": filler + "é"[:0] + "y"}
    assert metadata_size(at_limit) == MAX_METADATA_BYTES
    assert domain.validate_update({**VALID, "metadata": at_limit}, NOW)
    over = {"t": filler + "é"}  # é is two bytes: one over
    assert metadata_size(over) == MAX_METADATA_BYTES + 1
    with pytest.raises(ValidationFailed) as failed:
        domain.validate_update({**VALID, "metadata": over}, NOW)
    assert [d["field"] for d in failed.value.details] == ["metadata"]


# ---- item 7: cursors -----------------------------------------------------------------


def _cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 50_000 + b"]" * 50_000,  # deeply nested array
        b'{"s":' * 20_000 + b"1" + b"}" * 20_000,  # deeply nested object
        b"[" * 300 + b"]" * 300,  # nested, but short
        json.dumps({"s": "status:P", "p": "x" * 1000}).encode(),  # too long
    ],
)
def test_a_cursor_the_api_did_not_issue_is_a_validation_error_whatever_it_holds(raw):
    with pytest.raises(ValidationFailed) as failed:
        domain.decode_cursor(_cursor_of(raw), domain.status_scope("P"), domain.EVENT_POSITION)
    assert failed.value.details[0]["field"] == "cursor"


def test_every_cursor_the_api_issues_fits_the_bound():
    longest = domain.encode_cursor(domain.status_scope("P" * 100), "E#" + "9" * 13 + "#" + "Z" * 26)
    assert len(longest) <= domain.MAX_CURSOR_LENGTH
    assert domain.decode_cursor(longest, domain.status_scope("P" * 100), domain.EVENT_POSITION)


# ---- item 8: flags parse strictly ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("FALSE", False),
        ("False", False),
        ("TRUE", True),
    ],
)
def test_a_flag_is_a_json_boolean_or_the_string_true_or_false(value, expected):
    assert FeatureFlags.from_mapping({"batch_processing": value}).batch_processing is expected


@pytest.mark.parametrize("value", ["yes", "0", 1, 0, None, "", [], {"on": True}])
def test_any_other_flag_value_keeps_the_default_with_one_warning_naming_it(value, caplog):
    with caplog.at_level(logging.WARNING):
        flags = FeatureFlags.from_mapping({"enhanced_tracking": value, "batch_processing": True})
    assert flags.enhanced_tracking is FeatureFlags().enhanced_tracking
    assert flags.batch_processing is True
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "enhanced_tracking" in warnings[0].getMessage()


# ---- item 9: messages are sentences in the API's own words ---------------------------

LIBRARY_WORDS = ("Input should", "is not of type", "Value error", "Field required", "'12'")


@pytest.mark.parametrize(
    ("body", "field", "wording"),
    [
        (
            '{"tracking_id":"P","status":"pending","location":{"lat":"12","lng":2}}',
            "location.lat",
            "location.lat is not valid; it must be a number from -90 to 90.",
        ),
        (
            '{"tracking_id":"P","status":"lost","location":{"lat":1,"lng":2}}',
            "status",
            "status is not valid; it must be one of pending, in_transit, delivered, failed.",
        ),
        (
            '{"status":"pending","location":{"lat":1,"lng":2}}',
            "tracking_id",
            "tracking_id is required; it must be a string of 1 to 100 letters",
        ),
        (
            '{"tracking_id":"P","status":"pending","location":{"lat":1,"lng":2},"colour":1}',
            "colour",
            "colour is not an allowed field; a tracking update has only tracking_id",
        ),
        (
            '{"tracking_id":"P","status":"pending","location":{"lat":1,"lng":2,"alt":3}}',
            "location.alt",
            "location.alt is not an allowed field; location has only lat and lng.",
        ),
    ],
)
def test_each_detail_says_the_field_what_is_wrong_and_what_is_allowed(body, field, wording):
    (detail,) = [d for d in failure(body).details if d["field"] == field]
    assert detail["message"].startswith(wording), detail
    assert not any(word in detail["message"] for word in LIBRARY_WORDS), detail


def test_a_batch_item_is_described_by_the_rules_of_an_update():
    assert messages.message("updates.3.location.lng", messages.INVALID) == (
        "updates.3.location.lng is not valid; it must be a number from -180 to 180."
    )


def test_the_messages_know_the_batch_size_of_the_models():
    from tracking_api.models import MAX_BATCH_SIZE

    assert messages.MAX_BATCH_ITEMS == MAX_BATCH_SIZE


def test_a_json_syntax_error_names_the_place_not_the_parser():
    with pytest.raises(domain.InvalidJson) as invalid:
        domain.parse_json('{"a": 1,,}')
    assert invalid.value.message == "The request body is not valid JSON (line 1, column 9)."


@pytest.mark.parametrize(
    "body",
    [
        {"tracking_id": "P", "status": "pending", "location": {"lat": "12", "lng": 2}},
        {"tracking_id": "P", "status": "lost", "location": {"lat": 1, "lng": 2}},
        {"status": "pending", "location": {"lat": 1, "lng": 2}},
        {"tracking_id": "P", "status": "pending", "location": {"lat": 1, "lng": 2}, "x": 1},
        {"tracking_id": "P", "status": "pending", "location": {"lat": 1}},
    ],
)
def test_the_local_gateway_and_the_function_give_the_same_sentences(body):
    from tracking_ops.local import gateway

    rejection = gateway.check_request("POST", "/track", {}, "application/json", json.dumps(body))
    assert rejection is not None and rejection.code == "validation_error"
    with pytest.raises(ValidationFailed) as failed:
        domain.validate_update(body, NOW)
    by_field = {d["field"]: d["message"] for d in failed.value.details}
    assert {d["field"]: d["message"] for d in rejection.details} == by_field
    assert not any(word in m for m in by_field.values() for word in LIBRARY_WORDS)


def test_the_gateway_checks_only_the_batch_envelope():
    from tracking_ops.local import gateway

    def check(body):
        return gateway.check_request(
            "POST", "/track/batch", {}, "application/json", json.dumps(body)
        )

    assert check({"updates": [42, "x", {"tracking_id": "P"}]}) is None  # per item: the function
    for body in ({"updates": []}, {"updates": [1] * 26}, {"updates": 1}, {}):
        rejection = check(body)
        assert rejection is not None and rejection.status == 400, body
