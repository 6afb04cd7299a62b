"""The single-table layout of the tracking table: the one source of truth.

The data stack creates the table from ``TABLE_DEFINITION``, the local runtime
creates the same table in moto from it, and the repository and the notifier
read and write items with the key builders below.

Item kinds (partition key ``pk``, sort key ``sk``):

- event:   pk=<tracking_id>      sk=E#<event time, 13 digits>#<event id>
  One per accepted update. The event id makes the key unique, so two updates
  with the same timestamp are both kept (seed defect 5).
- state:   pk=<tracking_id>      sk=STATE
  The parcel's current state (latest by event time, projected by the notifier).
  Carries the sharded index keys behind ``GET /shipments``, and the milestones
  (``first_<status>``: the earliest event time of each status), which the API
  keeps in the transaction of every update it stores. ``milestones_complete``
  says they cover every event; a parcel written before milestones were kept
  lacks it until GET /status backfills it once.
- idempotency record: pk=IDEMPOTENCY#<scoped key>  sk=IDEMPOTENCY
  Written in the same transaction as the update it protects; expires by TTL.
  The scoped key is a hash of the caller, the route and the client's key.
  ``#`` cannot appear in a tracking id, so the kinds never collide.
"""

from __future__ import annotations

import zlib

PARTITION_KEY = "pk"
SORT_KEY = "sk"
STATUS_INDEX = "by_status"
STATUS_INDEX_PARTITION_KEY = "gsi1pk"
STATUS_INDEX_SORT_KEY = "gsi1sk"
TTL_ATTRIBUTE = "expires_at"

# A status has four values, so an index keyed by status alone would put every
# parcel of one status in one partition (about 1,000 writes/s). Each status is
# spread over this many index partitions; GET /shipments queries them all in
# parallel and merges. Changing it needs a backfill of the state items.
STATUS_INDEX_SHARDS = 4

STATE_SORT_KEY = "STATE"
EVENT_SORT_KEY_PREFIX = "E#"
IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"
IDEMPOTENCY_SORT_KEY = "IDEMPOTENCY"
TIMESTAMP_DIGITS = 13  # epoch milliseconds stay 13 digits until the year 2286

# Attribute names of event and state items.
ATTR_EVENT_ID = "event_id"
ATTR_STATUS = "status"
ATTR_TIMESTAMP = "ts"
ATTR_LAT = "lat"
ATTR_LNG = "lng"
ATTR_METADATA = "metadata_json"
ATTR_RECEIVED_AT = "received_at"
# Attribute names of the milestones on the state item.
MILESTONE_PREFIX = "first_"
ATTR_MILESTONES_COMPLETE = "milestones_complete"
# Attribute names of idempotency records.
ATTR_REQUEST_HASH = "request_hash"
ATTR_RESPONSE_STATUS = "response_status"
ATTR_RESPONSE_BODY = "response_body"

# The table definition in the shape of DynamoDB's CreateTable (the stack maps
# it to pulumi_aws arguments; the local runtime passes it to moto as it is).
TABLE_DEFINITION: dict = {
    "AttributeDefinitions": [
        {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
        {"AttributeName": SORT_KEY, "AttributeType": "S"},
        {"AttributeName": STATUS_INDEX_PARTITION_KEY, "AttributeType": "S"},
        {"AttributeName": STATUS_INDEX_SORT_KEY, "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": STATUS_INDEX,
            "KeySchema": [
                {"AttributeName": STATUS_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": STATUS_INDEX_SORT_KEY, "KeyType": "RANGE"},
            ],
            # Only what GET /shipments returns: keeps index writes small.
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": [ATTR_TIMESTAMP, ATTR_LAT, ATTR_LNG],
            },
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
}


def pad_timestamp(epoch_ms: int) -> str:
    return f"{epoch_ms:0{TIMESTAMP_DIGITS}d}"


def event_sort_key(epoch_ms: int, event_id: str) -> str:
    return f"{EVENT_SORT_KEY_PREFIX}{pad_timestamp(epoch_ms)}#{event_id}"


def number_attribute(value: int | float) -> dict[str, str]:
    """A DynamoDB number. ``str`` of a float is its shortest exact form (its ``repr``)."""
    return {"N": str(value)}


def event_item(
    *,
    tracking_id: str,
    timestamp: int,
    event_id: str,
    status: str,
    lat: float,
    lng: float,
    received_at: int,
    metadata_json: str | None = None,
) -> dict[str, dict[str, str]]:
    """An event item as the API stores it (the notifier reads it from the stream)."""
    item = {
        PARTITION_KEY: {"S": tracking_id},
        SORT_KEY: {"S": event_sort_key(timestamp, event_id)},
        ATTR_EVENT_ID: {"S": event_id},
        ATTR_STATUS: {"S": status},
        ATTR_TIMESTAMP: number_attribute(timestamp),
        ATTR_LAT: number_attribute(lat),
        ATTR_LNG: number_attribute(lng),
        ATTR_RECEIVED_AT: number_attribute(received_at),
    }
    if metadata_json is not None:
        item[ATTR_METADATA] = {"S": metadata_json}
    return item


def milestone_attribute(status: str) -> str:
    """The state item's attribute holding the earliest event time of ``status``."""
    return f"{MILESTONE_PREFIX}{status}"


def idempotency_partition_key(key: str) -> str:
    return f"{IDEMPOTENCY_PREFIX}{key}"


def status_shard(tracking_id: str) -> int:
    """Stable shard of a parcel in the status index (crc32 is stable across processes)."""
    return zlib.crc32(tracking_id.encode()) % STATUS_INDEX_SHARDS


def status_index_partition(status: str, shard: int) -> str:
    return f"{status}#{shard}"


def status_index_sort_key(epoch_ms: int, tracking_id: str) -> str:
    return f"{pad_timestamp(epoch_ms)}#{tracking_id}"
