"""The raw boto3 side of `invoke bench`'s ratios: the same DynamoDB requests the
handler makes, written out by hand, and the event item both sides store. The item
builder also serves the tests that need a stored event (the notifier's stream images)."""

from __future__ import annotations

from typing import Any

from tracking_ops.measure.cold_start import STATUS_PARCEL

SAMPLE_LOCATION = (52.5, 13.4)  # where the sample events happen


def sample_event_item(tracking_id: str, status: str, timestamp: int, event_id: str) -> dict:
    """An event item as the API stores it, at SAMPLE_LOCATION, received when it happened."""
    from tracking_common import table

    lat, lng = SAMPLE_LOCATION
    return table.event_item(
        tracking_id=tracking_id,
        timestamp=timestamp,
        event_id=event_id,
        status=status,
        lat=lat,
        lng=lng,
        received_at=timestamp,
    )


def raw_put(table_name: str, item: dict[str, Any]) -> dict[str, Any]:
    """The PutItem the handler sends for an update: the event item, put only if its key
    is new (DESIGN.md section 4), so both sides of the ratio make the same request."""
    from tracking_common import table

    return {
        "TableName": table_name,
        "Item": item,
        "ConditionExpression": "attribute_not_exists(#sk)",
        "ExpressionAttributeNames": {"#sk": table.SORT_KEY},
    }


def raw_status_query(
    table_name: str, page_size: int, tracking_id: str = STATUS_PARCEL
) -> dict[str, Any]:
    """The Query a client would send for the first page of GET /status: consistent,
    newest first, one item more than the page (to know whether another page exists)."""
    from tracking_common import table

    return {
        "TableName": table_name,
        "ConsistentRead": True,
        "ScanIndexForward": False,
        "Limit": page_size + 1,
        "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
        "ExpressionAttributeNames": {"#pk": table.PARTITION_KEY, "#sk": table.SORT_KEY},
        "ExpressionAttributeValues": {
            ":pk": {"S": tracking_id},
            ":prefix": {"S": table.EVENT_SORT_KEY_PREFIX},
        },
    }
