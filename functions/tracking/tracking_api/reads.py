"""The read path: pages of a parcel's events, its milestones, parcels by status.

GET /status costs the same at any history length: one page of events (a Query
with a Limit), the current state (the newest event: the page's first, or one more
Query of one item on later pages) and, with milestones, the state item (GetItem).
A parcel written before milestones were kept on its state item has no
``milestones_complete``: its first read with milestones computes them from its
history once and stores them (conditional on the state item being unchanged).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tracking_api import jsonvalues
from tracking_api.contract import STATUSES
from tracking_api.store import Store, string
from tracking_common import table


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
        out["metadata"] = jsonvalues.loads_stored(item[table.ATTR_METADATA]["S"])
    return out


def _milestones_of(state: dict[str, Any]) -> dict[str, int]:
    return {
        status: int(state[table.milestone_attribute(status)]["N"])
        for status in STATUSES
        if table.milestone_attribute(status) in state
    }


class EventReader(Store):
    def _events_query(self, tracking_id: str) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "ConsistentRead": True,
            "ScanIndexForward": False,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": table.PARTITION_KEY, "#sk": table.SORT_KEY},
            "ExpressionAttributeValues": {
                ":pk": string(tracking_id),
                ":prefix": string(table.EVENT_SORT_KEY_PREFIX),
            },
        }

    def latest_event(self, tracking_id: str) -> dict[str, Any] | None:
        """The parcel's current state: its latest update by event time."""
        events, _ = self.list_events(tracking_id, 1, None)
        return events[0] if events else None

    def list_events(
        self, tracking_id: str, limit: int, after_sort_key: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Events newest first by event time; returns (events, sort key to continue after)."""
        kwargs = self._events_query(tracking_id)
        kwargs["Limit"] = limit + 1  # one more tells whether another page exists
        if after_sort_key:
            kwargs["ExclusiveStartKey"] = {
                table.PARTITION_KEY: string(tracking_id),
                table.SORT_KEY: string(after_sort_key),
            }
        items = self._call("query", **kwargs)["Items"]
        page = items[:limit]
        more = len(items) > limit
        return [_event_out(item) for item in page], (
            page[-1][table.SORT_KEY]["S"] if more else None
        )

    def milestones(self, tracking_id: str) -> dict[str, int]:
        """Per status the parcel has had, the earliest event time: from its state item."""
        state = self._call(
            "get_item",
            TableName=self.table_name,
            ConsistentRead=True,
            Key=self._state_key(tracking_id),
        ).get("Item")
        if state is not None and table.ATTR_MILESTONES_COMPLETE in state:
            return _milestones_of(state)
        return self._backfill_milestones(tracking_id, state or {})

    def _backfill_milestones(self, tracking_id: str, state: dict[str, Any]) -> dict[str, int]:
        """A parcel from before milestones were kept: computed from its history once
        (merged with what later writes kept), then stored with milestones_complete."""
        kwargs = self._events_query(tracking_id)
        kwargs["ProjectionExpression"] = "#st, #ts"
        kwargs["ExpressionAttributeNames"].update(
            {"#st": table.ATTR_STATUS, "#ts": table.ATTR_TIMESTAMP}
        )
        first_seen = _milestones_of(state)
        seen_any = False
        while True:
            page = self._call("query", **kwargs)
            for item in page["Items"]:
                seen_any = True
                status, at = item[table.ATTR_STATUS]["S"], int(item[table.ATTR_TIMESTAMP]["N"])
                if status not in first_seen or at < first_seen[status]:
                    first_seen[status] = at
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if seen_any:
            self._store_backfill(tracking_id, state, first_seen)
        return first_seen

    def _store_backfill(
        self, tracking_id: str, state: dict[str, Any], first_seen: dict[str, int]
    ) -> None:
        names = {"#all": table.ATTR_MILESTONES_COMPLETE}
        values: dict[str, Any] = {":yes": {"BOOL": True}}
        assign, expect = ["#all = :yes"], ["attribute_not_exists(#all)"]
        for i, status in enumerate(STATUSES):
            attribute = table.milestone_attribute(status)
            names[f"#m{i}"] = attribute
            if attribute in state:  # unchanged since it was read, or nothing is stored
                expect.append(f"#m{i} = :old{i}")
                values[f":old{i}"] = state[attribute]
            else:
                expect.append(f"attribute_not_exists(#m{i})")
            if status in first_seen:
                assign.append(f"#m{i} = :new{i}")
                values[f":new{i}"] = {"N": str(first_seen[status])}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._state_key(tracking_id),
                UpdateExpression="SET " + ", ".join(assign),
                ConditionExpression=" AND ".join(expect),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except (ClientError, BotoCoreError):
            # A write moved a milestone meanwhile, or storage failed: what this read
            # computed is still right; a later read stores it.
            return

    def list_by_status(
        self, status: str, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Parcels whose current status is ``status``, newest first, across all shards."""

        def query(shard: int) -> list[dict[str, Any]]:
            condition = "#gpk = :gpk" + (" AND #gsk < :after" if after else "")
            values = {":gpk": string(table.status_index_partition(status, shard))}
            names = {"#gpk": table.STATUS_INDEX_PARTITION_KEY}
            if after:
                values[":after"] = string(after)
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

        from concurrent.futures import ThreadPoolExecutor  # only GET /shipments fans out

        # A pool per request, joined before the answer: no thread a request started
        # outlives it (Lambda freezes the container between requests).
        with ThreadPoolExecutor(
            max_workers=table.STATUS_INDEX_SHARDS, thread_name_prefix="shard-query"
        ) as pool:
            shards = list(pool.map(query, range(table.STATUS_INDEX_SHARDS)))
        merged = sorted(
            (item for items in shards for item in items),
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
