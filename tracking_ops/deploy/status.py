"""`invoke status`: per layer, deployed or not, last update, resource count, and
whether what it read at its last deploy is still what its producers export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from tracking_ops.deploy.fingerprints import (
    CONFIG,
    PROGRAM,
    LayerState,
    parse_message,
    recorded_reads,
    source_parts,
    stale_reads,
)
from tracking_ops.deploy.planner import deploy_order
from tracking_ops.deploy.release_routing import release_note
from tracking_stacks.registry import REGISTRY, Layer


class StateSource(Protocol):
    def state(self, layer: Layer) -> LayerState | None: ...


def verdict(layer: Layer, state: LayerState | None, outputs_of: Callable[[Layer], Any]) -> str:
    if state is None:
        return "not deployed"
    stale = stale_reads(layer, recorded_reads(state), outputs_of)
    if stale:
        return f"stale: reads {', '.join(stale)}, changed since"
    return "up to date"


def local_changes(layer: Layer, state: LayerState, env: str, base: str | None) -> str:
    """Program or config edited here since the last deploy (assets need a build: not checked)."""
    recorded = parse_message(state.last_message)
    if recorded is None:
        return "last update not made by invoke"
    now = source_parts(layer, env, base)
    changed = [part for part in (PROGRAM, CONFIG) if recorded.get(part) != now[part]]
    return f"local {' and '.join(changed)} changed since" if changed else ""


def status_lines(source: StateSource, env: str, base: str | None = None) -> list[str]:
    states = {layer: source.state(layer) for layer in deploy_order()}

    def outputs_of(layer: Layer) -> dict[str, Any] | None:
        state = states[layer]
        return state.outputs if state else None

    rows = [("layer", "stack", "last update", "resources", "status")]
    for layer, state in states.items():
        stack = f"{REGISTRY[layer].project}/{env}"
        if state is None:
            rows.append((layer.value, stack, "-", "-", verdict(layer, state, outputs_of)))
            continue
        when = f"{state.last_update:%Y-%m-%d %H:%M} UTC" if state.last_update else "never"
        if state.last_result and state.last_result != "succeeded":
            when += f" ({state.last_result})"
        text = verdict(layer, state, outputs_of)
        extra = "; ".join(
            note
            for note in (local_changes(layer, state, env, base), release_note(state.outputs))
            if note
        )
        rows.append(
            (
                layer.value,
                stack,
                when,
                str(state.resource_count),
                text + (f"; {extra}" if extra else ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + "  "
        + row[4]
        for row in rows
    ]
