"""Releases of the API function: `invoke deploy --stack compute --canary PERCENT`
(run from the deploy task) and `invoke rollback`. The steps live in
tracking_ops/deploy/canary.py; this module wires them to the engine and CloudWatch."""

from __future__ import annotations

import tempfile
from pathlib import Path

from invoke import Context, Exit, task

from tracking_ops.deploy.canary import (
    Canary,
    Releaser,
    check_env,
    check_percent,
    cloudwatch_alarm_states,
    parse_duration,
)
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_ops.deploy.fingerprints import deploy_message, source_parts
from tracking_ops.deploy.flow import DeployFlow, DeployRequest
from tracking_ops.deploy.version_alarms import version_alarm_states
from tracking_ops.tasks.common import HELP_ENV, HELP_VERBOSE, layer_arg, one_line_errors
from tracking_ops.tasks.common import check_env as check_known_env
from tracking_stacks import environments
from tracking_stacks import release as rel
from tracking_stacks.definitions import API_FUNCTION, CANARY_ALARMS
from tracking_stacks.registry import Layer

HELP_CANARY = (
    "PERCENT, compute only: publish the new version, route this percent of the `live` alias to it, "
    f"watch the API function's alarms ({', '.join(CANARY_ALARMS)}), then promote or roll back"
)
HELP_BAKE = "with --canary: how long to watch the alarms (90s, 10m, 1h; default 10m)"
HELP_POLL = "with --canary: seconds between two reads of the alarms (default 30)"
DEFAULT_BAKE = "10m"
DEFAULT_POLL = 30


def _releaser(deployer: PulumiDeployer, env: str, assets: dict[str, str]) -> Releaser:
    return Releaser(
        deployer,
        env,
        message=lambda: deploy_message(source_parts(Layer.COMPUTE, env, None, assets)),
    )


def _alarm_client(env: str):
    import boto3

    region = environments.stack_config(Layer.MONITORING, env).get("aws:region")
    return boto3.client("cloudwatch", region_name=region)


def run_canary(
    deployer: PulumiDeployer,
    env: str,
    assets: dict[str, str],
    percent: int,
    bake: str,
    poll: int,
    yes: bool,
    allow_stateful_changes: bool,
    plan: bool,
) -> None:
    """The canary of `invoke deploy --stack compute --canary PERCENT` (see canary.py).

    Step 1 is a reviewed deploy (the combined review, the confirmation, the plan);
    promotion and rollback apply only the release keys of the config, without asking.
    """
    check_env(env)
    check_percent(percent)
    bake_seconds = parse_duration(bake)
    releaser = _releaser(deployer, env, assets)

    def publish() -> None:
        from tracking_ops.tasks.deploy import run_layers  # the deploy task imports us

        with tempfile.TemporaryDirectory(prefix="tracking-plans-") as plan_dir:
            request = DeployRequest(
                env=env,
                layers=[Layer.COMPUTE],
                always=frozenset({Layer.COMPUTE}),
                always_reason=f"canary {percent}%",
                parts=lambda layer: source_parts(layer, env, None, assets),
                sources_count=False,
                yes=yes,
                allow_stateful=allow_stateful_changes,
                plan_dir=Path(plan_dir) if plan else None,
            )
            flow = DeployFlow(deployer, request)
            flow.review()
            run_layers([Layer.COMPUTE], flow.apply, "deploy")

    client = _alarm_client(env)
    Canary(
        releaser,
        cloudwatch_alarm_states(client),
        percent,
        bake_seconds,
        poll,
        publish=publish,
        version_states=lambda version: version_alarm_states(
            client, API_FUNCTION.function_name(env), rel.ALIAS, version
        ),
    ).run()


@task(
    help={
        "stack": "the layer whose release to roll back: compute (the only one with releases)",
        "env": HELP_ENV,
        "to": "the published version to return to (default: the one before the last promotion)",
        "verbose": HELP_VERBOSE,
    }
)
def rollback(
    c: Context, stack: str = "compute", env: str = "dev", to: str = "", verbose: bool = False
) -> None:
    """Put the API function's `live` alias back on the previous version (or stop a canary).

    Applied at once through the compute stack's config, without a review.
    """
    if layer_arg(stack) is not Layer.COMPUTE:
        raise Exit("rollback: only --stack compute has releases (the API function's alias)", 2)
    from tracking_ops.tasks.deploy import _build_if_deploying, _deployer  # deploy imports us

    with one_line_errors():
        check_env(check_known_env(env))
        deployer = _deployer(env, verbose)
        # The program needs its assets; a reproducible build of the deployed commit is
        # byte-identical, so the rollback changes nothing but the alias.
        assets = _build_if_deploying([Layer.COMPUTE])
        _releaser(deployer, env, assets).rollback(to)


TASKS = (rollback,)
