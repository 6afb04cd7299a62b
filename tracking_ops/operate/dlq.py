"""The stream's dead-letter queue: AWS's on-failure message, and replaying it.

For a DynamoDB stream, the event source mapping's SQS on-failure destination
receives only where the failed batch is (shard, sequence-number range), never
the records; the stream keeps records for 24 hours. ``replay`` re-reads each
referenced range from the stream while it still exists, runs the notifier on
it again (its projection is idempotent: a state item only moves forward),
deletes each message whose records were all recovered and reports, by sequence
number, what it could not recover.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

RETRIES_EXHAUSTED = "RetryAttemptsExhausted"  # the other conditions: RecordAgeExceeded, ...
MESSAGE_VERSION = "1.0"
STREAM_RETENTION_HOURS = 24  # DynamoDB Streams' fixed retention
BATCH_INFO = "DDBStreamBatchInfo"
# Gone from the stream (past its retention, or the stream/shard was removed).
STREAM_GONE = {
    "TrimmedDataAccessException",
    "ResourceNotFoundException",
    "ExpiredIteratorException",
}
MAX_EMPTY_PAGES = 5  # an open shard can answer empty pages before the next records
RECEIVE_BATCH = 10  # SQS's maximum per ReceiveMessage


def _iso(moment: datetime, millis: bool) -> str:
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds" if millis else "seconds")
    return text.replace("+00:00", "Z")


def _arrival(record: dict[str, Any]) -> str:
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        return _iso(created, millis=False)
    return _iso(datetime.fromtimestamp(float(created or 0), UTC), millis=False)


def stream_failure_message(
    records: list[dict[str, Any]],
    *,
    shard_id: str,
    stream_arn: str,
    function_name: str,
    invoke_count: int,
    condition: str = RETRIES_EXHAUSTED,
    function_error: str | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The JSON document Lambda sends to a DynamoDB stream mapping's SQS or SNS
    on-failure destination for a failed batch (``records``, oldest first): metadata
    only, the records themselves stay in the stream."""
    partition, region, account = stream_arn.split(":")[1], *stream_arn.split(":")[3:5]
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = function_error  # "Unhandled" when the function raised
    return {
        "requestContext": {
            "requestId": request_id or str(uuid.uuid4()),
            "functionArn": f"arn:{partition}:lambda:{region}:{account}:function:{function_name}",
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": MESSAGE_VERSION,
        "timestamp": _iso(now or datetime.now(UTC), millis=True),
        BATCH_INFO: {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _arrival(records[0]),
            "approximateArrivalOfLastRecord": _arrival(records[-1]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as the event source mapping hands it to the function."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


# Runs the notifier on Lambda-shaped records; returns the sequence numbers that failed.
Deliver = Callable[[list[dict[str, Any]]], set[str]]


def read_range(streams: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of [startSequenceNumber, endSequenceNumber] still in the stream.
    Raises ClientError (a code of STREAM_GONE) when the range cannot be read at all."""
    start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    iterator = streams.get_shard_iterator(
        StreamArn=info["streamArn"],
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    found: list[dict[str, Any]] = []
    empty = 0
    while iterator and empty < MAX_EMPTY_PAGES:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        iterator = page.get("NextShardIterator")
        empty = 0 if page["Records"] else empty + 1
        for record in page["Records"]:
            sequence = int(record["dynamodb"]["SequenceNumber"])
            if sequence > end:
                return found
            if sequence >= start:
                found.append(lambda_record(record, info["streamArn"]))
    return found


@dataclass
class ReplayReport:
    recovered: list[str] = field(default_factory=list)  # sequence numbers projected again
    lost: dict[str, str] = field(default_factory=dict)  # sequence number -> why not
    deleted: int = 0  # messages whose records were all recovered
    kept: int = 0  # messages left in the queue (something in them was not recovered)

    def lines(self) -> list[str]:
        lines = [
            f"recovered {len(self.recovered)} records; deleted {self.deleted} messages, "
            f"kept {self.kept}"
        ]
        lines += [f"not recovered: {sequence}: {why}" for sequence, why in self.lost.items()]
        return lines


def replay_message(body: str, streams: Any, deliver: Deliver, report: ReplayReport) -> bool:
    """Replay one DLQ message; True when every record it references was recovered."""
    try:
        info = json.loads(body)[BATCH_INFO]
        start, end = info["startSequenceNumber"], info["endSequenceNumber"]
    except (ValueError, KeyError, TypeError):
        report.lost[f"message {body[:60]!r}"] = "not a DynamoDB stream on-failure message"
        return False
    span = start if start == end else f"{start}..{end}"
    try:
        records = read_range(streams, info)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code not in STREAM_GONE:
            raise
        report.lost[span] = (
            f"no longer in the stream ({code}; records are kept {STREAM_RETENTION_HOURS} hours)"
        )
        return False
    found = [r["dynamodb"]["SequenceNumber"] for r in records]
    complete = bool(found) and found[0] == start and found[-1] == end
    if len(found) < int(info.get("batchSize", len(found))) or not complete:
        missing = span if not found else f"{span} (found {len(found)} of {info.get('batchSize')})"
        report.lost[missing] = (
            f"records missing from the stream (kept {STREAM_RETENTION_HOURS} hours)"
        )
    failed = deliver(records) if records else set()
    for sequence in found:
        if sequence in failed:
            report.lost[sequence] = "the notifier failed on it again"
        else:
            report.recovered.append(sequence)
    return complete and not failed and len(found) >= int(info.get("batchSize", 0))


def replay(
    sqs: Any,
    streams: Any,
    queue_url: str,
    deliver: Deliver,
    progress: Callable[[str], None] = lambda line: None,
    max_messages: int = 1000,
) -> ReplayReport:
    """Replay up to ``max_messages`` messages of the DLQ at ``queue_url``."""
    report = ReplayReport()
    kept: list[str] = []  # receipt handles, made visible again once the run is over
    seen = 0
    while seen < max_messages:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(RECEIVE_BATCH, max_messages - seen),
            # Hidden while this run works on them: each is read once per run.
            VisibilityTimeout=300,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            seen += 1
            if replay_message(message["Body"], streams, deliver, report):
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                report.deleted += 1
            else:
                report.kept += 1
                kept.append(message["ReceiptHandle"])
        progress(f"{seen} messages read, {len(report.recovered)} records recovered")
    for handle in kept:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return report


def failed_sequences(result: Any, records: Iterable[dict[str, Any]]) -> set[str]:
    """The sequence numbers a notifier result reports failed (all of them if it raised)."""
    if not isinstance(result, dict):
        return {r["dynamodb"]["SequenceNumber"] for r in records}
    return {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}


def in_process_notifier() -> Deliver:
    """The notifier's own handler, in this process (the local stand-in's AWS)."""
    from tracking_notifier import handler as notifier
    from tracking_ops.lambda_context import LambdaContext
    from tracking_stacks import definitions as defs

    def deliver(records: list[dict[str, Any]]) -> set[str]:
        context = LambdaContext.of(defs.NOTIFIER_FUNCTION)
        try:
            result = notifier.handler({"Records": records}, context)
        except Exception:  # noqa: BLE001 - a raise fails the whole batch, as in Lambda
            result = None
        return failed_sequences(result, records)

    return deliver


def deployed_notifier(lambda_client: Any, function_name: str) -> Deliver:
    """The deployed notifier, invoked synchronously with the records, as its mapping does."""

    def deliver(records: list[dict[str, Any]]) -> set[str]:
        reply = lambda_client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps({"Records": records}, default=str).encode(),
        )
        payload = json.loads(reply["Payload"].read() or b"null")
        return failed_sequences(None if reply.get("FunctionError") else payload, records)

    return deliver
