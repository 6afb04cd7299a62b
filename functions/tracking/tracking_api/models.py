"""Pydantic models: the one schema source of the HTTP contract (DESIGN.md section 3).

The function validates with them; ``schema_export`` derives API Gateway's
draft-4 request models and the OpenAPI document from them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tracking_api.contract import (
    MAX_METADATA_BYTES,
    STATUSES,
    TRACKING_ID_PATTERN,
    metadata_size,
)

__all__ = [
    "MAX_METADATA_BYTES",
    "STATUSES",
    "TRACKING_ID_PATTERN",
]  # re-exported: one schema source
Status = Literal["pending", "in_transit", "delivered", "failed"]
MAX_BATCH_SIZE = 25

# Strict: a string "12" or a boolean is not a number, as API Gateway's JSON
# Schema validation would reject it; unknown fields are rejected.
_STRICT = ConfigDict(strict=True, extra="forbid")
# Models the function does not validate with on every cold path build their
# validators when first used (a batch, the schema export), not at import.
_DEFERRED = ConfigDict(defer_build=True)


class Location(BaseModel):
    model_config = _STRICT
    lat: float = Field(
        ge=-90,
        le=90,
        allow_inf_nan=False,
        description="Latitude in degrees (stored with 7 decimals, about 1 cm)",
    )
    lng: float = Field(
        ge=-180,
        le=180,
        allow_inf_nan=False,
        description="Longitude in degrees (stored with 7 decimals, about 1 cm)",
    )


class TrackingUpdate(BaseModel):
    """Body of POST /track and each item of POST /track/batch."""

    model_config = _STRICT
    tracking_id: str = Field(pattern=TRACKING_ID_PATTERN, description="Parcel id")
    status: Status
    location: Location
    metadata: dict[str, Any] = Field(
        default=None,
        description="Free-form JSON object, at most 8 KiB (8192 bytes) as compact UTF-8 JSON",
    )
    timestamp: int = Field(
        default=None,
        ge=0,
        description="Event time, epoch milliseconds; within the last 30 days and at most "
        "5 minutes ahead. Default: the time the API received the update.",
    )

    @field_validator("metadata")
    @classmethod
    def _metadata_size(cls, value: dict[str, Any]) -> dict[str, Any]:
        size = metadata_size(value)
        if size > MAX_METADATA_BYTES:
            raise ValueError(
                f"metadata is {size} bytes as compact UTF-8 JSON; the limit is {MAX_METADATA_BYTES}"
            )
        return value


class BatchRequest(BaseModel):
    """Body of POST /track/batch. Items are validated one by one by the function,
    so that one bad item does not reject the others."""

    model_config = ConfigDict(**_STRICT, **_DEFERRED)
    updates: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH_SIZE,
        description="1 to 25 POST /track bodies; each is validated on its own",
    )


# Responses (documented in the OpenAPI document; the function builds them as dicts).


class LocationOut(BaseModel):
    model_config = _DEFERRED
    lat: float
    lng: float


class TrackResponse(BaseModel):
    model_config = _DEFERRED
    tracking_id: str
    event_id: str
    status: Status
    timestamp: int
    location: LocationOut
    metadata: dict[str, Any] | None = None


class UpdateOut(BaseModel):
    model_config = _DEFERRED
    event_id: str
    status: Status
    timestamp: int
    location: LocationOut
    metadata: dict[str, Any] | None = None


class StatusResponse(BaseModel):
    model_config = _DEFERRED
    tracking_id: str
    status: Status
    timestamp: int
    location: LocationOut
    updates: list[UpdateOut]
    next_cursor: str | None
    milestones: dict[str, int] | None = Field(
        default=None, description="Only with feature flag enhanced_tracking"
    )


class ShipmentOut(BaseModel):
    model_config = _DEFERRED
    tracking_id: str
    timestamp: int
    location: LocationOut


class ShipmentsResponse(BaseModel):
    model_config = _DEFERRED
    status: Status
    items: list[ShipmentOut]
    next_cursor: str | None


class BatchItemResult(BaseModel):
    model_config = _DEFERRED
    index: int = Field(description="The item's position in updates")
    status: Literal[201, 400, 409, 422, 503] = Field(
        description="201 stored; 400 invalid (error says why); 409/422 its idempotency key; "
        "503 not stored (storage unavailable, or not attempted within the request's time "
        "budget): retry it"
    )
    event_id: str | None = Field(default=None, description="With 201")
    error: ErrorBody | None = Field(
        default=None, description="Otherwise: {code, message, details?} as every error"
    )


class BatchResponse(BaseModel):
    model_config = _DEFERRED
    results: list[BatchItemResult] = Field(description="One result per item, in order")
    failed: int = Field(description="How many items are not 201")


class HealthResponse(BaseModel):
    model_config = _DEFERRED
    status: Literal["ok"]


class ErrorDetail(BaseModel):
    model_config = _DEFERRED
    field: str = Field(
        description="The field, parameter or header: dotted for nesting (updates.1.status)"
    )
    reason: str = Field(
        description="A stable word for the rule it breaks (missing, string_too_long, batch_size, ...)"
    )
    message: str = Field(description="A sentence: what is wrong and what is allowed")


class ErrorBody(BaseModel):
    model_config = _DEFERRED
    code: str
    message: str
    details: list[ErrorDetail] | None = Field(
        default=None, description="With validation_error: one entry per field at fault"
    )


class ErrorResponse(BaseModel):
    model_config = _DEFERRED
    error: ErrorBody
