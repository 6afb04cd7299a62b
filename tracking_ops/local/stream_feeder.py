"""The stream feed of `invoke local`: a process of its own that polls moto's DynamoDB
stream and calls the notifier as Lambda's event source mapping would (batches,
partial batch failures retried, then the DLQ), and hands its position over to the
feeder of the next code version on a hot reload (see runtime.py)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import traceback
import warnings
from typing import Any

from tracking_ops.local import child_processes, function_logs, proxy, standin
from tracking_ops.operate import dlq
from tracking_stacks import definitions as defs

STREAM_POLL_SECONDS = 0.25
STREAM_MAX_RETRIES = 2


def _quiet_empty_metrics() -> None:
    """Powertools warns on every invocation that publishes no metric; noise locally."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")


class StreamFeeder:
    """Polls the table's stream and calls the notifier as Lambda's event source mapping
    would: batches of records, partial batch failures retried, then the DLQ."""

    def __init__(self, instance: standin.StandIn):
        self.instance = instance
        self.stopping = threading.Event()
        self.failures: dict[str, int] = {}  # failed attempts at the current checkpoint
        self._last_sequence: str | None = None
        self._pending: list[dict[str, Any]] = []
        self._ready = False

    def setup(self) -> None:
        """Import the notifier and create its clients now: done lazily on the first
        batch, it would take the GIL from the moto server in the same process."""
        from tracking_notifier import handler as notifier

        _quiet_empty_metrics()
        self._handler = notifier.handler
        notifier.dynamodb_client()
        notifier.events_client()
        with contextlib.suppress(Exception):  # a warm-up: records fetch the flags anyway
            notifier.feature_flags()
        self._streams = self.instance.client("dynamodbstreams")
        self._sqs = self.instance.client("sqs")
        table = defs.table_name(self.instance.env)
        self._stream_arn = self.instance.client("dynamodb").describe_table(TableName=table)[
            "Table"
        ]["LatestStreamArn"]
        self._dlq_url = self._sqs.get_queue_url(QueueName=defs.dlq_name(self.instance.env))[
            "QueueUrl"
        ]
        self._shard = self._streams.describe_stream(StreamArn=self._stream_arn)[
            "StreamDescription"
        ]["Shards"][0]
        self._ready = True

    def poll_once(self) -> int:
        """Read what the stream has since the last poll and deliver it; returns how many
        new records there were."""
        if not self._ready:
            self.setup()
        # A fresh iterator after the last record seen on every poll: moto's
        # NextShardIterator stops returning records written after it was issued.
        position = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last_sequence}
            if self._last_sequence
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = self._streams.get_shard_iterator(
            StreamArn=self._stream_arn, ShardId=self._shard["ShardId"], **position
        )["ShardIterator"]
        records = self._streams.get_records(ShardIterator=iterator, Limit=100)["Records"]
        if records:
            self._last_sequence = records[-1]["dynamodb"]["SequenceNumber"]
        self._pending += [self._lambda_record(r, self._stream_arn) for r in records]
        if self._pending:
            self._pending = self._deliver(
                self._handler,
                self._pending,
                self._sqs,
                self._dlq_url,
                self._stream_arn,
                self._shard,
            )
        return len(records)

    def handover(self) -> dict[str, Any]:
        """Where this feeder is, for the one that replaces it on a code reload."""
        return {"last": self._last_sequence, "pending": self._pending, "failures": self.failures}

    def resume(self, state: dict[str, Any] | None) -> None:
        if state:
            self._last_sequence = state["last"]
            self._pending = state["pending"]
            self.failures = state["failures"]

    def drain(self, max_polls: int = 100) -> None:
        """Deliver until the stream has nothing new and no record awaits a retry."""
        for _ in range(max_polls):
            if not self.poll_once() and not self._pending:
                return

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                new = self.poll_once()
            except Exception:  # noqa: BLE001 - moto stopping; the loop ends with it
                new = 0
            if not new:
                self.stopping.wait(STREAM_POLL_SECONDS)

    @staticmethod
    def _lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if hasattr(created, "timestamp"):
            dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
        return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}

    def _deliver(self, handler, records, sqs, dlq_url, stream_arn, shard) -> list[dict]:
        """One invocation; returns what is delivered again. As Lambda does with
        ReportBatchItemFailures: it checkpoints at the lowest failed sequence number
        and redelivers everything from there on, records that succeeded included."""
        try:
            result = handler(
                {"Records": records},
                proxy.LambdaContext.of(defs.NOTIFIER_FUNCTION),
            )
            failed_ids = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - a raised error fails the whole batch, as in Lambda
            failed_ids = {record["dynamodb"]["SequenceNumber"] for record in records}
        sequences = [record["dynamodb"]["SequenceNumber"] for record in records]
        checkpoint = next((i for i, seq in enumerate(sequences) if seq in failed_ids), None)
        if checkpoint is None:
            self.failures.clear()
            return []
        retry = records[checkpoint:]
        first = sequences[checkpoint]
        self.failures = {first: self.failures.get(first, 0) + 1}
        if self.failures[first] <= STREAM_MAX_RETRIES:
            return retry
        attempts = self.failures.pop(first)
        self._dead_letter(sqs, dlq_url, stream_arn, shard, retry, attempts)
        return []

    def _dead_letter(self, sqs, dlq_url, stream_arn, shard, records, attempts: int) -> None:
        """The on-failure destination's message, exactly as AWS sends it: where the
        failed batch is (shard, sequence range from the checkpoint), never the records."""
        message = dlq.stream_failure_message(
            records,
            shard_id=shard["ShardId"],
            stream_arn=stream_arn,
            function_name=defs.NOTIFIER_FUNCTION.function_name(self.instance.env),
            invoke_count=attempts,
        )
        sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(message))


def run_feeder_process(
    conn,
    code: child_processes.CodeVersion,
    instance: standin.StandIn,
    environment,
    log_file: str | None = None,
) -> None:
    """The stream feeder's process: set up on ``code``, then poll from the position the
    previous feeder handed over until the parent says stop; hand the position back.
    What the notifier writes also goes to ``log_file`` (function_logs.py)."""
    child_processes.prepare_child(code, environment)
    function_logs.tee_output(log_file, "feeder")
    feeder = StreamFeeder(instance)
    try:
        feeder.setup()
    except BaseException:  # noqa: BLE001 - whatever stops the import is the report
        conn.send(("failed", code.user_paths(traceback.format_exc())))
        child_processes.exit_now(1)
    conn.send(("ready", os.getpid()))
    try:
        message = conn.recv()
    except (EOFError, OSError):
        message = None
    if message is not None:
        feeder.resume(message[1])
        feeder.stopping = child_processes.PipeStop(conn)
        feeder.run()
        with contextlib.suppress(OSError, ValueError):
            conn.send(("stopped", feeder.handover()))
    child_processes.exit_now()
