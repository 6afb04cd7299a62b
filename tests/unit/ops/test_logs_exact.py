"""`invoke logs`' parts with exact values (issue 28): --since, the function lookup's
errors, filter_log_events' requests and pages (a recording fake client), the local log
file's lines, an event's printed line and follow's once-only polls."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tracking_ops.operate import logs
from tracking_stacks.definitions import API_FUNCTION, FUNCTIONS
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.unit
NOW = 1_796_630_400_000  # epoch ms: 2026-12-07T08:00:00Z


class NotFound(Exception):
    pass


class FakeLogs:
    """filter_log_events answering the given pages in turn, recording each request."""

    class exceptions:  # noqa: N801 - boto3's attribute name
        ResourceNotFoundException = NotFound

    def __init__(self, *pages):
        self.pages = list(pages)
        self.requests: list[dict] = []

    def filter_log_events(self, **request):
        self.requests.append(dict(request))
        page = self.pages.pop(0)
        if isinstance(page, Exception):
            raise page
        return page


# --- --since and the function's lookup ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("1s", 1), ("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400)]
)
def test_since_is_seconds_of_its_unit(text, seconds):
    assert logs.parse_since(text) == seconds
    assert logs.parse_since(f" {text} ") == seconds


@pytest.mark.parametrize("text", ["0s", "m", "10x", "1.5h", "-1m", "10mm"])
def test_a_bad_since_is_one_exact_line(text):
    with pytest.raises(logs.LogsError) as raised:
        logs.parse_since(text)
    assert str(raised.value) == (
        f"--since {text!r}: expected a number with s, m, h or d (e.g. 10m)"
    )


def test_the_function_lookup_names_every_function_when_it_fails():
    names = ", ".join(spec.what for spec in FUNCTIONS)
    assert logs.function_names() == names
    with pytest.raises(logs.LogsError) as unknown:
        logs.function_spec(Layer.COMPUTE, "nope")
    assert str(unknown.value) == f"unknown function 'nope'; functions: {names}"
    with pytest.raises(logs.LogsError) as layer:
        logs.function_spec(Layer.DATA, API_FUNCTION.what)
    assert str(layer.value) == (
        f"the {Layer.DATA.value} layer has no functions: use --layer "
        f"{Layer.COMPUTE.value} (functions: {names})"
    )
    assert [logs.function_spec(Layer.COMPUTE, s.what) for s in FUNCTIONS] == list(FUNCTIONS)


# --- an event's line ------------------------------------------------------------------------


def test_an_event_line_is_utc_time_to_the_millisecond_stream_and_message():
    event = logs.LogEvent(NOW + 7, "stream-a", "hello  \n")
    assert event.line() == "2026-12-07T08:00:00.007Z stream-a hello"
    assert logs.LogEvent(NOW + 123_456, "s", "m").line() == "2026-12-07T08:02:03.456Z s m"
    assert list(logs.lines([event, logs.LogEvent(NOW, "b", "x")])) == [
        "2026-12-07T08:00:00.007Z stream-a hello",
        "2026-12-07T08:00:00.000Z b x",
    ]


# --- CloudWatch ---------------------------------------------------------------------------


def test_the_first_request_asks_the_group_from_the_start_a_page_at_a_time():
    client = FakeLogs({"events": []})
    assert list(logs.CloudWatchSource(client, "g", page_size=7).events(NOW)) == []
    assert client.requests == [{"logGroupName": "g", "startTime": NOW, "limit": 7}]
    default = FakeLogs({})
    assert list(logs.CloudWatchSource(default, "g").events(1)) == []
    assert default.requests == [{"logGroupName": "g", "startTime": 1, "limit": logs.PAGE_SIZE}]


def test_each_next_token_is_followed_and_a_repeated_one_ends_the_read():
    client = FakeLogs(
        {
            "events": [{"timestamp": 1, "logStreamName": "s", "message": "a", "eventId": "e1"}],
            "nextToken": "t1",
        },
        {"events": [{"timestamp": 2}], "nextToken": "t2"},
        {"events": [{"timestamp": 3, "message": "c"}], "nextToken": "t2"},
    )
    events = list(logs.CloudWatchSource(client, "g", page_size=1).events(0))
    assert events == [
        logs.LogEvent(1, "s", "a", "e1"),
        logs.LogEvent(2, "", "", ""),
        logs.LogEvent(3, "", "c", ""),
    ]
    assert [r.get("nextToken") for r in client.requests] == [None, "t1", "t2"]
    assert all(r["startTime"] == 0 and r["limit"] == 1 for r in client.requests)


def test_a_page_without_a_token_is_the_last():
    client = FakeLogs({"events": [{"timestamp": 5}], "nextToken": ""}, {"events": []})
    assert len(list(logs.CloudWatchSource(client, "g").events(0))) == 1
    assert len(client.requests) == 1


def test_a_missing_group_is_one_line_naming_it_and_the_layer():
    client = FakeLogs(NotFound())
    with pytest.raises(logs.LogsError) as raised:
        list(logs.CloudWatchSource(client, "/aws/lambda/x").events(0))
    assert str(raised.value) == (
        f"log group /aws/lambda/x does not exist: is the {Layer.COMPUTE.value} layer "
        "deployed in this env?"
    )
    assert raised.value.__suppress_context__


def test_a_deployed_env_reads_the_functions_group_through_the_factory():
    client = FakeLogs()
    source = logs.source_for("dev", API_FUNCTION, lambda: client)
    assert source == logs.CloudWatchSource(client, API_FUNCTION.log_group_name("dev"))


def test_read_starts_since_seconds_before_the_clock():
    client = FakeLogs({"events": []})
    list(logs.read(logs.CloudWatchSource(client, "g"), 90, clock=lambda: NOW))
    assert client.requests[0]["startTime"] == NOW - 90_000


def test_now_is_epoch_milliseconds(monkeypatch):
    monkeypatch.setattr(logs.time, "time", lambda: 1_796_630_400.1239)
    assert logs.now_ms() == 1_796_630_400_123


# --- the local log file ---------------------------------------------------------------------


def test_a_local_line_is_tab_separated_with_one_newline():
    assert logs.local_line(12, "w-1", "hi\n\n") == "12\tw-1\thi\n"
    assert logs.local_line(12, "w-1", "a\tb") == "12\tw-1\ta\tb\n"


def test_the_local_file_yields_lines_at_or_after_start_and_skips_the_rest(tmp_path):
    path = tmp_path / "api.log"
    path.write_bytes(
        (
            logs.local_line(99, "w-1", "before")
            + logs.local_line(100, "w-1", "at start")
            + "not a stamp\tw-1\tx\n"
            + "\n"
            + logs.local_line(101, "w-2", "a\tb")
        ).encode()
        + b"102\tw-2\tcaf\xe9\n"
    )
    events = list(logs.LocalFileSource(path).events(100))
    assert events == [
        logs.LogEvent(100, "w-1", "at start", f"{path}:2"),
        logs.LogEvent(101, "w-2", "a\tb", f"{path}:5"),
        logs.LogEvent(102, "w-2", "caf\ufffd", f"{path}:6"),
    ]


def test_without_the_file_the_message_names_it(tmp_path):
    path = tmp_path / "api.log"
    with pytest.raises(logs.LogsError) as raised:
        list(logs.LocalFileSource(path).events(0))
    assert str(raised.value) == (
        f"no local logs yet ({path} does not exist): start `invoke local` first"
    )


# --- follow -------------------------------------------------------------------------------


class Scripted:
    """A source answering each poll with the next list of events, recording its starts."""

    def __init__(self, *polls):
        self.polls = list(polls)
        self.starts: list[int] = []

    def events(self, start_ms):
        self.starts.append(start_ms)
        return iter(self.polls.pop(0))


class Stop:
    def __init__(self, polls: int):
        self.left, self.timeouts = polls, []

    def wait(self, timeout):
        self.timeouts.append(timeout)
        self.left -= 1
        return self.left < 0


def test_follow_emits_each_event_once_and_starts_each_poll_at_the_newest_seen():
    e = logs.LogEvent
    source = Scripted(
        [e(NOW - 5, "s", "a", "1"), e(NOW - 2, "s", "b", "2")],
        [e(NOW - 2, "s", "b", "2"), e(NOW - 2, "s", "c", "3"), e(NOW + 1, "s", "d", "4")],
        [e(NOW + 1, "s", "d", "4")],
        [],
    )
    stop = Stop(3)
    seen: list[str] = []
    emitted = logs.follow(source, 10, stop, lambda ev: seen.append(ev.message), lambda: NOW, 0.25)
    assert seen == ["a", "b", "c", "d"]
    assert emitted == 4
    assert source.starts == [NOW - 10_000, NOW - 2, NOW + 1, NOW + 1]
    assert stop.timeouts == [0.25] * 4


def test_follow_tells_events_without_an_id_by_time_stream_and_message():
    e = logs.LogEvent
    source = Scripted(
        [e(NOW, "s", "x"), e(NOW, "t", "x"), e(NOW, "s", "y")],
        [e(NOW, "s", "x"), e(NOW, "s", "z"), e(NOW, "t", "x")],
    )
    seen: list[tuple[str, str]] = []
    emitted = logs.follow(
        source, 1, Stop(1), lambda ev: seen.append((ev.stream, ev.message)), lambda: NOW, 0
    )
    assert seen == [("s", "x"), ("t", "x"), ("s", "y"), ("s", "z")]
    assert emitted == 4
    assert source.starts == [NOW - 1000, NOW]


def test_follow_with_nothing_new_keeps_its_start_and_its_default_poll(monkeypatch):
    source = Scripted([], [])
    stop = Stop(1)
    assert logs.follow(source, 60, stop, pytest.fail, lambda: NOW) == 0
    assert source.starts == [NOW - 60_000] * 2
    assert stop.timeouts == [logs.FOLLOW_POLL_SECONDS] * 2


def test_only_newlines_are_cut_from_a_messages_end(tmp_path):
    assert logs.local_line(1, "w", "ends X \n") == "1\tw\tends X \n"
    assert logs.local_line(1, "w", "endsX\n") == "1\tw\tendsX\n"
    path = tmp_path / "api.log"
    path.write_text("5\tw\tends X \n5\tw\tXnX\n")
    assert [e.message for e in logs.LocalFileSource(path).events(0)] == ["ends X ", "XnX"]


def test_an_event_line_is_utc_whatever_the_local_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert logs.LogEvent(NOW, "s", "m").line() == "2026-12-07T08:00:00.000Z s m"
    finally:
        monkeypatch.undo()
        time.tzset()


READ_BACK = "from tracking_ops.operate import logs; import sys; print(ascii([e.message for e in logs.LocalFileSource(logs.Path(sys.argv[1])).events(0)]))"


def test_a_local_file_is_read_as_utf8_under_any_locale(tmp_path):
    """The runtime writes UTF-8; an ASCII locale (LC_ALL=C, no coercion) reads it the same."""
    path = tmp_path / "api.log"
    path.write_bytes(logs.local_line(1, "w", "café ✓").encode())
    assert [e.message for e in logs.LocalFileSource(path).events(0)] == ["café ✓"]
    ascii_locale = {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    env = {**os.environ, **ascii_locale, "PYTHONPATH": os.pathsep.join(sys.path)}
    read = subprocess.run(
        [sys.executable, "-c", READ_BACK, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a bounded wait: a hung child fails the test, not the run
    )
    assert (read.returncode, read.stdout) == (0, ascii(["café ✓"]) + "\n"), read.stderr
