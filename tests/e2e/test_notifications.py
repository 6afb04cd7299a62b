"""Status changes reach EventBridge through the stream, on a runtime of their own
(the shared one may be catching up with the fuzzing's thousands of records)."""

from __future__ import annotations

import json
import threading
import time
import uuid

import boto3
import pytest

from tests.e2e.conftest import start_local, stop_local
from tests.helpers import update
from tracking_ops.local.runtime import OBSERVER_QUEUE
from tracking_stacks import definitions as defs


@pytest.fixture(scope="module")
def fresh_local():
    api = start_local()
    threading.Thread(target=lambda: [None for _ in api.process.stdout], daemon=True).start()
    yield api
    stop_local(api)
    assert api.process.returncode == 0


def test_status_changes_reach_eventbridge_through_the_stream(fresh_local):
    parcel = f"NOTIFY-{uuid.uuid4().hex[:10]}"
    fresh_local.request("POST", "/track", update(tracking_id=parcel, status="pending"))
    fresh_local.request("POST", "/track", update(tracking_id=parcel, status="delivered"))

    sqs = boto3.client(
        "sqs",
        endpoint_url=fresh_local.standin,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    queue = sqs.get_queue_url(QueueName=defs.physical_name(OBSERVER_QUEUE, "dev"))["QueueUrl"]
    seen: list[dict] = []
    deadline = time.monotonic() + 30
    while len(seen) < 2 and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in messages.get("Messages", []):
            detail = json.loads(message["Body"])["detail"]
            if detail["tracking_id"] == parcel:
                seen.append(detail)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    dlq = sqs.get_queue_url(QueueName=defs.dlq_name("dev"))["QueueUrl"]
    dead = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert [(d["previous_status"], d["new_status"]) for d in seen] == [
        (None, "pending"),
        ("pending", "delivered"),
    ], (seen, dead["Attributes"])
