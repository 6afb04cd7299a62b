"""The read path against a recording DynamoDB client: the exact queries of a page of
events, of the milestones (and their one-time backfill for a parcel from before they
were kept) and of parcels by status across the shards (issue 21: the modules split
from the repository keep the strength of its tests)."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import BotoCoreError

from tests.unit.functions.recording_dynamodb import RecordingClient, client_error
from tracking_api.errors import StorageUnavailable
from tracking_api.reads import EventReader
from tracking_common import table

TABLE = "tracking-unit"
PARCEL = "PKG-1"
STATE_KEY = {"pk": {"S": PARCEL}, "sk": {"S": "STATE"}}
EVENTS_QUERY = {
    "TableName": TABLE,
    "ConsistentRead": True,
    "ScanIndexForward": False,
    "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
    "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
    "ExpressionAttributeValues": {":pk": {"S": PARCEL}, ":prefix": {"S": "E#"}},
}
# The backfill's query: the same, only each event's status and time.
HISTORY_QUERY = {
    **EVENTS_QUERY,
    "ProjectionExpression": "#st, #ts",
    "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk", "#st": "status", "#ts": "ts"},
}


def event_item(at: int, status: str = "in_transit", event_id: str = "01JE", **extra) -> dict:
    return {
        "pk": {"S": PARCEL},
        "sk": {"S": table.event_sort_key(at, event_id)},
        "event_id": {"S": event_id},
        "status": {"S": status},
        "ts": {"N": str(at)},
        "lat": {"N": "1.5"},
        "lng": {"N": "-2.25"},
        **extra,
    }


def event_out(at: int, status: str = "in_transit", event_id: str = "01JE") -> dict:
    return {
        "event_id": event_id,
        "status": status,
        "timestamp": at,
        "location": {"lat": 1.5, "lng": -2.25},
    }


def reader(client: RecordingClient) -> EventReader:
    return EventReader(TABLE, client=client)


# ---- a page of events -------------------------------------------------------------


def test_a_page_asks_one_more_item_than_its_limit_and_continues_after_its_last():
    items = [event_item(300, event_id="C"), event_item(200, event_id="B"), event_item(100)]
    client = RecordingClient(pages=[{"Items": items}])
    events, after = reader(client).list_events(PARCEL, 2, None)
    assert events == [event_out(300, event_id="C"), event_out(200, event_id="B")]
    assert after == table.event_sort_key(200, "B")
    assert client.queries == [{**EVENTS_QUERY, "Limit": 3}]


def test_the_last_page_has_nothing_to_continue_after():
    client = RecordingClient(pages=[{"Items": [event_item(200), event_item(100)]}])
    events, after = reader(client).list_events(PARCEL, 2, "E#later")
    assert [event["timestamp"] for event in events] == [200, 100]
    assert after is None
    assert client.queries == [
        {
            **EVENTS_QUERY,
            "Limit": 3,
            "ExclusiveStartKey": {"pk": {"S": PARCEL}, "sk": {"S": "E#later"}},
        }
    ]


def test_an_event_reads_its_metadata_and_stored_infinities_as_null():
    item = event_item(100, metadata_json={"S": '{"a":[1,Infinity],"b":"x"}'})
    client = RecordingClient(pages=[{"Items": [item]}])
    events, _ = reader(client).list_events(PARCEL, 5, None)
    assert events == [{**event_out(100), "metadata": {"a": [1, None], "b": "x"}}]


def test_the_latest_event_is_a_page_of_one():
    client = RecordingClient(pages=[{"Items": [event_item(300), event_item(200)]}, {"Items": []}])
    assert reader(client).latest_event(PARCEL) == event_out(300)
    assert client.queries == [{**EVENTS_QUERY, "Limit": 2}]
    assert reader(client).latest_event(PARCEL) is None


def test_a_failed_query_is_storage_unavailable():
    client = RecordingClient(pages=[client_error("ProvisionedThroughputExceededException")])
    with pytest.raises(StorageUnavailable):
        reader(client).list_events(PARCEL, 5, None)


# ---- milestones -------------------------------------------------------------------


def test_kept_milestones_are_read_from_the_state_item_alone():
    state = {
        "milestones_complete": {"BOOL": True},
        "first_pending": {"N": "100"},
        "first_delivered": {"N": "900"},
        "first_unknown": {"N": "5"},  # not a status of the contract
    }
    client = RecordingClient(reads=[{"Item": state}])
    assert reader(client).milestones(PARCEL) == {"pending": 100, "delivered": 900}
    assert client.gets == [{"TableName": TABLE, "ConsistentRead": True, "Key": STATE_KEY}]
    assert client.queries == [] and client.updates == []


def test_a_parcel_from_before_gets_its_milestones_from_every_page_of_its_history():
    state = {"first_in_transit": {"N": "250"}}  # a later write kept one; not complete
    pages = [
        {
            "Items": [event_item(400, "delivered"), event_item(300)],
            "LastEvaluatedKey": {"pk": {"S": PARCEL}, "sk": {"S": "E#page1"}},
        },
        {"Items": [event_item(200), event_item(150, "pending"), event_item(120, "pending")]},
    ]
    client = RecordingClient(reads=[{"Item": state}], pages=pages)
    first = {"delivered": 400, "in_transit": 200, "pending": 120}
    assert reader(client).milestones(PARCEL) == first
    assert client.queries == [
        HISTORY_QUERY,
        {**HISTORY_QUERY, "ExclusiveStartKey": {"pk": {"S": PARCEL}, "sk": {"S": "E#page1"}}},
    ]
    assert client.updates == [
        {
            "TableName": TABLE,
            "Key": STATE_KEY,
            # Statuses in the contract's order: pending, in_transit, delivered, failed.
            "UpdateExpression": "SET #all = :yes, #m0 = :new0, #m1 = :new1, #m2 = :new2",
            "ConditionExpression": "attribute_not_exists(#all)"
            " AND attribute_not_exists(#m0) AND #m1 = :old1"
            " AND attribute_not_exists(#m2) AND attribute_not_exists(#m3)",
            "ExpressionAttributeNames": {
                "#all": "milestones_complete",
                "#m0": "first_pending",
                "#m1": "first_in_transit",
                "#m2": "first_delivered",
                "#m3": "first_failed",
            },
            "ExpressionAttributeValues": {
                ":yes": {"BOOL": True},
                ":old1": {"N": "250"},
                ":new0": {"N": "120"},
                ":new1": {"N": "200"},
                ":new2": {"N": "400"},
            },
        }
    ]


def test_a_kept_milestone_earlier_than_the_history_stays():
    state = {"first_in_transit": {"N": "50"}}
    client = RecordingClient(reads=[{"Item": state}], pages=[{"Items": [event_item(300)]}])
    assert reader(client).milestones(PARCEL) == {"in_transit": 50}
    assert client.updates[0]["ExpressionAttributeValues"][":new1"] == {"N": "50"}


def test_a_milestone_equal_to_an_event_time_is_kept():
    client = RecordingClient(
        reads=[{}], pages=[{"Items": [event_item(300), event_item(300, event_id="B")]}]
    )
    assert reader(client).milestones(PARCEL) == {"in_transit": 300}


def test_a_parcel_without_a_state_item_or_history_has_no_milestones_and_stores_nothing():
    client = RecordingClient(reads=[{}], pages=[{"Items": []}])
    assert reader(client).milestones(PARCEL) == {}
    assert client.queries == [HISTORY_QUERY]
    assert client.updates == []


def test_a_history_without_a_state_item_is_stored_as_complete():
    client = RecordingClient(reads=[{}], pages=[{"Items": [event_item(70, "failed")]}])
    assert reader(client).milestones(PARCEL) == {"failed": 70}
    (update,) = client.updates
    assert update["UpdateExpression"] == "SET #all = :yes, #m3 = :new3"
    assert update["ConditionExpression"] == (
        "attribute_not_exists(#all) AND attribute_not_exists(#m0) AND attribute_not_exists(#m1)"
        " AND attribute_not_exists(#m2) AND attribute_not_exists(#m3)"
    )


@pytest.mark.parametrize(
    "failure",
    [client_error("ConditionalCheckFailedException"), BotoCoreError()],
    ids=["a write moved a milestone", "storage failed"],
)
def test_a_backfill_that_cannot_be_stored_still_answers_what_it_computed(failure):
    client = RecordingClient(reads=[{}], writes=[failure], pages=[{"Items": [event_item(10)]}])
    assert reader(client).milestones(PARCEL) == {"in_transit": 10}
    assert len(client.updates) == 1


def test_the_backfill_query_leaves_the_page_query_untouched():
    client = RecordingClient(reads=[{}], pages=[{"Items": []}, {"Items": []}])
    repository = reader(client)
    repository.milestones(PARCEL)
    repository.list_events(PARCEL, 1, None)
    assert client.queries[1] == {**EVENTS_QUERY, "Limit": 2}


# ---- parcels by status --------------------------------------------------------------


def index_item(parcel: str, at: int) -> dict:
    return {
        "pk": {"S": parcel},
        "gsi1sk": {"S": table.status_index_sort_key(at, parcel)},
        "ts": {"N": str(at)},
        "lat": {"N": "3.5"},
        "lng": {"N": "4.0"},
    }


def shard_of(query: dict) -> int:
    return int(query["ExpressionAttributeValues"][":gpk"]["S"].rsplit("#", 1)[1])


def by_shard(items: dict[int, list[dict]], threads: set[str] | None = None):
    def answer(query: dict) -> dict:
        if threads is not None:
            threads.add(threading.current_thread().name)
        return {"Items": items.get(shard_of(query), [])}

    return answer


def test_parcels_by_status_merge_every_shard_newest_first():
    items = {0: [index_item("A", 500), index_item("B", 100)], 2: [index_item("C", 300)]}
    threads: set[str] = set()
    client = RecordingClient(pages=by_shard(items, threads))
    parcels, after = EventReader(TABLE, client=client).list_by_status("in_transit", 2, None)
    assert parcels == [
        {"tracking_id": "A", "timestamp": 500, "location": {"lat": 3.5, "lng": 4.0}},
        {"tracking_id": "C", "timestamp": 300, "location": {"lat": 3.5, "lng": 4.0}},
    ]
    assert after == table.status_index_sort_key(300, "C")
    assert sorted(client.queries, key=shard_of) == [
        {
            "TableName": TABLE,
            "IndexName": "by_status",
            "ScanIndexForward": False,
            "Limit": 3,
            "KeyConditionExpression": "#gpk = :gpk",
            "ExpressionAttributeNames": {"#gpk": "gsi1pk"},
            "ExpressionAttributeValues": {":gpk": {"S": f"in_transit#{shard}"}},
        }
        for shard in range(table.STATUS_INDEX_SHARDS)
    ]
    assert threads and all(name.startswith("shard-query") for name in threads)


def test_a_later_page_of_parcels_asks_each_shard_for_what_is_older():
    client = RecordingClient(pages=by_shard({1: [index_item("B", 100)]}))
    parcels, after = EventReader(TABLE, client=client).list_by_status("delivered", 5, "X#cut")
    assert [parcel["tracking_id"] for parcel in parcels] == ["B"] and after is None
    assert len(client.queries) == table.STATUS_INDEX_SHARDS
    for query in client.queries:
        assert query["KeyConditionExpression"] == "#gpk = :gpk AND #gsk < :after"
        assert query["ExpressionAttributeNames"] == {"#gpk": "gsi1pk", "#gsk": "gsi1sk"}
        assert query["ExpressionAttributeValues"] == {
            ":gpk": {"S": f"delivered#{shard_of(query)}"},
            ":after": {"S": "X#cut"},
        }


def test_parcels_filling_exactly_one_page_have_no_next_page():
    items = {0: [index_item("A", 5)], 3: [index_item("B", 4)]}
    client = RecordingClient(pages=by_shard(items))
    parcels, after = EventReader(TABLE, client=client).list_by_status("pending", 2, None)
    assert [parcel["tracking_id"] for parcel in parcels] == ["A", "B"] and after is None


def test_a_failed_shard_query_is_storage_unavailable():
    def answer(query: dict) -> dict:
        return client_error("ThrottlingException") if shard_of(query) == 2 else {"Items": []}

    client = RecordingClient(pages=answer)
    with pytest.raises(StorageUnavailable):
        EventReader(TABLE, client=client).list_by_status("pending", 2, None)
