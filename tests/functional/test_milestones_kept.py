"""Milestones kept on the parcel's state item (issue 22, item 2): GET /status reads one
page and the state item at any history length; concurrent and out-of-order writers
converge on the earliest event time per status; parcels from before read correctly."""

from __future__ import annotations

import random
import threading

from tests.functional.calls import count_aws_calls
from tests.helpers import now_ms, update
from tracking_api import domain
from tracking_api.repository import TrackingRepository
from tracking_common import table
from tracking_stacks import definitions as defs

TABLE = defs.table_name("dev")  # enhanced_tracking is on in dev


def state_item(aws, tracking_id: str) -> dict:
    return aws.client("dynamodb").get_item(
        TableName=TABLE,
        ConsistentRead=True,
        Key={table.PARTITION_KEY: {"S": tracking_id}, table.SORT_KEY: {"S": table.STATE_SORT_KEY}},
    )["Item"]


def test_status_reads_the_same_items_at_10_and_at_300_updates(api):
    base = now_ms() - 3_600_000
    for parcel, count in (("SHORT", 10), ("LONG", 300)):
        for i in range(count):
            status = "pending" if i == 0 else "in_transit"
            assert (
                api.track(update(tracking_id=parcel, status=status, timestamp=base + i)).status
                == 201
            )
    calls = {}
    for parcel in ("SHORT", "LONG"):
        with count_aws_calls() as calls[parcel]:
            body = api.status(f"tracking_id={parcel}&limit=5").body
        assert body["milestones"] == {"pending": base, "in_transit": base + 1}
    assert calls["SHORT"] == calls["LONG"] == ["DynamoDB.Query", "DynamoDB.GetItem"]
    # A later page: the page, the newest event (the current state), the state item.
    first = api.status("tracking_id=LONG&limit=5").body
    with count_aws_calls() as later:
        page = api.status(f"tracking_id=LONG&limit=5&cursor={first['next_cursor']}").body
    assert later == ["DynamoDB.Query", "DynamoDB.Query", "DynamoDB.GetItem"]
    assert (page["timestamp"], page["milestones"]) == (base + 299, first["milestones"])


def test_an_earlier_update_arriving_late_moves_its_milestone_back(api, aws):
    base = now_ms() - 100_000
    api.track(update(status="in_transit", timestamp=base + 5000))
    api.track(update(status="in_transit", timestamp=base + 9000))
    api.track(update(status="in_transit", timestamp=base + 1000))  # late, earliest
    api.track(update(status="in_transit", timestamp=base + 3000))  # late, not earliest
    assert api.status("tracking_id=PKG-1").body["milestones"] == {"in_transit": base + 1000}
    state = state_item(aws, "PKG-1")
    assert state[table.milestone_attribute("in_transit")] == {"N": str(base + 1000)}
    assert state[table.ATTR_MILESTONES_COMPLETE] == {"BOOL": True}


def test_concurrent_out_of_order_writers_converge_on_the_earliest_time_per_status(aws):
    """Eight writers (one thread each, as eight Lambda containers) store shuffled events
    of one parcel at once; each status's milestone is its earliest event time."""
    repository = TrackingRepository(TABLE)
    base = now_ms() - 600_000
    events = [
        (random.choice(domain.STATUSES), base + random.randrange(500_000)) for _ in range(160)
    ]
    expected: dict[str, int] = {}
    for status, at in events:
        expected[status] = min(at, expected.get(status, at))
    random.shuffle(events)
    chunks = [events[i::8] for i in range(8)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def write(chunk) -> None:
        barrier.wait()
        try:
            for status, at in chunk:
                item = domain.Update("RACE", status, domain.Point(1.0, 2.0), None, at)
                repository.record(domain.Event.from_update(item, now_ms()))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert repository.milestones("RACE") == expected
    state = state_item(aws, "RACE")
    assert {
        s: int(state[table.milestone_attribute(s)]["N"])
        for s in domain.STATUSES
        if table.milestone_attribute(s) in state
    } == expected


def _legacy_event(aws, tracking_id: str, status: str, at: int) -> None:
    """An event as the API stored it before milestones were kept: the event item alone,
    and the state item as the notifier projects it (no milestones on it)."""
    client = aws.client("dynamodb")
    event_id = domain.new_event_id(at)
    client.put_item(
        TableName=TABLE,
        Item=table.event_item(
            tracking_id=tracking_id,
            timestamp=at,
            event_id=event_id,
            status=status,
            lat=1.0,
            lng=2.0,
            received_at=at,
        ),
    )
    client.update_item(
        TableName=TABLE,
        Key={table.PARTITION_KEY: {"S": tracking_id}, table.SORT_KEY: {"S": table.STATE_SORT_KEY}},
        UpdateExpression="SET #st = :st, #ts = :ts",
        ExpressionAttributeNames={"#st": table.ATTR_STATUS, "#ts": table.ATTR_TIMESTAMP},
        ExpressionAttributeValues={":st": {"S": status}, ":ts": {"N": str(at)}},
    )


def test_a_parcel_written_before_milestones_were_kept_reads_correctly(api, aws):
    base = now_ms() - 100_000
    _legacy_event(aws, "OLD", "pending", base)
    _legacy_event(aws, "OLD", "in_transit", base + 1000)
    # After the change: a later in_transit (not its milestone) and a first delivered.
    assert (
        api.track(update(tracking_id="OLD", status="in_transit", timestamp=base + 5000)).status
        == 201
    )
    assert (
        api.track(update(tracking_id="OLD", status="delivered", timestamp=base + 9000)).status
        == 201
    )
    assert table.ATTR_MILESTONES_COMPLETE not in state_item(aws, "OLD")

    first = api.status("tracking_id=OLD&limit=1").body

    expected = {"pending": base, "in_transit": base + 1000, "delivered": base + 9000}
    assert first["milestones"] == expected
    # The first read stored them: later reads are one page and the state item.
    assert state_item(aws, "OLD")[table.ATTR_MILESTONES_COMPLETE] == {"BOOL": True}
    with count_aws_calls() as calls:
        again = api.status("tracking_id=OLD&limit=1").body
    assert calls == ["DynamoDB.Query", "DynamoDB.GetItem"]
    assert again["milestones"] == expected
    # And writes after the backfill keep them.
    api.track(update(tracking_id="OLD", status="pending", timestamp=base - 500))
    assert api.status("tracking_id=OLD").body["milestones"] == {**expected, "pending": base - 500}
