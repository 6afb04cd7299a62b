"""Two performance fixes to moto's DynamoDB, for the in-process stand-in only.

moto's ``transact_write_items`` deep-copies every table a transaction names
(items and stream records, once per transact item) to be able to roll back: its
cost grows with the table, ~0.1 ms per stored item on these machines, so a
local API slows down the longer it runs and no benchmark of a transactional
write means anything. DynamoDB has no such cost.

The replacement gives the same outcomes without the copy: it evaluates every
condition first against the current items and writes nothing unless all hold
(the stand-in applies requests one at a time, so nothing changes between the
check and the write), then applies the operations with moto's own calls.
Anything else (duplicate keys, unknown operations, > 100 items) goes to moto's
original, unchanged.

moto's ``Query`` of a table (not an index) gathers its partition from
``all_items()``, which sorts every item of the table on every call: a page of one
parcel cost ~0.1 s at 540 events alone and ~0.45 s with 8,000 other items, and
with two CPU burners and the stream feeder's calls queued on the same lock, over
the function's 1 s read timeout (``invoke load``'s check then read 503). DynamoDB
reads the key range. The replacement hands moto's own query the partition only;
moto still filters, sorts, pages and projects it.
"""

from __future__ import annotations

from typing import Any

_APPLIED = False


def _key(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def install() -> None:
    global _APPLIED
    if _APPLIED:
        return
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import TransactionCanceledException
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        operations = [next(iter(item.items())) for item in transact_items if len(item) == 1]
        if (
            len(transact_items) > 100
            or len(operations) != len(transact_items)
            or any(t not in {"Put", "Update", "Delete", "ConditionCheck"} for t, _ in operations)
        ):
            return original(self, transact_items)
        keys = [(op["TableName"], str(sorted(_key(self, t, op).items()))) for t, op in operations]
        if len(set(keys)) != len(keys):
            return original(self, transact_items)  # moto raises its own error for this
        outcomes = []
        for op_type, op in operations:
            condition = op.get("ConditionExpression")
            current = self.get_item(op["TableName"], _key(self, op_type, op))
            holds = condition is None or get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            ).expr(current)
            outcomes.append(
                (None, None, None)
                if holds
                else ("ConditionalCheckFailed", "The conditional request failed", None)
            )
        if any(code is not None for code, _, _ in outcomes):
            raise TransactionCanceledException(outcomes)
        for op_type, op in operations:
            common = {
                "condition_expression": op.get("ConditionExpression"),
                "expression_attribute_names": op.get("ExpressionAttributeNames"),
                "expression_attribute_values": op.get("ExpressionAttributeValues"),
            }
            if op_type == "Put":
                self.put_item(op["TableName"], op["Item"], **common)
            elif op_type == "Update":
                self.update_item(
                    op["TableName"], op["Key"], update_expression=op["UpdateExpression"], **common
                )
            elif op_type == "Delete":
                self.delete_item(op["TableName"], op["Key"], **common)
        return None

    DynamoDBBackend.transact_write_items = transact_write_items
    _patch_table_query()
    _APPLIED = True


def _patch_table_query() -> None:
    from moto.dynamodb.models.table import Table

    original = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None or self.range_key_attr is None:
            return original(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key, {})  # .get: items is a defaultdict
        # moto's query keeps only the items of hash_key from all_items(); give it
        # those alone (requests are applied one at a time: nothing else sees this).
        self.all_items = lambda: list(partition.values())
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query
