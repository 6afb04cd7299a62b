"""A drift check's finding in one line: which resources a `refresh
--expect-no-changes` found changed in the cloud, and which properties, from the
engine's step events (each refresh step carries the state before and after)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_PROPERTIES = 6  # per resource in the line; the rest as "+N more"
# A drift check is `pulumi refresh --preview-only --expect-no-changes` (the Automation
# API's preview_refresh): it reads the cloud and saves no state. The engine's
# --expect-no-changes alone fails only after saving the refreshed state, so the same
# check run again would pass and hide the drift. The CLI takes
# PULUMI_SKIP_CONFIRMATIONS (which the sandbox sets) as --yes, and refuses --yes with
# --preview-only: a check turns it off for its own run.
CHECK_ENV = {"PULUMI_SKIP_CONFIRMATIONS": "false"}


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
