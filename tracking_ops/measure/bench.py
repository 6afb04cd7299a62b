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

from tracking_ops.deploy.planner import deploy_order
from tracking_ops.local import proxy, standin
from tracking_ops.measure import bench_report, cold_start, history_cost
from tracking_ops.measure.bench_report import COLD_STATUS, COLD_TRACK, WARM, summary
from tracking_ops.measure.cold_start import STATUS_PARCEL
from tracking_ops.measure.raw_requests import raw_put, raw_status_query, sample_event_item
from tracking_ops.progress import Progress, on_interrupt

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


def warm(instance: standin.StandIn, samples: int, step=lambda: None) -> dict[str, Any]:
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
            step()
    median = {name: statistics.median(values) for name, values in times.items()}
    return {
        **{name: summary(values) for name, values in times.items()},
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


AWS_CALL_REQUESTS = 6  # the requests aws_calls counts the calls of


def aws_calls(step=lambda: None) -> dict[str, list[str]]:
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
        step()
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


def synth_seconds(progress=lambda layer, result: None) -> float:
    from tracking_ops.deploy.synth import synth_all

    started = time.perf_counter()
    synth_all("dev", progress=progress)
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


PHASES = ("stand-in", "cold POST /track", "cold GET /status", "warm requests", "AWS calls")
PHASES += ("history", "synth")


def run_bench(
    out: str | None, samples: int = 200, env: str = "dev", pairs: int = COLD_PAIRS
) -> dict:
    """The bench, each phase with its progress (stderr); a Ctrl-C prints the rows
    measured by then and stops it (Interrupted)."""
    measured: dict[str, Any] = {}
    current: list[Progress] = []

    def phase(name: str, total: int | None, part: str = "", interval: float = 0.0) -> Progress:
        what = f"{name} ({part})" if part else name
        label = f"bench {PHASES.index(name) + 1}/{len(PHASES)} {what}"
        current[:] = [Progress(label, total, interval=interval)]
        return current[0]

    def stopped_in() -> str:
        return f"{current[0].label} at {current[0].counts()}" if current else "start-up"

    with on_interrupt("bench", lambda: bench_report.partial(measured, stopped_in())):
        result = _measure(measured, samples, env, pairs, phase)
    print("\n".join(bench_report.table_lines(result, measured)))
    print(history_cost.line(result["status_history"]))
    if out:
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out}")
    return result


def _measure(measured: dict[str, Any], samples: int, env: str, pairs: int, phase) -> dict:
    load_before = os.getloadavg()
    with phase(PHASES[0], 3) as shown, standin.moto_server_process() as endpoint:
        shown.advance(note="moto server up")
        instance = standin.StandIn(endpoint, env)
        standin.provision(instance)
        table_name = instance.function_environment()["TABLE_NAME"]
        _seed_status_parcel(instance.client("dynamodb"), table_name)
        shown.advance(note="provisioned")
        with cold_start.lambda_environment(instance) as environment:
            shown.advance(note="the function's environment")
            shown.close()
            for name in standin.PROFILE_VARIABLES:
                os.environ.pop(name, None)
            os.environ.update(environment)  # this process is the warm container
            from tracking_api import api

            page = api.settings_loader().get().api.default_page_size
            query = json.dumps(raw_status_query(table_name, page))
            put = json.dumps(raw_put(table_name, _raw_item(0)))
            for key, name, scripts in (
                (COLD_TRACK, PHASES[1], (cold_start.COLD_TRACK, (cold_start.COLD_PUT, put))),
                (COLD_STATUS, PHASES[2], (cold_start.COLD_STATUS, (cold_start.COLD_QUERY, query))),
            ):
                with phase(name, 2 * pairs) as shown:
                    measured[key] = cold_start.cold(environment, *scripts, pairs, shown.advance)
            with phase(PHASES[3], WARMUP + samples, interval=1.0) as shown:
                measured[WARM] = warm(instance, samples, shown.advance)
            with phase(PHASES[4], AWS_CALL_REQUESTS) as shown:
                calls = aws_calls(shown.advance)
            history_samples = min(samples, 100)
            writes = history_cost.SHORT_HISTORY + history_cost.LONG_HISTORY
            reading: list[Progress] = []  # once the updates are written
            with phase(PHASES[5], writes, "writing updates", interval=1.0) as written:

                def seeded() -> None:
                    written.advance()
                    if written.done == writes:
                        written.close()
                        reading.append(
                            phase(PHASES[5], history_cost.ROUNDS + history_samples, "reading")
                        )

                try:
                    history = history_cost.measure(
                        table_name,
                        history_samples,
                        written.print,
                        lambda: reading[0].advance(),
                        seeded,
                    )
                finally:
                    for shown in reading:
                        shown.close()
    with phase(PHASES[6], len(deploy_order())) as shown:
        synthesized = synth_seconds(lambda layer, result: shown.advance(note=layer.value))
    return _result(measured, calls, history, synthesized, load_before)


def _result(measured, calls, history, synthesized: float, load_before) -> dict[str, Any]:
    cold_track, cold_status, warm_figures = (
        measured[COLD_TRACK],
        measured[COLD_STATUS],
        measured[WARM],
    )
    cold_seconds = {
        name: statistics.median(run["seconds"] for run in runs)
        for name, runs in (
            ("track", cold_track["handler"]),
            ("put", cold_track["baseline"]),
            ("status", cold_status["handler"]),
            ("query", cold_status["baseline"]),
        )
    }
    return {
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
            "first_track": bench_report.cold_figures(cold_track["handler"]),
            "raw_put_item": bench_report.cold_figures(cold_track["baseline"]),
            "first_status": bench_report.cold_figures(cold_status["handler"]),
            "raw_query": bench_report.cold_figures(cold_status["baseline"]),
        },
        "synth_seconds": round(synthesized, 3),
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        "goals": GOALS,
        "note": "cold = process start -> first response received; each ratio's two sides "
        "are interleaved in one run on one moto server. import/first-request times are "
        "the child's own; the rest of a cold start is the interpreter starting.",
    }
