"""The sentences of validation errors, in the API's own words (no library text).

Each detail says the field, what is wrong and what is allowed. The function (from
pydantic's errors) and the local gateway (from the draft-4 model's errors) both
build their messages here, so a partner reads the same sentence from either.
"""

from __future__ import annotations

import re

from tracking_api.contract import MAX_METADATA_BYTES, STATUSES

# A body that is not UTF-8 (400 invalid_json), from the function and the local gateway.
NOT_UTF8 = "The request body is not UTF-8 encoded JSON."
MAX_BATCH_ITEMS = 25  # models.MAX_BATCH_SIZE (pydantic-free here; a unit test ties them)
_UPDATE_FIELDS = ("tracking_id", "status", "location", "metadata", "timestamp")
RULES = {
    "tracking_id": "a string of 1 to 100 letters, digits, '_', '.' or '-' that starts "
    "with a letter or digit",
    "status": "one of " + ", ".join(STATUSES),
    "location": "an object with exactly two numbers, lat and lng",
    "location.lat": "a number from -90 to 90",
    "location.lng": "a number from -180 to 180",
    "metadata": f"a JSON object of at most {MAX_METADATA_BYTES} bytes as compact UTF-8 JSON",
    "timestamp": "an integer number of epoch milliseconds within the last 30 days and at "
    "most 5 minutes ahead",
    "updates": f"an array of 1 to {MAX_BATCH_ITEMS} tracking updates",
    "body": "a JSON object",
}
_FIELDS_OF = {
    "": _UPDATE_FIELDS,
    "location": ("lat", "lng"),
}
_BATCH_ITEM = re.compile(r"^updates\.\d+(?:\.|$)")

MISSING, UNKNOWN, INVALID = "missing", "unknown", "invalid"


def _rule_key(field: str) -> str:
    """The field as the rules name it: a batch item's fields are an update's."""
    rest = _BATCH_ITEM.sub("", field)
    return rest if rest or field in ("body", "updates") else "body"


def _allowed_fields(parent: str) -> str:
    names = _FIELDS_OF.get(_rule_key(parent) if parent else "", _UPDATE_FIELDS)
    return ", ".join(names[:-1]) + " and " + names[-1]


def message(field: str, kind: str) -> str:
    """One sentence: ``field`` is ``kind`` (MISSING, UNKNOWN or INVALID) and what it
    must be."""
    if kind == UNKNOWN:
        parent = field.rpartition(".")[0]
        where = f"{parent} " if _rule_key(parent) in _FIELDS_OF and parent else ""
        return f"{field} is not an allowed field; {where or 'a tracking update '}has only " + (
            _allowed_fields(parent) + "."
        )
    rule = RULES.get(_rule_key(field))
    if rule is None:
        return f"{field} is not valid here."
    if kind == MISSING:
        return f"{field} is required; it must be {rule}."
    return f"{field} is not valid; it must be {rule}."


def pydantic_kind(error_type: str) -> str:
    """The kind of a pydantic error type."""
    if error_type == "missing":
        return MISSING
    if error_type == "extra_forbidden":
        return UNKNOWN
    return INVALID
