"""`invoke bench`: the API function's cost next to raw boto3, measured in one run
against one moto server on 127.0.0.1 (ratios, not wall-clock limits).

- warm_overhead_ratio: median latency of ``app.handler`` on a valid POST /track
  proxy event / median latency of one raw ``put_item`` of an equivalent item,
  the two interleaved so machine noise hits both alike;
- cold_start_ratio: median over fresh processes of start -> first POST /track
  handled / median over fresh processes of start -> one raw ``put_item`` done;
- calls_per_track: AWS API calls while handling one warm valid POST /track, and
  one replayed idempotent request (botocore event hooks: exact, noise-free);
- synth_seconds: `invoke synth` of all five stacks.

The write path is one conditional PutItem per update, the same call as the
baseline; with an Idempotency-Key it is one TransactWriteItems (not measured
here: the stand-in's transactions are not DynamoDB's).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tracking_ops.local import proxy, standin
from tracking_stacks.definitions import REPO_ROOT

COLD_PROCESSES = 10
WARMUP = 20

_COLD_TRACK = """
import json, sys
from tracking_ops.local import proxy
from app import handler
event = proxy.proxy_event("POST", "/track", headers={"Content-Type": "application/json"},
    body=json.dumps({"tracking_id": "COLD", "status": "in_transit",
                     "location": {"lat": 1.0, "lng": 2.0}}))
response = handler(event, proxy.LambdaContext())
assert response["statusCode"] == 201, response
"""
_COLD_PUT = """
import boto3, os
boto3.client("dynamodb").put_item(TableName=os.environ["TABLE_NAME"], Item={
    "pk": {"S": "COLD"}, "sk": {"S": "E#0000000000001#RAW"}, "status": {"S": "in_transit"},
    "ts": {"N": "1"}, "lat": {"N": "1.0"}, "lng": {"N": "2.0"}})
"""


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values) * 1000, 3),
        "p99_ms": round(_percentile(values, 0.99) * 1000, 3),
        "samples": len(values),
    }


def _track_event(i: int) -> dict[str, Any]:
    return proxy.proxy_event(
        "POST",
        "/track",
        headers={"Content-Type": "application/json"},
        body=json.dumps(
            {
                "tracking_id": f"BENCH-{i % 50}",
                "status": "in_transit",
                "location": {"lat": 52.5, "lng": 13.4},
            }
        ),
    )


def _raw_item(i: int) -> dict[str, Any]:
    return {
        "pk": {"S": f"RAW-{i % 50}"},
        "sk": {"S": f"E#{time.time_ns() // 10**6:013d}#{i:026d}"},
        "event_id": {"S": f"{i:026d}"},
        "status": {"S": "in_transit"},
        "ts": {"N": str(time.time_ns() // 10**6)},
        "lat": {"N": "52.5"},
        "lng": {"N": "13.4"},
        "received_at": {"N": str(time.time_ns() // 10**6)},
    }


def warm(instance: standin.StandIn, samples: int) -> dict[str, Any]:
    """Two series interleaved request by request: the handler, and a raw put_item."""
    from tracking_api import api

    handler, context = api.handler, proxy.LambdaContext()
    client = instance.client("dynamodb")
    table = instance.function_environment()["TABLE_NAME"]
    times: dict[str, list[float]] = {"handler": [], "raw_put_item": []}
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        # EMF metrics go to stdout, as Lambda's log pipe would take them.
        for i in range(WARMUP + samples):
            event, item = _track_event(i), _raw_item(i)
            started = time.perf_counter()
            response = handler(event, context)
            handler_time = time.perf_counter() - started
            assert response["statusCode"] == 201, response
            started = time.perf_counter()
            client.put_item(TableName=table, Item=item)
            put_time = time.perf_counter() - started
            if i >= WARMUP:
                times["handler"].append(handler_time)
                times["raw_put_item"].append(put_time)
    return {
        **{name: _summary(values) for name, values in times.items()},
        "ratio": statistics.median(times["handler"]) / statistics.median(times["raw_put_item"]),
    }


def calls_per_track(instance: standin.StandIn) -> dict[str, int]:
    from tracking_api import api

    calls: list[str] = []
    loader = api.settings_loader()
    clients = [api.repository(loader.get().table_name).client]
    if loader.provider is not None:
        clients.append(loader.provider.client)
    for client in clients:
        client.meta.events.register("before-call", lambda **_: calls.append("call"))
    headers = {"Content-Type": "application/json", "Idempotency-Key": "bench-replay"}
    body = json.dumps(
        {"tracking_id": "CALLS", "status": "pending", "location": {"lat": 0.0, "lng": 0.0}}
    )

    def count(event: dict[str, Any]) -> int:
        calls.clear()
        api.handler(event, proxy.LambdaContext())
        return len(calls)

    track = count(_track_event(0))
    count(proxy.proxy_event("POST", "/track", headers=headers, body=body))
    replay = count(proxy.proxy_event("POST", "/track", headers=headers, body=body))
    return {"track": track, "idempotent_replay": replay}


def cold(environment: dict[str, str], script: str) -> list[float]:
    env = {
        **os.environ,
        **environment,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "functions" / "tracking"), str(REPO_ROOT)]),
    }
    durations = []
    for _ in range(COLD_PROCESSES):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", script], env=env, check=True, cwd=REPO_ROOT, capture_output=True
        )
        durations.append(time.perf_counter() - started)
    return durations


def synth_seconds() -> float:
    from tracking_ops.deploy.synth import synth_all

    started = time.perf_counter()
    synth_all("dev")
    return time.perf_counter() - started


def run_bench(out: str | None, samples: int = 200, env: str = "dev") -> dict[str, Any]:
    with standin.moto_server() as endpoint:
        instance = standin.StandIn(endpoint, env)
        instance.apply_to(os.environ)
        standin.provision(instance)
        environment = {**instance.aws_environment(), **instance.function_environment()}
        cold_track = cold(environment, _COLD_TRACK)
        cold_put = cold(environment, _COLD_PUT)
        warm_figures = warm(instance, samples)
        calls = calls_per_track(instance)
    result = {
        "warm_overhead_ratio": round(warm_figures["ratio"], 3),
        "cold_start_ratio": round(statistics.median(cold_track) / statistics.median(cold_put), 3),
        "calls_per_track": calls["track"],
        "calls_per_idempotent_replay": calls["idempotent_replay"],
        "warm": {k: v for k, v in warm_figures.items() if not k.startswith("ratio")},
        "cold": {"first_track": _summary(cold_track), "raw_put_item": _summary(cold_put)},
        "synth_seconds": round(synth_seconds(), 3),
        "goals": {"warm_overhead_ratio": 1.25, "cold_start_ratio": 1.5, "calls_per_track": 1},
        "note": "moto's TransactWriteItems costs several PutItems; DynamoDB's does not. "
        "One update = one TransactWriteItems (event put + state update) = 4 WRU "
        "(+2 with an Idempotency-Key), plus the index write when the state moves.",
    }
    _print_table(result)
    if out:
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out}")
    return result


def _print_table(result: dict[str, Any]) -> None:
    warm_figures, cold_figures = result["warm"], result["cold"]
    rows = [
        ("warm POST /track (handler)", warm_figures["handler"]),
        ("warm raw put_item", warm_figures["raw_put_item"]),
        ("cold start -> first POST /track", cold_figures["first_track"]),
        ("cold start -> one raw put_item", cold_figures["raw_put_item"]),
    ]
    print(f"{'measure':<34} {'median ms':>10} {'p99 ms':>9} {'n':>5}")
    for name, figures in rows:
        print(
            f"{name:<34} {figures['median_ms']:>10.2f} {figures['p99_ms']:>9.2f} "
            f"{figures['samples']:>5}"
        )
    print(
        f"warm_overhead_ratio {result['warm_overhead_ratio']} (goal <= 1.25), "
        f"cold_start_ratio {result['cold_start_ratio']} (goal <= 1.5)"
    )
    print(
        f"calls_per_track {result['calls_per_track']} (goal 1), idempotent replay "
        f"{result['calls_per_idempotent_replay']}; synth_seconds {result['synth_seconds']}"
    )
