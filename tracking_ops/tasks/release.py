"""`invoke rollback`: the API function's release put back (tracking_ops/deploy/release_runs.py).
The canary itself is `invoke deploy --layer compute --canary PERCENT` (tasks/deploy.py)."""

from __future__ import annotations

from invoke import Context

from tracking_ops.deploy import release_runs
from tracking_ops.tasks.common import check_env, layer_arg, one_line_errors, task, usage_error
from tracking_ops.tasks.help import HELP_ENV, HELP_VERBOSE
from tracking_stacks.registry import Layer
from tracking_stacks.release import VERSION


@task(
    help={
        "layer": "the layer whose release to roll back: compute (the only one with releases)",
        "env": HELP_ENV,
        "to": "the published version to return to (default: the one before the last promotion)",
        "verbose": HELP_VERBOSE,
    }
)
def rollback(
    c: Context, layer: str = "compute", env: str = "dev", to: str = "", verbose: bool = False
) -> None:
    """Put the `live` alias back on the previous version.

    The API function's alias; a canary in progress is stopped.

    Applied at once through the compute stack's config, without a review.
    """
    if layer_arg(layer, "rollback") is not Layer.COMPUTE:
        raise usage_error("rollback: only --layer compute has releases (the API function's alias)")
    check_env(env)
    if to and not VERSION.match(to):
        raise usage_error(f"--to takes a published version number (1, 2, ...), not {to!r}")
    with one_line_errors(verbose):
        release_runs.rollback_release(env, to, verbose)


TASKS = (rollback,)
