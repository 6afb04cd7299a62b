"""A bounded load and consistency run against a tracking API (the local one by default).

N clients x M updates on a few parcels, timestamps drawn from a small set so
they collide, and one request in five sent by two clients at once with one
Idempotency-Key (racing retries; a 409 is retried as a client would). Then,
from the API itself: every accepted update is readable exactly once, and each
parcel's current state is its newest event (by time, then event id).
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from tracking_ops.progress import Interrupted, Progress

RACE_EVERY = 5
STATUSES = ("pending", "in_transit", "delivered", "failed")
IN_PROGRESS_RETRIES = 20
# The check's reads try a 503 again, as a client should: after the response's
# Retry-After (capped), else after a doubling back-off. On a busy machine moto's
# Query can outlast the function's read timeout while the stream feeder works off
# the run's backlog under moto's one-at-a-time lock; the API then rightly answers
# 503. Bounded and counted in the figures; a read still 503 after these is a problem.
VERIFY_RETRIES = 6
FIRST_BACKOFF_SECONDS = 0.5
MAX_RETRY_WAIT_SECONDS = 5.0
UNAVAILABLE = 503
sleep = time.sleep  # the verifier's waits (a test records them instead)
PROGRESS_INTERVAL = 1.0  # seconds between progress lines


@dataclass
class LoadResult:
    clients: int
    per_client: int
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> 201 body
    problems: list[str] = field(default_factory=list)
    verify_retries: int = 0  # reads of the check answered 503 and tried again

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "clients": self.clients,
            "updates_per_client": self.per_client,
            "requests": self.requests,
            "seconds": round(self.elapsed, 2),
            "requests_per_second": round(self.requests / self.elapsed, 1) if self.elapsed else 0,
            "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
            "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 2) if ordered else None,
            "statuses": dict(self.statuses),
            "accepted_updates": len(self.accepted),
            "consistency_problems": self.problems,
            "verify_retries_after_503": self.verify_retries,
        }

    def partial_line(self, updates: int, verified: bool) -> str:
        """The figures of a run a Ctrl-C stopped, on one line."""
        figures = self.summary()
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"{updates} of {self.clients * self.per_client} updates in {figures['seconds']}s: "
            f"{figures['requests']} requests, {figures['requests_per_second']} requests/s, "
            f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, statuses {{{statuses}}}"
            + ("; stopped in the consistency check" if verified else "; consistency not checked")
        )


class _Reply(NamedTuple):
    status: int
    body: Any
    seconds: float
    retry_after: str | None  # the Retry-After header, if the server sent one


class _Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> _Reply:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        started = time.perf_counter()
        self.connection.request(method, path, body=data, headers=all_headers)
        response = self.connection.getresponse()
        payload = response.read()
        return _Reply(
            response.status,
            json.loads(payload) if payload else None,
            time.perf_counter() - started,
            response.getheader("Retry-After"),
        )


def _plan(client: int, per_client: int, parcels: list[str], base_ms: int) -> list[tuple]:
    """(idempotency key, body) per update; pairs of clients share every fifth one."""
    plan = []
    for j in range(per_client):
        owner = client - client % 2 if j % RACE_EVERY == 0 else client  # shared by the pair
        key = f"load-{owner}-{j}"
        body = {
            "tracking_id": parcels[(owner + j) % len(parcels)],
            "status": STATUSES[(owner * 7 + j) % len(STATUSES)],
            "location": {"lat": 52.0 + j / 1000, "lng": 13.0},
            "timestamp": base_ms + (j % 10) * 1000,
        }  # ten instants: many collisions
        plan.append((key, body))
    return plan


def run_load(
    base_url: str,
    clients: int = 8,
    per_client: int = 500,
    parcels: int = 4,
    prefix: str | None = None,
    progress: Progress | None = None,
) -> LoadResult:
    prefix = prefix or f"LOAD-{int(time.time() * 1000)}"
    parcel_ids = [f"{prefix}-{i}" for i in range(parcels)]
    base_ms = int(time.time() * 1000) - 60_000
    result = LoadResult(clients, per_client)
    lock, stop = threading.Lock(), threading.Event()
    shown = progress or Progress("load", clients * per_client, interval=PROGRESS_INTERVAL)
    started = time.perf_counter()

    def update_done() -> None:
        rate = result.requests / max(time.perf_counter() - started, 1e-9)
        shown.advance(note=f"{rate:.0f} requests/s")

    def work(client: int) -> None:
        connection = _Client(base_url)
        for key, body in _plan(client, per_client, parcel_ids, base_ms):
            if stop.is_set():
                return
            for _ in range(IN_PROGRESS_RETRIES):
                status, reply, seconds, _ = connection.request(
                    "POST", "/track", body, {"Idempotency-Key": key}
                )
                with lock:
                    result.latencies.append(seconds)
                    result.statuses[status] += 1
                if status != 409:
                    break
                time.sleep(0.01)  # the twin request is in flight: retry, as a client would
            with lock:
                if status == 201:
                    previous = result.accepted.setdefault(key, reply)
                    if previous["event_id"] != reply["event_id"]:
                        result.problems.append(f"key {key} answered two event ids")
                else:
                    result.problems.append(f"key {key} ended with {status}: {reply}")
                update_done()

    threads = [threading.Thread(target=work, args=(c,)) for c in range(clients)]
    verifying = False
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result.elapsed = time.perf_counter() - started
        shown.close()
        verifying = True
        result.problems += verify(base_url, parcel_ids, result)
    except KeyboardInterrupt:
        stop.set()  # each client ends after the request it has in flight
        for thread in threads:
            if thread.is_alive():
                thread.join()
        result.elapsed = result.elapsed or time.perf_counter() - started
        shown.close()
        raise Interrupted("load", result.partial_line(shown.done, verifying)) from None
    return result


def verify(base_url: str, parcels: list[str], result: LoadResult) -> list[str]:
    problems = []
    client = _Client(base_url)
    accepted_by_parcel: dict[str, set[str]] = {p: set() for p in parcels}
    for body in result.accepted.values():
        accepted_by_parcel[body["tracking_id"]].add(body["event_id"])
    for parcel in parcels:
        stored, cursor, current = [], None, None
        while True:
            query = f"/status?tracking_id={parcel}&limit=100" + (
                f"&cursor={cursor}" if cursor else ""
            )
            status, body = _read_retrying(client, query, result)
            if status != 200:
                problems.append(f"{parcel}: GET /status answered {status}: {body}")
                break
            current = current or body  # the current state, as the first page says it
            stored += body["updates"]
            if not (cursor := body["next_cursor"]):
                break
        ids = [u["event_id"] for u in stored]
        if len(ids) != len(set(ids)):
            problems.append(f"{parcel}: an update is listed twice")
        if set(ids) != accepted_by_parcel[parcel]:
            problems.append(
                f"{parcel}: stored {len(set(ids))} updates, accepted "
                f"{len(accepted_by_parcel[parcel])}"
            )
        if stored and current:
            newest = max(stored, key=lambda u: (u["timestamp"], u["event_id"]))
            if (current["status"], current["timestamp"]) != (newest["status"], newest["timestamp"]):
                problems.append(f"{parcel}: current state is not the newest event")
    return problems


def retry_wait(retry_after: str | None, attempt: int) -> float:
    """Seconds before the ``attempt``-th retry (0-based): the server's Retry-After
    (delta-seconds) when it sends one, else a doubling back-off; capped either way."""
    try:
        wait = float(retry_after) if retry_after is not None else None
    except ValueError:  # an HTTP date or garbage: fall back to the back-off
        wait = None
    if wait is None or wait < 0:
        wait = FIRST_BACKOFF_SECONDS * 2**attempt
    return min(wait, MAX_RETRY_WAIT_SECONDS)


def _read_retrying(client: _Client, query: str, result: LoadResult) -> tuple[int, Any]:
    """GET ``query``; a 503 is tried again up to VERIFY_RETRIES times (counted)."""
    reply = client.request("GET", query)
    for attempt in range(VERIFY_RETRIES):
        if reply.status != UNAVAILABLE:
            break
        result.verify_retries += 1
        sleep(retry_wait(reply.retry_after, attempt))
        reply = client.request("GET", query)
    return reply.status, reply.body
