"""The exported schemas agree with the Pydantic models they come from."""

from __future__ import annotations

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from pydantic import ValidationError

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
