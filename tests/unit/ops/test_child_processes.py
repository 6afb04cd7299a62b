"""The local runtime's child processes (issue 28): code snapshots, a child's preparation,
the wait for its ready, the stop with its deadline, the standby child's hand-over and
the pipe's stop event, over fakes of processes and pipes (one real spawn)."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import types
from pathlib import Path

import pytest

from tracking_ops.local import child_processes as cp
from tracking_ops.local import console
from tracking_ops.local.standin import PROFILE_VARIABLES

pytestmark = pytest.mark.unit


# --- code generations -----------------------------------------------------------------


def test_a_snapshot_copies_the_tree_without_caches_or_dotfiles(tmp_path):
    source = tmp_path / "functions"
    (source / "api" / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "api" / "pkg" / "__init__.py").write_text("")
    (source / "api" / "pkg" / "mod.py").write_text("X = 1\n")
    (source / "api" / "pkg" / "mod.pyc").write_bytes(b"")
    (source / "api" / "pkg" / "__pycache__" / "mod.cpython.pyc").write_bytes(b"")
    (source / "api" / ".hidden").write_text("")
    (source / "common").mkdir()
    code = cp.snapshot_code(source, ("api", "common"), 7)
    try:
        root = Path(code.root)
        assert root.name.startswith("tracking-local-code-7-")
        assert code.generation == 7 and code.source == str(source)
        assert code.paths == (str(root / "functions" / "api"), str(root / "functions" / "common"))
        copied = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
        assert copied == [
            "functions",
            "functions/api",
            "functions/api/pkg",
            "functions/api/pkg/__init__.py",
            "functions/api/pkg/mod.py",
            "functions/common",
        ]
        assert code.replacements == ((str(root / "functions"), str(source)),)
        assert code.user_paths(f"File {root}/functions/api/pkg/mod.py") == (
            f"File {source}/api/pkg/mod.py"
        )
    finally:
        cp.remove_code(code)
    assert not Path(code.root).exists()
    cp.remove_code(code)  # already gone: nothing raised


def test_a_version_without_a_source_replaces_nothing():
    code = cp.CodeVersion(1, "/r", ("/r/functions/api",))
    assert code.replacements == ()
    assert code.user_paths("/r/functions/api/x.py") == "/r/functions/api/x.py"


def test_function_packages_are_the_directories_with_an_init(tmp_path):
    for name, package in (("one", True), ("two", True), ("plain", False)):
        (tmp_path / "a" / name).mkdir(parents=True)
        if package:
            (tmp_path / "a" / name / "__init__.py").write_text("")
    (tmp_path / "b" / "three").mkdir(parents=True)
    (tmp_path / "b" / "three" / "__init__.py").write_text("")
    (tmp_path / "b" / "__init__.py").write_text("")  # a file, not a package
    paths = (str(tmp_path / "a"), str(tmp_path / "b"))
    assert cp._function_packages(paths) == {"one", "two", "three"}


def test_preparing_a_child_ignores_stops_forgets_packages_and_sets_its_world(tmp_path, monkeypatch):
    (tmp_path / "fnpkg").mkdir()
    (tmp_path / "fnpkg" / "__init__.py").write_text("")
    code = cp.CodeVersion(3, "/snap", (str(tmp_path),), "/user/functions")
    handlers, masks, installed = {}, [], []
    monkeypatch.setattr(cp.signal, "signal", lambda s, h: handlers.__setitem__(s, h))
    monkeypatch.setattr(cp.signal, "pthread_sigmask", lambda how, s: masks.append((how, s)))
    monkeypatch.setattr(cp.console, "install", lambda r, v: installed.append((r, v)))
    monkeypatch.setattr(sys, "path", ["/elsewhere"])
    for name in ("fnpkg", "fnpkg.sub", "fnpkgx"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    for name in PROFILE_VARIABLES:
        monkeypatch.setenv(name, "someone")
    monkeypatch.setenv("CHILD_TEST_VARIABLE", "before")
    monkeypatch.setenv(console.VERBOSE_VARIABLE, "")

    cp.prepare_child(code, {"CHILD_TEST_VARIABLE": "after", console.VERBOSE_VARIABLE: "1"})

    assert handlers == dict.fromkeys(cp.STOP_SIGNALS, signal.SIG_IGN)
    assert masks == [(signal.SIG_UNBLOCK, cp.STOP_SIGNALS)]
    assert "fnpkg" not in sys.modules and "fnpkg.sub" not in sys.modules
    assert "fnpkgx" in sys.modules
    assert sys.path == [str(tmp_path), "/elsewhere"]
    assert os.environ["CHILD_TEST_VARIABLE"] == "after"
    assert not any(name in os.environ for name in PROFILE_VARIABLES)
    assert installed == [(code.replacements, True)]


def test_a_quiet_child_installs_the_quiet_console(monkeypatch):
    installed = []
    monkeypatch.setattr(cp.signal, "signal", lambda s, h: None)
    monkeypatch.setattr(cp.signal, "pthread_sigmask", lambda how, s: None)
    monkeypatch.setattr(cp.console, "install", lambda r, v: installed.append(v))
    monkeypatch.setattr(sys, "path", list(sys.path))
    for value in ("", "0", "yes"):
        monkeypatch.setenv(console.VERBOSE_VARIABLE, value)
        cp.prepare_child(cp.CodeVersion(1, "/r", ()), {console.VERBOSE_VARIABLE: value})
    cp.prepare_child(cp.CodeVersion(1, "/r", ()), {})
    assert installed == [False, False, False, False]


# --- a child's start -------------------------------------------------------------------


def echo(conn, first, second) -> None:
    conn.send((first, second, os.getpid()))
    conn.recv()


def test_a_child_runs_its_target_with_its_pipe_and_arguments():
    process, conn = cp.start_child(echo, ("a", 2), "echo-child")
    try:
        assert (process.name, process.daemon) == ("echo-child", True)
        assert conn.poll(60)
        assert conn.recv() == ("a", 2, process.pid)
    finally:
        cp.stop_children([(process, conn)], 5)
    assert process.exitcode == 0  # it read the None and returned: stopped, not killed
    assert conn.closed


class FakeConn:
    def __init__(self, *replies, fail=None):
        self.replies = list(replies)
        self.fail = fail
        self.polls: list[float | None] = []
        self.sent: list = []
        self.closed = False

    def poll(self, timeout=None):
        self.polls.append(timeout)
        if self.fail:
            raise self.fail
        return bool(self.replies)

    def recv(self):
        return self.replies.pop(0)

    def send(self, value):
        if self.fail:
            raise self.fail
        self.sent.append(value)

    def close(self):
        self.closed = True


class FakeProcess:
    def __init__(self, name="child-1", exitcode=None, alive=True):
        self.name, self.exitcode, self.alive = name, exitcode, alive
        self.sentinel = object()
        self.killed = False
        self.joins: list = []

    def is_alive(self):
        return self.alive

    def kill(self):
        self.killed = True

    def join(self, timeout=None):
        self.joins.append(timeout)


def test_ready_returns_and_a_failure_raises_its_detail():
    conn = FakeConn(("ready", 42))
    assert cp.await_ready(conn, FakeProcess(), lambda: False) is None
    assert conn.polls == [0.1]
    with pytest.raises(cp.StartupFailed) as failed:
        cp.await_ready(FakeConn(("failed", "Traceback: boom")), FakeProcess(), lambda: False)
    assert str(failed.value) == "Traceback: boom"
    assert type(failed.value) is cp.StartupFailed


def test_a_child_that_never_answers_fails_after_the_startup_bound():
    conn = FakeConn()
    with pytest.raises(cp.StartupFailed) as failed:
        cp.await_ready(conn, FakeProcess("worker-3"), lambda: False)
    assert str(failed.value) == f"worker-3 not ready after {cp.STARTUP_SECONDS}s"
    assert conn.polls == [0.1] * int(cp.STARTUP_SECONDS / 0.1)


@pytest.mark.parametrize("error", [EOFError(), OSError("closed")])
def test_a_child_that_exits_while_starting_says_its_exit_code(error):
    with pytest.raises(cp.StartupFailed) as failed:
        cp.await_ready(FakeConn(fail=error), FakeProcess("worker-9", exitcode=1), lambda: False)
    assert str(failed.value) == "worker-9 exited while starting (exit code 1)"
    assert failed.value.__suppress_context__


def test_a_cancelled_start_stops_before_the_next_poll():
    answers = iter([False, True])
    conn = FakeConn()
    with pytest.raises(cp.StartupCancelled) as cancelled:
        cp.await_ready(conn, FakeProcess(), lambda: next(answers))
    assert str(cancelled.value) == "stopping"
    assert conn.polls == [0.1]


# --- the stop ------------------------------------------------------------------------------


class Clock:
    def __init__(self, *times):
        self.times = list(times)

    def __call__(self):
        return self.times.pop(0) if len(self.times) > 1 else self.times[0]


def test_stop_asks_each_child_waits_the_grace_and_kills_the_rest(monkeypatch):
    quick, slow, silent = FakeProcess("q"), FakeProcess("s"), FakeProcess("n")
    quick_conn, slow_conn, broken = FakeConn(), FakeConn(), FakeConn(fail=ValueError())
    waits = []

    def wait(sentinels, timeout):
        waits.append((sentinels, timeout))
        quick.alive = False
        return []

    monkeypatch.setattr(cp, "wait", wait)
    monkeypatch.setattr(cp, "_monotonic", Clock(10.0, 10.5, 10.5, 11.0, 11.0, 13.0))
    cp.stop_children([(quick, quick_conn), (slow, slow_conn), (silent, None), (slow, broken)], 2)

    assert quick_conn.sent == [None] and slow_conn.sent == [None]
    assert waits[0] == ([quick.sentinel, slow.sentinel, silent.sentinel, slow.sentinel], 1.5)
    assert waits[1] == ([slow.sentinel, silent.sentinel, slow.sentinel], 1.0)
    assert len(waits) == 2  # 13.0 is past the deadline of 12.0
    assert (quick.killed, slow.killed, silent.killed) == (False, True, True)
    assert quick.joins == [2] and slow.joins == [2, 2] and silent.joins == [2]
    assert quick_conn.closed and slow_conn.closed and broken.closed


def test_stop_waits_no_longer_once_all_have_exited(monkeypatch):
    process = FakeProcess()
    waits = []

    def wait(sentinels, timeout):
        waits.append(timeout)
        process.alive = False
        return [process.sentinel]

    monkeypatch.setattr(cp, "wait", wait)
    monkeypatch.setattr(cp, "_monotonic", Clock(0.0, 0.0, 0.0))
    cp.stop_children([(process, FakeConn())], 5)
    assert waits == [5.0] and not process.killed


def test_stop_never_waits_a_negative_time(monkeypatch):
    process = FakeProcess()
    waits = []
    monkeypatch.setattr(cp, "wait", lambda s, timeout: waits.append(timeout) or [])
    monkeypatch.setattr(cp, "_monotonic", Clock(0.0, 0.5, 1.5, 2.0))
    cp.stop_children([(process, None)], 1)
    assert waits == [0.0] and process.killed  # 1.5 is past the deadline of 1.0


def test_a_zero_grace_kills_at_once(monkeypatch):
    process = FakeProcess()
    monkeypatch.setattr(cp, "wait", lambda s, timeout: pytest.fail("no wait"))
    cp.stop_children([(process, FakeConn())], 0)
    assert process.killed and process.joins == [2]


def test_exit_now_flushes_both_streams_and_exits_with_the_code(monkeypatch):
    flushed, codes = [], []

    class Stream(io.StringIO):
        def __init__(self, name, fails=False):
            super().__init__()
            self.name, self.fails = name, fails

        def flush(self):
            flushed.append(self.name)
            if self.fails:
                raise OSError("closed")

    monkeypatch.setattr(sys, "stdout", Stream("out", fails=True))
    monkeypatch.setattr(sys, "stderr", Stream("err"))
    monkeypatch.setattr(cp.os, "_exit", codes.append)
    cp.exit_now(3)
    cp.exit_now()
    assert flushed == ["out", "err", "out", "err"] and codes == [3, 0]


def test_a_failure_summary_is_the_last_lines_of_the_stripped_text():
    text = "\n".join(f"line {n}" for n in range(10)) + "\n\n"
    assert cp.failure_summary(text) == "\n".join(f"line {n}" for n in range(4, 10))
    assert cp.failure_summary("  only\n", 1) == "only"
    assert cp.failure_summary(text, 2) == "line 8\nline 9"


# --- the standby child -----------------------------------------------------------------------


@pytest.fixture
def standby(monkeypatch):
    stops: list = []
    process, conn = FakeProcess("feeder-2"), FakeConn(("stopped", {"position": 5}))
    started = []

    def start(target, args, name):
        started.append((target, args, name))
        return process, conn

    monkeypatch.setattr(cp, "start_child", start)
    monkeypatch.setattr(
        cp, "stop_children", lambda children, grace: stops.append((children, grace))
    )
    child = cp.StandbyChild(echo, ("x",), "feeder-2")
    assert started == [(echo, ("x",), "feeder-2")]
    assert (child.process, child.conn) == (process, conn)
    child.stops = stops  # type: ignore[attr-defined]
    return child


def test_a_standby_child_goes_with_the_state_and_hands_it_back_on_stop(standby):
    standby.go({"position": 4})
    assert standby.stop(0.7) == {"position": 5}
    assert standby.conn.sent == [("go", {"position": 4}), None]
    assert standby.conn.polls == [0.7]
    assert standby.stops == [([(standby.process, standby.conn)], 0.2)]
    assert standby.stop() is None  # stopped once
    standby.kill()
    assert len(standby.stops) == 1 and standby.conn.sent[-1] is None


def test_a_standby_stop_waits_the_default_grace_and_is_none_without_an_answer(standby):
    standby.conn.replies = []
    assert standby.stop() is None
    assert standby.conn.polls == [cp.STOP_GRACE_SECONDS]


@pytest.mark.parametrize("error", [EOFError(), OSError(), ValueError()])
def test_a_standby_stop_on_a_broken_pipe_is_none_and_still_stops_it(standby, error):
    standby.conn.fail = error
    assert standby.stop() is None
    assert standby.stops == [([(standby.process, standby.conn)], 0.2)]


def test_a_standby_child_that_is_being_stopped_is_not_stopped_by_another_thread(standby):
    standby._stopping.acquire()
    assert standby.stop() is None
    standby.kill()
    assert standby.stops == [] and standby.conn.sent == []


def test_killing_a_standby_child_stops_it_at_once_and_only_once(standby):
    standby.kill()
    standby.kill()
    assert standby.stops == [([(standby.process, standby.conn)], 0)]
    assert standby.stop() is None


def test_a_standby_child_that_fails_to_start_is_killed(standby, monkeypatch):
    def fails(conn, process, cancelled):
        assert (conn, process, cancelled()) == (standby.conn, standby.process, "asked")
        raise cp.StartupFailed("no import")

    monkeypatch.setattr(cp, "await_ready", fails)
    with pytest.raises(cp.StartupFailed, match="no import"):
        standby.wait_ready(lambda: "asked")
    assert standby.stops == [([(standby.process, standby.conn)], 0)]


def test_a_standby_child_that_starts_is_left_running(standby, monkeypatch):
    monkeypatch.setattr(cp, "await_ready", lambda conn, process, cancelled: None)
    standby.wait_ready(lambda: False)
    assert standby.stops == []


# --- the pipe's stop event -------------------------------------------------------------------


def test_a_pipe_stop_is_set_by_a_none_and_stays_set():
    parent, child = cp.SPAWN.Pipe()
    stop = cp.PipeStop(child)
    assert stop.is_set() is False
    assert stop.wait(0.01) is False
    parent.send(None)
    assert stop.wait(5) is True
    assert stop.is_set() is True
    parent.send("more")  # not read again: it stays set
    assert stop.is_set() is True and child.poll(0)
    parent.close()
    child.close()


def test_a_pipe_stop_is_set_when_the_parent_goes():
    parent, child = cp.SPAWN.Pipe()
    stop = cp.PipeStop(child)
    parent.close()
    assert stop.wait(5) is True and stop.is_set() is True
    child.close()


def test_a_pipe_stop_waits_as_long_as_asked():
    conn = FakeConn()
    stop = cp.PipeStop(conn)
    assert stop.wait(0.3) is False and stop.wait() is False and stop.is_set() is False
    assert conn.polls == [0.3, None, 0]
    closed = cp.PipeStop(FakeConn(fail=OSError()))
    assert closed.is_set() is True


# --- the resource tracker --------------------------------------------------------------------


class FakeTracker:
    def __init__(self, fd, pid):
        self._lock = threading.Lock()
        self._fd, self._pid = fd, pid


@pytest.mark.parametrize(("pid", "waited"), [(4321, [(4321, 0)]), (None, [])])
def test_reaping_the_tracker_closes_its_pipe_and_waits_for_it(monkeypatch, pid, waited):
    from multiprocessing import resource_tracker

    tracker, closed, waits = FakeTracker(17, pid), [], []
    monkeypatch.setattr(resource_tracker, "_resource_tracker", tracker)
    monkeypatch.setattr(cp.os, "close", closed.append)
    monkeypatch.setattr(cp.os, "waitpid", lambda p, flags: waits.append((p, flags)))
    cp.reap_resource_tracker()
    assert (closed, waits, tracker._fd, tracker._pid) == ([17], waited, None, None)
    assert not tracker._lock.locked()


def test_without_a_tracker_there_is_nothing_to_reap(monkeypatch):
    from multiprocessing import resource_tracker

    tracker = FakeTracker(None, 99)
    monkeypatch.setattr(resource_tracker, "_resource_tracker", tracker)
    monkeypatch.setattr(cp.os, "close", lambda fd: pytest.fail("nothing to close"))
    monkeypatch.setattr(cp.os, "waitpid", lambda p, f: pytest.fail("nothing to wait for"))
    cp.reap_resource_tracker()
    assert tracker._pid == 99


def test_at_the_deadline_itself_the_stop_kills_without_waiting(monkeypatch):
    process = FakeProcess()
    monkeypatch.setattr(cp, "wait", lambda s, timeout: pytest.fail("waited at the deadline"))
    monkeypatch.setattr(cp, "_monotonic", Clock(0.0, 1.0))
    cp.stop_children([(process, None)], 1)
    assert process.killed
