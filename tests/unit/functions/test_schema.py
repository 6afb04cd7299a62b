"""The exported schemas agree with the Pydantic models they come from."""

from __future__ import annotations

import re

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from pydantic import ValidationError

from tracking_api import fastcheck, update_schema
from tracking_api.models import TrackingUpdate
from tracking_api.schema_export import ROUTES, openapi_document, request_models

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**13)
    | st.floats(-200, 200)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
near_valid = st.fixed_dictionaries(
    {
        "tracking_id": st.one_of(
            st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", fullmatch=True), json_values
        ),
        "status": st.sampled_from(["pending", "in_transit", "delivered", "failed", "lost", 1]),
        "location": st.one_of(
            st.fixed_dictionaries(
                {
                    "lat": st.one_of(st.floats(-100, 100), st.integers(-100, 100), json_values),
                    "lng": st.one_of(st.floats(-200, 200), json_values),
                }
            ),
            json_values,
        ),
    },
    optional={
        "metadata": st.dictionaries(st.text(max_size=5), json_values, max_size=3) | json_values,
        "timestamp": st.integers(0, 10**13) | json_values,
        "extra": json_values,
    },
)

VALID = {"tracking_id": "P1", "status": "pending", "location": {"lat": 1.5, "lng": 2}}


def test_gateway_models_are_valid_draft_4():
    for schema in request_models().values():
        jsonschema.Draft4Validator.check_schema(schema)


def test_openapi_document_is_valid_openapi_3_0_and_covers_every_route():
    document = openapi_document()
    validate(document)
    assert document["openapi"].startswith("3.0")
    for route in ROUTES:
        assert route["method"].lower() in document["paths"][route["path"]]


@given(near_valid)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_gateway_model_and_function_model_agree(payload):
    """What the gateway's draft-4 model accepts, Pydantic accepts, and the reverse
    (the size of metadata and the time window are the function's alone)."""
    gateway_ok = jsonschema.Draft4Validator(request_models()["TrackingUpdate"]).is_valid(payload)
    try:
        TrackingUpdate.model_validate(payload)
        function_ok = True
    except ValidationError as exc:
        function_ok = False
        only_function_rules = all(
            e["loc"][:1] == ("metadata",) and e["type"] == "value_error" for e in exc.errors()
        )
        if only_function_rules:
            return
    assert gateway_ok == function_ok, payload


def test_the_functions_copy_of_the_draft_4_model_is_current():
    """update_schema.py is generated from the pydantic models (one schema source)."""
    assert request_models()["TrackingUpdate"] == update_schema.TRACKING_UPDATE, (
        "stale: run `python -m tracking_api.schema_export` in functions/tracking"
    )


def _pydantic_accepts(payload) -> bool:
    try:
        TrackingUpdate.model_validate(payload)
    except ValidationError:
        return False
    return True


big_metadata = st.integers(8 * 1024 - 40, 8 * 1024 + 40).map(lambda n: {"k": "x" * n})
valid = st.fixed_dictionaries(
    {
        "tracking_id": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", fullmatch=True),
        "status": st.sampled_from(["pending", "in_transit", "delivered", "failed"]),
        "location": st.fixed_dictionaries(
            {"lat": st.integers(-91, 91) | st.floats(-91, 91), "lng": st.floats(-181, 181)}
        ),
    },
    optional={"metadata": big_metadata, "timestamp": st.integers(-2, 10**13)},
)
payloads = st.one_of(near_valid, valid, json_values)


@given(payloads)
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
def test_fastcheck_accepts_exactly_what_pydantic_accepts(payload):
    """The function's pydantic-free check and pydantic agree, metadata size included."""
    assert fastcheck.is_valid_update(payload) == _pydantic_accepts(payload), payload


@pytest.mark.parametrize(
    "payload",
    [
        {**VALID, "tracking_id": "P1\n"},  # `$` before a final newline
        {**VALID, "tracking_id": "-P1"},
        {**VALID, "timestamp": 5.0},
        {**VALID, "timestamp": True},
        {**VALID, "timestamp": -1},
        {**VALID, "location": {"lat": True, "lng": 0}},
        {**VALID, "location": {"lat": 90.0000001, "lng": 0}},
        {**VALID, "location": {"lat": float("inf"), "lng": 0}},
        {**VALID, "location": {"lat": 0, "lng": 0, "alt": 1}},
        {**VALID, "metadata": None},
        {**VALID, "metadata": {"k": "x" * (8 * 1024 - 7)}},  # 8193 bytes serialized
        {**VALID, "status": "lost"},
        {**VALID, "extra": 1},
        {k: v for k, v in VALID.items() if k != "location"},
    ],
)
def test_fastcheck_rejects_the_edges_pydantic_rejects(payload):
    assert not _pydantic_accepts(payload)
    assert not fastcheck.is_valid_update(payload)


@pytest.mark.parametrize(
    "payload",
    [
        VALID,
        {**VALID, "location": {"lat": -90, "lng": 180}},
        {**VALID, "timestamp": 0, "metadata": {}},
        {**VALID, "metadata": {"k": "x" * (8 * 1024 - 8)}},  # exactly 8192 bytes
    ],
)
def test_fastcheck_accepts_the_edges_pydantic_accepts(payload):
    assert _pydantic_accepts(payload)
    assert fastcheck.is_valid_update(payload)


def test_fastcheck_refuses_a_keyword_it_does_not_implement():
    with pytest.raises(ValueError, match="minLength"):
        fastcheck.compile_schema({"type": "string", "minLength": 1})


@pytest.mark.parametrize(
    "refuse",
    [
        lambda domain: domain.validate_update({}, now_ms=0),
        lambda domain: domain.validate_update({"tracking_id": "P1", "status": "lost"}, now_ms=0),
        lambda domain: domain.validate_update(
            {"tracking_id": "P1", "status": "in_transit", "location": {"lat": 99, "lon": 0}},
            now_ms=0,
        ),
        lambda domain: domain.validate_batch({"updates": []}),
        lambda domain: domain.parse_limit("0", 20, 100),
        lambda domain: domain.decode_cursor("not-a-cursor", "scope", re.compile(".*")),
    ],
)
def test_every_error_detail_has_the_documented_shape(refuse):
    """The OpenAPI document promises field, reason and message in each detail."""
    from tracking_api import domain, models
    from tracking_api.errors import ApiError

    documented = openapi_document()["components"]["schemas"]["ErrorResponse"]
    detail = documented["properties"]["error"]["properties"]["details"]["items"]
    assert sorted(detail["required"]) == ["field", "message", "reason"]
    with pytest.raises(ApiError) as refused:
        refuse(domain)
    body = refused.value.body()
    assert body["error"]["details"], body
    assert models.ErrorResponse.model_validate(body).model_dump(exclude_none=True) == body
