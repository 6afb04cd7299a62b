"""Review-time refusal of replacements that would collide with themselves.

Pulumi replaces create-first: the new resource exists before the old one is
deleted. A resource with a fixed physical name (the table, the DLQ) or one of
which AWS allows one per pair (the stream's event source mapping) cannot exist
twice, so the update fails half-way, after the review said it would work. Dev and
branch envs replace those delete-first (a short gap is acceptable there); in
staging and prod the review refuses the plan and says how to make the change in
two steps instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from tracking_ops.deploy.review import REPLACE, LayerPreview, ReviewRefused
from tracking_stacks.definitions import SELF_COLLIDING_TYPES, delete_before_replace

TWO_STEPS = {
    "table": (
        "1) add the new table under a new name beside the old one (copy or backfill "
        "its items; point the config layer at it), deploy; 2) remove the old one "
        "(unprotect it first in prod), deploy"
    ),
    "queue": (
        "1) add the new queue under a new name and point the stream mapping at it, "
        "deploy; 2) replay or drain the old one (`invoke replay-dlq`), remove it, deploy"
    ),
    "stream mapping": (
        "1) remove the mapping (records stay in the stream for 24 hours), deploy; "
        "2) add it back with the new settings, deploy (a TRIM_HORIZON start replays "
        "what it missed)"
    ),
}


def collision_lines(env: str, previews: Iterable[LayerPreview]) -> list[str]:
    """Review-summary lines: what would collide, and the two steps that do not."""
    if delete_before_replace(env):
        return []
    lines = []
    for preview in previews:
        for step in preview.changed(REPLACE):
            what = SELF_COLLIDING_TYPES.get(step.type)
            if what:
                lines.append(
                    f"  !! {preview.layer.value}: replacing {step.name} would collide with "
                    f"itself ({what}: AWS holds one under its name while Pulumi creates "
                    f"the replacement first). In two steps instead: {TWO_STEPS[what]}"
                )
    return lines


def refuse_colliding_replacements(env: str, previews: Iterable[LayerPreview]) -> None:
    """In an env without delete-first replacement, refuse a plan that replaces a
    self-colliding resource, whatever other flags say (AWS would fail it anyway)."""
    lines = collision_lines(env, list(previews))
    if lines:
        raise ReviewRefused(
            f"refusing a replacement that would fail on its own name in {env}:\n" + "\n".join(lines)
        )
