"""`invoke local`: the tracking API on this machine, moto standing in for AWS.

- moto's server in a thread on 127.0.0.1 (a free port), provisioned from the
  stacks' own definitions (table, DLQ, SSM parameters for the chosen env, bus);
- a pool of worker processes, each one "Lambda container" that imports the
  real ``app.handler`` once and handles one request at a time (the Powertools
  resolver keeps per-request state, exactly as in Lambda); one that runs past the
  function's timeout is killed and replaced, as Lambda does (workers.py);
- an HTTP server on 127.0.0.1 that applies API Gateway's checks (gateway.py),
  turns each request into a REST proxy event and writes the response back;
- a stream feeder, in a process of its own, that feeds the notifier from moto's
  DynamoDB stream, retries failed records and sends what still fails to the
  DLQ, as the event source mapping does; a local queue receives the events the
  notifier publishes, so they can be seen;
- a watcher of functions/ that, on an edit, starts workers and a feeder on a
  snapshot of the new code and swaps them in once they import (hot reload).

Every child process is owned by this one: see workers.py for how SIGINT/SIGTERM
to the process group stop everything within seconds.

IAM authorization is not enforced locally.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import json
import os
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tracking_common.runtime_config import EVENT_SOURCE
from tracking_ops.local import docs, gateway, parameters_extension, proxy, standin, workers
from tracking_ops.local.watch import CodeWatcher
from tracking_ops.local.workers import StartupFailed, failure_summary
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
API_HANDLER = "tracking_api.api:handler"  # what app.handler re-exports
API_WARM = "tracking_ops.local.warmup:api"
FUNCTIONS_DIR = defs.SHARED_FUNCTION_CODE.parent
# The folders that go on a child's sys.path, as the packaging maps them (pyproject.toml).
CODE_SUBDIRS = tuple(
    str(Path(d).relative_to(FUNCTIONS_DIR))
    for d in (defs.SHARED_FUNCTION_CODE, *(f.source for f in defs.FUNCTIONS))
)
HTTP_POLL_SECONDS = 0.1  # how soon the server notices shutdown()
SIGNAL_POLL_SECONDS = 0.1  # how soon the main thread runs a signal's handler (see serve_forever)
FEEDER_HANDOVER_SECONDS = 5.0  # an old feeder finishing its batch before handing over


# ---- worker processes ("Lambda containers", see workers.py) ------------------------


def _quiet_empty_metrics() -> None:
    """Powertools warns on every invocation that publishes no metric; noise locally."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")


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


def _run_feeder(conn, code: workers.CodeVersion, instance: standin.StandIn, environment) -> None:
    """The stream feeder's process: set up on ``code``, then poll from the position the
    previous feeder handed over until the parent says stop; hand the position back."""
    workers.prepare_child(code, environment)
    feeder = StreamFeeder(instance)
    try:
        feeder.setup()
    except BaseException:  # noqa: BLE001 - whatever stops the import is the report
        conn.send(("failed", traceback.format_exc()))
        workers.exit_now(1)
    conn.send(("ready", os.getpid()))
    try:
        message = conn.recv()
    except (EOFError, OSError):
        message = None
    if message is not None:
        feeder.resume(message[1])
        feeder.stopping = workers.PipeStop(conn)
        feeder.run()
        with contextlib.suppress(OSError, ValueError):
            conn.send(("stopped", feeder.handover()))
    workers.exit_now()


# ---- HTTP ------------------------------------------------------------------------


def _call_function(pool: workers.WorkerPool, event: dict[str, Any], log) -> tuple:
    """The function's response; when the invocation fails (timeout, unhandled error, a
    dead runtime, a malformed response) what API Gateway then answers: 502, through the
    api stack's DEFAULT_5XX gateway response."""
    try:
        return proxy.decode_response(pool.invoke(event))
    except workers.FunctionFailed as failure:
        log(f"function error:\n{workers.failure_summary(str(failure))}")
    except (workers.FunctionTimedOut, workers.PoolClosed) as failure:
        log(f"function error: {failure or 'the runtime is stopping'}")
    except (KeyError, TypeError, ValueError, AttributeError) as failure:
        log(f"malformed Lambda proxy response: {failure!r}")
    failed = gateway.LAMBDA_FAILURE
    return failed.status, {**JSON_HEADERS, **gateway.LAMBDA_FAILURE_HEADERS}, failed.body()


def _make_handler(pool: workers.WorkerPool, openapi: Callable[[], bytes], log) -> type:
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
            if url.path.startswith(docs.DOCS_PATH) and self.command == "GET":
                return self._reply(url, started, *self._docs(url.path))
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
            return _call_function(pool, event, log)

        def _docs(self, path: str) -> tuple[int, dict[str, str], bytes]:
            if path in (docs.DOCS_PATH, docs.ASSET_PREFIX):
                page = docs.page("Logistics tracking API", "/openapi.json")
                return 200, {"Content-Type": "text/html; charset=utf-8"}, page
            found = docs.asset(path)
            if found is None:
                rejection = gateway.GatewayRejection(404, "not_found", f"No docs asset {path}.")
                return rejection.status, JSON_HEADERS, rejection.body()
            return 200, {"Content-Type": found[0], "Cache-Control": "max-age=3600"}, found[1]

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
        self,
        env: str = "dev",
        port: int = 8787,
        workers: int = DEFAULT_WORKERS,
        log=None,
        functions_dir: Path | str | None = None,
        function_timeout: float | None = None,
        on_fatal: Callable[[str], None] | None = None,
    ):
        self.env = env
        self.port = port
        self.workers = workers
        self.log = log or (lambda line: print(line, flush=True))
        self.functions_dir = Path(functions_dir or FUNCTIONS_DIR).resolve()
        self.function_timeout = function_timeout or defs.API_FUNCTION.timeout_s
        self.on_fatal = on_fatal
        self._stack = ExitStack()
        self._stopping = threading.Event()
        self._reloading = threading.Lock()
        self._generations = itertools.count(1)
        self._codes: list[workers.CodeVersion] = []
        self._feeders: set[workers.StandbyChild] = set()  # every feeder process alive
        self._feeder: workers.StandbyChild | None = None  # the one feeding
        self.instance: standin.StandIn | None = None
        self.httpd: ThreadingHTTPServer | None = None
        self.pool: workers.WorkerPool | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalRuntime:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> LocalRuntime:
        endpoint = self._stack.enter_context(standin.moto_server())
        self.instance = standin.StandIn(endpoint, self.env)
        self.instance.apply_to(os.environ)
        standin.provision(self.instance)
        self._observe_events()
        self._environment = {
            **self.instance.aws_environment(),
            **self.instance.function_environment(),
        }
        # The API function reads SSM through the Parameters and Secrets extension.
        self._environment.update(
            self._stack.enter_context(
                parameters_extension.serve(collections.ChainMap(self._environment, os.environ))
            )
        )
        self._stack.callback(self._remove_code)
        self.pool = workers.WorkerPool(
            workers.WorkerSpec(
                handler=API_HANDLER,
                warm=API_WARM,
                environment=self._environment,
                function_name=defs.API_FUNCTION.what,
                timeout_s=self.function_timeout,
            ),
            self.workers,
            self.log,
            on_fatal=self.on_fatal,
        )
        self._stack.callback(self._stop_children)
        # Workers warm and the feeder (in a process of its own: its boto3 work would
        # otherwise take the GIL from the moto server thread here) sets up before
        # the server listens, so the first requests do not pay for it.
        code = self._snapshot()
        generation = self.pool.start_generation(code)
        feeder = self._start_feeder(code)
        generation.wait(self.workers)
        feeder.wait_ready(self._stopping.is_set)
        self.pool.switch(generation)
        feeder.go(None)
        self._feeder = feeder
        document: list[bytes] = []  # known once the server has its port
        self.httpd = ThreadingHTTPServer(
            (standin.LOOPBACK, self.port), _make_handler(self.pool, lambda: document[0], self.log)
        )
        document.append(json.dumps(self._openapi()).encode())
        self.httpd.daemon_threads = True
        thread = threading.Thread(
            target=self.httpd.serve_forever, args=(HTTP_POLL_SECONDS,), name="http", daemon=True
        )
        thread.start()
        self._stack.callback(self.httpd.server_close)
        self._stack.callback(self.httpd.shutdown)
        return self

    def _snapshot(self) -> workers.CodeVersion:
        code = workers.snapshot_code(self.functions_dir, CODE_SUBDIRS, next(self._generations))
        self._codes.append(code)
        return code

    def _remove_code(self) -> None:
        for code in self._codes:
            workers.remove_code(code)

    def _start_feeder(self, code: workers.CodeVersion) -> workers.StandbyChild:
        feeder = workers.StandbyChild(
            _run_feeder, (code, self.instance, self._environment), "stream-feeder"
        )
        self._feeders.add(feeder)
        if self._stopping.is_set():  # stop() began while it was being spawned
            feeder.kill()
        return feeder

    def reload(self, files: list[str]) -> None:
        """Replace the workers and the feeder with ones running the code now on disk;
        if it does not start, say why and keep serving the last good code."""
        with self._reloading:
            if self._stopping.is_set():
                return
            started = time.monotonic()
            shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            try:
                self._swap_code()
            except workers.StartupFailed as failure:
                if not self._stopping.is_set():
                    self.log(
                        f"reload failed ({shown} changed); still serving the last good code:\n"
                        f"{workers.failure_summary(str(failure))}"
                    )
                return
            except Exception as error:  # noqa: BLE001 - the watcher must survive it
                if not self._stopping.is_set():  # else stop() closed the processes under us
                    self.log(f"reload failed: {error!r}; still serving the last good code")
                return
            self.log(
                f"reloaded in {time.monotonic() - started:.1f}s ({shown} changed): "
                "workers and stream feeder run the new code"
            )

    def _swap_code(self) -> None:
        code = self._snapshot()
        # One worker first: it and the feeder start alone on the machine's cores, so the
        # new code serves sooner; the pool fills up behind them.
        generation = self.pool.start_generation(code, count=1)
        feeder = self._start_feeder(code)
        try:
            generation.wait(1)  # one worker running it proves the code imports
            feeder.wait_ready(self._stopping.is_set)
        except workers.StartupFailed:
            self.pool.abandon(generation)
            feeder.kill()
            self._feeders.discard(feeder)
            raise
        self.pool.switch(generation)
        self.pool.fill(generation, started=1)
        previous = self._feeder
        # The old feeder hands over its stream position so no record is delivered twice.
        state = previous.stop(FEEDER_HANDOVER_SECONDS) if previous else None
        self._feeders.discard(previous)
        feeder.go(state)
        self._feeder = feeder

    def _stop_children(self) -> None:
        """Workers and feeders stop in parallel; each has a deadline, then is killed."""
        threads = [threading.Thread(target=self.pool.close, daemon=True)]
        threads += [
            threading.Thread(target=feeder.stop, daemon=True) for feeder in list(self._feeders)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(workers.STOP_GRACE_SECONDS + 3)

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
        self._stopping.set()
        self._stack.close()


class _Interrupted(BaseException):
    """A stop signal while the runtime is still starting: unwinds start()."""


def serve_forever(
    env: str,
    port: int,
    workers: int = DEFAULT_WORKERS,
    reload: bool = True,
    functions_dir: Path | str | None = None,
    function_timeout: float | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (to this process or its group); returns the exit code."""
    stop = threading.Event()
    status = {"starting": True, "code": 0}

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()
        if status["starting"]:
            status["starting"] = False
            raise _Interrupted()

    def on_fatal(message: str) -> None:
        print(f"error: {message}; stopping", flush=True)
        status["code"] = 1
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    started = time.monotonic()
    runtime = LocalRuntime(
        env,
        port,
        workers,
        functions_dir=functions_dir,
        function_timeout=function_timeout,
        on_fatal=on_fatal,
    )
    watcher = None
    try:
        runtime.start()
        status["starting"] = False
        host, bound = runtime.httpd.server_address[:2]
        print(BANNER.format(host=host, port=bound), flush=True)
        print(IAM_NOTE, flush=True)
        if reload:
            watcher = CodeWatcher(runtime.functions_dir, runtime.reload).start()
        print(
            f"env {env}: AWS stand-in (moto) at {runtime.instance.endpoint}, {workers} workers,"
            f" ready in {time.monotonic() - started:.1f}s; docs at /docs, OpenAPI at"
            f" /openapi.json; {'reloads on edits under ' + str(runtime.functions_dir) if reload else 'no reload'};"
            " Ctrl-C stops everything",
            flush=True,
        )
        print(f"pids: main {os.getpid()}, workers {runtime.pool.pids()}", flush=True)
        # Never an unbounded wait here: a signal to the process may be taken by another
        # thread, and Python runs its handler only when this thread runs bytecode again.
        while not stop.wait(SIGNAL_POLL_SECONDS):
            pass
    except _Interrupted:
        pass
    except StartupFailed as failure:
        print(
            f"error: the functions do not start:\n{failure_summary(str(failure))}",
            flush=True,
        )
        status["code"] = 1
    finally:
        status["starting"] = False
        print("stopping...", flush=True)
        stopping = time.monotonic()
        runtime.stop()
        if watcher:
            watcher.stop()
        print(f"stopped in {time.monotonic() - stopping:.1f}s", flush=True)
    return status["code"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the tracking API locally on moto.")
    parser.add_argument("--env", default="dev", type=validate_env)  # fixed or per-branch
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--no-reload", action="store_true", help="do not watch the code")
    parser.add_argument("--functions", default=None, help="the functions tree to serve and watch")
    parser.add_argument(
        "--function-timeout",
        type=float,
        default=None,
        help=f"the API function's timeout in seconds (default {defs.API_FUNCTION.timeout_s})",
    )
    args = parser.parse_args(argv)
    return serve_forever(
        args.env,
        args.port,
        args.workers,
        reload=not args.no_reload,
        functions_dir=args.functions,
        function_timeout=args.function_timeout,
    )


if __name__ == "__main__":
    workers.exit_now(main())
