"""What API Gateway does before the function runs, for the local runtime: route
lookup, required query parameters, the body model (the same draft-4 models the
api stack creates), its size limit, and responses in the contract's shape."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonschema

from tracking_api import messages
from tracking_api.errors import InvalidJson
from tracking_api.schema_export import ROUTES, request_models
from tracking_stacks.definitions import UNKNOWN_ROUTE_RESPONSE

API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit
# A synchronous Lambda invoke takes at most 6 MB of request payload: the whole
# proxy event as JSON, so a body counts after JSON escaping, headers included.
LAMBDA_INVOKE_MAX_PAYLOAD = 6 * 1024 * 1024
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class GatewayRejection:
    status: int
    code: str
    message: str
    details: list[dict[str, str]] | None = None

    def body(self) -> bytes:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return json.dumps({"error": error}, separators=(",", ":")).encode()


_ROUTES = {(route["method"], route["path"]): route for route in ROUTES}
_VALIDATORS = {
    name: jsonschema.Draft4Validator(schema) for name, schema in request_models().items()
}


def unknown_route() -> GatewayRejection:
    """What a REST API answers for a method or path it lacks (any HTTP method):
    MISSING_AUTHENTICATION_TOKEN, through the api stack's gateway response."""
    spec = UNKNOWN_ROUTE_RESPONSE
    return GatewayRejection(int(spec.status), spec.code, spec.message)


def check_request(
    method: str, path: str, query: dict[str, list[str]], content_type: str, body: bytes | str
) -> GatewayRejection | None:
    """None when API Gateway would pass the request on to the function."""
    if len(body) > API_GATEWAY_MAX_BODY:
        return GatewayRejection(413, "payload_too_large", "Request Too Long")
    route = _ROUTES.get((method, path))
    if route is None:
        return unknown_route()
    missing = [name for name, required, _ in route["query"] if required and not query.get(name)]
    if missing:
        return GatewayRejection(
            400,
            "validation_error",
            f"Missing required request parameters: [{', '.join(missing)}]",
            [
                {
                    "field": name,
                    "reason": "missing",
                    "message": f"Query parameter {name} is required.",
                }
                for name in missing
            ],
        )
    model = route["body"]
    if model is None or content_type.split(";")[0].strip().lower() != JSON_TYPE:
        return None  # no model for this media type: the function answers (415)
    try:  # strictly: json.loads(bytes) would take UTF-16 too
        text = body if isinstance(body, str) else body.decode("utf-8")
    except UnicodeDecodeError:
        return GatewayRejection(InvalidJson.status, InvalidJson.code, messages.NOT_UTF8)
    try:
        payload = json.loads(text or "null")
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
        # API Gateway rejects this with its own 400; the contract's code for it is
        # invalid_json, which the function gives (see README, "Local runtime").
        return None
    errors = sorted(_VALIDATORS[model.__name__].iter_errors(payload), key=lambda e: list(e.path))
    if not errors:
        return None
    # One detail per field, as the function gives: draft-4 raises "required" once per
    # missing property, each naming them all, and a field may fail two keywords.
    by_field: dict[str, dict[str, str]] = {}
    for error in errors:
        for detail in _details(error):
            by_field.setdefault(detail["field"], detail)
    details = list(by_field.values())[:20]
    fields = ", ".join(sorted({d["field"] for d in details}))
    return GatewayRejection(400, "validation_error", f"Invalid request body: {fields}.", details)


def _details(error: jsonschema.ValidationError) -> list[dict[str, str]]:
    """The function's sentences (tracking_api.messages) for one draft-4 error; a
    missing or unknown property is named itself, not its object."""
    parent = ".".join(str(p) for p in error.path)
    reason = str(error.validator)
    if reason == "required":
        names = [n for n in error.validator_value if n not in error.instance]
        kind = messages.MISSING
    elif reason == "additionalProperties":
        names = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        kind = messages.UNKNOWN
    else:
        field = parent or "body"
        return [
            {"field": field, "reason": reason, "message": messages.message(field, messages.INVALID)}
        ]
    fields = [f"{parent}.{name}" if parent else name for name in names]
    return [
        {"field": field, "reason": reason, "message": messages.message(field, kind)}
        for field in fields
    ]


def check_invoke_payload(event: dict[str, Any]) -> GatewayRejection | None:
    """None when the proxy event fits in a synchronous invoke. Measured as compact
    UTF-8 JSON, the smallest encoding: nothing AWS would pass is refused here."""
    size = len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())
    if size <= LAMBDA_INVOKE_MAX_PAYLOAD:
        return None
    return GatewayRejection(
        413,
        "payload_too_large",
        f"The request, as the function's event, is {size} bytes; a synchronous Lambda "
        f"invoke takes at most {LAMBDA_INVOKE_MAX_PAYLOAD}.",
    )


# What API Gateway answers when the Lambda invocation fails (function error, timeout,
# runtime exit, malformed proxy response): 502 with the DEFAULT_5XX gateway response,
# which the api stack sets to the contract's error shape (stacks/api GATEWAY_RESPONSES).
LAMBDA_FAILURE = GatewayRejection(502, "internal_error", "Internal server error")
LAMBDA_FAILURE_HEADERS = {"x-amzn-ErrorType": "InternalServerErrorException"}
