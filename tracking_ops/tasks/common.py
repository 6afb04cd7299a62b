"""What every task shares: how its flags are spelled (CliTask: the layer argument, one
meaning per short flag), usage errors before any work, the env check, one-line
failures and a Ctrl-C as one line with exit code 130 (the shared help texts: help.py)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import invoke
from invoke import Argument, Exit, Task
from invoke.parser.parser import ParseMachine

from tracking_ops.deploy.engine_errors import is_engine_error, one_line
from tracking_ops.deploy.engine_runs import RunIncomplete
from tracking_ops.deploy.planner import PlanError, deploy_order, parse_layer
from tracking_ops.deploy.preflight import PreflightError
from tracking_ops.deploy.release_routing import CanaryError
from tracking_ops.deploy.review import ReviewRefused
from tracking_ops.deploy.synth import SynthError
from tracking_ops.deploy.upstream import UpstreamNotReady
from tracking_ops.engine.sandbox import SandboxError
from tracking_ops.progress import INTERRUPTED_EXIT, interrupt_line
from tracking_ops.tasks.help import LAYER, LAYER_ALIAS, LAYER_NAMES
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
USAGE = 2  # the exit code of a bad command line (docs/cli.md)
MAX_PORT = 65535
T = TypeVar("T")

# The only short flags, one meaning each in every task (the README's table shows them);
# every other flag is long only, so no letter can mean two things in two tasks.
SHORT_FLAGS = {
    "env": "e",
    "layer": "l",
    "from_": "f",
    "yes": "y",
    "verbose": "v",
    "out": "o",
    "json": "j",
    "url": "u",
    "port": "p",
    "tier": "t",
}


def usage_error(message: str) -> Exit:
    """The one line a bad command line ends with (exit 2, before any work)."""
    return Exit(f"error: {message}", code=USAGE)


def _parser_takes_no_word() -> bool:
    """Whether invoke's parser, asking which positionals are unfilled, is finishing a
    task's arguments or reading a flag (``--help``, a core flag): then an optional
    positional is not missing. invoke has no hook for optional positionals; its
    parse machine is found on the stack (tests/unit/ops/test_cli_flags.py pins this)."""
    frame = sys._getframe(2)
    while frame is not None:
        if isinstance(frame.f_locals.get("self"), ParseMachine):
            name = frame.f_code.co_name
            if name == "complete_context":
                return True
            if name == "handle":
                return str(frame.f_locals.get("token", "")).startswith("-")
        frame = frame.f_back
    return False


class OptionalPositional(Argument):
    """A positional argument that may be left out: the parser gives it the next bare
    word, but when there is none it is not an error (invoke requires its positionals)."""

    @property
    def value(self) -> Any:
        if self._value is None and _parser_takes_no_word():
            return ""
        return self._value

    @value.setter
    def value(self, arg: str) -> None:
        self.set_value(arg, cast=True)


class ProjectTask(Task):
    """A task that a Ctrl-C ends with one line (what stopped, what was done so far) and
    exit code 130, never a traceback."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        try:
            return super().__call__(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise Exit(interrupt_line(exc, self.name), code=INTERRUPTED_EXIT) from None


class CliTask(ProjectTask):
    """Every task's flags: short forms only from SHORT_FLAGS, and a `layer` parameter
    taken as `--layer L`, `-l L`, a bare `L` or `--stack L`."""

    def __init__(self, body, *args: Any, **kwargs: Any) -> None:
        super().__init__(body, *args, **kwargs)
        self._layer_default = None
        layer = self.argspec(body).parameters.get(LAYER)
        if layer is not None:
            self._layer_default = layer.default
            self.positional = [LAYER, *(p for p in self.positional if p != LAYER)]

    def arg_opts(self, name: str, default: object, taken_names: set[str]) -> dict:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        opts["names"] = [opts["names"][0], *([short] if short else [])]
        if name == LAYER:
            opts["names"].append(LAYER_ALIAS)
            opts["kind"], opts["default"] = str, None  # unfilled: a bare word fills it
        return opts

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        helps = dict(self.help)  # invoke consumes the help dict: keep it for the next call
        try:
            arguments = super().get_arguments(ignore_unknown_help)
        finally:
            self.help = helps
        return [_optional(argument) if argument.positional else argument for argument in arguments]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if LAYER_ALIAS in kwargs and self._layer_default is not None:
            kwargs[LAYER] = kwargs.pop(LAYER_ALIAS)
        if LAYER in kwargs and kwargs[LAYER] is None:
            kwargs[LAYER] = self._layer_default
        return super().__call__(*args, **kwargs)


def _optional(argument: Argument) -> OptionalPositional:
    optional = OptionalPositional(
        names=argument.names,
        kind=argument.kind,
        default=argument.default,
        help=argument.help,
        positional=True,
        attr_name=argument.attr_name,
    )
    return optional


# The earlier name of CliTask (it began with the long-only --yes-destroy-prod).
LongOnlyFlagsTask = CliTask


def task(*args: Any, **kwargs: Any) -> Any:
    """invoke's @task with CliTask as the class: how every task here is declared."""
    kwargs.setdefault("klass", CliTask)
    return invoke.task(*args, **kwargs)


def checked(check: Callable[..., T], *args: Any) -> T:
    """``check(*args)``; its refusal (ValueError, CanaryError) is a usage error."""
    try:
        return check(*args)
    except (ValueError, CanaryError) as exc:
        raise usage_error(str(exc)) from None


def at_least(flag: str, value: float, minimum: float) -> None:
    if value < minimum:
        raise usage_error(f"--{flag} must be at least {minimum:g}, not {value:g}")


def check_port(port: int) -> int:
    """A TCP port number for 127.0.0.1: 0 (any free one) to 65535."""
    if not 0 <= port <= MAX_PORT:
        raise usage_error(f"--port {port}: a port is 1 to {MAX_PORT}, or 0 for any free one")
    return port


def check_env(env: str, base: str = "") -> str:
    """``env`` if it is known (a fixed env, or a per-branch one with a valid base)."""
    try:
        validate_env(env)
        base_env_of(env, base or None)
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    return env


def layer_arg(name: str | None, task_name: str = "") -> Layer:
    """The layer ``name``; a missing or unknown one is a usage error listing the layers."""
    if not name:
        raise usage_error(
            f"{task_name or 'this task'} needs a layer: `invoke {task_name or 'TASK'} LAYER` "
            f"or --layer LAYER; layers: {LAYER_NAMES}"
        )
    try:
        return parse_layer(name)
    except PlanError as exc:
        raise usage_error(str(exc)) from None


def layers_arg(name: str | None) -> list[Layer]:
    """The one layer ``name``, or every layer in deploy order when none is given."""
    return [layer_arg(name)] if name else deploy_order()


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
