"""Faults around a running `invoke local`: AWS services failing, and hostile clients."""

from __future__ import annotations

import json
import socket
import time
import uuid

import boto3
import pytest

from tests.e2e.conftest import processes_with_marker, start_local, stop_local
from tests.e2e.faults import FaultProxy
from tests.helpers import update
from tracking_ops.local.runtime import OBSERVER_QUEUE
from tracking_ops.operate import dlq as dlq_messages
from tracking_stacks import definitions as defs

SERVICES = {
    "dynamodb": "AWS_ENDPOINT_URL_DYNAMODB",
    "ssm": "AWS_ENDPOINT_URL_SSM",
    "events": "AWS_ENDPOINT_URL_EVENTBRIDGE",
}


@pytest.fixture(scope="module")
def faulty():
    """A local API whose function and notifier reach DynamoDB, SSM and EventBridge
    through switchable proxies (provisioning and the stream feed go direct)."""
    proxies = {name: FaultProxy() for name in SERVICES}
    api = start_local({variable: proxies[name].url for name, variable in SERVICES.items()})
    for proxy in proxies.values():
        proxy.forward_to(api.standin)
    import threading

    threading.Thread(target=lambda: [None for _ in api.process.stdout], daemon=True).start()
    yield api, proxies
    stop_local(api)
    for proxy in proxies.values():
        proxy.close()
    assert api.process.returncode == 0
    time.sleep(0.5)
    assert processes_with_marker(api.marker.split("=", 1)[1]) == []


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sqs_client(api):
    return boto3.client(
        "sqs",
        endpoint_url=api.standin,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def test_storage_outage_is_503_and_nothing_is_half_written(faulty):
    api, proxies = faulty
    parcel, key = unique("OUTAGE"), {"Idempotency-Key": unique("k")}
    body = update(tracking_id=parcel)

    proxies["dynamodb"].refuse()
    try:
        during = api.request("POST", "/track", body, headers=key)
        read = api.request("GET", f"/status?tracking_id={parcel}")
    finally:
        proxies["dynamodb"].restore()

    assert (during.status, during.body["error"]["code"]) == (503, "storage_unavailable")
    assert int(during.headers["Retry-After"]) >= 1
    assert read.status == 503
    retried = api.request("POST", "/track", body, headers=key)
    assert retried.status == 201 and "Idempotent-Replayed" not in retried.headers
    stored = api.request("GET", f"/status?tracking_id={parcel}").body["updates"]
    assert [u["event_id"] for u in stored] == [retried.body["event_id"]]


def test_ssm_outage_keeps_the_api_serving(faulty):
    api, proxies = faulty
    parcel = unique("NOSSM")
    proxies["ssm"].refuse()
    try:
        replies = [api.request("POST", "/track", update(tracking_id=parcel)) for _ in range(8)]
        read = api.request("GET", f"/status?tracking_id={parcel}")
    finally:
        proxies["ssm"].restore()
    assert {r.status for r in replies} == {201}
    assert read.status == 200 and len(read.body["updates"]) == 8


def test_eventbridge_failure_sends_the_affected_records_to_the_dlq(faulty):
    api, proxies = faulty
    sqs = sqs_client(api)
    dlq = sqs.get_queue_url(QueueName=defs.dlq_name("dev"))["QueueUrl"]
    observer = sqs.get_queue_url(QueueName=defs.physical_name(OBSERVER_QUEUE, "dev"))["QueueUrl"]
    lost, published = unique("LOST"), unique("PUBLISHED")

    proxies["events"].refuse()
    try:
        assert api.request("POST", "/track", update(tracking_id=lost)).status == 201
        # Lambda sends the batch from its checkpoint (the first failed record) on, and
        # AWS's message holds only where the records are: read them there.
        streams = boto3.client(
            "dynamodbstreams",
            endpoint_url=api.standin,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )

        def parcels(message) -> set[str]:
            records = dlq_messages.read_range(streams, message["DDBStreamBatchInfo"])
            return {r["dynamodb"]["Keys"]["pk"]["S"] for r in records}

        dead = wait_for_messages(sqs, dlq, lambda m: lost in parcels(m))
    finally:
        proxies["events"].restore()
    assert api.request("POST", "/track", update(tracking_id=published)).status == 201
    seen = wait_for_messages(sqs, observer, lambda m: m["detail"]["tracking_id"] == published)

    assert dead, "no DLQ message covers the record whose notification failed"
    assert (
        dead[0]["DDBStreamBatchInfo"]["startSequenceNumber"]
        <= (dead[0]["DDBStreamBatchInfo"]["endSequenceNumber"])
    )
    assert dead[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert seen[0]["detail"]["new_status"] == "in_transit"
    # The update itself was stored and projected; only its notification failed.
    assert api.request("GET", f"/status?tracking_id={lost}").status == 200


def wait_for_messages(sqs, queue: str, matches, seconds: float = 45) -> list[dict]:
    found: list[dict] = []
    deadline = time.monotonic() + seconds
    while not found and time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in reply.get("Messages", []):
            body = json.loads(message["Body"])
            if matches(body):
                found.append(body)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return found


def raw_connection(api) -> socket.socket:
    host, port = api.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def test_a_client_that_disconnects_mid_request_leaves_nothing_behind(faulty):
    api, _ = faulty
    parcel = unique("CUT")
    payload = json.dumps(update(tracking_id=parcel)).encode()
    with raw_connection(api) as sock:
        sock.sendall(
            b"POST /track HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload[:20]
        )
    # The server is still there, and the half-sent update was not stored.
    assert api.request("GET", "/health").status == 200
    assert api.request("GET", f"/status?tracking_id={parcel}").status == 404


def test_a_slow_client_does_not_hold_up_others(faulty):
    api, _ = faulty
    parcel = unique("SLOW")
    payload = json.dumps(update(tracking_id=parcel)).encode()
    head = (
        b"POST /track HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(payload)}\r\n\r\n".encode()
    )
    with raw_connection(api) as sock:
        sock.sendall(head)
        for byte in payload[: len(payload) // 2]:
            sock.sendall(bytes([byte]))
            time.sleep(0.005)
        # Half-way through the slow request, others are served.
        assert api.request("GET", "/health").status == 200
        assert api.request("POST", "/track", update(tracking_id=unique("FAST"))).status == 201
        sock.sendall(payload[len(payload) // 2 :])
        response = sock.recv(65536).decode()
    assert response.startswith("HTTP/1.1 201")


def test_a_body_larger_than_api_gateway_takes_is_refused_unread(faulty):
    api, _ = faulty
    with raw_connection(api) as sock:
        sock.sendall(
            b"POST /track HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {10**12}\r\n\r\n{{".encode()
        )
        assert sock.recv(65536).decode().startswith("HTTP/1.1 413")
    assert api.request("GET", "/health").status == 200


def test_a_write_stored_with_its_reply_lost_is_201_and_stored_once(faulty):
    api, proxies = faulty
    parcel = unique("LOSTREPLY")
    proxies["dynamodb"].lose_reply("DynamoDB_20120810.PutItem")
    try:
        reply = api.request("POST", "/track", update(tracking_id=parcel))
    finally:
        proxies["dynamodb"].clear()
    assert reply.status == 201, reply.body
    stored = api.request("GET", f"/status?tracking_id={parcel}").body["updates"]
    assert [u["event_id"] for u in stored] == [reply.body["event_id"]]


def test_hung_storage_is_503_before_the_function_timeout(faulty):
    api, proxies = faulty
    proxies["dynamodb"].hang("DynamoDB_20120810.Query")
    started = time.monotonic()
    try:
        reply = api.request("GET", f"/status?tracking_id={unique('HUNG')}")
    finally:
        proxies["dynamodb"].clear()
    assert (reply.status, reply.body["error"]["code"]) == (503, "storage_unavailable")
    assert "Retry-After" in reply.headers
    assert time.monotonic() - started < defs.API_FUNCTION.timeout_s
