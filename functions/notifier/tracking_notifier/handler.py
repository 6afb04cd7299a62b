"""Lambda handler for the tracking table's stream (Powertools BatchProcessor).

Two jobs per record: a new event item moves the parcel's current-state item
forward (the projection behind GET /shipments); a change of a state item's
status is published as ShipmentStatusChanged (flag real_time_notifications).
Each record is processed on its own; a record that fails (malformed, or
EventBridge refusing it) is reported in ``batchItemFailures`` and the others
are not retried. The event source mapping bisects, bounds retries and record
age, and sends what still fails to the DLQ (its on-failure destination).
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
CLIENT_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5
)


class PublishFailed(RuntimeError):
    """EventBridge did not accept the event."""


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


def feature_flags() -> FeatureFlags:
    name = os.environ.get(ENV_FEATURE_FLAGS_PARAM)
    if not name:
        return FeatureFlags()
    from aws_lambda_powertools.utilities import parameters

    try:
        raw = parameters.get_parameter(name, max_age=PARAMETER_CACHE_SECONDS)
        return FeatureFlags.from_mapping(json.loads(raw))
    except Exception:  # noqa: BLE001 - SSM down: documented defaults, notifications off
        logger.warning("feature flags unreadable; using defaults", exc_info=True)
        return FeatureFlags()


def record_handler(record: DynamoDBRecord) -> None:
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
    metrics.add_metric(name="StatusChangesPublished", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: Any) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
