"""What an AWS error says, read from botocore's exceptions without importing botocore."""

from __future__ import annotations


def error_code(exc: Exception) -> str:
    """The service's error code of a botocore ClientError (``AccessDenied``, ...); "" for
    any other exception."""
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code", ""))
