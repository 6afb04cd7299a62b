"""Shapes the IAM, Lambda and API Gateway backends share: tags, JSON policy documents,
"not found" answers, and which inputs an update changed."""

from __future__ import annotations

import json
from typing import Any

from tracking_ops.standin_cloud.moto_backed import Properties

TAGS = "tags"
# The error codes moto answers for a resource that does not exist (IAM, Lambda, API
# Gateway): `read` reports such a resource as gone.
NOT_FOUND_CODES = frozenset({"NoSuchEntity", "ResourceNotFoundException", "NotFoundException"})


def is_not_found(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    return response.get("Error", {}).get("Code") in NOT_FOUND_CODES


def tag_list(tags: dict[str, str] | None) -> list[dict[str, str]]:
    """``{"k": "v"}`` as IAM's ``[{"Key": "k", "Value": "v"}]``."""
    return [{"Key": key, "Value": value} for key, value in (tags or {}).items()]


def tag_map(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def document(declared: Any, actual: Any) -> Any:
    """A JSON document as moto holds it, under the declared text when they mean the same
    (key order, spacing and boto3's decoding are no drift)."""
    parsed = json.loads(actual) if isinstance(actual, str) else actual
    if isinstance(declared, str):
        try:
            if json.loads(declared) == parsed:
                return declared
        except ValueError:
            pass
    return json.dumps(parsed)


def changed(olds: Properties, news: Properties, key: str) -> bool:
    return olds.get(key) != news.get(key)


def present(values: Properties) -> Properties:
    """The entries that are set (the engine omits unset inputs; boto3 refuses None)."""
    return {key: value for key, value in values.items() if value is not None}


EMPTY = (None, False, "", {}, [])


def reported(current: Properties, state: Properties) -> Properties:
    """What ``read`` reports: every property the state holds, and any other that is set
    (so a setting added by hand shows), but no empty default the state never had."""
    return {key: value for key, value in current.items() if key in state or value not in EMPTY}
