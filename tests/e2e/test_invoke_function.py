"""`invoke invoke-function NAME --event FILE`: each sample event of events/ run through the
task (a process of its own, as a user runs it: the handler is imported fresh there),
its result alone on stdout; bad requests are one line and exit 2 before anything starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tracking_ops.local.invoke_one import EVENTS_DIR
from tracking_stacks.definitions import REPO_ROOT


def invoke_function(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "invoke", "invoke-function", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def result_of(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)  # stdout is exactly the result: one JSON document


def test_post_track_stores_the_update_and_answers_201():
    reply = result_of(invoke_function("api", "--event", str(EVENTS_DIR / "api-post-track.json")))
    assert reply["statusCode"] == 201
    body = json.loads(reply["body"])
    assert (body["tracking_id"], body["status"]) == ("PARCEL-1", "in_transit")
    assert body["event_id"]


def test_get_status_reaches_the_read_path_of_a_fresh_table():
    reply = result_of(invoke_function("api", "--event", str(EVENTS_DIR / "api-get-status.json")))
    assert reply["statusCode"] == 404  # the stand-in is new for each run: no parcel yet
    assert json.loads(reply["body"])["error"]["code"] == "not_found"


def test_a_stream_batch_is_handled_without_a_failed_record():
    reply = result_of(
        invoke_function("notifier", "--event", str(EVENTS_DIR / "notifier-stream-batch.json"))
    )
    assert reply == {"batchItemFailures": []}


def test_a_handler_that_raises_prints_lambdas_error_and_exits_1(tmp_path):
    event = tmp_path / "broken.json"
    event.write_text(json.dumps({"Records": "not a list"}))
    done = invoke_function("notifier", "--event", str(event))
    assert done.returncode == 1
    error = json.loads(done.stdout)
    assert set(error) == {"errorMessage", "errorType"}
    assert done.stderr.strip().splitlines()[-1].startswith("error: notifier raised ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("worker", "--event", "x.json"),
            "error: unknown function 'worker'; functions: api, notifier",
        ),
        (("api", "--event", "missing.json"), "error: event file 'missing.json' not found"),
        (("api",), "error: event file '' not found"),
        (("api", "--event", "README.md"), "error: event file README.md is not JSON:"),
        (("api", "--event", "constraints.txt"), "error: event file constraints.txt is not JSON:"),
    ],
)
def test_a_bad_request_is_one_line_and_exit_2(args, message):
    done = invoke_function(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(message)


def test_an_event_that_is_not_an_object_is_refused(tmp_path):
    event = tmp_path / "list.json"
    event.write_text("[1, 2]")
    done = invoke_function("api", "--event", str(event))
    assert done.returncode == 2 and "a Lambda event is a JSON object" in done.stderr


def test_every_sample_event_is_exercised():
    tested = Path(__file__).read_text()
    assert {path.name for path in EVENTS_DIR.glob("*.json")} <= {
        name for name in (p.name for p in EVENTS_DIR.iterdir()) if name in tested
    }


def test_what_the_function_writes_goes_to_stderr_not_into_the_result(tmp_path):
    event = json.loads((EVENTS_DIR / "api-post-track.json").read_text())
    event["body"] = json.dumps({"tracking_id": 5})  # a 400: the function records a metric
    path = tmp_path / "invalid.json"
    path.write_text(json.dumps(event))
    done = invoke_function("api", "--event", str(path))
    reply = result_of(done)
    assert reply["statusCode"] == 400
    assert "ValidationFailures" in done.stderr  # the metric line, on stderr
