"""The release runs of the API function: `invoke deploy --layer compute --canary PERCENT`
(a reviewed deploy as step 1, then the bake: tracking_ops/deploy/canary.py) and
`invoke rollback`, wired to the engine and to CloudWatch."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tracking_ops.deploy import engine_runs
from tracking_ops.deploy.alarm_watch import cloudwatch_alarm_states
from tracking_ops.deploy.canary import Canary, check_percent, parse_duration
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_ops.deploy.fingerprints import deploy_message, source_parts
from tracking_ops.deploy.flow import DeployFlow, DeployRequest
from tracking_ops.deploy.release_routing import Releaser, check_env
from tracking_ops.deploy.version_alarms import version_alarm_states
from tracking_stacks import environments
from tracking_stacks import release as rel
from tracking_stacks.definitions import API_FUNCTION
from tracking_stacks.registry import Layer

DEFAULT_BAKE = "10m"
DEFAULT_POLL = 30


def releaser_of(deployer: PulumiDeployer, env: str, assets: dict[str, str]) -> Releaser:
    return Releaser(
        deployer,
        env,
        message=lambda: deploy_message(source_parts(Layer.COMPUTE, env, None, assets)),
    )


def alarm_client(env: str):
    import boto3

    region = environments.stack_config(Layer.MONITORING, env).get("aws:region")
    return boto3.client("cloudwatch", region_name=region)


@dataclass(frozen=True)
class CanaryRun:
    """One `invoke deploy --layer compute --canary PERCENT`, as its flags ask for it."""

    env: str
    percent: int
    bake: str = DEFAULT_BAKE
    poll: int = DEFAULT_POLL
    flags: engine_runs.ApplyFlags = field(default_factory=engine_runs.ApplyFlags)


def canary_release(run: CanaryRun) -> None:
    """The canary of `invoke deploy --layer compute --canary PERCENT` (see canary.py).

    Step 1 is a reviewed deploy (the combined review, the confirmation, the plan);
    promotion and rollback apply only the release keys of the config, without asking.
    """
    flags = run.flags
    deployer = engine_runs.open_deployer(run.env, flags.verbose, plans=flags.plan)
    assets = engine_runs.build_assets([Layer.COMPUTE])
    env = run.env
    check_env(env)
    check_percent(run.percent)
    bake_seconds = parse_duration(run.bake)
    releaser = releaser_of(deployer, env, assets)

    def publish() -> None:
        with tempfile.TemporaryDirectory(prefix="tracking-plans-") as plan_dir:
            request = DeployRequest(
                env=env,
                layers=[Layer.COMPUTE],
                always=frozenset({Layer.COMPUTE}),
                always_reason=f"canary {run.percent}%",
                parts=lambda layer: source_parts(layer, env, None, assets),
                sources_count=False,
                yes=flags.yes,
                allow_stateful=flags.allow_stateful_changes,
                plan_dir=Path(plan_dir) if flags.plan else None,
            )
            flow = DeployFlow(deployer, request)
            flow.review()
            engine_runs.run_layers([Layer.COMPUTE], flow.apply, "deploy")

    client = alarm_client(env)
    Canary(
        releaser,
        cloudwatch_alarm_states(client),
        run.percent,
        bake_seconds,
        run.poll,
        publish=publish,
        version_states=lambda version: version_alarm_states(
            client, API_FUNCTION.function_name(env), rel.ALIAS, version
        ),
    ).run()


def rollback_release(env: str, to: str = "", verbose: bool = False) -> None:
    """Put the API function's `live` alias back on ``to`` (default: the version before
    the last promotion), or revert a canary in progress."""
    check_env(env)  # a per-branch env holds no release: refused before preflight
    deployer = engine_runs.open_deployer(env, verbose)
    # The program needs its assets; a reproducible build of the deployed commit is
    # byte-identical, so the rollback changes nothing but the alias.
    assets = engine_runs.build_assets([Layer.COMPUTE])
    releaser_of(deployer, env, assets).rollback(to)
