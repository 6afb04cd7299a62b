"""Stack config per environment: dev, staging and prod from their committed
``stacks/<layer>/Pulumi.<env>.yaml``; a per-branch env (``pr-123``) from its base
env's file with the overrides that keep it disposable.

The stack programs never see the difference: they read ``pulumi.Config`` and the
env name, which is in every physical name. ``invoke synth``, ``invoke local`` and
the deployer (through a config file passed to the engine) all take a branch
env's config from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tracking_stacks.naming import DEFAULT_BASE_ENV, ENVIRONMENTS, is_branch_env, validate_env
from tracking_stacks.paths import STACKS_DIR
from tracking_stacks.registry import Layer, PlatformLayer, spec_of

# What a per-branch env never inherits from its base, per layer:
# - never protected: `destroy-all` removes it completely;
# - the API Gateway account setting is one per account and region: the base env
#   deployed in the same account owns it (see stacks/api/Pulumi.yaml);
# - no reserved concurrency: Lambda refuses a reservation that leaves less than
#   100 unreserved in the account, so parallel branch envs reserving 100 (staging)
#   or 500 (prod) each would fail at PutFunctionConcurrency;
# - its alarms notify nobody of the base env's (a branch env from prod must not
#   page prod's on-call).
UNRESERVED = -1  # Lambda's "no reservation" (pulumi-aws reserved_concurrent_executions)
BRANCH_OVERRIDES: dict[Layer, dict[str, Any]] = {
    Layer.DATA: {"protect": False},
    Layer.COMPUTE: {"api_reserved_concurrency": UNRESERVED},
    Layer.API: {"manage_account_logging_role": False},
    Layer.MONITORING: {"alarm_subscriptions": []},
}
# Ceilings on what a branch env takes from its base: unreserved, its function
# shares the account's unreserved pool with every other branch env, so its stage
# admits a small share of it (burst <= the 100 that always stay unreserved).
BRANCH_CEILINGS: dict[Layer, dict[str, int]] = {
    Layer.API: {"throttling_rate_limit": 10, "throttling_burst_limit": 20},
}


class UnknownEnvironment(ValueError):
    """An environment that is not configured (one line)."""


def config_file(layer: Layer | PlatformLayer, env: str) -> Path:
    return STACKS_DIR / layer.value / f"Pulumi.{env}.yaml"


def base_env_of(env: str, base: str | None = None) -> str:
    """The committed env whose config ``env`` uses: itself, or a branch env's base."""
    validate_env(env)
    if not is_branch_env(env):
        return env
    chosen = base or DEFAULT_BASE_ENV
    if chosen not in ENVIRONMENTS:
        raise UnknownEnvironment(
            f"the base of a per-branch env must be one of {', '.join(ENVIRONMENTS)}, not {chosen!r}"
        )
    return chosen


def stack_config(layer: Layer | PlatformLayer, env: str, base: str | None = None) -> dict[str, Any]:
    """The stack's config with fully qualified keys (``aws:region``, ``tracking-data:protect``)."""
    source = config_file(layer, base_env_of(env, base))
    if not source.exists():
        raise UnknownEnvironment(f"{source} does not exist: environment {env!r} is not configured")
    config = dict((yaml.safe_load(source.read_text()) or {}).get("config") or {})
    if is_branch_env(env):
        project = spec_of(layer).project
        for key, value in BRANCH_OVERRIDES.get(layer, {}).items():
            config[f"{project}:{key}"] = value
        for key, ceiling in BRANCH_CEILINGS.get(layer, {}).items():
            qualified = f"{project}:{key}"
            config[qualified] = min(config.get(qualified, ceiling), ceiling)
    return config


def stack_region(layer: Layer | PlatformLayer, env: str, base: str | None = None) -> str:
    """The AWS region a layer's stack deploys to (its ``aws:region``): what every client
    an operations task builds for that stack must use, whatever the operator's default."""
    region = stack_config(layer, env, base).get("aws:region")
    if not region:
        raise UnknownEnvironment(f"{config_file(layer, base_env_of(env, base))} sets no aws:region")
    return str(region)


def write_branch_config(layer: Layer | PlatformLayer, env: str, base: str | None = None) -> Path:
    """Write a branch env's ``Pulumi.<env>.yaml`` for the engine, keeping what the
    engine itself keeps there (the secrets provider's salt or key)."""
    if not is_branch_env(env):
        raise UnknownEnvironment(f"{env!r} is not a per-branch env; its config is committed")
    path = config_file(layer, env)
    existing = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
    existing["config"] = stack_config(layer, env, base)
    path.write_text(yaml.safe_dump(existing, sort_keys=True))
    return path
