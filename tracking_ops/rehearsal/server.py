"""Start, find and stop the rehearsal's moto server: a process group of its own that
outlives `invoke rehearse` until `invoke rehearse --down`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tracking_ops.rehearsal.moto_process import ENDPOINT_FILE
from tracking_ops.rehearsal.switch import SERVER_LOG, RehearsalError

START_WAIT_S = 120.0  # importing moto on a busy 2-core machine, with margin
STOP_WAIT_S = 15.0
POLL_S = 0.1
PROBE_TIMEOUT_S = 5.0


def start(folder: Path) -> tuple[int, str]:
    """A new moto server for ``folder``: (pid, endpoint). Its own session, so a Ctrl-C
    in the terminal reaches only the task, which then decides what to stop."""
    (folder / ENDPOINT_FILE).unlink(missing_ok=True)
    with open(folder / SERVER_LOG, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tracking_ops.rehearsal.moto_process", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_WAIT_S
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RehearsalError(
                    f"the moto server exited with {process.returncode} before listening; "
                    f"see {folder / SERVER_LOG}"
                )
            endpoint_file = folder / ENDPOINT_FILE
            if endpoint_file.is_file():
                endpoint = endpoint_file.read_text().strip()
                if answers(endpoint):
                    return process.pid, endpoint
            time.sleep(POLL_S)
        raise RehearsalError(f"the moto server did not listen within {START_WAIT_S:.0f}s")
    except BaseException:
        stop(process.pid)
        raise


# moto's own settings (JSON naming its services). Not ``/moto-api/data.json``: that
# dumps every backend, and once a Lambda function exists it asks Docker and fails (500).
PROBE_PATH = "/moto-api/config"


def answers(endpoint: str) -> bool:
    """moto's server is there and answering at ``endpoint``."""
    try:
        with urllib.request.urlopen(  # noqa: S310 - loopback URL written by our server
            f"{endpoint}{PROBE_PATH}", timeout=PROBE_TIMEOUT_S
        ) as reply:
            return reply.status < 300 and isinstance(json.loads(reply.read()), dict)
    except (OSError, ValueError):
        return False


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop(pid: int, wait: Callable[[float], None] = time.sleep) -> None:
    """SIGTERM to the server's process group, SIGKILL after STOP_WAIT_S; returns once
    it is gone (reaped, when it is our child)."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signum)
        deadline = time.monotonic() + STOP_WAIT_S
        while time.monotonic() < deadline:
            _reap(pid)
            if not alive(pid):
                return
            wait(POLL_S)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
