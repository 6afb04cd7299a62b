"""`invoke local --host` binds where it is told (tests: localhost only), and what each
function writes lands in its local log file, read back as `invoke logs --env local` does."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.conftest import stop_local
from tests.e2e.test_devloop import functions_copy, launch  # noqa: F401 - a fixture
from tracking_ops.local import http_front
from tracking_ops.operate import logs
from tracking_stacks.definitions import API_FUNCTION, NOTIFIER_FUNCTION

API_MODULE = Path("tracking/tracking_api/api.py")
NOTIFIER_MODULE = Path("notifier/tracking_notifier/handler.py")


def wait_for_events(path: Path, seconds: float = 60) -> list[logs.LogEvent]:
    end = time.monotonic() + seconds
    while True:
        events = list(logs.LocalFileSource(path).events(0)) if path.is_file() else []
        if events or time.monotonic() > end:
            return events
        time.sleep(0.1)


def test_host_localhost_and_each_functions_output_in_its_log_file(functions_copy, tmp_path):  # noqa: F811
    for module, text in ((API_MODULE, "api imported"), (NOTIFIER_MODULE, "notifier imported")):
        with (functions_copy / module).open("a") as source:
            source.write(f"\nprint({text!r}, flush=True)\n")
    log_dir = tmp_path / "logs"
    api = launch(functions_copy, "--host", "localhost", "--log-dir", str(log_dir), "--no-reload")
    try:
        assert api.request("GET", "/health").status == 200
        assert not any(http_front.EXPOSED.split("{")[0] in line for line in api.log)
        api_events = wait_for_events(API_FUNCTION.local_log_file(log_dir))
        notifier_events = wait_for_events(NOTIFIER_FUNCTION.local_log_file(log_dir))
    finally:
        stop_local(api)
    assert [e.message for e in api_events] == ["api imported"]
    assert api_events[0].stream.startswith("worker-")
    assert [e.message for e in notifier_events] == ["notifier imported"]
    assert notifier_events[0].stream.startswith("feeder-")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "LOCALHOST"])
def test_loopback_hosts_warn_nothing(host):
    assert http_front.exposure_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "devbox.internal"])
def test_other_hosts_warn_in_one_line_that_the_api_is_unauthenticated(host):
    warning = http_front.exposure_warning(host)
    assert warning.startswith(f"warning: listening on {host}, not on loopback")
    assert "no authentication" in warning and "\n" not in warning
