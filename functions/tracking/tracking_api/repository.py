"""DynamoDB access for the tracking API: the only module that talks to the table.

Write path (DESIGN.md section 4): one conditional PutItem per accepted update,
the event item, put only if its key is new, so nothing is ever overwritten;
with an Idempotency-Key, one TransactWriteItems of the event and the
idempotency record (put only if the key is unused). No read before the write,
no contention between writers: two updates of one parcel touch different items.

The parcel's current-state item (behind GET /shipments) is projected from the
table's stream by the notifier, moved only forward by event time. GET /status
reads the events themselves (sorted by event time), so it reads its own writes.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tracking_api.domain import Event
from tracking_api.errors import IdempotencyKeyInProgress, StorageUnavailable
from tracking_common import table

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

# Time budget: a call against a hung endpoint costs at most attempts x (connect +
# read timeout) plus the SDK's back-off before its retry (<= 1 s): 4 s, which with
# the settings' budget (settings.py: one extension call, <= 2 s) leaves 4 s of the API
# function's 10 s timeout to answer 503 before Lambda kills it (API Gateway would
# answer 502). Throttling and service faults are retried once by the SDK before
# they become a 503. tests/functional/test_aws_runtime.py checks the sum.
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 2, "mode": "standard"},
    connect_timeout=0.5,
    read_timeout=1,
    max_pool_connections=16,
)
TRANSACTION_CONFLICT_RETRIES = 6
_UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
        "ResourceNotFoundException",
    }
)
# Cancellation reasons of a transaction that say "too much load", not "conflict":
# retrying later helps (botocore's CancellationReason documentation lists them).
_CAPACITY_REASONS = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str
    request_hash: str
    response_status: int
    response_body: str
    expires_at: int


@dataclass(frozen=True)
class StoredIdempotency:
    request_hash: str
    response_status: int
    response_body: str


@dataclass(frozen=True)
class EventHistory:
    """What GET /status shows of a parcel, derived from all its events."""

    updates: list[dict[str, Any]]  # the requested page, newest first
    next_sort_key: str | None  # where the next page starts after, if there is one
    latest: dict[str, Any] | None  # the current state: the latest event by event time
    milestones: dict[str, int]  # per status, the earliest event time it was seen


class IdempotencyKeyTaken(Exception):
    """The key already protects a completed request; the caller replays or rejects."""

    def __init__(self, stored: StoredIdempotency):
        super().__init__("idempotency key already used")
        self.stored = stored


_n = table.number_attribute


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _cancellation_codes(error: ClientError) -> list[str]:
    return [r.get("Code") or "None" for r in error.response.get("CancellationReasons", [])]


@cache
def dynamodb_client() -> Any:
    """The container's DynamoDB client. botocore's session, not boto3's: boto3 imports
    s3transfer (~50 ms of a cold start) for nothing a DynamoDB client uses."""
    return botocore.session.get_session().create_client("dynamodb", config=CLIENT_CONFIG)


class TrackingRepository:
    def __init__(self, table_name: str, client: Any = None):
        self.table_name = table_name
        self._client = client

    @cached_property
    def client(self) -> Any:
        return self._client or dynamodb_client()

    # ---- write path -------------------------------------------------------

    def _event_put(self, event: Event) -> dict[str, Any]:
        item = table.event_item(
            tracking_id=event.tracking_id,
            timestamp=event.timestamp,
            event_id=event.event_id,
            status=event.status,
            lat=event.lat,
            lng=event.lng,
            received_at=event.received_at,
            metadata_json=None
            if event.metadata is None
            else json.dumps(event.metadata, separators=(",", ":")),
        )
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(#sk)",
                "ExpressionAttributeNames": {"#sk": table.SORT_KEY},
            }
        }

    def _idempotency_put(self, record: IdempotencyRecord, now_s: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    table.PARTITION_KEY: _s(table.idempotency_partition_key(record.key)),
                    table.SORT_KEY: _s(table.IDEMPOTENCY_SORT_KEY),
                    table.ATTR_REQUEST_HASH: _s(record.request_hash),
                    table.ATTR_RESPONSE_STATUS: _n(record.response_status),
                    table.ATTR_RESPONSE_BODY: _s(record.response_body),
                    table.TTL_ATTRIBUTE: _n(record.expires_at),
                },
                # An expired record that TTL has not deleted yet counts as free.
                "ConditionExpression": "attribute_not_exists(#pk) OR #exp < :now",
                "ExpressionAttributeNames": {
                    "#pk": table.PARTITION_KEY,
                    "#exp": table.TTL_ATTRIBUTE,
                },
                "ExpressionAttributeValues": {":now": _n(now_s)},
            }
        }

    def record(self, event: Event, idempotency: IdempotencyRecord | None = None) -> None:
        """Store one event. Raises IdempotencyKeyTaken, IdempotencyKeyInProgress or
        StorageUnavailable."""
        now_s = event.received_at // 1000
        for attempt in range(TRANSACTION_CONFLICT_RETRIES + 1):
            items = [self._event_put(event)]
            if idempotency:
                items.append(self._idempotency_put(idempotency, now_s))
            try:
                self._write(items)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise self._unavailable(exc) from exc
                codes = _cancellation_codes(exc)
                if codes and codes[0] == "ConditionalCheckFailed" and self._is_stored(event):
                    # The event's key is new (a fresh ULID), so a failed condition on
                    # it means an earlier try of this same call was stored and its
                    # reply lost (the SDK retried). Stored, with its idempotency
                    # record if any (one transaction): success.
                    return
                if idempotency and codes and codes[-1] == "ConditionalCheckFailed":
                    stored = self.get_idempotency(idempotency.key, now_s)
                    if stored is None:  # expired and deleted in between: try again
                        continue
                    raise IdempotencyKeyTaken(stored) from None
                if "TransactionConflict" in codes and attempt < TRANSACTION_CONFLICT_RETRIES:
                    # Another request holds this idempotency key right now; nothing
                    # was written, so trying again is safe.
                    time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
                    continue
                if "TransactionConflict" in codes:
                    raise IdempotencyKeyInProgress(
                        "A request with this Idempotency-Key is still in progress; retry later.",
                        headers={"Retry-After": "1"},
                    ) from None
                raise self._unavailable(exc) from exc
        # Every attempt found the key taken and then gone (expiring as we looked):
        # never return as if stored.
        raise StorageUnavailable("Could not store the update; retry after the time in Retry-After.")

    def _write(self, items: list[dict[str, Any]]) -> None:
        try:
            if len(items) == 1:
                put = items[0]["Put"]
                try:
                    self.client.put_item(**put)
                except ClientError as exc:
                    if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                        # Same shape as a cancelled transaction, for one code path.
                        raise ClientError(
                            {
                                "Error": {"Code": "TransactionCanceledException", "Message": ""},
                                "CancellationReasons": [{"Code": "ConditionalCheckFailed"}],
                            },
                            "PutItem",
                        ) from exc
                    raise
            else:
                self.client.transact_write_items(TransactItems=items)
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc

    def _is_stored(self, event: Event) -> bool:
        """Whether the table holds this very event (its key, and its event id)."""
        put = self._event_put(event)["Put"]
        keys = (table.PARTITION_KEY, table.SORT_KEY)
        item = self._call(
            "get_item",
            TableName=self.table_name,
            ConsistentRead=True,
            Key={name: put["Item"][name] for name in keys},
        ).get("Item")
        return bool(item) and item.get(table.ATTR_EVENT_ID) == put["Item"][table.ATTR_EVENT_ID]

    @staticmethod
    def _unavailable(exc: Exception) -> Exception:
        code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
        if code == "TransactionCanceledException" and _CAPACITY_REASONS.intersection(
            _cancellation_codes(exc)
        ):
            code = "ThrottlingException"
        if isinstance(exc, BotoCoreError) or code in _UNAVAILABLE_CODES:
            return StorageUnavailable(
                "Tracking storage is unavailable; retry after the time in Retry-After."
            )
        return exc

    # ---- read path --------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self.client, operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable(exc) from exc

    def get_idempotency(self, key: str, now_s: int) -> StoredIdempotency | None:
        """The key's record unless it expired before ``now_s``: the clock of the write's
        condition, so a key the write found taken never reads as expired."""
        item = self._call(
            "get_item",
            TableName=self.table_name,
            ConsistentRead=True,
            Key={
                table.PARTITION_KEY: _s(table.idempotency_partition_key(key)),
                table.SORT_KEY: _s(table.IDEMPOTENCY_SORT_KEY),
            },
        ).get("Item")
        if not item or int(item[table.TTL_ATTRIBUTE]["N"]) < now_s:
            return None
        return StoredIdempotency(
            request_hash=item[table.ATTR_REQUEST_HASH]["S"],
            response_status=int(item[table.ATTR_RESPONSE_STATUS]["N"]),
            response_body=item[table.ATTR_RESPONSE_BODY]["S"],
        )

    def history(self, tracking_id: str, limit: int, after_sort_key: str | None) -> EventHistory:
        """A page of events and everything GET /status derives from the whole history
        (current state, milestones), from ONE consistent Query of the parcel's events
        (more only past DynamoDB's 1 MB per response). The milestones need every event
        anyway, so this reads no item the page query and a milestone query would not."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "ConsistentRead": True,
            "ScanIndexForward": False,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": table.PARTITION_KEY, "#sk": table.SORT_KEY},
            "ExpressionAttributeValues": {
                ":pk": _s(tracking_id),
                ":prefix": _s(table.EVENT_SORT_KEY_PREFIX),
            },
        }
        items: list[dict[str, Any]] = []  # newest first by event time
        while True:
            page = self._call("query", **kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        first_seen: dict[str, int] = {}
        for item in reversed(items):  # oldest first: the first time a status is seen wins
            first_seen.setdefault(
                item[table.ATTR_STATUS]["S"], int(item[table.ATTR_TIMESTAMP]["N"])
            )
        start = 0
        if after_sort_key is not None:  # as ExclusiveStartKey would: strictly older keys
            start = next(
                (i for i, item in enumerate(items) if item[table.SORT_KEY]["S"] < after_sort_key),
                len(items),
            )
        page_items = items[start : start + limit]
        more = len(items) > start + limit
        return EventHistory(
            updates=[self._event_out(item) for item in page_items],
            next_sort_key=page_items[-1][table.SORT_KEY]["S"] if more else None,
            latest=self._event_out(items[0]) if items else None,
            milestones=first_seen,
        )

    def latest_event(self, tracking_id: str) -> dict[str, Any] | None:
        """The parcel's current state: its latest update by event time."""
        events, _ = self.list_events(tracking_id, 1, None)
        return events[0] if events else None

    def list_events(
        self, tracking_id: str, limit: int, after_sort_key: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Events newest first by event time; returns (events, sort key to continue after)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "ConsistentRead": True,
            "ScanIndexForward": False,
            "Limit": limit + 1,  # one more tells whether another page exists
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": table.PARTITION_KEY, "#sk": table.SORT_KEY},
            "ExpressionAttributeValues": {
                ":pk": _s(tracking_id),
                ":prefix": _s(table.EVENT_SORT_KEY_PREFIX),
            },
        }
        if after_sort_key:
            kwargs["ExclusiveStartKey"] = {
                table.PARTITION_KEY: _s(tracking_id),
                table.SORT_KEY: _s(after_sort_key),
            }
        items = self._call("query", **kwargs)["Items"]
        page = items[:limit]
        more = len(items) > limit
        return [self._event_out(item) for item in page], (
            page[-1][table.SORT_KEY]["S"] if more else None
        )

    @staticmethod
    def _event_out(item: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_id": item[table.ATTR_EVENT_ID]["S"],
            "status": item[table.ATTR_STATUS]["S"],
            "timestamp": int(item[table.ATTR_TIMESTAMP]["N"]),
            "location": {
                "lat": float(item[table.ATTR_LAT]["N"]),
                "lng": float(item[table.ATTR_LNG]["N"]),
            },
        }
        if table.ATTR_METADATA in item:
            out["metadata"] = json.loads(item[table.ATTR_METADATA]["S"])
        return out

    @cached_property
    def _pool(self) -> ThreadPoolExecutor:
        from concurrent.futures import ThreadPoolExecutor  # only GET /shipments fans out

        return ThreadPoolExecutor(
            max_workers=table.STATUS_INDEX_SHARDS, thread_name_prefix="shard-query"
        )

    def list_by_status(
        self, status: str, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Parcels whose current status is ``status``, newest first, across all shards."""

        def query(shard: int) -> list[dict[str, Any]]:
            condition = "#gpk = :gpk" + (" AND #gsk < :after" if after else "")
            values = {":gpk": _s(table.status_index_partition(status, shard))}
            names = {"#gpk": table.STATUS_INDEX_PARTITION_KEY}
            if after:
                values[":after"] = _s(after)
                names["#gsk"] = table.STATUS_INDEX_SORT_KEY
            return self._call(
                "query",
                TableName=self.table_name,
                IndexName=table.STATUS_INDEX,
                ScanIndexForward=False,
                Limit=limit + 1,
                KeyConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )["Items"]

        merged = sorted(
            (
                item
                for items in self._pool.map(query, range(table.STATUS_INDEX_SHARDS))
                for item in items
            ),
            key=lambda item: item[table.STATUS_INDEX_SORT_KEY]["S"],
            reverse=True,
        )
        page = merged[:limit]
        more = len(merged) > limit
        return [
            {
                "tracking_id": item[table.PARTITION_KEY]["S"],
                "timestamp": int(item[table.ATTR_TIMESTAMP]["N"]),
                "location": {
                    "lat": float(item[table.ATTR_LAT]["N"]),
                    "lng": float(item[table.ATTR_LNG]["N"]),
                },
            }
            for item in page
        ], (page[-1][table.STATUS_INDEX_SORT_KEY]["S"] if more else None)
