"""The help texts that several tasks share, written once so a flag reads the same in
every `invoke --help TASK`."""

from __future__ import annotations

from tracking_ops.deploy.release_runs import DEFAULT_BAKE, DEFAULT_POLL
from tracking_stacks.definitions import CANARY_ALARMS
from tracking_stacks.naming import BRANCH_ENV_HELP, ENVIRONMENTS
from tracking_stacks.registry import REGISTRY

LAYER = "layer"  # the layer argument's name: --layer, -l, or a bare word after the task
LAYER_ALIAS = "stack"  # its older spelling, kept (in the Pulumi CLI --stack names an env)
LAYER_NAMES = ", ".join(layer.value for layer in REGISTRY)
HELP_ENV = f"environment: {', '.join(ENVIRONMENTS)} or per-branch {BRANCH_ENV_HELP} (default dev)"
HELP_FROM = "a per-branch env's base: the env whose config it takes (default dev)"
HELP_LAYER = (
    f"one layer: {LAYER_NAMES} (also a bare word after the task; --{LAYER_ALIAS}: an alias)"
)
HELP_VERBOSE = "stream the Pulumi engine's full output"
HELP_YES = "apply without asking (for CI); without a terminal, deploys refuse unless given"
HELP_ALLOW = "prod only: allow replacing or deleting stateful or protected resources"
HELP_PLAN = "apply exactly the reviewed update plan (Pulumi's experimental plans; default on)"
HELP_CANARY = (
    "PERCENT, compute only: publish the new version, route this percent of the `live` alias to it, "
    f"watch the API function's alarms ({', '.join(CANARY_ALARMS)}), then promote or roll back"
)
HELP_BAKE = "with --canary: how long to watch the alarms (90s, 10m, 1h; default 10m)"
HELP_POLL = "with --canary: seconds between two reads of the alarms (default 30)"
# The flag groups several tasks take, for their help={...}.
ENV_HELP = {"env": HELP_ENV, "from_": HELP_FROM}
APPLY_HELP = {
    "yes": HELP_YES,
    "allow_stateful_changes": HELP_ALLOW,
    "plan": HELP_PLAN,
    "verbose": HELP_VERBOSE,
}

__all__ = [
    "APPLY_HELP",
    "ENV_HELP",
    "DEFAULT_BAKE",
    "DEFAULT_POLL",
    "HELP_ALLOW",
    "HELP_BAKE",
    "HELP_CANARY",
    "HELP_ENV",
    "HELP_FROM",
    "HELP_LAYER",
    "HELP_PLAN",
    "HELP_POLL",
    "HELP_VERBOSE",
    "HELP_YES",
    "LAYER",
    "LAYER_ALIAS",
    "LAYER_NAMES",
]
