"""Tasks that drive Pulumi's engine: deploy, preview, destroy, refresh, outputs."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Mapping

from invoke import Context, Exit, task

from tracking_ops import planner, preflight
from tracking_ops.build import build_function
from tracking_ops.deployer import PulumiDeployer
from tracking_ops.executor import SUCCEEDED, Reporter, execute
from tracking_ops.tasks.common import (
    HELP_ENV,
    HELP_STACK,
    HELP_VERBOSE,
    check_env,
    layer_arg,
    one_line_errors,
)
from tracking_ops.upstream import check_upstream
from tracking_stacks.definitions import FUNCTIONS
from tracking_stacks.registry import REGISTRY, Layer, downstream_of


def _deployer(env: str, verbose: bool, need_credentials: bool = True) -> PulumiDeployer:
    preflight.run_all(env, need_credentials=need_credentials)
    provider, engine_env = preflight.secrets_settings(env)
    return PulumiDeployer(
        env=env,
        secrets_provider=provider,
        engine_env=engine_env,
        on_output=(lambda line: print(line, flush=True)) if verbose else None,
    )


def _build_if_deploying(layers: list[Layer]) -> None:
    if Layer.COMPUTE in layers:
        for spec in FUNCTIONS:
            artifact = build_function(spec)
            print(f"built {spec.what}: {artifact.path.name} sha256 {artifact.sha256[:12]}")


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
    failed = [o.name for o in outcomes if o.status != SUCCEEDED]
    if failed:
        raise Exit(f"{verb} did not complete: {', '.join(failed)} not done", code=1)


@task(help={"env": HELP_ENV, "verbose": HELP_VERBOSE})
def deploy_all(c: Context, env: str = "dev", verbose: bool = False) -> None:
    """Deploy all five layers in dependency order (builds the function assets first)."""
    with one_line_errors():
        deployer = _deployer(check_env(env), verbose)
        layers = planner.deploy_order()
        _build_if_deploying(layers)
        run_layers(layers, deployer.up, "deploy")


@task(
    positional=[],
    help={
        "stack": f"required: {HELP_STACK}",
        "env": HELP_ENV,
        "verbose": HELP_VERBOSE,
        "downstream": "also redeploy every layer that reads this one",
    },
)
def deploy(
    c: Context, stack: str = "", env: str = "dev", downstream: bool = False, verbose: bool = False
) -> None:
    """Deploy one layer after checking its upstream stacks exist and export what it needs."""
    if not stack:
        raise Exit("deploy needs --stack LAYER (or use deploy-all)", code=2)
    layer = layer_arg(stack)
    with one_line_errors():
        deployer = _deployer(check_env(env), verbose)
        check_upstream(layer, env, deployer.outputs)
        layers = planner.with_downstream(layer) if downstream else [layer]
        _build_if_deploying(layers)
        run_layers(layers, deployer.up, "deploy")


@task(help={"env": HELP_ENV, "stack": f"{HELP_STACK} (default: all)", "verbose": HELP_VERBOSE})
def preview(c: Context, env: str = "dev", stack: str = "", verbose: bool = False) -> None:
    """Preview changes of one layer or all (policy pack included). Offline: `invoke synth`."""
    layers = [layer_arg(stack)] if stack else planner.deploy_order()
    with one_line_errors():
        deployer = _deployer(check_env(env), verbose)
        _build_if_deploying(layers)
        run_layers(layers, deployer.preview, "preview")


@task(
    help={"env": HELP_ENV, "verbose": HELP_VERBOSE, "yes_destroy_prod": "required to destroy prod"}
)
def destroy_all(
    c: Context, env: str = "dev", yes_destroy_prod: bool = False, verbose: bool = False
) -> None:
    """Destroy all layers in reverse dependency order (prod needs --yes-destroy-prod)."""
    with one_line_errors():
        preflight.confirm_destroy(check_env(env), yes_destroy_prod)
        deployer = _deployer(env, verbose)
        run_layers(planner.destroy_order(), deployer.destroy, "destroy", reverse=True)


@task(
    help={
        "env": HELP_ENV,
        "stack": f"{HELP_STACK} (default: all)",
        "verbose": HELP_VERBOSE,
        "expect_no_changes": "fail if the cloud drifted from the state (drift check)",
    }
)
def refresh(
    c: Context,
    env: str = "dev",
    stack: str = "",
    expect_no_changes: bool = False,
    verbose: bool = False,
) -> None:
    """Refresh state from the cloud; with --expect-no-changes it is a drift check."""
    layers = [layer_arg(stack)] if stack else planner.deploy_order()
    with one_line_errors():
        deployer = _deployer(check_env(env), verbose)
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


TASKS = (deploy_all, deploy, preview, destroy_all, refresh, outputs)
