"""Idempotency records: scoped keys, request fingerprints, and the record's item.

A client's Idempotency-Key is scoped to the caller (the IAM principal) and to the
route, as a payment API scopes it: the stored key is a hash of all three, so
another caller's key, or the same key on another route, is another record. A
batch item's key adds the item's index to that hash; the parts are hashed as a
JSON array, so no key of one route can spell the derived key of another.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from tracking_api import jsonvalues
from tracking_api.store import Store, number, string
from tracking_common import table


def scoped_key(principal: str, route: str, key: str, index: int | None = None) -> str:
    parts: list[Any] = [principal, route, key] if index is None else [principal, route, key, index]
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()


def request_hash(payload: Any) -> str:
    """Fingerprint of a request body: the same JSON value hashes the same, whatever
    its key order, spacing or number spelling (52, 52.0 and 5.2e1 are one number)."""
    return hashlib.sha256(jsonvalues.canonical(payload).encode()).hexdigest()


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str  # the scoped key (scoped_key)
    request_hash: str
    response_status: int
    response_body: str
    expires_at: int


@dataclass(frozen=True)
class StoredIdempotency:
    request_hash: str
    response_status: int
    response_body: str


class IdempotencyKeyTaken(Exception):
    """The key already protects a completed request; the caller replays or rejects."""

    def __init__(self, stored: StoredIdempotency):
        super().__init__("idempotency key already used")
        self.stored = stored


def _record_key(key: str) -> dict[str, dict[str, str]]:
    return {
        table.PARTITION_KEY: string(table.idempotency_partition_key(key)),
        table.SORT_KEY: string(table.IDEMPOTENCY_SORT_KEY),
    }


class IdempotencyRecords(Store):
    def _idempotency_put(self, record: IdempotencyRecord, now_s: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    **_record_key(record.key),
                    table.ATTR_REQUEST_HASH: string(record.request_hash),
                    table.ATTR_RESPONSE_STATUS: number(record.response_status),
                    table.ATTR_RESPONSE_BODY: string(record.response_body),
                    table.TTL_ATTRIBUTE: number(record.expires_at),
                },
                # An expired record that TTL has not deleted yet counts as free.
                "ConditionExpression": "attribute_not_exists(#pk) OR #exp < :now",
                "ExpressionAttributeNames": {
                    "#pk": table.PARTITION_KEY,
                    "#exp": table.TTL_ATTRIBUTE,
                },
                "ExpressionAttributeValues": {":now": number(now_s)},
            }
        }

    def get_idempotency(self, key: str, now_s: int) -> StoredIdempotency | None:
        """The key's record unless it expired before ``now_s``: the clock of the write's
        condition, so a key the write found taken never reads as expired."""
        item = self._call(
            "get_item", TableName=self.table_name, ConsistentRead=True, Key=_record_key(key)
        ).get("Item")
        if not item or int(item[table.TTL_ATTRIBUTE]["N"]) < now_s:
            return None
        return StoredIdempotency(
            request_hash=item[table.ATTR_REQUEST_HASH]["S"],
            response_status=int(item[table.ATTR_RESPONSE_STATUS]["N"]),
            response_body=item[table.ATTR_RESPONSE_BODY]["S"],
        )
