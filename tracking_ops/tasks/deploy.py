"""Tasks that drive Pulumi's engine: deploy (plan, review, apply), preview,
destroy, refresh, outputs, status, and the smoke test of a deployed API."""

from __future__ import annotations

import json as jsonlib
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from invoke import Context, Exit, task

from tracking_ops.deploy import destroy_guard, planner, preflight
from tracking_ops.deploy import status as status_module
from tracking_ops.deploy.build import build_function
from tracking_ops.deploy.canary import refuse_if_in_progress
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_ops.deploy.executor import DONE, Reporter, Unchanged, execute
from tracking_ops.deploy.fingerprints import source_parts
from tracking_ops.deploy.flow import Console, DeployFlow, DeployRequest
from tracking_ops.deploy.review import summary_lines
from tracking_ops.deploy.synth import SynthError, synth_all
from tracking_ops.operate.smoke import Smoke, SmokeError, is_local, sigv4_signer
from tracking_ops.tasks import release
from tracking_ops.tasks.common import (
    HELP_ENV,
    HELP_FROM,
    HELP_STACK,
    HELP_VERBOSE,
    check_env,
    layer_arg,
    one_line_errors,
)
from tracking_stacks.definitions import FUNCTIONS
from tracking_stacks.naming import is_branch_env
from tracking_stacks.registry import REGISTRY, Layer, Output, downstream_of

HELP_YES = "apply without asking (for CI); without a terminal, deploys refuse unless given"
HELP_ALLOW = "prod only: allow replacing or deleting stateful or protected resources"
HELP_PLAN = "apply exactly the reviewed update plan (Pulumi's experimental plans; default on)"


def _deployer(
    env: str, verbose: bool, need_credentials: bool = True, base: str = "", plans: bool = False
) -> PulumiDeployer:
    preflight.run_all(env, need_credentials=need_credentials)
    provider, engine_env = preflight.secrets_settings(env)
    return PulumiDeployer(
        env=env,
        secrets_provider=provider,
        engine_env=engine_env,
        on_output=(lambda line: print(line, flush=True)) if verbose else None,
        base=base or None,
        use_plans=plans,
    )


def _build_if_deploying(layers: list[Layer]) -> dict[str, str]:
    """Build the function assets when compute is among ``layers``: what -> sha256."""
    built: dict[str, str] = {}
    if Layer.COMPUTE in layers:
        for spec in FUNCTIONS:
            artifact = build_function(spec)
            built[spec.what] = artifact.sha256
            print(f"built {spec.what}: {artifact.path.name} sha256 {artifact.sha256[:12]}")
    return built


def run_layers(
    layers: list[Layer],
    action: Callable[[Layer], Mapping[str, int]],
    verb: str,
    reverse: bool = False,
) -> None:
    """Execute over the DAG (reversed for destroy) and exit non-zero on any failure."""

    def depends_on(name: str) -> list[str]:
        layer = Layer(name)
        related = downstream_of(layer) if reverse else REGISTRY[layer].upstream
        return [other.value for other in related]

    outcomes = execute(
        [layer.value for layer in layers],
        depends_on,
        lambda name: action(Layer(name)),
        Reporter(verb=verb),
    )
    failed = [o.name for o in outcomes if o.status not in DONE]
    if failed:
        raise Exit(f"{verb} did not complete: {', '.join(failed)} not done", code=1)


def _deploy(
    env: str,
    base: str,
    layers: list[Layer],
    always: set[Layer],
    always_reason: str,
    sources_count: bool,
    yes: bool,
    allow_stateful_changes: bool,
    plan: bool,
    verbose: bool,
    console: Console | None = None,
) -> None:
    """Plan, review, apply ``layers`` (see tracking_ops/deploy/flow.py)."""
    deployer = _deployer(env, verbose, base=base, plans=plan)
    if Layer.COMPUTE in layers:
        note = refuse_if_in_progress(deployer, env)  # a plain deploy would keep its routing on
        if note:
            print(note)
    assets = _build_if_deploying(layers)
    with tempfile.TemporaryDirectory(prefix="tracking-plans-") as plan_dir:
        request = DeployRequest(
            env=env,
            layers=layers,
            always=frozenset(always),
            always_reason=always_reason,
            parts=lambda layer: source_parts(layer, env, base or None, assets),
            sources_count=sources_count,
            yes=yes,
            allow_stateful=allow_stateful_changes,
            plan_dir=Path(plan_dir) if plan else None,
            offline_resources=_offline_counts(env, base),
        )
        flow = DeployFlow(deployer, request, console)
        flow.review()
        run_layers(layers, flow.apply, "deploy")


def _offline_counts(env: str, base: str) -> Callable[[Layer], int | None]:
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


@task(
    help={
        "env": HELP_ENV,
        "from_": HELP_FROM,
        "yes": HELP_YES,
        "force": "deploy every layer, even those unchanged since their last deploy",
        "allow_stateful_changes": HELP_ALLOW,
        "plan": HELP_PLAN,
        "verbose": HELP_VERBOSE,
    }
)
def deploy_all(
    c: Context,
    env: str = "dev",
    from_: str = "",
    yes: bool = False,
    force: bool = False,
    allow_stateful_changes: bool = False,
    plan: bool = True,
    verbose: bool = False,
) -> None:
    """Deploy every layer that changed, after one combined review (builds the assets first).

    A layer is skipped when its program, config, function assets and the outputs it
    reads are unchanged since its last successful deploy; each line says why.
    """
    with one_line_errors():
        layers = planner.deploy_order()
        _deploy(
            check_env(env, from_),
            from_,
            layers,
            set(layers) if force else set(),
            "--force",
            True,
            yes,
            allow_stateful_changes,
            plan,
            verbose,
        )


@task(
    positional=[],
    help={
        "stack": f"required: {HELP_STACK}",
        "env": HELP_ENV,
        "from_": HELP_FROM,
        "downstream": "also redeploy the readers whose read outputs changed (others: up to date)",
        "all_downstream": "also redeploy every layer that reads this one, changed or not",
        "yes": HELP_YES,
        "allow_stateful_changes": HELP_ALLOW,
        "plan": HELP_PLAN,
        "verbose": HELP_VERBOSE,
        "canary": release.HELP_CANARY,
        "bake": release.HELP_BAKE,
        "poll": release.HELP_POLL,
    },
)
def deploy(
    c: Context,
    stack: str = "",
    env: str = "dev",
    from_: str = "",
    downstream: bool = False,
    all_downstream: bool = False,
    yes: bool = False,
    allow_stateful_changes: bool = False,
    plan: bool = True,
    verbose: bool = False,
    canary: int = 0,
    bake: str = release.DEFAULT_BAKE,
    poll: int = release.DEFAULT_POLL,
) -> None:
    """Deploy one layer after a review, once its upstream stacks exist and export what it needs.

    With --canary (compute only): a canary release of the API function, see README.
    """
    if not stack:
        raise Exit("deploy needs --stack LAYER (or use deploy-all)", code=2)
    layer = layer_arg(stack)
    if canary:
        if layer is not Layer.COMPUTE or downstream or all_downstream or from_:
            raise Exit("--canary: only with --stack compute, without --downstream or --from", 2)
        with one_line_errors():
            deployer = _deployer(check_env(env), verbose, plans=plan)
            assets = _build_if_deploying([layer])
            release.run_canary(
                deployer, env, assets, canary, bake, poll, yes, allow_stateful_changes, plan
            )
        return
    with one_line_errors():
        check_env(env, from_)
        layers = planner.with_downstream(layer) if downstream or all_downstream else [layer]
        always = set(layers) if all_downstream else {layer}
        _deploy(
            env,
            from_,
            layers,
            always,
            "--all-downstream" if all_downstream else "requested",
            False,
            yes,
            allow_stateful_changes,
            plan,
            verbose,
        )


@task(
    help={
        "env": HELP_ENV,
        "from_": HELP_FROM,
        "stack": f"{HELP_STACK} (default: all)",
        "verbose": HELP_VERBOSE,
    }
)
def preview(
    c: Context, env: str = "dev", from_: str = "", stack: str = "", verbose: bool = False
) -> None:
    """Preview one layer or all (policy pack included) and print the combined summary.

    Offline: `invoke synth`.
    """
    layers = [layer_arg(stack)] if stack else planner.deploy_order()
    with one_line_errors():
        deployer = _deployer(check_env(env, from_), verbose, base=from_)
        _build_if_deploying(layers)
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
            for line in summary_lines(sorted(previews, key=lambda p: order[p.layer])):
                print(line)


@task(
    help={
        "env": HELP_ENV,
        "from_": HELP_FROM,
        "verbose": HELP_VERBOSE,
        "yes_destroy_prod": "required to destroy prod",
    }
)
def destroy_all(
    c: Context,
    env: str = "dev",
    from_: str = "",
    yes_destroy_prod: bool = False,
    verbose: bool = False,
) -> None:
    """Destroy all layers in reverse dependency order (prod needs --yes-destroy-prod).

    A per-branch env (pr-123) is removed completely: resources, stacks and their config.
    """
    with one_line_errors():
        preflight.confirm_destroy(check_env(env, from_), yes_destroy_prod)
        deployer = _deployer(env, verbose, base=from_)
        branch = is_branch_env(env)

        def destroy(layer: Layer) -> dict[str, int]:
            changes = deployer.destroy(layer)
            if branch:
                deployer.remove(layer)
            return changes

        # Every layer's protected resources first: none destroyed while any is protected.
        destroy_guard.refuse_if_protected(env, planner.destroy_order(), deployer.state)
        run_layers(planner.destroy_order(), destroy, "destroy", reverse=True)


@task(
    help={
        "env": HELP_ENV,
        "from_": HELP_FROM,
        "stack": f"{HELP_STACK} (default: all)",
        "verbose": HELP_VERBOSE,
        "expect_no_changes": "fail if the cloud drifted from the state (drift check)",
    }
)
def refresh(
    c: Context,
    env: str = "dev",
    from_: str = "",
    stack: str = "",
    expect_no_changes: bool = False,
    verbose: bool = False,
) -> None:
    """Refresh state from the cloud; with --expect-no-changes it is a drift check."""
    layers = [layer_arg(stack)] if stack else planner.deploy_order()
    with one_line_errors():
        deployer = _deployer(check_env(env, from_), verbose, base=from_)
        run_layers(layers, lambda layer: deployer.refresh(layer, expect_no_changes), "refresh")


@task(
    help={
        "env": HELP_ENV,
        "stack": f"{HELP_STACK} (default: all)",
        "json": "print JSON instead of a table",
    }
)
def outputs(c: Context, env: str = "dev", stack: str = "", json: bool = False) -> None:
    """Print the outputs of the deployed stacks."""
    layers = [layer_arg(stack)] if stack else planner.deploy_order()
    with one_line_errors():
        deployer = _deployer(check_env(env), verbose=False, need_credentials=False)
        found = {layer.value: deployer.outputs(layer) for layer in layers}
    if json:
        print(jsonlib.dumps(found, indent=2, default=str))
        return
    for layer, values in found.items():
        print(f"{REGISTRY[Layer(layer)].project}/{env}:" + ("" if values else " (not deployed)"))
        for name, value in sorted((values or {}).items()):
            print(f"  {name} = {value}")


@task(help={"env": HELP_ENV, "from_": HELP_FROM})
def status(c: Context, env: str = "dev", from_: str = "") -> None:
    """Per layer: deployed or not, last update, resource count, up to date or stale (and why)."""
    with one_line_errors():
        deployer = _deployer(check_env(env, from_), verbose=False, need_credentials=False)
        for line in status_module.status_lines(deployer, env, from_ or None):
            print(line)


@task(
    help={
        "env": HELP_ENV + "; its API's URL comes from the api stack's outputs",
        "url": "the API's base URL instead (e.g. http://127.0.0.1:8787 for `invoke local`)",
        "list_wait": "seconds to wait for a new update in the shipments list (default 30)",
    }
)
def smoke(c: Context, env: str = "dev", url: str = "", list_wait: int = 30) -> None:
    """Contract check of a deployed API (SigV4-signed) or of `invoke local`: one line per check."""
    with one_line_errors():
        if not url:
            deployer = _deployer(check_env(env), verbose=False)
            found = deployer.outputs(Layer.API) or {}
            url = found.get(Output.API_ENDPOINT.value, "")
            if not url:
                raise Exit(
                    f"error: {REGISTRY[Layer.API].project}/{env} is not deployed (no "
                    f"{Output.API_ENDPOINT.value}); deploy it or pass --url",
                    code=1,
                )
    try:
        signer = sigv4_signer(url, required=not is_local(url))
    except SmokeError as exc:
        raise Exit(f"error: {exc}", code=1) from None
    print(f"smoke test of {url} ({'SigV4-signed' if signer else 'unsigned: local'})", flush=True)
    checks = Smoke(url, signer, list_wait=list_wait).run(
        lambda check: print(check.line(), flush=True)
    )
    failed = [check for check in checks if not check.ok]
    if failed:
        raise Exit(f"smoke: {len(failed)} of {len(checks)} checks failed against {url}", code=1)
    print(f"smoke: all {len(checks)} checks passed against {url}")


TASKS = (deploy_all, deploy, preview, destroy_all, refresh, outputs, status, smoke)
