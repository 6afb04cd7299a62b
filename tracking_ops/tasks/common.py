"""What every task shares: the env check, the layer argument, one-line failures, a
Ctrl-C as one line with exit code 130 (the shared help texts: help.py)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import invoke
from invoke import Exit, Task

from tracking_ops.deploy.engine_errors import is_engine_error, one_line
from tracking_ops.deploy.engine_runs import RunIncomplete
from tracking_ops.deploy.planner import PlanError, parse_layer
from tracking_ops.deploy.preflight import PreflightError
from tracking_ops.deploy.release_routing import CanaryError
from tracking_ops.deploy.review import ReviewRefused
from tracking_ops.deploy.synth import SynthError
from tracking_ops.deploy.upstream import UpstreamNotReady
from tracking_ops.engine.sandbox import SandboxError
from tracking_ops.progress import INTERRUPTED_EXIT, interrupt_line
from tracking_stacks.environments import base_env_of
from tracking_stacks.naming import validate_env
from tracking_stacks.registry import Layer
from tracking_stacks.release import ReleaseError

EXPECTED_FAILURES = (
    PreflightError,
    SandboxError,
    PlanError,
    SynthError,
    UpstreamNotReady,
    ReviewRefused,
    CanaryError,
    ReleaseError,
)


# Flags that must be typed out: no short form (a typed -y never destroys prod; -h is help).
LONG_ONLY_FLAGS = frozenset({"yes_destroy_prod", "host"})


class ProjectTask(Task):
    """A task that a Ctrl-C ends with one line (what stopped, what was done so far) and
    exit code 130, never a traceback."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        try:
            return super().__call__(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise Exit(interrupt_line(exc, self.name), code=INTERRUPTED_EXIT) from None


def task(*args: object, **kwargs: object) -> object:
    """``invoke.task`` making a ProjectTask (or the ``klass`` given, a subclass of it)."""
    kwargs.setdefault("klass", ProjectTask)
    return invoke.task(*args, **kwargs)


class LongOnlyFlagsTask(ProjectTask):
    """A task whose LONG_ONLY_FLAGS get no automatic short flag."""

    def arg_opts(self, name: str, default: object, taken_names: set[str]) -> dict:
        opts = super().arg_opts(name, default, taken_names)
        if name in LONG_ONLY_FLAGS:
            opts["names"] = opts["names"][:1]
        return opts


def check_env(env: str, base: str = "") -> str:
    """``env`` if it is known (a fixed env, or a per-branch one with a valid base)."""
    try:
        validate_env(env)
        base_env_of(env, base or None)
    except ValueError as exc:
        raise Exit(str(exc), code=2) from None
    return env


def layer_arg(name: str) -> Layer:
    try:
        return parse_layer(name)
    except PlanError as exc:
        raise Exit(str(exc), code=2) from None


@contextlib.contextmanager
def one_line_errors(verbose: bool = False) -> Iterator[None]:
    """Expected failures end the task with their message and exit code 1, never a traceback;
    an engine (Automation API) error too, its full output first with ``verbose``."""
    try:
        yield
    except RunIncomplete as exc:  # each layer's failure was reported: the line says which
        raise Exit(str(exc), code=1) from None
    except EXPECTED_FAILURES as exc:
        raise Exit(f"error: {exc}", code=1) from None
    except Exception as exc:
        if not is_engine_error(exc):
            raise
        if verbose:
            print(str(exc), file=sys.stderr)
        raise Exit(one_line(exc), code=1) from None
