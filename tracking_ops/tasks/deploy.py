"""Tasks that drive Pulumi's engine: deploy (plan, review, apply), preview,
destroy, refresh, outputs, status, and the smoke test of a deployed API. Each parses
its flags and calls the runs of tracking_ops/deploy/engine_runs.py (the canary:
release_runs.py)."""

from __future__ import annotations

import json as jsonlib

from invoke import Context, Exit

from tracking_ops.deploy import (
    deploy_roles,
    engine_runs,
    planner,
    platform_runs,
    preflight,
    release_runs,
)
from tracking_ops.deploy import status as status_module
from tracking_ops.deploy.canary import check_percent, parse_duration
from tracking_ops.deploy.engine_runs import ApplyFlags, DeployRun
from tracking_ops.operate.smoke import Smoke, SmokeError, is_local, sigv4_signer
from tracking_ops.tasks.common import (
    at_least,
    check_env,
    checked,
    layer_arg,
    layers_arg,
    one_line_errors,
    task,
    usage_error,
)
from tracking_ops.tasks.help import (
    APPLY_HELP,
    DEFAULT_BAKE,
    DEFAULT_POLL,
    ENV_HELP,
    HELP_BAKE,
    HELP_CANARY,
    HELP_ENV,
    HELP_LAYER,
    HELP_POLL,
    HELP_VERBOSE,
)
from tracking_stacks.registry import REGISTRY, Layer, Output, PlatformLayer


@task(
    help={
        **ENV_HELP,
        "force": "deploy every layer, even those unchanged since their last deploy",
        **APPLY_HELP,
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
    """Deploy every layer that changed, after one combined review.

    The function assets are built first.

    A layer is skipped when its program, config, function assets and the outputs it
    reads are unchanged since its last successful deploy; each line says why.
    """
    with one_line_errors(verbose):
        layers = planner.deploy_order()
        run = DeployRun(
            env=check_env(env, from_),
            layers=layers,
            always=set(layers) if force else set(),
            always_reason="--force",
            base=from_,
            sources_count=True,
            flags=ApplyFlags(yes, allow_stateful_changes, plan, verbose),
        )
        engine_runs.deploy_layers(run)


@task(
    help={
        "layer": f"required: {HELP_LAYER}; or {PlatformLayer.BOOTSTRAP.value} (the platform's, "
        "never part of deploy-all)",
        **ENV_HELP,
        "downstream": "also redeploy the readers whose read outputs changed (others: up to date)",
        "all_downstream": "also redeploy every layer that reads this one, changed or not",
        **APPLY_HELP,
        "canary": HELP_CANARY,
        "bake": HELP_BAKE,
        "poll": HELP_POLL,
    },
)
def deploy(
    c: Context,
    layer: str = "",
    env: str = "dev",
    from_: str = "",
    downstream: bool = False,
    all_downstream: bool = False,
    yes: bool = False,
    allow_stateful_changes: bool = False,
    plan: bool = True,
    verbose: bool = False,
    canary: int = 0,
    bake: str = DEFAULT_BAKE,
    poll: int = DEFAULT_POLL,
) -> None:
    """Deploy one layer after a review, once its upstream exists.

    Ready: its upstream stacks exist and export what it reads.

    With --canary (compute only): a canary release of the API function, see README.
    """
    check_env(env, from_)
    if layer == PlatformLayer.BOOTSTRAP.value:  # platform-owned: explicit, never deploy-all
        with one_line_errors(verbose):
            flags = ApplyFlags(yes, allow_stateful_changes, plan, verbose)
            platform_runs.deploy_platform(env, PlatformLayer.BOOTSTRAP, flags)
        return
    target = layer_arg(layer, "deploy")
    if downstream and all_downstream:
        raise usage_error(
            "--downstream and --all-downstream: choose one (--all-downstream redeploys "
            "every reader, --downstream the changed ones)"
        )
    if canary:
        if target is not Layer.COMPUTE or downstream or all_downstream or from_:
            raise usage_error("--canary: only with --layer compute, without --downstream or --from")
        checked(check_percent, canary)
        checked(parse_duration, bake)
        at_least("poll", poll, 1)
        with one_line_errors(verbose):
            run = release_runs.CanaryRun(
                env=env,
                percent=canary,
                bake=bake,
                poll=poll,
                flags=ApplyFlags(yes, allow_stateful_changes, plan, verbose),
            )
            release_runs.canary_release(run)
        return
    with one_line_errors(verbose):
        layers = planner.with_downstream(target) if downstream or all_downstream else [target]
        run = DeployRun(
            env=env,
            layers=layers,
            always=set(layers) if all_downstream else {target},
            always_reason="--all-downstream" if all_downstream else "requested",
            base=from_,
            flags=ApplyFlags(yes, allow_stateful_changes, plan, verbose),
        )
        engine_runs.deploy_layers(run)


@task(
    help={
        **ENV_HELP,
        "layer": f"{HELP_LAYER} (default: all)",
        "verbose": HELP_VERBOSE,
    }
)
def preview(
    c: Context, layer: str = "", env: str = "dev", from_: str = "", verbose: bool = False
) -> None:
    """Preview one layer or all (policy pack included).

    Prints the combined summary.

    Offline: `invoke synth`.
    """
    layers = layers_arg(layer)
    with one_line_errors(verbose):
        engine_runs.preview_layers(check_env(env, from_), layers, base=from_, verbose=verbose)


HELP_YES_DESTROY = "destroy without asking (needed without a terminal, e.g. in CI)"
HELP_YES_DESTROY_PROD = "also required to destroy prod (long form only, on purpose)"


def _destroy(env: str, from_: str, yes: bool, yes_destroy_prod: bool, verbose: bool, **kw) -> None:
    with one_line_errors(verbose):
        preflight.confirm_destroy(check_env(env, from_), yes_destroy_prod)
        engine_runs.destroy_layers(env, base=from_, verbose=verbose, yes=yes, **kw)


@task(
    help={
        **ENV_HELP,
        "verbose": HELP_VERBOSE,
        "yes": HELP_YES_DESTROY,
        "yes_destroy_prod": HELP_YES_DESTROY_PROD,
    },
)
def destroy_all(
    c: Context,
    env: str = "dev",
    from_: str = "",
    yes: bool = False,
    yes_destroy_prod: bool = False,
    verbose: bool = False,
) -> None:
    """Destroy every layer, after showing what goes and asking.

    Readers first (reverse deploy order).

    Without a terminal it needs --yes; prod also needs --yes-destroy-prod. A per-branch
    env (pr-123) is removed completely: resources, stacks and their config.
    """
    _destroy(env, from_, yes, yes_destroy_prod, verbose)


@task(
    help={
        "layer": f"required: the layer to destroy: {HELP_LAYER}",
        **ENV_HELP,
        "verbose": HELP_VERBOSE,
        "yes": HELP_YES_DESTROY,
        "yes_destroy_prod": HELP_YES_DESTROY_PROD,
        "with_readers": "destroy the layer's deployed readers first (reverse order)",
    },
)
def destroy(
    c: Context,
    layer: str = "",
    env: str = "dev",
    from_: str = "",
    yes: bool = False,
    yes_destroy_prod: bool = False,
    with_readers: bool = False,
    verbose: bool = False,
) -> None:
    """Destroy one layer, after showing what goes and asking.

    A layer whose readers are deployed is refused alone unless --with-readers.
    """
    target = layer_arg(layer, "destroy")
    _destroy(env, from_, yes, yes_destroy_prod, verbose, layer=target, with_readers=with_readers)


@task(
    help={
        **ENV_HELP,
        "layer": f"{HELP_LAYER} (default: all)",
        "verbose": HELP_VERBOSE,
        "expect_no_changes": "fail if the cloud drifted from the state (drift check)",
    }
)
def refresh(
    c: Context,
    layer: str = "",
    env: str = "dev",
    from_: str = "",
    expect_no_changes: bool = False,
    verbose: bool = False,
) -> None:
    """Refresh the state from the cloud (or check for drift).

    With --expect-no-changes it is a drift check.
    """
    layers = layers_arg(layer)
    with one_line_errors(verbose):
        engine_runs.refresh_layers(
            check_env(env, from_), layers, expect_no_changes, base=from_, verbose=verbose
        )


@task(
    help={
        "env": HELP_ENV,
        "layer": f"{HELP_LAYER} (default: all)",
        "json": "print JSON instead of a table",
    }
)
def outputs(c: Context, layer: str = "", env: str = "dev", json: bool = False) -> None:
    """Print the outputs of the deployed stacks."""
    layers = layers_arg(layer)
    with one_line_errors():
        deployer = engine_runs.open_deployer(check_env(env), verbose=False, need_credentials=False)
        found = {layer.value: deployer.outputs(layer) for layer in layers}
    if json:
        print(jsonlib.dumps(found, indent=2, default=str))
        return
    for layer, values in found.items():
        print(f"{REGISTRY[Layer(layer)].project}/{env}:" + ("" if values else " (not deployed)"))
        for name, value in sorted((values or {}).items()):
            print(f"  {name} = {value}")


@task(help=ENV_HELP)
def status(c: Context, env: str = "dev", from_: str = "") -> None:
    """Per layer: deployed, last update, resources, stale or not.

    Stale says why: what changed since the last deploy.
    """
    with one_line_errors():
        deployer = engine_runs.open_deployer(
            check_env(env, from_), verbose=False, need_credentials=False
        )
        for line in status_module.status_lines(deployer, env, from_ or None):
            print(line)


@task(help={"layer": HELP_LAYER, **ENV_HELP})
def whoami(c: Context, layer: str = "", env: str = "dev", from_: str = "") -> None:
    """Which role a layer deploys with; may you assume it.

    The env's bootstrap config (deployAsRoles) decides; the check assumes the role.
    """
    target = layer_arg(layer, "whoami")
    with one_line_errors():
        print(deploy_roles.whoami_line(target, check_env(env, from_), from_ or None))


@task(
    help={
        "env": HELP_ENV + "; its API's URL comes from the api stack's outputs",
        "url": "the API's base URL instead (e.g. http://127.0.0.1:8787 for `invoke local`)",
        "list_wait": "seconds to wait for a new update in the shipments list (default 30)",
    }
)
def smoke(c: Context, env: str = "dev", url: str = "", list_wait: int = 30) -> None:
    """Contract-check a deployed API or `invoke local`.

    SigV4-signed against a deployed API; one line per check.
    """
    at_least("list-wait", list_wait, 0)
    check_env(env)
    with one_line_errors():
        if not url:
            deployer = engine_runs.open_deployer(check_env(env), verbose=False)
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


TASKS = (
    deploy_all,
    deploy,
    preview,
    destroy_all,
    destroy,
    refresh,
    outputs,
    status,
    whoami,
    smoke,
)
