"""The write path: one accepted update, stored in one TransactWriteItems.

The transaction (DESIGN.md section 4) puts the event item, only if its key is
new, so nothing is ever overwritten; with an Idempotency-Key, the idempotency
record, only if the key is unused; and it keeps the parcel's milestones on its
state item: the earliest event time of the event's status, moved only backwards.
DynamoDB has no ``min`` in an update expression, so the update carries a
condition that says which case it expects (the usual one: the milestone is
already earlier, or missing, and is left or set), and a cancelled transaction's
state item (``ALL_OLD``) tells which case to send instead. Concurrent and
out-of-order writers converge: every write is conditional on the value it moves.
No read before the write.

An ambiguous failure (the reply lost, a timeout after sending, a service fault) is
settled by a consistent read of the event's own key: a stored update is never
answered 503.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tracking_api import jsonvalues
from tracking_api.domain import Event
from tracking_api.errors import IdempotencyKeyInProgress, StorageUnavailable
from tracking_api.idempotency import IdempotencyKeyTaken, IdempotencyRecord, IdempotencyRecords
from tracking_api.store import (
    UNAVAILABLE_MESSAGE,
    cancellation_codes,
    error_code,
    is_ambiguous,
    number,
    unavailable,
)
from tracking_common import table

TRANSACTION_CONFLICT_RETRIES = 6
# The read that settles an ambiguous write: one attempt (connect 0.5 s + read 1 s),
# started only when that much is left of the request's budget (store.py).
SETTLE_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=0.5, read_timeout=1
)
SETTLE_WORST_CASE_SECONDS = 1.5
clock = time.monotonic
_CHECK_FAILED = "ConditionalCheckFailed"


@cache
def settle_client() -> Any:
    return botocore.session.get_session().create_client("dynamodb", config=SETTLE_CONFIG)


@dataclass(frozen=True)
class MilestoneCase:
    """What the state item's milestone update expects to find."""

    complete: bool = True  # the milestones cover every event (or the parcel is new)
    earlier: bool = False  # this event is earlier than the milestone of its status

    @classmethod
    def of(cls, state: dict[str, Any] | None, event: Event, tried: MilestoneCase) -> MilestoneCase:
        """The case of the state item a cancelled transaction returned (``ALL_OLD``);
        without it, the next case in turn."""
        if state is None:
            order = [cls(True, False), cls(True, True), cls(False, False), cls(False, True)]
            return order[(order.index(tried) + 1) % len(order)]
        current = state.get(table.milestone_attribute(event.status))
        return cls(
            complete=table.ATTR_MILESTONES_COMPLETE in state,
            earlier=current is not None and int(current["N"]) > event.timestamp,
        )


class EventWriter(IdempotencyRecords):
    def _event_put(self, event: Event) -> dict[str, Any]:
        item = table.event_item(
            tracking_id=event.tracking_id,
            timestamp=event.timestamp,
            event_id=event.event_id,
            status=event.status,
            lat=event.lat,
            lng=event.lng,
            received_at=event.received_at,
            metadata_json=None if event.metadata is None else jsonvalues.dumps(event.metadata),
        )
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(#sk)",
                "ExpressionAttributeNames": {"#sk": table.SORT_KEY},
            }
        }

    def _milestone_update(self, event: Event, case: MilestoneCase) -> dict[str, Any]:
        scope = (
            "(attribute_not_exists(#pk) OR attribute_exists(#all))"
            if case.complete
            else "(attribute_exists(#pk) AND attribute_not_exists(#all))"
        )
        if case.earlier:
            order, assign = "#m > :t", "#m = :t"
        else:
            order, assign = "(attribute_not_exists(#m) OR #m <= :t)", "#m = if_not_exists(#m, :t)"
        values: dict[str, Any] = {":t": number(event.timestamp)}
        if case.complete:
            assign += ", #all = :yes"
            values[":yes"] = {"BOOL": True}
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": self._state_key(event.tracking_id),
                "UpdateExpression": f"SET {assign}",
                "ConditionExpression": f"{scope} AND {order}",
                "ExpressionAttributeNames": {
                    "#pk": table.PARTITION_KEY,
                    "#all": table.ATTR_MILESTONES_COMPLETE,
                    "#m": table.milestone_attribute(event.status),
                },
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def record(
        self,
        event: Event,
        idempotency: IdempotencyRecord | None = None,
        deadline: float | None = None,
    ) -> None:
        """Store one event. Raises IdempotencyKeyTaken, IdempotencyKeyInProgress or
        StorageUnavailable. ``deadline`` (``clock`` time) ends the request's budget."""
        now_s = event.received_at // 1000
        case = MilestoneCase()
        key_at = 1 if idempotency else None  # position of the idempotency record
        for attempt in range(TRANSACTION_CONFLICT_RETRIES + 1):
            items = [self._event_put(event)]
            if idempotency:
                items.append(self._idempotency_put(idempotency, now_s))
            items.append(self._milestone_update(event, case))
            state_at = len(items) - 1
            try:
                self.client.transact_write_items(TransactItems=items)
                return
            except BotoCoreError as exc:
                return self._settle(event, exc, deadline)
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    if is_ambiguous(exc):
                        return self._settle(event, exc, deadline)
                    raise unavailable(exc) from exc
                reasons = exc.response.get("CancellationReasons", [])
                codes = cancellation_codes(exc)

                def code(at: int | None, codes: list[str] = codes) -> str | None:
                    return codes[at] if at is not None and at < len(codes) else None

                if code(0) == _CHECK_FAILED and self._is_stored(event):
                    # The event's key is new (a fresh ULID), so a failed condition on
                    # it means an earlier try of this same call was stored and its
                    # reply lost (the SDK retried). Stored, with its idempotency
                    # record if any (one transaction): success.
                    return None
                if code(key_at) == _CHECK_FAILED:
                    stored = self.get_idempotency(idempotency.key, now_s)
                    if stored is None:  # expired and deleted in between: try again
                        continue
                    raise IdempotencyKeyTaken(stored) from None
                if code(state_at) == _CHECK_FAILED:
                    # The milestone was not in the expected case: send the right one.
                    case = MilestoneCase.of(reasons[state_at].get("Item"), event, case)
                    continue
                if "TransactionConflict" in codes and attempt < TRANSACTION_CONFLICT_RETRIES:
                    # Another request holds this idempotency key or this parcel's
                    # state item right now; nothing was written, so trying again is safe.
                    time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
                    continue
                if code(key_at) == "TransactionConflict":
                    raise IdempotencyKeyInProgress(
                        "A request with this Idempotency-Key is still in progress; retry later.",
                        headers={"Retry-After": "1"},
                    ) from None
                raise unavailable(exc) from exc
        # Every attempt found the key taken and then gone (expiring as we looked), or
        # the parcel's state moving under us: never return as if stored.
        raise StorageUnavailable("Could not store the update; retry after the time in Retry-After.")

    def _settle(self, event: Event, exc: Exception, deadline: float | None) -> None:
        """After an ambiguous failure: return if the event was stored, else 503. Without
        the time to read (a hung endpoint used the budget up), it is 503."""
        stored = False
        if deadline is None or clock() + SETTLE_WORST_CASE_SECONDS <= deadline:
            try:
                stored = self._is_stored(event, self._client or settle_client())
            except (ClientError, BotoCoreError):
                stored = False
        if not stored:
            raise StorageUnavailable(UNAVAILABLE_MESSAGE) from exc

    def _is_stored(self, event: Event, client: Any = None) -> bool:
        """Whether the table holds this very event (its key, and its event id)."""
        put = self._event_put(event)["Put"]
        keys = (table.PARTITION_KEY, table.SORT_KEY)
        request = {
            "TableName": self.table_name,
            "ConsistentRead": True,
            "Key": {name: put["Item"][name] for name in keys},
        }
        if client is None:
            item = self._call("get_item", **request).get("Item")
        else:
            item = client.get_item(**request).get("Item")
        return bool(item) and item.get(table.ATTR_EVENT_ID) == put["Item"][table.ATTR_EVENT_ID]
