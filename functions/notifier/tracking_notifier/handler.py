"""Lambda handler for the tracking table's stream (Powertools BatchProcessor).

Two jobs per record: a new event item moves the parcel's current-state item
forward (the projection behind GET /shipments); a change of a state item's
status is published as ShipmentStatusChanged (flag real_time_notifications).
Records are processed in stream order. From the first record that fails
(malformed, EventBridge refusing it, feature flags unreadable) on, every later
record of the batch is reported in ``batchItemFailures`` unprocessed: Lambda
checkpoints at the lowest failed sequence number and redelivers everything
after it anyway, so nothing is done that the retry would do again. Delivery is
at least once: a retried batch may publish an event again, with the same
``event_id`` (consumers dedupe on it). The event source mapping bisects,
bounds retries and record age, and sends what still fails to the DLQ (its
on-failure destination).
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from botocore.config import Config
from botocore.exceptions import ClientError

from tracking_common.runtime_config import (
    ENV_EVENT_BUS_NAME,
    ENV_FEATURE_FLAGS_PARAM,
    ENV_TABLE_NAME,
    METRIC_STATUS_CHANGES_PUBLISHED,
    METRICS_NAMESPACE,
    NOTIFIER_SERVICE_NAME,
    PARAMETER_CACHE_SECONDS,
    FeatureFlags,
)
from tracking_notifier.changes import status_change
from tracking_notifier.projection import EventState, event_state, state_update

logger = Logger(service=NOTIFIER_SERVICE_NAME)
tracer = Tracer(service=NOTIFIER_SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=NOTIFIER_SERVICE_NAME)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
# Time budget per record against a hung endpoint (attempts x (connect + read) +
# the SDK's back-offs of <= 1 s and <= 2 s): SSM 2 x 1.5 + 1 = 4 s, then
# EventBridge (or DynamoDB) 3 x 3.5 + 3 = 13.5 s; 17.5 s in all, well under the
# notifier's 30 s timeout. A record that fails stops the batch (record_handler),
# and no record starts with less than RECORD_BUDGET_MS of the invocation left.
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 3, "mode": "standard"}, connect_timeout=0.5, read_timeout=3
)
SSM_CONFIG = Config(
    retries={"total_max_attempts": 2, "mode": "standard"}, connect_timeout=0.5, read_timeout=1
)
RECORD_BUDGET_MS = 18_000


class PublishFailed(RuntimeError):
    """EventBridge did not accept the event."""


class LeftForRetry(RuntimeError):
    """Not processed: an earlier record of the batch failed, or too little time is left."""


class _Batch:
    """What the record handler knows of the batch it is in."""

    failed = False
    context: Any = None


@cache
def events_client() -> Any:
    return boto3.client("events", config=CLIENT_CONFIG)


@cache
def dynamodb_client() -> Any:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


def project(state: EventState) -> None:
    try:
        dynamodb_client().update_item(**state_update(os.environ[ENV_TABLE_NAME], state))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        # The state already shows a newer event: this one is history only.


@cache
def ssm_provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto_config=SSM_CONFIG)


def feature_flags() -> FeatureFlags:
    """The flags from SSM (cached). Unreadable flags fail the record: guessing them
    (notifications off) would drop the event without it reaching the DLQ."""
    name = os.environ.get(ENV_FEATURE_FLAGS_PARAM)
    if not name:
        return FeatureFlags()
    raw = ssm_provider().get(name, max_age=PARAMETER_CACHE_SECONDS)
    return FeatureFlags.from_mapping(json.loads(raw))


def record_handler(record: DynamoDBRecord) -> None:
    if _Batch.failed:
        raise LeftForRetry("an earlier record of this batch failed")
    context = _Batch.context
    if context is not None and context.get_remaining_time_in_millis() < RECORD_BUDGET_MS:
        _Batch.failed = True
        raise LeftForRetry("too little time left in this invocation")
    try:
        process(record)
    except Exception:
        _Batch.failed = True
        raise


def process(record: DynamoDBRecord) -> None:
    keys, new_image = record.dynamodb.keys or {}, record.dynamodb.new_image or None
    state = event_state(keys, new_image)
    if state is not None:
        project(state)
        return
    change = status_change(
        keys,
        record.dynamodb.old_image or None,
        new_image,
    )
    if change is None or not feature_flags().real_time_notifications:
        return
    result = events_client().put_events(Entries=[change.entry(os.environ[ENV_EVENT_BUS_NAME])])
    if result.get("FailedEntryCount"):
        raise PublishFailed(json.dumps(result.get("Entries")))
    metrics.add_metric(name=METRIC_STATUS_CHANGES_PUBLISHED, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict, context: Any) -> dict:
    _Batch.failed, _Batch.context = False, context
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
