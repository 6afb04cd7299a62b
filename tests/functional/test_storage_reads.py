"""The storage reads behind the API: reads that follow a write ask DynamoDB for strong
consistency (moto is always consistent, so the request itself is what is checked), and
an idempotency record past its expiry reads as absent before TTL deletes it."""

from __future__ import annotations

import time

import botocore.client

from tests.functional.test_reads import set_flags
from tests.helpers import now_ms, update
from tracking_api import domain
from tracking_api.repository import TrackingRepository
from tracking_common import table
from tracking_stacks import definitions as defs

TABLE = defs.table_name("dev")


def record_calls(monkeypatch) -> list[tuple[str, dict]]:
    """Every AWS call made from here on, as (operation, parameters)."""
    calls: list[tuple[str, dict]] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self, operation, params):
        calls.append((operation, params))
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return calls


def test_every_read_of_the_table_after_a_write_is_strongly_consistent(api, aws, monkeypatch):
    set_flags(aws, enhanced_tracking=False, batch_processing=True)
    calls = record_calls(monkeypatch)
    body = update(timestamp=now_ms() - 1000)
    assert api.track(body, headers={"Idempotency-Key": "k-1"}).status == 201
    assert api.track(body, headers={"Idempotency-Key": "k-1"}).status == 201  # replayed
    assert api.status("tracking_id=PKG-1").status == 200
    set_flags(aws, enhanced_tracking=True, batch_processing=True)
    assert "milestones" in api.status("tracking_id=PKG-1").body  # the whole-history read
    # A write the SDK retried after it was stored (its reply lost): found stored.
    now = now_ms()
    event = domain.Event.from_update(domain.validate_update(update(), now), now)
    repository = TrackingRepository(TABLE)
    repository.record(event)
    repository.record(event)

    reads = [
        (operation, params)
        for operation, params in calls
        if operation in ("GetItem", "Query")
        and params.get("TableName") == TABLE
        and "IndexName" not in params  # an index cannot be read consistently
    ]
    keys = [params["Key"][table.SORT_KEY]["S"] for op, params in reads if op == "GetItem"]
    assert table.IDEMPOTENCY_SORT_KEY in keys  # the replay read the stored response
    assert any(key.startswith(table.EVENT_SORT_KEY_PREFIX) for key in keys)  # the retry
    assert len([operation for operation, _ in reads if operation == "Query"]) >= 2
    assert [params.get("ConsistentRead") for _, params in reads] == [True] * len(reads)


def test_a_page_reads_one_item_more_than_it_returns_and_no_more(
    api, aws, project_stream, monkeypatch
):
    """Limit = page size + 1: the extra item says whether another page exists; without a
    Limit a Query reads up to 1 MB per call (per shard of the status index)."""
    set_flags(aws, enhanced_tracking=False, batch_processing=True)
    for i in range(3):
        api.track(update(tracking_id=f"P{i}", timestamp=now_ms() - 1000 + i))
    project_stream()
    calls = record_calls(monkeypatch)

    assert api.status("tracking_id=P1&limit=2").status == 200
    assert api.request("GET", "/shipments", query="status=in_transit&limit=2").status == 200

    queries = [p for op, p in calls if op == "Query" and p.get("TableName") == TABLE]
    assert {"IndexName" in p for p in queries} == {True, False}  # both reads were made
    assert [p.get("Limit") for p in queries] == [3] * len(queries)


def test_an_expired_idempotency_record_not_yet_deleted_reads_as_absent(aws):
    repository = TrackingRepository(TABLE)

    def store(key: str, expires_at: int) -> None:
        aws.client("dynamodb").put_item(
            TableName=TABLE,
            Item={
                table.PARTITION_KEY: {"S": table.idempotency_partition_key(key)},
                table.SORT_KEY: {"S": table.IDEMPOTENCY_SORT_KEY},
                table.ATTR_REQUEST_HASH: {"S": "h"},
                table.ATTR_RESPONSE_STATUS: {"N": "201"},
                table.ATTR_RESPONSE_BODY: {"S": "{}"},
                table.TTL_ATTRIBUTE: {"N": str(expires_at)},
            },
        )

    now_s = int(time.time())
    store("old", now_s - 2)
    store("live", now_s + 3600)
    assert repository.get_idempotency("old", now_s) is None
    assert repository.get_idempotency("live", now_s).response_status == 201
    # A record lives through the second it expires at, as the write's condition
    # (expires_at < now) has it; it is gone the second after.
    assert repository.get_idempotency("old", now_s - 2).response_status == 201
    assert repository.get_idempotency("old", now_s - 1) is None
