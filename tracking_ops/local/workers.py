"""The worker pool of the local runtime: each worker a "Lambda container" (a spawned
child process, see child_processes.py for how children start, run and stop) that
imports the function once and handles one invocation at a time; a worker that runs
past the function's timeout or dies is replaced, and a new code generation is
started beside the old one and switched in once it imports (hot reload).
"""

from __future__ import annotations

import importlib
import itertools
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from tracking_ops.local import function_logs
from tracking_ops.local.child_processes import (
    STOP_GRACE_SECONDS,
    CodeVersion,
    StartupCancelled,
    StartupFailed,
    await_ready,
    exit_now,
    failure_summary,
    prepare_child,
    start_child,
    stop_children,
)


class PoolClosed(Exception):
    pass


class FunctionTimedOut(Exception):
    pass


class FunctionFailed(Exception):
    """The function raised, or its process died mid-invocation (Lambda: a function error)."""


# ---- a worker ("Lambda container") -----------------------------------------------


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker runs: ``handler``/``warm`` as "module:function"."""

    handler: str
    environment: dict[str, str]
    function_name: str
    timeout_s: float
    warm: str | None = None
    log_file: str | None = None  # the function's local log file (function_logs.py)


def _resolve(reference: str) -> Callable[..., Any]:
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def _worker_main(conn: Connection, spec: WorkerSpec, code: CodeVersion) -> None:
    prepare_child(code, spec.environment)
    function_logs.tee_output(spec.log_file, "worker")
    try:
        import warnings

        warnings.filterwarnings("ignore", message="No application metrics to publish")
        handler = _resolve(spec.handler)
        if spec.warm:
            _resolve(spec.warm)()
    except BaseException:  # noqa: BLE001 - whatever stops the import is the report
        conn.send(("failed", code.user_paths(traceback.format_exc())))
        exit_now(1)
    from tracking_ops.local.proxy import LambdaContext

    conn.send(("ready", os.getpid()))
    while True:
        try:
            event = conn.recv()
        except (EOFError, OSError):
            exit_now()  # the parent has gone
        if event is None:
            exit_now()
        context = LambdaContext(
            function_name=spec.function_name,
            timeout_ms=int(spec.timeout_s * 1000),
            _deadline=time.monotonic() + spec.timeout_s,
        )
        try:
            reply = ("ok", handler(event, context))
        except Exception:  # noqa: BLE001 - an unhandled error is the invocation's result
            reply = ("error", code.user_paths(traceback.format_exc()))
        try:
            conn.send(reply)
        except (OSError, ValueError):
            exit_now()


@dataclass(eq=False)
class Worker:
    process: Any
    conn: Connection
    generation: int
    gone: bool = False  # retired or dead: never handed out again
    stopping: bool = False  # one thread owns its stop (kill, join, close): set once

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass(eq=False)
class Generation:
    """Workers of one code version being started; ``wait_first`` tells if the code works."""

    code: CodeVersion
    size: int
    ready: list[Worker] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    state: str = "pending"  # pending -> current | abandoned
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait(self, count: int, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Until ``count`` workers are ready; StartupFailed at the first failure,
        StartupCancelled once ``cancelled()``."""
        with self.changed:
            # In slices: the main thread waits here at start, and must keep running
            # bytecode for a signal's handler to run (see local.serve_forever).
            while not self.changed.wait_for(
                lambda: len(self.ready) >= count or self.errors, timeout=0.1
            ):
                if cancelled():
                    raise StartupCancelled("stopping")
            if cancelled():
                raise StartupCancelled("stopping")
            if self.errors and len(self.ready) < count:
                raise StartupFailed(self.errors[0])


class WorkerPool:
    """``size`` workers, one invocation at a time each; a worker that overruns the
    function's timeout, crashes or is killed from outside is killed (if need be) and
    replaced by a new one running the same code."""

    def __init__(self, spec: WorkerSpec, size: int, log: Callable[[str], None], on_fatal=None):
        self.spec = spec
        self.size = size
        self.log = log
        self.on_fatal = on_fatal or (lambda message: None)
        self._lock = threading.RLock()
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._current: set[Worker] = set()
        self._others: set[Worker] = set()  # starting, retired or of a pending generation
        self._generation: Generation | None = None
        self._closed = threading.Event()
        self._numbers = itertools.count(1)
        self._supervisor = threading.Thread(target=self._supervise, name="pool", daemon=True)

    # -- generations

    def start_generation(self, code: CodeVersion, count: int | None = None) -> Generation:
        """Start ``count`` (default ``size``) workers on ``code`` in parallel; ``switch``
        makes them serve, ``fill`` starts the rest."""
        generation = Generation(code, self.size)
        for _ in range(self.size if count is None else count):
            self._launch_async(generation)
        return generation

    def fill(self, generation: Generation, started: int) -> None:
        """Start the workers ``generation`` lacks, ``started`` of them being under way."""
        for _ in range(self.size - started):
            self._launch_async(generation)

    def switch(self, generation: Generation) -> None:
        """Serve with ``generation`` from now on; the previous workers stop once idle."""
        with self._lock:
            previous = self._generation
            if previous is not None:
                previous.state = "abandoned"
            generation.state = "current"
            self._generation = generation
            retired = list(self._current)
            self._current = set()
            for worker in generation.ready:
                self._others.discard(worker)
                self._current.add(worker)
                self._idle.put(worker)
            for worker in retired:
                worker.gone = True  # busy ones are stopped when their invocation ends
                self._others.add(worker)  # ... and until then close() still sees them
        self._stop_idle_retired()
        if not self._supervisor.is_alive():
            self._supervisor.start()

    def abandon(self, generation: Generation) -> None:
        with self._lock:
            generation.state = "abandoned"
            workers = list(generation.ready)
        self._stop(workers)

    @property
    def code(self) -> CodeVersion | None:
        return self._generation.code if self._generation else None

    def pids(self) -> list[int]:
        with self._lock:
            return sorted(w.pid for w in self._current)

    def _launch_async(self, generation: Generation) -> None:
        threading.Thread(
            target=self._launch, args=(generation,), name="worker-start", daemon=True
        ).start()

    def _launch(self, generation: Generation) -> None:
        number = next(self._numbers)
        try:
            with self._lock:
                if self._closed.is_set():
                    raise StartupCancelled("stopping")
                process, conn = start_child(
                    _worker_main, (self.spec, generation.code), f"worker-{number}"
                )
                worker = Worker(process, conn, generation.code.generation)
                self._others.add(worker)
            await_ready(conn, process, self._closed.is_set)
        except StartupFailed as failure:
            if "worker" in locals():
                self._stop([worker])
            with generation.changed:
                generation.errors.append(str(failure))
                generation.changed.notify_all()
            if generation.state == "current" and not self._closed.is_set():
                self.on_fatal(
                    f"a replacement worker failed to start: {failure_summary(str(failure), 1)}"
                )
            return
        with self._lock, generation.changed:
            generation.ready.append(worker)
            generation.changed.notify_all()
            if self._closed.is_set() or generation.state == "abandoned" or worker.stopping:
                stale = True
            else:
                stale = False
                if generation.state == "current":
                    self._others.discard(worker)
                    self._current.add(worker)
                    self._idle.put(worker)
        if stale:
            self._stop([worker])

    # -- invocations

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """The function's response to ``event``; FunctionTimedOut / FunctionFailed as
        Lambda would report them; PoolClosed once the pool stops."""
        worker = self._acquire()
        try:
            worker.conn.send(event)
            if not worker.conn.poll(self.spec.timeout_s):
                self._replace(worker, f"timed out after {self.spec.timeout_s:g}s: killed")
                raise FunctionTimedOut(f"Task timed out after {self.spec.timeout_s:.2f} seconds")
            kind, value = worker.conn.recv()
        except (EOFError, OSError, ValueError):
            if self._closed.is_set():
                raise PoolClosed() from None
            self._replace(worker, f"exited mid-invocation (exit code {worker.process.exitcode})")
            raise FunctionFailed("the worker process exited") from None
        self._release(worker)
        if kind == "error":
            raise FunctionFailed(value)
        return value

    def _acquire(self) -> Worker:
        while True:
            if self._closed.is_set():
                raise PoolClosed()
            try:
                worker = self._idle.get(timeout=0.1)
            except queue.Empty:
                continue
            with self._lock:
                usable = worker in self._current and not worker.gone
            if usable and worker.process.is_alive():
                return worker
            if usable:
                self._replace(worker, f"exited (exit code {worker.process.exitcode})")
            else:
                self._stop([worker])

    def _release(self, worker: Worker) -> None:
        with self._lock:
            if worker in self._current and not worker.gone and not self._closed.is_set():
                self._idle.put(worker)
                return
        self._stop([worker])

    def _claim(self, workers: list[Worker]) -> list[Worker]:
        """The workers whose stop this thread now owns (none is stopped twice)."""
        with self._lock:
            mine = [w for w in workers if not w.stopping]
            for worker in mine:
                worker.stopping = worker.gone = True
                self._current.discard(worker)
                self._others.discard(worker)
        return mine

    def _replace(self, worker: Worker, reason: str) -> None:
        """Kill ``worker`` if it still runs; start another one on the current code."""
        with self._lock:
            replace = worker in self._current and not self._closed.is_set()
            generation = self._generation
        if not self._claim([worker]):
            return  # another thread is stopping it
        stop_children([(worker.process, worker.conn)], 0)
        if replace and generation is not None:
            self.log(f"worker {worker.pid} {reason}; starting a replacement")
            self._launch_async(generation)

    def _stop_idle_retired(self) -> None:
        keep, stale = [], []
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            (stale if worker.gone else keep).append(worker)
        for worker in keep:
            self._idle.put(worker)
        self._stop(stale)

    def _stop(self, workers: list[Worker]) -> None:
        mine = self._claim(workers)
        stop_children([(w.process, w.conn) for w in mine], STOP_GRACE_SECONDS)

    def _supervise(self) -> None:
        """Notice a worker that dies while idle (killed from outside) and replace it."""
        while not self._closed.is_set():
            with self._lock:
                watched = {w.process.sentinel: w for w in self._current}
            if not watched:
                self._closed.wait(0.2)
                continue
            for sentinel in wait(list(watched), timeout=0.2):
                worker = watched[sentinel]
                if not self._closed.is_set() and worker.process.exitcode is not None:
                    self._replace(worker, f"exited (exit code {worker.process.exitcode})")

    # -- stop

    def close(self) -> None:
        """Stop every worker: idle ones at once, busy ones after a short grace."""
        with self._lock:
            self._closed.set()
            workers = self._claim(list(self._current | self._others))
        stop_children([(w.process, w.conn) for w in workers], STOP_GRACE_SECONDS)
        if self._supervisor.is_alive():
            self._supervisor.join(1)
