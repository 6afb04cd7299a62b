"""The current-state projection's request, built without AWS."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tracking_common import table
from tracking_notifier.projection import MalformedEvent, event_state, state_update


def event(**overrides):
    image = {
        table.PARTITION_KEY: "P1",
        table.SORT_KEY: "E#0000000000005#01A",
        table.ATTR_EVENT_ID: "01A",
        table.ATTR_STATUS: "in_transit",
        table.ATTR_TIMESTAMP: Decimal(5),
        table.ATTR_LAT: Decimal("52.5"),
        table.ATTR_LNG: Decimal("-13.25"),
    }
    return {**image, **overrides}


def keys(image):
    return {table.PARTITION_KEY: image[table.PARTITION_KEY], table.SORT_KEY: image[table.SORT_KEY]}


def test_only_event_items_are_projected():
    assert event_state({table.SORT_KEY: table.STATE_SORT_KEY}, event()) is None
    assert event_state({table.SORT_KEY: table.IDEMPOTENCY_SORT_KEY}, event()) is None
    assert event_state(keys(event()), None) is None  # a deletion (TTL) projects nothing


def test_numbers_keep_their_exact_text():
    state = event_state(keys(event()), event())
    values = state_update("t", state)["ExpressionAttributeValues"]
    assert values[":lat"] == {"N": "52.5"} and values[":lng"] == {"N": "-13.25"}
    assert values[":ts"] == {"N": "5"}


def test_the_update_moves_forward_only_and_sets_the_sharded_index_keys():
    request = state_update("t", event_state(keys(event()), event()))
    assert request["Key"] == {
        table.PARTITION_KEY: {"S": "P1"},
        table.SORT_KEY: {"S": table.STATE_SORT_KEY},
    }
    assert request["ConditionExpression"] == (
        "attribute_not_exists(#ts) OR #ts < :ts OR (#ts = :ts AND #eid < :eid)"
    )
    values = request["ExpressionAttributeValues"]
    assert values[":gpk"]["S"] == f"in_transit#{table.status_shard('P1')}"
    assert values[":gsk"]["S"] == "0000000000005#P1"


def test_a_broken_event_is_malformed():
    with pytest.raises(MalformedEvent, match="^event record without a valid invalid literal"):
        event_state(keys(event()), event(**{table.ATTR_TIMESTAMP: "soon"}))


def test_an_event_without_a_field_names_it():
    broken = {k: v for k, v in event().items() if k != table.ATTR_LNG}
    with pytest.raises(MalformedEvent, match=f"^event record without a valid '{table.ATTR_LNG}'$"):
        event_state(keys(event()), broken)
