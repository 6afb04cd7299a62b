"""A drift check's finding in one line: which resources a `refresh
--expect-no-changes` found changed in the cloud, and which properties, from the
engine's step events (each refresh step carries the state before and after)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_PROPERTIES = 6  # per resource in the line; the rest as "+N more"


class DriftFound(Exception):
    """The cloud drifted from the state: the message names each resource and property."""


def changed_properties(old: Any, new: Any) -> list[str]:
    """The top-level outputs (else inputs) that differ between two step states."""
    if old is None or new is None:
        return []
    before, after = dict(old.outputs or {}), dict(new.outputs or {})
    if not before and not after:
        before, after = dict(old.inputs or {}), dict(new.inputs or {})
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def collector(found: list[str]) -> Callable[[Any], None]:
    """An ``on_event`` for refresh that appends ``<type> <name>: <properties>`` to
    ``found`` for each resource whose state the refresh changed."""

    def on_event(event: Any) -> None:
        outputs = getattr(event, "res_outputs_event", None)
        meta = getattr(outputs, "metadata", None)
        if meta is None:
            return
        changed = list(meta.diffs or []) or changed_properties(meta.old, meta.new)
        if not changed:
            return
        shown = changed[:MAX_PROPERTIES]
        more = len(changed) - len(shown)
        name = meta.urn.split("::")[-1]
        found.append(f"{meta.type} {name}: {', '.join(shown)}{f' +{more} more' if more else ''}")

    return on_event


def finding(found: list[str]) -> str:
    return f"drift: {'; '.join(found)} (moto or the cloud differs from the state)"
