"""API errors: each maps to one HTTP status and one contract error code."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self, message: str, details: list[Any] | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class InvalidJson(ApiError):
    status, code = 400, "invalid_json"


class ValidationFailed(ApiError):
    status, code = 400, "validation_error"


class FeatureDisabled(ApiError):
    status, code = 403, "feature_disabled"


class NotFound(ApiError):
    status, code = 404, "not_found"


class IdempotencyKeyInProgress(ApiError):
    status, code = 409, "idempotency_key_in_progress"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class IdempotencyKeyReused(ApiError):
    status, code = 422, "idempotency_key_reused"


class StorageUnavailable(ApiError):
    status, code = 503, "storage_unavailable"
