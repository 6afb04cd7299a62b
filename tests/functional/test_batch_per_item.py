"""POST /track/batch per item, like Kinesis PutRecords (issue 22, item 4)."""

from __future__ import annotations

import json

from tests.helpers import update
from tracking_api import api as api_module
from tracking_common.runtime_config import ApiConfig


def batch(api, updates, **kwargs):
    return api.request("POST", "/track/batch", body={"updates": updates}, **kwargs)


def test_an_item_that_is_not_an_object_fails_alone(api):
    reply = batch(api, [update(tracking_id="B1"), 42, update(tracking_id="B3"), "x"])

    assert reply.status == 200, reply.body
    statuses = [(r["index"], r["status"]) for r in reply.body["results"]]
    assert statuses == [(0, 201), (1, 400), (2, 201), (3, 400)]
    assert reply.body["results"][1]["error"]["code"] == "validation_error"
    assert reply.body["results"][1]["error"]["details"][0]["field"] == "updates.1"
    assert reply.body["failed"] == 2
    assert api.status("tracking_id=B3").status == 200


def test_25_items_at_3_kib_of_metadata_each_fit_the_batch_limit(api):
    items = [update(tracking_id=f"BIG-{i}", metadata={"note": "n" * 3072}) for i in range(25)]
    body = json.dumps({"updates": items})
    assert len(body) > ApiConfig().max_request_size  # over the single-item limit

    reply = batch(api, items)

    assert reply.status == 200, reply.body
    assert [r["status"] for r in reply.body["results"]] == [201] * 25
    assert reply.body["failed"] == 0


def test_a_batch_over_its_limit_is_413_naming_the_limit(api):
    limit = 25 * ApiConfig().max_request_size
    reply = api.request(
        "POST", "/track/batch", raw=json.dumps({"updates": [update()], "pad": " " * limit})
    )
    assert (reply.status, reply.error_code) == (413, "payload_too_large")
    assert str(limit) in reply.body["error"]["message"]


def test_items_left_when_the_time_budget_is_spent_are_503_never_unknown(api, monkeypatch):
    """The clock runs 1.5 s per look: one budget for the request means the first items
    are stored and the rest are reported 503, each, and not stored."""
    ticks = iter(range(0, 10_000, 15))
    monkeypatch.setattr(api_module, "clock", lambda: next(ticks) / 10)
    items = [update(tracking_id=f"T-{i}") for i in range(6)]

    reply = batch(api, items)

    assert reply.status == 200, reply.body
    statuses = [r["status"] for r in reply.body["results"]]
    assert statuses[0] == 201 and 503 in statuses
    first_503 = statuses.index(503)
    assert statuses == [201] * first_503 + [503] * (6 - first_503)
    assert reply.body["failed"] == 6 - first_503
    for result in reply.body["results"][first_503:]:
        assert result["error"]["code"] == "storage_unavailable"
        assert api.status(f"tracking_id=T-{result['index']}").status == 404


def test_the_envelope_is_still_checked(api):
    for body in ({"updates": []}, {"updates": [update()] * 26}, {"updates": {}}, [update()]):
        reply = api.request("POST", "/track/batch", body=body)
        assert (reply.status, reply.error_code) == (400, "validation_error"), body
