"""DynamoDB access for the tracking API: the only modules that talk to the table.

``store`` (the client, failures as the contract's 503), ``writes`` (one update,
one transaction), ``reads`` (pages, milestones, parcels by status) and
``idempotency`` (scoped keys and their records); this module puts them together.

The parcel's current state (behind GET /shipments) is projected from the table's
stream by the notifier, moved only forward by event time. GET /status reads the
events themselves (sorted by event time), so it reads its own writes, and the
milestones the write path keeps on the state item.
"""

from __future__ import annotations

from tracking_api.idempotency import (
    IdempotencyKeyTaken,
    IdempotencyRecord,
    StoredIdempotency,
    request_hash,
    scoped_key,
)
from tracking_api.reads import EventReader
from tracking_api.store import CLIENT_CONFIG, dynamodb_client
from tracking_api.writes import TRANSACTION_CONFLICT_RETRIES, EventWriter

__all__ = [
    "CLIENT_CONFIG",
    "TRANSACTION_CONFLICT_RETRIES",
    "IdempotencyKeyTaken",
    "IdempotencyRecord",
    "StoredIdempotency",
    "TrackingRepository",
    "dynamodb_client",
    "request_hash",
    "scoped_key",
]


class TrackingRepository(EventWriter, EventReader):
    """The table's writes and reads for one table name."""
