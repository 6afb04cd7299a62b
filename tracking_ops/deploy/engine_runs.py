"""The runs the engine tasks start: an engine adapter checked by preflight, the function
assets built when compute is deployed, the execution over the layer DAG, and the
deploy itself (plan, review, apply; see tracking_ops/deploy/flow.py). The tasks in
tracking_ops/tasks/ parse flags and call these; deploy and canary share them here."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tracking_ops.deploy import deploy_roles, destroy_guard, preflight
from tracking_ops.deploy.build import build_functions
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_ops.deploy.destroy_review import destroy_targets, review_destroy
from tracking_ops.deploy.executor import DONE, Reporter, Unchanged, execute
from tracking_ops.deploy.fingerprints import source_parts
from tracking_ops.deploy.flow import Console, DeployFlow, DeployRequest
from tracking_ops.deploy.release_routing import refuse_if_in_progress
from tracking_ops.deploy.review import LayerPreview, summary_lines
from tracking_ops.deploy.synth import SynthError, synth_all
from tracking_ops.progress import Progress
from tracking_stacks.definitions import FUNCTIONS
from tracking_stacks.naming import is_branch_env
from tracking_stacks.registry import REGISTRY, Layer, downstream_of

# What a run again does with the layers a Ctrl-C let finish.
RERUN_HINTS = {
    "deploy": "a re-run skips the finished layers (unchanged since their deploy)",
    "destroy": "a re-run destroys the rest",
}


class RunIncomplete(Exception):
    """Some layers did not complete; the message is the whole line (each layer's own
    failure was reported as it happened)."""


def open_deployer(
    env: str, verbose: bool, need_credentials: bool = True, base: str = "", plans: bool = False
) -> PulumiDeployer:
    """The engine adapter for ``env`` once preflight passed (the engine's output streamed
    with ``verbose``)."""
    preflight.run_all(env, need_credentials=need_credentials)
    provider, engine_env = preflight.secrets_settings(env)
    roles = deploy_roles.resolve(env, deploy_roles.caller_account, base or None)
    # Without deploy roles the adapter is built exactly as before (issue 27).
    as_roles = {"roles": roles} if roles else {}
    return PulumiDeployer(
        env=env,
        secrets_provider=provider,
        engine_env=engine_env,
        on_output=(lambda line: print(line, flush=True)) if verbose else None,
        base=base or None,
        use_plans=plans,
        **as_roles,
    )


def build_assets(layers: list[Layer]) -> dict[str, str]:
    """Build the function assets when compute is among ``layers``: what -> sha256."""
    built: dict[str, str] = {}
    if Layer.COMPUTE in layers:
        for artifact in build_functions(
            list(FUNCTIONS),
            lambda built, _: (
                f"built {built.function}: {built.path.name} sha256 {built.sha256[:12]}"
            ),
        ):
            built[artifact.function] = artifact.sha256
    return built


def run_layers(
    layers: list[Layer],
    action: Callable[[Layer], Mapping[str, int]],
    verb: str,
    reverse: bool = False,
) -> None:
    """Execute over the DAG (reversed for destroy); RunIncomplete on any failure."""

    def depends_on(name: str) -> list[str]:
        layer = Layer(name)
        related = downstream_of(layer) if reverse else REGISTRY[layer].upstream
        return [other.value for other in related]

    outcomes = execute(
        [layer.value for layer in layers],
        depends_on,
        lambda name: action(Layer(name)),
        Reporter(verb=verb),
        progress=Progress(verb, len(layers)),
        rerun_hint=RERUN_HINTS.get(verb, ""),
    )
    failed = [o.name for o in outcomes if o.status not in DONE]
    if failed:
        raise RunIncomplete(f"{verb} did not complete: {', '.join(failed)} not done")


def offline_counts(env: str, base: str) -> Callable[[Layer], int | None]:
    """Resources per layer from the offline synth, computed once on first use; None if
    the synth fails (the review then shows no count: the deploy itself is unaffected)."""
    counts: dict[Layer, int] = {}

    def count(layer: Layer) -> int | None:
        if not counts:
            try:
                results = synth_all(env, base=base or None)
            except SynthError:
                return None
            counts.update({result.layer: len(result.resources) for result in results})
        return counts.get(layer)

    return count


@dataclass(frozen=True)
class ApplyFlags:
    """How a reviewed deploy applies: the flags deploy, deploy-all and a canary share."""

    yes: bool = False
    allow_stateful_changes: bool = False
    plan: bool = True
    verbose: bool = False


@dataclass(frozen=True)
class DeployRun:
    """One `invoke deploy` or `invoke deploy-all`, as its flags ask for it."""

    env: str
    layers: list[Layer]
    flags: ApplyFlags = field(default_factory=ApplyFlags)
    always: set[Layer] = field(default_factory=set)  # deployed even when unchanged
    always_reason: str = "requested"
    base: str = ""
    sources_count: bool = False


def deploy_layers(run: DeployRun, console: Console | None = None) -> None:
    """Plan, review, apply ``run.layers`` (see tracking_ops/deploy/flow.py)."""
    flags = run.flags
    deployer = open_deployer(run.env, flags.verbose, base=run.base, plans=flags.plan)
    if Layer.COMPUTE in run.layers:
        note = refuse_if_in_progress(deployer, run.env)  # a plain deploy would keep its routing
        if note:
            print(note)
    assets = build_assets(run.layers)
    with tempfile.TemporaryDirectory(prefix="tracking-plans-") as plan_dir:
        request = DeployRequest(
            env=run.env,
            layers=run.layers,
            always=frozenset(run.always),
            always_reason=run.always_reason,
            parts=lambda layer: source_parts(layer, run.env, run.base or None, assets),
            sources_count=run.sources_count,
            yes=flags.yes,
            allow_stateful=flags.allow_stateful_changes,
            plan_dir=Path(plan_dir) if flags.plan else None,
            offline_resources=offline_counts(run.env, run.base),
        )
        flow = DeployFlow(deployer, request, console)
        flow.review()
        run_layers(run.layers, flow.apply, "deploy")


def preview_layers(
    env: str, layers: list[Layer], base: str = "", verbose: bool = False
) -> list[LayerPreview]:
    """Preview ``layers`` (policy pack included) and print the combined summary; a layer
    whose producers are not deployed yet is not previewed (the engine cannot read them).
    Returns the previews made, in ``layers``' order (a layer not previewed has none)."""
    deployer = open_deployer(env, verbose, base=base)
    build_assets(layers)
    previews = []

    def action(layer: Layer) -> dict[str, int]:
        for producer in REGISTRY[layer].upstream:
            if deployer.outputs(producer) is None:
                raise Unchanged(
                    f"not previewed: {REGISTRY[producer].project}/{env} is not deployed yet "
                    f"(the engine cannot read it); `invoke synth --env {env}` shows it offline"
                )
        result = deployer.preview(layer)
        previews.append(result)
        return {k: v for k, v in result.counts.items() if v}

    try:
        run_layers(layers, action, "preview")
    finally:
        order = {layer: i for i, layer in enumerate(layers)}
        previews.sort(key=lambda p: order[p.layer])
        for line in summary_lines(previews):
            print(line)
    return previews


def destroy_layers(
    env: str,
    base: str = "",
    verbose: bool = False,
    layer: Layer | None = None,
    with_readers: bool = False,
    yes: bool = False,
    console: Console | None = None,
) -> None:
    """Destroy every layer (or ``layer``, with its deployed readers first when
    ``with_readers``) in reverse dependency order, after showing what goes and a
    confirmation; a per-branch env's stacks and their config go too."""
    console = console or Console()
    deployer = open_deployer(env, verbose, base=base)
    branch = is_branch_env(env)
    layers = destroy_targets(layer, with_readers, deployer.state)

    def destroy(target: Layer) -> dict[str, int]:
        changes = deployer.destroy(target)
        if branch:
            deployer.remove(target)
        return changes

    # Every layer's protected resources first: none destroyed while any is protected.
    destroy_guard.refuse_if_protected(env, layers, deployer.state)
    review_destroy(env, layers, deployer.state, yes, console.is_terminal, console.ask, console.out)
    run_layers(layers, destroy, "destroy", reverse=True)


def refresh_layers(
    env: str, layers: list[Layer], expect_no_changes: bool, base: str = "", verbose: bool = False
) -> None:
    """Refresh ``layers``' state from the cloud; with ``expect_no_changes`` a drift check."""
    deployer = open_deployer(env, verbose, base=base)
    run_layers(layers, lambda layer: deployer.refresh(layer, expect_no_changes), "refresh")
