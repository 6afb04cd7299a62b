"""GET /status with milestones (enhanced_tracking) reads one page of the parcel's
events and its state item (the milestones), on every page, never the history, and
shows the same page as without milestones."""

from __future__ import annotations

from tests.functional.calls import count_aws_calls
from tests.functional.test_reads import set_flags
from tests.helpers import now_ms, update


def walk(api, tracking_id: str, limit: int) -> list[dict]:
    """Every page of GET /status, following next_cursor."""
    pages, cursor = [], None
    while True:
        query = f"tracking_id={tracking_id}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        reply = api.status(query)
        assert reply.status == 200, reply.body
        pages.append(reply.body)
        cursor = reply.body["next_cursor"]
        if cursor is None:
            return pages


def test_every_page_with_milestones_is_one_page_and_the_state_item(api):
    base = now_ms() - 100_000
    for i, status in enumerate(["pending", "in_transit", "in_transit", "delivered", "failed"]):
        api.track(update(status=status, timestamp=base + i * 1000))
    first = api.status("tracking_id=PKG-1&limit=2").body

    with count_aws_calls() as first_calls:
        assert api.status("tracking_id=PKG-1&limit=2").status == 200
    with count_aws_calls() as later_calls:
        later = api.status(f"tracking_id=PKG-1&limit=2&cursor={first['next_cursor']}").body

    assert first_calls == ["DynamoDB.Query", "DynamoDB.GetItem"]
    # A later page: its Query, the newest event (the current state), the state item.
    assert later_calls == ["DynamoDB.Query", "DynamoDB.Query", "DynamoDB.GetItem"]
    # A later page still shows the current state and every milestone.
    assert (later["status"], later["timestamp"]) == ("failed", base + 4000)
    assert later["milestones"] == first["milestones"]


def test_milestones_cover_events_beyond_the_page_and_read_their_own_writes(api):
    base = now_ms() - 100_000
    for i in range(5):
        api.track(update(status="in_transit", timestamp=base + 10_000 + i))
    api.track(update(status="delivered", timestamp=base + 20_000))

    api.track(update(status="pending", timestamp=base))  # late, older than everything
    body = api.status("tracking_id=PKG-1&limit=2").body

    assert [u["timestamp"] for u in body["updates"]] == [base + 20_000, base + 10_004]
    assert body["milestones"] == {
        "pending": base,
        "in_transit": base + 10_000,
        "delivered": base + 20_000,
    }


def test_pages_are_the_same_with_and_without_milestones(api, aws):
    base = now_ms() - 100_000
    for i in range(7):
        api.track(update(status="in_transit", lat=i, timestamp=base + (i % 3) * 1000))
    with_milestones = walk(api, "PKG-1", 3)

    set_flags(aws, enhanced_tracking=False, batch_processing=True)
    without = walk(api, "PKG-1", 3)

    assert [p.pop("milestones") for p in with_milestones][0] == {"in_transit": base}
    assert [p["updates"] for p in with_milestones] == [p["updates"] for p in without]
    assert [p["status"] for p in with_milestones] == [p["status"] for p in without]
    assert len({u["event_id"] for p in without for u in p["updates"]}) == 7
    # Cursors are bound to the query, not to the flag: each is a valid cursor of the other.
    assert [p["next_cursor"] for p in with_milestones] == [p["next_cursor"] for p in without]
