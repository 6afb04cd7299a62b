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
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from tracking_ops.local import console

SPAWN = multiprocessing.get_context("spawn")
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
STARTUP_SECONDS = 90  # a cold worker on a busy 2-core machine: imports, SSM, clients
STOP_GRACE_SECONDS = 0.5  # a busy child gets this long to finish before it is killed
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class StartupFailed(Exception):
    """A child could not import or warm its code; the message is its traceback's tail."""


class StartupCancelled(StartupFailed):
    """The start was called off (a stop signal came while children were starting)."""


# ---- code generations ------------------------------------------------------------


@dataclass(frozen=True)
class CodeVersion:
    """One immutable copy of the functions' code: ``paths`` go first on a child's sys.path."""

    generation: int
    root: str
    paths: tuple[str, ...]
    source: str = ""  # the user's functions/ tree it was copied from

    @property
    def replacements(self) -> tuple[tuple[str, str], ...]:
        """(snapshot path, user's path): what a traceback shows for the snapshot's files."""
        return ((str(Path(self.root) / "functions"), self.source),) if self.source else ()

    def user_paths(self, text: str) -> str:
        return console.user_paths(text, self.replacements)


def snapshot_code(source: Path, subdirs: tuple[str, ...], generation: int) -> CodeVersion:
    """Copy ``source`` (a functions/ tree) to a new temporary directory."""
    root = Path(tempfile.mkdtemp(prefix=f"tracking-local-code-{generation}-"))
    shutil.copytree(source, root / "functions", ignore=_COPY_IGNORE)
    return CodeVersion(
        generation,
        str(root),
        tuple(str(root / "functions" / sub) for sub in subdirs),
        str(source),
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
    console.install(
        code.replacements, environment.get(console.VERBOSE_VARIABLE) == console.VERBOSE_ON
    )
    from tracking_ops.local.standin import PROFILE_VARIABLES

    for name in PROFILE_VARIABLES:  # the stand-in's credentials, never a profile's
        os.environ.pop(name, None)


def start_child(target: Callable[..., None], args: tuple, name: str):
    """Spawn ``target(conn, *args)`` with the stop signals blocked from its exec on;
    returns (process, this end of its pipe)."""
    from multiprocessing import resource_tracker

    parent_end, child_end = SPAWN.Pipe()
    process = SPAWN.Process(target=target, args=(child_end, *args), name=name, daemon=True)
    # A spawn launches multiprocessing's resource tracker if it is not running, and that
    # launch ends with SIG_UNBLOCK of SIGINT/SIGTERM (not a restore of the mask): inside
    # process.start() it unblocked them before the child's exec, and a Ctrl-C then hit
    # the child in its site import. So the tracker is launched first, outside the block.
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        process.start()
        unblocked = STOP_SIGNALS - signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    if unblocked:  # something in the spawn unblocked them again: the child may have them
        process.kill()
        process.join()
        parent_end.close()
        child_end.close()
        raise RuntimeError(f"{name} was spawned with {sorted(unblocked)} unblocked")
    child_end.close()
    return process, parent_end


def await_ready(conn: Connection, process, cancelled: Callable[[], bool]) -> None:
    """Wait for the child's ("ready", pid), or raise StartupFailed with its reason."""
    for _ in range(int(STARTUP_SECONDS / 0.1)):
        if cancelled():
            raise StartupCancelled("stopping")
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


# ---- a child that takes over from another (the stream feeder) ----------------------


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


def reap_resource_tracker() -> None:
    """End multiprocessing's resource tracker (a process of our group that spawn
    starts) and wait for it, so nothing of the runtime outlives its exit; left alone,
    it exits only after noticing the parent's exit."""
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker
    with tracker._lock:
        if tracker._fd is None:
            return
        os.close(tracker._fd)
        tracker._fd = None
        if tracker._pid is not None:
            os.waitpid(tracker._pid, 0)
            tracker._pid = None
