"""Which layers a change touches, so CI previews or deploys only those."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

from tracking_ops.deploy.planner import deploy_order
from tracking_stacks.definitions import REPO_ROOT
from tracking_stacks.registry import REGISTRY, Layer, downstream_of

# Paths whose change can alter every layer: the shared stack package, the
# names and table layout the functions share with the stacks, the policy pack
# (every preview runs it), and the pinned dependencies.
EVERYTHING = ("tracking_stacks/", "functions/common/", "policy/", "pyproject.toml")
# Function code: packaged by compute; the API function's models also shape the
# api layer, which is downstream of compute anyway.
FUNCTIONS = "functions/"


def layers_for_paths(paths: Iterable[str]) -> list[Layer]:
    touched: set[Layer] = set()
    for path in paths:
        if path.startswith(EVERYTHING):
            touched.update(REGISTRY)
        elif path.startswith("stacks/"):
            name = path.split("/")[1]
            if name in {layer.value for layer in REGISTRY}:
                touched.update((Layer(name), *downstream_of(Layer(name))))
        elif path.startswith(FUNCTIONS):
            touched.update((Layer.COMPUTE, *downstream_of(Layer.COMPUTE)))
    return deploy_order(touched)


def changed_paths(since: str) -> list[str]:
    """Files changed between ``since`` and the working tree (committed or not)."""
    result = subprocess.run(
        ["git", "diff", "--name-only", since], cwd=REPO_ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise ValueError(f"git diff {since} failed: {result.stderr.strip()}")
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    ).stdout
    return [line for line in (result.stdout + untracked).splitlines() if line]
