"""The local runtime answers a failed invocation as the deployed gateway would."""

from __future__ import annotations

import json

import pytest

from tracking_ops.local.gateway import LAMBDA_FAILURE
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.layer_api


def test_local_502_is_the_deployed_default_5xx_response(dev):
    """A Lambda error or timeout behind a proxy integration is a 502 whose body is the
    DEFAULT_5XX gateway response, API Gateway's message being "Internal server error"."""
    responses = {
        r["inputs"]["responseType"]: r["inputs"]
        for r in dev.of_type(Layer.API, "aws:apigateway/response:Response")
    }
    default_5xx = responses["DEFAULT_5XX"]
    assert "statusCode" not in default_5xx  # API Gateway keeps its 502
    rendered = default_5xx["responseTemplates"]["application/json"].replace(
        "$context.error.messageString", json.dumps("Internal server error")
    )
    assert LAMBDA_FAILURE.status == 502
    assert json.loads(LAMBDA_FAILURE.body()) == json.loads(rendered)
