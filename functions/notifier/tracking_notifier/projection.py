"""The current-state projection: from an event item to the parcel's state item (no AWS here).

The state item is what the sharded status index (GET /shipments) is built on.
It moves only forward by event time, ties broken by event id, so concurrent,
repeated and out-of-order stream records all converge on the latest event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracking_common import table


class MalformedEvent(ValueError):
    """An event item without the attributes every event item has."""


@dataclass(frozen=True)
class EventState:
    tracking_id: str
    event_id: str
    status: str
    timestamp: int
    lat: str  # DynamoDB numbers travel as text: no float rounding on the way
    lng: str


def event_state(keys: dict[str, Any], new_image: dict[str, Any] | None) -> EventState | None:
    """The state an event item carries, or None for any other item or a deletion."""
    sort_key = str(keys.get(table.SORT_KEY, ""))
    if not sort_key.startswith(table.EVENT_SORT_KEY_PREFIX) or not new_image:
        return None
    try:
        return EventState(
            tracking_id=str(new_image[table.PARTITION_KEY]),
            event_id=str(new_image[table.ATTR_EVENT_ID]),
            status=str(new_image[table.ATTR_STATUS]),
            timestamp=int(new_image[table.ATTR_TIMESTAMP]),
            lat=str(new_image[table.ATTR_LAT]),
            lng=str(new_image[table.ATTR_LNG]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"event record without a valid {exc}") from exc


def state_update(table_name: str, state: EventState) -> dict[str, Any]:
    """UpdateItem arguments that move the state item to ``state`` if it is newer."""
    shard = table.status_shard(state.tracking_id)
    return {
        "TableName": table_name,
        "Key": {
            table.PARTITION_KEY: {"S": state.tracking_id},
            table.SORT_KEY: {"S": table.STATE_SORT_KEY},
        },
        "UpdateExpression": (
            "SET #st = :st, #ts = :ts, #eid = :eid, #lat = :lat, #lng = :lng, "
            "#gpk = :gpk, #gsk = :gsk"
        ),
        "ConditionExpression": (
            "attribute_not_exists(#ts) OR #ts < :ts OR (#ts = :ts AND #eid < :eid)"
        ),
        "ExpressionAttributeNames": {
            "#st": table.ATTR_STATUS,
            "#ts": table.ATTR_TIMESTAMP,
            "#eid": table.ATTR_EVENT_ID,
            "#lat": table.ATTR_LAT,
            "#lng": table.ATTR_LNG,
            "#gpk": table.STATUS_INDEX_PARTITION_KEY,
            "#gsk": table.STATUS_INDEX_SORT_KEY,
        },
        "ExpressionAttributeValues": {
            ":st": {"S": state.status},
            ":ts": {"N": str(state.timestamp)},
            ":eid": {"S": state.event_id},
            ":lat": {"N": state.lat},
            ":lng": {"N": state.lng},
            ":gpk": {"S": table.status_index_partition(state.status, shard)},
            ":gsk": {"S": table.status_index_sort_key(state.timestamp, state.tracking_id)},
        },
    }
