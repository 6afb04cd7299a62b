"""Whether the engine tier can run here: the built engine (built now when Go is
there), or a Pulumi CLI on PATH new enough for inline programs."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from tracking_ops.engine import build, sandbox

HOW_TO_GET_IT = "install Go 1.26+ and run `invoke engine`, or put a Pulumi CLI >= 3.181 on PATH"


def engine_tier_ready(progress: Callable[[str], None] = lambda line: None) -> tuple[bool, str]:
    """(ready, why not). Builds the pinned CLI when Go is available and no CLI is found."""
    try:
        sandbox.locate_cli()
        return True, ""
    except sandbox.SandboxError:
        pass
    if shutil.which("go") is None:
        return False, f"no Pulumi CLI and no Go on this machine; {HOW_TO_GET_IT}"
    try:
        build.build(progress=progress)
    except build.EngineBuildError as exc:
        return False, str(exc)
    return True, ""
