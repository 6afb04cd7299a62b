"""`invoke rollback`: the API function's release put back (tracking_ops/deploy/release_runs.py).
The canary itself is `invoke deploy --stack compute --canary PERCENT` (tasks/deploy.py)."""

from __future__ import annotations

from invoke import Context, Exit

from tracking_ops.deploy import release_runs
from tracking_ops.tasks.common import check_env, layer_arg, one_line_errors, task
from tracking_ops.tasks.help import HELP_ENV, HELP_VERBOSE
from tracking_stacks.registry import Layer


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
    with one_line_errors(verbose):
        release_runs.rollback_release(check_env(env), to, verbose)


TASKS = (rollback,)
