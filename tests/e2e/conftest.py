"""The local runtime as a real process on a free port, started once per session."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Reply
from tracking_stacks.definitions import REPO_ROOT

BANNER = re.compile(r"Tracking API listening on (http://127\.0\.0\.1:\d+)")
STANDIN = re.compile(r"AWS stand-in \(moto\) at (http://127\.0\.0\.1:\d+)")
MARKER = "TRACKING_E2E_RUN"


@dataclass
class LocalApi:
    url: str
    standin: str
    process: subprocess.Popen
    startup_seconds: float

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())


def processes_with_marker(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def start_local(
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = ("--workers", "4"),
    new_session: bool = False,
) -> LocalApi:
    """``new_session``: the runtime leads a process group of its own (to signal the group)."""
    marker = f"{MARKER}={uuid.uuid4()}"
    env = {**os.environ, MARKER: marker.split("=", 1)[1], **(extra_env or {})}
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "tracking_ops.local.serve", "--port", "0", *args],
        cwd=REPO_ROOT,
        start_new_session=new_session,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = standin = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (url and standin):
        line = process.stdout.readline()
        if not line:
            break
        url = url or (m.group(1) if (m := BANNER.search(line)) else None)
        standin = standin or (m.group(1) if (m := STANDIN.search(line)) else None)
    if not (url and standin):
        process.kill()
        raise RuntimeError(f"invoke local did not start: {process.stdout.read()}")
    api = LocalApi(url, standin, process, 0.0)
    while api.request("GET", "/health").status != 200:
        time.sleep(0.05)
    api.startup_seconds = time.monotonic() - started
    api.marker = marker  # type: ignore[attr-defined]
    return api


def stop_local(api: LocalApi) -> None:
    api.process.send_signal(signal.SIGTERM)
    try:
        api.process.wait(timeout=30)
    finally:
        if api.process.poll() is None:
            api.process.kill()


@pytest.fixture(scope="session")
def local_api() -> Iterator[LocalApi]:
    api = start_local()
    # Drain the log in the background so the pipe never fills up.
    import threading

    log: list[str] = []
    threading.Thread(target=lambda: log.extend(api.process.stdout), daemon=True).start()
    api.log = log  # type: ignore[attr-defined]
    yield api
    stop_local(api)
    assert api.process.returncode == 0, "".join(log[-20:])
    time.sleep(0.5)
    assert processes_with_marker(api.marker.split("=", 1)[1]) == [], "processes left behind"
