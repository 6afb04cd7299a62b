"""Shapes the family modules share: AWS's tag lists and the engine's tag maps, inputs
without their unset (None) values, and the "what changed" test of an update.

Registers no backend (``backends()`` imports it like every module of the package).
"""

from __future__ import annotations

from typing import Any

from tracking_ops.standin_cloud.moto_backed import Properties

TAGS = "tags"
NAME = "name"
ARN = "arn"


def tag_list(tags: dict[str, str] | None, key: str = "Key", value: str = "Value") -> list[dict]:
    """The engine's ``tags`` map as AWS's ``[{Key, Value}]`` (the key names vary)."""
    return [{key: k, value: v} for k, v in (tags or {}).items()]


def tag_map(tags: list[dict] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {item[key]: item[value] for item in tags or []}


def given(inputs: Properties) -> Properties:
    """The inputs that are set (an unset optional arrives as None)."""
    return {key: value for key, value in inputs.items() if value is not None}


def changed(olds: Properties, news: Properties, *keys: str) -> bool:
    return any(olds.get(key) != news.get(key) for key in keys)


def tag_changes(olds: Properties, news: Properties) -> tuple[dict[str, str], list[str]]:
    """Tags to set (new or changed) and tag keys to remove."""
    old, new = olds.get(TAGS) or {}, news.get(TAGS) or {}
    return (
        {key: value for key, value in new.items() if old.get(key) != value},
        [key for key in old if key not in new],
    )


def number(value: Any) -> Any:
    """An engine number (floats on the wire) as AWS's int where it is whole."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def held_fields(held: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """What moto holds, under the engine's names: {engine name: moto field} -> values."""
    return {key: held[field] for key, field in fields.items() if field in held}


def as_declared(declared: Any, found: Any) -> Any:
    """A JSON document moto holds, as the state spells it when they mean the same (AWS
    reformats policies and bodies; that is no drift)."""
    import json

    if isinstance(declared, str) and isinstance(found, str):
        try:
            if json.loads(declared) == json.loads(found):
                return declared
        except ValueError:
            pass
    return found
