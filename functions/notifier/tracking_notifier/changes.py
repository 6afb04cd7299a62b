"""Which stream records are status changes (no AWS in here)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from tracking_common import table
from tracking_common.runtime_config import EVENT_DETAIL_TYPE, EVENT_SOURCE


class MalformedRecord(ValueError):
    """A state record without the attributes every state item has."""


@dataclass(frozen=True)
class StatusChange:
    tracking_id: str
    previous_status: str | None
    new_status: str
    event_time: int
    event_id: str

    def entry(self, bus_name: str) -> dict[str, Any]:
        """The EventBridge PutEvents entry for this change."""
        return {
            "Source": EVENT_SOURCE,
            "DetailType": EVENT_DETAIL_TYPE,
            "Detail": json.dumps(asdict(self), separators=(",", ":")),
            "EventBusName": bus_name,
            "Resources": [],
        }


def status_change(
    keys: dict[str, Any], old_image: dict[str, Any] | None, new_image: dict[str, Any] | None
) -> StatusChange | None:
    """The change a stream record carries, or None when it is not a status change.

    Only the state item (sk=STATE) speaks for a parcel's current status; event
    and idempotency items, deletions and same-status moves are not changes.
    """
    if keys.get(table.SORT_KEY) != table.STATE_SORT_KEY or not new_image:
        return None
    if table.ATTR_STATUS not in new_image:
        # An image with keys only carries no status to announce (moto emits one
        # before the full image when an update creates the item).
        return None
    try:
        new_status = str(new_image[table.ATTR_STATUS])
        tracking_id = str(new_image[table.PARTITION_KEY])
        event_time = int(new_image[table.ATTR_TIMESTAMP])
        event_id = str(new_image[table.ATTR_EVENT_ID])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedRecord(f"state record without {exc}") from exc
    previous = (
        str(old_image[table.ATTR_STATUS]) if old_image and table.ATTR_STATUS in old_image else None
    )
    if previous == new_status:
        return None
    return StatusChange(tracking_id, previous, new_status, event_time, event_id)
