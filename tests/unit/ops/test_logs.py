"""`invoke logs`: a function's log group read through filter_log_events (every page,
--since, --follow) against moto on 127.0.0.1; the local runtime's per-function log
file, written by a worker's tee and read back; the task's one-line errors and Ctrl-C."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from invoke import Context, Exit

from tests.unit.ops.test_workers import code_version, wait_until
from tracking_ops.local import function_logs, standin, workers
from tracking_ops.operate import logs
from tracking_ops.tasks import observe
from tracking_stacks.definitions import API_FUNCTION
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.unit
GROUP = API_FUNCTION.log_group_name("dev")
NOW = 1_796_630_400_000  # the fake clock's now, epoch ms


@pytest.fixture
def cloudwatch(moto_endpoint):
    """A fresh stand-in with the api function's log group of dev."""
    standin.reset(moto_endpoint)
    client = standin.StandIn(moto_endpoint, "dev").client("logs")
    client.create_log_group(logGroupName=GROUP)
    client.create_log_stream(logGroupName=GROUP, logStreamName="2026/12/07/[$LATEST]abc")
    return client


def put(client, *events: tuple[int, str], stream: str = "2026/12/07/[$LATEST]abc") -> None:
    client.put_log_events(
        logGroupName=GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": ts, "message": message} for ts, message in events],
    )


class CountingClient:
    """The logs client, counting the filter_log_events calls (pages)."""

    def __init__(self, client):
        self.client, self.pages, self.exceptions = client, 0, client.exceptions

    def filter_log_events(self, **request):
        self.pages += 1
        return self.client.filter_log_events(**request)


def test_every_page_is_read_in_order_and_each_event_is_one_line(cloudwatch):
    put(cloudwatch, *[(NOW - 60_000 + i, f"message {i}") for i in range(25)])
    counting = CountingClient(cloudwatch)
    source = logs.CloudWatchSource(counting, GROUP, page_size=10)

    events = list(logs.read(source, 600, clock=lambda: NOW))

    assert [e.message for e in events] == [f"message {i}" for i in range(25)]
    assert counting.pages >= 3  # 25 events, 10 a page: the nextToken was followed
    assert events[0].line() == "2026-12-07T07:59:00.000Z 2026/12/07/[$LATEST]abc message 0"


def test_since_leaves_out_older_events(cloudwatch):
    put(cloudwatch, (NOW - 20 * 60_000, "too old"), (NOW - 5 * 60_000, "recent"))
    source = logs.CloudWatchSource(cloudwatch, GROUP)
    assert [e.message for e in logs.read(source, logs.parse_since("10m"), lambda: NOW)] == [
        "recent"
    ]
    assert [e.message for e in logs.read(source, logs.parse_since("1h"), lambda: NOW)] == [
        "too old",
        "recent",
    ]


@pytest.mark.parametrize("text", ["10", "ten minutes", "0m", "5w", ""])
def test_a_bad_since_is_refused(text):
    with pytest.raises(logs.LogsError, match="--since"):
        logs.parse_since(text)


def test_a_missing_log_group_says_the_layer_may_not_be_deployed(moto_endpoint):
    standin.reset(moto_endpoint)
    client = standin.StandIn(moto_endpoint, "dev").client("logs")
    with pytest.raises(logs.LogsError, match="does not exist: is the compute layer deployed"):
        list(logs.read(logs.CloudWatchSource(client, GROUP), 600))


class Polls:
    """A stop event whose waits run the given steps, one per poll; set after the last."""

    def __init__(self, *steps):
        self.steps = list(steps)

    def wait(self, timeout: float) -> bool:
        if not self.steps:
            return True
        self.steps.pop(0)()
        return False


def test_follow_prints_each_new_event_once_until_stopped(cloudwatch):
    put(cloudwatch, (NOW - 1000, "first"), (NOW - 500, "second"))
    seen: list[str] = []
    polls = Polls(
        lambda: put(cloudwatch, (NOW - 500, "same millisecond"), (NOW + 100, "third")),
        lambda: None,  # a poll that finds nothing new
        lambda: put(cloudwatch, (NOW + 200, "fourth")),
    )

    emitted = logs.follow(
        logs.CloudWatchSource(cloudwatch, GROUP, page_size=2),
        60,
        polls,
        lambda event: seen.append(event.message),
        clock=lambda: NOW,
        poll_s=0,
    )

    assert seen == ["first", "second", "same millisecond", "third", "fourth"]
    assert emitted == 5


def test_follow_stops_when_its_event_is_set(cloudwatch):
    stop = threading.Event()
    stop.set()
    put(cloudwatch, (NOW, "only"))
    seen = []
    logs.follow(logs.CloudWatchSource(cloudwatch, GROUP), 60, stop, seen.append, lambda: NOW)
    assert [e.message for e in seen] == ["only"]


# --- the task ---------------------------------------------------------------------------


def test_the_task_prints_the_group_of_the_named_function(cloudwatch, monkeypatch, capsys):
    put(cloudwatch, (logs.now_ms() - 1000, "hello from api"))
    monkeypatch.setattr(observe, "_logs_client", lambda: cloudwatch)
    observe.logs(Context(), layer="compute", function="api", env="dev")
    (line,) = capsys.readouterr().out.splitlines()
    assert line.endswith(" 2026/12/07/[$LATEST]abc hello from api")


def test_an_unknown_function_lists_the_functions():
    with pytest.raises(Exit) as raised:
        observe.logs(Context(), function="worker")
    assert raised.value.code == 2
    assert raised.value.message == "error: unknown function 'worker'; functions: api, notifier"


def test_a_layer_without_functions_points_at_compute():
    with pytest.raises(Exit) as raised:
        observe.logs(Context(), layer="data", function="api")
    assert raised.value.code == 2 and "use --layer compute" in raised.value.message


def test_ctrl_c_while_following_is_one_line_and_exit_130(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(logs, "follow", interrupted)
    with pytest.raises(Exit) as raised:
        observe.logs(Context(), function="api", env="local", follow=True)
    assert raised.value.code == 130
    assert raised.value.message == "stopped following the logs of api"


# --- the local runtime's log files -------------------------------------------------------


def test_a_local_log_file_reads_back_what_the_tee_wrote(tmp_path):
    path = tmp_path / "api.log"
    terminal = io.StringIO()
    tee = function_logs.TeeToLog(terminal, path, "worker-7")
    tee.write("one line\npart")
    tee.write("ial line\n")
    tee.write("no newline yet")
    tee.flush()

    assert terminal.getvalue() == "one line\npartial line\nno newline yet"  # written through
    events = list(logs.LocalFileSource(path).events(0))
    assert [(e.stream, e.message) for e in events] == [
        ("worker-7", "one line"),
        ("worker-7", "partial line"),
    ]


def test_local_since_filters_on_the_written_time(tmp_path):
    path = tmp_path / "api.log"
    path.write_text(
        logs.local_line(NOW - 3_600_000, "w-1", "old") + logs.local_line(NOW, "w-1", "new")
    )
    source = logs.LocalFileSource(path)
    assert [e.message for e in logs.read(source, 600, lambda: NOW)] == ["new"]


def test_without_a_local_log_file_it_says_to_start_invoke_local(tmp_path):
    with pytest.raises(logs.LogsError, match="start `invoke local` first"):
        list(logs.LocalFileSource(tmp_path / "api.log").events(0))


def test_env_local_reads_the_functions_local_log_file(monkeypatch, tmp_path):
    monkeypatch.setattr("tracking_stacks.definitions.LOCAL_LOG_DIR", tmp_path)
    source = logs.source_for(logs.LOCAL_ENV, API_FUNCTION, lambda: pytest.fail("no AWS call"))
    assert source == logs.LocalFileSource(tmp_path / "api.log")
    assert logs.function_spec(Layer.COMPUTE, "api") is API_FUNCTION


PRINTING = """
print("imported")


def handle(event, context):
    print("handling", event["n"])
    return {}
"""


def test_a_workers_output_goes_to_the_functions_log_file(tmp_path):
    log_file = function_logs.start_log(tmp_path, API_FUNCTION.what)
    spec = workers.WorkerSpec(
        handler="poolfn.handlers:handle",
        environment={},
        function_name="fn",
        timeout_s=5,
        log_file=str(log_file),
    )
    pool = workers.WorkerPool(spec, 1, lambda line: None)
    try:
        generation = pool.start_generation(code_version(tmp_path / "code", 1, PRINTING))
        generation.wait(1)
        pool.switch(generation)
        pool.invoke({"n": 42})
        source = logs.LocalFileSource(log_file)
        assert wait_until(lambda: len(list(source.events(0))) == 2)
        (pid,) = pool.pids()
        assert [(e.stream, e.message) for e in source.events(0)] == [
            (f"worker-{pid}", "imported"),
            (f"worker-{pid}", "handling 42"),
        ]
    finally:
        pool.close()


def test_a_runtime_start_empties_the_last_runs_log(tmp_path):
    path = API_FUNCTION.local_log_file(tmp_path)
    path.write_text(logs.local_line(NOW, "w-1", "last run"))
    assert function_logs.start_log(tmp_path, API_FUNCTION.what) == path
    assert path.read_text() == "" and Path(path).is_file()
