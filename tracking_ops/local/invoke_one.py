"""`invoke invoke-function NAME --event FILE`, like `sam local invoke`: one handler (api or
notifier) run once in this process with the event in FILE, against a moto server on
127.0.0.1 provisioned as `invoke local` provisions it (standin.provision), with the
API's Parameters and Secrets extension stand-in; the moto server stops afterwards.
The handler's result is the caller's to print (stdout); what the function logs goes to
stderr. The event file and the name are checked before anything starts."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tracking_ops.lambda_context import LambdaContext
from tracking_ops.local import parameters_extension, standin
from tracking_ops.local.runtime import API_HANDLER, API_WARM, CODE_SUBDIRS, FUNCTIONS_DIR
from tracking_stacks import definitions as defs

NOTIFIER_HANDLER = "tracking_notifier.handler:handler"  # what the notifier's app.handler is
HANDLERS = {defs.API_FUNCTION.what: API_HANDLER, defs.NOTIFIER_FUNCTION.what: NOTIFIER_HANDLER}
# What a new container does before its first request, as the workers of `invoke local` do.
WARM_UPS = {defs.API_FUNCTION.what: API_WARM}
SPECS = {spec.what: spec for spec in defs.FUNCTIONS}
LOG_LEVEL = "INFO"  # as deployed (the compute stack's POWERTOOLS_LOG_LEVEL): logs to stderr
QUIET_WARNING = "No application metrics to publish"  # Powertools, on every invocation locally
EVENTS_DIR = defs.REPO_ROOT / "events"  # the sample events


class InvokeUsageError(Exception):
    """A bad request (unknown function, missing or malformed event file): one line."""


class FunctionError(Exception):
    """The handler raised; ``result`` is what Lambda answers (errorMessage, errorType)."""

    def __init__(self, result: dict[str, Any]):
        super().__init__(result["errorMessage"])
        self.result = result


def function_spec(name: str) -> defs.FunctionSpec:
    if name not in SPECS:
        raise InvokeUsageError(f"unknown function {name!r}; functions: {', '.join(SPECS)}")
    return SPECS[name]


def load_event(path: str) -> dict[str, Any]:
    """The JSON object in ``path``."""
    file = Path(path)
    if not path or not file.is_file():
        raise InvokeUsageError(f"event file {path!r} not found (samples: {EVENTS_DIR.name}/)")
    try:
        event = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvokeUsageError(f"event file {path} is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise InvokeUsageError(f"event file {path}: a Lambda event is a JSON object")
    return event


def _resolve(reference: str):
    import importlib

    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


@contextlib.contextmanager
def local_standin(env: str) -> Iterator[standin.StandIn]:
    """moto on 127.0.0.1 with the data and config layers of ``env``, this process's
    environment pointing at it (and at the extension stand-in) while it runs."""
    saved = dict(os.environ)
    try:
        with standin.moto_server() as endpoint:
            instance = standin.StandIn(endpoint, env)
            instance.apply_to(os.environ)
            os.environ["POWERTOOLS_LOG_LEVEL"] = LOG_LEVEL
            standin.provision(instance)
            standin.observe_events(instance)
            with parameters_extension.serve(os.environ) as variables:
                os.environ.update(variables)
                yield instance
    finally:
        os.environ.clear()
        os.environ.update(saved)


def invoke(name: str, event_path: str, env: str = "dev") -> Any:
    """Run function ``name``'s handler once with the event in ``event_path``; its result.
    While it runs, stdout is stderr (the function's logger keeps the stream it finds at
    import), so the caller's stdout carries only the result."""
    spec = function_spec(name)
    event = load_event(event_path)
    sys.path[:0] = [str(FUNCTIONS_DIR / sub) for sub in CODE_SUBDIRS]
    with local_standin(env), contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=QUIET_WARNING)
        handler = _resolve(HANDLERS[spec.what])
        if spec.what in WARM_UPS:
            _resolve(WARM_UPS[spec.what])()
        try:
            return handler(event, LambdaContext.of(spec))
        except Exception as exc:  # noqa: BLE001 - the invocation's result, as Lambda reports it
            traceback.print_exc(file=sys.stderr)
            raise FunctionError(
                {"errorMessage": str(exc), "errorType": type(exc).__name__}
            ) from None
