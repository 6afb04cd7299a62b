"""The tasks users of CDK and SAM look for: diff (a combined preview), logs (a function's
log events) and invoke-function (one handler run locally with an event file). Each
parses its flags and calls tracking_ops/deploy/diff.py, tracking_ops/operate/logs.py or
tracking_ops/local/invoke_one.py. Their short flags are the shared ones (tasks/common.py)."""

from __future__ import annotations

import json
import sys
import threading

from invoke import Context, Exit

from tracking_ops.deploy import planner
from tracking_ops.deploy.diff import diff_layers
from tracking_ops.operate import logs as logs_module
from tracking_ops.progress import INTERRUPTED_EXIT
from tracking_ops.tasks.common import check_env, layer_arg, one_line_errors, task
from tracking_ops.tasks.help import HELP_ENV, HELP_FROM, HELP_LAYER, HELP_VERBOSE


@task(
    help={
        "layer": f"{HELP_LAYER} (default: all)",
        "env": HELP_ENV,
        "from_": HELP_FROM,
        "fail": "exit 1 when anything would change (as `cdk diff --fail`)",
        "verbose": HELP_VERBOSE,
    },
)
def diff(
    c: Context,
    layer: str = "",
    env: str = "dev",
    from_: str = "",
    fail: bool = False,
    verbose: bool = False,
) -> None:
    """Show what a deploy would change, per layer (CDK's diff).

    A preview with the policy pack, as `invoke preview`.

    Needs Pulumi's engine (or TRACKING_SANDBOX); offline it says what `invoke synth` shows instead.
    """
    layers = [layer_arg(layer)] if layer else planner.deploy_order()
    with one_line_errors(verbose):
        result = diff_layers(check_env(env, from_), layers, base=from_, verbose=verbose)
    print(result.line())
    if fail and result.would_change:
        raise Exit(code=1)


def _logs_client():
    import boto3

    return boto3.client("logs")


@task(
    help={
        "layer": "the layer of the function: compute",
        "function": f"the function: {logs_module.function_names()}",
        "follow": "keep printing new events until Ctrl-C",
        "since": f"from how long ago (90s, 10m, 2h, 1d; default {logs_module.DEFAULT_SINCE})",
        "env": f"{HELP_ENV}, or {logs_module.LOCAL_ENV}: the logs of `invoke local`",
    },
)
def logs(
    c: Context,
    layer: str = logs_module.FUNCTION_LAYER.value,
    function: str = "",
    follow: bool = False,
    since: str = logs_module.DEFAULT_SINCE,
    env: str = "dev",
) -> None:
    """Print a function's log events from its log group.

    One line per event (time, stream, message); --env local reads the local runtime's
    log; --follow polls until Ctrl-C."""
    try:
        spec = logs_module.function_spec(layer_arg(layer), function)
        since_s = logs_module.parse_since(since)
    except logs_module.LogsError as exc:
        raise Exit(f"error: {exc}", code=2) from None
    if env != logs_module.LOCAL_ENV:
        check_env(env)
    source = logs_module.source_for(env, spec, _logs_client)
    emit = lambda event: print(event.line(), flush=True)  # noqa: E731
    try:
        if follow:
            logs_module.follow(source, since_s, threading.Event(), emit)
        else:
            for event in logs_module.read(source, since_s):
                emit(event)
    except logs_module.LogsError as exc:
        raise Exit(f"error: {exc}", code=1) from None
    except KeyboardInterrupt:
        raise Exit(f"stopped following the logs of {spec.what}", code=INTERRUPTED_EXIT) from None


@task(
    positional=["function"],
    help={
        "function": "the function: api or notifier",
        "event": "the event as a JSON file (samples in events/)",
        "env": "whose config the stand-in's SSM parameters get " + HELP_ENV[11:],
    },
)
def invoke_function(
    c: Context, function: str | None = None, event: str = "", env: str = "dev"
) -> None:
    """Run one function's handler locally with an event file.

    As `sam local invoke`, moto standing in for AWS: its result on stdout, its logs on
    stderr."""
    from tracking_ops.local import invoke_one

    try:
        result = invoke_one.invoke(function or "", event, check_env(env))
    except invoke_one.InvokeUsageError as exc:
        raise Exit(f"error: {exc}", code=2) from None
    except invoke_one.FunctionError as exc:
        print(json.dumps(exc.result), flush=True)
        raise Exit(f"error: {function} raised {exc.result['errorType']}: {exc}", code=1) from None
    sys.stdout.write(json.dumps(result, default=str) + "\n")


TASKS = (diff, logs, invoke_function)
