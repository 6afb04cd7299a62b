"""The HTTP contract through the real socket of `invoke local`."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.helpers import now_ms, update


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_readme_curl_session(local_api):
    parcel = unique("PKG")
    created = local_api.request("POST", "/track", update(tracking_id=parcel))
    assert created.status == 201 and created.headers["Content-Type"] == "application/json"

    status = local_api.request("GET", f"/status?tracking_id={parcel}")
    assert status.status == 200
    assert status.body["updates"][0]["event_id"] == created.body["event_id"]

    # /shipments may lag writes by a moment (a projection of the stream, as a GSI lags).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = local_api.request("GET", "/shipments?status=in_transit&limit=100").body
        if parcel in [item["tracking_id"] for item in listed["items"]]:
            break
        time.sleep(0.1)
    assert parcel in [item["tracking_id"] for item in listed["items"]]


def test_gateway_checks_run_before_the_function(local_api):
    missing = local_api.request("GET", "/status")
    assert (missing.status, missing.body["error"]["code"]) == (400, "validation_error")
    assert missing.body["error"]["details"][0]["field"] == "tracking_id"

    bad = local_api.request(
        "POST", "/track", {"tracking_id": "P", "status": "lost", "location": {"lat": "1", "lng": 2}}
    )
    assert (bad.status, bad.body["error"]["code"]) == (400, "validation_error")
    assert {d["field"] for d in bad.body["error"]["details"]} == {"status", "location.lat"}


def test_error_statuses_through_http(local_api):
    assert local_api.request("POST", "/track", raw=b"{nope").body["error"]["code"] == "invalid_json"
    plain = local_api.request(
        "POST", "/track", raw=b"hello", headers={"Content-Type": "text/plain"}
    )
    assert plain.status == 415
    big = local_api.request("POST", "/track", update(metadata={"x": "y" * 70_000}))
    assert (big.status, big.body["error"]["code"]) == (413, "payload_too_large")
    assert local_api.request("GET", "/status?tracking_id=nobody-here").status == 404
    # An unknown path answers as API Gateway does (MISSING_AUTHENTICATION_TOKEN, 403).
    nowhere = local_api.request("GET", "/nowhere")
    assert (nowhere.status, nowhere.error_code) == (403, "missing_authentication")


def test_openapi_document_is_served(local_api):
    document = local_api.request("GET", "/openapi.json").body
    assert document["openapi"].startswith("3.0") and "/track" in document["paths"]


def test_idempotent_retry_through_http(local_api):
    key = {"Idempotency-Key": unique("key")}
    body = update(tracking_id=unique("IDEM"))
    first = local_api.request("POST", "/track", body, headers=key)
    second = local_api.request("POST", "/track", body, headers=key)
    assert second.headers.get("Idempotent-Replayed") == "true" and second.body == first.body


def test_many_clients_one_parcel_one_timestamp_all_kept(local_api):
    parcel, ts = unique("HOT"), now_ms() - 5000
    statuses = ("pending", "in_transit", "delivered", "failed")

    def send(i: int) -> str:
        reply = local_api.request(
            "POST", "/track", update(tracking_id=parcel, status=statuses[i % 4], timestamp=ts)
        )
        assert reply.status == 201, reply.raw
        return reply.body["event_id"]

    with ThreadPoolExecutor(8) as pool:
        sent = list(pool.map(send, range(64)))

    stored = local_api.request("GET", f"/status?tracking_id={parcel}&limit=100").body
    assert sorted(u["event_id"] for u in stored["updates"]) == sorted(sent)
    winner = max(sent)
    assert stored["status"] == next(
        u["status"] for u in stored["updates"] if u["event_id"] == winner
    )


def test_racing_idempotent_retries_store_once(local_api):
    parcel, key = unique("RACE"), {"Idempotency-Key": unique("k")}
    body = update(tracking_id=parcel)

    with ThreadPoolExecutor(8) as pool:
        replies = list(
            pool.map(lambda _: local_api.request("POST", "/track", body, headers=key), range(24))
        )

    assert {r.status for r in replies} <= {201, 409}
    event_ids = {r.body["event_id"] for r in replies if r.status == 201}
    assert len(event_ids) == 1
    stored = local_api.request("GET", f"/status?tracking_id={parcel}").body["updates"]
    assert [u["event_id"] for u in stored] == list(event_ids)
