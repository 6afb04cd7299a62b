"""The stand-in's Query of the table reads the partition, not the whole table
(tracking_ops/local/moto_patches.py), and answers what moto's own Query answers:
the same pages, order, key conditions and limits."""

from __future__ import annotations

import pytest
from moto.dynamodb.models.table import Table

from tracking_common import table
from tracking_stacks import definitions as defs

PARCELS = ("Q-A", "Q-B", "Q-C")
EVENTS_PER_PARCEL = 23


@pytest.fixture
def stored(aws):
    ddb = aws.client("dynamodb")
    name = defs.table_name("dev")
    for p, parcel in enumerate(PARCELS):
        for i in range(EVENTS_PER_PARCEL):
            ddb.put_item(
                TableName=name,
                Item=table.event_item(
                    tracking_id=parcel,
                    timestamp=1_796_000_000_000 + (i * 7919 + p) % 1000,  # not in order
                    event_id=f"E{p}{i:04d}",
                    status="in_transit",
                    lat=1.0,
                    lng=2.0,
                    received_at=1_796_000_000_000,
                    metadata_json=None,
                ),
            )
    return ddb, name


def pages(ddb, name: str, parcel: str, limit: int, forward: bool) -> list[list[str]]:
    query = {
        "TableName": name,
        "ConsistentRead": True,
        "ScanIndexForward": forward,
        "Limit": limit,
        "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
        "ExpressionAttributeNames": {"#pk": table.PARTITION_KEY, "#sk": table.SORT_KEY},
        "ExpressionAttributeValues": {
            ":pk": {"S": parcel},
            ":prefix": {"S": table.EVENT_SORT_KEY_PREFIX},
        },
    }
    out = []
    while True:
        reply = ddb.query(**query)
        out.append([item[table.SORT_KEY]["S"] for item in reply["Items"]])
        if "LastEvaluatedKey" not in reply:
            return out
        query["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


@pytest.mark.parametrize("forward", [False, True])
def test_a_table_query_pages_like_motos_own_and_reads_only_its_partition(
    stored, monkeypatch, forward
):
    ddb, name = stored
    patched = {parcel: pages(ddb, name, parcel, 5, forward) for parcel in PARCELS}

    for got in patched.values():
        keys = [key for page in got for key in page]
        assert len(keys) == EVENTS_PER_PARCEL == len(set(keys))
        assert keys == sorted(keys, reverse=not forward)
        assert all(len(page) <= 5 for page in got)

    def whole_table(self):
        raise AssertionError("a table Query gathered the whole table")

    monkeypatch.setattr(Table, "all_items", whole_table)
    assert pages(ddb, name, PARCELS[1], 5, forward) == patched[PARCELS[1]]
    assert pages(ddb, name, "Q-NONE", 5, forward) == [[]]


def test_the_patched_query_answers_what_moto_answers(stored, monkeypatch):
    ddb, name = stored
    patched = [pages(ddb, name, parcel, 4, False) for parcel in PARCELS]

    original_query = Table.query.__closure__  # the patch keeps moto's query in its closure
    moto_query = next(c.cell_contents for c in original_query if callable(c.cell_contents))
    monkeypatch.setattr(Table, "query", moto_query)
    assert [pages(ddb, name, parcel, 4, False) for parcel in PARCELS] == patched
