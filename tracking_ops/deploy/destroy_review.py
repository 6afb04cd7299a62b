"""Destroys reviewed like deploys: what goes, per layer (counts and names, the
stateful and protected ones marked as review.py marks them), which layers go with
a layer's deployed readers, and the confirmation (terminal, or --yes)."""

from __future__ import annotations

from collections.abc import Callable

from tracking_ops.deploy import planner
from tracking_ops.deploy.destroy_guard import DestroyRefused
from tracking_ops.deploy.fingerprints import LayerState
from tracking_ops.deploy.review import (
    DELETE,
    LayerPreview,
    ReviewRefused,
    Step,
    confirm,
    summary_lines,
)
from tracking_stacks.registry import Layer, downstream_of

WITH_READERS_FLAG = "--with-readers"
StateOf = Callable[[Layer], LayerState | None]


def destroy_targets(layer: Layer | None, with_readers: bool, state_of: StateOf) -> list[Layer]:
    """The layers to destroy, in destroy order: all of them, or ``layer`` (after its
    deployed readers with ``with_readers``); a layer with deployed readers is refused
    alone, since its readers would be left reading what is gone."""
    if layer is None:
        return list(planner.destroy_order())
    readers = [reader for reader in downstream_of(layer) if state_of(reader) is not None]
    if readers and not with_readers:
        names = ", ".join(reader.value for reader in readers)
        raise DestroyRefused(
            f"refusing to destroy {layer.value} alone: its readers are deployed ({names}); "
            f"destroy them first, or rerun with {WITH_READERS_FLAG} to destroy them too"
        )
    chosen = {layer, *readers}
    return [candidate for candidate in planner.destroy_order() if candidate in chosen]


def destroy_preview(layer: Layer, state: LayerState | None) -> LayerPreview:
    """What destroying ``layer`` deletes: every deployed resource, as a delete step."""
    if state is None:
        return LayerPreview(layer=layer)
    steps = [Step(DELETE, urn, typ) for urn, typ in state.resources]
    counts = {DELETE: max(state.resource_count, len(steps))}
    return LayerPreview(layer=layer, counts=counts, steps=steps, protected=state.protected)


def review_destroy(
    env: str,
    layers: list[Layer],
    state_of: StateOf,
    yes: bool,
    is_terminal: Callable[[], bool],
    ask: Callable[[str], str],
    show: Callable[[str], None] = print,
) -> None:
    """Print what goes per layer, then proceed with --yes or a 'y' at a terminal."""
    for line in summary_lines(destroy_preview(layer, state_of(layer)) for layer in layers):
        show(line)
    try:
        confirm(f"Destroy these resources in {env}?", yes, is_terminal, ask)
    except ReviewRefused as exc:
        raise DestroyRefused(f"{exc}; nothing was destroyed") from None
