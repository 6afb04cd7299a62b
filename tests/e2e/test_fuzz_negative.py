"""Negative schema fuzzing: requests the served OpenAPI document says are invalid
(wrong types, missing required fields, out-of-range values, unknown members) are
answered with a documented 4xx in the error shape, never a 5xx (bounded)."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance

from tests.e2e.fuzzing import assert_error_shape, fuzz
from tracking_api.schema_export import openapi_document

# Operations with an input to get wrong (GET /health takes none).
OPERATIONS = [
    operation
    for result in schemathesis.openapi.from_dict(openapi_document()).get_all_operations()
    if (operation := result.ok()).query or operation.body or operation.headers
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_invalid_requests_get_a_4xx_in_the_error_shape_never_a_server_error(operation, local_api):

    def judge(case, response) -> None:
        case.validate_response(response, checks=[not_a_server_error, content_type_conformance])
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/json"), (response.status_code, case.path)
        if response.status_code >= 400:
            assert_error_shape(response)

    strategy = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    answered = fuzz(strategy, local_api.url, judge)
    assert answered
