"""Which stream records are status changes."""

from __future__ import annotations

import json

import pytest

from tracking_common import table
from tracking_common.runtime_config import EVENT_DETAIL_TYPE
from tracking_notifier.changes import MalformedRecord, status_change

STATE = {table.PARTITION_KEY: "P", table.SORT_KEY: table.STATE_SORT_KEY}


def state(status: str, ts: int = 5, event_id: str = "E") -> dict:
    return {
        **STATE,
        table.ATTR_STATUS: status,
        table.ATTR_TIMESTAMP: ts,
        table.ATTR_EVENT_ID: event_id,
    }


def test_new_parcel_is_a_change_from_nothing():
    change = status_change(STATE, None, state("pending"))
    assert (change.previous_status, change.new_status) == (None, "pending")


def test_status_move_is_a_change_and_same_status_is_not():
    assert status_change(STATE, state("pending"), state("in_transit")).new_status == "in_transit"
    assert status_change(STATE, state("pending", 1), state("pending", 2)) is None


def test_event_items_and_deletions_are_not_changes():
    assert status_change({**STATE, table.SORT_KEY: "E#1#X"}, None, state("pending")) is None
    assert status_change(STATE, state("pending"), None) is None


def test_state_with_a_broken_field_is_malformed():
    with pytest.raises(MalformedRecord, match="^state record without invalid literal"):
        status_change(STATE, None, {**state("pending"), table.ATTR_TIMESTAMP: "soon"})


def test_state_without_a_field_names_it():
    broken = {k: v for k, v in state("pending").items() if k != table.ATTR_EVENT_ID}
    with pytest.raises(MalformedRecord, match=f"^state record without '{table.ATTR_EVENT_ID}'$"):
        status_change(STATE, None, broken)


def test_entry_is_a_shipment_status_changed_event():
    entry = status_change(STATE, state("pending"), state("failed", 9, "E2")).entry("bus")
    assert entry["DetailType"] == EVENT_DETAIL_TYPE and entry["EventBusName"] == "bus"
    assert json.loads(entry["Detail"]) == {
        "tracking_id": "P",
        "previous_status": "pending",
        "new_status": "failed",
        "event_time": 9,
        "event_id": "E2",
    }
