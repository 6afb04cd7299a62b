"""The cold figures of `invoke bench`: fresh processes that start as a Lambda container
starts (the environment the compute stack ships, Lambda's own variables, X-Ray's
daemon address, the Parameters and Secrets extension's stand-in) and report when the
first response was in hand, next to fresh processes making the same raw boto3 call."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from tracking_ops.local import parameters_extension, standin
from tracking_stacks import definitions as defs
from tracking_stacks.definitions import REPO_ROOT

STATUS_PARCEL = "BENCH-STATUS"
# What Lambda's runtime sets in every execution environment (the values are local).
LAMBDA_VARIABLES = {
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "_HANDLER": defs.API_FUNCTION.handler,
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "LAMBDA_TASK_ROOT": str(REPO_ROOT / "functions" / "tracking"),
    "TZ": ":UTC",
}
# The child prints this line, with its own timings, once the response is in hand.
READY = "BENCH-READY"

_COLD_PRELUDE = f"""
import time
_started = time.perf_counter()
import json, os, sys
def _ready(imported, answered):
    print("{READY}", json.dumps({{"import_ms": (imported - _started) * 1000,
                                 "first_ms": (answered - imported) * 1000}}), flush=True)
"""
COLD_TRACK = (
    _COLD_PRELUDE
    + """
from app import handler
imported = time.perf_counter()
from tracking_ops.local import proxy
event = proxy.proxy_event("POST", "/track", headers={"Content-Type": "application/json"},
    body=json.dumps({"tracking_id": "COLD", "status": "in_transit",
                     "location": {"lat": 1.0, "lng": 2.0}}))
response = handler(event, proxy.LambdaContext())
_ready(imported, time.perf_counter())
assert response["statusCode"] == 201, response
"""
)
COLD_STATUS = (
    _COLD_PRELUDE
    + f"""
from app import handler
imported = time.perf_counter()
from tracking_ops.local import proxy
event = proxy.proxy_event("GET", "/status", query="tracking_id={STATUS_PARCEL}")
response = handler(event, proxy.LambdaContext())
_ready(imported, time.perf_counter())
assert response["statusCode"] == 200, response
"""
)
COLD_PUT = (
    _COLD_PRELUDE
    + """
import boto3
imported = time.perf_counter()
put = json.loads(sys.argv[1])
put["Item"]["sk"]["S"] += os.urandom(8).hex()  # a new key, as each update has
boto3.client("dynamodb").put_item(**put)
_ready(imported, time.perf_counter())
"""
)
COLD_QUERY = (
    _COLD_PRELUDE
    + """
import boto3
imported = time.perf_counter()
boto3.client("dynamodb").query(**json.loads(sys.argv[1]))
_ready(imported, time.perf_counter())
"""
)


def shipped_environment(env: str) -> dict[str, str]:
    """The API function's environment variables as the compute stack ships them."""
    from tracking_ops.deploy.synth import synth_all
    from tracking_stacks.registry import Layer

    compute = next(r for r in synth_all(env) if r.layer is Layer.COMPUTE)
    inputs = next(
        r["inputs"]
        for r in compute.resources
        if r["type"] == "aws:lambda/function:Function"
        and r["inputs"]["name"] == defs.API_FUNCTION.function_name(env)
    )
    return {
        **inputs["environment"]["variables"],
        "AWS_LAMBDA_FUNCTION_NAME": inputs["name"],
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(inputs["memorySize"]),
        "AWS_LAMBDA_LOG_GROUP_NAME": defs.API_FUNCTION.log_group_name(env),
    }


@contextlib.contextmanager
def xray_daemon() -> Iterator[str]:
    """A UDP socket on loopback where Lambda's X-Ray daemon would listen (it discards)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((standin.LOOPBACK, 0))
        yield f"{standin.LOOPBACK}:{sock.getsockname()[1]}"


@contextlib.contextmanager
def lambda_environment(instance: standin.StandIn) -> Iterator[dict[str, str]]:
    """The function's whole environment: as shipped, Lambda's variables, the stand-in."""
    environment = {**instance.aws_environment(), **shipped_environment(instance.env)}
    with xray_daemon() as daemon, parameters_extension.serve(environment) as extension:
        environment.update(LAMBDA_VARIABLES)
        environment.update(extension)
        environment["AWS_XRAY_DAEMON_ADDRESS"] = daemon
        yield environment


def cold_start(environment: dict[str, str], script: str, *args: str) -> dict[str, float]:
    """One fresh process: seconds from its start until it printed READY (the response
    is in hand), and its own import and first-request milliseconds."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))},
        **environment,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "functions" / "tracking"), str(REPO_ROOT)]),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    timings = None
    try:
        for line in process.stdout:
            if line.startswith(READY):
                elapsed = time.perf_counter() - started
                timings = json.loads(line[len(READY) :])
                break
        _, errors = process.communicate()
    except BaseException:  # a Ctrl-C: the process goes with the bench
        process.kill()
        process.wait()
        raise
    if timings is None or process.returncode != 0:
        raise RuntimeError(f"cold process failed: {errors.strip().splitlines()[-1:]}")
    return {"seconds": elapsed, **timings}


def cold(
    environment: dict[str, str],
    handler_script: str,
    baseline: tuple[str, ...],
    pairs: int,
    step=lambda: None,
) -> dict:
    """``pairs`` interleaved pairs (handler process, baseline process); the order
    within a pair alternates so neither always runs on a warmer machine."""
    runs: dict[str, list[dict[str, float]]] = {"handler": [], "baseline": []}
    for i in range(pairs):
        order = ["handler", "baseline"] if i % 2 == 0 else ["baseline", "handler"]
        for name in order:
            script = (handler_script,) if name == "handler" else baseline
            runs[name].append(cold_start(environment, *script))
            step()
    return runs
