"""Schema-driven fuzzing of the local API from its own OpenAPI document (bounded).

schemathesis generates requests for every operation from the document the local
runtime serves; each goes through the real socket. (Its pytest loader does not
run under pytest 9, so its strategies are driven by hypothesis directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.fuzzing import assert_error_shape, fuzz
from tracking_api.schema_export import openapi_document

OPERATIONS = [
    result.ok()
    for result in schemathesis.openapi.from_dict(openapi_document()).get_all_operations()
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_every_response_is_documented_and_never_a_server_error(operation, local_api):
    """No 5xx; every status, content type and body as the document says (errors
    included: every 4xx has the error shape). Rules JSON Schema cannot state (the
    timestamp window, metadata size) are why acceptance of generated data is not
    checked here."""

    def judge(case, response) -> None:
        case.validate_response(response, checks=CHECKS)
        if 400 <= response.status_code < 500:
            assert_error_shape(response)

    answered = fuzz(operation.as_strategy(), local_api.url, judge)
    assert answered  # the operation was exercised through the socket
