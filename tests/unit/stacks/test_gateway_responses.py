"""The gateway responses a client meets on AWS, and the local runtime's same answer."""

from __future__ import annotations

import json

import pytest

from tracking_ops.local.gateway import check_request
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.layer_api
MESSAGE = "$context.error.messageString"


def rendered(dev) -> dict[str, tuple[str | None, dict]]:
    """responseType -> (status, body as API Gateway renders it, its message quoted as "m")."""
    return {
        r["inputs"]["responseType"]: (
            r["inputs"].get("statusCode"),
            json.loads(
                r["inputs"]["responseTemplates"]["application/json"].replace(MESSAGE, '"m"')
            ),
        )
        for r in dev.of_type(Layer.API, "aws:apigateway/response:Response")
    }


def test_signature_failures_say_what_a_client_must_fix(dev):
    """INVALID_SIGNATURE and EXPIRED_TOKEN would fall to DEFAULT_4XX (bad_request)."""
    responses = rendered(dev)
    assert responses["INVALID_SIGNATURE"] == (
        "403",
        {"error": {"code": "invalid_signature", "message": "m"}},
    )
    assert responses["EXPIRED_TOKEN"] == (
        "403",
        {"error": {"code": "expired_token", "message": "m"}},
    )
    assert responses["ACCESS_DENIED"][1]["error"]["code"] == "forbidden"


def test_an_unknown_path_or_method_explains_both_causes(dev):
    """On a REST API an unknown path or method answers MISSING_AUTHENTICATION_TOKEN
    (403), as an unsigned request does: the message names both."""
    status, body = rendered(dev)["MISSING_AUTHENTICATION_TOKEN"]
    assert status == "403"
    assert body["error"]["code"] == "missing_authentication"
    assert "not signed" in body["error"]["message"] and "no such method" in body["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/nope"), ("DELETE", "/track"), ("HEAD", "/health")]
)
def test_the_local_gateway_answers_an_unknown_route_with_the_deployed_body(dev, method, path):
    status, body = rendered(dev)["MISSING_AUTHENTICATION_TOKEN"]
    rejection = check_request(method, path, {}, "", b"")
    assert (str(rejection.status), json.loads(rejection.body())) == (status, body)


def test_every_gateway_response_renders_valid_json_in_the_error_shape(dev):
    for response_type, (_, body) in rendered(dev).items():
        assert set(body["error"]) == {"code", "message"}, response_type


def test_every_gateway_response_says_its_body_is_json_and_keeps_its_state_key(dev):
    for response in dev.of_type(Layer.API, "aws:apigateway/response:Response"):
        inputs = response["inputs"]
        assert inputs["responseParameters"] == {
            "gatewayresponse.header.Content-Type": "'application/json'"
        }, inputs["responseType"]
        # The logical name keys the deployed state: renamed, the response is replaced.
        assert response["name"] == f"tracking-response-{inputs['responseType'].lower()}"
