"""GET /status at a long history against a short one, in one run (issue 22).

Two parcels written through the function's own write path (the repository: the
event and the state item's milestones, as POST /track stores them), one with
SHORT_HISTORY updates and one with LONG_HISTORY; then the warm handler reads the
first page of each (milestones on: enhanced_tracking), interleaved request by
request.

The cost compared is what the request costs the function and DynamoDB: the
handler's own CPU time (this thread's: the stand-in runs in a process of its
own) and the items DynamoDB reads for it (what read units bill). Wall time is
reported beside it, with the raw Query of the same page at both lengths: moto's
Query sorts the whole partition on every call, so the stand-in's own time grows
with the history where DynamoDB's does not (it reads a key range, Limit items).
Goal: the ratio at LONG_HISTORY over SHORT_HISTORY is at most 1.5.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from typing import Any

from tracking_ops.local import proxy
from tracking_ops.measure.raw_requests import raw_status_query

SHORT_HISTORY = 10
LONG_HISTORY = 4000
HISTORY_GOAL = 1.5
PAGE = 5  # one limit for both parcels, below SHORT_HISTORY: the same page either way
ROUNDS = 5  # of warm-up, before the samples
STATUS_ORDER = ("pending", "in_transit", "in_transit", "delivered")


def _seed(table_name: str, tracking_id: str, updates: int, seeded=lambda: None) -> None:
    from tracking_api import domain
    from tracking_api.repository import TrackingRepository

    repository = TrackingRepository(table_name)
    now = time.time_ns() // 10**6
    for i in range(updates):
        status = STATUS_ORDER[min(3, i * 4 // updates)]
        at = now - (updates - i) * 100
        update = domain.Update(tracking_id, status, domain.Point(52.5, 13.4), None, at)
        repository.record(domain.Event.from_update(update, now))
        seeded()


def measure(
    table_name: str, samples: int, progress=print, step=lambda: None, seeded=lambda: None
) -> dict[str, Any]:
    """The warm GET /status (first page, milestones on) of a parcel with SHORT_HISTORY
    and one with LONG_HISTORY updates; the handler runs in this process. ``seeded`` is
    called per update written, ``step`` per round of reads."""
    from tracking_api import api

    short, long = f"HISTORY-{SHORT_HISTORY}", f"HISTORY-{LONG_HISTORY}"
    progress(f"history: writing {SHORT_HISTORY} and {LONG_HISTORY} updates of two parcels...")
    _seed(table_name, short, SHORT_HISTORY, seeded)
    _seed(table_name, long, LONG_HISTORY, seeded)
    if not api.settings_loader().get().flags.enhanced_tracking:
        raise RuntimeError("the history bench needs enhanced_tracking on (milestones)")
    events = {
        parcel: proxy.proxy_event("GET", "/status", query=f"tracking_id={parcel}&limit={PAGE}")
        for parcel in (short, long)
    }
    context = proxy.LambdaContext()
    client = api.repository(api.settings_loader().get().table_name).client
    items_read: list[int] = []

    def count_items(parsed, **_):
        items_read.append(len(parsed.get("Items", [])) + ("Item" in parsed))

    cpu: dict[str, list[float]] = {short: [], long: []}
    wall: dict[str, list[float]] = {short: [], long: []}
    raw: dict[str, list[float]] = {short: [], long: []}
    items: dict[str, int] = {}
    client.meta.events.register("after-call.dynamodb", count_items)
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            for i in range(ROUNDS + samples):
                order = (short, long) if i % 2 else (long, short)
                for parcel in order:
                    items_read.clear()
                    started, started_cpu = time.perf_counter(), time.thread_time()
                    response = api.handler(events[parcel], context)
                    spent_cpu, spent = (
                        time.thread_time() - started_cpu,
                        time.perf_counter() - started,
                    )
                    if response["statusCode"] != 200:
                        raise RuntimeError(f"GET /status of {parcel}: {response['statusCode']}")
                    items[parcel] = sum(items_read)
                    started = time.perf_counter()
                    client.query(**raw_status_query(table_name, PAGE, parcel))
                    raw_spent = time.perf_counter() - started
                    if i >= ROUNDS:
                        cpu[parcel].append(spent_cpu)
                        wall[parcel].append(spent)
                        raw[parcel].append(raw_spent)
                step()
    finally:
        client.meta.events.unregister("after-call.dynamodb", count_items)

    def median_ms(values: list[float]) -> float:
        return round(statistics.median(values) * 1000, 3)

    return {
        "short_updates": SHORT_HISTORY,
        "long_updates": LONG_HISTORY,
        "samples": samples,
        "short_cpu_ms": median_ms(cpu[short]),
        "long_cpu_ms": median_ms(cpu[long]),
        "items_read": {"short": items[short], "long": items[long]},
        "ratio": round(statistics.median(cpu[long]) / statistics.median(cpu[short]), 3),
        "items_ratio": round(items[long] / items[short], 3),
        "wall_ms": {"short": median_ms(wall[short]), "long": median_ms(wall[long])},
        "stand_in_query_ms": {"short": median_ms(raw[short]), "long": median_ms(raw[long])},
        "goal": HISTORY_GOAL,
    }


def line(figures: dict[str, Any]) -> str:
    items, wall, moto = figures["items_read"], figures["wall_ms"], figures["stand_in_query_ms"]
    return (
        f"GET /status cost at {figures['long_updates']} updates / at "
        f"{figures['short_updates']} updates: handler CPU {figures['long_cpu_ms']:.2f} ms / "
        f"{figures['short_cpu_ms']:.2f} ms = {figures['ratio']} (goal <= {figures['goal']}); "
        f"items DynamoDB reads {items['long']} / {items['short']} = {figures['items_ratio']}; "
        f"wall {wall['long']:.1f} / {wall['short']:.1f} ms, of which the stand-in's own Query "
        f"{moto['long']:.1f} / {moto['short']:.1f} ms (moto sorts the whole partition)"
    )
