"""JSON values as the API accepts, stores and returns them (no AWS here).

Every number the API accepts is finite and fits DynamoDB's number type (38
significant digits, magnitude from 1E-130 to below 1E+126), so whatever it stores
it can return as strict RFC 8259 JSON, and two spellings of one JSON value are
one value (``canonical``).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_SIGNIFICANT_DIGITS = 38
MIN_MAGNITUDE = Decimal("1E-130")
MAX_MAGNITUDE = Decimal("1E+126")  # exclusive
_STORABLE_RULE = (
    "a finite number with at most 38 significant digits and a magnitude from 1E-130 "
    "to below 1E+126 (or 0)"
)


class UnstorableNumber:
    """A number from a request body that the store cannot hold (kept as its text so
    the 400 can name its field)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"UnstorableNumber({self.text})"


def storable(text: str) -> bool:
    """Whether the JSON number ``text`` fits DynamoDB's number type."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return False
    if not value.is_finite():
        return False
    if value.is_zero():
        return True
    digits = value.normalize().as_tuple().digits
    return len(digits) <= MAX_SIGNIFICANT_DIGITS and MIN_MAGNITUDE <= abs(value) < MAX_MAGNITUDE


def _parse_float(text: str) -> float | UnstorableNumber:
    value = float(text)
    # What is stored is the float (~17 significant digits, its repr), so only its
    # range matters: 1e400 is infinite, and 1e-400 would silently become 0.
    if not math.isfinite(value):
        return UnstorableNumber(text)
    if value == 0:
        return value if Decimal(text).is_zero() else UnstorableNumber(text)
    if not MIN_MAGNITUDE <= abs(Decimal(repr(value))) < MAX_MAGNITUDE:  # as stored
        return UnstorableNumber(text)
    return value


def _parse_int(text: str) -> int | UnstorableNumber:
    if len(text.lstrip("-").rstrip("0")) > MAX_SIGNIFICANT_DIGITS or not storable(text):
        return UnstorableNumber(text)
    return int(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(text: str) -> Any:
    """RFC 8259 JSON: NaN and Infinity are not numbers; a number the store cannot hold
    is an UnstorableNumber (``unstorable_fields`` finds them). Raises ValueError or
    RecursionError for text that is not JSON."""
    return json.loads(
        text, parse_constant=_reject_constant, parse_float=_parse_float, parse_int=_parse_int
    )


def unstorable_fields(value: Any, prefix: tuple = ()) -> list[str]:
    """Dotted paths of the UnstorableNumbers inside ``value`` (iterative: any depth)."""
    found: list[str] = []
    stack: list[tuple[tuple, Any]] = [(prefix, value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, UnstorableNumber):
            found.append(".".join(map(str, path)) or "body")
        elif isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))
    return sorted(found)


def storable_rule() -> str:
    return _STORABLE_RULE


def _canonical_number(value: float) -> int | float:
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _normalize(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return _canonical_number(value)
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def canonical(value: Any) -> str:
    """One text per JSON value: sorted keys, no spacing, integral numbers as integers."""
    return json.dumps(_normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact strict JSON (raises ValueError rather than write NaN or Infinity)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _drop_constant(_name: str) -> None:
    return None


def _finite_or_none(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def loads_stored(text: str) -> Any:
    """JSON the table holds. Items stored before numbers were checked may carry
    Infinity or 1e400: they read as null, so the parcel stays readable."""
    return json.loads(text, parse_constant=_drop_constant, parse_float=_finite_or_none)
