"""`invoke bench`: the API function's cost next to raw boto3, measured in one run
against one moto server on 127.0.0.1 (ratios, not wall-clock limits).

The function runs as Lambda runs it: the environment variables the compute stack
ships (taken from the synthesized stack, so tracing and every setting are as
deployed), Lambda's own variables (function name, X-Ray daemon address and trace
header, the session token), and its SSM parameters served through the local
stand-in of the Parameters and Secrets extension.

- cold_start_ratio / status_cold_start_ratio: median over fresh processes of
  process start -> first response received (POST /track; GET /status), divided by
  the median over fresh processes of start -> reply of one raw boto3 call of the
  same kind (the handler's own request: a put_item of the same item, put only if its
  key is new; a consistent Query of the same page), the two run as
  interleaved pairs so machine noise hits both alike. Each process also reports
  its import time and its first request's time;
- warm_overhead_ratio / status_warm_overhead_ratio: median latency of
  ``app.handler`` on a valid request / median latency of the same raw call,
  interleaved request by request;
- calls_per_track / calls_per_status: AWS API calls of one warm request, counted
  at botocore's lowest common point in this process, which also sees the SSM
  calls the extension's stand-in makes for the function; the same for a cold
  request (a fresh container's caches) and for an idempotent replay;
- synth_seconds: `invoke synth` of all five stacks.

The fresh processes of the cold figures, and the environment they run in: cold_start.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tracking_ops.local import proxy, standin
from tracking_ops.measure import cold_start, history_cost
from tracking_ops.measure.cold_start import STATUS_PARCEL
from tracking_ops.measure.raw_requests import raw_put, raw_status_query, sample_event_item

COLD_PAIRS = 12
WARMUP = 20
STATUS_UPDATES = 10  # a parcel with a typical history: milestones from its whole history
GOALS = {
    "cold_start_ratio": 1.3,
    "status_cold_start_ratio": 1.3,
    "warm_overhead_ratio": 1.15,
    "status_warm_overhead_ratio": 1.15,
    "calls_per_track": 1,
    "calls_per_status": 2,  # one page of updates and the state item (milestones)
}


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


def _status_event() -> dict[str, Any]:
    return proxy.proxy_event("GET", "/status", query=f"tracking_id={STATUS_PARCEL}")


def _raw_item(i: int) -> dict[str, Any]:
    """An event item as the handler would store one of the bench's updates."""
    now = time.time_ns() // 10**6
    return sample_event_item(f"RAW-{i % 50}", "in_transit", now, f"{i:026d}")


def _cold_figures(runs: list[dict[str, float]]) -> dict[str, Any]:
    return {
        **_summary([run["seconds"] for run in runs]),
        "import_median_ms": round(statistics.median(run["import_ms"] for run in runs), 3),
        "first_request_median_ms": round(statistics.median(run["first_ms"] for run in runs), 3),
    }


def interleaved_orders(series: list[str], rounds: int, seed: int = 0) -> list[list[str]]:
    """One order per round, each a shuffle (seeded: runs are repeatable), so each series
    is preceded by each series equally often in expectation. A rotation does not do
    that: rotating A B C D keeps A right after D in three rounds of four, and B right
    after A in three of four. Measured: a put right after the Query's response takes
    0.4 ms (6 %) longer, and the rotation gave that place to the handler's write only."""
    rng = random.Random(seed)
    orders = []
    for _ in range(rounds):
        order = list(series)
        rng.shuffle(order)
        orders.append(order)
    return orders


def warm(instance: standin.StandIn, samples: int) -> dict[str, Any]:
    """Two pairs of series interleaved request by request: the handler on POST /track
    and a raw put_item; the handler on GET /status and the raw Query of its page.
    Each round runs the four in a fresh order (``interleaved_orders``): a request right
    after a Query's large response is slower, whichever side sends it, so every series
    must follow every other equally often."""
    from tracking_api import api

    handler, context = api.handler, proxy.LambdaContext()
    client = instance.client("dynamodb")
    table_name = instance.function_environment()["TABLE_NAME"]
    query = raw_status_query(table_name, api.settings_loader().get().api.default_page_size)

    def track(event: dict[str, Any]) -> None:
        assert handler(event, context)["statusCode"] == 201

    def status(event: dict[str, Any]) -> None:
        assert handler(event, context)["statusCode"] == 200

    calls = {
        "track": track,
        "raw_put_item": lambda put: client.put_item(**put),
        "status": status,
        "raw_query": lambda _: client.query(**query),
    }
    series = list(calls)
    orders = interleaved_orders(series, WARMUP + samples)
    times: dict[str, list[float]] = {name: [] for name in series}
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        # EMF metrics go to stdout, as Lambda's log pipe would take them.
        for i in range(WARMUP + samples):
            inputs = {  # built before the clock starts
                "track": _track_event(i),
                "raw_put_item": raw_put(table_name, _raw_item(i)),
                "status": _status_event(),
                "raw_query": None,
            }
            for name in orders[i]:
                started = time.perf_counter()
                calls[name](inputs[name])
                if i >= WARMUP:
                    times[name].append(time.perf_counter() - started)
    median = {name: statistics.median(values) for name, values in times.items()}
    return {
        **{name: _summary(values) for name, values in times.items()},
        "track_ratio": median["track"] / median["raw_put_item"],
        "status_ratio": median["status"] / median["raw_query"],
    }


@contextlib.contextmanager
def _counted_calls() -> Iterator[list[str]]:
    """Every AWS API call made in this process (the function's client, and the SSM
    calls the extension's stand-in makes on its behalf), as Service.Operation."""
    from botocore.client import BaseClient

    calls: list[str] = []
    original = BaseClient._make_api_call

    def record(self, operation_name, api_params):
        calls.append(f"{self.meta.service_model.service_id.replace(' ', '')}.{operation_name}")
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = record
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original


def aws_calls() -> dict[str, list[str]]:
    """The calls of a cold and a warm POST /track and GET /status, and of a replay."""
    from tracking_api import api, repository

    def calls_of(event: dict[str, Any], cold: bool = False) -> list[str]:
        if cold:  # a new container: no settings, no clients
            api.settings_loader.cache_clear()
            api.repository.cache_clear()
            repository.dynamodb_client.cache_clear()
        with (
            open(os.devnull, "w") as devnull,
            contextlib.redirect_stdout(devnull),
            _counted_calls() as calls,
        ):
            api.handler(event, proxy.LambdaContext())
        return calls

    headers = {"Content-Type": "application/json", "Idempotency-Key": "bench-replay"}
    body = json.dumps(
        {"tracking_id": "CALLS", "status": "pending", "location": {"lat": 0.0, "lng": 0.0}}
    )
    replayed = proxy.proxy_event("POST", "/track", headers=headers, body=body)
    return {
        "cold_track": calls_of(_track_event(0), cold=True),
        "warm_track": calls_of(_track_event(1)),
        "cold_status": calls_of(_status_event(), cold=True),
        "warm_status": calls_of(_status_event()),
        "first_idempotent": calls_of(replayed),
        "idempotent_replay": calls_of(replayed),
    }


def synth_seconds() -> float:
    from tracking_ops.deploy.synth import synth_all

    started = time.perf_counter()
    synth_all("dev")
    return time.perf_counter() - started


def _seed_status_parcel(client: Any, table_name: str) -> None:
    """A parcel with a short history for GET /status (written as the function writes)."""
    from tracking_common import table

    now = time.time_ns() // 10**6
    for i in range(STATUS_UPDATES):
        status = ("pending", "in_transit", "in_transit", "delivered")[
            min(3, i * 4 // STATUS_UPDATES)
        ]
        ts = now - (STATUS_UPDATES - i) * 60_000
        client.put_item(
            TableName=table_name,
            Item=table.event_item(
                tracking_id=STATUS_PARCEL,
                timestamp=ts,
                event_id=f"{i:026d}",
                status=status,
                lat=52.5,
                lng=13.4,
                received_at=ts,
            ),
        )


def run_bench(
    out: str | None,
    samples: int = 200,
    env: str = "dev",
    pairs: int = COLD_PAIRS,
    progress=print,
) -> dict:
    load_before = os.getloadavg()
    with standin.moto_server_process() as endpoint:
        instance = standin.StandIn(endpoint, env)
        standin.provision(instance)
        table_name = instance.function_environment()["TABLE_NAME"]
        _seed_status_parcel(instance.client("dynamodb"), table_name)
        with cold_start.lambda_environment(instance) as environment:
            for name in standin.PROFILE_VARIABLES:
                os.environ.pop(name, None)
            os.environ.update(environment)  # this process is the warm container
            from tracking_api import api

            page = api.settings_loader().get().api.default_page_size
            query = json.dumps(raw_status_query(table_name, page))
            progress(f"cold starts: {pairs} interleaved pairs for POST /track...")
            put = json.dumps(raw_put(table_name, _raw_item(0)))
            cold_track = cold_start.cold(
                environment, cold_start.COLD_TRACK, (cold_start.COLD_PUT, put), pairs
            )
            progress(f"cold starts: {pairs} interleaved pairs for GET /status...")
            cold_status = cold_start.cold(
                environment, cold_start.COLD_STATUS, (cold_start.COLD_QUERY, query), pairs
            )
            progress(f"warm: {samples} interleaved requests of each kind...")
            warm_figures = warm(instance, samples)
            calls = aws_calls()
            history = history_cost.measure(table_name, min(samples, 100), progress)
    progress("synth...")
    cold_seconds = {
        name: statistics.median(run["seconds"] for run in runs)
        for name, runs in (
            ("track", cold_track["handler"]),
            ("put", cold_track["baseline"]),
            ("status", cold_status["handler"]),
            ("query", cold_status["baseline"]),
        )
    }
    result = {
        "cold_start_ratio": round(cold_seconds["track"] / cold_seconds["put"], 3),
        "status_cold_start_ratio": round(cold_seconds["status"] / cold_seconds["query"], 3),
        "warm_overhead_ratio": round(warm_figures["track_ratio"], 3),
        "status_warm_overhead_ratio": round(warm_figures["status_ratio"], 3),
        "calls_per_track": len(calls["warm_track"]),
        "calls_per_status": len(calls["warm_status"]),
        "calls_per_idempotent_replay": len(calls["idempotent_replay"]),
        "calls": calls,
        "status_history": history,
        "warm": {k: v for k, v in warm_figures.items() if not k.endswith("ratio")},
        "cold": {
            "first_track": _cold_figures(cold_track["handler"]),
            "raw_put_item": _cold_figures(cold_track["baseline"]),
            "first_status": _cold_figures(cold_status["handler"]),
            "raw_query": _cold_figures(cold_status["baseline"]),
        },
        "synth_seconds": round(synth_seconds(), 3),
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        "goals": GOALS,
        "note": "cold = process start -> first response received; each ratio's two sides "
        "are interleaved in one run on one moto server. import/first-request times are "
        "the child's own; the rest of a cold start is the interpreter starting.",
    }
    _print_table(result)
    print(history_cost.line(history))
    if out:
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out}")
    return result


def _print_table(result: dict[str, Any]) -> None:
    warm_figures, cold_figures = result["warm"], result["cold"]
    rows = [
        ("warm POST /track (handler)", warm_figures["track"]),
        ("warm raw put_item", warm_figures["raw_put_item"]),
        ("warm GET /status (handler)", warm_figures["status"]),
        ("warm raw query (same page)", warm_figures["raw_query"]),
        ("cold start -> first POST /track", cold_figures["first_track"]),
        ("cold start -> one raw put_item", cold_figures["raw_put_item"]),
        ("cold start -> first GET /status", cold_figures["first_status"]),
        ("cold start -> one raw query", cold_figures["raw_query"]),
    ]
    print(
        f"{'measure':<34} {'median ms':>10} {'p99 ms':>9} {'n':>5} {'import ms':>10} "
        f"{'1st req ms':>10}"
    )
    for name, figures in rows:
        cold_parts = (
            f" {figures['import_median_ms']:>10.1f} {figures['first_request_median_ms']:>10.1f}"
            if "import_median_ms" in figures
            else ""
        )
        print(
            f"{name:<34} {figures['median_ms']:>10.2f} {figures['p99_ms']:>9.2f} "
            f"{figures['samples']:>5}{cold_parts}"
        )
    for key, goal in result["goals"].items():
        print(
            f"{key:<28} {result[key]:>8} (goal {'=' if key.startswith('calls') else '<='} {goal})"
        )
    calls = result["calls"]
    for name in ("cold_track", "warm_track", "cold_status", "warm_status", "idempotent_replay"):
        print(f"AWS calls, {name.replace('_', ' ')}: {', '.join(calls[name]) or 'none'}")
    print(f"synth_seconds {result['synth_seconds']}; load average {result['load_average']}")
