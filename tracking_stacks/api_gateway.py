"""What the api layer derives without creating anything: the properties a deployment
snapshots and their hash, the access-log format, and which routes API Gateway answers
itself (with their throttle) rather than the function."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi_aws as aws

from tracking_api.schema_export import ROUTES, operation_id

# What a deployment snapshots: a change to any of these needs a redeployment,
# so the Deployment depends on each and its trigger hashes these properties.
SNAPSHOT_PROPERTIES: dict[type, tuple[str, ...]] = {
    aws.apigateway.Resource: ("parent_id", "path_part"),
    aws.apigateway.Model: ("name", "content_type", "schema"),
    aws.apigateway.RequestValidator: (
        "name",
        "validate_request_body",
        "validate_request_parameters",
    ),
    aws.apigateway.Method: (
        "resource_id",
        "http_method",
        "authorization",
        "operation_name",
        "request_validator_id",
        "request_models",
        "request_parameters",
    ),
    aws.apigateway.Integration: (
        "resource_id",
        "http_method",
        "type",
        "integration_http_method",
        "uri",
        "request_templates",
    ),
    aws.apigateway.MethodResponse: (
        "resource_id",
        "http_method",
        "status_code",
        "response_parameters",
    ),
    aws.apigateway.IntegrationResponse: (
        "resource_id",
        "http_method",
        "status_code",
        "response_templates",
        "response_parameters",
    ),
    aws.apigateway.Response: (
        "response_type",
        "status_code",
        "response_templates",
        "response_parameters",
    ),
}


def snapshot_hash(parts: list[dict[str, object]]) -> str:
    """The redeployment trigger: a hash of every snapshotted property of every part."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# Access-log fields and the variable each one logs. API Gateway substitutes a
# variable's text as it is: a quote or a newline in free text (an error message)
# would break the line's JSON. Only the variables in ACCESS_LOG_QUOTED come from
# API Gateway already quoted and escaped (a JSON string); every other one here has
# a fixed character set (ids, addresses, numbers, times, the resource template).
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "error": "$context.error.messageString",
}
ACCESS_LOG_QUOTED = frozenset({"$context.error.messageString"})


def access_log_format(fields: dict[str, str]) -> str:
    """One JSON object per line: each variable in quotes, except those API Gateway
    quotes itself (quoting them again would break the JSON)."""
    parts = [
        f"{json.dumps(key)}:{variable if variable in ACCESS_LOG_QUOTED else json.dumps(variable)}"
        for key, variable in fields.items()
    ]
    return "{" + ",".join(parts) + "}"


ACCESS_LOG_FORMAT = access_log_format(ACCESS_LOG_FIELDS)

# Routes API Gateway answers itself (a MOCK integration): no Lambda invocation, no
# concurrency taken, nothing billed per call but the request. GET /health is
# unsigned, so anyone can call it: it also gets a method throttle of its own
# (API Gateway applies a method's own limits instead of the stage's `*/*`
# defaults), so anonymous callers can neither exhaust the signed routes' rate nor
# run the function. The body is the function's own health answer (the contract).
GATEWAY_ANSWERED = {"get_health": json.dumps({"status": "ok"})}
GATEWAY_ANSWERED_STATUS = "200"
HEALTH_THROTTLING_RATE_LIMIT = 10.0
HEALTH_THROTTLING_BURST_LIMIT = 20
STAGE_WIDE = "*/*"


def method_path(route: dict[str, Any]) -> str:
    """A method's path in MethodSettings: the resource path without its leading slash,
    then the HTTP method (``health/GET``)."""
    return f"{route['path'].lstrip('/')}/{route['method']}"


def function_routes() -> list[dict[str, Any]]:
    """The routes the function serves through API Gateway (Lambda proxy)."""
    return [route for route in ROUTES if operation_id(route) not in GATEWAY_ANSWERED]
