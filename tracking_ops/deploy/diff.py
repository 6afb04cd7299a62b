"""`invoke diff`: the CDK-style name for a combined preview (engine_runs.preview_layers,
policy pack included), and what would change, so ``--fail`` can exit 1 as
`cdk diff --fail` does. Without the engine it says what it cannot do, and what can be
done offline instead."""

from __future__ import annotations

from dataclasses import dataclass

from tracking_ops.deploy import engine_runs
from tracking_ops.deploy.preflight import OFFLINE_HINT, PreflightError
from tracking_ops.deploy.review import LayerPreview
from tracking_stacks.registry import Layer

OFFLINE_DIFF = (
    "diff compares each layer's program with its deployed stack through Pulumi's engine, "
    "which cannot run here: {why} Offline, without the engine: `invoke synth --env {env}` "
    "lists every resource each layer declares (not compared with what is deployed), and "
    "`invoke synth --env {env} --diff OTHER` the inputs that differ from env OTHER."
)


@dataclass(frozen=True)
class DiffResult:
    """What the preview found: the layers that would change, and those not previewed
    (their producers are not deployed, so deploying them changes something too)."""

    changed: tuple[Layer, ...]
    not_previewed: tuple[Layer, ...]

    @property
    def would_change(self) -> tuple[Layer, ...]:
        return self.changed + self.not_previewed

    def line(self) -> str:
        if not self.would_change:
            return "diff: no changes"
        parts = []
        if self.changed:
            parts.append(f"{', '.join(layer.value for layer in self.changed)} would change")
        if self.not_previewed:
            parts.append(
                f"{', '.join(layer.value for layer in self.not_previewed)} not previewed "
                "(not deployed: a deploy creates them)"
            )
        return "diff: " + "; ".join(parts)


def result_of(layers: list[Layer], previews: list[LayerPreview]) -> DiffResult:
    previewed = {preview.layer: preview for preview in previews}
    return DiffResult(
        changed=tuple(
            layer for layer in layers if layer in previewed and previewed[layer].has_changes
        ),
        not_previewed=tuple(layer for layer in layers if layer not in previewed),
    )


def _without_offline_hint(message: str, env: str) -> str:
    return message.replace(OFFLINE_HINT.format(env=env), "").strip()


def diff_layers(env: str, layers: list[Layer], base: str = "", verbose: bool = False) -> DiffResult:
    """Preview ``layers`` as `invoke preview` does and say what would change; a
    PreflightError saying what diff cannot do offline when the engine is missing."""
    try:
        previews = engine_runs.preview_layers(env, layers, base=base, verbose=verbose)
    except PreflightError as exc:
        why = _without_offline_hint(str(exc), env)
        raise PreflightError(OFFLINE_DIFF.format(why=why, env=env)) from None
    return result_of(layers, previews)
