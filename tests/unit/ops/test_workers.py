"""The local runtime's worker pool, with a tiny function instead of the API: code
generations, the per-invocation timeout, crashes, kills from outside, stop signals."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tracking_ops.local import workers

pytestmark = pytest.mark.unit

FUNCTION = """
import os
import time

VERSION = "{version}"


def handle(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("raise"):
        raise RuntimeError("boom")
    if event.get("exit"):
        os._exit(3)
    return {{"version": VERSION, "pid": os.getpid(), "timeout_ms": context.timeout_ms}}
"""


def code_version(root: Path, generation: int, source: str) -> workers.CodeVersion:
    package = root / f"gen{generation}" / "poolfn"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "handlers.py").write_text(source)
    return workers.CodeVersion(generation, str(root), (str(package.parent),))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def wait_until(predicate, seconds: float = 20) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def pool(tmp_path):
    log: list[str] = []
    fatal: list[str] = []
    spec = workers.WorkerSpec(
        handler="poolfn.handlers:handle", environment={}, function_name="fn", timeout_s=1.5
    )
    created = workers.WorkerPool(spec, 2, log.append, on_fatal=fatal.append)
    generation = created.start_generation(code_version(tmp_path, 1, FUNCTION.format(version="v1")))
    generation.wait(2)
    created.switch(generation)
    created.log_lines, created.fatal = log, fatal  # type: ignore[attr-defined]
    yield created
    created.close()


def test_invocations_run_the_code_and_get_the_functions_timeout(pool):
    reply = pool.invoke({})
    assert reply["version"] == "v1" and reply["timeout_ms"] == 1500
    assert reply["pid"] in pool.pids()


def test_overrunning_the_timeout_kills_and_replaces_the_worker(pool):
    before = pool.pids()
    started = time.monotonic()
    with pytest.raises(workers.FunctionTimedOut, match="Task timed out after 1.50 seconds"):
        pool.invoke({"sleep": 30})
    assert time.monotonic() - started < 15  # cut at the timeout, not after the sleep
    killed = [line for line in pool.log_lines if "timed out after 1.5s: killed" in line]
    assert len(killed) == 1
    pid = int(killed[0].split()[1])
    assert pid in before and not alive(pid)
    assert wait_until(lambda: len(pool.pids()) == 2)
    assert pool.invoke({})["version"] == "v1"


def test_an_unhandled_error_is_a_function_error_and_the_worker_stays(pool):
    before = pool.pids()
    with pytest.raises(workers.FunctionFailed, match="RuntimeError: boom"):
        pool.invoke({"raise": True})
    assert pool.pids() == before
    assert not pool.log_lines  # nothing was replaced


def test_a_worker_that_exits_mid_invocation_is_replaced(pool):
    with pytest.raises(workers.FunctionFailed, match="exited"):
        pool.invoke({"exit": True})
    # Whichever notices first (the invocation, or the watch on idle workers) replaces it, once.
    assert len([line for line in pool.log_lines if "exited" in line]) == 1
    assert wait_until(lambda: len(pool.pids()) == 2)
    assert pool.invoke({})["version"] == "v1"


def test_a_worker_killed_from_outside_is_replaced(pool):
    victim = pool.pids()[0]
    os.kill(victim, signal.SIGKILL)
    assert wait_until(lambda: victim not in pool.pids() and len(pool.pids()) == 2)
    assert any(f"worker {victim} exited (exit code -9)" in line for line in pool.log_lines)
    assert {pool.invoke({})["pid"] for _ in range(4)} <= set(pool.pids())


def test_workers_ignore_stop_signals_the_parent_owns_the_stop(pool):
    for pid in pool.pids():
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGINT)
    time.sleep(0.5)
    assert all(alive(pid) for pid in pool.pids())
    assert pool.invoke({})["version"] == "v1"


def test_a_new_generation_serves_and_the_old_workers_stop(pool, tmp_path):
    old = pool.pids()
    generation = pool.start_generation(code_version(tmp_path, 2, FUNCTION.format(version="v2")))
    generation.wait(1)
    pool.switch(generation)
    assert pool.invoke({})["version"] == "v2"
    assert wait_until(lambda: not any(alive(pid) for pid in old))
    assert wait_until(lambda: len(pool.pids()) == 2)


def test_code_that_does_not_import_keeps_the_last_good_generation(pool, tmp_path):
    broken = code_version(tmp_path, 2, FUNCTION.format(version="v2") + "\ndef broken(:\n")
    generation = pool.start_generation(broken)
    with pytest.raises(workers.StartupFailed, match="SyntaxError"):
        generation.wait(1)
    pool.abandon(generation)
    assert pool.invoke({})["version"] == "v1"
    assert not pool.fatal


def test_close_stops_busy_workers_within_the_grace(tmp_path):
    spec = workers.WorkerSpec("poolfn.handlers:handle", {}, "fn", timeout_s=60)
    pool = workers.WorkerPool(spec, 1, lambda line: None)
    generation = pool.start_generation(code_version(tmp_path, 1, FUNCTION.format(version="v1")))
    generation.wait(1)
    pool.switch(generation)
    pids = pool.pids()
    errors: list[BaseException] = []

    def busy() -> None:
        try:
            pool.invoke({"sleep": 60})
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    import threading

    thread = threading.Thread(target=busy)
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    pool.close()
    thread.join(10)
    print(f"close with a busy worker: {time.monotonic() - started:.2f}s")
    assert not thread.is_alive()
    assert errors and isinstance(errors[0], workers.PoolClosed)
    assert not any(alive(pid) for pid in pids)
    with pytest.raises(workers.PoolClosed):
        pool.invoke({})
