"""Issue 22, item 5: a stored write never answers 503. The write reaches the stand-in
(applied) and every reply of it is lost, whichever write operation the code uses
(``PutItem`` or ``TransactWriteItems``), so the SDK gives up with a BotoCoreError on
its last attempt. The other half: a fault before the request reaches the store is
503 and nothing is stored.

The contract (docs/api.md, "Ambiguous failures"): stored is 201, not stored is 503.
A retry without an Idempotency-Key stores another update, so a 503 for a stored
write is what made the client's retry a duplicate; the 201 leaves it one update."""

from __future__ import annotations

import pytest

from tests.functional.test_aws_runtime import (  # noqa: F401 - fixture faults
    GET_ITEM,
    PUT_ITEM,
    TRANSACT_WRITE,
    faults,
)
from tests.helpers import update

WRITES = (PUT_ITEM, TRANSACT_WRITE)
BATCH_SIZE = 3
# A proxy rule that closes the connection before forwarding: the request never
# reaches the store and the client hears nothing (a BotoCoreError, as ambiguous to
# the function as a lost reply).
DROPPED = b""


@pytest.fixture
def lost_replies(faults):  # noqa: F811 - the fixture imported above
    fault = faults("dynamodb")
    for target in WRITES:
        fault.lose_reply(target, times=None)
    return fault


@pytest.fixture
def dropped_requests(faults):  # noqa: F811
    fault = faults("dynamodb")
    for target in WRITES:
        fault.answer(target, DROPPED, times=None)
    return fault


def writes_seen(fault) -> int:
    return sum(fault.seen.count(target) for target in WRITES)


def stored_event_ids(api, tracking_id: str) -> list[str]:
    reply = api.status(f"tracking_id={tracking_id}")
    if reply.status == 404:
        return []
    assert reply.status == 200, reply.body
    return [u["event_id"] for u in reply.body["updates"]]


def test_a_stored_update_whose_every_reply_is_lost_is_201_and_stored_once(api, lost_replies):
    reply = api.track(update(tracking_id="LOST-1"))

    assert reply.status == 201, reply.body
    assert writes_seen(lost_replies) >= 2  # the SDK retried, and no reply arrived
    assert GET_ITEM in lost_replies.seen  # settled by a read of the event's key
    lost_replies.clear()
    # Nothing for the client to retry: one update, the one answered.
    assert stored_event_ids(api, "LOST-1") == [reply.body["event_id"]]


def test_a_batch_of_stored_items_whose_replies_are_lost_is_201_per_item(api, lost_replies):
    items = [update(tracking_id=f"LOST-B{i}") for i in range(BATCH_SIZE)]

    reply = api.request("POST", "/track/batch", body={"updates": items})

    assert reply.status == 200, reply.body
    results = reply.body["results"]
    assert [(r["index"], r["status"]) for r in results] == [(i, 201) for i in range(BATCH_SIZE)]
    assert reply.body.get("failed") == 0
    lost_replies.clear()
    for i, result in enumerate(results):
        assert stored_event_ids(api, f"LOST-B{i}") == [result["event_id"]]


def test_an_update_whose_request_never_reached_the_store_is_503_and_not_stored(
    api, dropped_requests
):
    reply = api.track(update(tracking_id="DROP-1"))

    assert (reply.status, reply.error_code) == (503, "storage_unavailable"), reply.body
    assert int(reply.headers["Retry-After"]) >= 1
    assert writes_seen(dropped_requests) >= 1
    dropped_requests.clear()
    assert stored_event_ids(api, "DROP-1") == []
    # The client's retry (no key) then stores it once.
    again = api.track(update(tracking_id="DROP-1"))
    assert again.status == 201, again.body
    assert stored_event_ids(api, "DROP-1") == [again.body["event_id"]]


def test_a_batch_item_that_never_reached_the_store_is_503_and_not_stored(api, dropped_requests):
    items = [update(tracking_id=f"DROP-B{i}") for i in range(2)]

    reply = api.request("POST", "/track/batch", body={"updates": items})

    assert reply.status == 200, reply.body
    results = reply.body["results"]
    assert [r["index"] for r in results] == [0, 1]
    assert {(r["status"], r["error"]["code"]) for r in results} == {(503, "storage_unavailable")}
    dropped_requests.clear()
    for i in range(2):
        assert stored_event_ids(api, f"DROP-B{i}") == []
