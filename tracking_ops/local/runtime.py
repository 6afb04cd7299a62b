"""`invoke local`: the tracking API on this machine, moto standing in for AWS.

- moto's server in a thread on 127.0.0.1 (a free port), provisioned from the stacks'
  own definitions (table, DLQ, SSM parameters for the chosen env, bus);
- a pool of worker processes, each one "Lambda container" that imports the real
  ``app.handler`` once and handles one request at a time; one that runs past the
  function's timeout is killed and replaced, as Lambda does (workers.py);
- an HTTP server that applies API Gateway's checks (gateway.py), turns each request
  into a REST proxy event and writes the response back (http_front.py);
- a stream feeder (stream_feeder.py), a process of its own, that feeds the notifier
  from moto's DynamoDB stream, retries failed records and sends what still fails to
  the DLQ, as the event source mapping does; a local queue receives the events the
  notifier publishes, so they can be seen;
- a watcher of functions/ that, on an edit, starts workers and a feeder on a snapshot
  of the new code and swaps them in once they import (hot reload).

serve.py runs it in the foreground. Every child process is owned by this one: see child_processes.py for how SIGINT/SIGTERM
to the process group stop everything within seconds. IAM is not enforced locally.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tracking_ops.local import (
    child_processes,
    console,
    function_logs,
    http_front,
    parameters_extension,
    ports,
    standin,
    stream_feeder,
    workers,
)
from tracking_stacks import definitions as defs

OBSERVER_QUEUE = standin.OBSERVER_QUEUE  # where the tests read the bus's events
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
FEEDER_HANDOVER_SECONDS = 5.0  # an old feeder finishing its batch before handing over


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
        verbose: bool = False,
        host: str = standin.LOOPBACK,
        log_dir: Path | None = None,
    ):
        self.env = env
        self.port = port
        self.host = host
        self.log_dir = log_dir or defs.LOCAL_LOG_DIR  # each function's output (invoke logs)
        self.workers = workers
        self.log = log or (lambda line: print(line, flush=True))
        self.functions_dir = Path(functions_dir or FUNCTIONS_DIR).resolve()
        self.function_timeout = function_timeout or defs.API_FUNCTION.timeout_s
        self.on_fatal = on_fatal
        self.verbose = verbose
        self._stack = ExitStack()
        self._stopping = threading.Event()
        self._cancel_requested = False  # a plain flag: set from a signal handler, no lock
        self._reloading = threading.Lock()
        self._generations = itertools.count(1)
        self._codes: list[child_processes.CodeVersion] = []
        self._feeders: set[child_processes.StandbyChild] = set()  # every feeder process alive
        self._feeder: child_processes.StandbyChild | None = None  # the one feeding
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

    def bind(self) -> LocalRuntime:
        """Bind the HTTP port first (ports.PortUnavailable), before anything starts."""
        if self.httpd is None:
            self.httpd = ports.bind_http(self.port, self.host, http_front.LoopbackServer)
            self._stack.callback(self.httpd.server_close)
        return self

    def _start(self) -> LocalRuntime:
        self.bind()
        endpoint = self._stack.enter_context(standin.moto_server())
        self._check_cancelled()
        self.instance = standin.StandIn(endpoint, self.env)
        self.instance.apply_to(os.environ)
        standin.provision(self.instance)
        standin.observe_events(self.instance)
        self._check_cancelled()
        self._environment = {
            **self.instance.aws_environment(),
            **self.instance.function_environment(),
            **console.child_environment(self.verbose),
        }
        # The API function reads SSM through the Parameters and Secrets extension.
        self._environment.update(
            self._stack.enter_context(
                parameters_extension.serve(collections.ChainMap(self._environment, os.environ))
            )
        )
        self._check_cancelled()
        self._stack.callback(self._remove_code)
        self._notifier_log = function_logs.start_log(self.log_dir, defs.NOTIFIER_FUNCTION.what)
        self.pool = workers.WorkerPool(
            workers.WorkerSpec(
                handler=API_HANDLER,
                warm=API_WARM,
                environment=self._environment,
                function_name=defs.API_FUNCTION.what,
                timeout_s=self.function_timeout,
                log_file=str(function_logs.start_log(self.log_dir, defs.API_FUNCTION.what)),
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
        generation.wait(self.workers, self._cancelled)
        feeder.wait_ready(self._cancelled)
        self.pool.switch(generation)
        feeder.go(None)
        self._feeder = feeder
        document: list[bytes] = []  # known once the server has its port
        self.httpd.RequestHandlerClass = http_front.make_request_handler(
            self.pool, lambda: document[0], self.log
        )
        self.httpd.server_activate()
        document.append(json.dumps(self._openapi()).encode())
        thread = threading.Thread(
            target=self.httpd.serve_forever, args=(HTTP_POLL_SECONDS,), name="http", daemon=True
        )
        thread.start()
        self._stack.callback(self.httpd.shutdown)
        return self

    def cancel(self) -> None:
        """Call off a start under way (safe from a signal handler: it only sets a flag);
        start() notices it at its next step and unwinds (StartupCancelled). No lock."""
        self._cancel_requested = True

    def _cancelled(self) -> bool:
        return self._cancel_requested or self._stopping.is_set()

    def _check_cancelled(self) -> None:
        if self._cancelled():
            raise child_processes.StartupCancelled("stopping")

    def _snapshot(self) -> child_processes.CodeVersion:
        code = child_processes.snapshot_code(
            self.functions_dir, CODE_SUBDIRS, next(self._generations)
        )
        self._codes.append(code)
        return code

    def _remove_code(self) -> None:
        for code in self._codes:
            child_processes.remove_code(code)

    def _start_feeder(self, code: child_processes.CodeVersion) -> child_processes.StandbyChild:
        feeder = child_processes.StandbyChild(
            stream_feeder.run_feeder_process,
            (code, self.instance, self._environment, str(self._notifier_log)),
            "stream-feeder",
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
            except child_processes.StartupFailed as failure:
                if not self._stopping.is_set():
                    self.log(
                        f"reload failed ({shown} changed); still serving the last good code:\n"
                        f"{child_processes.failure_summary(str(failure))}"
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
        except child_processes.StartupFailed:
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
            thread.join(child_processes.STOP_GRACE_SECONDS + 3)

    def _openapi(self) -> dict[str, Any]:
        from tracking_api.schema_export import openapi_document

        return openapi_document(server_url=self.url)

    def stop(self) -> None:
        self._stopping.set()
        self._stack.close()
