"""The worker pool's bookkeeping with exact values (issue 28), over fakes of its children
(start, ready, stop and pipes, no process spawned), and a worker's loop run in this
process: what it sends, the context it builds, how it ends."""

from __future__ import annotations

import os
import threading
import time
import warnings

import pytest

from tests.unit.ops.test_workers import wait_until
from tracking_ops.local import workers

pytestmark = pytest.mark.unit
CODE = workers.CodeVersion(4, "/snapshot", ("/snapshot/functions/api",), "/user/functions")


class Process:
    def __init__(self, pid: int):
        self.pid, self.exitcode, self.alive = pid, None, True
        self.sentinel = self

    def is_alive(self):
        return self.alive


class Conn:
    def __init__(self):
        self.sent: list = []
        self.replies: list = []
        self.polls: list = []
        self.error: BaseException | None = None

    def send(self, value):
        self.sent.append(value)

    def poll(self, timeout=None):
        self.polls.append(timeout)
        return bool(self.replies) or self.error is not None

    def recv(self):
        if self.error is not None:
            raise self.error
        return self.replies.pop(0)


class Children:
    """start_child, await_ready and stop_children of workers, recorded."""

    def __init__(self, monkeypatch):
        self.started: list = []
        self.stopped: list = []
        self.failing: dict[str, str] = {}
        self.pids = iter(range(101, 200))
        self.gate: threading.Event | None = None
        monkeypatch.setattr(workers, "start_child", self.start)
        monkeypatch.setattr(workers, "await_ready", self.ready)
        monkeypatch.setattr(workers, "stop_children", self.stop)
        monkeypatch.setattr(workers, "wait", self.wait)

    def start(self, target, args, name):
        process, conn = Process(next(self.pids)), Conn()
        self.started.append((target, args, name, process, conn))
        return process, conn

    def ready(self, conn, process, cancelled):
        if self.gate is not None:
            self.gate.wait(10)
        name = next(s[2] for s in self.started if s[3] is process)
        if name in self.failing:
            raise workers.StartupFailed(self.failing[name])
        if cancelled():
            raise workers.StartupCancelled("stopping")

    def stop(self, children, grace):
        if children:  # an empty stop (nothing idle to retire) does nothing
            self.stopped.append(([p.pid for p, _ in children], grace))
        for process, _ in children:
            process.alive = False

    @staticmethod
    def wait(sentinels, timeout):
        dead = [s for s in sentinels if not s.alive]
        if not dead:
            time.sleep(0.02)
        return dead


SPEC = workers.WorkerSpec("fn.handlers:handle", {"A": "1"}, "fn", timeout_s=1.5)


@pytest.fixture
def children(monkeypatch):
    return Children(monkeypatch)


@pytest.fixture
def pool(children):
    log: list[str] = []
    fatal: list[str] = []
    created = workers.WorkerPool(SPEC, 2, log.append, on_fatal=fatal.append)
    created.log_lines, created.fatal = log, fatal  # type: ignore[attr-defined]
    generation = created.start_generation(CODE)
    generation.wait(2)
    created.switch(generation)
    yield created
    created.close()


def conn_of(children, pid):
    return next(s[4] for s in children.started if s[3].pid == pid)


def test_a_generation_starts_size_workers_on_its_code(pool, children):
    assert sorted(s[2] for s in children.started) == ["worker-1", "worker-2"]
    assert [(s[0], s[1]) for s in children.started] == [(workers._worker_main, (SPEC, CODE))] * 2
    assert pool.pids() == [101, 102]
    assert pool.code is CODE
    assert pool._generation.state == "current" and pool._generation.size == 2
    assert pool._others == set()  # the switched-in workers are current, nothing else


def test_a_generation_of_count_workers_and_its_fill(children):
    pool = workers.WorkerPool(SPEC, 3, lambda line: None)
    assert pool.code is None
    generation = pool.start_generation(CODE, 1)
    generation.wait(1)
    assert len(children.started) == 1
    pool.fill(generation, 1)
    generation.wait(3)
    assert len(children.started) == 3
    assert sorted(w.pid for w in generation.ready) == [101, 102, 103]
    pool.close()


def test_an_invocation_goes_to_an_idle_worker_and_it_serves_again(pool, children):
    conns = [conn_of(children, pid) for pid in pool.pids()]
    for conn in conns:
        conn.replies = [("ok", {"n": 1}), ("ok", {"n": 2})]
    assert pool.invoke({"e": 1}) == {"n": 1}
    assert pool.invoke({"e": 2}) == {"n": 1}
    assert pool.invoke({"e": 3}) == {"n": 2}  # the first worker, back in the queue
    assert [c.sent for c in conns] == [[{"e": 1}, {"e": 3}], [{"e": 2}]]
    assert conns[0].polls == [SPEC.timeout_s, SPEC.timeout_s]
    assert pool.log_lines == [] and children.stopped == []


def test_a_function_error_is_failed_with_its_traceback_and_the_worker_stays(pool, children):
    for pid in pool.pids():
        conn_of(children, pid).replies = [("error", "Traceback: boom")]
    with pytest.raises(workers.FunctionFailed) as failed:
        pool.invoke({})
    assert str(failed.value) == "Traceback: boom"
    assert pool.pids() == [101, 102] and children.stopped == []


def test_a_worker_past_the_timeout_is_killed_and_replaced(pool, children):
    with pytest.raises(workers.FunctionTimedOut) as timed_out:
        pool.invoke({})
    assert str(timed_out.value) == "Task timed out after 1.50 seconds"
    assert pool.log_lines == ["worker 101 timed out after 1.5s: killed; starting a replacement"]
    assert children.stopped == [([101], 0)]
    assert wait_until(lambda: pool.pids() == [102, 103])
    assert children.started[-1][2] == "worker-3"


@pytest.mark.parametrize("error", [EOFError(), OSError(), ValueError()])
def test_a_worker_that_exits_mid_invocation_is_a_function_failure(pool, children, error):
    conn = conn_of(children, 101)
    conn.error = error
    children.started[0][3].exitcode = 3
    with pytest.raises(workers.FunctionFailed) as failed:
        pool.invoke({})
    assert str(failed.value) == "the worker process exited"
    assert pool.log_lines == [
        "worker 101 exited mid-invocation (exit code 3); starting a replacement"
    ]
    assert wait_until(lambda: pool.pids() == [102, 103])


def test_a_dead_idle_worker_is_replaced_when_handed_out(pool, children):
    pool._closed.set()  # the supervisor stands down: _acquire is the one to notice
    pool._supervisor.join(2)
    pool._closed.clear()
    process = children.started[0][3]
    process.alive, process.exitcode = False, -9
    conn_of(children, 102).replies = [("ok", "second")]
    assert pool.invoke({}) == "second"
    assert pool.log_lines == ["worker 101 exited (exit code -9); starting a replacement"]
    assert wait_until(lambda: pool.pids() == [102, 103])


def test_the_supervisor_replaces_a_worker_killed_while_idle(pool, children):
    process = children.started[1][3]
    process.exitcode, process.alive = -9, False
    assert wait_until(lambda: pool.pids() == [101, 103])
    assert pool.log_lines == ["worker 102 exited (exit code -9); starting a replacement"]


def test_a_new_generation_serves_and_the_old_idle_workers_stop_with_the_grace(pool, children):
    old = pool._generation
    code = workers.CodeVersion(5, "/s5", ())
    generation = pool.start_generation(code)
    generation.wait(2)
    pool.switch(generation)
    assert old.state == "abandoned" and generation.state == "current"
    assert pool.pids() == [103, 104] and pool.code is code
    ((pids, grace),) = children.stopped  # both idle: retired in one stop
    assert (sorted(pids), grace) == ([101, 102], workers.STOP_GRACE_SECONDS)
    conn_of(children, 103).replies = [("ok", "new")]
    conn_of(children, 104).replies = [("ok", "new")]
    assert pool.invoke({}) == "new"


def test_a_busy_retired_worker_stops_after_its_invocation(pool, children):
    busy = pool._acquire()
    generation = pool.start_generation(workers.CodeVersion(5, "/s5", ()))
    generation.wait(2)
    pool.switch(generation)
    assert busy.pid not in [pid for pids, _ in children.stopped for pid in pids]
    assert busy in pool._others
    pool._release(busy)
    assert children.stopped[-1] == ([busy.pid], workers.STOP_GRACE_SECONDS)
    assert busy not in pool._others and busy.gone and busy.stopping


def test_a_worker_that_fails_to_start_fails_its_generation(children):
    pool = workers.WorkerPool(SPEC, 2, lambda line: None)
    children.failing["worker-2"] = "ImportError: nope"
    generation = pool.start_generation(CODE)
    with pytest.raises(workers.StartupFailed) as failed:
        generation.wait(2)
    assert str(failed.value) == "ImportError: nope"
    assert generation.errors == ["ImportError: nope"]
    assert wait_until(lambda: ([102], workers.STOP_GRACE_SECONDS) in children.stopped)
    pool.abandon(generation)
    assert generation.state == "abandoned"
    assert ([101], workers.STOP_GRACE_SECONDS) in children.stopped
    pool.close()


def test_enough_ready_workers_outweigh_a_failure():
    generation = workers.Generation(CODE, 2)
    generation.ready.append("w")
    generation.errors.append("boom")
    generation.wait(1)
    with pytest.raises(workers.StartupFailed, match="^boom$"):
        generation.wait(2)


def test_a_cancelled_wait_stops_waiting():
    generation = workers.Generation(CODE, 1)
    calls = iter([False, False, True])
    with pytest.raises(workers.StartupCancelled, match="^stopping$"):
        generation.wait(1, lambda: next(calls))
    ready = workers.Generation(CODE, 1)
    ready.ready.append("w")
    with pytest.raises(workers.StartupCancelled):
        ready.wait(1, lambda: True)  # ready, but the start was called off
    assert ready.state == "pending"


def test_a_replacement_that_fails_to_start_is_fatal_and_names_the_last_line(pool, children):
    children.failing["worker-3"] = "Traceback\n  File x\nImportError: gone"
    with pytest.raises(workers.FunctionTimedOut):
        pool.invoke({})
    assert wait_until(lambda: pool.fatal)
    assert pool.fatal == ["a replacement worker failed to start: ImportError: gone"]


def test_a_worker_ready_after_its_generation_was_abandoned_is_stopped(children):
    pool = workers.WorkerPool(SPEC, 1, lambda line: None)
    children.gate = threading.Event()
    generation = pool.start_generation(CODE)
    assert wait_until(lambda: children.started)
    pool.abandon(generation)
    children.gate.set()
    assert wait_until(lambda: children.stopped == [([101], workers.STOP_GRACE_SECONDS)])
    assert generation.ready[0].pid == 101 and pool.pids() == []
    pool.close()


def test_a_worker_ready_for_the_current_generation_joins_it(pool, children):
    generation = pool._generation
    children.gate = threading.Event()
    pool.fill(generation, 1)
    assert wait_until(lambda: len(children.started) == 3)
    children.gate.set()
    assert wait_until(lambda: pool.pids() == [101, 102, 103])
    assert pool.fatal == [] and children.stopped == []


def test_close_stops_every_worker_with_the_grace_and_refuses_more(pool, children):
    pool.close()
    assert sorted(pid for pids, _ in children.stopped for pid in pids) == [101, 102]
    assert {grace for _, grace in children.stopped} == {workers.STOP_GRACE_SECONDS}
    assert not pool._supervisor.is_alive()
    with pytest.raises(workers.PoolClosed):
        pool.invoke({})
    generation = workers.Generation(CODE, 1)
    pool._launch(generation)
    assert generation.errors == ["stopping"] and len(children.started) == 2
    assert pool.fatal == []


def test_a_pipe_error_after_close_is_pool_closed(pool, children):
    worker = pool._acquire()
    worker.conn.error = OSError()
    pool._idle.put(worker)
    pool._closed.set()
    with pytest.raises(workers.PoolClosed):
        pool.invoke({})


# --- a worker's loop, in this process ---------------------------------------------------


class Exited(Exception):
    pass


WARMED: list[str] = []


def handle(event, context):
    if event.get("filters"):  # the first warning filter, as the loop set it
        action, message = warnings.filters[0][:2]
        return action, message.pattern if message else None
    if event.get("raise"):
        raise RuntimeError("boom in /snapshot/functions/api/x.py")
    return {
        "event": event,
        "name": context.function_name,
        "timeout_ms": context.timeout_ms,
        "left_ms": context.get_remaining_time_in_millis(),
    }


def warm():
    WARMED.append("warm")


class Loop:
    def __init__(self, *events, send_error=None):
        self.events, self.sent, self.send_error = list(events), [], send_error

    def recv(self):
        event = self.events.pop(0)
        if isinstance(event, BaseException):
            raise event
        return event

    def send(self, value):
        if self.send_error and self.sent:
            raise self.send_error
        self.sent.append(value)


@pytest.fixture
def loop(monkeypatch):
    prepared, teed, codes = [], [], []
    monkeypatch.setattr(workers, "prepare_child", lambda code, env: prepared.append((code, env)))
    monkeypatch.setattr(workers.function_logs, "tee_output", lambda p, k: teed.append((p, k)))

    def exit_now(code=0):
        codes.append(code)
        raise Exited

    monkeypatch.setattr(workers, "exit_now", exit_now)

    def run(conn, spec):
        with warnings.catch_warnings(), pytest.raises(Exited):
            workers._worker_main(conn, spec, CODE)
        return prepared, teed, codes

    return run


def test_a_worker_reports_ready_then_answers_each_event_until_a_none(loop):
    WARMED.clear()
    spec = workers.WorkerSpec(
        f"{__name__}:handle", {"B": "2"}, "fn-x", 2.5, f"{__name__}:warm", "/logs/api.log"
    )
    conn = Loop({"n": 1}, {"raise": True}, {"filters": True}, None)
    prepared, teed, codes = loop(conn, spec)
    assert prepared == [(CODE, {"B": "2"})] and teed == [("/logs/api.log", "worker")]
    assert WARMED == ["warm"] and codes == [0]
    assert conn.sent[0] == ("ready", os.getpid())
    kind, reply = conn.sent[1]
    assert kind == "ok"
    assert (reply["event"], reply["name"], reply["timeout_ms"]) == ({"n": 1}, "fn-x", 2500)
    assert 2000 < reply["left_ms"] <= 2500
    kind, text = conn.sent[2]
    assert kind == "error" and len(conn.sent) == 4
    assert conn.sent[3] == ("ok", ("ignore", "No application metrics to publish"))
    assert "RuntimeError: boom in /user/functions/api/x.py" in text
    assert text.startswith("Traceback (most recent call last):")


def test_a_worker_whose_handler_does_not_import_reports_it_and_exits_1(loop):
    spec = workers.WorkerSpec("no_such_module_here:handle", {}, "fn", 1)
    conn = Loop()
    _, _, codes = loop(conn, spec)
    assert codes == [1] and len(conn.sent) == 1
    kind, text = conn.sent[0]
    assert kind == "failed" and "ModuleNotFoundError: No module named 'no_such_module_here'" in text


def test_a_worker_whose_warm_up_fails_reports_it(loop):
    spec = workers.WorkerSpec(f"{__name__}:handle", {}, "fn", 1, f"{__name__}:missing")
    conn = Loop()
    _, _, codes = loop(conn, spec)
    assert codes == [1] and conn.sent[0][0] == "failed" and "AttributeError" in conn.sent[0][1]


@pytest.mark.parametrize("error", [EOFError(), OSError()])
def test_a_worker_ends_when_its_parent_goes(loop, error):
    conn = Loop(error)
    _, _, codes = loop(conn, workers.WorkerSpec(f"{__name__}:handle", {}, "fn", 1))
    assert codes == [0] and conn.sent == [("ready", os.getpid())]


@pytest.mark.parametrize("error", [OSError(), ValueError()])
def test_a_worker_ends_when_its_reply_cannot_be_sent(loop, error):
    conn = Loop({"n": 1}, {"n": 2}, send_error=error)
    _, _, codes = loop(conn, workers.WorkerSpec(f"{__name__}:handle", {}, "fn", 1))
    assert codes == [0] and conn.events == [{"n": 2}]


def test_resolve_is_the_named_attribute_of_the_module():
    assert workers._resolve("os.path:join") is os.path.join


def test_a_reference_names_the_module_before_its_first_colon():
    with pytest.raises(AttributeError, match="'path:join'"):
        workers._resolve("os:path:join")


def test_a_retired_or_closed_pools_worker_is_stopped_not_replaced(pool, children):
    busy = pool._acquire()
    generation = pool.start_generation(workers.CodeVersion(5, "/s5", ()))
    generation.wait(2)
    pool.switch(generation)
    started = len(children.started)
    pool._replace(busy, "timed out")
    assert children.stopped[-1] == ([busy.pid], 0)
    assert pool.log_lines == [] and len(children.started) == started
    current = pool._acquire()
    pool._closed.set()
    pool._replace(current, "timed out")
    assert children.stopped[-1] == ([current.pid], 0)
    assert pool.log_lines == [] and len(children.started) == started


def test_waiting_for_an_idle_worker_ends_when_the_pool_closes(pool):
    busy = [pool._acquire(), pool._acquire()]
    outcome: list[BaseException] = []

    def acquire() -> None:
        try:
            pool._acquire()
        except workers.PoolClosed as closed:
            outcome.append(closed)

    thread = threading.Thread(target=acquire, daemon=True)
    thread.start()
    time.sleep(0.3)
    pool._closed.set()
    thread.join(3)
    assert not thread.is_alive() and len(outcome) == 1
    assert len(busy) == 2


class IdleQueue:
    """The idle queue: empty for the first ``empty`` gets, then the given workers."""

    def __init__(self, empty: int, *workers_):
        self.empty, self.items, self.timeouts = empty, list(workers_), []

    def get(self, timeout=None):
        self.timeouts.append(timeout)
        if self.empty:
            self.empty -= 1
            raise workers.queue.Empty
        return self.items.pop(0)

    def put(self, item):
        self.items.append(item)


def test_an_idle_wait_polls_in_tenths_and_goes_on_after_an_empty_one(pool):
    worker = pool._acquire()
    pool._idle = IdleQueue(2, worker)
    assert pool._acquire() is worker
    assert pool._idle.timeouts == [0.1, 0.1, 0.1]


def test_a_worker_outside_the_current_set_is_never_handed_out(pool, children):
    first, second = pool._acquire(), pool._acquire()
    stranger = workers.Worker(Process(999), Conn(), 9)  # not gone, not current
    pool._idle = IdleQueue(0, stranger, second)
    assert pool._acquire() is second
    assert children.stopped == [([999], workers.STOP_GRACE_SECONDS)]
    assert first.pid != 999
