"""A fake of the engine adapter (tracking_ops.deploy.deployer.PulumiDeployer) for the
deploy flow: stacks as dicts; an `up` exports what the layer's program would,
including the fingerprints of what it read (as tracking_stacks/program.py does)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tracking_ops.deploy.fingerprints import LayerState, deploy_message
from tracking_ops.deploy.review import LayerPreview
from tracking_stacks.references import output_fingerprint, read_key
from tracking_stacks.registry import REGISTRY, Layer, Output


def urn(layer: Layer, typ: str, name: str, env: str = "dev") -> str:
    return f"urn:pulumi:{env}::{REGISTRY[layer].project}::{typ}::{name}"


class FakeEngine:
    def __init__(self, env: str = "dev"):
        self.env = env
        self.stacks: dict[Layer, LayerState] = {}
        self.next_preview: dict[Layer, LayerPreview] = {}  # what a preview of a layer shows
        self.version: dict[Layer, int] = {layer: 1 for layer in Layer}  # its outputs' values
        self.changed_outputs: dict[Layer, set[Output]] = {}  # outputs that follow the version
        self.failing: set[Layer] = set()
        self.calls: list[tuple[str, Layer, Any]] = []
        self.removed: list[Layer] = []
        self.configs: dict[Layer, dict[str, str]] = {}  # set through the engine (releases)

    # --- what the flow and the tasks call ---
    def state(self, layer: Layer) -> LayerState | None:
        return self.stacks.get(layer)

    def outputs(self, layer: Layer) -> dict[str, Any] | None:
        state = self.stacks.get(layer)
        return copy.deepcopy(state.outputs) if state else None

    def preview(self, layer: Layer, plan: str | None = None) -> LayerPreview:
        self.calls.append(("preview", layer, plan))
        shown = copy.deepcopy(
            self.next_preview.get(layer) or LayerPreview(layer, counts={"update": 1})
        )
        shown.plan = plan
        return shown

    def up(self, layer: Layer, plan: str | None = None, message: str = "") -> dict[str, int]:
        self.calls.append(("up", layer, plan))
        if layer in self.failing:
            raise RuntimeError(f"error: {layer.value} failed")
        self.stacks[layer] = LayerState(
            outputs=self.program_outputs(layer),
            resource_count=3,
            last_update=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
            last_result="succeeded",
            last_message=message,
        )
        return {"update": 1}

    def config(self, layer: Layer, keys) -> dict[str, str]:
        return {k: v for k, v in self.configs.get(layer, {}).items() if k in keys}

    def set_config(self, layer: Layer, values, remove=()) -> None:
        self.calls.append(("set_config", layer, (dict(values), tuple(remove))))
        found = self.configs.setdefault(layer, {})
        found.update(values)
        for key in remove:
            found.pop(key, None)

    def destroy(self, layer: Layer) -> dict[str, int]:
        self.calls.append(("destroy", layer, None))
        self.stacks.pop(layer, None)
        return {"delete": 3}

    def remove(self, layer: Layer) -> None:
        self.removed.append(layer)

    # --- helpers for tests ---
    def program_outputs(self, layer: Layer) -> dict[str, Any]:
        """What the layer's program exports: its outputs, and for a consumer the
        fingerprint of every producer output it read."""
        follows = self.changed_outputs.get(layer, set(REGISTRY[layer].exports))
        outputs: dict[str, Any] = {
            o.value: f"{layer.value}-{o.value}-v{self.version[layer] if o in follows else 1}"
            for o in REGISTRY[layer].exports
            if o is not Output.READ_FINGERPRINTS
        }
        if REGISTRY[layer].reads:
            outputs[Output.READ_FINGERPRINTS.value] = {
                read_key(producer, name): output_fingerprint(
                    self.stacks[producer].outputs[name.value]
                )
                for producer, names in REGISTRY[layer].reads.items()
                for name in names
            }
        return outputs

    def deploy_everything(self, parts) -> None:
        """Every layer deployed once, as `invoke deploy-all` records it."""
        for layer in Layer:  # registry order is a deploy order
            self.up(layer, message=deploy_message(parts(layer)))
        self.calls.clear()

    def mark(self, layer: Layer, **changes: Any) -> None:
        self.stacks[layer] = replace(self.stacks[layer], **changes)

    def ups(self) -> list[Layer]:
        return [layer for op, layer, _ in self.calls if op == "up"]

    def previews(self) -> list[Layer]:
        return [layer for op, layer, _ in self.calls if op == "preview"]
