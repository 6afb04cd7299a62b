"""The local runtime's child processes and how they start, run and stop.

Each child (a "Lambda container", or the stream feeder) is a spawned process that
talks to this one over a pipe of its own. Nothing else is shared: a
``multiprocessing.Event`` or ``Condition`` shared with a child that dies leaves
the parent blocked for ever in ``notify`` (that hung ``invoke local`` on a SIGTERM
to its process group). The parent owns every stop:

- children start with SIGINT/SIGTERM blocked (the mask is inherited through the
  spawn's exec) and then ignore them, so a signal to the process group reaches
  only the parent, whatever the child was doing, even while it starts;
- a child stops when its pipe says so, or at EOF (the parent has gone);
- the parent waits for each with a deadline and kills what is left.

Workers run one code *generation*: a snapshot of ``functions/`` (see ``CodeVersion``)
put first on ``sys.path``, so a worker that replaces a dead one runs the last good
code even while the file on disk does not import.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import multiprocessing
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

SPAWN = multiprocessing.get_context("spawn")
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
STARTUP_SECONDS = 90  # a cold worker on a busy 2-core machine: imports, SSM, clients
STOP_GRACE_SECONDS = 0.5  # a busy child gets this long to finish before it is killed
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class StartupFailed(Exception):
    """A child could not import or warm its code; the message is its traceback's tail."""


class PoolClosed(Exception):
    pass


class FunctionTimedOut(Exception):
    pass


class FunctionFailed(Exception):
    """The function raised, or its process died mid-invocation (Lambda: a function error)."""


# ---- code generations ------------------------------------------------------------


@dataclass(frozen=True)
class CodeVersion:
    """One immutable copy of the functions' code: ``paths`` go first on a child's sys.path."""

    generation: int
    root: str
    paths: tuple[str, ...]


def snapshot_code(source: Path, subdirs: tuple[str, ...], generation: int) -> CodeVersion:
    """Copy ``source`` (a functions/ tree) to a new temporary directory."""
    root = Path(tempfile.mkdtemp(prefix=f"tracking-local-code-{generation}-"))
    shutil.copytree(source, root / "functions", ignore=_COPY_IGNORE)
    return CodeVersion(
        generation, str(root), tuple(str(root / "functions" / sub) for sub in subdirs)
    )


def remove_code(code: CodeVersion) -> None:
    shutil.rmtree(code.root, ignore_errors=True)


def _function_packages(paths: tuple[str, ...]) -> set[str]:
    return {
        entry.name
        for path in paths
        for entry in Path(path).iterdir()
        if (entry / "__init__.py").is_file()
    }


def prepare_child(code: CodeVersion, environment: dict[str, str]) -> None:
    """First thing in every child: ignore stop signals, then see only ``code``'s functions."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    # The spawn imported the parent's main module, which may have imported function
    # packages from the repository: forget them, so the snapshot's are imported.
    packages = _function_packages(code.paths)
    for name in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[name]
    sys.path[:0] = code.paths
    importlib.invalidate_caches()
    os.environ.update(environment)
    from tracking_ops.local.standin import PROFILE_VARIABLES

    for name in PROFILE_VARIABLES:  # the stand-in's credentials, never a profile's
        os.environ.pop(name, None)


def start_child(target: Callable[..., None], args: tuple, name: str):
    """Spawn ``target(conn, *args)``; returns (process, this end of its pipe)."""
    parent_end, child_end = SPAWN.Pipe()
    process = SPAWN.Process(target=target, args=(child_end, *args), name=name, daemon=True)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    child_end.close()
    return process, parent_end


def await_ready(conn: Connection, process, cancelled: Callable[[], bool]) -> None:
    """Wait for the child's ("ready", pid), or raise StartupFailed with its reason."""
    for _ in range(int(STARTUP_SECONDS / 0.1)):
        if cancelled():
            raise StartupFailed("stopping")
        try:
            if conn.poll(0.1):
                kind, detail = conn.recv()
                if kind == "ready":
                    return
                raise StartupFailed(detail)
        except (EOFError, OSError):
            raise StartupFailed(
                f"{process.name} exited while starting (exit code {process.exitcode})"
            ) from None
    raise StartupFailed(f"{process.name} not ready after {STARTUP_SECONDS}s")


def stop_children(children: list[tuple[Any, Connection | None]], grace: float) -> None:
    """Ask each child to stop (a None on its pipe), wait ``grace`` in all, kill the rest."""
    for _, conn in children:
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
    pending = [p for p, _ in children]
    deadline = _monotonic() + grace
    while pending and _monotonic() < deadline:
        wait([p.sentinel for p in pending], timeout=max(0.0, deadline - _monotonic()))
        pending = [p for p in pending if p.is_alive()]
    for process in pending:
        process.kill()
    for process, conn in children:
        process.join(2)
        if conn is not None:
            conn.close()


def _monotonic() -> float:
    return time.monotonic()


def exit_now(code: int = 0) -> None:
    """A child's end: skip the interpreter's teardown of everything the functions
    imported (a second or more on a busy machine); nothing in it needs flushing
    but the standard streams."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def failure_summary(text: str, lines: int = 6) -> str:
    """The end of a traceback: what a developer needs to see on one screen."""
    return "\n".join(text.strip().splitlines()[-lines:])


# ---- a worker ("Lambda container") -----------------------------------------------


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker runs: ``handler``/``warm`` as "module:function"."""

    handler: str
    environment: dict[str, str]
    function_name: str
    timeout_s: float
    warm: str | None = None


def _resolve(reference: str) -> Callable[..., Any]:
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def _worker_main(conn: Connection, spec: WorkerSpec, code: CodeVersion) -> None:
    prepare_child(code, spec.environment)
    try:
        import warnings

        warnings.filterwarnings("ignore", message="No application metrics to publish")
        handler = _resolve(spec.handler)
        if spec.warm:
            _resolve(spec.warm)()
    except BaseException:  # noqa: BLE001 - whatever stops the import is the report
        conn.send(("failed", traceback.format_exc()))
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
            _deadline=_monotonic() + spec.timeout_s,
        )
        try:
            reply = ("ok", handler(event, context))
        except Exception:  # noqa: BLE001 - an unhandled error is the invocation's result
            reply = ("error", traceback.format_exc())
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

    def wait(self, count: int) -> None:
        """Until ``count`` workers are ready; StartupFailed at the first failure."""
        with self.changed:
            # In slices: the main thread waits here at start, and must keep running
            # bytecode for a signal's handler to run (see local.serve_forever).
            while not self.changed.wait_for(
                lambda: len(self.ready) >= count or self.errors, timeout=0.1
            ):
                pass
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
                    raise StartupFailed("stopping")
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


# ---- the stream feeder's process ----------------------------------------------------


class StandbyChild:
    """A child that starts, reports ready, waits for ("go", state), runs until told to stop
    and answers ("stopped", state): how a new feeder takes over from the old one."""

    def __init__(self, target: Callable[..., None], args: tuple, name: str):
        self.process, self.conn = start_child(target, args, name)
        self._stopping = threading.Lock()  # held by the one thread that stops it

    def wait_ready(self, cancelled: Callable[[], bool]) -> None:
        try:
            await_ready(self.conn, self.process, cancelled)
        except StartupFailed:
            self.kill()
            raise

    def go(self, state: Any) -> None:
        self.conn.send(("go", state))

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> Any:
        """Ask it to stop; its state if it answers within ``grace``, else None (killed)."""
        if not self._stopping.acquire(blocking=False):
            return None  # another thread is stopping it
        state = None
        try:
            self.conn.send(None)
            if self.conn.poll(grace):
                kind, state = self.conn.recv()
        except (EOFError, OSError, ValueError):
            state = None
        stop_children([(self.process, self.conn)], 0.2)
        return state

    def kill(self) -> None:
        if self._stopping.acquire(blocking=False):
            stop_children([(self.process, self.conn)], 0)


class PipeStop:
    """In the child: ``threading.Event``'s is_set/wait, set by a None (or EOF) on the pipe."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._set = False

    def is_set(self) -> bool:
        return self.wait(0)

    def wait(self, timeout: float | None = None) -> bool:
        if self._set:
            return True
        try:
            if self.conn.poll(timeout):
                self.conn.recv()
                self._set = True
        except (EOFError, OSError):
            self._set = True
        return self._set
