"""Derive what API Gateway and HTTP clients need from the Pydantic models.

API Gateway validates request bodies against JSON Schema draft 4 and imports
OpenAPI 3.0; Pydantic emits JSON Schema 2020-12 (and Powertools OpenAPI 3.1).
``draft4`` converts a model's schema: references inlined, nullable unions
folded, defaults and titles dropped. ``openapi_document`` builds the OpenAPI
3.0 document that the local runtime serves at ``GET /openapi.json``.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from tracking_api import models

DRAFT4 = "http://json-schema.org/draft-04/schema#"
API_TITLE = "Logistics tracking API"
# The contract's version (semver): a change that breaks clients needs a new major
# version and an entry in docs/openapi-breaking-changes.json (`invoke openapi`).
API_VERSION = "1.0.0"
_DROP = {"title", "default"}

# The routes of the API: (method, path, request model, success status, response model,
# query parameters as (name, required, description), authorization).
IAM, NONE = "AWS_IAM", "NONE"
ROUTES: tuple[dict[str, Any], ...] = (
    {
        "method": "POST",
        "path": "/track",
        "body": models.TrackingUpdate,
        "status": 201,
        "response": models.TrackResponse,
        "query": (),
        "auth": IAM,
        "summary": "Record one tracking update",
        "headers": (
            (
                "Idempotency-Key",
                False,
                "1-128 visible ASCII characters, scoped to the caller (its IAM principal) "
                "and this route; a retry with the same key and the same JSON value (key "
                "order, spacing and number spelling do not matter) is stored once and "
                "replayed (Idempotent-Replayed: true); another body is 422",
            ),
        ),
    },
    {
        "method": "POST",
        "path": "/track/batch",
        "body": models.BatchRequest,
        "status": 200,
        "response": models.BatchResponse,
        "query": (),
        "auth": IAM,
        "summary": "Record up to 25 tracking updates, each on its own (feature flag "
        "batch_processing): 200 with one result per item (201, 400, 409, 422 or 503) and "
        "the count of failed items; the body may be 25 times the single-update limit",
        "headers": (
            (
                "Idempotency-Key",
                False,
                "1-128 visible ASCII characters, scoped to the caller and this route; each "
                "item gets a key derived from it and its index (no POST /track key can "
                "collide with one), so a retried batch stores nothing twice",
            ),
        ),
    },
    {
        "method": "GET",
        "path": "/status",
        "body": None,
        "status": 200,
        "response": models.StatusResponse,
        "auth": IAM,
        "headers": (),
        "summary": "A parcel's current state and its updates, newest first",
        "query": (
            ("tracking_id", True, "Parcel id"),
            ("limit", False, "1-100, default 50"),
            ("cursor", False, "next_cursor of the previous page"),
        ),
    },
    {
        "method": "GET",
        "path": "/shipments",
        "body": None,
        "status": 200,
        "response": models.ShipmentsResponse,
        "auth": IAM,
        "headers": (),
        "summary": "Parcels whose current status is S, most recently updated first",
        "query": (
            ("status", True, "pending, in_transit, delivered or failed"),
            ("limit", False, "1-100, default 50"),
            ("cursor", False, "next_cursor of the previous page"),
        ),
    },
    {
        "method": "GET",
        "path": "/health",
        "body": None,
        "status": 200,
        "response": models.HealthResponse,
        "query": (),
        "auth": NONE,
        "headers": (),
        "summary": "Liveness; checks nothing remote",
    },
)

# Error statuses each route documents (the shape is always ErrorResponse).
ERROR_STATUSES = {
    "/track": ("400", "413", "415", "422", "409", "503", "500"),
    "/track/batch": ("400", "403", "413", "415", "422", "503", "500"),
    "/status": ("400", "404", "503", "500"),
    "/shipments": ("400", "503", "500"),
    "/health": (),
}


def operation_id(route: dict[str, Any]) -> str:
    """``post_track_batch``: the OpenAPI operationId and the gateway method's operationName."""
    return f"{route['method'].lower()}{route['path'].replace('/', '_')}"


def _inline(node: Any, defs: dict[str, Any], nullable_style: str) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs, nullable_style) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _inline(copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]]), defs, nullable_style)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key == "$defs":
            continue
        if key == "const":  # no const before draft 6
            out["enum"] = [value]
        elif key == "properties":
            out[key] = {name: _inline(sub, defs, nullable_style) for name, sub in value.items()}
        else:
            out[key] = _inline(value, defs, nullable_style)
    variants = out.get("anyOf")
    if variants and any(v.get("type") == "null" for v in variants):
        rest = [v for v in variants if v.get("type") != "null"]
        if len(rest) == 1:
            del out["anyOf"]
            out.update(rest[0])
            if nullable_style == "openapi":
                out["nullable"] = True
            else:
                out["type"] = [rest[0]["type"], "null"]
    for bound in ("exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(out.get(bound), int | float) and not isinstance(out.get(bound), bool):
            raise ValueError(f"{bound} as a number has no draft-4 form; use ge/le")
    return out


def draft4(model: type[BaseModel]) -> dict[str, Any]:
    """The model's request schema as JSON Schema draft 4, self-contained."""
    schema = model.model_json_schema(mode="validation")
    out = _inline(schema, schema.get("$defs", {}), "draft4")
    return {"$schema": DRAFT4, "title": model.__name__, **out}


def openapi_schema(model: type[BaseModel], mode: str = "validation") -> dict[str, Any]:
    schema = model.model_json_schema(mode=mode)
    return _inline(schema, schema.get("$defs", {}), "openapi")


def request_models() -> dict[str, dict[str, Any]]:
    """Draft-4 models for API Gateway, by model name (the api stack creates one each)."""
    return {route["body"].__name__: draft4(route["body"]) for route in ROUTES if route["body"]}


UPDATE_SCHEMA_MODULE = "update_schema.py"


def update_schema_source() -> str:
    """The text of ``tracking_api/update_schema.py``: TrackingUpdate's draft-4 model for
    the function's pydantic-free check (``fastcheck``), generated from the models."""
    schema = request_models()["TrackingUpdate"]
    return (
        '"""Generated by `python -m tracking_api.schema_export` from the pydantic models:\n'
        "do not edit (a unit test fails when it differs from schema_export.request_models()).\n"
        '"""\n\n'
        "from tracking_api.contract import MAX_METADATA_BYTES\n\n"
        '__all__ = ["MAX_METADATA_BYTES", "TRACKING_UPDATE"]\n'
        f"TRACKING_UPDATE = {schema!r}\n"
    )


def openapi_document(server_url: str | None = None) -> dict[str, Any]:
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    paths: dict[str, Any] = {}
    for route in ROUTES:
        operation: dict[str, Any] = {
            "summary": route["summary"],
            "operationId": operation_id(route),
            "parameters": [
                {
                    "name": name,
                    "in": "query",
                    "required": required,
                    "description": description,
                    "schema": {"type": "string"},
                }
                for name, required, description in route["query"]
            ]
            + [
                {
                    "name": name,
                    "in": "header",
                    "required": required,
                    "description": description,
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 128,
                        "pattern": "^[\\x21-\\x7e]+$",
                    },
                }
                for name, required, description in route["headers"]
            ],
            "responses": {
                str(route["status"]): {
                    "description": "Success",
                    "content": {
                        "application/json": {
                            "schema": openapi_schema(route["response"], "serialization")
                        }
                    },
                },
                **{
                    status: {
                        "description": "Error",
                        "content": {"application/json": {"schema": error_ref}},
                    }
                    for status in ERROR_STATUSES[route["path"]]
                },
            },
        }
        if route["auth"] == IAM:
            operation["security"] = [{"sigv4": []}]
        if route["body"]:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": openapi_schema(route["body"])}},
            }
        paths.setdefault(route["path"], {})[route["method"].lower()] = operation
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": API_TITLE, "version": API_VERSION},
        "paths": paths,
        "components": {
            "schemas": {"ErrorResponse": openapi_schema(models.ErrorResponse, "serialization")},
            "securitySchemes": {
                "sigv4": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "awsSigv4",
                }
            },
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


if __name__ == "__main__":  # regenerate update_schema.py
    from pathlib import Path

    Path(__file__).with_name(UPDATE_SCHEMA_MODULE).write_text(update_schema_source())
