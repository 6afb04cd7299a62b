"""Concurrent writers against moto through the repository (one thread = one Lambda
container; the Powertools resolver itself serves one request at a time)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from tests.helpers import now_ms, update
from tracking_api import domain
from tracking_api.errors import IdempotencyKeyInProgress
from tracking_api.models import TrackingUpdate
from tracking_api.repository import (
    IdempotencyKeyTaken,
    IdempotencyRecord,
    TrackingRepository,
    request_hash,
)
from tracking_stacks import definitions as defs

WRITERS = 8
WRITES_EACH = 10


def test_concurrent_writes_with_one_timestamp_are_all_kept(api, project_stream):
    ts = now_ms() - 10_000
    repository = TrackingRepository(defs.table_name("dev"))

    def write(i: int) -> str:
        status = ("pending", "in_transit", "delivered", "failed")[i % 4]
        event = domain.Event.from_update(
            TrackingUpdate.model_validate(update(status=status, timestamp=ts)), now_ms()
        )
        repository.record(event)
        return event.event_id

    with ThreadPoolExecutor(WRITERS) as pool:
        written = list(pool.map(write, range(WRITERS * WRITES_EACH)))

    stored = api.status("tracking_id=PKG-1&limit=100").body
    assert sorted(u["event_id"] for u in stored["updates"]) == sorted(written)
    # Every writer agrees on one winner: the greatest (timestamp, event id).
    assert (
        stored["status"]
        == next(u for u in stored["updates"] if u["event_id"] == max(written))["status"]
    )


def test_racing_retries_with_one_idempotency_key_store_once(api):
    repository = TrackingRepository(defs.table_name("dev"))
    payload = update()
    fingerprint = request_hash(payload)

    def attempt(_: int) -> str:
        received = now_ms()
        event = domain.Event.from_update(TrackingUpdate.model_validate(payload), received)
        record = IdempotencyRecord(
            "race", fingerprint, 201, json.dumps(event.as_track_response()), received // 1000 + 60
        )
        try:
            repository.record(event, record)
            return "stored"
        except IdempotencyKeyTaken as taken:
            assert taken.stored.request_hash == fingerprint
            return "replayed"
        except IdempotencyKeyInProgress:
            return "in_progress"

    with ThreadPoolExecutor(WRITERS) as pool:
        outcomes = list(pool.map(attempt, range(WRITERS * 4)))

    assert outcomes.count("stored") == 1
    assert len(api.status("tracking_id=PKG-1").body["updates"]) == 1
