"""What every task shares: option help, the env check, one-line failures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from invoke import Exit

from tracking_ops.planner import PlanError, parse_layer
from tracking_ops.preflight import PreflightError
from tracking_ops.synth import SynthError
from tracking_ops.upstream import UpstreamNotReady
from tracking_stacks.naming import ENVIRONMENTS
from tracking_stacks.registry import REGISTRY, Layer

LAYER_NAMES = ", ".join(layer.value for layer in REGISTRY)
HELP_ENV = f"environment: one of {', '.join(ENVIRONMENTS)} (default dev)"
HELP_STACK = f"one layer: {LAYER_NAMES}"
HELP_VERBOSE = "stream the Pulumi engine's full output"
EXPECTED_FAILURES = (PreflightError, PlanError, SynthError, UpstreamNotReady)


def check_env(env: str) -> str:
    if env not in ENVIRONMENTS:
        raise Exit(f"unknown environment {env!r}; environments: {', '.join(ENVIRONMENTS)}", code=2)
    return env


def layer_arg(name: str) -> Layer:
    try:
        return parse_layer(name)
    except PlanError as exc:
        raise Exit(str(exc), code=2) from None


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Expected failures end the task with their message and exit code 1, never a traceback."""
    try:
        yield
    except EXPECTED_FAILURES as exc:
        raise Exit(f"error: {exc}", code=1) from None
