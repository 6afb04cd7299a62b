"""Ctrl-C in `invoke load` and `invoke bench`, as a terminal sends it (SIGINT to the
task's process group): one line saying what stopped and what was measured by then, exit
code 130, no traceback; and the progress they show while they run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

import pytest

from tests.helpers import serve_on_loopback
from tracking_ops.measure import load
from tracking_stacks.definitions import REPO_ROOT


class _FakeApi(BaseHTTPRequestHandler):
    """POST /track answered 201 with a new event id, as the API answers a new update."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply = json.dumps({"tracking_id": body["tracking_id"], "event_id": uuid.uuid4().hex})
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_api():
    with serve_on_loopback(_FakeApi) as url:
        yield url


def interrupt_when(args: list[str], marker: str, timeout: float = 600) -> tuple[int, str, str]:
    """Run ``invoke *args`` in a process group of its own, SIGINT the group once a line
    with ``marker`` is on its stderr (as Ctrl-C on a terminal); its exit code and output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    seen = []
    try:
        for line in process.stderr:
            seen.append(line)
            if marker in line:
                os.killpg(process.pid, signal.SIGINT)
                break
        out, rest = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, out, "".join(seen) + rest


def test_load_shows_updates_and_requests_per_second_and_ctrl_c_prints_the_partial_figures(
    fake_api,
):
    code, out, err = interrupt_when(
        ["load", "--url", fake_api, "--clients", "2", "--requests", "1000000"], "requests/s"
    )

    assert code == 130
    assert "Traceback" not in err
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert progress[0].startswith("[") and " of " not in progress[0]
    done, total = progress[0][1:].split("]")[0].split("/")
    assert int(total) == 2_000_000 and int(done) >= 1
    assert "requests/s" in progress[0] and "eta" in progress[0]
    last = err.splitlines()[-1]
    assert [line for line in err.splitlines() if "interrupted" in line] == [last]
    assert last.startswith("interrupted: load; ")
    updates = int(last.split("; ")[1].split(" of ")[0])
    assert updates >= int(done)  # at least what the progress line showed
    assert " of 2000000 updates in " in last and "requests/s, p50 " in last
    assert "statuses {201: " in last and last.endswith("consistency not checked")


def test_load_ctrl_c_in_process_stops_every_client(fake_api):
    """The clients end after their request in flight: nothing goes on after the task."""
    before = set(threading.enumerate())
    main = threading.main_thread().ident

    class CtrlCAfterFive(load.Progress):
        def advance(self, steps=1, note=None):
            super().advance(steps, note)
            if self.done == 5:
                # A real SIGINT to the main thread, blocked in join() as in the task (a
                # simulated one, _thread.interrupt_main, would not wake it up).
                signal.pthread_kill(main, signal.SIGINT)

    shown = CtrlCAfterFive("load", 10**6, tty=False, interval=60)
    with pytest.raises(load.Interrupted) as stopped:
        load.run_load(fake_api, clients=3, per_client=10**6, parcels=2, progress=shown)

    # no client thread left (the fake API's own request threads may still be finishing
    # the reply to a request its client already has: they are the server's, not load's)
    def left() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if "process_request_thread" not in t.name}

    settled = time.monotonic() + 10  # a thread that has returned may still be unwinding
    while not left() <= before and time.monotonic() < settled:
        time.sleep(0.05)
    assert left() <= before, left() - before
    assert stopped.value.what == "load" and " of 3000000 updates in " in stopped.value.done
    assert int(stopped.value.done.split(" of ")[0]) == shown.done >= 5


def test_bench_shows_its_phases_and_ctrl_c_prints_the_rows_measured():
    code, out, err = interrupt_when(
        ["bench", "--pairs", "1", "--samples", "100000"], "bench 4/7 warm requests"
    )

    assert code == 130
    assert "Traceback" not in err
    for phase in ("1/7 stand-in", "2/7 cold POST /track", "3/7 cold GET /status"):
        assert f"bench {phase}" in err
    assert "[2/2] bench 2/7 cold POST /track  took " in err
    # The rows of the two cold phases, which had finished: no warm row yet.
    rows = out.splitlines()
    assert rows[0].startswith("measure")
    assert [row[:34].strip() for row in rows[1:]] == [
        "cold start -> first POST /track",
        "cold start -> one raw put_item",
        "cold start -> first GET /status",
        "cold start -> one raw query",
    ]
    last = err.splitlines()[-1]
    assert [line for line in err.splitlines() if "interrupted" in line] == [last]
    assert last.startswith("interrupted: bench; 4 rows measured (above); stopped in bench 4/7 ")
    assert last.endswith("; no figures written")
