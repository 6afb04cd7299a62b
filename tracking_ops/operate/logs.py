"""`invoke logs`: one function's log events, one line each (time, stream, message).

A deployed env's come from the function's CloudWatch log group (its name:
FunctionSpec.log_group_name, the one the compute stack creates) through
``filter_log_events``, every page of it; ``--env local`` reads the file `invoke local`
writes per function (FunctionSpec.local_log_file, in the format ``local_line`` writes).
``follow`` polls for new events until its stop event is set (Ctrl-C in the task).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tracking_stacks.definitions import FUNCTIONS, FunctionSpec
from tracking_stacks.registry import Layer

LOCAL_ENV = "local"  # `--env local`: the local runtime's logs
DEFAULT_SINCE = "10m"
FOLLOW_POLL_SECONDS = 2.0
PAGE_SIZE = 10_000  # filter_log_events' maximum events per page
FIELD_SEPARATOR = "\t"  # between time, stream and message in a local log file
FUNCTION_LAYER = Layer.COMPUTE  # the layer whose stack creates the functions and their groups
SINCE = re.compile(r"^(\d+)(s|m|h|d)$")
SINCE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class LogsError(Exception):
    """One line: what is wrong with the request for logs."""


@dataclass(frozen=True)
class LogEvent:
    timestamp_ms: int
    stream: str
    message: str
    event_id: str = ""

    def line(self) -> str:
        when = datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        return f"{stamp} {self.stream} {self.message.rstrip()}"


def function_names() -> str:
    return ", ".join(spec.what for spec in FUNCTIONS)


def function_spec(layer: Layer, name: str) -> FunctionSpec:
    """The function ``name`` of ``layer``; LogsError listing the functions otherwise."""
    if layer is not FUNCTION_LAYER:
        raise LogsError(
            f"the {layer.value} layer has no functions: use --layer {FUNCTION_LAYER.value} "
            f"(functions: {function_names()})"
        )
    for spec in FUNCTIONS:
        if spec.what == name:
            return spec
    raise LogsError(f"unknown function {name!r}; functions: {function_names()}")


def parse_since(text: str) -> int:
    """Seconds from ``90s``, ``10m``, ``2h`` or ``1d``."""
    match = SINCE.match(text.strip())
    if not match or int(match.group(1)) < 1:
        raise LogsError(f"--since {text!r}: expected a number with s, m, h or d (e.g. 10m)")
    return int(match.group(1)) * SINCE_UNITS[match.group(2)]


# ---- where events come from ------------------------------------------------------------


class Source(Protocol):
    def events(self, start_ms: int) -> Iterator[LogEvent]:
        """Events at or after ``start_ms``, oldest first."""


@dataclass
class CloudWatchSource:
    """A log group read through ``filter_log_events``, following ``nextToken``."""

    client: Any  # a boto3 "logs" client
    group: str
    page_size: int = PAGE_SIZE

    def events(self, start_ms: int) -> Iterator[LogEvent]:
        request: dict[str, Any] = {
            "logGroupName": self.group,
            "startTime": start_ms,
            "limit": self.page_size,
        }
        while True:
            try:
                page = self.client.filter_log_events(**request)
            except self.client.exceptions.ResourceNotFoundException:
                raise LogsError(
                    f"log group {self.group} does not exist: is the {FUNCTION_LAYER.value} "
                    "layer deployed in this env?"
                ) from None
            for event in page.get("events", []):
                yield LogEvent(
                    event["timestamp"],
                    event.get("logStreamName", ""),
                    event.get("message", ""),
                    event.get("eventId", ""),
                )
            token = page.get("nextToken")
            if not token or token == request.get("nextToken"):
                return
            request["nextToken"] = token


def local_line(timestamp_ms: int, stream: str, message: str) -> str:
    """One line of a local log file (what LocalFileSource reads back)."""
    return FIELD_SEPARATOR.join((str(timestamp_ms), stream, message.rstrip("\n"))) + "\n"


@dataclass
class LocalFileSource:
    """The file the local runtime writes a function's output to (local_line per line)."""

    path: Path

    def events(self, start_ms: int) -> Iterator[LogEvent]:
        if not self.path.is_file():
            raise LogsError(
                f"no local logs yet ({self.path} does not exist): start `invoke local` first"
            )
        with self.path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                stamp, _, rest = line.partition(FIELD_SEPARATOR)
                stream, _, message = rest.partition(FIELD_SEPARATOR)
                if not stamp.isdigit() or int(stamp) < start_ms:
                    continue
                # The line number tells two equal lines of one millisecond apart.
                yield LogEvent(int(stamp), stream, message.rstrip("\n"), f"{self.path}:{number}")


def source_for(env: str, spec: FunctionSpec, client_factory: Callable[[], Any]) -> Source:
    if env == LOCAL_ENV:
        return LocalFileSource(spec.local_log_file())
    return CloudWatchSource(client_factory(), spec.log_group_name(env))


# ---- reading and following ---------------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def read(source: Source, since_s: int, clock: Callable[[], int] = now_ms) -> Iterator[LogEvent]:
    return source.events(clock() - since_s * 1000)


def follow(
    source: Source,
    since_s: int,
    stop: threading.Event,
    emit: Callable[[LogEvent], None],
    clock: Callable[[], int] = now_ms,
    poll_s: float = FOLLOW_POLL_SECONDS,
) -> int:
    """Emit the events of the last ``since_s`` seconds, then every new one, polling every
    ``poll_s`` until ``stop`` is set; an event is emitted once even when polls overlap
    (each poll starts at the newest timestamp seen). Returns how many were emitted."""
    start = clock() - since_s * 1000
    seen: dict[str, int] = {}  # the events at or after ``start`` already emitted
    emitted = 0
    while True:
        for event in source.events(start):
            key = event.event_id or f"{event.timestamp_ms}:{event.stream}:{event.message}"
            if key in seen:
                continue
            seen[key] = event.timestamp_ms
            emit(event)
            emitted += 1
        newest = max(seen.values(), default=start)
        if newest > start:  # the next poll starts there: older events are not asked again
            seen = {key: stamp for key, stamp in seen.items() if stamp >= newest}
            start = newest
        if stop.wait(poll_s):
            return emitted


def lines(events: Iterable[LogEvent]) -> Iterator[str]:
    return (event.line() for event in events)
