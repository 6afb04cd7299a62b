"""`invoke local`: the tracking API on this machine, moto standing in for AWS.

- moto's server in a thread on 127.0.0.1 (a free port), provisioned from the
  stacks' own definitions (table, DLQ, SSM parameters for the chosen env, bus);
- a pool of worker processes, each one "Lambda container" that imports the
  real ``app.handler`` once and handles one request at a time (the Powertools
  resolver keeps per-request state, exactly as in Lambda);
- an HTTP server on 127.0.0.1 that applies API Gateway's checks (gateway.py),
  turns each request into a REST proxy event and writes the response back;
- a stream feeder, in a process of its own, that feeds the notifier from moto's
  DynamoDB stream, retries failed records and sends what still fails to the
  DLQ, as the event source mapping does; a local queue receives the events the
  notifier publishes, so they can be seen.

IAM authorization is not enforced locally.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tracking_common.runtime_config import EVENT_SOURCE
from tracking_ops.local import gateway, parameters_extension, proxy, standin
from tracking_ops.operate import dlq
from tracking_stacks import definitions as defs
from tracking_stacks.naming import validate_env

BANNER = "Tracking API listening on http://{host}:{port}"
IAM_NOTE = (
    "note: IAM authorization (AWS_IAM) is not enforced locally; "
    "every request is accepted as signed."
)
JSON_HEADERS = {"Content-Type": "application/json"}
OBSERVER_QUEUE = "events-observer"  # local only: a queue subscribed to the bus
OBSERVER_RULE = "observe-status-changes"
STREAM_POLL_SECONDS = 0.25
STREAM_MAX_RETRIES = 2
DEFAULT_WORKERS = 4


# ---- worker processes ("Lambda containers") -----------------------------------

_handler = None


def _quiet_empty_metrics() -> None:
    """Powertools warns on every invocation that publishes no metric; noise locally."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def _init_worker(environment: dict[str, str]) -> None:
    global _handler
    _quiet_empty_metrics()
    os.environ.update(environment)
    for name in standin.PROFILE_VARIABLES:
        os.environ.pop(name, None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    from tracking_api.api import handler

    _handler = handler


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    return _handler(event, proxy.LambdaContext.of(defs.API_FUNCTION))


def _warm() -> bool:
    """What a container's first request would pay for: settings from SSM, the storage client."""
    from tracking_api import api

    settings = api.settings_loader().get()
    return api.repository(settings.table_name).client is not None


# ---- the stream feed -----------------------------------------------------------


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


def _run_feeder(instance: standin.StandIn, environment: dict[str, str], stop) -> None:
    """The stream feeder's process: the functions' environment, stopped by ``stop``."""
    os.environ.update(environment)
    for name in standin.PROFILE_VARIABLES:
        os.environ.pop(name, None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when it stops
    feeder = StreamFeeder(instance)
    feeder.stopping = stop
    feeder.setup()
    feeder.run()


def _stop_process(process, stop, seconds: float = 10) -> None:
    stop.set()
    process.join(seconds)
    if process.is_alive():
        process.terminate()
        process.join(seconds)


# ---- HTTP ------------------------------------------------------------------------


def _make_handler(pool: ProcessPoolExecutor, openapi: Callable[[], bytes], log) -> type:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "tracking-local"

        def _serve(self) -> None:
            started = time.perf_counter()
            url = urlsplit(self.path)
            declared = self.headers.get("Content-Length") or "0"
            if not declared.isdigit():
                rejection = gateway.GatewayRejection(
                    400, "validation_error", "Content-Length is not a number."
                )
                return self._reply(url, started, rejection.status, JSON_HEADERS, rejection.body())
            length = int(declared)
            if length > gateway.API_GATEWAY_MAX_BODY:  # refused unread, as API Gateway does
                rejection = gateway.GatewayRejection(413, "payload_too_large", "Request Too Long")
                self.close_connection = True
                return self._reply(url, started, rejection.status, JSON_HEADERS, rejection.body())
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                # The client went away mid-body: nothing reaches the function, nothing is stored.
                self.close_connection = True
                log(f"{self.command} {url.path} dropped: client sent {len(body)} of {length} bytes")
                return None
            if url.path == "/openapi.json" and self.command == "GET":
                return self._reply(url, started, 200, JSON_HEADERS, openapi())
            return self._reply(url, started, *self._through_gateway(url, body))

        def _reply(
            self, url, started: float, status: int, headers: dict[str, str], data: bytes
        ) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in {"content-length", "connection"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":  # HEAD: the headers of the answer, no body
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                log(f"{self.command} {url.path} {status}: client gone before the response")
                return
            log(
                f"{self.command} {url.path} {status} {(time.perf_counter() - started) * 1000:.1f}ms"
            )

        def _through_gateway(self, url, body: bytes) -> tuple[int, dict[str, str], bytes]:
            query = parse_qs(url.query, keep_blank_values=True)
            rejection = gateway.check_request(
                self.command, url.path, query, self.headers.get("Content-Type", ""), body
            )
            if rejection:
                return rejection.status, JSON_HEADERS, rejection.body()
            event = proxy.proxy_event(
                self.command,
                url.path,
                query=url.query,
                headers=dict(self.headers.items()),
                body=body if body or self.command != "GET" else None,
            )
            if rejection := gateway.check_invoke_payload(event):
                return rejection.status, JSON_HEADERS, rejection.body()
            return proxy.decode_response(pool.submit(_invoke, event).result())

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def __getattr__(self, name: str):
            # Any other method (HEAD, OPTIONS, TRACE, ...) gets the deployed gateway's
            # JSON answer for a method the API lacks, never http.server's HTML 501.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None):
            """http.server's own errors (a malformed request line, a header too long)
            in the contract's JSON shape instead of its HTML page."""
            rejection = gateway.GatewayRejection(
                code, "bad_request" if code < 500 else "internal_error", message or "Bad request"
            )
            body = rejection.body() if self.command != "HEAD" else b""
            self.close_connection = True
            self.request_version = self.protocol_version  # headers even when unparsed
            try:
                self.send_response(code, message)
                self.send_header("Content-Type", JSON_HEADERS["Content-Type"])
                self.send_header("Connection", "close")
                self.send_header("Content-Length", str(len(rejection.body())))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # one line per request is written by _serve

    return RequestHandler


class LocalRuntime:
    """Everything `invoke local` starts, and stops in reverse order."""

    def __init__(
        self, env: str = "dev", port: int = 8787, workers: int = DEFAULT_WORKERS, log=None
    ):
        self.env = env
        self.port = port
        self.workers = workers
        self.log = log or (lambda line: print(line, flush=True))
        self._stack = ExitStack()
        self.instance: standin.StandIn | None = None
        self.httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalRuntime:
        endpoint = self._stack.enter_context(standin.moto_server())
        self.instance = standin.StandIn(endpoint, self.env)
        self.instance.apply_to(os.environ)
        standin.provision(self.instance)
        self._observe_events()
        environment = {**self.instance.aws_environment(), **self.instance.function_environment()}
        # The API function reads SSM through the Parameters and Secrets extension.
        environment.update(
            self._stack.enter_context(
                parameters_extension.serve(collections.ChainMap(environment, os.environ))
            )
        )
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(environment,),
        )
        self._stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        for future in [pool.submit(_warm) for _ in range(self.workers)]:
            future.result()
        # The feeder gets a process of its own: its boto3 work would otherwise take
        # the GIL from the moto server thread in this one.
        spawn = multiprocessing.get_context("spawn")
        stop_feeding = spawn.Event()
        feeder = spawn.Process(
            target=_run_feeder,
            name="stream-feeder",
            daemon=True,
            args=(self.instance, environment, stop_feeding),
        )
        feeder.start()
        self._stack.callback(_stop_process, feeder, stop_feeding)
        document: list[bytes] = []  # known once the server has its port
        self.httpd = ThreadingHTTPServer(
            (standin.LOOPBACK, self.port), _make_handler(pool, lambda: document[0], self.log)
        )
        document.append(json.dumps(self._openapi()).encode())
        self.httpd.daemon_threads = True
        thread = threading.Thread(target=self.httpd.serve_forever, name="http", daemon=True)
        thread.start()
        self._stack.callback(self.httpd.server_close)
        self._stack.callback(self.httpd.shutdown)
        return self

    def _openapi(self) -> dict[str, Any]:
        from tracking_api.schema_export import openapi_document

        return openapi_document(server_url=self.url)

    def _observe_events(self) -> None:
        """A local queue that receives every event put on the bus, so they can be seen."""
        sqs = self.instance.client("sqs")
        events = self.instance.client("events")
        queue_url = sqs.create_queue(QueueName=defs.physical_name(OBSERVER_QUEUE, self.env))[
            "QueueUrl"
        ]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        bus = defs.event_bus_name(self.env)
        events.put_rule(
            Name=OBSERVER_RULE,
            EventBusName=bus,
            EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
        )
        events.put_targets(
            Rule=OBSERVER_RULE, EventBusName=bus, Targets=[{"Id": "observer", "Arn": queue_arn}]
        )

    def stop(self) -> None:
        self._stack.close()


def serve_forever(env: str, port: int, workers: int = DEFAULT_WORKERS) -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    started = time.monotonic()
    runtime = LocalRuntime(env, port, workers).start()
    try:
        host, bound = runtime.httpd.server_address[:2]
        print(BANNER.format(host=host, port=bound), flush=True)
        print(IAM_NOTE, flush=True)
        print(
            f"env {env}: AWS stand-in (moto) at {runtime.instance.endpoint}, {workers} workers,"
            f" ready in {time.monotonic() - started:.1f}s; OpenAPI at /openapi.json; "
            "Ctrl-C stops everything",
            flush=True,
        )
        stop.wait()
    finally:
        print("stopping...", flush=True)
        runtime.stop()
        print("stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the tracking API locally on moto.")
    parser.add_argument("--env", default="dev", type=validate_env)  # fixed or per-branch
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    args = parser.parse_args(argv)
    serve_forever(args.env, args.port, args.workers)


if __name__ == "__main__":
    sys.exit(main())
