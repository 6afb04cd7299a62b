"""GET /status, GET /shipments, POST /track/batch, GET /health and unknown routes."""

from __future__ import annotations

import json

import pytest

from tests.helpers import now_ms, update
from tracking_api.models import STATUSES
from tracking_ops.local import standin
from tracking_stacks import definitions as defs


def set_flags(aws, **flags) -> None:
    """Change the dev feature flags parameter, as an operator would."""
    aws.client("ssm").put_parameter(
        Name=defs.FEATURE_FLAGS_PARAM.path("dev"),
        Overwrite=True,
        Type="String",
        Value=defs.feature_flags_value(flags),
    )
    from tests.conftest import reset_function_state

    reset_function_state()


class TestStatus:
    def test_unknown_parcel_is_404(self, api):
        reply = api.status("tracking_id=NOPE")
        assert (reply.status, reply.error_code) == (404, "not_found")

    @pytest.mark.parametrize(
        "query",
        [
            "",
            "tracking_id=",
            "tracking_id=bad%20id",
            "tracking_id=P&limit=0",
            "tracking_id=P&limit=101",
            "tracking_id=P&limit=ten",
            "tracking_id=P&limit=-1",
            "tracking_id=P&cursor=%%%",
            "tracking_id=P&cursor=e30",
        ],
    )
    def test_invalid_query_is_400(self, api, query):
        api.track(update(tracking_id="P"))
        reply = api.status(query)
        assert (reply.status, reply.error_code) == (400, "validation_error")

    def test_current_state_is_the_latest_by_event_time_whatever_the_arrival_order(self, api):
        base = now_ms() - 600_000
        api.track(update(status="delivered", lat=3, timestamp=base + 3000))
        api.track(update(status="pending", lat=1, timestamp=base + 1000))
        api.track(update(status="in_transit", lat=2, timestamp=base + 2000))

        body = api.status("tracking_id=PKG-1").body

        assert (body["status"], body["timestamp"], body["location"]["lat"]) == (
            "delivered",
            base + 3000,
            3,
        )
        assert [u["status"] for u in body["updates"]] == ["delivered", "in_transit", "pending"]

    def test_updates_carry_their_fields(self, api):
        sent = api.track(update(metadata={"k": [1, 2]})).body
        (stored,) = api.status("tracking_id=PKG-1").body["updates"]
        assert stored == {
            k: sent[k] for k in ("event_id", "status", "timestamp", "location", "metadata")
        }

    def test_an_update_sent_without_metadata_reads_back_without_it(self, api):
        sent = api.track(update()).body
        (stored,) = api.status("tracking_id=PKG-1").body["updates"]
        assert "metadata" not in stored
        assert stored == {k: sent[k] for k in ("event_id", "status", "timestamp", "location")}

    def test_paging_through_120_updates_has_no_gap_or_duplicate(self, api):
        base = now_ms() - 200_000
        replies = [
            api.track(
                update(
                    status=STATUSES[i % len(STATUSES)],
                    lat=i / 10,
                    timestamp=base + i * 10 - (i % 3) * 10 + (1000 if i == 60 else 0),
                )
            ).body
            for i in range(120)
        ]
        sent = [reply["event_id"] for reply in replies]
        latest = replies[60]  # the newest by event time, sent in the middle

        seen, cursor, pages = [], None, 0
        while True:
            query = "tracking_id=PKG-1&limit=7" + (f"&cursor={cursor}" if cursor else "")
            body = api.status(query).body
            # Every page states the parcel's current state, not its own first item.
            assert (body["tracking_id"], body["status"], body["timestamp"], body["location"]) == (
                "PKG-1",
                latest["status"],
                latest["timestamp"],
                latest["location"],
            ), pages
            seen += [u["event_id"] for u in body["updates"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break

        assert sorted(seen) == sorted(sent)
        assert len(seen) == len(set(seen)) == 120
        assert pages == 18  # 17 full pages and 1 of one; no empty last page
        stamps = [u["timestamp"] for u in api.status("tracking_id=PKG-1&limit=100").body["updates"]]
        assert stamps == sorted(stamps, reverse=True)

    def test_default_limit_is_50(self, api):
        base = now_ms() - 100_000
        for i in range(55):
            api.track(update(timestamp=base + i))
        body = api.status("tracking_id=PKG-1").body
        assert len(body["updates"]) == 50 and body["next_cursor"]

    def test_cursor_of_another_parcel_is_rejected(self, api):
        for tracking_id in ("A", "B"):
            for _ in range(3):
                api.track(update(tracking_id=tracking_id))
        cursor_of_a = api.status("tracking_id=A&limit=1").body["next_cursor"]

        reply = api.status(f"tracking_id=B&limit=1&cursor={cursor_of_a}")

        assert (reply.status, reply.error_code) == (400, "validation_error")

    def test_status_reads_its_own_writes(self, api):
        for status in ("pending", "in_transit", "delivered"):
            api.track(update(status=status))
            assert api.status("tracking_id=PKG-1").body["status"] == status

    def test_milestones_with_enhanced_tracking(self, api):
        base = now_ms() - 100_000
        api.track(update(status="in_transit", timestamp=base + 2000))
        api.track(update(status="in_transit", timestamp=base + 3000))
        api.track(update(status="pending", timestamp=base + 1000))  # arrives late

        body = api.status("tracking_id=PKG-1").body

        assert body["milestones"] == {"pending": base + 1000, "in_transit": base + 2000}

    def test_late_event_moves_a_milestone_earlier(self, api):
        base = now_ms() - 100_000
        api.track(update(status="in_transit", timestamp=base + 5000))
        api.track(update(status="delivered", timestamp=base + 9000))
        api.track(update(status="in_transit", timestamp=base + 1000))  # late, older

        body = api.status("tracking_id=PKG-1").body

        assert body["status"] == "delivered"
        assert body["milestones"]["in_transit"] == base + 1000

    @pytest.mark.parametrize("milestones", [True, False])
    def test_a_page_ending_at_the_oldest_update_has_no_cursor(self, api, aws, milestones):
        """Six updates in pages of three: the second page is the last, and states the
        parcel's current state (with milestones off, a read of its own)."""
        set_flags(aws, enhanced_tracking=milestones, batch_processing=True)
        base = now_ms() - 100_000
        for i in range(6):
            api.track(update(lat=i, timestamp=base + i))
        first = api.status("tracking_id=PKG-1&limit=3").body
        second = api.status(f"tracking_id=PKG-1&limit=3&cursor={first['next_cursor']}").body
        lats = [u["location"]["lat"] for u in first["updates"] + second["updates"]]
        assert lats == [5, 4, 3, 2, 1, 0]
        assert second["next_cursor"] is None
        for page in (first, second):
            assert (page["timestamp"], page["location"]["lat"]) == (base + 5, 5)
        assert api.status("tracking_id=NOPE").status == 404

    @pytest.mark.parametrize("milestones", [True, False])
    def test_a_cursor_older_than_every_update_is_an_empty_last_page(self, api, aws, milestones):
        """A well-formed cursor of this parcel past its oldest update (the cursor format
        is public): no updates, no cursor, the current state all the same."""
        from tracking_api import domain
        from tracking_common import table

        set_flags(aws, enhanced_tracking=milestones, batch_processing=True)
        sent = api.track(update(timestamp=now_ms() - 1000)).body
        oldest = table.event_sort_key(0, domain.new_event_id(0))
        cursor = domain.encode_cursor(domain.status_scope("PKG-1"), oldest)

        reply = api.status(f"tracking_id=PKG-1&cursor={cursor}")

        assert reply.status == 200, reply.body
        assert (reply.body["updates"], reply.body["next_cursor"]) == ([], None)
        assert reply.body["timestamp"] == sent["timestamp"]

    def test_no_milestones_without_enhanced_tracking(self, api, aws):
        set_flags(aws, enhanced_tracking=False, batch_processing=True)
        api.track(update())
        assert "milestones" not in api.status("tracking_id=PKG-1").body


def parcels_in_transit(api, project_stream, count: int) -> int:
    """Parcels P0..P<count-1> in transit, P<i> updated at base + i ms, projected; the base."""
    base = now_ms() - 100_000
    for i in range(count):
        api.track(update(tracking_id=f"P{i}", status="in_transit", timestamp=base + i))
    project_stream()
    return base


class TestShipments:
    """The list reads the projected state items: each test drains the stream first."""

    def test_lists_parcels_by_current_status_most_recent_first(self, api, project_stream):
        base = parcels_in_transit(api, project_stream, 10)
        body = api.request("GET", "/shipments", query="status=in_transit").body

        assert body["status"] == "in_transit"
        assert [item["tracking_id"] for item in body["items"]] == [
            f"P{i}" for i in range(9, -1, -1)
        ]
        assert body["items"][0] == {
            "tracking_id": "P9",
            "timestamp": base + 9,
            "location": {"lat": 52.52, "lng": 13.40},
        }
        assert body["next_cursor"] is None

    def test_a_page_ending_at_the_last_parcel_has_no_cursor(self, api, project_stream):
        parcels_in_transit(api, project_stream, 4)

        first = api.request("GET", "/shipments", query="status=in_transit&limit=2").body
        query = f"status=in_transit&limit=2&cursor={first['next_cursor']}"
        second = api.request("GET", "/shipments", query=query).body

        ids = [item["tracking_id"] for item in first["items"] + second["items"]]
        assert ids == ["P3", "P2", "P1", "P0"]
        assert second["next_cursor"] is None

    def test_parcel_that_moved_on_is_no_longer_listed(self, api, project_stream):
        api.track(update(tracking_id="MOVER", status="in_transit"))
        api.track(update(tracking_id="MOVER", status="delivered"))
        project_stream()

        in_transit = api.request("GET", "/shipments", query="status=in_transit").body["items"]
        delivered = api.request("GET", "/shipments", query="status=delivered").body["items"]

        assert "MOVER" not in [i["tracking_id"] for i in in_transit]
        assert [i["tracking_id"] for i in delivered] == ["MOVER"]

    def test_out_of_order_event_does_not_move_a_parcel_back(self, api, project_stream):
        api.track(update(tracking_id="P", status="delivered", timestamp=now_ms() - 1000))
        api.track(update(tracking_id="P", status="in_transit", timestamp=now_ms() - 5000))
        project_stream()
        listed = api.request("GET", "/shipments", query="status=in_transit").body["items"]
        delivered = api.request("GET", "/shipments", query="status=delivered").body["items"]
        assert listed == []
        assert [item["tracking_id"] for item in delivered] == ["P"]

    def test_paging_across_shards_has_no_gap_or_duplicate(self, api, project_stream):
        base = now_ms() - 100_000
        ids = [f"S{i:03d}" for i in range(37)]
        for i, tracking_id in enumerate(ids):
            api.track(update(tracking_id=tracking_id, status="pending", timestamp=base + i))
        project_stream()
        seen, cursor = [], None
        while True:
            query = "status=pending&limit=5" + (f"&cursor={cursor}" if cursor else "")
            body = api.request("GET", "/shipments", query=query).body
            seen += [item["tracking_id"] for item in body["items"]]
            if not (cursor := body["next_cursor"]):
                break
        assert seen == list(reversed(ids))

    @pytest.mark.parametrize(
        "query", ["", "status=lost", "status=pending&limit=0", "status=pending&cursor=abc"]
    )
    def test_invalid_query_is_400(self, api, query):
        reply = api.request("GET", "/shipments", query=query)
        assert (reply.status, reply.error_code) == (400, "validation_error")

    def test_cursor_of_another_status_is_rejected(self, api, project_stream):
        for i in range(3):
            api.track(update(tracking_id=f"P{i}", status="pending"))
        project_stream()
        cursor = api.request("GET", "/shipments", query="status=pending&limit=1").body[
            "next_cursor"
        ]
        reply = api.request("GET", "/shipments", query=f"status=failed&cursor={cursor}")
        assert reply.status == 400


class TestBatch:
    def test_one_bad_item_does_not_reject_the_others(self, api):
        reply = api.request(
            "POST",
            "/track/batch",
            body={
                "updates": [
                    update(tracking_id="B1"),
                    update(tracking_id="B2", status="lost"),
                    update(tracking_id="B3"),
                ]
            },
        )

        assert reply.status == 200
        results = reply.body["results"]
        assert [r["status"] for r in results] == [201, 400, 201]
        assert [r["index"] for r in results] == [0, 1, 2]
        assert results[1]["error"]["code"] == "validation_error"
        assert results[1]["error"]["details"][0]["field"] == "updates.1.status"
        assert api.status("tracking_id=B3").body["updates"][0]["event_id"] == results[2]["event_id"]
        assert api.status("tracking_id=B2").status == 404

    @pytest.mark.parametrize(
        "body", [{"updates": []}, {"updates": [update()] * 26}, {"updates": "x"}, {"other": 1}, []]
    )
    def test_batch_shape_violations_are_400(self, api, body):
        reply = api.request("POST", "/track/batch", body=body)
        assert (reply.status, reply.error_code) == (400, "validation_error")

    def test_batch_of_25_is_accepted(self, api):
        reply = api.request(
            "POST",
            "/track/batch",
            body={"updates": [update(tracking_id=f"B{i}") for i in range(25)]},
        )
        assert [r["status"] for r in reply.body["results"]] == [201] * 25

    def test_retried_batch_with_a_key_stores_each_item_once(self, api):
        body = {
            "updates": [
                update(tracking_id="R1"),
                update(tracking_id="R2", status="lost"),
                update(tracking_id="R3"),
            ]
        }
        key = {"Idempotency-Key": "batch-1"}

        first = api.request("POST", "/track/batch", body=body, headers=key).body["results"]
        again = api.request("POST", "/track/batch", body=body, headers=key).body["results"]

        assert [r.get("event_id") for r in again] == [r.get("event_id") for r in first]
        assert [r["status"] for r in again] == [201, 400, 201]
        for parcel in ("R1", "R3"):
            assert len(api.status(f"tracking_id={parcel}").body["updates"]) == 1

    def test_batch_key_reused_for_other_items_is_422_per_item(self, api):
        key = {"Idempotency-Key": "batch-2"}
        api.request(
            "POST", "/track/batch", body={"updates": [update(tracking_id="X1")]}, headers=key
        )
        other = api.request(
            "POST", "/track/batch", headers=key, body={"updates": [update(tracking_id="X2")]}
        ).body["results"]
        assert other[0]["status"] == 422
        assert other[0]["error"]["code"] == "idempotency_key_reused"

    def test_disabled_by_flag_is_403_feature_disabled(self, api, aws):
        set_flags(aws, batch_processing=False)
        reply = api.request("POST", "/track/batch", body={"updates": [update()]})
        assert (reply.status, reply.error_code) == (403, "feature_disabled")


def test_health_is_ok_without_touching_aws(api):
    from tests.functional.calls import count_aws_calls

    with count_aws_calls([]) as calls:
        reply = api.request("GET", "/health", content_type=None)
    assert (reply.status, reply.body) == (200, {"status": "ok"})
    assert calls == []


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/nope"), ("DELETE", "/track"), ("GET", "/track")]
)
def test_unknown_route_is_404_in_the_error_shape(api, method, path):
    reply = api.request(method, path)
    assert (reply.status, reply.error_code) == (404, "not_found")
    assert reply.headers["Content-Type"] == "application/json"


def test_every_error_body_has_the_contract_shape(api):
    replies = [
        api.track({"x": 1}),
        api.request("POST", "/track", raw="{"),
        api.status("tracking_id=none"),
        api.request("GET", "/zzz"),
    ]
    for reply in replies:
        assert set(reply.body) == {"error"}
        assert set(reply.body["error"]) <= {"code", "message", "details"}
        assert isinstance(reply.body["error"]["message"], str)
        assert "Traceback" not in json.dumps(reply.body)


def test_stand_in_is_on_loopback(aws):
    assert aws.endpoint.startswith(f"http://{standin.LOOPBACK}:")
