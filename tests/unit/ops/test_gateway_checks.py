"""The local gateway's request checks (issue 28): API Gateway's body limit, route
lookup, required query parameters, the draft-4 body model and its sentences, and the
rejection's body, each with its exact status, code, message and details."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.helpers import update
from tracking_api import messages
from tracking_api.errors import InvalidJson
from tracking_ops.local import gateway
from tracking_stacks.definitions import UNKNOWN_ROUTE_RESPONSE

JSON = gateway.JSON_TYPE


def track(body, content_type: str = JSON, path: str = "/track"):
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return gateway.check_request("POST", path, {}, content_type, raw)


def detail(field: str, reason: str, kind: str) -> dict[str, str]:
    return {"field": field, "reason": reason, "message": messages.message(field, kind)}


def as_tuple(rejection: gateway.GatewayRejection) -> tuple:
    return (rejection.status, rejection.code, rejection.message, rejection.details)


# The body limit, checked before anything else.


def test_a_body_at_the_gateway_limit_goes_on_to_the_route():
    body = b"x" * gateway.API_GATEWAY_MAX_BODY
    assert gateway.check_request("GET", "/health", {}, "", body) is None


def test_a_body_over_the_gateway_limit_is_413_request_too_long_on_any_route():
    body = b"x" * (gateway.API_GATEWAY_MAX_BODY + 1)
    for method, path in (("GET", "/health"), ("GET", "/nope")):
        rejection = gateway.check_request(method, path, {}, JSON, body)
        assert as_tuple(rejection) == (413, "payload_too_large", "Request Too Long", None)
        assert (
            rejection.body()
            == b'{"error":{"code":"payload_too_large","message":"Request Too Long"}}'
        )


# Route lookup: method and path together.


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/track"), ("POST", "/health"), ("GET", "/x")]
)
def test_a_method_and_path_the_api_lacks_is_the_unknown_route_response(method, path):
    rejection = gateway.check_request(method, path, {}, JSON, b"")
    spec = UNKNOWN_ROUTE_RESPONSE
    assert as_tuple(rejection) == (int(spec.status), spec.code, spec.message, None)
    assert as_tuple(gateway.unknown_route()) == as_tuple(rejection)


# Required query parameters.


def test_a_missing_required_query_parameter_is_named_in_message_and_details():
    for query in ({}, {"tracking_id": []}, {"limit": ["5"]}):
        rejection = gateway.check_request("GET", "/status", query, "", b"")
        assert as_tuple(rejection) == (
            400,
            "validation_error",
            "Missing required request parameters: [tracking_id]",
            [
                {
                    "field": "tracking_id",
                    "reason": "missing",
                    "message": "Query parameter tracking_id is required.",
                }
            ],
        )
    shipments = gateway.check_request("GET", "/shipments", {"limit": ["5"]}, "", b"")
    assert shipments.message == "Missing required request parameters: [status]"
    assert shipments.body() == (
        b'{"error":{"code":"validation_error","message":"Missing required request '
        b'parameters: [status]","details":[{"field":"status","reason":"missing",'
        b'"message":"Query parameter status is required."}]}}'
    )


def test_the_required_parameters_present_pass_and_optional_ones_are_not_required():
    assert gateway.check_request("GET", "/status", {"tracking_id": ["P"]}, "", b"") is None
    assert gateway.check_request("GET", "/shipments", {"status": ["pending"]}, "", b"") is None


def test_every_missing_parameter_is_listed_in_the_routes_order(monkeypatch):
    route = {
        "method": "GET",
        "path": "/two",
        "body": None,
        "query": (("a", True, ""), ("b", True, ""), ("c", False, "")),
    }
    monkeypatch.setitem(gateway._ROUTES, ("GET", "/two"), route)
    rejection = gateway.check_request("GET", "/two", {"c": ["1"]}, "", b"")
    assert rejection.message == "Missing required request parameters: [a, b]"
    assert [d["field"] for d in rejection.details] == ["a", "b"]
    only_b = gateway.check_request("GET", "/two", {"a": ["1"]}, "", b"")
    assert only_b.message == "Missing required request parameters: [b]"


# Which bodies the model judges.


def test_a_route_without_a_model_passes_any_body():
    assert gateway.check_request("GET", "/health", {}, JSON, b"{not json") is None


@pytest.mark.parametrize(
    "content_type", ["text/plain", "", "application/jsonx", "application/x-json"]
)
def test_a_media_type_other_than_json_is_left_to_the_function(content_type):
    assert track({"x": 1}, content_type) is None


@pytest.mark.parametrize(
    "content_type",
    [JSON, "Application/JSON", " application/json ; charset=utf-8", "APPLICATION/JSON;x=y"],
)
def test_json_with_parameters_or_in_any_case_is_checked_against_the_model(content_type):
    rejection = track({"x": 1}, content_type)
    assert rejection is not None and rejection.status == 400


def test_a_body_that_is_not_utf8_is_invalid_json_with_the_functions_sentence():
    rejection = track(b'{"tracking_id": "\xff"}')
    assert as_tuple(rejection) == (InvalidJson.status, InvalidJson.code, messages.NOT_UTF8, None)
    assert as_tuple(rejection) == (400, "invalid_json", messages.NOT_UTF8, None)


def test_utf16_json_is_refused_not_decoded():
    rejection = track(json.dumps(update()).encode("utf-16"))
    assert (rejection.code, rejection.message) == ("invalid_json", messages.NOT_UTF8)


def test_a_valid_body_passes_as_bytes_and_as_text():
    assert track(json.dumps(update()).encode()) is None
    assert track(json.dumps(update())) is None
    assert track(json.dumps(update(metadata={"note": "café"}), ensure_ascii=False).encode()) is None


@pytest.mark.parametrize("body", [b"{not json", b"[1,", "[" * 100_000 + "]" * 100_000])
def test_json_that_does_not_parse_is_left_to_the_function(body):
    """API Gateway's own 400 for it; the contract's invalid_json comes from the function."""
    assert track(body) is None


def test_an_empty_body_is_judged_as_null_not_an_object():
    for body in (b"", ""):
        rejection = track(body)
        assert as_tuple(rejection) == (
            400,
            "validation_error",
            "Invalid request body: body.",
            [detail("body", "type", messages.INVALID)],
        )


# The model's errors, in the function's sentences.


def test_missing_properties_are_each_named_in_the_models_order():
    rejection = track({"location": {"lat": 1, "lng": 2}})
    assert as_tuple(rejection) == (
        400,
        "validation_error",
        "Invalid request body: status, tracking_id.",
        [
            detail("tracking_id", "required", messages.MISSING),
            detail("status", "required", messages.MISSING),
        ],
    )


def test_a_missing_nested_property_is_named_with_its_parent():
    rejection = track(update() | {"location": {"lat": 1}})
    assert as_tuple(rejection) == (
        400,
        "validation_error",
        "Invalid request body: location.lng.",
        [detail("location.lng", "required", messages.MISSING)],
    )


def test_unknown_properties_are_named_sorted_at_the_top_and_nested():
    top = track(update(zeta=1, alpha=2))
    assert top.details == [
        detail("alpha", "additionalProperties", messages.UNKNOWN),
        detail("zeta", "additionalProperties", messages.UNKNOWN),
    ]
    assert top.message == "Invalid request body: alpha, zeta."
    nested = track(update() | {"location": {"lat": 1, "lng": 2, "z": 0, "b": 0}})
    assert nested.details == [
        detail("location.b", "additionalProperties", messages.UNKNOWN),
        detail("location.z", "additionalProperties", messages.UNKNOWN),
    ]
    assert nested.message == "Invalid request body: location.b, location.z."


def test_an_invalid_value_is_its_field_and_the_validators_name():
    rejection = track(update() | {"location": {"lat": "12", "lng": 2}})
    assert as_tuple(rejection) == (
        400,
        "validation_error",
        "Invalid request body: location.lat.",
        [detail("location.lat", "type", messages.INVALID)],
    )
    status = track(update(status="lost"))
    assert status.details == [detail("status", "enum", messages.INVALID)]


def test_details_follow_the_fields_path_order_and_the_message_lists_each_field_once():
    """iter_errors gives status (the model's order) before location's errors: sorted by
    the error's path, an object's unknown property before its members' errors."""
    rejection = track(
        {"tracking_id": "P", "status": "lost", "location": {"lat": "1", "lng": 2, "q": 1}}
    )
    assert rejection.details == [
        detail("location.q", "additionalProperties", messages.UNKNOWN),
        detail("location.lat", "type", messages.INVALID),
        detail("status", "enum", messages.INVALID),
    ]
    assert rejection.message == "Invalid request body: location.lat, location.q, status."
    twice = track(update(status=1))  # enum and type: two errors, one field (the first kept)
    assert twice.details == [detail("status", "enum", messages.INVALID)]
    assert twice.message == "Invalid request body: status."


def test_at_most_twenty_details():
    names = [f"extra{n:02d}" for n in range(25)]
    rejection = track(update(**dict.fromkeys(names, 1)))
    assert rejection.details == [
        detail(name, "additionalProperties", messages.UNKNOWN) for name in names[:20]
    ]
    assert rejection.message == f"Invalid request body: {', '.join(names[:20])}."
    exactly = track(update(**dict.fromkeys(names[:20], 1)))
    assert len(exactly.details) == 20


def test_the_batch_envelope_is_checked_with_its_own_model():
    rejection = track({"updates": [], "x": 1}, path="/track/batch")
    assert rejection.details == [
        detail("x", "additionalProperties", messages.UNKNOWN),
        detail("updates", "minItems", messages.INVALID),
    ]


# The rejection's body.


def test_a_rejection_body_is_compact_json_with_details_only_when_there_are_some():
    assert gateway.GatewayRejection(400, "c", "m").body() == b'{"error":{"code":"c","message":"m"}}'
    assert (
        gateway.GatewayRejection(400, "c", "m", []).body()
        == b'{"error":{"code":"c","message":"m"}}'
    )
    assert (
        gateway.GatewayRejection(400, "c", "m", [{"field": "f"}]).body()
        == b'{"error":{"code":"c","message":"m","details":[{"field":"f"}]}}'
    )


# The synchronous invoke's payload limit, as compact UTF-8 JSON.

EMPTY = len(b'{"b":""}')


def test_an_event_of_exactly_the_invoke_limit_passes_and_one_byte_more_is_413():
    limit = gateway.LAMBDA_INVOKE_MAX_PAYLOAD
    assert gateway.check_invoke_payload({"b": "x" * (limit - EMPTY)}) is None
    rejection = gateway.check_invoke_payload({"b": "x" * (limit - EMPTY + 1)})
    assert as_tuple(rejection) == (
        413,
        "payload_too_large",
        f"The request, as the function's event, is {limit + 1} bytes; a synchronous "
        f"Lambda invoke takes at most {limit}.",
        None,
    )


def test_non_ascii_counts_its_utf8_bytes_not_an_escape():
    """ "é" is 2 bytes in UTF-8, 6 as \\u00e9: 2 MB of them fit, escaped they would not."""
    count = (gateway.LAMBDA_INVOKE_MAX_PAYLOAD - EMPTY) // 2
    assert gateway.check_invoke_payload({"b": "é" * count}) is None
    over = gateway.check_invoke_payload({"b": "é" * (count + 1)})
    assert over.message.startswith(
        f"The request, as the function's event, is {EMPTY + 2 * count + 2} bytes"
    )


def test_an_object_model_without_properties_names_every_member_unknown(monkeypatch):
    """additionalProperties false and no properties: every member is unknown."""
    closed = jsonschema.Draft4Validator({"type": "object", "additionalProperties": False})
    monkeypatch.setitem(gateway._VALIDATORS, "TrackingUpdate", closed)
    rejection = track({"b": 1, "a": 2})
    assert rejection.details == [
        detail("a", "additionalProperties", messages.UNKNOWN),
        detail("b", "additionalProperties", messages.UNKNOWN),
    ]
