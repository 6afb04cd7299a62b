"""Plan, review, apply over several layers.

1. Decide per layer whether it runs, and say why (never deployed, what changed,
   stale reads, --force, requested) or why it is skipped.
2. Preview every layer that runs (saving an update plan), print one combined
   summary, refuse risky prod changes without the flag, ask for confirmation.
3. Apply in DAG order with the reviewed plan. A layer whose producer changed
   what it reads during this run, or that could not be previewed because its
   upstream was not deployed yet, is previewed again right before it applies;
   replacements or deletions that were not reviewed need a confirmation (or
   --yes, and the prod flag) first. A skipped layer that became stale runs.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tracking_ops.deploy.collisions import refuse_colliding_replacements
from tracking_ops.deploy.executor import Unchanged
from tracking_ops.deploy.fingerprints import (
    Decision,
    LayerState,
    decide,
    deploy_message,
    recorded_reads,
    stale_reads,
)
from tracking_ops.deploy.redeploy import removes_snapshot_parts, second_deployment
from tracking_ops.deploy.review import (
    DESTRUCTIVE,
    LayerPreview,
    confirm,
    guard_prod,
    summary_lines,
)
from tracking_ops.deploy.upstream import check_upstream
from tracking_stacks.references import output_fingerprint, read_key
from tracking_stacks.registry import REGISTRY, Layer


class Engine(Protocol):
    """What the flow needs from the engine adapter (tracking_ops.deploy.deployer.PulumiDeployer)."""

    def state(self, layer: Layer) -> LayerState | None: ...
    def outputs(self, layer: Layer) -> dict[str, Any] | None: ...
    def preview(self, layer: Layer, plan: str | None = None) -> LayerPreview: ...
    def up(self, layer: Layer, plan: str | None = None, message: str = "") -> dict[str, int]: ...


@dataclass
class Console:
    """Where lines go and how a confirmation is asked (a terminal, or not)."""

    out: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    is_terminal: Callable[[], bool] = field(default=lambda: sys.stdin.isatty())
    ask: Callable[[str], str] = field(default=lambda question: input(question))


@dataclass
class DeployRequest:
    env: str
    layers: list[Layer]  # candidates, in deploy order
    always: frozenset[Layer]  # run whatever the fingerprints say
    always_reason: str  # e.g. "requested", "--force"
    parts: Callable[[Layer], dict[str, str]]  # program/config/assets fingerprints
    sources_count: bool = True  # False: only stale reads make a layer run (--downstream)
    yes: bool = False
    allow_stateful: bool = False
    plan_dir: Path | None = None  # where update plans are saved; None: apply without plans
    # For a layer never deployed whose upstream is not deployed either: the resources
    # its program declares, from the offline synth (all of them are creates).
    offline_resources: Callable[[Layer], int | None] = lambda layer: None


class DeployFlow:
    def __init__(self, engine: Engine, request: DeployRequest, console: Console | None = None):
        self.engine = engine
        self.request = request
        self.console = console or Console()
        self.states: dict[Layer, LayerState | None] = {}
        self.decisions: dict[Layer, Decision] = {}
        self.previews: dict[Layer, LayerPreview] = {}
        self._reviewed_inputs: dict[Layer, dict[str, str]] = {}
        self._previewed_again: dict[Layer, LayerPreview] = {}  # what was applied instead
        self._outputs: dict[Layer, dict[str, Any] | None] = {}
        self._lock = threading.Lock()
        self._prompt = threading.Lock()

    # -- what the layers read -------------------------------------------------
    def outputs_of(self, layer: Layer) -> dict[str, Any] | None:
        with self._lock:
            if layer not in self._outputs:
                self._outputs[layer] = self.engine.outputs(layer)
            return self._outputs[layer]

    def _inputs(self, layer: Layer) -> dict[str, str]:
        found = {}
        for producer, names in REGISTRY[layer].reads.items():
            outputs = self.outputs_of(producer) or {}
            for name in names:
                if name.value in outputs:
                    found[read_key(producer, name)] = output_fingerprint(outputs[name.value])
        return found

    def _plan_path(self, layer: Layer) -> str | None:
        if self.request.plan_dir is None:
            return None
        return str(self.request.plan_dir / f"{layer.value}-{self.request.env}.plan.json")

    def _preview(self, layer: Layer) -> LayerPreview:
        preview = self.engine.preview(layer, self._plan_path(layer))
        state = self.states.get(layer)
        preview.protected = state.protected if state else frozenset()
        return preview

    # -- 1 and 2: decide, preview, review ---------------------------------------
    def review(self) -> list[str]:
        request = self.request
        for layer in request.layers:
            self.states[layer] = self.engine.state(layer)
            if layer in request.always:
                self.decisions[layer] = Decision(True, request.always_reason)
            else:
                parts = request.parts(layer) if request.sources_count else None
                self.decisions[layer] = decide(layer, self.states[layer], self.outputs_of, parts)
        running = [layer for layer in request.layers if self.decisions[layer].run]
        for layer in running:
            waiting = self._undeployed_upstream(layer, running)
            if waiting:
                offline = None if self.states[layer] else request.offline_resources(layer)
                creates = f"offline synth: {offline} resources to create; " if offline else ""
                self.previews[layer] = LayerPreview(
                    layer,
                    note=f"not previewed yet: {waiting} is not deployed ({creates}the engine "
                    "previews it after that, before it is applied)",
                )
                continue
            self._reviewed_inputs[layer] = self._inputs(layer)
            self.previews[layer] = self._preview(layer)
        lines = [f"Review of {request.env}:"]
        for layer in request.layers:
            decision = self.decisions[layer]
            verb = "deploy" if decision.run else "skip"
            lines.append(f"  {layer.value}: {verb} ({decision.reason})")
        lines += summary_lines(self.previews[layer] for layer in running)
        for line in lines:
            self.console.out(line)
        guard_prod(request.env, self.previews.values(), request.allow_stateful)
        refuse_colliding_replacements(request.env, self.previews.values())
        pending = [p for p in self.previews.values() if p.has_changes or not p.previewed]
        if pending:
            confirm(
                f"Apply these changes to {request.env}?",
                request.yes,
                self.console.is_terminal,
                self.console.ask,
            )
        elif running:
            self.console.out("No resource changes; the deploys only record what they read.")
        return lines

    def _undeployed_upstream(self, layer: Layer, running: list[Layer]) -> str:
        """The first producer not deployed (or lacking an output) that this run deploys
        first; a producer outside the run that is not ready fails as before."""
        for producer, required in REGISTRY[layer].reads.items():
            outputs = self.outputs_of(producer)
            ready = outputs is not None and all(name.value in outputs for name in required)
            if not ready:
                if producer in running:
                    return f"{REGISTRY[producer].project}/{self.request.env}"
                check_upstream(layer, self.request.env, self.outputs_of)
        return ""

    # -- 3: apply ---------------------------------------------------------------
    def apply(self, layer: Layer) -> Mapping[str, int]:
        reviewed = self.previews.get(layer)
        if not self.decisions[layer].run:
            state = self.states[layer]
            stale = stale_reads(layer, recorded_reads(state), self.outputs_of)
            if state is None or not stale:
                raise Unchanged(self.decisions[layer].reason)
            self.console.out(
                f"[{layer.value}] now stale: reads {', '.join(stale)}, changed during this deploy"
            )
        if (
            reviewed is not None
            and reviewed.previewed
            and self._inputs(layer) == self._reviewed_inputs.get(layer)
        ):
            plan = reviewed.plan
        else:
            plan = self._preview_again(layer, reviewed)
        message = deploy_message(self.request.parts(layer))
        changes = self.engine.up(layer, plan, message)
        removed = removes_snapshot_parts(layer, self._previewed_again.get(layer, reviewed))
        if removed:  # the first deployment still snapshotted them: deploy once more
            second_deployment(self.engine, layer, removed, message, self.console.out)
        with self._lock:
            self._outputs[layer] = self.engine.outputs(layer)
        return changes

    def _preview_again(self, layer: Layer, reviewed: LayerPreview | None) -> str | None:
        fresh = self._preview(layer)
        self._previewed_again[layer] = fresh
        for line in summary_lines([fresh]):
            self.console.out(f"[{layer.value}] previewed now: {line}")
        known = set()
        if reviewed is not None:
            known = {step.urn for kind in DESTRUCTIVE for step in reviewed.changed(kind)}
        unreviewed = [s for kind in DESTRUCTIVE for s in fresh.changed(kind) if s.urn not in known]
        if unreviewed:
            guard_prod(self.request.env, [fresh], self.request.allow_stateful)
            refuse_colliding_replacements(self.request.env, [fresh])
            with self._prompt:
                confirm(
                    f"Apply {layer.value}'s changes shown above (not in the first review)?",
                    self.request.yes,
                    self.console.is_terminal,
                    self.console.ask,
                )
        return fresh.plan
