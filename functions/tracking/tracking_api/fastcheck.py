"""A pydantic-free check of POST /track bodies: the hot path's validator.

It interprets the draft-4 model that ``schema_export`` derives from the pydantic
models for API Gateway (``update_schema.TRACKING_UPDATE``, generated from
``schema_export.request_models()``; a unit test fails if it goes stale), so
pydantic stays the one schema source. ``compile_schema`` turns that schema into
one closure per node, once, and accepts only the keywords it implements: a
keyword added to the model and not implemented here fails at import, never
passes silently.

It only decides valid / not valid. An invalid body is validated again by
pydantic, whose errors make the 400's ``details``, so every message stays
exactly what the contract documents; tests check on generated inputs that this
check and pydantic accept and reject the same bodies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from tracking_api.contract import metadata_size
from tracking_api.update_schema import MAX_METADATA_BYTES, TRACKING_UPDATE

Check = Callable[[Any], bool]
_IGNORED = {"$schema", "title", "description"}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    # JSON numbers: bool is not one; NaN/Infinity are not JSON (pydantic's allow_inf_nan=False)
    "number": lambda v: (type(v) is int) or (type(v) is float and math.isfinite(v)),
    "integer": lambda v: type(v) is int,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}


def _pattern(source: str) -> re.Pattern:
    # ECMA-262 `$` (JSON Schema, pydantic's Rust regex) matches only at the very
    # end; Python's matches before a final newline too.
    if source.endswith("$") and not source.endswith("\\$"):
        source = source[:-1] + r"\Z"
    return re.compile(source)


def compile_schema(schema: dict[str, Any]) -> Check:
    """One predicate for a draft-4 schema node using only the keywords below."""
    unknown = (
        set(schema)
        - _IGNORED
        - {
            "type",
            "enum",
            "pattern",
            "minimum",
            "maximum",
            "properties",
            "required",
            "additionalProperties",
        }
    )
    if unknown:
        raise ValueError(f"fastcheck does not implement {sorted(unknown)}")
    checks: list[Check] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        tests = [_TYPES[t] for t in types]
        checks.append(tests[0] if len(tests) == 1 else lambda v: any(t(v) for t in tests))
    if "enum" in schema:
        allowed = schema["enum"]
        checks.append(lambda v: any(type(v) is type(a) and v == a for a in allowed))
    if "pattern" in schema:
        search = _pattern(schema["pattern"]).search
        checks.append(lambda v: type(v) is not str or search(v) is not None)
    if "minimum" in schema:
        low = schema["minimum"]
        checks.append(lambda v: type(v) not in (int, float) or v >= low)
    if "maximum" in schema:
        high = schema["maximum"]
        checks.append(lambda v: type(v) not in (int, float) or v <= high)
    if {"properties", "required", "additionalProperties"} & set(schema):
        props = {name: compile_schema(sub) for name, sub in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        extra = schema.get("additionalProperties", True)
        if not isinstance(extra, bool):
            raise ValueError("fastcheck implements additionalProperties as a boolean only")

        def check_object(v: Any) -> bool:
            if type(v) is not dict:
                return True
            for name in required:
                if name not in v:
                    return False
            for name, value in v.items():
                sub = props.get(name)
                if sub is None:
                    if not extra:
                        return False
                elif not sub(value):
                    return False
            return True

        checks.append(check_object)
    if len(checks) == 1:
        return checks[0]
    first, *rest = checks  # the type check first: the others assume their type

    def check_all(v: Any) -> bool:
        if not first(v):
            return False
        for check in rest:  # noqa: SIM110 - no generator per call on the hot path
            if not check(v):
                return False
        return True

    return check_all


_is_update = compile_schema(TRACKING_UPDATE)


def is_valid_update(payload: Any) -> bool:
    """True when pydantic's TrackingUpdate would accept ``payload`` (a parsed JSON body)."""
    if not _is_update(payload):
        return False
    metadata = payload.get("metadata")
    return metadata is None or metadata_size(metadata) <= MAX_METADATA_BYTES
