"""Deploying a platform project (the bootstrap): explicitly, with the platform's own
credentials (never a deploy role), never by deploy-all. Preview with the policy pack,
the review of prod's stateful changes, a confirmation, then the update."""

from __future__ import annotations

from tracking_ops.deploy.engine_runs import ApplyFlags, open_deployer
from tracking_ops.deploy.flow import Console
from tracking_ops.deploy.review import confirm, guard_prod, summary_lines
from tracking_stacks.registry import PlatformLayer, spec_of


def deploy_platform(
    env: str, layer: PlatformLayer, flags: ApplyFlags, console: Console | None = None
) -> dict[str, int]:
    """Preview ``layer`` in ``env``, confirm, apply; returns the resource changes."""
    console = console or Console()
    deployer = open_deployer(env, flags.verbose)
    preview = deployer.preview(layer)
    for line in summary_lines([preview]):
        console.out(line)
    guard_prod(env, [preview], flags.allow_stateful_changes)
    if preview.has_changes:
        confirm(
            f"Apply these changes to {spec_of(layer).project}/{env}?",
            flags.yes,
            console.is_terminal,
            console.ask,
        )
    changes = deployer.up(layer)
    shown = ", ".join(f"{k} {v}" for k, v in sorted(changes.items()) if v and k != "same")
    console.out(f"[{layer.value}] deploy succeeded ({shown or 'no changes'})")
    return changes
